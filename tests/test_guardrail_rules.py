"""Every guardrail rule, passing and failing, on plain data (no Pulumi)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_iam.guardrails import rules
from agent_iam.guardrails.rules import (
    ADVISORY,
    DISABLED,
    MANDATORY,
    POLICY,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    UNKNOWN,
    Context,
    ResourceView,
    evaluate,
    evaluate_resource,
    evaluate_stack,
    identity_documents,
)
from agent_iam.iam.limits import IamLimits, minified_size

OWN = "111111111111"
VENDOR = "222222222222"
CTX = Context(account_id=OWN)
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
OIDC_ARN = f"arn:aws:iam::{OWN}:oidc-provider/{ISSUER}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(name: str = "agent", trust: Any = None, **props: Any) -> ResourceView:
    trust = trust if trust is not None else doc(service_trust())
    return ResourceView(ROLE, f"{name}-logical", {"name": name, "path": "/", "assumeRolePolicy": trust, **props})


def service_trust(service: str = "ecs-tasks.amazonaws.com", **extra: Any) -> dict[str, Any]:
    return {"Sid": "Svc", "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole", **extra}


def aws_trust(principal: Any, condition: dict | None = None, sid: str = "Vendor") -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


def oidc_trust(condition: dict | None, sid: str = "Irsa") -> dict[str, Any]:
    statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": OIDC_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def inline(policy: str, role_name: str = "agent", name: str = "access") -> ResourceView:
    return ResourceView(ROLE_POLICY, f"{role_name}-{name}", {"role": role_name, "name": name, "policy": policy})


def allow(action: Any, resource: Any = "arn:aws:s3:::bucket/*", sid: str = "S1", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}


def judged(rule_name: str, *resources: ResourceView, context: Context = CTX) -> list[rules.Violation]:
    """One rule's violations: a resource rule on each resource, a stack rule (the effective-access
    rules) on all of them, with the role a lone RolePolicy or attachment names added."""
    if rules.RULES[rule_name].scope == "resource":
        return [v for r in resources for v in evaluate_resource(rule_name, r, context)]
    views = list(resources)
    created = {r.props.get("name") for r in views if r.type == ROLE}
    for name in dict.fromkeys(r.props.get("role") for r in views if r.type in (ROLE_POLICY, ROLE_POLICY_ATTACHMENT)):
        if isinstance(name, str) and not name.startswith("arn:") and name not in created:
            views.insert(0, role(name))
            created.add(name)
    return evaluate_stack(rule_name, views, context)


def messages(rule_name: str, resource: ResourceView, context: Context = CTX) -> list[str]:
    return [v.message for v in judged(rule_name, resource, context=context)]


# --- no-wildcard-principal -----------------------------------------------------------


def test_wildcard_principal_passes_named_principals():
    trust = doc(service_trust(), aws_trust(f"arn:aws:iam::{VENDOR}:role/vendor", {"StringEquals": {"sts:ExternalId": "x1"}}))
    assert messages("no-wildcard-principal", role(trust=trust)) == []


@pytest.mark.parametrize(
    "principal, shown",
    [
        ("*", "(*)"),
        ({"AWS": "*"}, "(AWS: *)"),
        ({"AWS": ["arn:aws:iam::222222222222:root", "*"]}, "(AWS: *)"),
        ({"AWS": "arn:aws:iam::222222222222:role/*"}, "(AWS: arn:aws:iam::222222222222:role/*)"),
        ({"AWS": "arn:aws:iam::*:root"}, "(AWS: arn:aws:iam::*:root)"),
        ({"Federated": "arn:aws:iam::111111111111:oidc-provider/*"}, "(Federated: "),
    ],
)
def test_wildcard_principal_fails(principal, shown):
    trust = doc({"Sid": "Open", "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    [message] = messages("no-wildcard-principal", role("open-role", trust=trust))
    assert message.startswith("role 'open-role': trust statement 'Open' trusts a wildcard principal ")
    assert shown in message


def test_not_principal_with_allow_fails_and_deny_statements_are_ignored():
    trust = doc(
        {"Sid": "AllBut", "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{VENDOR}:root"}, "Action": "sts:AssumeRole"},
        {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
    )
    assert messages("no-wildcard-principal", role(trust=trust)) == []
    [message] = messages("trust-statement-shape", role(trust=trust))
    assert "statement 'AllBut' uses NotPrincipal with Allow" in message


# --- cross-account-trust-condition ---------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"sts:ExternalId": "acme-4f8b"}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{VENDOR}:role/qwak-*"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"StringEquals": {"STS:EXTERNALID": "acme-4f8b"}},  # keys are case-insensitive in IAM
    ],
)
def test_cross_account_trust_passes_with_a_pinning_condition(condition):
    trust = doc(aws_trust(f"arn:aws:iam::{VENDOR}:root", condition))
    assert messages("cross-account-trust-condition", role(trust=trust)) == []


@pytest.mark.parametrize(
    "condition",
    [
        None,
        {"StringEquals": {"aws:SourceAccount": VENDOR}},  # not one of the pinning keys
        {"StringEqualsIfExists": {"sts:ExternalId": "x1"}},  # absent key passes
        {"StringNotEquals": {"sts:ExternalId": "x1"}},
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    ],
)
def test_cross_account_trust_fails_without_a_pinning_condition(condition):
    trust = doc(aws_trust(f"arn:aws:iam::{VENDOR}:role/vendor", condition))
    [message] = messages("cross-account-trust-condition", role("vendor-role", trust=trust))
    assert message.startswith(
        f"role 'vendor-role': trust statement 'Vendor' lets arn:aws:iam::{VENDOR}:role/vendor (an account that is not "
        "the role's own) assume the role with no sts:ExternalId, aws:PrincipalArn, aws:PrincipalOrgID condition"
    )
    assert "tag the role agent-iam:trust-exemption=<reason>" in message


def test_a_cross_account_trust_is_judged_with_the_trusts_denies_and_names_a_request_it_lets_in():
    """The model reads the whole trust: a Deny that refuses every request without the external ID pins
    the Allow (no finding); without it, the finding names a request the trust lets in."""
    vendor = f"arn:aws:iam::{VENDOR}:role/vendor"
    unpinned = doc(aws_trust(vendor))
    [message] = messages("cross-account-trust-condition", role("vendor-role", trust=unpinned))
    assert f"(e.g. {vendor} can call sts:AssumeRole with none of them)" in message
    deny = {"Sid": "NoIdNoEntry", "Effect": "Deny", "Principal": {"AWS": vendor}, "Action": "sts:AssumeRole",
            "Condition": {"StringNotEquals": {"sts:ExternalId": "x1"}}}
    assert messages("cross-account-trust-condition", role("vendor-role", trust=doc(aws_trust(vendor), deny))) == []
    other_key = {**deny, "Condition": {"StringNotEquals": {"aws:SourceIp": "10.0.0.1"}}}  # denies, but pins nothing
    [message] = messages("cross-account-trust-condition", role("vendor-role", trust=doc(aws_trust(vendor), other_key)))
    assert "(e.g. " not in message


def test_same_account_trust_needs_no_condition():
    trust = doc(aws_trust([f"arn:aws:iam::{OWN}:root", OWN]))
    assert messages("cross-account-trust-condition", role(trust=trust)) == []


def test_the_role_account_comes_from_its_arn_or_provider_before_the_stack():
    trust = doc(aws_trust(f"arn:aws:iam::{VENDOR}:root"))
    in_vendor_account = role(trust=trust, arn=f"arn:aws:iam::{VENDOR}:role/agent")
    assert messages("cross-account-trust-condition", in_vendor_account) == []
    via_provider = ResourceView(ROLE, "r", {"name": "r", "assumeRolePolicy": trust}, account=VENDOR)
    assert messages("cross-account-trust-condition", via_provider) == []


def test_unknown_role_account_counts_as_cross_account():
    trust = doc(aws_trust(f"arn:aws:iam::{OWN}:root"))
    [message] = messages("cross-account-trust-condition", role(trust=trust), Context(account_id=None))
    assert "(an account that cannot be told to be the role's own)" in message
    unique_id = doc(aws_trust("AROAEXAMPLEUNIQUEID"))
    assert len(messages("cross-account-trust-condition", role(trust=unique_id))) == 1


def test_exemption_tag_with_a_reason_exempts_the_role():
    trust = doc(aws_trust(f"arn:aws:iam::{VENDOR}:root"))
    exempt = role(trust=trust, tags={"agent-iam:trust-exemption": "vendor X offers no external ID (SEC-123)"})
    assert messages("cross-account-trust-condition", exempt) == []
    empty_reason = role(trust=trust, tags={"agent-iam:trust-exemption": "  "})
    assert len(messages("cross-account-trust-condition", empty_reason)) == 1


# --- oidc-trust-conditions -----------------------------------------------------------

SUB = "system:serviceaccount:agents:superblocks"


def test_oidc_trust_passes_with_exact_sub_and_aud():
    trust = doc(oidc_trust({"StringEquals": {f"{ISSUER}:sub": SUB, f"{ISSUER}:aud": "sts.amazonaws.com"}}))
    assert messages("oidc-trust-conditions", role(trust=trust)) == []


def test_oidc_stringlike_without_wildcards_is_exact():
    trust = doc(oidc_trust({"StringLike": {f"{ISSUER}:sub": SUB}, "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}))
    assert messages("oidc-trust-conditions", role(trust=trust)) == []


def test_oidc_trust_without_conditions_fails_on_both_keys():
    assert messages("oidc-trust-conditions", role("irsa", trust=doc(oidc_trust(None)))) == [
        f"role 'irsa': OIDC trust statement 'Irsa' does not pin {ISSUER}:aud with StringEquals (e.g. sts.amazonaws.com)",
        f"role 'irsa': OIDC trust statement 'Irsa' does not pin {ISSUER}:sub with StringEquals "
        "(the exact subject, e.g. the service account)",
    ]


def test_oidc_aud_must_be_string_equals():
    trust = doc(oidc_trust({"StringEquals": {f"{ISSUER}:sub": SUB}, "StringLike": {f"{ISSUER}:aud": "sts.*"}}))
    [message] = messages("oidc-trust-conditions", role(trust=trust))
    assert f"does not pin {ISSUER}:aud with StringEquals" in message


def test_oidc_sub_wildcard_needs_the_opt_in_tag():
    condition = {
        "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:agents:*"},
        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
    }
    [message] = messages("oidc-trust-conditions", role("irsa", trust=doc(oidc_trust(condition))))
    assert message.startswith(
        f"role 'irsa': OIDC trust statement 'Irsa' matches {ISSUER}:sub with StringLike wildcards "
        "(system:serviceaccount:agents:*)"
    )
    opted_in = role("irsa", trust=doc(oidc_trust(condition)), tags={"agent-iam:oidc-sub-wildcard": "one SA per pod"})
    assert messages("oidc-trust-conditions", opted_in) == []


def test_oidc_trust_of_a_bare_issuer_and_without_federated_principal():
    github = "token.actions.githubusercontent.com"
    statement = oidc_trust({"StringEquals": {f"{github}:aud": "sts.amazonaws.com", f"{github}:sub": "repo:o/r:ref:refs/heads/main"}})
    statement["Principal"] = {"Federated": f"arn:aws:iam::{OWN}:oidc-provider/{github}"}
    assert messages("oidc-trust-conditions", role(trust=doc(statement))) == []
    statement["Principal"] = {"Service": "ecs-tasks.amazonaws.com"}
    [message] = messages("oidc-trust-conditions", role(trust=doc(statement)))
    assert "without a Federated principal" in message


def test_service_and_pod_identity_trusts_are_not_oidc():
    pods = service_trust("pods.eks.amazonaws.com", Action=["sts:AssumeRole", "sts:TagSession"])
    assert messages("oidc-trust-conditions", role(trust=doc(pods))) == []


# --- sensitive-actions-scoped --------------------------------------------------------


@pytest.mark.parametrize(
    "action, resource",
    [
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:111111111111:secret:agent-Ab12Cd"),
        (["s3:PutObject", "s3:DeleteObject"], "arn:aws:s3:::bucket/prefix/*"),
        ("kms:Decrypt", "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("iam:PassRole", "arn:aws:iam::111111111111:role/agent-task"),
        ("iam:PassRole", "arn:aws:iam::111111111111:role/agents/*"),  # a path of roles, not every role
        (["s3:GetObject", "s3:ListBucket"], "*"),  # reads on * are not in this rule
        ("ecr:GetAuthorizationToken", "*"),  # supports no resource ARN: "*" is the only way to grant it
        ("s3:PutObject", "arn:aws:s3:::my-bucket/*"),  # every object of one bucket
    ],
)
def test_sensitive_actions_pass_when_scoped(action, resource):
    assert messages("sensitive-actions-scoped", inline(doc(allow(action, resource)))) == []


@pytest.mark.parametrize(
    "action, resource, named",
    [
        ("secretsmanager:GetSecretValue", "*", "secretsmanager:GetSecretValue"),
        ("secretsmanager:*", "*", "secretsmanager:GetSecretValue"),
        ("kms:*", "*", "kms:CreateGrant"),
        ("kms:Decrypt", "arn:aws:kms:eu-west-1:111111111111:key/*", "kms:Decrypt"),
        ("iam:PassRole", "arn:aws:iam::111111111111:role/*", "iam:PassRole"),
        ("iam:Pass*", "*", "iam:PassRole"),
        ("s3:PutObject", "*", "s3:PutObject"),
        ("s3:Put*", "*", "s3:PutAccessPointPolicy"),
        ("s3:Delete*", "arn:aws:s3:::*", "s3:DeleteAccessGrant"),  # counted on every bucket: it names no arn:aws:s3:::* type
        ("s3:AbortMultipartUpload", "arn:aws:s3:::*/*", "s3:AbortMultipartUpload"),
        ("logs:PutLogEvents", "*", "logs:PutLogEvents"),  # Write on every log stream
        # the issue's bypasses: spellings the old fixed patterns did not know
        ("iam:PassRole", "arn:aws:iam::*:role*", "iam:PassRole"),
        ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret*", "secretsmanager:GetSecretValue"),
        ("kms:Decrypt", "arn:aws:kms:*:*:*/*", "kms:Decrypt"),
        ("s3:PutBucketNotification", "arn:aws:s3:::*", "s3:PutBucketNotification"),
        ("s3:PutEncryptionConfiguration", "arn:aws:s3:::*", "s3:PutEncryptionConfiguration"),
        ("s3:PutBucketVersioning", "arn:aws:s3:::*", "s3:PutBucketVersioning"),
        ("s3:DeleteObjectTagging", "arn:aws:s3:::*/*", "s3:DeleteObjectTagging"),
        ("s3:DeleteObject", "arn:aws:s3:::*-*/*", "s3:DeleteObject"),
        ("ssm:GetParameter*", "arn:aws:ssm:eu-west-1:111111111111:parameter/*", "ssm:GetParameter"),
        ("iam:PassRole", "arn:aws:iam::*:role/deploy", "iam:PassRole"),  # a role name in every account
    ],
)
def test_sensitive_actions_fail_on_every_resource(action, resource, named):
    [message] = messages("sensitive-actions-scoped", inline(doc(allow(action, resource, sid="Wide"))))
    assert message.startswith("inline policy 'access': statement 'Wide' allows ")
    assert named in message
    assert f"on {resource!r}, every resource of its kind; scope it to ARNs" in message
    assert "acceptedFindings: [{check: sensitive-actions-scoped, sid: Wide, reason: <why>}]" in message


def test_sensitive_actions_name_the_access_levels():
    [message] = messages("sensitive-actions-scoped", inline(doc(allow(["s3:PutBucketPolicy", "s3:PutObjectTagging",
                                                                    "secretsmanager:GetSecretValue"], "*"))))
    assert "1 Permissions management" in message and "1 Tagging" in message and "1 credential read" in message


def test_sensitive_actions_through_not_action_and_not_resource():
    not_action = {"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    [message] = messages("sensitive-actions-scoped", inline(doc(not_action)))
    assert "iam:PassRole" not in message and "more (" in message
    not_resource = {"Sid": "NotThat", "Effect": "Allow", "Action": "kms:Decrypt", "NotResource": "arn:aws:kms:*:*:key/x"}
    [message] = messages("sensitive-actions-scoped", inline(doc(not_resource)))
    assert "allows kms:Decrypt (1 Write) on 'NotResource (every resource it does not list)'" in message


def test_sensitive_actions_statement_without_sid_is_named_by_document_and_number():
    statement = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
    other = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    [violation] = judged("sensitive-actions-scoped", inline(doc(other, statement)))
    assert (violation.sid, violation.document, violation.statement) == (None, "access", 2)
    assert "statement #2 allows iam:PassRole" in violation.message
    assert violation.message.endswith(
        "accept it in the entry with acceptedFindings: [{check: sensitive-actions-scoped, document: access, "
        "statement: 2, reason: <why>}]"
    )
    by_number = rules.Acceptance("sensitive-actions-scoped", None, "reviewed, SEC-1", "agent", "access", 2)
    assert rules.blocking(rules.accept([violation], [by_number])) == []
    wrong_number = rules.Acceptance("sensitive-actions-scoped", None, "reviewed, SEC-1", "agent", "access", 1)
    assert rules.blocking(rules.accept([violation], [wrong_number])) == [violation]


def test_sensitive_actions_ignore_deny_and_look_into_managed_and_role_inline_policies():
    deny = {"Sid": "DenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}
    assert messages("sensitive-actions-scoped", inline(doc(deny))) == []
    managed = ResourceView(POLICY, "p", {"name": "agent-extra", "policy": doc(allow("kms:Decrypt", "*"))})
    assert messages("sensitive-actions-scoped", managed)[0].startswith("managed policy 'agent-extra': statement 'S1'")
    with_inline = role(inlinePolicies=[{"name": "extra", "policy": doc(allow("iam:PassRole", "*"))}])
    assert messages("sensitive-actions-scoped", with_inline)[0].startswith(
        "role 'agent' inline policy 'extra': statement 'S1' allows iam:PassRole"
    )


# --- no-wildcard-action --------------------------------------------------------------


def test_wildcard_action_passes_service_scoped_actions():
    assert messages("no-wildcard-action", inline(doc(allow(["s3:Get*", "logs:*"], "*")))) == []


@pytest.mark.parametrize("action", ["*", "*:*", ["s3:GetObject", "*"], "*:Get*"])
def test_wildcard_action_fails(action):
    [message] = messages("no-wildcard-action", inline(doc(allow(action, sid="Admin"))))
    assert message.startswith("inline policy 'access': statement 'Admin' allows '*")
    assert message.endswith("every action of every service")


def test_not_action_with_allow_fails_wildcard_action():
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::bucket/*"}
    [message] = messages("no-wildcard-action", inline(doc(statement)))
    assert message == "inline policy 'access': statement #1 uses NotAction with Allow, which grants every other action"


# --- permissions-boundary ------------------------------------------------------------

BOUNDARY = f"arn:aws:iam::{OWN}:policy/AgentPermissionsBoundary"


def test_boundary_not_required_when_the_stack_sets_none():
    assert messages("permissions-boundary", role()) == []


def test_boundary_required_when_the_stack_sets_one():
    context = Context(account_id=OWN, boundary_arns=(BOUNDARY,), boundary_required=True)
    assert messages("permissions-boundary", role(permissionsBoundary=BOUNDARY), context) == []
    assert messages("permissions-boundary", role("bare"), context) == [
        f"role 'bare' has no permissions boundary; the stack requires {BOUNDARY}"
    ]
    other = f"arn:aws:iam::{OWN}:policy/Other"
    assert messages("permissions-boundary", role("odd", permissionsBoundary=other), context) == [
        f"role 'odd' has permissions boundary {other}, which the stack allows {BOUNDARY}; list it in "
        "agent-iam:guardrails.permissionsBoundaries to allow it"
    ]


def test_unknown_boundary_is_not_judged():
    context = Context(account_id=OWN, boundary_arns=(BOUNDARY,))
    assert messages("permissions-boundary", role(permissionsBoundary=UNKNOWN), context) == []


# --- iam-limits ----------------------------------------------------------------------


def test_limits_pass_at_the_edges():
    name = "r" * 64
    path = "/" + "p" * 510 + "/"
    assert len(path) == 512
    assert messages("iam-limits", role(name, path=path)) == []


def test_role_name_and_path_limits():
    assert messages("iam-limits", role("r" * 65)) == [f"role '{'r' * 65}': the name is 65 characters, over IAM's 64"]
    assert messages("iam-limits", role("bad name")) == ["role 'bad name': the name may hold only letters, digits and +=,.@_-"]
    for path in ("agents/", "/agents", "/a b/", "//x"):
        [message] = messages("iam-limits", role(path=path))
        assert message == f"role 'agent': path {path!r} must be '/' or start and end with '/' (printable ASCII, no spaces)"
    long_path = "/" + "p" * 511 + "/"
    assert messages("iam-limits", role(path=long_path)) == ["role 'agent': path is 513 characters, over IAM's 512"]


def padded_trust(size: int) -> str:
    """A trust policy of exactly `size` characters minified."""
    statement = service_trust(Sid="S")
    base = minified_size({"Version": "2012-10-17", "Statement": [statement]})
    statement["Sid"] = "S" * (size - base + 1)
    text = doc(statement)
    assert minified_size(json.loads(text)) == size
    return text


def test_trust_policy_size_limit_comes_from_the_context():
    assert messages("iam-limits", role(trust=padded_trust(2048))) == []
    assert messages("iam-limits", role(trust=padded_trust(2049))) == [
        "role 'agent': trust policy is 2049 characters minified, over the 2048 the account allows"
    ]
    raised = Context(account_id=OWN, limits=IamLimits(trust_policy_size=4096))
    assert messages("iam-limits", role(trust=padded_trust(2049)), raised) == []


def test_customer_managed_policy_size_limit():
    statement = allow("s3:GetObject", [f"arn:aws:s3:::bucket/{i:04d}-{'x' * 40}/*" for i in range(120)])
    policy = ResourceView(POLICY, "p", {"name": "big", "path": "/", "policy": doc(statement)})
    [message] = messages("iam-limits", policy)
    assert message.startswith("managed policy 'big' is ") and message.endswith("over IAM's 6144 for a managed policy")
    small = ResourceView(POLICY, "p", {"name": "small", "path": "/", "policy": doc(allow("s3:GetObject"))})
    assert messages("iam-limits", small) == []


# --- iam-role-limits (aggregated per role) -------------------------------------------


def attachment(role_name: str, arn: Any, account: str | None = None) -> ResourceView:
    name = f"{role_name}-{str(arn).rsplit('/', 1)[-1]}"
    return ResourceView(ROLE_POLICY_ATTACHMENT, name, {"role": role_name, "policyArn": arn}, account)


def stack_messages(resources: list[ResourceView], context: Context = CTX) -> list[tuple[str, str, str]]:
    return [(v.resource_type, v.resource_name, v.message) for v in evaluate_stack("iam-role-limits", resources, context)]


def big_inline(role_name: str, name: str, size_hint: int) -> ResourceView:
    resources = [f"arn:aws:s3:::bucket/{i:05d}/*" for i in range(size_hint // 32)]
    return inline(doc(allow("s3:GetObject", resources)), role_name, name)


def test_inline_policies_are_added_up_per_role():
    parts = [big_inline("agent", "a", 5000), big_inline("agent", "b", 5000)]
    sizes = [minified_size(json.loads(p.props["policy"])) for p in parts]
    assert sum(sizes) <= 10240
    assert stack_messages([role(), *parts]) == []
    third = big_inline("agent", "c", 1000)
    [(rtype, rname, message)] = stack_messages([role(), *parts, third])
    assert (rtype, rname) == (ROLE, "agent-logical")
    assert message.startswith("role 'agent': inline policies total ")
    assert f"(a {sizes[0]}, b {sizes[1]}, c " in message and message.endswith("over the 10240 IAM allows per role")
    assert stack_messages([role("other"), *parts, third])[0][1] == "agent"  # a role the stack does not create


def test_managed_policies_are_counted_per_role_with_role_props_and_customer_policies():
    arns = [f"arn:aws:iam::aws:policy/P{i}" for i in range(9)]
    resources = [role(managedPolicyArns=[arns[0]]), *(attachment("agent", a) for a in arns[1:])]
    resources.append(attachment("agent", UNKNOWN))  # a customer policy whose ARN is not known yet
    assert stack_messages(resources) == []
    resources.append(attachment("agent", "arn:aws:iam::111111111111:policy/extra"))
    assert stack_messages(resources) == [
        (ROLE, "agent-logical", "role 'agent': 11 managed policies attached, over the 10 the account allows per role")
    ]
    raised = Context(account_id=OWN, limits=IamLimits(managed_policies_per_role=20))
    assert stack_messages(resources, raised) == []


def test_roles_of_the_same_name_in_two_accounts_are_two_roles():
    arns = [f"arn:aws:iam::aws:policy/P{i}" for i in range(6)]
    here = ResourceView(ROLE, "here", {"name": "agent", "assumeRolePolicy": doc(service_trust())}, OWN)
    there = ResourceView(ROLE, "there", {"name": "agent", "assumeRolePolicy": doc(service_trust())}, VENDOR)
    resources = [here, there, *(attachment("agent", a, OWN) for a in arns), *(attachment("agent", a, VENDOR) for a in arns)]
    assert stack_messages(resources) == []
    roles = {(r.account, r.name): len(r.managed) for r in rules.roles_with_permissions(resources, CTX)}
    assert roles == {(OWN, "agent"): 6, (VENDOR, "agent"): 6}


def test_role_policy_role_given_as_an_arn_is_matched_by_name():
    [entry] = rules.roles_with_permissions([role(), inline(doc(allow("s3:GetObject")), f"arn:aws:iam::{OWN}:role/x/agent")], CTX)
    assert entry.role is not None and [name for name, _ in entry.inline] == ["access"]


# --- evaluation and levels -----------------------------------------------------------


def wide_open_stack() -> list[ResourceView]:
    return [
        role("open", trust=doc({"Sid": "Any", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})),
        inline(doc(allow("*", "*", sid="Admin")), "open"),
    ]


def test_evaluate_reports_each_rule_at_its_level():
    context = Context(account_id=OWN, enforcement=ADVISORY, rules={"no-wildcard-action": MANDATORY})
    found = {(v.rule, v.level, v.resource_name) for v in evaluate(wide_open_stack(), context)}
    assert found == {
        ("no-wildcard-principal", ADVISORY, "open-logical"),
        ("sensitive-actions-scoped", ADVISORY, "open-access"),
        ("no-wildcard-action", MANDATORY, "open-access"),
    }
    assert [v.rule for v in rules.blocking(evaluate(wide_open_stack(), context))] == ["no-wildcard-action"]


def test_disabled_rules_do_not_run():
    context = Context(account_id=OWN, rules={"no-wildcard-action": DISABLED, "sensitive-actions-scoped": DISABLED})
    assert [v.rule for v in evaluate(wide_open_stack(), context)] == ["no-wildcard-principal"]


def test_violation_as_plan_json():
    [violation] = evaluate_stack("no-wildcard-action", wide_open_stack(), CTX)
    assert violation.to_dict() == {
        "rule": "no-wildcard-action",
        "level": "mandatory",
        "resourceType": ROLE_POLICY,
        "resourceName": "open-access",
        "message": "inline policy 'access': statement 'Admin' allows '*', every action of every service",
        "sid": "Admin",
        "document": "access",
        "statement": 1,
        "role": "open",
    }


def test_unknown_documents_are_said_not_guessed():
    """A document the plan cannot see is never judged by a guess, and never passed silently: the
    effective-access rule says so, as an advisory (it blocks nothing, whatever the stack's level)."""
    unknown = ResourceView(ROLE, "r", {"name": "r", "assumeRolePolicy": UNKNOWN, "permissionsBoundary": None})
    sentinel = ResourceView(ROLE_POLICY, "p", {"role": "r", "name": "p", "policy": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"})
    [said] = evaluate([unknown, sentinel], CTX)
    assert (said.rule, said.level, said.resource_name, said.document) == ("sensitive-actions-scoped", ADVISORY, "p", "p")
    assert said.message.startswith("role 'r': inline policy 'p': content not known to the plan (")
    assert "sensitive-actions-scoped cannot judge what it grants" in said.message and not said.blocking
    by_arn = [role("agent", managedPolicyArns=[f"arn:aws:iam::{OWN}:policy/made-elsewhere"])]
    [said] = evaluate(by_arn, CTX)
    assert said.message.startswith(f"role 'agent': customer managed policy 'arn:aws:iam::{OWN}:policy/")
    assert said.level == ADVISORY


def test_every_rule_has_a_description_and_a_known_scope():
    assert set(rules.RULE_NAMES) == {
        "no-wildcard-principal",
        "cross-account-trust-condition",
        "oidc-trust-conditions",
        "sensitive-actions-scoped",
        "no-wildcard-action",
        "permissions-boundary",
        "iam-limits",
        "iam-role-limits",
        "trust-statement-shape",
        "principal-pattern-specific",
        "managed-policy-privileges",
    }
    for entry in rules.RULES.values():
        assert entry.description.endswith(".") and entry.scope in ("resource", "stack")


# --- trust conditions by meaning --------------------------------------------------------


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"aws:PrincipalArn": "*"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{VENDOR}:role/*"}},
        {"StringLike": {"sts:ExternalId": "*"}},
        {"StringLike": {"sts:ExternalId": ["acme-4f8b", "?*"]}},  # one value that matches anything unpins the key
        {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    ],
)
def test_conditions_any_value_satisfies_are_no_pin(condition):
    trust = doc(aws_trust(f"arn:aws:iam::{VENDOR}:root", condition))
    [message] = messages("cross-account-trust-condition", role("vendor-x", trust=trust))
    assert "with no sts:ExternalId, aws:PrincipalArn, aws:PrincipalOrgID condition that pins it" in message
    assert "matches any value" in message


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"sts:ExternalId": "acme-*"}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{VENDOR}:role/qwak-eks-base*"}},
        {"StringEquals": {"sts:ExternalId": "*"}},  # StringEquals: the literal value "*"
        {"StringLike": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    ],
)
def test_conditions_that_pin_a_value_pass(condition):
    trust = doc(aws_trust(f"arn:aws:iam::{VENDOR}:root", condition))
    assert messages("cross-account-trust-condition", role("vendor-x", trust=trust)) == []


def test_not_action_in_a_federated_trust_is_a_violation_and_still_needs_pins():
    statement = {"Sid": "Ci", "Effect": "Allow", "Principal": {"Federated": OIDC_ARN}, "NotAction": "sts:TagSession"}
    trust = doc(statement)
    [shape] = messages("trust-statement-shape", role("ci", trust=trust))
    assert shape.startswith("role 'ci': trust statement 'Ci' uses NotAction with Allow")
    found = messages("oidc-trust-conditions", role("ci", trust=trust))
    assert any(f"does not pin {ISSUER}:aud" in m for m in found)
    assert messages("trust-statement-shape", role(trust=doc(service_trust()))) == []


def test_a_sub_pattern_that_matches_every_subject_is_refused_even_with_the_tag():
    condition = {"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
                 "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*"}}
    tagged = role("irsa", trust=doc(oidc_trust(condition)), tags={rules.OIDC_SUB_WILDCARD_TAG: "namespace wide, SEC-3"})
    [message] = messages("oidc-trust-conditions", tagged)
    assert "which every identity of the issuer satisfies" in message


@pytest.mark.parametrize(
    "pattern, problem",
    [
        (f"arn:aws:iam::{VENDOR}:role/*-*", "fixes 0 letter(s) or digit(s)"),
        (f"arn:aws:iam::{VENDOR}:user/*a", "fixes 1 letter(s) or digit(s)"),
        (f"arn:aws:iam::{VENDOR}:role/ab?*", "fixes 2 letter(s) or digit(s)"),
        ("arn:aws:iam::*:role/vendor-*", "leaves the account open"),
        # the name is what follows the last `/`: the path's letters fix no one
        (f"arn:aws:iam::{VENDOR}:role/service-role/*", "fixes 0 letter(s) or digit(s)"),
        (f"arn:aws:iam::{VENDOR}:role/vendor/integration/a*", "fixes 1 letter(s) or digit(s)"),
    ],
)
def test_principal_patterns_must_fix_enough_of_the_name(pattern, problem):
    condition = {"ArnLike": {"aws:PrincipalArn": pattern}}
    [violation] = evaluate_resource("principal-pattern-specific", role("v", trust=doc(aws_trust(VENDOR, condition))), CTX)
    assert problem in violation.message and violation.sid == "Vendor"
    assert "acceptedFindings: [{check: principal-pattern-specific, sid: Vendor" in violation.message


@pytest.mark.parametrize(
    "pattern",
    [f"arn:aws:iam::{VENDOR}:role/qwak-eks-base*", f"arn:aws:iam::{VENDOR}:role/eksctl-Qwak-EKS-Cluster-nodegroup-*",
     f"arn:aws:iam::{VENDOR}:role/deploy", f"arn:aws:iam::{VENDOR}:role/service-role/vendor-*",
     f"arn:aws:iam::{VENDOR}:role/*/deploy"],
)
def test_specific_principal_patterns_pass(pattern):
    condition = {"ArnLike": {"aws:PrincipalArn": pattern}}
    assert messages("principal-pattern-specific", role("v", trust=doc(aws_trust(VENDOR, condition)))) == []


# --- managed policies and boundaries by content -------------------------------------------------


@pytest.mark.parametrize(
    "name, grants",
    [
        ("AdministratorAccess", "full administrator access"),
        ("PowerUserAccess", "IAM write on every resource"),
        ("IAMFullAccess", "IAM write on every resource"),
    ],
)
def test_dangerous_aws_managed_policies_are_violations(name, grants):
    arn = f"arn:aws:iam::aws:policy/{name}"
    [violation] = judged("managed-policy-privileges", attachment("agent", arn))
    assert violation.message.startswith(f"role 'agent' attaches AWS managed policy {name}, which grants ")
    assert grants in violation.message and violation.sid == name and violation.role == "agent"
    assert (violation.document, violation.whole, violation.account) == (name, True, OWN)
    on_role = role(managedPolicyArns=[arn])
    [on_the_role] = judged("managed-policy-privileges", on_role)
    assert (on_the_role.resource_type, on_the_role.message) == (ROLE, violation.message)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        "arn:aws:iam::111111111111:policy/custom",  # customer managed: its own document is judged where it is made
    ],
)
def test_ordinary_managed_policies_pass(arn):
    assert messages("managed-policy-privileges", attachment("agent", arn)) == []


def test_a_managed_policy_that_does_not_exist_is_named_with_a_suggestion():
    [message] = messages("managed-policy-privileges", attachment("agent", "arn:aws:iam::aws:policy/ViewOnlyAccess"))
    assert message == (
        "role 'agent' attaches arn:aws:iam::aws:policy/ViewOnlyAccess, which is not an AWS managed policy; "
        "did you mean arn:aws:iam::aws:policy/job-function/ViewOnlyAccess?"
    )


def test_an_admin_boundary_is_a_violation_even_when_allowed():
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    context = Context(account_id=OWN, boundary_arns=(admin,), boundary_required=True)
    [message] = messages("permissions-boundary", role(permissionsBoundary=admin), context)
    assert "an administrator policy: a boundary that allows everything bounds nothing" in message
    # with nothing configured (the pack's default) any boundary but an admin policy passes
    assert messages("permissions-boundary", role(permissionsBoundary=BOUNDARY), Context(account_id=OWN)) == []


def test_tag_conditions_scope_sensitive_actions_but_a_wildcard_tag_value_does_not():
    scoped = allow("iam:DeleteInstanceProfile", "*", sid="Scoped",
                   Condition={"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/acme": "owned"}})
    assert messages("sensitive-actions-scoped", inline(doc(scoped))) == []
    any_tag = allow("ec2:TerminateInstances", "*", sid="AnyTag",
                    Condition={"StringLike": {"ec2:ResourceTag/karpenter.sh/nodepool": "*"}})
    assert len(messages("sensitive-actions-scoped", inline(doc(any_tag)))) == 1
    if_exists = allow("ec2:TerminateInstances", "*", sid="IfExists",
                      Condition={"StringEqualsIfExists": {"aws:ResourceTag/team": "data"}})
    assert len(messages("sensitive-actions-scoped", inline(doc(if_exists)))) == 1


def test_acceptances_mark_violations_of_their_statement_and_role_only():
    found = judged("sensitive-actions-scoped", inline(doc(allow("iam:PassRole", "*", sid="Pass"))))
    accepted = rules.accept(found, [rules.Acceptance("sensitive-actions-scoped", "Pass", "reviewed, SEC-1", "agent")])
    assert [v.accepted for v in accepted] == ["reviewed, SEC-1"] and rules.blocking(accepted) == []
    elsewhere = rules.accept(found, [rules.Acceptance("sensitive-actions-scoped", "Pass", "reviewed, SEC-1", "other")])
    assert rules.blocking(elsewhere) == found
    # the same role name in another account is another role
    other_account = rules.Acceptance("sensitive-actions-scoped", "Pass", "reviewed, SEC-1", "agent", account="222222222222")
    assert rules.blocking(rules.accept(found, [other_account], lambda v: "111111111111")) == found
    assert rules.blocking(rules.accept(found, [other_account], lambda v: "222222222222")) == []


# --- the fuzz run: no spelling that covers every secret, role or key passes the rule --------------

from hypothesis import HealthCheck, given, settings  # noqa: E402

from test_iam_arns import EXAMPLES, SAMPLES, spellings  # noqa: E402


def reference_covers(pattern: str) -> list[str]:
    """The resource types every sample of which the pattern matches by IAM's own matching (the model's:
    ARN parts apart, a `*` ending its part crossing colons), not a whole-text glob: `arn:aws:iam:?*`
    needs a region, which no role has."""
    from agent_iam.model.documents import parse_pattern
    from agent_iam.model.matching import matches

    parsed = parse_pattern(pattern, wildcards=True, variables=True, arn=True)
    return [kind for kind, arns in WIDER_SAMPLES.items() if all(matches(parsed, arn) for arn in arns)]


# The samples and one more of each kind in another region and account, named with nothing the others
# share (every sample region ends in -1 and every key ID holds -1: `*-1*` covers no kind).
_ODD = {"secret": "arn:aws:secretsmanager:sa-east-9:918273645503:secret:Q", "role": "arn:aws:iam::918273645503:role/Q",
        "key": "arn:aws:kms:sa-east-9:918273645503:key/Q", "parameter": "arn:aws:ssm:sa-east-9:918273645503:parameter/Q",
        "object": "arn:aws:s3:::q/Q", "bucket": "arn:aws:s3:::q"}
WIDER_SAMPLES = {kind: [*arns, _ODD[kind]] for kind, arns in SAMPLES.items()}

SENSITIVE_OF_KIND = {"secret": "secretsmanager:GetSecretValue", "role": "iam:PassRole", "key": "kms:Decrypt",
                     "parameter": "ssm:GetParameter", "object": "s3:DeleteObject", "bucket": "s3:PutBucketPolicy"}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spellings())
def test_no_generated_spelling_that_covers_a_whole_kind_passes_sensitive_actions_scoped(resource):
    for kind in reference_covers(resource):
        statement = allow(SENSITIVE_OF_KIND[kind], resource, sid="Fuzz")
        assert messages("sensitive-actions-scoped", inline(doc(statement))), (kind, resource)


GH_ISSUER = "token.actions.githubusercontent.com"


@pytest.mark.parametrize(
    "pattern",
    ["*:ref:refs/heads/main", "rep*", "repo:*:ref:refs/heads/main", "repo:ac*", "repo:acme*/app:pull_request",
     "project_path:*/infra:ref_type:branch:ref:main", "organization:?cme:project:*"],
)
def test_a_sub_pattern_that_does_not_fix_the_owner_is_refused_even_with_the_tag(pattern):
    federated = {"Sid": "Ci", "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{OWN}:oidc-provider/{GH_ISSUER}"},
                 "Action": "sts:AssumeRoleWithWebIdentity",
                 "Condition": {"StringEquals": {f"{GH_ISSUER}:aud": "sts.amazonaws.com"},
                               "StringLike": {f"{GH_ISSUER}:sub": pattern}}}
    tags = {rules.OIDC_SUB_WILDCARD_TAG: "every branch of acme/app, SEC-4"}
    [message] = messages("oidc-trust-conditions", role("ci", trust=doc(federated), tags=tags))
    assert "does not fix the repository owner" in message
    federated["Condition"]["StringLike"][f"{GH_ISSUER}:sub"] = "repo:acme/app:ref:refs/heads/*"
    assert messages("oidc-trust-conditions", role("ci", trust=doc(federated), tags=tags)) == []


# --- a view parses each document text once --------------------------------------------------


def test_a_views_documents_are_parsed_from_the_current_text():
    """The per-view parse memo is keyed on the JSON text itself: a changed prop is parsed anew, two
    texts never share a result, and a caller changing what it got leaves the next answer intact."""
    first = doc(allow("s3:GetObject", "arn:aws:s3:::a/*"))
    second = doc(allow("s3:PutObject", "arn:aws:s3:::b/*"))
    props = {"role": "r", "name": "p", "policy": first}
    view = ResourceView(ROLE_POLICY, "p", props)
    assert identity_documents(view)[0][1] == json.loads(first)
    props["policy"] = second  # props are a plain mapping: the memo must not trust their identity
    assert identity_documents(view)[0][1] == json.loads(second)
    got = view.document(first)
    got["Statement"] = []
    assert view.document(first) == json.loads(first)
    assert view.document(json.dumps({"Statement": "x"})) == {"Statement": "x"}
    assert view.document("not json") is None and view.document(UNKNOWN) is None
    assert view == ResourceView(ROLE_POLICY, "p", props), "the memo is not part of a view's value"


def test_evaluation_is_the_same_with_a_fresh_view_every_time():
    """Rules evaluated over views that already parsed their documents (by every other rule) give
    exactly what each rule gives over a view of its own."""
    trust = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"})
    wide = doc(allow(["iam:PassRole", "s3:PutObject"], "*"))
    props = {"name": "r", "path": "/", "assumeRolePolicy": trust}
    shared = [ResourceView(ROLE, "r", dict(props)), ResourceView(ROLE_POLICY, "p", {"role": "r", "name": "p", "policy": wide})]
    context = Context(account_id=OWN)
    together = evaluate(shared, context)
    alone = [
        v
        for name in rules.RULES
        for v in evaluate_stack(name, [ResourceView(x.type, x.name, dict(x.props), x.account) for x in shared], context)
    ]
    assert together == alone
    assert {v.rule for v in together} >= {"cross-account-trust-condition", "sensitive-actions-scoped"}
