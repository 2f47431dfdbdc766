"""Every patch of another library's internals (agent_iam/patches.py) is applied only on the version of
that library it was checked against; on another version the library's own code runs, and the plan
is still made, the same."""

from __future__ import annotations

import asyncio

import pytest
from pulumi import log as pulumi_log
from pulumi.runtime import resource as sdk_resource

from conftest import ROOT
from agent_iam import patches
from agent_iam.guardrails.iam_validation import validate_documents
from agent_iam.plan.guardrails import judge, judgement_document
from agent_iam.plan.render import plan_files
from agent_iam.plan.run import run_program
from agent_iam.plan.runtime import plan_runtime
from agent_iam.plan.stackfile import read_stack_file

KEEP = (
    patches.KEEP_STACK_TRACES, patches.KEEP_SDK_URN, patches.KEEP_SDK_STATE, patches.KEEP_SDK_COMPONENTS,
    patches.KEEP_SDK_EXECUTOR, patches.KEEP_SDK_DEBUG_LOG,
)


def unchecked(monkeypatch, library: str) -> None:
    """Make `library` look like a version its patches were never checked against."""
    installed = patches.installed_version
    monkeypatch.setattr(patches, "installed_version", lambda name: "0.0.0-unchecked" if name == library else installed(name))


@pytest.mark.parametrize("library", sorted(patches.CHECKED_VERSIONS))
def test_the_installed_libraries_are_the_versions_the_patches_were_checked_against(library):
    assert patches.checked(library), (
        f"{library} {patches.installed_version(library)} is installed, but agent_iam/patches.py was checked against "
        f"{sorted(patches.CHECKED_VERSIONS[library])} only (its patches are off on this version): compare the "
        "patched code with this version's, run tests/test_sdk_shortcuts.py and tests/test_patches.py, and add it"
    )


def test_each_sdk_patch_is_applied_and_undone_on_the_checked_version(monkeypatch):
    for var in KEEP:
        monkeypatch.delenv(var, raising=False)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sdk = (sdk_resource._get_stack_trace, sdk_resource.create_urn, pulumi_log.debug)
    with plan_runtime():
        assert (sdk_resource._get_stack_trace, sdk_resource.create_urn, pulumi_log.debug) == (
            patches._no_stack_trace, patches.create_urn, patches.debug)
        assert "run_in_executor" in vars(loop)
        assert patches.state_shortcut_on() and patches.component_shortcut_on()
    assert (sdk_resource._get_stack_trace, sdk_resource.create_urn, pulumi_log.debug) == sdk
    assert "run_in_executor" not in vars(loop)


def test_on_another_sdk_version_no_sdk_patch_is_applied(monkeypatch):
    for var in KEEP:
        monkeypatch.delenv(var, raising=False)
    unchecked(monkeypatch, patches.PULUMI)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sdk = (sdk_resource._get_stack_trace, sdk_resource.create_urn, pulumi_log.debug)
    with plan_runtime():
        assert (sdk_resource._get_stack_trace, sdk_resource.create_urn, pulumi_log.debug) == sdk
        assert "run_in_executor" not in vars(loop)
        assert not patches.state_shortcut_on() and not patches.component_shortcut_on()


def _plan(stack: str, tmp_path) -> dict[str, bytes]:
    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    run = run_program(stack, config, secret_keys)
    judgement = judge(run, run.settings, cache_dir=tmp_path)
    records = repr([(r.urn, r.type, r.name, r.parent, r.provider, r.custom, r.protect, r.inputs, r.outputs,
                     r.secret_inputs) for r in run.resources]).encode()
    return {**plan_files(run, judgement_document(judgement)), "<registrations>": records}


def test_on_another_sdk_version_the_plan_is_made_by_the_sdk_and_is_the_same(monkeypatch, tmp_path):
    """Two plans of the dev stack (a second or two each): every SDK patch at once, then none."""
    for var in KEEP:
        monkeypatch.delenv(var, raising=False)
    patched = _plan("dev", tmp_path)

    def never(*args, **kwargs):
        raise AssertionError("a patch ran on an SDK version it was not checked against")

    unchecked(monkeypatch, patches.PULUMI)
    monkeypatch.setattr(patches.ShortcutMonitor, "_register_component", never)
    for name in ("create_urn", "debug", "is_plain_state", "state_struct", "_no_stack_trace", "sync_await_off_loop"):
        monkeypatch.setattr(patches, name, never)
    unpatched = _plan("dev", tmp_path)  # the judge's caches of the first plan: the same documents
    assert patched.keys() == unpatched.keys()
    for name in patched:
        assert patched[name] == unpatched[name], name


@pytest.fixture
def shipped_validator(monkeypatch):
    """The validator's sensitive_action check as it ships (the functions it imports, from their own
    modules), whatever this process patched before; patched again after the test if it was."""
    from iam_validator.checks import sensitive_action
    from iam_validator.checks.utils import policy_level_checks, sensitive_action_matcher

    monkeypatch.setattr(sensitive_action, "check_sensitive_actions", sensitive_action_matcher.check_sensitive_actions)
    monkeypatch.setattr(sensitive_action, "check_policy_level_actions", policy_level_checks.check_policy_level_actions)
    return sensitive_action


# PassRole and RunInstances: a sensitive_action finding that names both, across statements.
PASS_AND_RUN = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
        {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
    ],
}


def _combined(findings) -> list[str]:
    return [f.message for f in findings if f.check == "sensitive_action" and "across statements" in f.message]


def test_on_another_validator_version_its_code_runs_unpatched_and_finds_the_same(shipped_validator, monkeypatch, iam_services):
    shipped = (shipped_validator.check_sensitive_actions, shipped_validator.check_policy_level_actions)
    unchecked(monkeypatch, patches.VALIDATOR)
    unpatched = validate_documents([("policy 'p'", "identity", PASS_AND_RUN)], services_dir=iam_services)
    assert (shipped_validator.check_sensitive_actions, shipped_validator.check_policy_level_actions) == shipped
    [message] = _combined(unpatched)
    assert "`ec2:RunInstances` in Statement 'Run'" in message and "`iam:PassRole` in Statement 'Pass'" in message

    monkeypatch.setattr(patches, "installed_version", lambda name: sorted(patches.CHECKED_VERSIONS[name])[0])
    patched = validate_documents([("policy 'p'", "identity", PASS_AND_RUN)], services_dir=iam_services)
    assert shipped_validator.check_sensitive_actions.sorted_by_agent_iam
    [sorted_message] = _combined(patched)
    assert sorted_message.startswith("Policy grants ``ec2:RunInstances`, `iam:PassRole`` across statements")
    assert [(f.check, f.sid, f.severity) for f in patched] == [(f.check, f.sid, f.severity) for f in unpatched]


class Config:
    def filter_actions(self, actions):
        return frozenset(actions)


def test_the_validator_patch_answers_in_sorted_order(shipped_validator, monkeypatch):
    def matcher(*args, **kwargs):
        return True, ["s3:PutObject", "iam:PassRole", "ec2:RunInstances"]

    def policy_level(all_actions, statement_map, required, config, *args, **kwargs):
        return list(config.filter_actions(frozenset(all_actions)))

    monkeypatch.setattr(shipped_validator, "check_sensitive_actions", matcher)
    monkeypatch.setattr(shipped_validator, "check_policy_level_actions", policy_level)
    patches.validator_sorted_matches()
    assert shipped_validator.check_sensitive_actions() == (True, ["ec2:RunInstances", "iam:PassRole", "s3:PutObject"])
    assert shipped_validator.check_policy_level_actions(["s3:A", "iam:C", "a:D"], {}, [], Config()) == ["a:D", "iam:C", "s3:A"]
    wrapped = shipped_validator.check_sensitive_actions
    patches.validator_sorted_matches()  # once per process: a second call wraps nothing again
    assert shipped_validator.check_sensitive_actions is wrapped


def test_the_validators_clients_share_one_tls_context_and_on_another_version_each_builds_its_own(monkeypatch):
    import httpx
    from iam_validator.core.aws_service import client

    monkeypatch.setattr(client, "httpx", httpx)  # as it ships, whatever this process patched before
    built: list[object] = []
    create = httpx.create_ssl_context
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **k: built.append(create(*a, **k)) or built[-1])

    def contexts() -> list[object]:
        async def enter() -> object:
            async with client.AWSServiceClient("https://servicereference.us-east-1.amazonaws.com/") as opened:
                return opened._client._transport._pool._ssl_context  # type: ignore[union-attr]

        loop = asyncio.new_event_loop()  # not asyncio.run: it would leave the thread without a loop
        try:
            return [loop.run_until_complete(enter()) for _ in range(3)]
        finally:
            loop.close()

    unchecked(monkeypatch, patches.VALIDATOR)
    patches.validator_shared_tls()
    own = contexts()
    assert client.httpx is httpx and len({id(c) for c in own}) == 3  # the library's own path: a context each
    monkeypatch.undo()
    monkeypatch.setattr(patches, "installed_version", lambda name: sorted(patches.CHECKED_VERSIONS[name])[0])
    monkeypatch.setattr(client, "httpx", httpx)
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **k: built.append(create(*a, **k)) or built[-1])
    built.clear()
    patches.validator_shared_tls()
    patches.validator_shared_tls()  # once per process: a second call wraps nothing again
    assert client.httpx._httpx is httpx  # type: ignore[attr-defined]
    shared = contexts()
    assert len(built) == 1 and shared == [built[0]] * 3, "one context, built as httpx builds it, for every client"
    assert client.httpx.Timeout is httpx.Timeout  # the rest of httpx is the library's own
