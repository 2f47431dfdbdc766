"""The plan runner's process settings and shortcuts change how fast a plan runs, never what it records."""

from __future__ import annotations

import gc

import pytest
from pulumi.runtime import resource as sdk_resource

from bench.generate import stack_config
from agent_iam.patches import KEEP_SDK_COMPONENTS, KEEP_STACK_TRACES
from agent_iam.plan.runtime import KEEP_FULL_GC, PLAN_GC_THRESHOLD, plan_runtime
from agent_iam.plan.run import run_program


def test_plan_runtime_sets_and_restores_the_process_settings(monkeypatch):
    monkeypatch.delenv(KEEP_STACK_TRACES, raising=False)
    monkeypatch.delenv(KEEP_FULL_GC, raising=False)
    saved_trace, saved_threshold = sdk_resource._get_stack_trace, gc.get_threshold()
    with plan_runtime():
        assert sdk_resource._get_stack_trace is not saved_trace
        assert not sdk_resource._get_stack_trace().frames
        assert gc.get_threshold() == PLAN_GC_THRESHOLD
        with plan_runtime():  # nested: the CLI wraps run_program, which wraps itself
            pass
        assert gc.get_threshold() == PLAN_GC_THRESHOLD
    assert sdk_resource._get_stack_trace is saved_trace and gc.get_threshold() == saved_threshold


def test_the_toggles_keep_the_sdk_defaults(monkeypatch):
    monkeypatch.setenv(KEEP_STACK_TRACES, "1")
    monkeypatch.setenv(KEEP_FULL_GC, "1")
    saved_trace, saved_threshold = sdk_resource._get_stack_trace, gc.get_threshold()
    with plan_runtime():
        assert sdk_resource._get_stack_trace is saved_trace and gc.get_threshold() == saved_threshold


def _records(run):
    return [
        (r.urn, r.type, r.name, r.parent, r.provider, r.custom, r.protect, r.inputs, r.outputs) for r in run.resources
    ]


@pytest.mark.parametrize("keep", [False, True], ids=["plan-settings", "sdk-defaults"])
def test_settings_and_component_shortcut_record_the_same_plan(monkeypatch, keep):
    config = stack_config(3)
    expected = _records(run_program("bench3", config))
    monkeypatch.setenv(KEEP_SDK_COMPONENTS, "1")  # every registration takes the SDK's path
    if keep:
        monkeypatch.setenv(KEEP_STACK_TRACES, "1")
        monkeypatch.setenv(KEEP_FULL_GC, "1")
    generic = run_program("bench3", config)
    assert _records(generic) == expected
    assert sum(1 for r in generic.resources if not r.custom and r.type.startswith("agent-iam:")) == 3 * 3
