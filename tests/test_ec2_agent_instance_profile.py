"""Ec2AgentInstanceProfile under Pulumi's mocks: trust, permissions, instance profile, outputs, errors."""

from __future__ import annotations

import pytest

from conftest import (
    ACCOUNT,
    REGION,
    assert_config_error,
    config_with,
    inline_policy_of,
    plan_stack_file,
    trust_of,
)

SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:superblocks/agent-key-Q1w2E3"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/5f0c9a4e-2b1d-4c7e-9a8f-3d6e1b2c4a90"
SSM = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PROFILE = "aws:iam/instanceProfile:InstanceProfile"


def superblocks(**extra):
    return {"name": "sb", "secretArns": [SECRET], **extra}


def test_role_trusts_ec2_as_aws_documents_it(plan_stack):
    """AWS documents the EC2 trust with no condition: a key EC2 does not send would fail closed."""
    run = plan_stack(config_with(ec2Agents=[superblocks()]))
    assert trust_of(run, "sb-role") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Ec2AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def test_source_account_condition_is_an_explicit_opt_in(plan_stack):
    run = plan_stack(config_with(ec2Agents=[superblocks(sourceAccountCondition=True)]))
    (statement,) = trust_of(run, "sb-role")["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_the_former_confused_deputy_key_explains_the_change():
    from conftest import assert_config_error

    assert_config_error(
        {"ec2Agents": [superblocks(confusedDeputyConditions=False)]},
        "agent-iam:ec2Agents[0].confusedDeputyConditions: AWS documents the EC2 trust without aws:SourceAccount",
    )


def test_secrets_and_policy_merge_into_one_inline_policy(plan_stack):
    own = {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}
    run = plan_stack(
        config_with(
            ec2Agents=[superblocks(kmsKeyArns=[KMS_KEY], policy={"Version": "2012-10-17", "Statement": [own]})]
        )
    )
    assert len(run.of_type("aws:iam/rolePolicy:RolePolicy")) == 1
    assert inline_policy_of(run, "sb-role-agent-permissions")["Statement"] == [
        own,
        {
            "Sid": "ReadAgentSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": SECRET,
        },
        {
            "Sid": "DecryptAgentSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KMS_KEY,
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
        },
    ]


def test_ssm_and_policy_arns_are_attached(plan_stack):
    extra = f"arn:aws:iam::{ACCOUNT}:policy/agent-extra"
    run = plan_stack(config_with(ec2Agents=[superblocks(ssm=True, policyArns=[extra])]))
    attached = {r.name: r.inputs for r in run.of_type(ATTACHMENT)}
    assert attached == {
        "sb-role-111111111111-agent-extra": {"role": "sb", "policyArn": extra},  # customer managed: keyed by account
        "sb-role-AmazonSSMManagedInstanceCore": {"role": "sb", "policyArn": SSM},
    }


def test_no_ssm_and_no_permissions_means_a_bare_role(plan_stack):
    run = plan_stack(config_with(ec2Agents=[{"name": "bare"}]))
    assert run.of_type(ATTACHMENT) == []
    assert run.of_type("aws:iam/rolePolicy:RolePolicy") == []


def test_instance_profile_references_the_role(plan_stack):
    run = plan_stack(
        config_with(defaults={"path": "/agents/", "protect": True}, ec2Agents=[superblocks(roleName="SuperblocksAgent")])
    )
    role = run.named("aws:iam/role:Role", "sb-role")
    profile = run.named(PROFILE, "sb-instance-profile")
    assert profile.inputs["role"] == role.inputs["name"] == "SuperblocksAgent"
    assert profile.inputs["name"] == "SuperblocksAgent"
    assert profile.inputs["path"] == "/agents/"
    assert profile.inputs["tags"] == role.inputs["tags"]
    assert profile.protect and role.protect
    (component,) = run.of_type("agent-iam:ec2:Ec2AgentInstanceProfile")
    assert profile.parent == role.parent == component.urn


def test_outputs_give_role_and_instance_profile(plan_stack):
    run = plan_stack(config_with(ec2Agents=[superblocks()]))
    assert run.outputs["ec2Agents"] == {
        "sb": {
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/sb",
            "roleName": "sb",
            "instanceProfileArn": f"arn:aws:iam::{ACCOUNT}:instance-profile/sb",
            "instanceProfileName": "sb",
        }
    }


def test_all_secrets_is_flagged(plan_stack):
    run = plan_stack(config_with(ec2Agents=[{"name": "sb", "secretArns": ["*"], "allowAllSecrets": True}]))
    assert inline_policy_of(run, "sb-role-agent-permissions")["Statement"][0]["Resource"] == "*"
    assert any("instance role 'sb' may read EVERY secret" in w for w in run.warnings), run.warnings


ERRORS = {
    "malformed secret ARN": (
        {"ec2Agents": [{"name": "a", "secretArns": ["arn:aws:s3:::bucket"]}]},
        "agent-iam:ec2Agents[0].secretArns[0]: not a Secrets Manager ARN: 'arn:aws:s3:::bucket'",
    ),
    "wildcard secret without opt-in (same rule as ECS)": (
        {"ec2Agents": [{"name": "a", "secretArns": ["*"]}]},
        "agent-iam:ec2Agents[0].secretArns[0]: '*' lets the agent read every secret",
    ),
    "opt-in without wildcard": (
        {"ec2Agents": [{"name": "a", "allowAllSecrets": True}]},
        "agent-iam:ec2Agents[0].allowAllSecrets: is true but secretArns does not contain '*'",
    ),
    "malformed KMS key ARN": (
        {"ec2Agents": [{"name": "a", "kmsKeyArns": ["alias/agent"]}]},
        "agent-iam:ec2Agents[0].kmsKeyArns[0]: not a KMS key ARN",
    ),
    "malformed policy ARN": (
        {"ec2Agents": [{"name": "a", "policyArns": ["AmazonSSMManagedInstanceCore"]}]},
        "agent-iam:ec2Agents[0].policyArns[0]: not an IAM managed policy ARN",
    ),
    "SSM policy twice": (
        {"ec2Agents": [{"name": "a", "ssm": True, "policyArns": [SSM]}]},
        "agent-iam:ec2Agents[0].policyArns[0]: ssm: true already attaches AmazonSSMManagedInstanceCore",
    ),
    "Resource * without opt-in": (
        {"ec2Agents": [{"name": "a", "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]},
        "agent-iam:ec2Agents[0].policy.Statement[0].Resource: '*' covers every resource of its kind",
    ),
    "policy Sid clashing with a generated one": (
        {"ec2Agents": [{"name": "a", "secretArns": [SECRET], "policy": {"Version": "2012-10-17", "Statement": [
            {"Sid": "ReadAgentSecrets", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}]},
        "agent-iam:ec2Agents[0].policy: Sid 'ReadAgentSecrets' is used twice in the instance role's permissions",
    ),
    "unknown key": (
        {"ec2Agents": [{"name": "a", "instanceProfile": "x"}]},
        "agent-iam:ec2Agents[0].instanceProfile: unknown key",
    ),
    "derived role name over 64 characters": (
        {"ec2Agents": [{"name": "a" * 65}]},
        "agent-iam:ec2Agents[0].name: the derived role name",
    ),
    "role name used by an ECS agent": (
        {"ecsAgents": [{"name": "sb"}], "ec2Agents": [{"name": "x", "roleName": "sb-task"}]},
        "agent-iam:ec2Agents[0]: role name 'sb-task' is already used by agent-iam:ecsAgents[0]",
    ),
    "duplicate entry name": (
        {"ec2Agents": [{"name": "a"}, {"name": "a"}]},
        "agent-iam:ec2Agents[1].name: another entry is already named 'a'",
    ),
    "unknown account": (
        {"ec2Agents": [{"name": "a", "account": "data"}]},
        "agent-iam:ec2Agents[0].account: unknown account 'data'",
    ),
}


@pytest.mark.parametrize("values, expected", ERRORS.values(), ids=ERRORS.keys())
def test_bad_config_names_file_and_key(values, expected):
    assert_config_error(values, expected)


def test_dev_superblocks_agent_on_ec2_renders_role_profile_and_ssm():
    run = plan_stack_file("dev")
    profile = run.named(PROFILE, "superblocks-agent-ec2-instance-profile")
    assert profile.inputs["role"] == "superblocks-agent-ec2"
    assert run.named(ATTACHMENT, "superblocks-agent-ec2-role-AmazonSSMManagedInstanceCore").inputs["policyArn"] == SSM
    (statement,) = trust_of(run, "superblocks-agent-ec2-role")["Statement"]
    assert statement["Principal"] == {"Service": "ec2.amazonaws.com"} and "Condition" not in statement
