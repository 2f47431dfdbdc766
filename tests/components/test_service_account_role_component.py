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
