"""What every component's contract shares (components/_contract.py).

No `from __future__ import annotations` here: TypedDict reads `Required[...]` only from real annotations."""

from typing import Required, TypedDict

import pulumi
import pytest

from agent_iam.components._contract import ArgsError, Problem, check_fields, is_known, when_known
from conftest import run_components


class ExampleArgs(TypedDict, total=False):
    name: Required[str]
    arn: pulumi.Input[str]
    tags: dict[str, str]


def test_known_values_are_built_directly_and_unknown_ones_in_one_apply():
    built = when_known({"a": "x", "b": ["y"]}, lambda v: f"{v['a']}-{v['b'][0]}")
    assert built == "x-y"  # no Output: a plan of known values pays nothing for Inputs

    def program():
        unknown = when_known({"a": pulumi.Output.from_input("x"), "b": [pulumi.Output.from_input("y")]},
                             lambda v: f"{v['a']}-{v['b'][0]}")
        assert isinstance(unknown, pulumi.Output)
        return unknown

    _, value = run_components(program)
    assert value == "x-y"


def test_is_known_looks_inside_lists_and_mappings():
    assert is_known({"a": ["x", {"b": 1}]})
    assert not is_known({"a": ["x", {"b": pulumi.Output.from_input(1)}]})


def test_check_fields_names_unknown_missing_and_unknowable_fields():
    problems = check_fields(ExampleArgs, {"nmae": "x", "tags": {"k": pulumi.Output.from_input("v")}})
    assert [p.field for p in problems] == ["nmae", "name", "tags"]
    assert problems[0].message.startswith("unknown field; did you mean 'name'?")
    assert problems[1].message == "required, but not set"
    assert problems[2].message.startswith("must be known when the program runs")
    assert check_fields(ExampleArgs, {"name": "x", "arn": pulumi.Output.from_input("arn")}) == []
    assert check_fields(ExampleArgs, ["name"])[0].message.startswith("args must be a ExampleArgs")


def test_a_problem_spells_the_fields_it_refers_to_for_its_reader():
    problem = Problem("policy", "scope it, or set {allow_wildcard_resources}: true ({iam_limits.trust_policy_size})")
    assert problem.render() == "scope it, or set allow_wildcard_resources: true (iam_limits.trust_policy_size)"
    assert problem.render(str.upper) == "scope it, or set ALLOW_WILDCARD_RESOURCES: true (IAM_LIMITS.TRUST_POLICY_SIZE)"


def test_known_values_of_the_wrong_type_or_empty_are_refused_naming_field_and_value():
    from agent_iam import SaasAccessRoleArgs

    problems = check_fields(
        SaasAccessRoleArgs,
        {
            "principal_arn": ["arn:aws:iam::949275490180:role/x"],  # a list where a string is expected
            "external_id": 12345678,
            "protect": "no",  # truthy: would have protected the role
            "role_name": "",
            "tags": {"team": 1},
            "s3_read": "bucket",
            "max_session_duration": True,
        },
    )
    assert sorted((p.field, p.render()) for p in problems) == [
        ("external_id", "must be a string, got int: 12345678"),
        ("max_session_duration", "must be a whole number, got bool: True"),
        ("principal_arn", "must be a string, got list: ['arn:aws:iam::949275490180:role/x']"),
        ("protect", "must be true or false, got str: 'no'"),
        ("role_name", "is empty: ''"),
        ("s3_read", "must be a list, got str: 'bucket'"),
        ("tags.team", "must be a string, got int: 1"),
    ]
    # an Input may be an Output (checked when it resolves), in a list too
    assert check_fields(SaasAccessRoleArgs, {"principal_arn": pulumi.Output.from_input("x"),
                                             "s3_read": [pulumi.Output.from_input("b")]}) == []


def test_a_bad_type_registers_nothing():
    import pytest

    from agent_iam import ArgsError, SaasAccessRole

    with pytest.raises(ArgsError, match=r"SaasAccessRole 'v': args\.principal_arn: is empty: ''") as caught:
        run_components(lambda: SaasAccessRole("v", {"principal_arn": ""}))
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]


def _counting_plans(monkeypatch):
    """Count the SaaS role's plans built from here on."""
    from agent_iam.components import saas_access_role

    built = []
    init = saas_access_role.SaasAccessRolePlan.__init__

    def counting(self, name, *args, **kwargs):
        built.append(name)
        init(self, name, *args, **kwargs)

    monkeypatch.setattr(saas_access_role.SaasAccessRolePlan, "__init__", counting)
    return built


VENDOR = {"principal_arn": "arn:aws:iam::949275490180:role/v", "external_id": "x-1", "s3_read": ["lake"]}


def test_the_constructor_registers_the_plan_check_worked_out(monkeypatch):
    import json

    from agent_iam import SaasAccessRole

    built = _counting_plans(monkeypatch)
    args = dict(VENDOR)
    plan = SaasAccessRole.check("v", args)
    run, _ = run_components(lambda: SaasAccessRole("v", args, plan=plan))
    assert built == ["v"]  # checked once, by check
    (role,) = plan.roles()
    assert json.loads(run.named("aws:iam/role:Role", "v-role").inputs["assumeRolePolicy"]) == role.documents.trust
    policy = run.named("aws:iam/rolePolicy:RolePolicy", "v-role-vendor-access")
    assert json.loads(policy.inputs["policy"]) == role.documents.policy("vendor-access")


def test_without_a_plan_the_constructor_checks_its_args_itself(monkeypatch):
    import pytest

    from agent_iam import ArgsError, SaasAccessRole

    built = _counting_plans(monkeypatch)
    args = {**VENDOR, "s3_read": ["lake", "arn:aws:s3:::lake2"]}
    with pytest.raises(ArgsError) as direct:
        SaasAccessRole.check("other", args)
    with pytest.raises(ArgsError) as caught:
        run_components(lambda: SaasAccessRole("v", args))
    assert str(caught.value) == str(direct.value).replace("'other'", "'v'")
    assert "args.s3_read[1]" in str(caught.value)
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]
    assert built == ["other", "v"]


def test_a_plan_is_registered_only_for_the_args_it_was_checked_for():
    import pytest

    from agent_iam import SaasAccessRole

    args = dict(VENDOR)
    plan = SaasAccessRole.check("v", args)
    with pytest.raises(ValueError, match=r"SaasAccessRole 'w': the plan given was checked for other Args \('v'\)") as caught:
        run_components(lambda: SaasAccessRole("w", args, plan=plan))
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="checked for other Args") as caught:
        run_components(lambda: SaasAccessRole("v", dict(args), plan=plan))  # an equal copy is not the checked object
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]


def test_agent_iam_tag_keys_are_agent_iams_own_but_the_reviewed_exemptions():
    import pytest

    from agent_iam import ArgsError, SaasAccessRole

    # IAM treats tag keys that differ only in case as one key: `Agent-IAM:preset` is `agent-iam:preset` to a
    # condition on aws:ResourceTag, and an exemption is read only as the rules spell it.
    for key in ("agent-iam:preset", "agent-iam:anything", "Agent-IAM:preset", "AGENT-IAM:PRESET", "Agent-Iam:Trust-Exemption"):
        with pytest.raises(ArgsError, match=rf"args\.tags\.{key}: '{key}' is agent-iam's own tag key") as caught:
            run_components(lambda key=key: SaasAccessRole("v", {**VENDOR, "tags": {key: "datadog@2026-11-29"}}))
        assert caught.value.registered_resources == []  # type: ignore[attr-defined]
    run, _ = run_components(lambda: SaasAccessRole("v", {**VENDOR, "tags": {"agent-iam:trust-exemption": "reviewed"}}))
    assert run.named("aws:iam/role:Role", "v-role").inputs["tags"]["agent-iam:trust-exemption"] == "reviewed"


def test_a_kms_key_from_another_resource_that_resolves_to_a_wildcard_is_an_args_error():
    """A KMS key is an Input: `*` is refused by the same check as a known value, naming the field, when it
    resolves (it once reached the KMS statement, which read its region: AttributeError); no role is sent."""
    import pytest

    from agent_iam import Ec2AgentInstanceProfile, EcsAgentRoles, OidcRole, SaasAccessRole

    secret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:agent-key-AbCdEf"
    cases = [
        (EcsAgentRoles, {"account_id": "111111111111", "secret_arns": [secret]}),
        (Ec2AgentInstanceProfile, {"account_id": "111111111111", "secret_arns": [secret]}),
        (SaasAccessRole, {"principal_arn": "arn:aws:iam::222222222222:role/v", "external_id": "ext-1234", "s3_read": ["lake"]}),
        (OidcRole, {"provider": "github", "repository": "acme/app", "branches": ["main"], "account_id": "111111111111",
                    "s3_read": ["lake"]}),
    ]
    for component, args in cases:
        def program(component=component, args=args):
            component("c", {**args, "kms_key_arns": [pulumi.Output.from_input("*")]})

        with pytest.raises(Exception, match=rf"{component.__name__} 'c': args\.kms_key_arns\[0\]: not a KMS key ARN .*: '\*'") as caught:
            run_components(program)
        assert not isinstance(caught.value, AttributeError) and "aws:iam/role:Role" not in [
            r.type for r in caught.value.registered_resources
        ], component


@pytest.mark.parametrize("name", ["", "   ", None, 7])
def test_a_component_without_a_name_is_an_args_error_before_anything_registers(name):
    from agent_iam import SaasAccessRole
    from conftest import ACCOUNT, run_components

    args = {"principal_arn": "arn:aws:iam::222222222222:role/v", "external_id": "ext-1234", "account_id": ACCOUNT}
    with pytest.raises(ArgsError) as caught:
        run_components(lambda: SaasAccessRole(name, args))
    assert str(caught.value) == f"SaasAccessRole {str(name)!r}: the component's name must be a non-empty string, got {name!r}"
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]
