"""ECS agent roles: the task role the agent runs as, and the execution role ECS uses to
start it (pull the image, write logs, read the agent's secrets)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from . import policies
from .role import RoleDocuments, RoleSpec, create_role

EXECUTION_POLICY_NAME = "AmazonECSTaskExecutionRolePolicy"
SECRETS_POLICY_NAME = "agent-secrets"
TASK_POLICY_NAME = "agent-permissions"

# Superblocks: code steps see the task role only when this variable lists the credentials URI.
AGENT_ENVIRONMENT = {"SB_EXECUTION_ENV_INCLUSION_LIST": "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}


@dataclass(frozen=True)
class EcsAgentRolesArgs:
    """One ECS agent: where it runs, what it reads, and how its two roles are named."""

    account_id: str
    region: str
    task_role: RoleSpec
    execution_role: RoleSpec
    secret_arns: tuple[str, ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    task_role_policy_arns: tuple[str, ...] = ()
    task_policy: dict | None = None
    trust_ec2: bool = False
    confused_deputy_conditions: bool = True  # the task role's aws:SourceAccount + aws:SourceArn (AWS documents them)
    # aws:SourceAccount on the trusts AWS documents without it (execution role, the task role's EC2 statement)
    source_account_condition: bool = False
    agent_environment: dict[str, str] = field(default_factory=lambda: dict(AGENT_ENVIRONMENT))

    def roles(self) -> dict[str, tuple[RoleSpec, RoleDocuments]]:
        """Both roles with their documents, as the limit checks and the plan see them."""
        return {
            "task role": (self.task_role, self.task_role_documents()),
            "execution role": (self.execution_role, self.execution_role_documents()),
        }

    def task_role_documents(self) -> RoleDocuments:
        return RoleDocuments(
            trust=policies.ecs_task_trust(
                self.account_id,
                self.region,
                confused_deputy=self.confused_deputy_conditions,
                trust_ec2=self.trust_ec2,
                ec2_source_account=self.source_account_condition,
            ),
            inline_policy_name=TASK_POLICY_NAME,
            inline_policy=policies.with_statements(self.task_policy, []),
            attached_policy_arns=self.task_role_policy_arns,
        )

    def execution_role_documents(self) -> RoleDocuments:
        partition = policies.partition_for_region(self.region)
        return RoleDocuments(
            trust=policies.ecs_execution_trust(self.account_id, source_account=self.source_account_condition),
            inline_policy_name=SECRETS_POLICY_NAME,
            inline_policy=policies.with_statements(
                None, policies.secrets_read_statements(self.secret_arns, self.kms_key_arns)
            ),
            attached_policy_arns=(f"arn:{partition}:iam::aws:policy/service-role/{EXECUTION_POLICY_NAME}",),
        )


class EcsAgentRoles(pulumi.ComponentResource):
    """Task role and task execution role for one agent on ECS (Fargate or EC2 launch type)."""

    def __init__(self, name: str, args: EcsAgentRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-iam:ecs:EcsAgentRoles", name, None, opts)
        task = create_role(self, f"{name}-task", args.task_role, args.task_role_documents())
        execution = create_role(self, f"{name}-execution", args.execution_role, args.execution_role_documents())
        # Attributes, not class annotations: the SDK resolves a component class's annotations
        # with get_type_hints on every registration (tests/test_resource_economy.py).
        self.task_role_arn: pulumi.Output[str] = task.arn
        self.task_role_name: pulumi.Output[str] = task.name
        self.execution_role_arn: pulumi.Output[str] = execution.arn
        self.execution_role_name: pulumi.Output[str] = execution.name
        self.agent_environment: dict[str, str] = dict(args.agent_environment)
        self.register_outputs(
            {
                "taskRoleArn": self.task_role_arn,
                "taskRoleName": self.task_role_name,
                "executionRoleArn": self.execution_role_arn,
                "executionRoleName": self.execution_role_name,
                "agentEnvironment": self.agent_environment,
            }
        )
