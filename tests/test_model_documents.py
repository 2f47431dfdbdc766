"""Typed documents parsed once, and the role model built from the plan's resources."""

from __future__ import annotations

import json

import pytest

from agent_iam.guardrails.rules import Context, ResourceView
from agent_iam.model import parse_document, roles_from_views
from agent_iam.model import documents as docs

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY = "aws:iam/policy:Policy"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def test_statements_are_numbered_from_one_and_normalised():
    document = parse_document({"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Principal": {"AWS": ["123456789012", "arn:aws:iam::222222222222:role/x"]},
         "Action": "sts:AssumeRole",
         "Condition": {"ForAnyValue:StringLikeIfExists": {"AWS:TagKeys": ["a*", True, 5]}, "Bool": {"aws:SecureTransport": False}}},
    ]})
    first, second = document.statements
    assert (first.number, first.label, second.number, second.label) == (1, "statement 'A'", 2, "statement #2")
    assert [(p.kind, p.value) for p in second.principal] == [
        ("AWS", "arn:aws:iam::123456789012:root"), ("AWS", "arn:aws:iam::222222222222:role/x")]
    tags, secure = second.conditions
    assert (tags.operator, tags.set_operator, tags.if_exists, tags.key, tags.values) == (
        "StringLike", "ForAnyValue", True, "aws:tagkeys", ("a*", "true", "5"))
    assert (secure.operator, secure.values, secure.negated) == ("Bool", ("false",), False)


def test_negated_operators_know_their_positive():
    [statement] = parse_document({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
                                                "Condition": {"StringNotEqualsIgnoreCase": {"k": "v"}}}}).statements
    condition = statement.conditions[0]
    assert (condition.negated, condition.positive, condition.family) == (True, "StringEqualsIgnoreCase", "String")


@pytest.mark.parametrize(
    ("statement", "path", "received"),
    [
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqual": {"k": "v"}}},
         "Statement[2].Condition.StringEqual: not a condition operator", "'StringEqual'"),
        ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, "Statement[2].Effect: expected Allow or Deny", "'Permit'"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"k": "ten"}}},
         "Statement[2].Condition.NumericLessThan.k: not a number", "'ten'"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}},
         "Statement[2].Condition.IpAddress.aws:SourceIp: not an IP address or CIDR", "'10.0.0.300/8'"),
        ({"Effect": "Allow", "Resource": "*"}, "Statement[2]: a statement needs exactly one of Action or NotAction", ""),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username"},
         "Statement[2].Resource: an unclosed policy variable", ""),
        ({"Effect": "Allow", "Action": [], "Resource": "*"}, "Statement[2].Action: an empty list", "[]"),
    ],
)
def test_malformed_documents_name_the_document_and_the_path(statement, path, received):
    good = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    with pytest.raises(ValueError) as caught:
        parse_document({"Version": "2012-10-17", "Statement": [good, statement]}, name="inline policy 'x'")
    message = str(caught.value)
    assert message.startswith(f"inline policy 'x': {path}"), message
    assert received in message


def test_json_text_and_mapping_parse_to_the_same_cached_statements():
    content = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    first = parse_document(content)
    second = parse_document(json.dumps(content, indent=4))
    assert first.digest == second.digest
    assert first.statements is second.statements  # parsed once, by content


def test_unknown_values_are_symbols_named_where_they_sit():
    content = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "222222222222"}, "Action": "sts:AssumeRole",
                              "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}}]}
    one = parse_document(content, unknown_prefix="role:vendor:assumeRolePolicy")
    again = parse_document(json.dumps(content), unknown_prefix="role:vendor:assumeRolePolicy")
    other = parse_document(content, unknown_prefix="role:other:assumeRolePolicy")
    [symbol] = one.unknowns
    assert symbol.name == "role:vendor:assumeRolePolicy:Statement[1].Condition.StringEquals.sts:ExternalId"
    assert again.unknowns == (symbol,) and other.unknowns != (symbol,)
    wrapped = {docs.SECRET_SIG_KEY: docs.SECRET_SIG, "ciphertext": "v1:abc"}
    named = parse_document({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": wrapped}]}).unknowns
    assert named[0].name.startswith("secret:")


# --- roles --------------------------------------------------------------------------------------


def view(rtype: str, logical: str, account: str = "111111111111", **props) -> ResourceView:
    return ResourceView(rtype, logical, props, account)


def test_a_role_is_its_account_and_name():
    views = [
        view(ROLE, "a-role", name="deploy", assumeRolePolicy=TRUST),
        view(ROLE, "b-role", "222222222222", name="deploy", assumeRolePolicy=TRUST),
        view(ROLE_POLICY, "b-policy", "222222222222", role="deploy", name="p",
             policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
    ]
    roles = {r.key: r for r in roles_from_views(views, Context(account_id="111111111111"))}
    assert set(roles) == {("111111111111", "deploy"), ("222222222222", "deploy")}
    assert roles[("111111111111", "deploy")].identity == ()
    [policy] = roles[("222222222222", "deploy")].identity
    assert (policy.source.kind, policy.source.name, policy.source.role) == ("inline", "p", ("222222222222", "deploy"))


def test_attached_policies_by_what_they_are_not_by_their_name():
    own = json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    views = [
        view(ROLE, "r", name="agent", assumeRolePolicy=TRUST,
             permissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess"),
        view(POLICY, "p", name="ReadOnlyAccess", path="/", policy=own),
        view(ATTACHMENT, "a1", role="agent", policyArn="arn:aws:iam::111111111111:policy/ReadOnlyAccess"),
        view(ATTACHMENT, "a2", role="agent", policyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
        view(ATTACHMENT, "a3", role="agent", policyArn="arn:aws:iam::111111111111:policy/elsewhere"),
        view(ATTACHMENT, "a4", role="agent", policyArn="04da6b54-80e4-46f7-96ec-b56ff0331ba9"),
    ]
    [role] = roles_from_views(views)
    kinds = [(d.source.kind, d.source.name, d.known) for d in role.identity]
    assert kinds == [
        ("customer-managed", "ReadOnlyAccess", True),  # not "AWS managed": it is this stack's own policy
        ("aws-managed", "ViewOnlyAccess", True),
        ("attached-unknown", "arn:aws:iam::111111111111:policy/elsewhere", False),
        ("attached-unknown", "rolePolicyAttachment:a4:policyArn", False),
    ]
    assert role.identity[0].statements[0].action == ("s3:GetObject",)
    assert (role.boundary.source.kind, role.boundary.known) == ("boundary", True)
    assert role.boundary.statements[0].not_action  # PowerUserAccess's content, from the dataset


def test_a_policy_for_a_role_the_stack_does_not_create_leaves_its_other_policies_unknown():
    views = [view(ROLE_POLICY, "p", role="arn:aws:iam::333333333333:role/existing", name="extra",
                  policy=json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))]
    [role] = roles_from_views(views)
    assert role.key == ("333333333333", "existing") and not role.created
    assert [d.known for d in role.identity] == [False, True]


def test_a_document_iam_would_refuse_is_unknown_with_the_reason():
    views = [view(ROLE, "r", name="agent", assumeRolePolicy=json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole"}]}))]
    [role] = roles_from_views(views)
    assert not role.trust.known
    assert "IAM would refuse it" in role.trust.reason and "Statement[1]" in role.trust.reason


def test_views_from_a_plan_json_give_the_same_roles():
    from conftest import plan_stack_file

    from agent_iam.plan.guardrails import resource_views, views_from_plan
    from agent_iam.plan.render import plan_json

    run = plan_stack_file("dev")
    account = "210987654321"
    live = roles_from_views(resource_views(run, account), Context(account_id=account))
    plan = json.loads(plan_json(run))  # as `agent-iam plan` writes it
    stored = roles_from_views(views_from_plan(plan, account), Context(account_id=account))
    assert [r.key for r in stored] == [r.key for r in live]
    assert [[d.digest for d in r.documents] for r in stored] == [[d.digest for d in r.documents] for r in live]


def test_policies_a_role_lists_itself_count_and_unknown_lists_are_unknown_documents():
    inline = [{"name": "own", "policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})}]
    [listed] = roles_from_views([view(ROLE, "r", name="agent", assumeRolePolicy=TRUST, inlinePolicies=inline,
                                      managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])])
    assert [(d.source.kind, d.source.name) for d in listed.identity] == [("inline", "own"), ("aws-managed", "ReadOnlyAccess")]
    [unknown] = roles_from_views([view(ROLE, "r", name="agent", assumeRolePolicy=TRUST,
                                       managedPolicyArns="04da6b54-80e4-46f7-96ec-b56ff0331ba9")])
    assert [(d.source.name, d.known) for d in unknown.identity] == [("role:r:managedPolicyArns", False)]
