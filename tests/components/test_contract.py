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
