"""ECS agent roles: the task role the agent runs as, and the execution role ECS uses to
start it (pull the image, write logs, read the agent's secrets)."""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from typing import Any, Optional

import pulumi


from . import policies
from ._contract import Problem, check_list
from .base import (
    check_managed_policy_arn,
    RoleArgs, RoleComponent, SecretsPlan, RoleSlot, SecretsArgs, policy_advisory, policy_document, policy_problems,
    role_name, role_spec, secret_problems, secrets_advisory,
)
from .role import Policy, RoleDocuments

EXECUTION_POLICY_NAME = "AmazonECSTaskExecutionRolePolicy"
SECRETS_POLICY_NAME = "agent-secrets"
TASK_POLICY_NAME = "agent-permissions"

# Superblocks: code steps see the task role only when this variable lists the credentials URI.
AGENT_ENVIRONMENT = {"SB_EXECUTION_ENV_INCLUSION_LIST": "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}


class EcsAgentRolesArgs(RoleArgs, SecretsArgs, total=False):
    """One ECS agent: where it runs, what it reads, and how its two roles are named. `policy` is the
    task role's (what the agent itself may do); the secrets are the execution role's."""

    account_id: pulumi.Input[str]
    """The 12-digit account the roles are created in (pins `aws:SourceAccount`). Default: the account of the
    component's AWS provider (`aws.get_caller_identity`)."""
    task_role_policy_arns: list[str]
    """Managed policies attached to the task role. Default: none."""
    trust_ec2: bool
    """Let EC2 assume the task role too (agents that also run on instances). Default: false."""
    confused_deputy_conditions: bool
    """Pin the task role's trust with `aws:SourceAccount` and `aws:SourceArn`, the conditions AWS documents
    for ECS task roles. Default: true."""
    source_account_condition: bool
    """Also pin `aws:SourceAccount` on the trusts AWS documents without a condition (the execution role, and
    the task role's EC2 statement with `trust_ec2`): an opt-in, since a condition on a key the service does
    not send keeps the task from ever getting credentials. Default: false."""
    agent_environment: dict[str, str]
    """Environment variables the agent's container needs, returned as the `agentEnvironment` output.
    Default: `SB_EXECUTION_ENV_INCLUSION_LIST=AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (Superblocks)."""
    description: str
    """The task role's description (the execution role keeps agent-iam's). Default: `ECS task role of agent <name>
    (agent-iam)`."""
    task_role_name: str
    """The task role's name. Default: `<name>-task`."""
    execution_role_name: str
    """The execution role's name. Default: `<name>-execution`."""


class EcsAgentRolesOutputs:
    """What EcsAgentRoles hands out (annotated here, not on the component: the SDK resolves a component
    class's own annotations on every registration; the schema analyzer reads them through the MRO)."""

    task_role_arn: pulumi.Output[str]
    """The task role's ARN (the task definition's `taskRoleArn`)."""
    task_role_name: pulumi.Output[str]
    """The task role's name."""
    execution_role_arn: pulumi.Output[str]
    """The execution role's ARN (the task definition's `executionRoleArn`)."""
    execution_role_name: pulumi.Output[str]
    """The execution role's name."""
    agent_environment: pulumi.Output[dict[str, str]]
    """Environment variables the agent's container needs."""


class EcsAgentRolesPlan(SecretsPlan, args=EcsAgentRolesArgs, family="ecsAgents"):
    """The checked Args with their defaults applied: both roles and their documents."""

    ACCOUNT_FROM_PROVIDER = True
    REGION_NEEDED_FOR = "the task role's trust pins aws:SourceArn to the ECS tasks of this region"

    def problems(self) -> list[Problem]:
        args = self.args
        self.task_name, problems = role_name(self.name, args, "task_role_name", "task")
        self.execution_name, more = role_name(self.name, args, "execution_role_name", "execution")
        problems += more + super().problems() + secret_problems(args)
        problems += check_list("task_role_policy_arns", args.get("task_role_policy_arns") or [], check_managed_policy_arn)
        return problems + policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))

    def role_slots(self) -> list[RoleSlot]:
        account = self.args.get("account_id")
        return [
            RoleSlot("task role", role_spec(self.args, self.task_name, f"ECS task role of agent {self.name} (agent-iam)"),
                     account, suffix="task", arns_field="task_role_policy_arns"),
            RoleSlot(
                "execution role",
                role_spec({k: v for k, v in self.args.items() if k != "description"}, self.execution_name,
                          f"ECS task execution role of agent {self.name} (agent-iam)"),
                account,
                policy_field="secret_arns",
                suffix="execution",
                arns_field="",
            ),
        ]

    def execution_policy_arn(self) -> str:
        return f"arn:{self.partition}:iam::aws:policy/service-role/{EXECUTION_POLICY_NAME}"

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        account_id = values["account_id"]
        source_account = bool(values.get("source_account_condition", False))
        task_policy = policies.with_statements(policy_document(values.get("policy")), [])
        secrets = policies.with_statements(
            None, policies.secrets_read_statements(values.get("secret_arns") or [], values.get("kms_key_arns") or [])
        )
        task = RoleDocuments(
            trust=policies.ecs_task_trust(
                account_id,
                self.region,
                confused_deputy=values.get("confused_deputy_conditions", True),
                trust_ec2=bool(values.get("trust_ec2")),
                ec2_source_account=source_account,
            ),
            policies=(Policy(TASK_POLICY_NAME, task_policy),) if task_policy else (),
            attached_policy_arns=tuple(values.get("task_role_policy_arns") or ()),
        )
        execution = RoleDocuments(
            trust=policies.ecs_execution_trust(account_id, source_account=source_account),
            policies=(Policy(SECRETS_POLICY_NAME, secrets),) if secrets else (),
            attached_policy_arns=(self.execution_policy_arn(),),
        )
        return [task, execution]

    def layout(self) -> list[RoleDocuments]:
        args = self.args
        has_secrets = bool(args.get("secret_arns") or args.get("kms_key_arns"))
        return [
            RoleDocuments(
                None,
                (Policy(TASK_POLICY_NAME, None),) if args.get("policy") else (),
                tuple(args.get("task_role_policy_arns") or ()),
            ),
            RoleDocuments(
                None, (Policy(SECRETS_POLICY_NAME, None),) if has_secrets else (), (self.execution_policy_arn(),)
            ),
        ]

    def advisories(self) -> list[Problem]:
        task, execution = self.slots
        account = self.args.get("account_id")
        return secrets_advisory(self.args, f"the execution role {execution.spec.name!r}", account) + policy_advisory(
            self.args, f"the task role {task.spec.name!r}"
        )


class EcsAgentRoles(RoleComponent, EcsAgentRolesOutputs, plan=EcsAgentRolesPlan, module="ecs"):
    """Task role and task execution role for one agent on ECS (Fargate or EC2 launch type).

    The task role is trusted by ECS tasks of this account and region only; the execution role carries
    `AmazonECSTaskExecutionRolePolicy` and reads exactly the agent's secrets. Bad Args raise an
    `ArgsError` naming the field before anything is registered."""

    def __init__(self, name: str, args: EcsAgentRolesArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 plan: Optional[EcsAgentRolesPlan] = None):
        super().__init__(name, args, opts, plan=plan)

    def _register(self, name: str, plan: EcsAgentRolesPlan) -> None:
        task, execution = self._register_roles(name, plan)
        self.task_role_arn = task.arn
        self.task_role_name = task.name
        self.execution_role_arn = execution.arn
        self.execution_role_name = execution.name
        environment = plan.args.get("agent_environment")
        self.agent_environment = dict(AGENT_ENVIRONMENT if environment is None else environment)

