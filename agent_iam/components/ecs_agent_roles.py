"""ECS agent roles: the task role the agent runs as, and the execution role ECS uses to
start it (pull the image, write logs, read the agent's secrets)."""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from agent_iam.iam import checks

from . import policies
from ._contract import CheckedPlans, Problem, check_fields, check_list, check_value, is_known, raise_problems, type_token, when_known
from .role import (
    region_of,
    IamLimitsArgs,
    PlannedRole,
    RoleDocuments,
    create_role,
    iam_limits,
    policy_document,
    policy_problems,
    role_name,
    role_option_problems,
    role_problems,
    role_spec,
    secret_problems,
)

EXECUTION_POLICY_NAME = "AmazonECSTaskExecutionRolePolicy"
SECRETS_POLICY_NAME = "agent-secrets"
TASK_POLICY_NAME = "agent-permissions"
COMPONENT = "EcsAgentRoles"

# Superblocks: code steps see the task role only when this variable lists the credentials URI.
AGENT_ENVIRONMENT = {"SB_EXECUTION_ENV_INCLUSION_LIST": "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}


class EcsAgentRolesArgs(TypedDict, total=False):
    """One ECS agent: where it runs, what it reads, and how its two roles are named."""

    account_id: pulumi.Input[str]
    """The 12-digit account the roles are created in (pins `aws:SourceAccount`). Default: the account of the
    component's AWS provider (`aws.get_caller_identity`)."""
    region: str
    """The region the agent's tasks run in (pins `aws:SourceArn` to its ECS tasks). Default: the program's
    `aws:region`; required when it has none."""
    secret_arns: list[pulumi.Input[str]]
    """Secrets Manager secrets the execution role may read (`secretsmanager:GetSecretValue` on exactly these),
    for the task definition's `secrets`. `*` alone only with `allowAllSecrets`. Default: none."""
    allow_all_secrets: bool
    """Accept `secretArns: ["*"]`: every secret in the account (the plan says so loudly). Default: false."""
    kms_key_arns: list[pulumi.Input[str]]
    """Customer managed KMS keys of those secrets (`kms:Decrypt` through Secrets Manager only). Default: none."""
    task_role_policy_arns: list[str]
    """Managed policies attached to the task role. Default: none."""
    task_policy: dict[str, Any]
    """An IAM identity policy document for what the agent itself may do (the task role's inline policy).
    Default: none."""
    allow_wildcard_resources: bool
    """Accept `Resource: "*"` in an Allow statement of `taskPolicy`. Default: false."""
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
    task_role_name: str
    """The task role's name. Default: `<name>-task`."""
    execution_role_name: str
    """The execution role's name. Default: `<name>-execution`."""
    path: str
    """The roles' IAM path. Default: `/`."""
    permissions_boundary_arn: str
    """A managed policy set as both roles' permissions boundary. Default: none."""
    max_session_duration: int
    """The roles' maximum session, 3600 to 43200 seconds. Default: IAM's (3600)."""
    tags: dict[str, str]
    """Tags of both roles (agent-iam adds `managed-by: agent-iam`). Default: none."""
    protect: bool
    """Protect both roles from deletion. Default: false."""
    iam_limits: IamLimitsArgs
    """The account's IAM quotas, when raised. Default: IAM's default quotas."""


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



class _Plan:
    """The checked Args with their defaults applied: both roles and their documents."""

    def __init__(self, name: str, args: EcsAgentRolesArgs):
        raise_problems(COMPONENT, name, check_fields(EcsAgentRolesArgs, args))
        self.name, self.args = name, args
        task, problems = role_name(name, args, "task_role_name", "task")
        execution, more = role_name(name, args, "execution_role_name", "execution")
        problems += more + role_option_problems(args) + secret_problems(args)
        if args.get("account_id") is not None:
            problems += check_value("account_id", args["account_id"], checks.check_account_id)
        if args.get("region") is not None:
            problems += check_value("region", args["region"], checks.check_region)
        problems += check_list("task_role_policy_arns", args.get("task_role_policy_arns") or [], checks.check_policy_arn)
        problems += policy_problems("task_policy", args.get("task_policy"), bool(args.get("allow_wildcard_resources")))
        raise_problems(COMPONENT, name, problems)
        self.region, problems = region_of(
            args, needed_for="the task role's trust pins aws:SourceArn to the ECS tasks of this region"
        )
        raise_problems(COMPONENT, name, problems)
        self.task_role = role_spec(args, task, f"ECS task role of agent {name} (agent-iam)")
        self.execution_role = role_spec(args, execution, f"ECS task execution role of agent {name} (agent-iam)")
        self.limits = iam_limits(args)
        self.known = is_known(args)
        # Both roles' documents when every Arg is known (checked here; registered as they are).
        self.known_documents: Optional[tuple[RoleDocuments, RoleDocuments]] = None
        if self.known and args.get("account_id"):
            self.known_documents = self._build(dict(args))
            raise_problems(COMPONENT, name, self._role_problems(self.known_documents))

    def _role_problems(self, docs: tuple[RoleDocuments, RoleDocuments]) -> list[Problem]:
        account = self.args.get("account_id")
        return role_problems(
            "task role", self.task_role, docs[0], self.limits, account, policy_field="task_policy"
        ) + role_problems("execution role", self.execution_role, docs[1], self.limits, account, policy_field="secret_arns")

    def _build(self, values: dict[str, Any]) -> tuple[RoleDocuments, RoleDocuments]:
        account_id, region = values["account_id"], self.region
        confused_deputy = values.get("confused_deputy_conditions", True)
        source_account = bool(values.get("source_account_condition", False))
        task = RoleDocuments(
            trust=policies.ecs_task_trust(
                account_id,
                region,
                confused_deputy=confused_deputy,
                trust_ec2=bool(values.get("trust_ec2")),
                ec2_source_account=source_account,
            ),
            inline_policy_name=TASK_POLICY_NAME,
            inline_policy=policies.with_statements(policy_document(values.get("task_policy")), []),
            attached_policy_arns=tuple(values.get("task_role_policy_arns") or ()),
        )
        partition = policies.partition_for_region(region)
        execution = RoleDocuments(
            trust=policies.ecs_execution_trust(account_id, source_account=source_account),
            inline_policy_name=SECRETS_POLICY_NAME,
            inline_policy=policies.with_statements(
                None, policies.secrets_read_statements(values.get("secret_arns") or [], values.get("kms_key_arns") or [])
            ),
            attached_policy_arns=(f"arn:{partition}:iam::aws:policy/service-role/{EXECUTION_POLICY_NAME}",),
        )
        return task, execution

    def _checked_build(self, values: dict[str, Any]) -> tuple[RoleDocuments, RoleDocuments]:
        """Resolved values that were unknown are checked here, when they resolve."""
        problems = secret_problems(values) + check_value("account_id", values["account_id"], checks.check_account_id)
        raise_problems(COMPONENT, self.name, problems)
        docs = self._build(values)
        raise_problems(COMPONENT, self.name, self._role_problems(docs))
        return docs

    def documents(self, account_id: pulumi.Input[str]) -> tuple[RoleDocuments, RoleDocuments]:
        """Both roles' documents: dicts when everything is known, else outputs of one apply."""
        if self.known_documents is not None and account_id is self.args.get("account_id"):
            return self.known_documents
        values = {**self.args, "account_id": account_id}
        if is_known(values):
            return self._build(values)
        built = when_known(values, self._checked_build)
        assert isinstance(built, pulumi.Output)
        has_secrets = bool(self.args.get("secret_arns") or self.args.get("kms_key_arns"))
        has_task_policy = bool(self.args.get("task_policy"))

        def split(index: int, has_inline: bool, attached: tuple[str, ...]) -> RoleDocuments:
            return RoleDocuments(
                trust=built.apply(lambda d: d[index].trust),
                inline_policy_name=(TASK_POLICY_NAME, SECRETS_POLICY_NAME)[index],
                inline_policy=built.apply(lambda d: d[index].inline_policy) if has_inline else None,
                attached_policy_arns=attached,
            )

        partition = policies.partition_for_region(self.region)
        return (
            split(0, has_task_policy, tuple(self.args.get("task_role_policy_arns") or ())),
            split(1, has_secrets, (f"arn:{partition}:iam::aws:policy/service-role/{EXECUTION_POLICY_NAME}",)),
        )

    def roles(self) -> list[PlannedRole]:
        account = self.args.get("account_id")
        account = account if is_known(account) else None
        task, execution = self.known_documents or (None, None)
        return [
            PlannedRole("task role", self.task_role, account, task),
            PlannedRole("execution role", self.execution_role, account, execution),
        ]


# The plans `check` worked out, for the constructor that follows it with the same Args.
_CHECKED: CheckedPlans[_Plan] = CheckedPlans(_Plan)


class EcsAgentRoles(pulumi.ComponentResource, EcsAgentRolesOutputs):
    """Task role and task execution role for one agent on ECS (Fargate or EC2 launch type).

    The task role is trusted by ECS tasks of this account and region only; the execution role carries
    `AmazonECSTaskExecutionRolePolicy` and reads exactly the agent's secrets. Bad Args raise an
    `ArgsError` naming the field before anything is registered."""

    def __init__(self, name: str, args: EcsAgentRolesArgs, opts: Optional[pulumi.ResourceOptions] = None):
        plan = _CHECKED.for_constructor(name, args)
        super().__init__(type_token("ecs", COMPONENT), name, None, opts)
        self._waits_for = opts.depends_on if opts is not None else None  # the children wait too
        account_id = args.get("account_id")
        if account_id is None:
            account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        task_docs, execution_docs = plan.documents(account_id)
        task = create_role(self, f"{name}-task", plan.task_role, task_docs, depends_on=self._waits_for)
        execution = create_role(
            self, f"{name}-execution", plan.execution_role, execution_docs, depends_on=self._waits_for
        )
        self.task_role_arn = task.arn
        self.task_role_name = task.name
        self.execution_role_arn = execution.arn
        self.execution_role_name = execution.name
        environment = args.get("agent_environment")
        self.agent_environment = dict(AGENT_ENVIRONMENT if environment is None else environment)
        self.register_outputs(self.outputs())

    @staticmethod
    def check(name: str, args: EcsAgentRolesArgs) -> list[PlannedRole]:
        """Check Args as the constructor does (raising `ArgsError`), registering nothing; the roles it would create."""
        return _CHECKED.check(name, args).roles()

    def outputs(self) -> dict[str, Any]:
        """The stack output of this agent: both roles for the task definition, and the agent's environment."""
        return {
            "taskRoleArn": self.task_role_arn,
            "taskRoleName": self.task_role_name,
            "executionRoleArn": self.execution_role_arn,
            "executionRoleName": self.execution_role_name,
            "agentEnvironment": self.agent_environment,
        }
