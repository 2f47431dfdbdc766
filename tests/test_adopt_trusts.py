"""Which family writes a role's trust, with which keys; which roles are left out, and which no entry can
write as they are (each with its reason)."""

from __future__ import annotations

from typing import Any

import pytest

from agent_iam.adopt.export import ExportedRole
from agent_iam.adopt.trusts import Left, Mapped, Refused, classify

ACCOUNT = "123456789012"
VENDOR = "956993596390"
GH = "token.actions.githubusercontent.com"
EKS = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"


def role(*statements: dict[str, Any], path: str = "/", name: str = "r") -> ExportedRole:
    return ExportedRole(name=name, path=path, arn=f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
                        trust={"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any = "sts:AssumeRole", **condition: dict[str, Any]) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return statement


def web(provider: str, **condition: dict[str, Any]) -> dict[str, Any]:
    return allow({"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider}"}, "sts:AssumeRoleWithWebIdentity",
                 **condition)


def mapped(verdict: Any) -> Mapped:
    assert isinstance(verdict, Mapped), verdict
    return verdict


# --- cross-account --------------------------------------------------------------------


@pytest.mark.parametrize("principal", [f"arn:aws:iam::{VENDOR}:root", VENDOR, {"AWS": [f"arn:aws:iam::{VENDOR}:root"]}])
def test_a_vendor_account_with_an_external_id(principal):
    principal = principal if isinstance(principal, dict) else {"AWS": principal}
    verdict = mapped(classify(role(allow(principal, StringEquals={"sts:ExternalId": "x-1"})), {}))
    assert verdict.family == "saasRoles" and verdict.vendor_account == VENDOR
    assert verdict.candidates == ({"vendor": {"accountId": VENDOR}, "externalId": "x-1"},)


def test_a_vendor_role_with_an_external_id_keeps_the_role():
    vendor_role = f"arn:aws:iam::{VENDOR}:role/scanner"
    verdict = mapped(classify(role(allow({"AWS": vendor_role}, ["sts:AssumeRole"], StringEquals={"STS:externalid": "x-1"})), {}))
    assert verdict.candidates == ({"vendor": {"principalArn": vendor_role}, "externalId": "x-1"},)


def test_principal_patterns_on_the_account_root_in_one_statement_each():
    patterns = [f"arn:aws:iam::{VENDOR}:role/eks-node-*", f"arn:aws:iam::{VENDOR}:role/base*"]
    statements = [allow({"AWS": f"arn:aws:iam::{VENDOR}:root"}, ArnLike={"aws:PrincipalArn": p}) for p in patterns]
    verdict = mapped(classify(role(*statements), {}))
    assert verdict.candidates == ({"vendor": {"accountId": VENDOR, "principalArnPatterns": patterns}},)


def test_several_roles_of_one_vendor_become_the_account_narrowed_to_them():
    roles = [f"arn:aws:iam::{VENDOR}:role/a", f"arn:aws:iam::{VENDOR}:user/b"]
    verdict = mapped(classify(role(allow({"AWS": roles}, StringEquals={"sts:ExternalId": "x-1"})), {}))
    assert verdict.candidates == ({"vendor": {"accountId": VENDOR, "principalArnPatterns": roles}, "externalId": "x-1"},)
    assert "narrowed to exactly those principals by aws:PrincipalArn" in verdict.notes[0]


@pytest.mark.parametrize("statements, reason", [
    ([allow({"AWS": f"arn:aws:iam::{VENDOR}:root"})], "nothing pins who in account 956993596390 may assume it"),
    ([allow({"AWS": f"arn:aws:iam::{VENDOR}:role/x"})], "allowUnconditionedAccountTrust"),
    ([allow({"AWS": f"arn:aws:iam::{VENDOR}:root"}, ["sts:AssumeRole", "sts:TagSession"], StringEquals={"sts:ExternalId": "x1"})],
     "trust statement 1 allows sts:TagSession; a saasRoles entry allows sts:AssumeRole only"),
    ([allow({"AWS": VENDOR}, StringEquals={"sts:ExternalId": "x1"}, IpAddress={"aws:SourceIp": "203.0.113.0/24"})],
     "trust statement 1 has the condition IpAddress aws:SourceIp, which no saasRoles key writes"),
    ([allow({"AWS": VENDOR}, StringEquals={"sts:ExternalId": ["a1", "b2"]})], "StringEquals sts:ExternalId"),
    ([allow({"AWS": VENDOR}, StringLike={"sts:ExternalId": "a*"})], "StringLike sts:ExternalId"),
    ([allow({"AWS": VENDOR}, StringEquals={"sts:ExternalId": "a1"}), allow({"AWS": VENDOR})], "differ in their external IDs"),
    ([allow({"AWS": [VENDOR, "210987654321"]}, StringEquals={"sts:ExternalId": "a1"})], "principals of 2 accounts"),
    ([allow({"AWS": [VENDOR, f"arn:aws:iam::{ACCOUNT}:role/ops"]}, StringEquals={"sts:ExternalId": "a1"})],
     "principals of its own account"),
    ([allow({"AWS": "*"}, StringEquals={"aws:PrincipalOrgID": "o-abc"})], "a wildcard principal"),
    ([allow("*")], "a wildcard principal"),
    ([{"Effect": "Deny", "Principal": {"AWS": VENDOR}, "Action": "sts:AssumeRole"}], "a Deny"),
    ([{"Effect": "Allow", "NotPrincipal": {"AWS": VENDOR}, "Action": "sts:AssumeRole"}], "NotPrincipal"),
    ([allow({"Service": "ec2.amazonaws.com", "AWS": VENDOR})], "its trust names AWS and Service principals"),
    ([allow({"AWS": VENDOR}, Condition="x")], "Condition block that is not IAM's shape"),
])
def test_trusts_no_entry_writes_are_named(statements, reason):
    verdict = classify(role(*statements), {})
    assert isinstance(verdict, Refused) and reason in verdict.reason, verdict


def test_a_trust_without_statements_is_named():
    assert isinstance(classify(ExportedRole("r", "/", f"arn:aws:iam::{ACCOUNT}:role/r", {"Statement": []}), {}), Refused)
    assert isinstance(classify(ExportedRole("r", "/", f"arn:aws:iam::{ACCOUNT}:role/r", {"Statement": ["x"]}), {}), Refused)


# --- left out ---------------------------------------------------------------------------


@pytest.mark.parametrize("statements, path, reason", [
    ([allow({"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]})], "/",
     "trusted only by AWS services (ec2.amazonaws.com, ecs-tasks.amazonaws.com)"),
    ([allow({"Service": "pods.eks.amazonaws.com"}, ["sts:AssumeRole", "sts:TagSession"])], "/",
     "trusted only by AWS services (pods.eks.amazonaws.com)"),
    ([allow({"AWS": VENDOR}, StringEquals={"sts:ExternalId": "x1"})], "/aws-service-role/support.amazonaws.com/",
     "service-linked (path /aws-service-role/support.amazonaws.com/)"),
    ([allow({"AWS": [f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT]})], "/", "trusted only by principals of its own account"),
])
def test_roles_no_third_party_uses_are_left_out(statements, path, reason):
    verdict = classify(role(*statements, path=path), {})
    assert isinstance(verdict, Left) and reason in verdict.reason, verdict


# --- OIDC ---------------------------------------------------------------------------------


def test_github_subjects_with_a_wildcard_and_the_audience():
    verdict = mapped(classify(role(web(GH, StringEquals={f"{GH}:aud": "sts.amazonaws.com"},
                                       StringLike={f"{GH}:sub": "repo:acme/app:*"})), {}))
    assert verdict.family == "oidcRoles"
    assert verdict.oidc_provider_arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GH}"
    assert verdict.candidates == (
        {"provider": "github", "subjects": ["repo:acme/app:*"], "allowWildcardSubject": True},
        {"provider": "generic", "issuerUrl": f"https://{GH}", "audience": "sts.amazonaws.com",
         "subjects": ["repo:acme/app:*"], "allowWildcardSubject": True},
    )
    assert verdict.notes == ()


def test_a_trust_without_an_audience_gets_the_providers_default_pinned_and_says_so():
    verdict = mapped(classify(role(web(GH, StringEquals={f"{GH}:sub": ["repo:acme/app:ref:refs/heads/main",
                                                                      "repo:acme/app:environment:prod"]})), {}))
    assert verdict.candidates[0] == {"provider": "github", "subjects": ["repo:acme/app:ref:refs/heads/main",
                                                                        "repo:acme/app:environment:prod"]}
    assert verdict.candidates[1]["audience"] == "sts.amazonaws.com"
    assert verdict.notes == (f"the trust pinned no {GH}:aud; agent-iam always pins it (to 'sts.amazonaws.com', "
                             "GitHub Actions's default)",)


def test_github_claims_are_kept_and_only_github_writes_them():
    verdict = mapped(classify(role(web(GH, StringEquals={
        f"{GH}:aud": "sts.amazonaws.com", f"{GH}:sub": "repo:acme/app:environment:prod",
        f"{GH}:repository_id": "702146185", f"{GH}:job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/main"})), {}))
    assert verdict.candidates == ({"provider": "github", "subjects": ["repo:acme/app:environment:prod"],
                                   "repositoryId": "702146185",
                                   "workflowRefs": ["acme/app/.github/workflows/deploy.yml@refs/heads/main"]},)


@pytest.mark.parametrize("issuer, first", [
    (f"{GH}/acme-enterprise", {"provider": "github", "issuerUrl": f"https://{GH}/acme-enterprise"}),
    ("app.terraform.io", {"provider": "terraform-cloud", "audience": "sts.amazonaws.com"}),
    ("gitlab.com", {"provider": "gitlab", "audience": "sts.amazonaws.com"}),
    ("ci.example.com", {"provider": "generic", "issuerUrl": "https://ci.example.com", "audience": "sts.amazonaws.com"}),
])
def test_the_issuer_picks_the_provider(issuer, first):
    verdict = mapped(classify(role(web(issuer, StringEquals={f"{issuer}:sub": "x:y:z", f"{issuer}:aud": "sts.amazonaws.com"})), {}))
    assert {k: v for k, v in verdict.candidates[0].items() if k != "subjects"} == first
    assert verdict.candidates[-1]["provider"] == "generic"


@pytest.mark.parametrize("statements, reason", [
    ([web(GH, StringEquals={f"{GH}:aud": "sts.amazonaws.com"})], f"pins no {GH}:sub"),
    ([web("ci.example.com", StringEquals={"ci.example.com:sub": "job"})], "no default audience"),
    ([web(GH, StringEquals={f"{GH}:sub": "repo:a/b:pull_request", f"{GH}:actor": "bot"})],
     f"the condition StringEquals {GH}:actor"),
    ([web(GH, StringLike={f"{GH}:sub": "repo:a/b:*", f"{GH}:job_workflow_ref": "a/b/.github/workflows/x.yml@*"})],
     "workflowRefs are matched exactly"),
    ([web(GH, StringEquals={f"{GH}:sub": "repo:a/b:pull_request"}), web(GH, StringLike={f"{GH}:sub": "repo:a/c:*"})],
     "both StringEquals and StringLike"),
    ([allow({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"}, "sts:AssumeRoleWithSAML")], "a SAML provider"),
    ([allow({"Federated": "cognito-identity.amazonaws.com"}, "sts:AssumeRoleWithWebIdentity")], "cognito-identity.amazonaws.com"),
    ([allow({"Federated": f"arn:aws:iam::210987654321:oidc-provider/{GH}"}, "sts:AssumeRoleWithWebIdentity")],
     "the OIDC provider of account 210987654321"),
    ([allow({"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GH}"}, ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            StringEquals={f"{GH}:sub": "repo:a/b:pull_request"})], "allows sts:AssumeRoleWithWebIdentity, sts:TagSession"),
])
def test_web_identity_trusts_no_entry_writes_are_named(statements, reason):
    verdict = classify(role(*statements), {})
    assert isinstance(verdict, Refused) and reason in verdict.reason, verdict


# --- IRSA ----------------------------------------------------------------------------------


def test_irsa_roles_of_one_cluster_share_its_key():
    clusters: dict = {}
    first = mapped(classify(role(web(EKS, StringEquals={f"{EKS}:sub": "system:serviceaccount:kube-system:lbc",
                                                        f"{EKS}:aud": "sts.amazonaws.com"})), clusters))
    second = mapped(classify(role(web(EKS, StringLike={f"{EKS}:sub": ["system:serviceaccount:apps:*",
                                                                      "system:serviceaccount:jobs:runner"]}), name="s"), clusters))
    assert first.cluster == second.cluster and first.cluster is not None
    assert first.cluster.key == "eks-eu-west-1-01234567"
    assert first.cluster.provider_arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{EKS}"
    assert first.candidates == ({"mode": "irsa", "cluster": "eks-eu-west-1-01234567", "namespace": "kube-system",
                                 "serviceAccount": "lbc", "createServiceAccount": False},)
    assert second.candidates == ({"mode": "irsa", "cluster": "eks-eu-west-1-01234567", "namespace": "apps",
                                  "serviceAccount": "*", "createServiceAccount": False,
                                  "subjects": [{"cluster": "eks-eu-west-1-01234567", "namespace": "jobs",
                                                "serviceAccount": "runner"}],
                                  "allowWildcardSubject": True},)
    assert f"the trust pinned no {EKS}:aud" in second.notes[0]


@pytest.mark.parametrize("condition, reason", [
    ({"StringEquals": {f"{EKS}:sub": "system:serviceaccount:a"}}, "is not system:serviceaccount:<namespace>:<name>"),
    ({"StringEquals": {f"{EKS}:sub": "system:serviceaccount:a:b", f"{EKS}:aud": "other"}}, "the audience 'other'"),
])
def test_irsa_trusts_no_entry_writes_are_named(condition, reason):
    verdict = classify(role(web(EKS, **condition)), {})
    assert isinstance(verdict, Refused) and reason in verdict.reason, verdict


def test_a_clusters_key_keeps_the_sid_agent_iam_gave_its_trust():
    from agent_iam.adopt.trusts import cluster_key
    from agent_iam.components.policies import sid_part

    assert cluster_key(EKS, "IrsaProdPlatform") == "prod-platform" and sid_part("prod-platform") == "ProdPlatform"
    assert cluster_key(EKS, "IrsaPlatform") == "platform"
    for sid in (None, "Irsa", "AllowEks", 3):  # not agent-iam's: a readable key of the region and the ID
        assert cluster_key(EKS, sid) == "eks-eu-west-1-01234567"
    verdict = mapped(classify(role(web(EKS, StringEquals={f"{EKS}:sub": "system:serviceaccount:a:b"}) | {"Sid": "IrsaOps"}), {}))
    assert verdict.cluster is not None and verdict.cluster.key == "ops"


def test_a_deleted_principals_unique_id_and_own_service_roles():
    verdict = classify(role(allow({"AWS": "AROA4EXAMPLEUNIQUEID7"}, StringEquals={"sts:ExternalId": "x1"})), {})
    assert isinstance(verdict, Refused) and "the unique ID IAM leaves in a trust when the principal it named was " \
        "deleted" in verdict.reason
    verdict = classify(role(allow({"Service": "ec2.amazonaws.com", "AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"})), {})
    assert verdict == Left(f"trusted only by AWS services (ec2.amazonaws.com) and principals of its own account "
                           f"(arn:aws:iam::{ACCOUNT}:role/ops)")
