"""The constructor registering the plan the stack config's `check` worked out (`plan=`) registers exactly
what the component registers when it checks the same Args itself, as a program's component does."""

from __future__ import annotations

import re

import pytest

from agent_iam.components.base import RolePlan
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import read_stack_file
from bench.generate import stack_config
from conftest import ROOT

STACKS = ["dev", "staging", "prod"]
BENCH = {"bench7": 7}


def _program(stack: str) -> tuple[bytes, list[str]]:
    if stack in BENCH:
        config, secret_keys = stack_config(BENCH[stack]), []
    else:
        config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    run = run_program(stack, config, secret_keys)
    records = [
        (r.urn, r.type, r.name, r.parent, r.provider, r.custom, r.protect, r.inputs, r.outputs, r.secret_inputs,
         r.dependencies)
        for r in run.resources
    ]
    return repr((records, run.outputs)).encode(), run.warnings


@pytest.mark.parametrize("stack", [*STACKS, *BENCH])
def test_registering_the_checked_plan_is_registering_the_args(stack, monkeypatch):
    handed: list[str] = []
    for_args = RolePlan.for_args

    def counting(self, name, args):
        handed.append(name)
        return for_args(self, name, args)

    monkeypatch.setattr(RolePlan, "for_args", counting)
    with_plans, stack_advisories = _program(stack)
    assert handed  # the stack config's plans were registered by the constructors
    # Each constructor checks its Args itself instead, with the program's voice.
    monkeypatch.setattr(RolePlan, "for_args", lambda self, name, args: type(self)(name, args))
    checked_again, own_advisories = _program(stack)
    assert with_plans == checked_again
    # The same advisories, said with the component's name and its Args fields instead of the entry's key.
    assert len(own_advisories) == len(stack_advisories)
    for own in own_advisories:
        assert re.match(r"agent-iam: [A-Za-z]+ '[^']+': ", own), own
