"""Each SDK shortcut (agent_iam/patches.py) leaves every plan byte-identical, on the SDK versions it names."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pulumi._version import _VERSION
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from bench.generate import stack_config
from conftest import ROOT
from agent_iam import patches as shortcuts
from agent_iam.plan.guardrails import judge, judgement_document
from agent_iam.plan.render import plan_files
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import read_stack_file

SHORTCUTS = {
    "create_urn": shortcuts.KEEP_SDK_URN,
    "state_struct": shortcuts.KEEP_SDK_STATE,
    "inline_rpc": shortcuts.KEEP_SDK_EXECUTOR,
    "debug_log": shortcuts.KEEP_SDK_DEBUG_LOG,
}
STACKS = ["dev", "staging", "prod"]
BENCH = {"bench7": 7, "bench40": 40}


def test_the_installed_sdk_is_one_the_shortcuts_were_checked_against():
    assert shortcuts.checked(shortcuts.PULUMI), (
        f"pulumi {_VERSION} is installed, but the SDK shortcuts in agent_iam/patches.py were checked "
        f"against {sorted(shortcuts.PULUMI_VERSIONS)} only (they are off on this version). Compare "
        "MockMonitor.RegisterResource and runtime.resource.create_urn with the shortcuts, run this file, and "
        "add the version to PULUMI_VERSIONS when every plan stays byte-identical."
    )


def _plan(stack: str, tmp_path, monkeypatch, keep: str | None) -> dict[str, bytes]:
    for var in SHORTCUTS.values():
        monkeypatch.delenv(var, raising=False)
    if keep:
        monkeypatch.setenv(keep, "1")
    if stack in BENCH:
        config, secret_keys = stack_config(BENCH[stack]), []
    else:
        config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    run = run_program(stack, config, secret_keys)
    judgement = judge(run, run.settings, cache_dir=tmp_path)
    records = repr([(r.urn, r.type, r.name, r.parent, r.provider, r.custom, r.protect, r.inputs, r.outputs,
                     r.secret_inputs) for r in run.resources]).encode()
    return {**plan_files(run, judgement_document(judgement)), "<registrations>": records,
            "<warnings>": repr(run.warnings).encode()}


@pytest.fixture(scope="module")
def judge_cache(tmp_path_factory) -> Path:
    """One content cache for the module's judgements: both plans of a pair share it, as they did a tmp_path."""
    return tmp_path_factory.mktemp("judge-cache")


_WITH_EVERY_SHORTCUT: dict[str, dict[str, bytes]] = {}


@pytest.mark.parametrize("shortcut", sorted(SHORTCUTS))
@pytest.mark.parametrize("stack", [*STACKS, *BENCH])
def test_each_shortcut_leaves_the_plan_byte_identical(stack, shortcut, judge_cache, monkeypatch):
    if stack not in _WITH_EVERY_SHORTCUT:  # the same plan for every shortcut of the stack: planned once
        _WITH_EVERY_SHORTCUT[stack] = _plan(stack, judge_cache, monkeypatch, keep=None)
    with_it = _WITH_EVERY_SHORTCUT[stack]
    without = _plan(stack, judge_cache, monkeypatch, keep=SHORTCUTS[shortcut])
    assert with_it.keys() == without.keys()
    for name in with_it:
        assert with_it[name] == without[name], name


def test_the_shortcuts_are_used_and_restored(monkeypatch):
    from pulumi import log as pulumi_log
    from pulumi.runtime import resource as sdk_resource

    from agent_iam.plan.runtime import plan_runtime

    for var in SHORTCUTS.values():
        monkeypatch.delenv(var, raising=False)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    before, debug_before = sdk_resource.create_urn, pulumi_log.debug
    with plan_runtime():
        assert sdk_resource.create_urn is shortcuts.create_urn
        assert pulumi_log.debug is shortcuts.debug
        assert "run_in_executor" in vars(loop)
        with plan_runtime():  # nested, as the CLI's command around run_program
            assert "run_in_executor" in vars(loop)
        assert "run_in_executor" in vars(loop)
    assert sdk_resource.create_urn is before and pulumi_log.debug is debug_before
    assert "run_in_executor" not in vars(loop)
    for var in SHORTCUTS.values():
        monkeypatch.setenv(var, "1")
    with plan_runtime():
        assert sdk_resource.create_urn is before and pulumi_log.debug is debug_before
        assert "run_in_executor" not in vars(loop)


def test_inline_rpc_runs_the_call_at_once_with_its_result_or_error_and_no_thread():
    import threading

    loop = asyncio.new_event_loop()
    threads = []

    def call(x):
        threads.append(threading.current_thread())
        if x < 0:
            raise ValueError(x)
        return x * 2

    async def use():
        ok = await loop.run_in_executor(None, call, 21)
        with pytest.raises(ValueError):
            await loop.run_in_executor(None, call, -1)
        return ok

    with shortcuts.inline_rpc(loop):
        assert loop.run_until_complete(use()) == 42
    assert threads == [threading.main_thread()] * 2
    assert loop._default_executor is None  # no thread pool was ever started
    loop.close()


def test_debug_lines_reach_a_logger_that_wants_them():
    """Dropped only where the mock engine's logger drops them: a program logging at DEBUG still gets them."""
    import logging

    from pulumi.runtime import settings as sdk_settings
    from pulumi.runtime.mocks import MockEngine

    logger = logging.getLogger("agent-iam.test.debug")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger.handlers, logger.propagate = [Keep(logging.DEBUG)], False
    saved = sdk_settings.SETTINGS.engine if hasattr(sdk_settings.SETTINGS, "engine") else None
    sdk_settings.configure(sdk_settings.Settings("p", "s", monitor=None, engine=MockEngine(logger)))
    try:
        logger.setLevel(logging.WARNING)
        shortcuts.debug("dropped")
        logger.setLevel(logging.DEBUG)
        shortcuts.debug("kept")
    finally:
        sdk_settings.configure(sdk_settings.Settings("p", "s", monitor=None, engine=saved))
    assert seen == ["kept"]


@pytest.mark.parametrize(
    "args",
    [
        ("role", "aws:iam/role:Role", None, "proj", "st"),
        ("role", "aws:iam/role:Role", "urn:pulumi:st::proj::agent-iam:x:X::parent", None, None),
        ("r", "t", "", None, None),
        ("a::b", "t", "no-separator", "p", "s"),
    ],
)
def test_create_urn_gives_the_sdks_urn(args):
    async def both():
        mine = await shortcuts.create_urn(*args).future()
        sdk = await shortcuts.SDK_CREATE_URN(*args).future()
        return mine, sdk

    mine, sdk = _sync_await(both())
    assert mine == sdk


@pytest.mark.parametrize(
    "state",
    [
        {"arn": "arn:aws:iam::1:role/x", "n": 3, "f": 1.5, "b": True, "none": None, "l": [1, None, "x", {"k": [False]}]},
        {"nested": {"deep": {"deeper": ["a", 2**40, -0.0]}}, "empty": {}, "list": []},
        {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "s"},
    ],
)
def test_a_plain_state_serializes_as_the_sdk_does(state):
    assert shortcuts.is_plain_state(state)
    asyncio.set_event_loop(asyncio.new_event_loop())
    expected = _sync_await(rpc.serialize_properties(state, {}))
    assert shortcuts.state_struct(state).SerializeToString(deterministic=True) == expected.SerializeToString(
        deterministic=True
    )


@pytest.mark.parametrize("state", [{"t": (1, 2)}, {1: "x"}, {"o": object()}, {"d": {2: "x"}}, [("k", "v")]])
def test_anything_else_takes_the_sdks_path(state):
    assert not shortcuts.is_plain_state(state)
