"""EcsAgentRoles under Pulumi's mocks: documents, attachments, names, options and outputs."""

from __future__ import annotations

from conftest import ACCOUNT, REGION, config_with, inline_policy_of, trust_of

SECRET_1 = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:matillion/key-Hk3Lm9"
SECRET_2 = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:matillion/db-Pq7Rs2"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/5f0c9a4e-2b1d-4c7e-9a8f-3d6e1b2c4a90"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def matillion(**extra):
    return {"name": "matillion", "trustEc2": True, "secretArns": [SECRET_1, SECRET_2], **extra}


def test_task_role_trusts_ecs_tasks_with_its_documented_conditions_and_ec2_as_documented(plan_stack):
    run = plan_stack(config_with(ecsAgents=[matillion()]))
    statements = trust_of(run, "matillion-task")["Statement"]
    assert statements == [
        {
            "Sid": "EcsTasksAssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"},
            },
        },
        {
            "Sid": "Ec2AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        },
    ]


def test_source_account_condition_pins_the_execution_role_and_the_ec2_statement(plan_stack):
    run = plan_stack(config_with(ecsAgents=[matillion(sourceAccountCondition=True)]))
    pinned = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert trust_of(run, "matillion-task")["Statement"][1]["Condition"] == pinned
    assert trust_of(run, "matillion-execution")["Statement"][0]["Condition"] == pinned
    assert "ArnLike" in trust_of(run, "matillion-task")["Statement"][0]["Condition"]  # unchanged


def test_execution_role_reads_exactly_the_agent_secrets(plan_stack):
    run = plan_stack(config_with(ecsAgents=[matillion()]))
    policy = inline_policy_of(run, "matillion-execution-agent-secrets")
    assert policy["Statement"] == [
        {
            "Sid": "ReadAgentSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": sorted([SECRET_1, SECRET_2]),
        }
    ]
    attachment = run.named(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "matillion-execution-AmazonECSTaskExecutionRolePolicy"
    )
    assert attachment.inputs == {"role": "matillion-execution", "policyArn": EXECUTION_POLICY}
    (execution_trust,) = trust_of(run, "matillion-execution")["Statement"]
    assert execution_trust == {
        "Sid": "EcsTaskExecutionAssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }


def test_kms_keys_add_decrypt_through_secrets_manager(plan_stack):
    run = plan_stack(config_with(ecsAgents=[matillion(kmsKeyArns=[KMS_KEY])]))
    statements = inline_policy_of(run, "matillion-execution-agent-secrets")["Statement"]
    assert statements[1] == {
        "Sid": "DecryptAgentSecrets",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": KMS_KEY,
        "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
    }


def test_all_secrets_only_with_opt_in_and_flagged(plan_stack):
    run = plan_stack(config_with(ecsAgents=[{"name": "a", "secretArns": ["*"], "allowAllSecrets": True}]))
    statement = inline_policy_of(run, "a-execution-agent-secrets")["Statement"][0]
    assert statement["Resource"] == "*"
    assert any("EVERY secret" in w and "a-execution" in w for w in run.warnings)


def test_task_role_managed_and_inline_policies(plan_stack):
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}],
    }
    managed = f"arn:aws:iam::{ACCOUNT}:policy/agent-extra"
    run = plan_stack(config_with(ecsAgents=[{"name": "sb", "taskRolePolicyArns": [managed], "policy": policy}]))
    assert inline_policy_of(run, "sb-task-agent-permissions") == policy
    attachment = run.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"sb-task-{ACCOUNT}-agent-extra")  # customer managed: keyed by account
    assert attachment.inputs["policyArn"] == managed


def test_no_secrets_means_no_inline_policy_on_execution_role(plan_stack):
    run = plan_stack(config_with(ecsAgents=[{"name": "plain"}]))
    assert run.of_type("aws:iam/rolePolicy:RolePolicy") == []
    assert len(run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")) == 1


def test_names_paths_tags_boundary_and_protect_from_defaults_and_overrides(plan_stack):
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/Boundary"
    run = plan_stack(
        config_with(
            defaults={"path": "/agents/", "permissionsBoundaryArn": boundary, "protect": True, "tags": {"team": "x"}},
            ecsAgents=[
                {"name": "one"},
                {"name": "two", "protect": False, "path": "/other/", "taskRoleName": "TwoTask", "tags": {"team": "y"}},
            ],
        ),
        stack="prod",
    )
    one = run.named("aws:iam/role:Role", "one-task")
    assert one.inputs["name"] == "one-task"
    assert one.inputs["path"] == "/agents/"
    assert one.inputs["permissionsBoundary"] == boundary
    assert one.inputs["tags"] == {"team": "x", "managed-by": "agent-iam", "stack": "prod"}
    assert one.protect is True
    assert one.outputs["arn"] == f"arn:aws:iam::{ACCOUNT}:role/agents/one-task"
    two = run.named("aws:iam/role:Role", "two-task")
    assert (two.inputs["name"], two.inputs["path"], two.protect) == ("TwoTask", "/other/", False)
    assert two.inputs["tags"]["team"] == "y"
    # inline policies and attachments are never protected: they change freely
    assert not any(r.protect for r in run.resources if r.type != "aws:iam/role:Role")


def test_children_are_parented_to_the_component_and_use_the_stack_provider(plan_stack):
    run = plan_stack(config_with(ecsAgents=[matillion()]))
    (component,) = run.of_type("agent-iam:ecs:EcsAgentRoles")
    (provider,) = run.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == REGION
    assert ACCOUNT in provider.inputs["allowedAccountIds"]
    children = [r for r in run.resources if r.parent == component.urn]
    assert {r.name for r in children} == {
        "matillion-task",
        "matillion-execution",
        "matillion-execution-agent-secrets",
        "matillion-execution-AmazonECSTaskExecutionRolePolicy",
    }
    assert {r.provider for r in children} == {provider.urn}


def test_outputs_give_arns_names_and_agent_environment(plan_stack):
    run = plan_stack(config_with(ecsAgents=[matillion()]))
    assert run.outputs["accountId"] == ACCOUNT
    assert run.outputs["ecsAgents"]["matillion"] == {
        "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/matillion-task",
        "taskRoleName": "matillion-task",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/matillion-execution",
        "executionRoleName": "matillion-execution",
        "agentEnvironment": {"SB_EXECUTION_ENV_INCLUSION_LIST": "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"},
    }


def test_former_names_become_aliases(plan_stack):
    from agent_iam.plan.run import run_program  # noqa: F401  (the alias itself is checked on the registered options)
    from agent_iam import stack_config

    settings = stack_config.load_settings(
        {"accountId": ACCOUNT, "ecsAgents": [{"name": "new", "formerNames": ["old"]}]}, stack="t", region=REGION
    )
    assert settings.ecs_agents[0].former_names == ("old",)
