"""The policy pack's adapter (pulumi-policy args -> rule inputs) and its entry point, with fakes.

pulumi-policy pins protobuf<6, so it is not installed here; `make policy-check` runs the same
policies with the real SDK in the pack's own venv (tests/policy_pack_smoke.py).
"""

from __future__ import annotations

import json
import runpy
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from conftest import ROOT
from agent_iam.guardrails import pulumi_policy_adapter as adapter
from agent_iam.guardrails import rules
from agent_iam.guardrails.rules import UNKNOWN
from agent_iam.iam.limits import IamLimits
from agent_iam.plan.guardrails import stack_settings
from agent_iam.plan.stackfile import read_stack_file

OWN = "111111111111"
VENDOR = "222222222222"


class UnknownValueError(Exception):
    """Stands in for pulumi_policy.proxy.UnknownValueError (matched by name)."""


class UnknownProxy(Mapping):
    """Like pulumi-policy's props proxy: reading an unknown value raises."""

    def __init__(self, data: dict[str, Any], unknown: set[str]):
        self.data, self.unknown = data, unknown

    def __getitem__(self, key: str) -> Any:
        if key in self.unknown:
            raise UnknownValueError(f"{key} can't be known during preview")
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class FakeProvider:
    props: dict[str, Any]


@dataclass
class FakeArgs:
    """ResourceValidationArgs / PolicyResource, as far as the adapter reads them."""

    resource_type: str
    name: str
    props: Any
    urn: str = ""
    provider: FakeProvider | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.urn = self.urn or f"urn:pulumi:prod::agent-iam::{self.resource_type}::{self.name}"

    def get_config(self) -> dict[str, Any]:
        return self.config


@dataclass
class FakeStackArgs:
    resources: list[FakeArgs]
    config: dict[str, Any] = field(default_factory=dict)

    def get_config(self) -> dict[str, Any]:
        return self.config


def fake_pulumi_policy() -> types.SimpleNamespace:
    """The parts of the pulumi_policy module the pack uses, recording what they are given."""

    class Recorder:
        def __init__(self, **kwargs: Any):
            self.kwargs = kwargs

    class ResourceValidationPolicy(Recorder):
        pass

    class StackValidationPolicy(Recorder):
        pass

    class PolicyConfigSchema(Recorder):
        def __init__(self, properties: dict[str, Any]):
            super().__init__(properties=properties)

    packs: list[dict[str, Any]] = []

    def PolicyPack(name: str, **kwargs: Any) -> None:  # noqa: N802 (the SDK's name)
        packs.append({"name": name, **kwargs})

    return types.SimpleNamespace(
        ResourceValidationPolicy=ResourceValidationPolicy,
        StackValidationPolicy=StackValidationPolicy,
        PolicyConfigSchema=PolicyConfigSchema,
        PolicyPack=PolicyPack,
        EnforcementLevel=types.SimpleNamespace(MANDATORY="mandatory", ADVISORY="advisory"),
        packs=packs,
    )


def policies_by_name() -> dict[str, Any]:
    return {p.kwargs["name"]: p for p in adapter.build_policies(fake_pulumi_policy())}


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def run(policy: Any, args: Any) -> list[tuple[Any, ...]]:
    reported: list[tuple[Any, ...]] = []
    policy.kwargs["validate"](args, lambda *a: reported.append(a))
    return reported


def test_one_policy_per_rule_with_the_rules_description():
    policies = policies_by_name()
    assert list(policies) == list(rules.RULE_NAMES)
    for name, policy in policies.items():
        assert policy.kwargs["description"] == rules.RULES[name].description
        kind = "StackValidationPolicy" if rules.RULES[name].scope == "stack" else "ResourceValidationPolicy"
        assert type(policy).__name__ == kind
    assert type(policies["iam-role-limits"]).__name__ == "StackValidationPolicy"
    assert policies["permissions-boundary"].kwargs["config_schema"].kwargs["properties"]["boundaryArns"]["type"] == "array"
    for policy in policies.values():  # every policy takes the stack file's acceptances for its rule
        assert policy.kwargs["config_schema"].kwargs["properties"]["acceptedFindings"] == adapter.ACCEPTED_SCHEMA


def test_resource_policy_reports_the_rules_message():
    vendor_trust = trust({"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"}, "Action": "sts:AssumeRole"})
    args = FakeArgs(
        "aws:iam/role:Role",
        "vendor-role",
        {"name": "vendor", "assumeRolePolicy": vendor_trust},
        provider=FakeProvider({"allowedAccountIds": json.dumps([OWN])}),
    )
    [(message,)] = run(policies_by_name()["cross-account-trust-condition"], args)
    assert message.startswith(f"role 'vendor': trust statement 'Vendor' lets arn:aws:iam::{VENDOR}:root (an account that is not")
    # the provider says the role is created in the vendor's account: then it is no cross-account trust
    args.provider = FakeProvider({"allowedAccountIds": [VENDOR]})
    assert run(policies_by_name()["cross-account-trust-condition"], args) == []


def test_policy_config_feeds_the_rule_context():
    args = FakeArgs("aws:iam/role:Role", "bare", {"name": "bare", "assumeRolePolicy": trust()})
    boundary = f"arn:aws:iam::{OWN}:policy/Boundary"
    policy = policies_by_name()["permissions-boundary"]
    assert run(policy, args) == []  # no boundary configured: nothing required
    args.config = {"boundaryArns": [boundary]}
    assert run(policy, args) == [(f"role 'bare' has no permissions boundary; the stack requires {boundary}",)]
    context = adapter.context_of({"trustPolicySize": 4096, "rolePoliciesSize": 8000, "managedPoliciesPerRole": 20, "accountId": OWN})
    assert context.limits == IamLimits(trust_policy_size=4096, role_policies_size=8000, managed_policies_per_role=20)
    assert (context.account_id, context.enforcement) == (OWN, rules.MANDATORY)


def test_unknown_values_in_preview_are_skipped_not_errors():
    props = UnknownProxy({"name": "agent", "assumeRolePolicy": "x", "permissionsBoundary": None}, {"assumeRolePolicy"})
    args = FakeArgs("aws:iam/role:Role", "agent", props, config={"boundaryArns": ["arn:aws:iam::111111111111:policy/B"]})
    view = adapter.view_of(args)
    assert view.props["assumeRolePolicy"] is UNKNOWN
    for name, policy in policies_by_name().items():
        if name in ("permissions-boundary", "iam-role-limits"):
            continue
        given = FakeStackArgs([args], args.config) if rules.RULES[name].scope == "stack" else args
        assert run(policy, given) == [], name
    assert adapter.plain(["a", "04da6b54-80e4-46f7-96ec-b56ff0331ba9"]) == ["a", UNKNOWN]
    with pytest.raises(KeyError):  # anything but an unknown value is not swallowed
        adapter.plain(BrokenMapping())


class BrokenMapping(Mapping):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self):
        return iter(["a"])

    def __len__(self) -> int:
        return 1


def test_stack_policy_aggregates_per_role_and_names_the_role_urn():
    role = FakeArgs("aws:iam/role:Role", "agent-role", {"name": "agent", "assumeRolePolicy": trust()})
    attachments = [
        FakeArgs(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            f"agent-p{i}",
            {"role": "agent", "policyArn": f"arn:aws:iam::aws:policy/P{i}"},
        )
        for i in range(11)
    ]
    reported = run(policies_by_name()["iam-role-limits"], FakeStackArgs([role, *attachments]))
    assert reported == [("role 'agent': 11 managed policies attached, over the 10 the account allows per role", role.urn)]
    raised = FakeStackArgs([role, *attachments], config={"managedPoliciesPerRole": 11})
    assert run(policies_by_name()["iam-role-limits"], raised) == []


def test_policy_main_constructs_the_pack_only_there(monkeypatch):
    fake = fake_pulumi_policy()
    monkeypatch.setitem(sys.modules, "pulumi_policy", fake)
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    [pack] = fake.packs
    assert pack["name"] == "agent-iam-guardrails"
    assert pack["enforcement_level"] == "mandatory"
    assert [p.kwargs["name"] for p in pack["policies"]] == list(rules.RULE_NAMES)


def test_adapter_does_not_import_pulumi_policy():
    source = (ROOT / "agent_iam" / "guardrails" / "pulumi_policy_adapter.py").read_text()
    assert "import pulumi_policy" not in source and "from pulumi_policy" not in source
    assert "PolicyPack(" not in source


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_pack_config_matches_the_stack_file(stack):
    """The pack config derived from the stack file (`agent-iam pack-config`) holds its levels, account and boundary."""
    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    settings = stack_settings(stack, config, secret_keys)
    pack_config = adapter.pack_config(settings.guardrail_context())
    assert set(pack_config) <= {"all", *rules.RULE_NAMES}
    assert pack_config["all"] == settings.guardrails.enforcement
    for name, level in settings.guardrails.rules.items():
        assert pack_config[name] == level or pack_config[name].get("enforcementLevel") == level
    assert pack_config["cross-account-trust-condition"]["accountId"] == settings.account_id
    boundaries = pack_config.get("permissions-boundary", {}).get("boundaryArns", [])
    assert tuple(boundaries) == settings.boundary_arns
    for name, value in pack_config.items():
        if isinstance(value, dict):
            allowed = set(adapter.CONFIG_SCHEMAS.get(name, {})) | {"enforcementLevel", "acceptedFindings"}
            assert set(value) <= allowed, name


def test_pack_requirements_are_pinned_and_kept_apart_from_the_program():
    lines = [s for s in (ROOT / "policy" / "requirements.txt").read_text().splitlines() if s and not s.startswith("#")]
    assert "pulumi-policy==1.21.0" in lines
    assert all("==" in line for line in lines)
    protobuf = [line for line in lines if line.startswith("protobuf==")]
    assert protobuf and int(protobuf[0].split("==")[1].split(".")[0]) < 6
    assert "pulumi-policy" not in (ROOT / "requirements.txt").read_text()
    assert "pulumi-policy" not in (ROOT / "requirements-dev.txt").read_text()


# The issue's bypasses, through the pack: the pack runs the same rules on the same props.
BYPASSES = [
    ("sensitive-actions-scoped", "aws:iam/rolePolicy:RolePolicy",
     {"role": "agent", "name": "p", "policy": trust({"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole",
                                                      "Resource": "arn:aws:iam::*:role*"})}),
    ("sensitive-actions-scoped", "aws:iam/rolePolicy:RolePolicy",
     {"role": "agent", "name": "p", "policy": trust({"Sid": "Notify", "Effect": "Allow",
                                                      "Action": "s3:PutBucketNotification", "Resource": "arn:aws:s3:::*"})}),
    ("managed-policy-privileges", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"role": "agent", "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}),
    ("cross-account-trust-condition", "aws:iam/role:Role",
     {"name": "vendor", "assumeRolePolicy": trust({"Sid": "V", "Effect": "Allow", "Principal": {"AWS": "222222222222"},
                                                   "Action": "sts:AssumeRole",
                                                   "Condition": {"StringLike": {"sts:ExternalId": "*"}}})}),
    ("trust-statement-shape", "aws:iam/role:Role",
     {"name": "ci", "assumeRolePolicy": trust({"Sid": "F", "Effect": "Allow",
                                               "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/x"},
                                               "NotAction": "sts:TagSession"})}),
]


@pytest.mark.parametrize("rule_name, rtype, props", BYPASSES, ids=[b[0] for b in BYPASSES])
def test_the_pack_blocks_the_issues_bypasses_and_honours_acceptances(rule_name, rtype, props):
    """A rule on one resource runs as a resource policy; a rule on a role's effective access as a stack
    policy over every resource (the role and the document it gets), reporting the document's URN."""
    policy = policies_by_name()[rule_name]
    args = FakeArgs(rtype, "r", props)
    if rules.RULES[rule_name].scope == "stack":
        role = FakeArgs("aws:iam/role:Role", "agent-role", {"name": "agent", "assumeRolePolicy": trust(
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})})
        given: Any = FakeStackArgs([role, args])
        [(message, urn)] = run(policy, given)
        assert urn == args.urn
        [violation] = rules.evaluate_stack(rule_name, [adapter.view_of(r) for r in given.resources], adapter.context_of({}))
    else:
        given = args
        [(message,)] = run(policy, given)
        [violation] = rules.evaluate_resource(rule_name, adapter.view_of(args), adapter.context_of({}))
    assert violation.message == message  # the plan's text
    if violation.sid:
        given.config = {"acceptedFindings": [{"sid": violation.sid, "reason": "reviewed in SEC-1 for this test"}]}
        assert run(policy, given) == []
        given.config = {"acceptedFindings": [{"sid": violation.sid, "role": "someone-else", "reason": "reviewed SEC-1"}]}
        assert len(run(policy, given)) == 1


# Releases that fixed a published vulnerability, for packages the pack's venv pins (advisories by CVE).
FIXED_IN = {
    "setuptools": [("CVE-2022-40897", "65.5.1"), ("CVE-2024-6345", "70.0.0"), ("CVE-2025-47273", "78.1.1")],
    "protobuf": [("CVE-2025-4565", "5.29.5")],
}


def test_the_pack_pins_no_release_with_a_known_vulnerability():
    from packaging.version import Version

    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "policy" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for package, advisories in FIXED_IN.items():
        for advisory, fixed in advisories:
            assert Version(pins[package]) >= Version(fixed), f"{package}=={pins[package]}: {advisory}, fixed in {fixed}"


def test_attached_or_inlined_the_pack_refuses_the_same_grant():
    """AmazonS3FullAccess attached to a role, and its document inlined: the stack policy reports both."""
    from agent_iam.iam import managed_policies

    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    role = FakeArgs("aws:iam/role:Role", "agent-role", {"name": "agent", "assumeRolePolicy": trust(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})})
    attached = FakeArgs("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "agent-s3", {"role": "agent", "policyArn": arn})
    inlined = FakeArgs("aws:iam/rolePolicy:RolePolicy", "agent-copy",
                       {"role": "agent", "name": "copy", "policy": json.dumps(managed_policies.document(arn))})
    policy = policies_by_name()["sensitive-actions-scoped"]
    [(by_arn, urn)] = run(policy, FakeStackArgs([role, attached]))
    assert urn == attached.urn and by_arn.startswith("role 'agent': AWS managed policy 'AmazonS3FullAccess' allows ")
    [(by_text, urn)] = run(policy, FakeStackArgs([role, inlined]))
    assert urn == inlined.urn and by_text.startswith("inline policy 'copy': statement #1 allows ")
    grants = [m.split(" allows ", 1)[1].split(" on ", 1)[0] for m in (by_arn, by_text)]
    assert grants[0] == grants[1]  # the same actions, named the same way


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_pack_gives_the_plans_verdicts_on_the_stacks(stack):
    """Every policy of the pack, given the stack's resources as Pulumi hands them (one at a time, and all
    of them for a stack policy), reports exactly the violations the plan's judge finds, on the same URNs."""
    from agent_iam.plan.run import run_program
    from agent_iam.plan.views import props_of

    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    run_ = run_program(stack, config, secret_keys)
    settings = stack_settings(stack, config, secret_keys)
    providers = {r.urn: FakeProvider(dict(r.inputs)) for r in run_.resources if r.type.startswith("pulumi:providers:")}
    resources = [FakeArgs(r.type, r.name, props_of(r.inputs, r.outputs), r.urn, providers.get(r.provider or ""),
                          {"accountId": settings.account_id})
                 for r in run_.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    reported: set[tuple[str, str, str | None]] = set()
    for name, policy in policies_by_name().items():
        if rules.RULES[name].scope == "stack":
            found = run(policy, FakeStackArgs(resources, {"accountId": settings.account_id}))
            reported |= {(name, message, urn) for message, urn in found}
        else:
            reported |= {(name, message, r.urn) for r in resources for (message,) in run(policy, r)}
    context = rules.Context(account_id=settings.account_id)
    views = [adapter.view_of(r, settings.account_id) for r in resources]
    urns = {(v.type, v.name): v.urn for v in views}
    planned = {(v.rule, v.message, urns[(v.resource_type, v.resource_name)])
               for v in rules.evaluate(views, context) if v.level != rules.ADVISORY}
    assert reported == planned and planned
