"""What every component's contract shares (components/_contract.py).

No `from __future__ import annotations` here: TypedDict reads `Required[...]` only from real annotations."""

from typing import Required, TypedDict

import pulumi

from agent_iam.components._contract import Problem, check_fields, is_known, when_known
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


def test_fingerprints_tell_plain_data_apart_by_content_and_type():
    import pytest

    from agent_iam.components._contract import _NotPlain, fingerprint

    assert fingerprint({"a": ["x", {"b": 1}]}) == fingerprint({"a": ["x", {"b": 1}]})
    different = [{"a": 1}, {"a": True}, {"a": 1.0}, {"a": "1"}, {"a": [1]}, {"a": (1,)}, {"a": None}, {"a": -0.0}, {"a": 0.0}]
    assert len({fingerprint(v) for v in different}) == len(different)
    with pytest.raises(_NotPlain):
        fingerprint({"a": [pulumi.Output.from_input("x")]})


def _counting_plans(monkeypatch, module):
    """Count the component's own plans (`_Plan`) built from here on."""
    built = []
    original = module._Plan

    class Counted(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(module, "_Plan", Counted)
    monkeypatch.setattr(module._CHECKED, "make", Counted)  # what check and the constructor build with
    return built


def test_the_constructor_takes_the_plan_check_worked_out_for_the_same_args(monkeypatch):
    from agent_iam import SaasAccessRole
    from agent_iam.components import saas_access_role

    built = _counting_plans(monkeypatch, saas_access_role)
    args = {"principal_arn": "arn:aws:iam::949275490180:role/v", "external_id": "x-1", "s3_read": ["lake"]}
    roles = SaasAccessRole.check("v", args)
    run, _ = run_components(lambda: SaasAccessRole("v", args))
    assert built == ["v"]  # checked once, by check
    role = run.named("aws:iam/role:Role", "v-role")
    import json

    assert json.loads(role.inputs["assumeRolePolicy"]) == roles[0].documents.trust
    policy = run.named("aws:iam/rolePolicy:RolePolicy", "v-role-vendor-access")
    assert json.loads(policy.inputs["policy"]) == roles[0].documents.inline_policy


def test_args_changed_after_check_are_checked_again_with_the_same_error(monkeypatch):
    import pytest

    from agent_iam import ArgsError, SaasAccessRole
    from agent_iam.components import saas_access_role

    built = _counting_plans(monkeypatch, saas_access_role)
    args = {"principal_arn": "arn:aws:iam::949275490180:role/v", "external_id": "x-1", "s3_read": ["lake"]}
    SaasAccessRole.check("v", args)
    args["s3_read"].append("arn:aws:s3:::lake2")  # a nested change, after the check
    with pytest.raises(ArgsError) as direct:
        SaasAccessRole.check("other", dict(args))
    with pytest.raises(ArgsError) as caught:
        run_components(lambda: SaasAccessRole("v", args))
    assert str(caught.value) == str(direct.value).replace("'other'", "'v'")
    assert "args.s3_read[1]" in str(caught.value)
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]
    assert built == ["v", "other", "v"]  # the constructor checked the changed Args itself


def test_a_plan_is_taken_once_and_only_for_the_same_args_object(monkeypatch):
    from agent_iam.components import saas_access_role
    from agent_iam.components._contract import CheckedPlans

    plans: CheckedPlans[object] = CheckedPlans(lambda name, args: object())
    args = {"principal_arn": "arn:aws:iam::949275490180:role/v"}
    plan = object()
    plans.remember("v", args, plan)
    assert plans.take("v", dict(args)) is None  # an equal copy is not the checked object
    plans.remember("v", args, plan)
    assert plans.take("w", args) is None and plans.take("v", args) is plan
    assert plans.take("v", args) is None  # handed out once
    plans.remember("v", {"principal_arn": pulumi.Output.from_input("arn")}, plan)
    assert len(plans._plans) == 0  # an Args holding an Output is checked when it resolves, never kept
    few: CheckedPlans[object] = CheckedPlans(lambda name, args: object(), limit=2)
    kept = [{"n": i} for i in range(3)]
    for i, a in enumerate(kept):
        few.remember(str(i), a, i)
    assert few.take("0", kept[0]) is None and few.take("2", kept[2]) == 2  # the oldest is dropped first
    assert saas_access_role._CHECKED.limit >= 10_000
