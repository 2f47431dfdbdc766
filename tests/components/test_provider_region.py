"""Region and partition from the component's AWS provider: a program in us-east-1 builds every component
through an explicit provider in eu-west-1 (the region: ECS's aws:SourceArn, the Secret's AWS_REGION, the
Pod Identity association) and through one in cn-north-1 (the partition of every ARN a component writes),
under Pulumi's mocks. The Args' `region` wins; the program's `aws:region` counts only when no provider says."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from agent_iam import (
    Ec2AgentInstanceProfile,
    EcsAgentRoles,
    IrsaRole,
    OidcRole,
    PodIdentityRole,
    SaasAccessRole,
    ServiceAccountRole,
)
from conftest import ACCOUNT, SSM_REVIEWED, run_components

PROGRAM = {"aws:region": "us-east-1"}
CLUSTER_ACCOUNT = "333333333333"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/5C7A1B2D3E4F"
ROLE, INLINE = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
SECRET = "kubernetes:core/v1:Secret"


def _trust(run: Any, name: str) -> dict[str, Any]:
    return json.loads(run.named(ROLE, name).inputs["assumeRolePolicy"])


def _every_component(region: str, partition: str) -> dict[str, Any]:
    """Every role component, built through an explicit provider in `region` (the cluster's account has its own)."""
    here = aws.Provider("aws-here", region=region, allowed_account_ids=[ACCOUNT])
    cluster = aws.Provider("aws-cluster", region=region, allowed_account_ids=[CLUSTER_ACCOUNT])
    through = pulumi.ResourceOptions(providers=[here])
    secret = f"arn:{partition}:secretsmanager:{region}:{ACCOUNT}:secret:agent-key-AbCdEf"
    return {
        "ecs": EcsAgentRoles("agent", {"secret_arns": [secret]}, through).outputs(),
        "ec2": Ec2AgentInstanceProfile("runner", {"ssm": True, "accepted_findings": [SSM_REVIEWED]}, through).outputs(),
        "saas": SaasAccessRole("vendor", {
            "vendor_account_id": "222222222222", "external_id": "ext-1234", "s3_read": ["acme-lake/exports"],
        }, through).outputs(),
        "oidc": OidcRole("deploy", {
            "provider": "github", "repository": "acme/app", "branches": ["main"], "account_id": ACCOUNT,
        }, through).outputs(),
        "irsa": IrsaRole("mediator", {
            "namespace": "causely", "service_account": "mediator", "create_service_account": False,
            "oidc_provider_arn": f"arn:{partition}:iam::{ACCOUNT}:oidc-provider/{ISSUER}", "secret_name": "aws-secret",
        }, through).outputs(),
        "pod": PodIdentityRole("edge", {
            "namespace": "agents", "service_account": "agent", "account_id": ACCOUNT, "cluster_account_id": CLUSTER_ACCOUNT,
            "create_service_account": False, "secret_name": "aws-secret",
        }, through, cluster_provider=cluster).outputs(),
        "mode": ServiceAccountRole("legacy", {
            "mode": "pod-identity", "namespace": "legacy", "service_account": "agent", "account_id": ACCOUNT,
            "create_service_account": False, "s3_read": ["acme-lake"],
        }, through).outputs(),
    }


@pytest.fixture(scope="module")
def in_ireland() -> tuple[Any, dict[str, Any]]:
    return run_components(lambda: _every_component("eu-west-1", "aws"), config=PROGRAM)


@pytest.fixture(scope="module")
def in_china() -> tuple[Any, dict[str, Any]]:
    return run_components(lambda: _every_component("cn-north-1", "aws-cn"), config=PROGRAM)


def test_an_ecs_agent_pins_the_ecs_tasks_of_its_providers_region_not_the_programs(in_ireland):
    run, _ = in_ireland
    [statement] = _trust(run, "agent-task")["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:*"},
    }


def test_the_secrets_aws_region_is_the_providers(in_ireland):
    run, _ = in_ireland
    secrets = {r.name: r.inputs["stringData"]["AWS_REGION"] for r in run.of_type(SECRET)}
    assert secrets == {"mediator-secret": "eu-west-1", "edge-secret": "eu-west-1"}


def test_the_pod_identity_association_is_created_where_the_cluster_is(in_ireland):
    run, outputs = in_ireland
    association = run.named(ASSOCIATION, "edge-association")
    assert association.provider.endswith("::aws-cluster")  # the cluster's account and region (cluster_provider)
    assert association.outputs["associationArn"].startswith(f"arn:aws:eks:eu-west-1:{CLUSTER_ACCOUNT}:podidentityassociation/")
    assert association.inputs["targetRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/edge" == outputs["pod"]["roleArn"]
    own = run.named(ASSOCIATION, "legacy-association")
    assert own.provider.endswith("::aws-here") and f":eks:eu-west-1:{ACCOUNT}:" in own.outputs["associationArn"]


def test_every_arn_a_component_writes_is_of_its_providers_partition(in_china):
    run, outputs = in_china
    [task] = _trust(run, "agent-task")["Statement"]
    assert task["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws-cn:ecs:cn-north-1:{ACCOUNT}:*"}
    execution = run.named(ATTACHMENT, "agent-execution-AmazonECSTaskExecutionRolePolicy")  # named as in any partition
    assert execution.inputs["policyArn"] == "arn:aws-cn:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    ssm = run.named(ATTACHMENT, "runner-role-AmazonSSMManagedInstanceCore")
    assert ssm.inputs["policyArn"] == "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"
    [vendor] = _trust(run, "vendor-role")["Statement"]
    assert vendor["Principal"] == {"AWS": "arn:aws-cn:iam::222222222222:root"}
    s3 = json.loads(run.named(INLINE, "vendor-role-vendor-access").inputs["policy"])
    assert {r for s in s3["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])} == {
        "arn:aws-cn:s3:::acme-lake", "arn:aws-cn:s3:::acme-lake/exports/*"
    }
    [github] = _trust(run, "deploy-role")["Statement"]
    assert github["Principal"] == {
        "Federated": f"arn:aws-cn:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    }
    association = run.named(ASSOCIATION, "edge-association")
    assert association.inputs["targetRoleArn"] == f"arn:aws-cn:iam::{ACCOUNT}:role/edge"
    chain = json.loads(run.named(INLINE, "edge-pod-identity-role-assume-target-role").inputs["policy"])
    assert chain["Statement"][0]["Resource"] == f"arn:aws-cn:iam::{ACCOUNT}:role/edge"
    [target] = _trust(run, "edge-role")["Statement"]
    assert target["Principal"] == {"AWS": f"arn:aws-cn:iam::{CLUSTER_ACCOUNT}:role/edge-pod-identity"}
    legacy = json.loads(run.named(INLINE, "legacy-role-service-account-access").inputs["policy"])
    assert "arn:aws-cn:s3:::acme-lake" in json.dumps(legacy) and "arn:aws:" not in json.dumps(legacy)
    assert outputs["ecs"]["taskRoleArn"] == f"arn:aws-cn:iam::{ACCOUNT}:role/agent-task"


def test_the_args_region_wins_over_the_providers():
    """A role created through a us-west-2 provider for tasks that run in eu-central-1 (IAM is global)."""

    def program() -> None:
        here = aws.Provider("aws-here", region="us-west-2", allowed_account_ids=[ACCOUNT])
        EcsAgentRoles("agent", {"region": "eu-central-1"}, pulumi.ResourceOptions(providers=[here]))

    run, _ = run_components(program, config=PROGRAM)
    [statement] = _trust(run, "agent-task")["Statement"]
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ecs:eu-central-1:{ACCOUNT}:*"}


def test_the_programs_region_counts_only_when_no_provider_says_one(monkeypatch):
    """A program's own mocks may answer `aws.get_region` with nothing: the program's aws:region is used then. The
    default provider is configured by aws:region: a component without an explicit one takes it without asking."""
    from agent_iam.plan.mocks import PlanMocks

    answer, asked = PlanMocks.call, []

    def silent(self, args):
        if args.token == "aws:index/getRegion:getRegion":
            asked.append(args.provider)
            return {}, []
        return answer(self, args)

    def program() -> None:
        here = aws.Provider("aws-here", region="eu-west-1", allowed_account_ids=[ACCOUNT])
        EcsAgentRoles("agent", {"account_id": ACCOUNT}, pulumi.ResourceOptions(providers=[here]))
        EcsAgentRoles("default", {"account_id": ACCOUNT})

    monkeypatch.setattr(PlanMocks, "call", silent)
    run, _ = run_components(program, config={"aws:region": "ap-south-1"})
    for name in ("agent", "default"):
        [statement] = _trust(run, f"{name}-task")["Statement"]
        assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ecs:ap-south-1:{ACCOUNT}:*"}
    assert [ref.rsplit("::", 1)[-1] for ref in asked] == ["aws-here-id"]  # the explicit provider only


def test_an_arn_of_another_partition_than_the_providers_is_refused_when_the_region_resolves():
    def program() -> None:
        china = aws.Provider("aws-china", region="cn-north-1", allowed_account_ids=[ACCOUNT])
        SaasAccessRole("vendor", {"principal_arn": "arn:aws:iam::222222222222:role/v", "external_id": "ext-1234"},
                       pulumi.ResourceOptions(providers=[china]))

    with pytest.raises(Exception, match=(
        r"SaasAccessRole 'vendor': args\.principal_arn: 'arn:aws:iam::222222222222:role/v' is an ARN of partition "
        r"'aws', but the roles' region cn-north-1 is in 'aws-cn': write arn:aws-cn:\.\.\."
    )) as caught:
        run_components(program, config=PROGRAM)
    assert ROLE not in [r.type for r in caught.value.registered_resources]
    # The same Args through a provider of the ARN's partition are good, and so in the Args' own region.
    run_components(lambda: SaasAccessRole("vendor", {"principal_arn": "arn:aws:iam::222222222222:role/v",
                                                     "external_id": "ext-1234"}), config=PROGRAM)
    with pytest.raises(Exception, match=r"args\.principal_arn: .* partition 'aws', but the roles' region cn-north-1") as known:
        run_components(lambda: SaasAccessRole("vendor", {"principal_arn": "arn:aws:iam::222222222222:role/v",
                                                         "external_id": "ext-1234", "region": "cn-north-1"}))
    assert known.value.registered_resources == []  # a region the Args give is checked before anything registers


def test_known_args_are_still_checked_before_anything_registers():
    def program() -> None:
        here = aws.Provider("aws-here", region="eu-west-1", allowed_account_ids=[ACCOUNT])
        EcsAgentRoles("agent", {"secret_arns": ["*"]}, pulumi.ResourceOptions(providers=[here]))

    with pytest.raises(Exception, match=r"EcsAgentRoles 'agent': args\.secret_arns\[0\]: '\*' lets the agent read") as caught:
        run_components(program, config=PROGRAM)
    assert [r.type for r in caught.value.registered_resources] == ["pulumi:providers:aws"]
