"""Partitions, regions and DNS suffixes from botocore's partition data (agent_iam.iam.partitions), a copy of
which the package ships so `pulumi up` does not install botocore."""

from __future__ import annotations

import json

import pytest

from agent_iam.components import policies
from agent_iam.iam import partitions
from conftest import ROOT, assert_config_error, config_with, inline_policy_of

CN_ACCOUNT = "111111111111"


@pytest.mark.parametrize(
    "region, partition, suffix",
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("eu-west-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
        ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
        ("eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk"),
        ("us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov"),
    ],
)
def test_partition_and_dns_suffix_of_each_region(region, partition, suffix):
    assert partitions.partition_for_region(region) == partition
    assert policies.partition_for_region(region) == partition  # the re-export components use
    assert partitions.dns_suffix(region) == suffix
    assert partitions.service_endpoint("secretsmanager", region) == f"secretsmanager.{region}.{suffix}"


def test_every_region_botocore_lists_has_its_own_partition():
    regions = partitions.known_regions()
    assert len(regions) > 30 and "us-east-1" in regions and not any(r.endswith("-global") for r in regions)
    for region in regions:
        partition = partitions.partition_for_region(region)
        assert region in next(p for p in partitions.partitions() if p.id == partition).regions


def test_a_region_no_partition_matches_is_refused_not_defaulted_to_aws():
    with pytest.raises(ValueError, match="not an AWS region name"):
        partitions.partition_for_region("mars-north-1")


@pytest.mark.parametrize(
    "region, hint",
    [("us-east-9", "did you mean 'us-east-2' or 'us-east-1'"), ("eu-wset-1", "did you mean 'eu-west-1'"),
     ("US-EAST-1", "did you mean 'us-east-1'"), ("us-east-1\n", "did you mean 'us-east-1'")],
)
def test_an_unknown_region_gets_a_did_you_mean(region, hint):
    with pytest.raises(ValueError, match=hint):
        partitions.check_region(region)
    from agent_iam import stack_config

    with pytest.raises(stack_config.ConfigError, match=f"aws:region: not an AWS region botocore knows: .*{hint}"):
        stack_config.load_settings({"accountId": CN_ACCOUNT}, stack="prod", region=region)


def test_an_account_region_is_checked_too():
    accounts = {"o": {"roleArn": "arn:aws:iam::222222222222:role/deployer", "region": "eu-wset-1"}}
    assert_config_error({"accounts": accounts}, "agent-iam:accounts.o.region: not an AWS region botocore knows")


def test_kms_via_service_uses_the_partitions_dns_suffix(plan_stack):
    secret = f"arn:aws-cn:secretsmanager:cn-north-1:{CN_ACCOUNT}:secret:agent-AbCdEf"
    key = f"arn:aws-cn:kms:cn-north-1:{CN_ACCOUNT}:key/5f0c9a4e-2b1d-4c7e-9a8f-3d6e1b2c4a90"
    config = config_with(ecsAgents=[{"name": "a", "secretArns": [secret], "kmsKeyArns": [key]}])
    config["aws:region"] = "cn-north-1"
    run = plan_stack(config)
    decrypt = inline_policy_of(run, "a-execution-agent-secrets")["Statement"][1]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.cn-north-1.amazonaws.com.cn"}}
    attachment = run.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a-execution-AmazonECSTaskExecutionRolePolicy")
    assert attachment.inputs["policyArn"] == "arn:aws-cn:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    task_trust = json.loads(run.named("aws:iam/role:Role", "a-task").inputs["assumeRolePolicy"])
    assert task_trust["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws-cn:ecs:cn-north-1:{CN_ACCOUNT}:*"


@pytest.mark.parametrize(
    "values, key",
    [
        ({"ecsAgents": [{"name": "a", "secretArns": [f"arn:aws:secretsmanager:cn-north-1:{CN_ACCOUNT}:secret:x-AbCdEf"]}]},
         "agent-iam:ecsAgents[0].secretArns[0]"),
        ({"ec2Agents": [{"name": "a", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}]},
         "agent-iam:ec2Agents[0].policyArns[0]"),
        ({"saasRoles": [{"name": "v", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/v"}, "externalId": "abcdefgh"}]},
         "agent-iam:saasRoles[0].vendor.principalArn"),
        ({"defaults": {"permissionsBoundaryArn": f"arn:aws:iam::{CN_ACCOUNT}:policy/Boundary"}},
         "agent-iam:defaults.permissionsBoundaryArn"),
        ({"ecsAgents": [{"name": "a", "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]}}]},
         "agent-iam:ecsAgents[0].policy.Statement[0].Resource"),
        ({"accounts": {"o": {"roleArn": "arn:aws:iam::222222222222:role/deployer", "region": "cn-north-1"}}},
         "agent-iam:accounts.o.roleArn"),
    ],
)
def test_an_arn_of_another_partition_is_refused(values, key):
    from agent_iam import stack_config

    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load_settings({"accountId": CN_ACCOUNT, **values}, stack="prod", region="cn-north-1")
    assert (
        f"stacks/Pulumi.prod.yaml: {key}: " in str(caught.value)
        and "is an ARN of partition 'aws', but the stack's region cn-north-1 is in 'aws-cn'" in str(caught.value)
    ), str(caught.value)


def test_an_account_in_another_partition_is_refused():
    accounts = {"gov": {"roleArn": "arn:aws-us-gov:iam::222222222222:role/deployer", "region": "us-gov-west-1"}}
    assert_config_error(
        {"accounts": accounts},
        "agent-iam:accounts.gov.region: region us-gov-west-1 is in partition 'aws-us-gov', but the stack's region "
        "eu-west-1 is in 'aws'",
    )


def test_a_kube_context_that_looks_like_an_arn_is_not_judged():
    from agent_iam import stack_config

    issuer = "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/0123456789ABCDEF"
    clusters = {"c": {"oidcIssuerUrl": issuer, "kubeContext": "arn:aws:eks:us-east-1:1:cluster/elsewhere"}}
    settings = stack_config.load_settings({"accountId": CN_ACCOUNT, "clusters": clusters}, stack="prod", region="cn-north-1")
    assert settings.clusters["c"].kube_context.startswith("arn:aws:")


def test_the_shipped_partition_data_is_the_pinned_botocores():
    """agent_iam/iam/data/partitions.json is `make partitions` output from the botocore requirements-dev.txt pins
    (under another botocore, as `make test-min`'s floor, there is nothing to compare it with)."""
    from importlib.metadata import version

    pinned = next(line.split("==", 1)[1].strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
                  if line.startswith("botocore=="))
    if version("botocore") != pinned:
        pytest.skip(f"botocore {version('botocore')} is not the pinned {pinned} the data was made from")
    shipped = (partitions.Path(partitions.__file__).parent / partitions.DATA).read_text(encoding="utf-8")
    assert shipped == partitions.refreshed_data(), "run `make partitions`"
    assert json.loads(shipped)["partitions"] == json.loads(partitions.botocore_partitions_file().read_text())["partitions"]
