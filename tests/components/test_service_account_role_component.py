"""ServiceAccountRole built from its Args under Pulumi's mocks: an IRSA trust on an OIDC provider
created in the same program, Pod Identity, and bad Args refused before anything registers."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from agent_iam import ArgsError, ServiceAccountRole, ServiceAccountRoleArgs
from conftest import ACCOUNT, run_components

ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/5C7A1B2D3E4F"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
ROLE = "aws:iam/role:Role"


def trust(run, name: str) -> dict:
    return json.loads(run.named(ROLE, name).inputs["assumeRolePolicy"])


def test_irsa_trusts_a_provider_output_with_the_subject_from_namespace_and_service_account():
    def program():
        provider = aws.iam.OpenIdConnectProvider("eks", url=f"https://{ISSUER}", client_id_lists=["sts.amazonaws.com"])
        role = ServiceAccountRole(
            "mediator",
            ServiceAccountRoleArgs(
                namespace="causely", service_account="mediator", cluster="prod",
                oidc_provider_arn=provider.arn, oidc_issuer=ISSUER, create_service_account=False,
            ),
        )
        return role.outputs()

    run, outputs = run_components(program)
    assert trust(run, "mediator-role")["Statement"] == [
        {
            "Sid": "IrsaProd",
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:causely:mediator", f"{ISSUER}:aud": "sts.amazonaws.com"}
            },
        }
    ]
    assert outputs["helmValues"] == {
        "serviceAccount": {
            "create": True,
            "name": "mediator",
            "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/mediator"},
        }
    }


def test_pod_identity_trust_and_association_from_args():
    run, outputs = run_components(
        lambda: ServiceAccountRole(
            "agent",
            ServiceAccountRoleArgs(
                mode="pod-identity", namespace="agents", service_account="agent", cluster="edge",
                account_id=ACCOUNT, create_service_account=False,
            ),
        ).outputs()
    )
    [statement] = trust(run, "agent-role")["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:RequestTag/eks-cluster-name"] == "edge"
    association = run.named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "agent-association")
    assert association.inputs["roleArn"] == outputs["roleArn"]


@pytest.mark.parametrize(
    "args,match",
    [
        ({"namespace": "ns", "service_account": "sa"}, r"args\.oidc_provider_arn: IRSA trusts the OIDC provider of cluster"),
        ({"namespace": "*", "service_account": "sa", "oidc_provider_arn": PROVIDER},
         r"args\.namespace: '\*' is a wildcard: .* allow_wildcard_subject: true"),
        ({"namespace": "ns", "service_account": "sa", "oidc_provider_arn": "arn:aws:iam::1:oidc-provider/x"},
         r"args\.oidc_provider_arn: not an IAM OIDC provider ARN"),
        ({"mode": "pod-identity", "namespace": "ns", "service_account": "sa", "account_id": ACCOUNT, "path": "/x/"},
         r"args\.path: EKS Pod Identity needs roles at path '/', got '/x/'; set path to '/'"),
        ({"mode": "kiam", "namespace": "ns", "service_account": "sa"}, r"args\.mode: one of irsa, pod-identity, got 'kiam'"),
        ({"namespace": "ns", "service_account": "sa", "oidc_provider_arn": PROVIDER,
          "subjects": [{"namespace": "ns", "service_account": "sa"}]}, r"args\.subjects\[0\]: lists cluster/ns/sa twice"),
    ],
)
def test_bad_args_raise_naming_the_field_and_register_nothing(args, match):
    with pytest.raises(ArgsError, match=match) as caught:
        run_components(lambda: ServiceAccountRole("sa", args))
    assert caught.value.registered_resources == []


def test_without_the_eks_extra_kubernetes_objects_are_refused_before_anything_registers(monkeypatch):
    """pulumi-kubernetes is the `eks` extra: only this component imports it, and only for Kubernetes objects."""
    import sys

    monkeypatch.setitem(sys.modules, "pulumi_kubernetes", None)  # as if not installed: importing it fails
    args = ServiceAccountRoleArgs(namespace="causely", service_account="mediator", cluster="prod",
                                  oidc_provider_arn=PROVIDER, oidc_issuer=ISSUER)
    with pytest.raises(Exception, match=r"ServiceAccountRole 'mediator' creates Kubernetes objects .*agent-iam\[eks\]") as caught:
        run_components(lambda: ServiceAccountRole("mediator", args))
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]
    run, _ = run_components(lambda: ServiceAccountRole("mediator", {**args, "create_service_account": False}))
    assert [r.type for r in run.resources if r.custom] == [ROLE]


# --- the split: IrsaRole and PodIdentityRole, with ServiceAccountRole's state --------------------

IRSA_ARGS = {"namespace": "causely", "service_account": "mediator", "cluster": "prod", "oidc_provider_arn": PROVIDER}
POD_ARGS = {"namespace": "agents", "service_account": "agent", "cluster": "prod", "account_id": ACCOUNT}
OLD_TYPE = "agent-iam:eks:ServiceAccountRole"


def _registered_with_aliases(monkeypatch, build):
    """Run `build` under the mocks; each registration's (type, name, URN, alias specs as (name, type))."""
    from agent_iam.plan.mocks import RecordingMonitor

    seen = []
    register = RecordingMonitor.RegisterResource

    def recording(self, request):
        response = register(self, request)
        specs = [(a.spec.name, a.spec.type) for a in request.aliases if a.HasField("spec")]
        seen.append((request.type, request.name, response.urn, specs))
        return response

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", recording)
    run, _ = run_components(build)
    return run, seen


@pytest.mark.parametrize(
    "new,args,mode",
    [("IrsaRole", IRSA_ARGS, "irsa"), ("PodIdentityRole", POD_ARGS, "pod-identity")],
)
def test_the_split_components_register_what_service_account_role_did_and_alias_its_urn(monkeypatch, new, args, mode):
    import agent_iam

    component = getattr(agent_iam, new)
    old_run, old = _registered_with_aliases(monkeypatch, lambda: ServiceAccountRole("agent", {**args, "mode": mode}))
    new_run, registered = _registered_with_aliases(monkeypatch, lambda: component("agent", dict(args)))
    (old_urn,) = [urn for typ, _, urn, _ in old if typ == OLD_TYPE]
    (new_type, name, urn, aliases) = next(r for r in registered if r[0] == f"agent-iam:eks:{new}")
    # The component says its former type: the URN the old program registered is the alias's URN.
    assert aliases == [("", OLD_TYPE)]
    assert urn.replace(new_type, OLD_TYPE) == old_urn
    # Every child is the same resource, with the same inputs (the engine carries the parent's alias to it).
    assert [(r.type, r.name, r.inputs) for r in new_run.resources if r.custom] == [
        (r.type, r.name, r.inputs) for r in old_run.resources if r.custom
    ]


def test_a_renamed_split_component_aliases_each_former_name_under_the_former_type_too(monkeypatch):
    import pulumi

    from agent_iam import IrsaRole

    opts = pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old-agent")])
    _, registered = _registered_with_aliases(monkeypatch, lambda: IrsaRole("agent", dict(IRSA_ARGS), opts))
    (aliases,) = [a for typ, _, _, a in registered if typ == "agent-iam:eks:IrsaRole"]
    assert sorted(aliases) == sorted([("old-agent", ""), ("", OLD_TYPE), ("old-agent", OLD_TYPE)])


def test_each_mode_takes_only_its_own_fields():
    from agent_iam import IrsaRole, PodIdentityRole

    with pytest.raises(ArgsError, match=r"IrsaRole 'a': args\.session_tag_conditions: unknown field"):
        IrsaRole.check("a", {**IRSA_ARGS, "session_tag_conditions": False})
    with pytest.raises(ArgsError, match=r"PodIdentityRole 'a': args\.oidc_provider_arn: unknown field"):
        PodIdentityRole.check("a", {**POD_ARGS, "oidc_provider_arn": PROVIDER})
    with pytest.raises(ArgsError, match=r"PodIdentityRole 'a': args\.account_id: required, but not set"):
        PodIdentityRole.check("a", {k: v for k, v in POD_ARGS.items() if k != "account_id"})
    # ServiceAccountRole names the mode a field belongs to.
    with pytest.raises(ArgsError, match=r"ServiceAccountRole 'a': args\.session_tag_conditions: applies to mode: pod-identity only"):
        ServiceAccountRole.check("a", {**IRSA_ARGS, "session_tag_conditions": False})
