"""IAM's evaluation rules, one test each, with the request that tells right from wrong; every answer
is asserted for the concrete evaluator and for the solver alike."""

from __future__ import annotations

from typing import Any

import pytest

from agent_iam.model import Principal, Request, can_assume, evaluate, role_from_documents
from agent_iam.model import solver

ACCOUNT = "111111111111"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/agent"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def role(*identity: dict[str, Any], boundary: dict[str, Any] | None = None):
    return role_from_documents("agent", ACCOUNT, identity=identity, boundary=boundary)


def decide(model, request: Request) -> bool | None:
    """The evaluator's answer, asserted equal to the solver's."""
    concrete = evaluate(model, request).allowed
    assert solver.allows(model, request) == concrete, request
    return concrete


def trusted(model, request: Request) -> bool | None:
    concrete = can_assume(model, request).allowed
    assert solver.assumes(model, request) == concrete, request
    return concrete


def req(action: str = "s3:GetObject", resource: str = "arn:aws:s3:::b/k", **context: Any) -> Request:
    return Request(None, action, resource, {k.replace("__", ":").replace("_", "/"): v for k, v in context.items()})


# --- actions and resources ---------------------------------------------------------------


def test_actions_match_case_insensitively_and_resources_case_sensitively():
    model = role(doc(allow("S3:Get*", "arn:aws:s3:::Bucket/*")))
    assert decide(model, req("s3:getobject", "arn:aws:s3:::Bucket/k")) is True
    assert decide(model, req("s3:GetObject", "arn:aws:s3:::bucket/k")) is False


def test_a_star_in_the_resource_part_matches_slashes_and_colons():
    model = role(doc(allow(resource="arn:aws:s3:::*")))
    assert decide(model, req(resource="arn:aws:s3:::bucket/dir/key:with:colons")) is True


def test_arn_parts_are_matched_separately():
    """A `*` before the fifth colon stays within its part: a whole-text glob would match this. A `*` that
    ends its part may match past the colons (IAM's documentation: "If the * wildcard is the last character
    of a resource ARN segment, it can expand to match beyond the colon boundaries")."""
    model = role(doc(allow("sqs:SendMessage", f"arn:aws:sqs:us-*1:{ACCOUNT}:q*")))
    assert decide(model, req("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue")) is True
    assert decide(model, req("sqs:SendMessage", f"arn:aws:sqs:us-east:extra-1:{ACCOUNT}:queue")) is False
    ends = role(doc(allow("sqs:SendMessage", f"arn:aws:sqs:*:{ACCOUNT}:q*")))
    assert decide(ends, req("sqs:SendMessage", f"arn:aws:sqs:us-east-1:extra:{ACCOUNT}:queue")) is True
    short = role(doc(allow("iam:PassRole", "arn:aws:iam::*")))
    assert decide(short, req("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/any")) is True
    assert decide(role(doc(allow("iam:PassRole", "arn:*"))), req("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/x")) is True


def test_question_mark_is_exactly_one_character():
    model = role(doc(allow(resource="arn:aws:s3:::b/?")))
    assert decide(model, req(resource="arn:aws:s3:::b/x")) is True
    assert decide(model, req(resource="arn:aws:s3:::b/xy")) is False
    assert decide(model, req(resource="arn:aws:s3:::b/")) is False


def test_deny_overrides_allow():
    model = role(doc(allow("s3:*"), {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}))
    assert decide(model, req("s3:PutObject")) is True
    assert decide(model, req("s3:DeleteObject")) is False


def test_not_action_and_not_resource_are_complements():
    model = role(doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"}))
    assert decide(model, req("s3:GetObject", "arn:aws:s3:::open/k")) is True
    assert decide(model, req("IAM:CreateUser", "arn:aws:iam::1:user/x")) is False
    assert decide(model, req("s3:GetObject", "arn:aws:s3:::secret/k")) is False


def test_the_boundary_bounds_and_never_grants():
    model = role(doc(allow("s3:*")), boundary=doc(allow(["s3:GetObject", "ec2:*"])))
    assert decide(model, req("s3:GetObject")) is True
    assert decide(model, req("s3:PutObject")) is False  # identity allows, boundary does not
    assert decide(model, req("ec2:RunInstances", "*")) is False  # boundary allows, identity does not
    decision = evaluate(model, req("s3:PutObject"))
    assert decision.boundary == "does-not-allow" and "boundary" in decision.explain()


# --- conditions: absent keys and set operators ---------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringNotEquals", True),
        ("StringEqualsIfExists", True),
        ("ForAllValues:StringEquals", True),  # the empty set satisfies every "for all"
        ("ForAnyValue:StringEquals", False),
        ("ArnNotLike", True),
        ("NumericLessThan", False),
    ],
)
def test_an_absent_key(operator: str, expected: bool):
    value = "5" if operator.startswith("Numeric") else "a"
    model = role(doc(allow(Condition={operator: {"aws:TagKeys": value}})))
    assert decide(model, req()) is expected


def test_null_tests_presence():
    model = role(doc(allow(Condition={"Null": {"aws:TokenIssueTime": "true"}})))
    assert decide(model, req()) is True
    assert decide(model, req(aws__TokenIssueTime="2024-01-01T00:00:00Z")) is False


def test_for_all_and_for_any_values_over_several_values():
    every = role(doc(allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}})))
    assert decide(every, req(aws__TagKeys=["team", "env"])) is True
    assert decide(every, req(aws__TagKeys=["team", "owner"])) is False
    some = role(doc(allow(Condition={"ForAnyValue:StringLike": {"aws:TagKeys": "te*"}})))
    assert decide(some, req(aws__TagKeys=["owner", "team"])) is True
    assert decide(some, req(aws__TagKeys=["owner", "env"])) is False


def test_negated_set_operator_is_per_value():
    model = role(doc(allow(Condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team"]}})))
    assert decide(model, req(aws__TagKeys=["team", "env"])) is True
    assert decide(model, req(aws__TagKeys=["team"])) is False


def test_values_of_a_key_are_ored_and_keys_anded():
    model = role(doc(allow(Condition={"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"],
                                                        "aws:PrincipalTag/team": "data"}})))
    assert decide(model, req(aws__RequestedRegion="us-east-1", aws__PrincipalTag_team="data")) is True
    assert decide(model, req(aws__RequestedRegion="us-east-1", aws__PrincipalTag_team="web")) is False


def test_condition_keys_are_case_insensitive_values_are_not():
    model = role(doc(allow(Condition={"StringEquals": {"AWS:RequestedRegion": "eu-west-1"}})))
    assert decide(model, Request(None, "s3:GetObject", "arn:aws:s3:::b/k", {"aws:requestedregion": "eu-west-1"})) is True
    assert decide(model, req(aws__RequestedRegion="EU-WEST-1")) is False


def test_string_equals_ignore_case_and_string_like():
    model = role(doc(allow(Condition={"StringEqualsIgnoreCase": {"s3:prefix": "Home/"}})))
    assert decide(model, req(s3__prefix="HOME/")) is True
    like = role(doc(allow(Condition={"StringLike": {"s3:prefix": "home/*/?"}})))
    assert decide(like, req(s3__prefix="home/a/b/c")) is True
    assert decide(like, req(s3__prefix="home/a/bc")) is False


def test_string_equals_takes_star_literally():
    model = role(doc(allow(Condition={"StringEquals": {"s3:prefix": "*"}})))
    assert decide(model, req(s3__prefix="*")) is True
    assert decide(model, req(s3__prefix="anything")) is False


# --- typed operators ------------------------------------------------------------------------


def test_numeric_operators_compare_numbers_and_refuse_text():
    model = role(doc(allow(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})))
    assert decide(model, req(aws__MultiFactorAuthAge="3599.5")) is True
    assert decide(model, req(aws__MultiFactorAuthAge="3600")) is False
    assert decide(model, req(aws__MultiFactorAuthAge="soon")) is False
    not_equal = role(doc(allow(Condition={"NumericNotEquals": {"aws:MultiFactorAuthAge": "10"}})))
    assert decide(not_equal, req(aws__MultiFactorAuthAge="10.0")) is False  # 10.0 is 10
    assert decide(not_equal, req(aws__MultiFactorAuthAge="soon")) is True  # the complement of "equals 10"


def test_dates_compare_as_moments_in_any_notation():
    model = role(doc(allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}})))
    assert decide(model, req(aws__CurrentTime="2024-06-01")) is True
    assert decide(model, req(aws__CurrentTime="2023-12-31T23:59:59Z")) is False
    assert decide(model, req(aws__CurrentTime="1704067201")) is True  # epoch seconds, one second after


def test_bool_compares_text_case_insensitively():
    model = role(doc(allow(Condition={"Bool": {"aws:SecureTransport": True}})))
    assert decide(model, req(aws__SecureTransport="True")) is True
    assert decide(model, req(aws__SecureTransport="1")) is False
    assert decide(model, req(aws__SecureTransport="false")) is False


def test_ip_addresses_in_v4_and_v6_ranges():
    model = role(doc(allow(Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}})))
    assert decide(model, req(aws__SourceIp="10.1.2.3")) is True
    assert decide(model, req(aws__SourceIp="2001:db8::1")) is True
    assert decide(model, req(aws__SourceIp="11.0.0.1")) is False
    outside = role(doc(allow(Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert decide(outside, req(aws__SourceIp="::ffff:10.0.0.1")) is True  # an IPv6 address is not in a v4 range


def test_arn_like_matches_parts():
    model = role(doc(allow(Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:ecs:*:{ACCOUNT}:*"}})))
    assert decide(model, req(aws__SourceArn=f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task/x")) is True
    assert decide(model, req(aws__SourceArn=f"arn:aws:ecs:eu-west-1:222222222222:task/{ACCOUNT}:x")) is False


# --- policy variables --------------------------------------------------------------------------


def test_policy_variables_read_another_key_of_the_request():
    model = role(doc(allow(resource="arn:aws:s3:::home/${aws:username}/*")))
    assert decide(model, req(resource="arn:aws:s3:::home/alice/k", aws__username="alice")) is True
    assert decide(model, req(resource="arn:aws:s3:::home/alice/k", aws__username="bob")) is False
    assert decide(model, req(resource="arn:aws:s3:::home/alice/k")) is False  # no such key: matches nothing


def test_policy_variable_in_a_condition_and_the_escapes():
    model = role(doc(allow(Condition={"StringEquals": {"aws:ResourceTag/owner": "${aws:PrincipalTag/owner}"}})))
    assert decide(model, req(aws__ResourceTag_owner="ann", aws__PrincipalTag_owner="ann")) is True
    assert decide(model, req(aws__ResourceTag_owner="ann", aws__PrincipalTag_owner="bob")) is False
    star = role(doc(allow(resource="arn:aws:s3:::b/${*}")))
    assert decide(star, req(resource="arn:aws:s3:::b/*")) is True
    assert decide(star, req(resource="arn:aws:s3:::b/x")) is False  # `${*}` is a literal star


def test_a_variable_default_applies_when_the_key_is_absent():
    model = role(doc(allow(resource="arn:aws:s3:::home/${aws:username, 'nobody'}/*")))
    assert decide(model, req(resource="arn:aws:s3:::home/nobody/k")) is True


def test_principal_account_variable_is_the_callers_account():
    model = role(doc(allow(resource="arn:aws:s3:::logs-${aws:PrincipalAccount}/*")))
    assert decide(model, req(resource=f"arn:aws:s3:::logs-{ACCOUNT}/k")) is True
    assert decide(model, req(resource="arn:aws:s3:::logs-222222222222/k")) is False


# --- trust ----------------------------------------------------------------------------------------


def trust(*statements: dict[str, Any]):
    return role_from_documents("agent", ACCOUNT, trust=doc(*statements))


def assume(principal: str | Principal, action: str = "sts:AssumeRole", **context: Any) -> Request:
    return Request(principal, action, "", {k.replace("__", ":").replace("_", "/"): v for k, v in context.items()})


def test_an_account_principal_is_every_principal_of_that_account():
    model = trust({"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "sts:AssumeRole"})
    assert model.trust.statements[0].principal[0].value == "arn:aws:iam::222222222222:root"
    assert trusted(model, assume("arn:aws:iam::222222222222:role/any")) is True
    assert trusted(model, assume("arn:aws:iam::333333333333:role/any")) is False


def test_principal_arn_follows_from_the_principal():
    model = trust({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "sts:AssumeRole",
                   "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/vendor-*"}}})
    assert trusted(model, assume("arn:aws:iam::222222222222:role/vendor-a")) is True
    assert trusted(model, assume("arn:aws:iam::222222222222:role/other")) is False
    with pytest.raises(ValueError, match="aws:principalarn"):
        assume("arn:aws:iam::222222222222:role/other", aws__PrincipalArn="arn:aws:iam::222222222222:role/vendor-a")


def test_service_and_federated_principals_match_by_kind():
    model = trust({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert trusted(model, assume("ecs-tasks.amazonaws.com")) is True
    assert trusted(model, assume(Principal("Federated", "ecs-tasks.amazonaws.com"))) is False


def test_not_principal_allows_everyone_else():
    model = trust({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::222222222222:role/x"}, "Action": "sts:AssumeRole"})
    assert trusted(model, assume("arn:aws:iam::333333333333:role/y")) is True
    assert trusted(model, assume("arn:aws:iam::222222222222:role/x")) is False


def test_a_trust_decision_names_the_failed_condition():
    model = trust({"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}})
    decision = can_assume(model, assume("arn:aws:iam::222222222222:role/v", sts__ExternalId="xyz"))
    assert decision.allowed is False
    [miss] = decision.near_misses
    assert (miss.statement.sid, miss.statement.number) == ("Vendor", 1)
    [failure] = miss.conditions
    assert (failure.operator, failure.key, failure.expected, failure.actual) == ("StringEquals", "sts:ExternalId", ("abc",), ("xyz",))


# --- unknowns ----------------------------------------------------------------------------------------


def test_a_secret_value_is_unknown_not_a_guess():
    model = trust({"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}})
    request = assume("arn:aws:iam::222222222222:role/v", sts__ExternalId="xyz")
    assert trusted(model, request) is None
    assert trusted(model, assume("arn:aws:iam::333333333333:role/v", sts__ExternalId="xyz")) is False  # the principal decides
    assert "unknown" in can_assume(model, request).explain()


def test_an_unknown_document_never_makes_a_request_certain():
    from agent_iam.model.documents import ATTACHED_UNKNOWN, Source, unknown_document

    unknown = unknown_document(Source(ATTACHED_UNKNOWN, "arn:aws:iam::111111111111:policy/p"), "not in the plan")
    model = role_from_documents("agent", ACCOUNT, identity=[doc(allow()), unknown])
    assert decide(model, req()) is None  # the unknown policy could deny it
    denied = role_from_documents("agent", ACCOUNT, identity=[doc({"Effect": "Deny", "Action": "*", "Resource": "*"}), unknown])
    assert decide(denied, req()) is False  # a known Deny decides


def test_requests_are_values():
    one = Request("arn:aws:iam::222222222222:role/x", "s3:GetObject", "r", {"AWS:TagKeys": ["a", "b"]})
    same = Request("arn:aws:iam::222222222222:role/x", "s3:GetObject", "r", {"aws:tagkeys": ("a", "b")})
    assert one == same and len({one, same}) == 1
    assert one.context["aws:principalaccount"] == ("222222222222",)
    with pytest.raises(ValueError, match="12-digit account"):
        Request("arn:aws:iam::*:role/x", "sts:AssumeRole")
