"""ServiceAccountRole under Pulumi's mocks: IRSA and Pod Identity trusts statement by statement,
cross-account wiring (OIDC provider registration, chained Pod Identity roles), the Kubernetes
objects and their manifests, and every config error."""

from __future__ import annotations


import kubernetes_validate as kv
import pytest

from agent_iam import stack_config
from conftest import (
    ACCOUNT,
    REGION,
    assert_config_error,
    config_with,
    inline_policy_of,
    kubernetes_manifests,
    plan_stack_file,
    provider_name,
    trust_of,
)
from agent_iam.plan.run import run_program
from agent_iam.stack_config import ConfigError

OBSERVABILITY = "222222222222"
ISSUER_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ISSUER = f"https://{ISSUER_HOST}"
OTHER_HOST = "oidc.eks.eu-west-1.amazonaws.com/id/0THER0000000000000000000000000AA"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"
OBS_PROVIDER = f"arn:aws:iam::{OBSERVABILITY}:oidc-provider/{ISSUER_HOST}"
ACCOUNTS = {"observability": {"roleArn": f"arn:aws:iam::{OBSERVABILITY}:role/agent-iam-deployer", "region": REGION}}
CLUSTERS = {
    "main": {"name": "acme-main", "oidcIssuerUrl": ISSUER, "kubeContext": "acme-main"},
    "edge": {"oidcIssuerUrl": f"https://{OTHER_HOST}"},
}
ROLE = "aws:iam/role:Role"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SECRET = "kubernetes:core/v1:Secret"


def irsa(name="causely-mediation", **extra):
    return {"name": name, "mode": "irsa", "cluster": "main", "namespace": "causely",
            "serviceAccount": "causely-mediator", **extra}


def pod_identity(name="agent", **extra):
    return {"name": name, "mode": "pod-identity", "cluster": "main", "namespace": "agents",
            "serviceAccount": "agent", **extra}


def config(*entries, clusters=None, **keys):
    return config_with(accounts=ACCOUNTS, clusters=clusters or CLUSTERS, serviceAccounts=list(entries), **keys)


def irsa_statement(sid, provider, sub, *, issuer=ISSUER_HOST, like=False):
    aud = {f"{issuer}:aud": "sts.amazonaws.com"}
    condition = ({"StringEquals": aud, "StringLike": {f"{issuer}:sub": sub}} if like
                 else {"StringEquals": {f"{issuer}:sub": sub, **aud}})
    return {"Sid": sid, "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}


def pod_identity_statement(condition):
    statement = {"Sid": "AllowEksAuthToAssumeRoleForPodIdentity", "Effect": "Allow",
                 "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    return {**statement, "Condition": {"StringEquals": condition}} if condition else statement


# --- IRSA trust --------------------------------------------------------------------


def test_irsa_single_service_account_is_the_causely_guide_trust(plan_stack):
    run = plan_stack(config(irsa()))
    assert trust_of(run, "causely-mediation-role")["Statement"] == [
        irsa_statement("IrsaMain", PROVIDER, "system:serviceaccount:causely:causely-mediator")
    ]
    assert run.of_type(OIDC) == [], "in the cluster's own account the EKS-created provider is reused"


def test_irsa_several_service_accounts_of_one_cluster_share_one_statement(plan_stack):
    entry = irsa(subjects=[{"cluster": "main", "namespace": "causely", "serviceAccount": "causely-executor"},
                           {"cluster": "main", "namespace": "ops", "serviceAccount": "scraper"}])
    run = plan_stack(config(entry))
    assert trust_of(run, "causely-mediation-role")["Statement"] == [
        irsa_statement("IrsaMain", PROVIDER, ["system:serviceaccount:causely:causely-mediator",
                                              "system:serviceaccount:causely:causely-executor",
                                              "system:serviceaccount:ops:scraper"])
    ]


def test_irsa_several_clusters_give_one_statement_each(plan_stack):
    entry = irsa(subjects=[{"cluster": "edge", "namespace": "causely", "serviceAccount": "causely-mediator"}])
    run = plan_stack(config(entry))
    assert trust_of(run, "causely-mediation-role")["Statement"] == [
        irsa_statement("IrsaMain", PROVIDER, "system:serviceaccount:causely:causely-mediator"),
        irsa_statement("IrsaEdge", f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OTHER_HOST}",
                       "system:serviceaccount:causely:causely-mediator", issuer=OTHER_HOST),
    ]
    assert {r.inputs["metadata"]["name"] for r in run.of_type(SERVICE_ACCOUNT)} == {"causely-mediator"}
    assert len(run.of_type(SERVICE_ACCOUNT)) == 2, "one service account per cluster"


def test_wildcard_subject_with_opt_in_uses_string_like_for_sub_only_and_is_flagged(plan_stack):
    entry = irsa(serviceAccount="causely-*", allowWildcardSubject=True, createServiceAccount=False)
    run = plan_stack(config(entry))
    assert trust_of(run, "causely-mediation-role")["Statement"] == [
        irsa_statement("IrsaMain", PROVIDER, "system:serviceaccount:causely:causely-*", like=True)
    ]
    assert any("EVERY service account matching main/causely/causely-*" in w for w in run.warnings), run.warnings
    assert "helmValues" not in run.outputs["serviceAccounts"]["causely-mediation"], "no one service account to name"


# --- OIDC providers across accounts ------------------------------------------------


def test_cross_account_irsa_registers_the_provider_once_per_cluster_and_account(plan_stack):
    run = plan_stack(config(irsa(), irsa("causely-access", account="observability", createServiceAccount=False),
                            irsa("other-access", account="observability", namespace="ops", serviceAccount="scraper")))
    (provider,) = run.of_type(OIDC)
    assert provider.name == f"main-oidc-{OBSERVABILITY}-provider"
    assert provider_name(provider) == "aws-observability"
    assert provider.inputs["url"] == ISSUER
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in provider.inputs
    assert provider.outputs["arn"] == OBS_PROVIDER
    for role in ("causely-access-role", "other-access-role"):
        assert trust_of(run, role)["Statement"][0]["Principal"] == {"Federated": OBS_PROVIDER}
        registered = run.named(ROLE, role)
        assert provider_name(registered) == "aws-observability"
        assert registered.outputs["arn"].startswith(f"arn:aws:iam::{OBSERVABILITY}:role/")
    (component,) = run.of_type("agent-iam:eks:OidcProviderRegistration")
    assert provider.parent == component.urn
    assert trust_of(run, "causely-mediation-role")["Statement"][0]["Principal"] == {"Federated": PROVIDER}


def test_an_existing_provider_in_the_target_account_is_used_not_registered(plan_stack):
    clusters = {"main": {**CLUSTERS["main"], "oidcProviderArns": {"observability": OBS_PROVIDER}}}
    run = plan_stack(config(irsa("causely-access", account="observability"), clusters=clusters))
    assert run.of_type(OIDC) == []
    assert trust_of(run, "causely-access-role")["Statement"][0]["Principal"] == {"Federated": OBS_PROVIDER}


def test_register_oidc_provider_creates_it_in_the_clusters_own_account(plan_stack):
    clusters = {"main": {**CLUSTERS["main"], "registerOidcProvider": True}}
    run = plan_stack(config(irsa(), irsa("second", serviceAccount="second"), clusters=clusters))
    (provider,) = run.of_type(OIDC)
    assert (provider.name, provider_name(provider), provider.outputs["arn"]) == (
        f"main-oidc-{ACCOUNT}-provider", "aws", PROVIDER)


def test_an_existing_provider_arn_without_issuer_url_is_trusted_as_is(plan_stack):
    clusters = {"main": {"oidcProviderArn": PROVIDER}}
    run = plan_stack(config(irsa(), clusters=clusters))
    assert trust_of(run, "causely-mediation-role")["Statement"] == [
        irsa_statement("IrsaMain", PROVIDER, "system:serviceaccount:causely:causely-mediator")
    ]


def test_a_cluster_in_another_account_keeps_its_provider_there(plan_stack):
    clusters = {"obs": {"account": "observability", "oidcIssuerUrl": ISSUER}}
    run = plan_stack(config(irsa(cluster="obs", account="observability", createServiceAccount=False),
                            clusters=clusters))
    assert run.of_type(OIDC) == []
    assert trust_of(run, "causely-mediation-role")["Statement"][0]["Principal"] == {"Federated": OBS_PROVIDER}


# --- Pod Identity ------------------------------------------------------------------


def test_pod_identity_trust_with_session_tags_and_the_association(plan_stack):
    run = plan_stack(config(pod_identity()))
    assert trust_of(run, "agent-role")["Statement"] == [
        pod_identity_statement({
            "aws:RequestTag/eks-cluster-name": "acme-main",
            "aws:RequestTag/kubernetes-namespace": "agents",
            "aws:RequestTag/kubernetes-service-account": "agent",
        })
    ]
    association = run.named(ASSOCIATION, "agent-association")
    assert {k: association.inputs[k] for k in ("clusterName", "namespace", "serviceAccount", "roleArn")} == {
        "clusterName": "acme-main", "namespace": "agents", "serviceAccount": "agent",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/agent",
    }
    assert "targetRoleArn" not in association.inputs
    assert run.of_type(OIDC) == []
    outputs = run.outputs["serviceAccounts"]["agent"]
    assert outputs["associationId"] == association.outputs["associationId"]
    assert outputs["helmValues"] == {"serviceAccount": {"create": False, "name": "agent"}}


def test_pod_identity_without_session_tag_conditions_is_the_documented_trust(plan_stack):
    run = plan_stack(config(pod_identity(sessionTagConditions=False)))
    assert trust_of(run, "agent-role")["Statement"] == [pod_identity_statement({})]


def test_pod_identity_source_account_condition_is_an_opt_in(plan_stack):
    run = plan_stack(config(pod_identity(sourceAccountCondition=True)))
    assert trust_of(run, "agent-role")["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    run = plan_stack(config(pod_identity(account="observability", sourceAccountCondition=True)))
    source = trust_of(run, "agent-pod-identity-role")["Statement"][0]
    assert source["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT  # the cluster's account


def test_pod_identity_cluster_name_defaults_to_the_key(plan_stack):
    run = plan_stack(config(pod_identity(cluster="edge")))
    assert run.named(ASSOCIATION, "agent-association").inputs["clusterName"] == "edge"


def test_cross_account_pod_identity_chains_a_source_role_to_the_target_with_the_external_id(plan_stack):
    run = plan_stack(config(pod_identity(account="observability", s3Read=["acme-metrics"])))
    source, target = run.named(ROLE, "agent-pod-identity-role"), run.named(ROLE, "agent-role")
    source_arn, target_arn = f"arn:aws:iam::{ACCOUNT}:role/agent-pod-identity", f"arn:aws:iam::{OBSERVABILITY}:role/agent"
    assert (provider_name(source), source.outputs["arn"]) == ("aws", source_arn)
    assert (provider_name(target), target.outputs["arn"]) == ("aws-observability", target_arn)
    association = run.named(ASSOCIATION, "agent-association")
    assert provider_name(association) == "aws", "the association lives in the cluster's account"
    assert association.inputs["roleArn"] == source_arn
    assert association.inputs["targetRoleArn"] == target_arn
    external_id = association.outputs["externalId"]
    assert trust_of(run, "agent-role")["Statement"] == [
        {"Sid": "PodIdentityRoleChaining", "Effect": "Allow", "Principal": {"AWS": source_arn},
         "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}
    ]
    assert "aws:SourceAccount" not in trust_of(run, "agent-pod-identity-role")["Statement"][0]["Condition"]["StringEquals"]
    assert inline_policy_of(run, "agent-pod-identity-role-assume-target-role")["Statement"] == [
        {"Sid": "AssumeTargetRole", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
         "Resource": target_arn}
    ]
    permissions = run.named("aws:iam/rolePolicy:RolePolicy", "agent-role-service-account-access")
    assert provider_name(permissions) == "aws-observability", "the permissions are on the target role"
    assert run.outputs["serviceAccounts"]["agent"]["sourceRoleArn"] == source_arn


def test_cross_account_pod_identity_source_role_takes_the_stack_defaults_boundary(plan_stack):
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/Boundary"
    obs_boundary = f"arn:aws:iam::{OBSERVABILITY}:policy/Boundary"
    run = plan_stack(config(pod_identity(account="observability", permissionsBoundaryArn=obs_boundary),
                            defaults={"permissionsBoundaryArn": boundary}))
    assert run.named(ROLE, "agent-pod-identity-role").inputs["permissionsBoundary"] == boundary
    assert run.named(ROLE, "agent-role").inputs["permissionsBoundary"] == obs_boundary


# --- Kubernetes objects ------------------------------------------------------------


def test_irsa_service_account_is_annotated_with_the_role(plan_stack):
    run = plan_stack(config(irsa(serviceAccountAnnotations={"eks.amazonaws.com/token-expiration": "3600"})))
    (sa,) = run.of_type(SERVICE_ACCOUNT)
    assert provider_name(sa) == "k8s-main"
    assert sa.inputs["metadata"] == {
        "name": "causely-mediator", "namespace": "causely",
        "labels": {"app.kubernetes.io/managed-by": "agent-iam"},
        "annotations": {"eks.amazonaws.com/token-expiration": "3600",
                        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/causely-mediation"},
    }
    assert run.outputs["serviceAccounts"]["causely-mediation"]["helmValues"] == {"serviceAccount": {
        "create": False, "name": "causely-mediator",
        "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/causely-mediation"}}}


def test_pod_identity_service_account_has_no_annotation(plan_stack):
    run = plan_stack(config(pod_identity()))
    (sa,) = run.of_type(SERVICE_ACCOUNT)
    assert "annotations" not in sa.inputs["metadata"]


def test_chart_created_service_account_gets_helm_values_and_no_object(plan_stack):
    run = plan_stack(config(irsa(createServiceAccount=False)))
    assert run.of_type(SERVICE_ACCOUNT) == []
    assert run.of_type("pulumi:providers:kubernetes") == [], "no Kubernetes objects, no Kubernetes provider"
    values = run.outputs["serviceAccounts"]["causely-mediation"]["helmValues"]["serviceAccount"]
    assert values["create"] is True and values["name"] == "causely-mediator"


def test_secret_holds_region_and_role_arn_and_is_secret(plan_stack):
    entry = irsa("causely-access", account="observability", createServiceAccount=False, roleArnAnnotation=False,
                 secret={"name": "aws-secret"})
    run = plan_stack(config(entry))
    secret = run.named(SECRET, "causely-access-secret")
    assert provider_name(secret) == "k8s-main"
    assert secret.inputs["type"] == "Opaque"
    assert secret.inputs["metadata"]["namespace"] == "causely"
    assert secret.inputs["stringData"] == {"AWS_REGION": REGION,
                                           "AWS_ROLE_ARN": f"arn:aws:iam::{OBSERVABILITY}:role/causely-access"}
    assert "stringData" in secret.secret_inputs
    assert run.outputs["serviceAccounts"]["causely-access"]["helmValues"] == {
        "serviceAccount": {"create": True, "name": "causely-mediator"}}


def test_one_kubernetes_provider_per_cluster_from_kubeconfig_or_context(plan_stack):
    clusters = {"main": CLUSTERS["main"], "edge": {**CLUSTERS["edge"], "kubeconfig": "[secret]"}}
    run = plan_stack(config(irsa(), irsa("b", namespace="b"), irsa("c", cluster="edge"), clusters=clusters),
                     secret_keys=["agent-iam:clusters"])
    providers = {p.name: p for p in run.of_type("pulumi:providers:kubernetes")}
    assert set(providers) == {"k8s-main", "k8s-edge"}
    assert providers["k8s-main"].inputs.get("context") == "acme-main"
    assert providers["k8s-edge"].inputs["kubeconfig"] == "[secret]"
    assert providers["k8s-edge"].secret_inputs == ["kubeconfig"]


def test_manifests_pass_kubernetes_validate_strict(plan_stack):
    run = plan_stack(config(irsa(serviceAccountAnnotations={"example.com/team": "observability"}),
                            irsa("access", account="observability", createServiceAccount=False,
                                 secret={"name": "aws-secret", "namespace": "causely"}),
                            pod_identity()))
    manifests = kubernetes_manifests(run)
    assert set(manifests) == {"causely.ServiceAccount.causely-mediator.yaml", "causely.Secret.aws-secret.yaml",
                              "agents.ServiceAccount.agent.yaml"}
    for manifest in manifests.values():
        kv.validate(manifest, "1.31", strict=True)


def test_the_validator_would_catch_a_bad_manifest():
    with pytest.raises(kv.ValidationError):
        kv.validate({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"A": 1}},
                    "1.31", strict=True)


def test_children_are_parented_to_the_component(plan_stack):
    run = plan_stack(config(pod_identity(account="observability")))
    (component,) = run.of_type("agent-iam:eks:PodIdentityRole")
    children = [r for r in run.resources if r.name.startswith("agent-") and r.custom]
    assert {r.parent for r in children} == {component.urn}


# --- errors ------------------------------------------------------------------------

WILDCARD = "'*' is a wildcard: the role would trust every matching service account"
ERRORS = {
    "unknown cluster": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(cluster="mian")]},
        "agent-iam:serviceAccounts[0].cluster: unknown cluster 'mian' (known: edge, main)",
    ),
    "unknown cluster in subjects": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(subjects=[
            {"cluster": "nope", "namespace": "a", "serviceAccount": "b"}])]},
        "agent-iam:serviceAccounts[0].subjects[0].cluster: unknown cluster 'nope'",
    ),
    "unknown account of an entry": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(account="observabilty")]},
        "agent-iam:serviceAccounts[0].account: unknown account 'observabilty'",
    ),
    "unknown account of a cluster": (
        {"clusters": {"main": {"oidcIssuerUrl": ISSUER, "account": "obs"}}},
        "agent-iam:clusters.main.account: unknown account 'obs' (known: observability)",
    ),
    "unknown account in oidcProviderArns": (
        {"clusters": {"main": {"oidcIssuerUrl": ISSUER, "oidcProviderArns": {"obs": OBS_PROVIDER}}}},
        "agent-iam:clusters.main.oidcProviderArns.obs: unknown account 'obs'",
    ),
    "http issuer": (
        {"clusters": {"main": {"oidcIssuerUrl": f"http://{ISSUER_HOST}"}}},
        "agent-iam:clusters.main.oidcIssuerUrl: IAM accepts only https:// OIDC issuers",
    ),
    "issuer that is not a URL": (
        {"clusters": {"main": {"oidcIssuerUrl": ISSUER_HOST}}},
        "agent-iam:clusters.main.oidcIssuerUrl: not an https URL",
    ),
    "issuer with a query": (
        {"clusters": {"main": {"oidcIssuerUrl": f"{ISSUER}?x=1"}}},
        "agent-iam:clusters.main.oidcIssuerUrl: an issuer URL has no port, user, query or fragment",
    ),
    "provider ARN of another issuer": (
        {"clusters": {"main": {"oidcIssuerUrl": ISSUER,
                               "oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OTHER_HOST}"}}},
        f"agent-iam:clusters.main.oidcProviderArn: is the provider of issuer '{OTHER_HOST}'",
    ),
    "provider ARN in another account than the cluster's": (
        {"clusters": {"main": {"oidcProviderArn": OBS_PROVIDER}}},
        f"agent-iam:clusters.main.oidcProviderArn: is in account {OBSERVABILITY}, not the cluster's account {ACCOUNT}",
    ),
    "malformed provider ARN": (
        {"clusters": {"main": {"oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:role/x"}}},
        "agent-iam:clusters.main.oidcProviderArn: not an IAM OIDC provider ARN",
    ),
    "registering an existing provider": (
        {"clusters": {"main": {"oidcProviderArn": PROVIDER, "registerOidcProvider": True}}},
        "agent-iam:clusters.main.registerOidcProvider: oidcProviderArn already names the provider",
    ),
    "two clusters with one issuer": (
        {"clusters": {"a": {"oidcIssuerUrl": ISSUER}, "b": {"oidcIssuerUrl": ISSUER + "/"}}},
        "agent-iam:clusters.b: has the same OIDC issuer as cluster 'a'",
    ),
    "IRSA on a cluster without issuer": (
        {"clusters": {"main": {"name": "acme-main"}}, "serviceAccounts": [irsa()]},
        "agent-iam:serviceAccounts[0].cluster: IRSA trusts the OIDC provider of cluster 'main', which has no",
    ),
    "bad EKS cluster name": (
        {"clusters": {"main": {"name": "acme main"}}},
        "agent-iam:clusters.main.name: not an EKS cluster name",
    ),
    "wildcard namespace without opt-in": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(namespace="*", createServiceAccount=False)]},
        f"agent-iam:serviceAccounts[0].namespace: {WILDCARD}",
    ),
    "wildcard name in subjects without opt-in": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(createServiceAccount=False, subjects=[
            {"cluster": "main", "namespace": "ops", "serviceAccount": "*"}])]},
        f"agent-iam:serviceAccounts[0].subjects[0].serviceAccount: {WILDCARD}",
    ),
    "opt-in without a wildcard": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(allowWildcardSubject=True)]},
        "agent-iam:serviceAccounts[0].allowWildcardSubject: is true but no namespace or serviceAccount holds",
    ),
    "wildcard with a service account to create": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(serviceAccount="causely-*", allowWildcardSubject=True)]},
        "agent-iam:serviceAccounts[0].createServiceAccount: a wildcard subject names no one service account",
    ),
    "bad namespace": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(namespace="Causely")]},
        "agent-iam:serviceAccounts[0].namespace: not a Kubernetes namespace",
    ),
    "unknown mode": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(mode="kiam")]},
        "agent-iam:serviceAccounts[0].mode: Input should be 'irsa' or 'pod-identity' (got 'kiam')",
    ),
    "pod identity with a non-default defaults.path": (
        {"defaults": {"path": "/agents/"}, "clusters": CLUSTERS, "serviceAccounts": [pod_identity()]},
        "agent-iam:serviceAccounts[0].path: EKS Pod Identity needs roles at path '/', got '/agents/'; "
        "set path to '/'",
    ),
    "pod identity with a non-default entry path": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(path="/eks/")]},
        "agent-iam:serviceAccounts[0].path: EKS Pod Identity needs roles at path '/', got '/eks/'",
    ),
    "pod identity with roleArnAnnotation": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(roleArnAnnotation=True)]},
        "agent-iam:serviceAccounts[0].roleArnAnnotation: Pod Identity service accounts carry no role annotation",
    ),
    "pod identity with service account annotations": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(
            serviceAccountAnnotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/x"})]},
        "agent-iam:serviceAccounts[0].serviceAccountAnnotations: Pod Identity needs no service account annotations",
    ),
    "pod identity with subjects": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(subjects=[
            {"cluster": "main", "namespace": "a", "serviceAccount": "b"}])]},
        "agent-iam:serviceAccounts[0].subjects: a Pod Identity association is for one service account",
    ),
    "pod identity with a wildcard": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(serviceAccount="agent-*", allowWildcardSubject=True,
                                                                createServiceAccount=False)]},
        "agent-iam:serviceAccounts[0].serviceAccount: Pod Identity associates one exact service account",
    ),
    "two associations for one service account": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(), pod_identity("b", createServiceAccount=False)]},
        "agent-iam:serviceAccounts[1].serviceAccount: main/agents/agent already has a Pod Identity association "
        "(agent-iam:serviceAccounts[0])",
    ),
    "sessionTagConditions on IRSA": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(sessionTagConditions=False)]},
        "agent-iam:serviceAccounts[0].sessionTagConditions: applies to mode: pod-identity only",
    ),
    "sourceRoleName without cross-account Pod Identity": (
        {"clusters": CLUSTERS, "serviceAccounts": [pod_identity(sourceRoleName="x")]},
        "agent-iam:serviceAccounts[0].sourceRoleName: only for cross-account Pod Identity",
    ),
    "role-arn annotation set by hand": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(serviceAccountAnnotations={
            "eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/x"})]},
        "agent-iam:serviceAccounts[0].serviceAccountAnnotations.eks.amazonaws.com/role-arn: is set from the role",
    ),
    "annotations on a service account agent-iam does not create": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(createServiceAccount=False,
                                                        serviceAccountAnnotations={"a": "b"})]},
        "agent-iam:serviceAccounts[0].serviceAccountAnnotations: annotate a service account agent-iam creates",
    ),
    "bad annotation key": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(serviceAccountAnnotations={"bad key": "b"})]},
        "agent-iam:serviceAccounts[0].serviceAccountAnnotations: not a Kubernetes annotation key",
    ),
    "one service account created twice": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(), irsa("b")]},
        "agent-iam:serviceAccounts[1].serviceAccount: ServiceAccount causely/causely-mediator in cluster 'main' is "
        "already created by agent-iam:serviceAccounts[0].serviceAccount",
    ),
    "one secret created twice": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(secret={"name": "aws"}),
                                                   irsa("b", createServiceAccount=False, secret={"name": "aws"})]},
        "agent-iam:serviceAccounts[1].secret.name: Secret causely/aws in cluster 'main' is already created by",
    ),
    "a subject listed twice": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(subjects=[
            {"cluster": "main", "namespace": "causely", "serviceAccount": "causely-mediator"}])]},
        "agent-iam:serviceAccounts[0].subjects[0]: lists main/causely/causely-mediator twice",
    ),
    "derived role name over 64 characters": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa("c" * 65)]},
        "agent-iam:serviceAccounts[0].name: the derived role name",
    ),
    "derived source role name over 64 characters": (
        {"accounts": ACCOUNTS, "clusters": CLUSTERS,
         "serviceAccounts": [pod_identity("p" * 60, account="observability")]},
        "agent-iam:serviceAccounts[0].name: the derived role name '" + "p" * 60 + "-pod-identity' is 73 characters, "
        "over IAM's 64; shorten the name or set sourceRoleName",
    ),
    "explicit role name over 64 characters": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(roleName="r" * 65)]},
        "agent-iam:serviceAccounts[0].roleName: IAM role names are at most 64 characters",
    ),
    "boundary of another account": (
        {"accounts": ACCOUNTS, "clusters": CLUSTERS, "defaults": {
            "permissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/Boundary"},
         "serviceAccounts": [irsa(account="observability")]},
        f"agent-iam:serviceAccounts[0].permissionsBoundaryArn: role 'causely-mediation' is created in account {OBSERVABILITY}, but its "
        f"permissions boundary arn:aws:iam::{ACCOUNT}:policy/Boundary is in account {ACCOUNT}",
    ),
    "role name used twice in one account": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(roleName="x"), pod_identity(roleName="x")]},
        "agent-iam:serviceAccounts[1]: role name 'x' is already used by agent-iam:serviceAccounts[0]",
    ),
    "KMS keys without buckets (shared SaaS permission checks)": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(
            kmsKeyArns=[f"arn:aws:kms:{REGION}:{ACCOUNT}:key/8c1e4b7a-3f2d-4e9a-b6c5-1d0f9e8a7b62"])]},
        "agent-iam:serviceAccounts[0].kmsKeyArns: are for SSE-KMS buckets",
    ),
    "unknown key, with a hint": (
        {"clusters": CLUSTERS, "serviceAccounts": [irsa(serviceAcount="x")]},
        "agent-iam:serviceAccounts[0].serviceAcount: unknown key; did you mean 'serviceAccount'?",
    ),
}


@pytest.mark.parametrize("values, expected", ERRORS.values(), ids=ERRORS.keys())
def test_bad_config_names_file_and_key(values, expected):
    assert_config_error({"accounts": ACCOUNTS, **values}, expected)


def test_a_trailing_slash_on_the_issuer_is_dropped(plan_stack):
    run = plan_stack(config(irsa(), clusters={"main": {"oidcIssuerUrl": ISSUER + "/"}}))
    assert trust_of(run, "causely-mediation-role")["Statement"][0]["Principal"] == {"Federated": PROVIDER}


def test_a_kubeconfig_is_never_echoed_in_an_error():
    secret = "apiVersion: v1\nclusters: [secret-token]"
    with pytest.raises(ConfigError) as caught:
        stack_config.load_settings({"accountId": ACCOUNT, "clusters": {"main": {"kubeconfig": [secret]}}},
                                   stack="prod", region=REGION)
    assert "secret-token" not in str(caught.value)
    assert "agent-iam:clusters.main.kubeconfig" in str(caught.value)


def test_a_config_error_registers_no_resources():
    bad = config(irsa(), pod_identity(), defaults={"path": "/agents/"})
    with pytest.raises(ConfigError) as caught:
        run_program("prod", bad)
    assert caught.value.registered_resources == []


# --- the stack files ---------------------------------------------------------------


def test_prod_causely_is_the_guides_cross_account_irsa():
    """Guide 001: source role and target role trust the same sub and aud, each through the
    cluster's provider in its own account; the aws-secret names the target role."""
    run = plan_stack_file("prod")
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/E4A17C2B9D5F30864B1E7A2C6D9F0B35"
    sub = "system:serviceaccount:causely:causely-mediator"
    for role, account in (("causely-mediation-role", "432109876543"), ("causely-access-role", "543210987654")):
        assert trust_of(run, role)["Statement"] == [
            irsa_statement("IrsaProdPlatform", f"arn:aws:iam::{account}:oidc-provider/{issuer}", sub, issuer=issuer)
        ]
    (provider,) = [p for p in run.of_type(OIDC) if p.inputs["url"] == f"https://{issuer}"]  # prod's CI issuers too
    assert provider_name(provider) == "aws-observability"
    manifests = kubernetes_manifests(run)
    assert manifests["causely.Secret.aws-secret.yaml"]["stringData"] == {
        "AWS_REGION": "eu-west-1", "AWS_ROLE_ARN": "arn:aws:iam::543210987654:role/agents/causely-access"}
    helm = run.outputs["serviceAccounts"]["causely-mediation"]["helmValues"]["serviceAccount"]
    assert helm["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::432109876543:role/agents/causely-mediation"}
    assert run.named("pulumi:providers:kubernetes", "k8s-prod-platform").inputs["kubeconfig"] == "[secret]"


def test_staging_superblocks_uses_the_charts_service_account():
    """Guide 000: the chart's values carry serviceAccount.name and the role-arn annotation."""
    run = plan_stack_file("staging")
    assert run.of_type(SERVICE_ACCOUNT) == []
    assert run.outputs["serviceAccounts"]["superblocks-agent-eks"]["helmValues"] == {"serviceAccount": {
        "create": True, "name": "data-plane-service-account",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::321098765432:role/agents/superblocks-agent-eks"}}}
    association = run.named(ASSOCIATION, "causely-observability-association")
    assert association.inputs["targetRoleArn"] == "arn:aws:iam::543210987654:role/causely-observability"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_manifests_pass_kubernetes_validate_strict(stack):
    for manifest in kubernetes_manifests(plan_stack_file(stack)).values():
        kv.validate(manifest, "1.31", strict=True)


def test_cross_account_pod_identity_with_a_stack_boundary_has_a_working_config(plan_stack):
    """The Pod Identity role lives in the cluster's account: the stack's boundary (another account's
    policy) must be restated there, with the key the error names; the target role keeps the entry's."""
    boundary = {"permissionsBoundaryArn": f"arn:aws:iam::{OBSERVABILITY}:policy/Boundary"}
    defaults = {"permissionsBoundaryArn": f"arn:aws:iam::{OBSERVABILITY}:policy/Boundary"}
    cluster_in_stack_account = pod_identity(account="observability", **boundary)
    # the cluster is in the stack's account (111...), the target role in observability (222...)
    from conftest import assert_config_error

    assert_config_error(
        {"accounts": ACCOUNTS, "clusters": CLUSTERS, "defaults": defaults, "serviceAccounts": [cluster_in_stack_account]},
        "agent-iam:serviceAccounts[0].sourceRolePermissionsBoundaryArn: Pod Identity role 'agent-pod-identity' is "
        f"created in account {ACCOUNT}, but its permissions boundary arn:aws:iam::{OBSERVABILITY}:policy/Boundary is "
        f"in account {OBSERVABILITY}; set sourceRolePermissionsBoundaryArn to a policy of that account",
    )
    source_boundary = f"arn:aws:iam::{ACCOUNT}:policy/Boundary"
    entry = {**cluster_in_stack_account, "sourceRolePermissionsBoundaryArn": source_boundary}
    run = plan_stack(config(entry, defaults=defaults))
    assert run.named(ROLE, "agent-pod-identity-role").inputs["permissionsBoundary"] == source_boundary
    assert run.named(ROLE, "agent-role").inputs["permissionsBoundary"] == boundary["permissionsBoundaryArn"]
    # a stack boundary of the cluster's own account applies to the Pod Identity role unchanged
    own = {"permissionsBoundaryArn": source_boundary}
    run = plan_stack(config(pod_identity(account="observability", **boundary), defaults=own))
    assert run.named(ROLE, "agent-pod-identity-role").inputs["permissionsBoundary"] == source_boundary


def test_source_role_boundary_is_only_for_cross_account_pod_identity():
    from conftest import assert_config_error

    assert_config_error(
        {"accounts": ACCOUNTS, "clusters": CLUSTERS,
         "serviceAccounts": [pod_identity(sourceRolePermissionsBoundaryArn=f"arn:aws:iam::{ACCOUNT}:policy/B")]},
        "agent-iam:serviceAccounts[0].sourceRolePermissionsBoundaryArn: only for cross-account Pod Identity",
    )


def test_source_account_condition_is_for_pod_identity_only():
    from conftest import assert_config_error

    assert_config_error(
        {"accounts": ACCOUNTS, "clusters": CLUSTERS, "serviceAccounts": [irsa(sourceAccountCondition=True)]},
        "agent-iam:serviceAccounts[0].sourceAccountCondition: applies to mode: pod-identity only",
    )
