"""The reasoner's queries: compare (with witnesses the evaluator confirms), sensitive actions on every
resource of their kind, and who outside the account can assume a role."""

from __future__ import annotations

import json
from typing import Any

from agent_iam.guardrails.rules import ResourceView
from agent_iam.model import Request, can_assume, evaluate, role_from_documents, roles_from_views
from agent_iam.model import solver

ACCOUNT = "111111111111"
VENDOR = "222222222222"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def role(*identity: Any, boundary: Any = None, trust: Any = None):
    return role_from_documents("agent", ACCOUNT, identity=identity, boundary=boundary, trust=trust)


def attached(*arns: str, inline: tuple[dict[str, Any], ...] = (), boundary: str | None = None):
    """A role as the plan registers it: AWS managed policies attached by ARN, inline policies."""
    props: dict[str, Any] = {"name": "agent", "assumeRolePolicy": json.dumps(doc(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}))}
    if boundary:
        props["permissionsBoundary"] = boundary
    views = [ResourceView("aws:iam/role:Role", "agent", props, ACCOUNT)]
    views += [ResourceView("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"a{i}", {"role": "agent", "policyArn": a},
                           ACCOUNT) for i, a in enumerate(arns)]
    views += [ResourceView("aws:iam/rolePolicy:RolePolicy", f"p{i}", {"role": "agent", "name": f"p{i}", "policy": json.dumps(d)},
                           ACCOUNT) for i, d in enumerate(inline)]
    [model] = roles_from_views(views)
    return model


def managed(name: str) -> dict[str, Any]:
    from agent_iam.iam import managed_policies

    document = managed_policies.document(f"arn:aws:iam::aws:policy/{name}")
    assert document is not None
    return document


# --- compare ------------------------------------------------------------------------------------


def assert_witness(comparison: solver.Comparison, base, head) -> None:
    """Every witness is allowed by one side and denied by the other under the evaluator."""
    if comparison.wider:
        assert evaluate(head, comparison.wider).allowed is True and evaluate(base, comparison.wider).allowed is False
    if comparison.narrower:
        assert evaluate(base, comparison.narrower).allowed is True and evaluate(head, comparison.narrower).allowed is False


def test_full_access_replaced_by_read_only_is_narrower_and_the_reverse_wider():
    full, read = attached("arn:aws:iam::aws:policy/AmazonS3FullAccess"), attached("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    narrower = solver.compare(full, read).permissions
    assert narrower.verdict == solver.NARROWER and narrower.wider is None
    assert_witness(narrower, full, read)
    wider = solver.compare(read, full).permissions
    assert wider.verdict == solver.WIDER and wider.widens is True
    assert_witness(wider, read, full)
    assert wider.wider.action.startswith(("s3:", "s3-object-lambda:"))  # what FullAccess adds over ReadOnly


def test_attaching_and_inlining_the_same_document_compare_equal():
    by_arn = attached("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    by_text = attached(inline=(managed("AmazonS3ReadOnlyAccess"),))
    result = solver.compare(by_arn, by_text)
    assert (result.permissions.verdict, result.trust.verdict) == (solver.EQUAL, solver.EQUAL)


def test_rewritten_but_equivalent_documents_are_equal():
    base = role(doc(allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"])))
    head = role(doc(allow("s3:PutObject", "arn:aws:s3:::b/*"), allow("S3:getobject", "arn:aws:s3:::a/*")),
                doc(allow(["s3:GetObject", "s3:PutObject"], ["arn:aws:s3:::b/*", "arn:aws:s3:::a/*"])))
    assert solver.compare(base, head).permissions.verdict == solver.EQUAL


def test_a_narrower_boundary_is_narrower():
    base = role(doc(allow("s3:*")), boundary=doc(allow("s3:*")))
    head = role(doc(allow("s3:*")), boundary=doc(allow("s3:Get*")))
    comparison = solver.compare(base, head).permissions
    assert comparison.verdict == solver.NARROWER
    assert_witness(comparison, base, head)


def test_a_wildcard_subject_narrowed_to_one_is_a_narrower_trust():
    def oidc(operator: str, subject: str) -> dict[str, Any]:
        return doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                                  operator: {"token.actions.githubusercontent.com:sub": subject}}
                    if operator != "StringEquals" else {"StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": subject}}})

    base, head = role(trust=oidc("StringLike", "repo:acme/app:*")), role(trust=oidc("StringEquals", "repo:acme/app:ref:refs/heads/main"))
    comparison = solver.compare(base, head)
    assert (comparison.permissions.verdict, comparison.trust.verdict) == (solver.EQUAL, solver.NARROWER)
    witness = comparison.trust.narrower
    assert can_assume(base, witness).allowed is True and can_assume(head, witness).allowed is False
    assert witness.context["token.actions.githubusercontent.com:sub"][0].startswith("repo:acme/app:")


def test_a_dropped_external_id_is_a_wider_trust_with_a_witness_that_has_no_external_id():
    pinned = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"}, "Action": "sts:AssumeRole",
              "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}}
    base = role(trust=doc(pinned))
    head = role(trust=doc({k: v for k, v in pinned.items() if k != "Condition"}))
    comparison = solver.compare(base, head).trust
    assert comparison.verdict == solver.WIDER
    witness = comparison.wider
    assert witness.principal.value.startswith(f"arn:aws:iam::{VENDOR}:")
    assert can_assume(head, witness).allowed is True and can_assume(base, witness).allowed is False
    assert witness.to_dict()["context"].get("sts:externalid") != "abc"


def test_a_changed_secret_is_not_comparable_and_never_no_change():
    def vendor(prefix: str):
        from agent_iam.model.documents import Source, TRUST, parse_document

        document = parse_document(doc({"Effect": "Allow", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole",
                                       "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}}),
                                  source=Source(TRUST, "trust"), unknown_prefix=prefix)
        return role(trust=document)

    same = solver.compare(vendor("role:v:assumeRolePolicy"), vendor("role:v:assumeRolePolicy")).trust
    assert same.verdict == solver.EQUAL
    changed = solver.compare(vendor("role:v:assumeRolePolicy"), vendor("secret:0123")).trust
    assert changed.verdict == solver.NOT_COMPARABLE and changed.widens is None
    assert changed.unknowns and "differ" in changed.reason


def test_the_same_unknown_on_both_sides_still_finds_a_new_principal():
    def trust(*principals: str):
        return role(trust=doc({"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole",
                               "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}}))

    base, head = trust(VENDOR), trust(VENDOR, "333333333333")
    comparison = solver.compare(base, head).trust
    assert comparison.verdict == solver.WIDER
    witness = comparison.wider
    assert witness.principal.value.startswith("arn:aws:iam::333333333333:")
    # the witness presents the same (unknown) external ID, which the comparison names
    [(symbol, value)] = comparison.assumed
    assert symbol.endswith("sts:ExternalId") and witness.context["sts:externalid"] == (value,)
    assert can_assume(head, witness).allowed is None  # without that value the evaluator cannot tell
    assert can_assume(head, witness, dict(comparison.assumed)).allowed is True


def test_a_role_only_in_head_is_wider():
    head = role(doc(allow("s3:GetObject", "arn:aws:s3:::b/*")))
    comparison = solver.compare(None, head)
    assert comparison.permissions.verdict == solver.WIDER and comparison.widens is True


# --- sensitive actions on every resource of their kind ------------------------------------------------


def grants(model) -> dict[str, list[str]]:
    return {g.action: [f"{r.source.kind}:{r.source.name}#{r.number}" for r in g.granted_by] for g in solver.wide_grants(model)}


def test_attached_and_inlined_full_access_grant_the_same_and_name_the_document():
    by_arn = grants(attached("arn:aws:iam::aws:policy/AmazonS3FullAccess"))
    by_text = grants(attached(inline=(managed("AmazonS3FullAccess"),)))
    assert set(by_arn) == set(by_text) and "s3:PutObject" in by_arn and "s3:DeleteBucket" in by_arn
    assert "s3:GetObject" not in by_arn  # a plain read is not sensitive
    assert by_arn["s3:PutObject"] == ["aws-managed:AmazonS3FullAccess#1"]
    assert by_text["s3:PutObject"] == ["inline:p0#1"]


def test_a_deny_on_every_resource_removes_the_grant_and_one_on_a_few_does_not():
    wide = doc(allow(["s3:PutObject", "iam:PassRole"]))
    assert set(grants(role(wide))) == {"s3:PutObject", "iam:PassRole"}
    assert set(grants(role(wide, doc(deny("s3:Put*"))))) == {"iam:PassRole"}
    assert set(grants(role(wide, doc(deny("s3:Put*", "arn:aws:s3:::prod-*/*"))))) == {"s3:PutObject", "iam:PassRole"}


def test_the_boundary_removes_what_it_does_not_allow_on_every_resource():
    wide = doc(allow(["s3:PutObject", "iam:PassRole"]))
    assert set(grants(role(wide, boundary=doc(allow("s3:*"))))) == {"s3:PutObject"}
    assert grants(role(wide, boundary=doc(allow("*", "arn:aws:s3:::one-bucket/*")))) == {}


def test_a_tag_condition_that_requires_values_scopes_the_grant():
    scoped = doc(allow("ec2:TerminateInstances", Condition={"StringEquals": {"aws:ResourceTag/team": "data"}}))
    assert grants(role(scoped)) == {}
    any_tag = doc(allow("ec2:TerminateInstances", Condition={"StringLike": {"aws:ResourceTag/team": "*"}}))
    assert set(grants(role(any_tag))) == {"ec2:TerminateInstances"}
    region = doc(allow("ec2:TerminateInstances", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    assert set(grants(role(region))) == {"ec2:TerminateInstances"}  # the caller picks the region


def test_a_grant_on_named_resources_is_not_wide_and_one_on_a_whole_kind_is():
    assert grants(role(doc(allow("s3:PutObject", "arn:aws:s3:::bucket/*")))) == {}
    assert set(grants(role(doc(allow("s3:PutObject", "arn:aws:s3:::*/*"))))) == {"s3:PutObject"}
    assert set(grants(role(doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*"))))) == {"iam:PassRole"}
    assert grants(role(doc(allow("iam:PassRole", "arn:aws:s3:::*")))) == {}  # a bucket pattern reaches no role


def test_a_conditioned_deny_the_caller_can_avoid_leaves_the_grant():
    model = role(doc(allow("s3:PutObject")), doc(deny("s3:*", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}})))
    found = solver.wide_grants(model)
    assert {(g.action, g.decided) for g in found} == {("s3:PutObject", True)}
    everywhere = role(doc(allow("s3:PutObject")), doc(deny("s3:*", Condition={"Null": {"aws:RequestedRegion": "false"}})))
    assert {g.action for g in solver.wide_grants(everywhere)} == {"s3:PutObject"}  # a request without a region
    always = role(doc(allow("s3:PutObject")), doc(deny("s3:*", Condition={"StringLikeIfExists": {"aws:RequestedRegion": "*"}})))
    assert solver.wide_grants(always) == ()


def test_unknown_documents_are_named_as_what_the_answer_depends_on():
    model = attached("arn:aws:iam::aws:policy/AmazonS3FullAccess", "arn:aws:iam::111111111111:policy/elsewhere")
    grant = next(g for g in solver.wide_grants(model) if g.action == "s3:PutObject")
    assert any("elsewhere" in d for d in grant.depends_on)


# --- who outside the account can assume the role -------------------------------------------------------


def test_external_assumers_with_their_conditions_and_a_checked_witness():
    trust = doc(
        {"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"}, "Action": "sts:AssumeRole",
         "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{VENDOR}:role/vendor-*"}}},
        {"Sid": "Own", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"}, "Action": "sts:AssumeRole"},
        {"Sid": "Service", "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
    )
    model = role(trust=trust)
    [assumer] = solver.external_assumers(model)
    assert (assumer.statement.sid, assumer.account, assumer.actions) == ("Vendor", VENDOR, ("sts:AssumeRole",))
    assert [str(c) for c in assumer.conditions] == [f"ArnLike aws:PrincipalArn 'arn:aws:iam::{VENDOR}:role/vendor-*'"]
    assert assumer.witness.principal.value.startswith(f"arn:aws:iam::{VENDOR}:role/vendor-")
    assert can_assume(model, assumer.witness).allowed is True


def test_a_trust_deny_removes_an_assumer_and_a_wildcard_principal_is_everyone():
    everyone = {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    [anyone] = solver.external_assumers(role(trust=doc(everyone)))
    assert anyone.principal.kind == "*" and anyone.witness is not None
    denied = role(trust=doc(everyone, {"Effect": "Deny", "Principal": "*", "Action": "sts:*",
                                       "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}}))
    assert solver.external_assumers(denied) == ()


def test_witness_requests_read_as_the_diff_will_show_them():
    base = role(doc(allow("s3:GetObject", "arn:aws:s3:::b/*")))
    head = role(doc(allow("s3:GetObject", "arn:aws:s3:::b/*")), doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*")))
    witness = solver.compare(base, head).permissions.wider
    shown = witness.to_dict()
    assert set(shown) == {"principal", "action", "resource", "context"}
    assert shown["action"] == "iam:PassRole" and shown["resource"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    assert shown["principal"] == f"arn:aws:iam::{ACCOUNT}:role/agent"
    assert isinstance(Request(witness.principal, witness.action, witness.resource, witness.context), Request)


def test_an_assumer_behind_a_secret_external_id_has_a_witness_holding_that_value():
    model = role(trust=doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:role/vendor"},
                            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}}))
    [assumer] = solver.external_assumers(model)
    [(symbol, value)] = assumer.assumed
    assert symbol.endswith("sts:ExternalId") and assumer.witness.context["sts:externalid"] == (value,)
    assert can_assume(model, assumer.witness, dict(assumer.assumed)).allowed is True
