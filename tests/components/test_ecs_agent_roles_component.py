"""EcsAgentRoles built from its Args under Pulumi's mocks: a secret ARN from an
`aws.secretsmanager.Secret`, the account from the provider, and bad Args refused first."""

from __future__ import annotations

import json

import pulumi_aws as aws
import pytest

from agent_iam import ArgsError, EcsAgentRoles, EcsAgentRolesArgs
from conftest import ACCOUNT, REGION, run_components

ROLE = "aws:iam/role:Role"
INLINE = "aws:iam/rolePolicy:RolePolicy"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:agent-key-AbCdEf"


def test_a_secret_resource_arn_scopes_the_execution_role():
    def program():
        secret = aws.secretsmanager.Secret("agent-key", name="agent-key")
        agent = EcsAgentRoles("agent", EcsAgentRolesArgs(account_id=ACCOUNT, region=REGION, secret_arns=[secret.arn]))
        return {"secret": secret.arn, **agent.outputs()}

    run, outputs = run_components(program)
    policy = json.loads(run.named(INLINE, "agent-execution-agent-secrets").inputs["policy"])
    assert policy["Statement"] == [
        {"Sid": "ReadAgentSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": outputs["secret"]}
    ]
    assert outputs["secret"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:agent-key-")
    assert outputs["taskRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/agent-task"
    assert outputs["executionRoleName"] == "agent-execution"
    assert outputs["agentEnvironment"] == {"SB_EXECUTION_ENV_INCLUSION_LIST": "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}
    # Nothing else waited: no task policy was asked for, so the task role has none.
    assert [r.name for r in run.of_type(INLINE)] == ["agent-execution-agent-secrets"]


def test_the_account_defaults_to_the_providers_and_pins_the_trust():
    run, _ = run_components(lambda: EcsAgentRoles("agent", EcsAgentRolesArgs(region=REGION, secret_arns=[SECRET])))
    [statement] = json.loads(run.named(ROLE, "agent-task").inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"},
    }


@pytest.mark.parametrize(
    "args,match",
    [
        ({"secret_arns": ["*"]}, r"args\.secret_arns\[0\]: '\*' lets the agent read every secret .* allow_all_secrets: true"),
        ({"secret_arns": ["arn:aws:s3:::bucket"]}, r"args\.secret_arns\[0\]: not a Secrets Manager ARN: 'arn:aws:s3:::bucket'"),
        ({"secret_arns": [SECRET, SECRET]}, r"args\.secret_arns\[1\]: listed twice"),
        ({"account_id": "12345"}, r"args\.account_id: not a 12-digit AWS account ID: '12345'"),
        ({"policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
         r"args\.policy\.Statement\[0\]\.Action: Action \"\*\" grants every AWS action"),
        ({"task_role_name": "bad name"}, r"args\.task_role_name: not a valid IAM role name"),
        ({"secret": SECRET}, r"args\.secret: unknown field; did you mean 'secret_arns'"),
    ],
)
def test_bad_args_raise_naming_the_field_and_register_nothing(args, match):
    with pytest.raises(ArgsError, match=match) as caught:
        run_components(lambda: EcsAgentRoles("agent", {"account_id": ACCOUNT, **args}))
    assert caught.value.registered_resources == []


def test_a_name_too_long_for_its_derived_role_names_the_field_to_set():
    name = "a" * 60
    with pytest.raises(ArgsError, match=rf"args\.name: the derived role name '{name}-task' is 65 characters, .* set task_role_name"):
        EcsAgentRoles.check(name, {"account_id": ACCOUNT})


def test_without_a_region_anywhere_the_trust_cannot_be_pinned_and_says_so():
    """The task role's aws:SourceArn names a region: never guessed, never silently us-east-1. Neither the
    component's AWS provider (the default one, configured by aws:region) nor the program says which: the
    component asks its provider, and no role is registered."""
    with pytest.raises(Exception, match=r"EcsAgentRoles 'agent': args\.region: required: the task role's trust pins "
                       r"aws:SourceArn to the ECS tasks of this region, and neither the component's AWS provider nor "
                       r"the program's aws:region says which") as caught:
        run_components(lambda: EcsAgentRoles("agent", {"account_id": ACCOUNT}), config={"aws:region": ""})
    assert [r.type for r in caught.value.registered_resources] == ["agent-iam:ecs:EcsAgentRoles"]


def test_an_action_spelled_in_upper_case_is_the_same_grant_and_gets_the_same_verdict():
    # IAM reads actions case-insensitively, the service prefix included: `S3:PUTOBJECT` on every object
    # is refused by the guardrail as `s3:PutObject` is, not as "not an IAM action".
    def refusal(action: str) -> str:
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::*/*"}]}
        with pytest.raises(ArgsError) as raised:
            run_components(lambda: EcsAgentRoles("agent", EcsAgentRolesArgs(
                account_id=ACCOUNT, region=REGION, policy=policy, allow_wildcard_resources=True)))
        return str(raised.value)

    lower = refusal("s3:PutObject")
    assert lower.startswith("EcsAgentRoles 'agent': args.policy: guardrail sensitive-actions-scoped: inline policy "
                            "'agent-permissions': statement #1 allows s3:PutObject (1 Write) on 'arn:aws:s3:::*/*'")
    assert refusal("S3:PUTOBJECT") == lower
