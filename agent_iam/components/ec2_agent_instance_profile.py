"""EC2 agent instance profile: the role an agent on an EC2 instance runs as, read through IMDS.

The role alone does not make the credentials reachable: the instance needs IMDSv2
(`http_tokens = "required"`) and, when the agent runs in a container, a hop limit of 2.
"""

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

POLICY_NAME = "agent-permissions"
SSM_POLICY_NAME = "AmazonSSMManagedInstanceCore"
COMPONENT = "Ec2AgentInstanceProfile"


class Ec2AgentInstanceProfileArgs(TypedDict, total=False):
    """One agent on EC2: its role (and the instance profile of the same name) and what it reads."""

    account_id: pulumi.Input[str]
    """The 12-digit account the role is created in. Default: the account of the
    component's AWS provider (`aws.get_caller_identity`)."""
    region: str
    """The region of that account; sets the partition of AWS managed policy ARNs. Default: the program's
    `aws:region`, else `us-east-1`."""
    secret_arns: list[pulumi.Input[str]]
    """Secrets Manager secrets the agent may read (`secretsmanager:GetSecretValue` on exactly these).
    `*` alone only with `allowAllSecrets`. Default: none."""
    allow_all_secrets: bool
    """Accept `secretArns: ["*"]`: every secret in the account (the plan says so loudly). Default: false."""
    kms_key_arns: list[pulumi.Input[str]]
    """Customer managed KMS keys of those secrets (`kms:Decrypt` through Secrets Manager only). Default: none."""
    policy_arns: list[str]
    """Managed policies attached to the role. Default: none."""
    ssm: bool
    """Attach `AmazonSSMManagedInstanceCore` (Session Manager instead of SSH). Default: false."""
    policy: dict[str, Any]
    """An IAM identity policy document for what the agent may do, merged into the role's inline policy.
    Default: none."""
    allow_wildcard_resources: bool
    """Accept `Resource: "*"` in an Allow statement of `policy`. Default: false."""
    source_account_condition: bool
    """Pin `aws:SourceAccount` in the EC2 trust, which AWS documents without a condition: an opt-in, since a
    condition on a key EC2 does not send keeps the instance from ever getting credentials. Default: false."""
    role_name: str
    """The role's name, also the instance profile's. Default: the component's name."""
    path: str
    """The role's and instance profile's IAM path. Default: `/`."""
    description: str
    """The role's description. Default: `EC2 instance role of agent <name> (agent-iam)`."""
    permissions_boundary_arn: str
    """A managed policy set as the role's permissions boundary. Default: none."""
    max_session_duration: int
    """The role's maximum session, 3600 to 43200 seconds. Default: IAM's (3600)."""
    tags: dict[str, str]
    """Tags of the role and instance profile (agent-iam adds `managed-by: agent-iam`). Default: none."""
    protect: bool
    """Protect the role and instance profile from deletion. Default: false."""
    iam_limits: IamLimitsArgs
    """The account's IAM quotas, when raised. Default: IAM's default quotas."""


class Ec2AgentInstanceProfileOutputs:
    """What an Ec2AgentInstanceProfile hands out (annotated here, not on the component: the SDK resolves a
    component class's own annotations on every registration; the schema analyzer reads them through the MRO)."""

    role_arn: pulumi.Output[str]
    """The instance role's ARN."""
    role_name: pulumi.Output[str]
    """The instance role's name."""
    instance_profile_arn: pulumi.Output[str]
    """The instance profile's ARN (a launch template's `iamInstanceProfile.arn`)."""
    instance_profile_name: pulumi.Output[str]
    """The instance profile's name."""



class _Plan:
    """The checked Args with their defaults applied: the role and its documents."""

    def __init__(self, name: str, args: Ec2AgentInstanceProfileArgs):
        raise_problems(COMPONENT, name, check_fields(Ec2AgentInstanceProfileArgs, args))
        self.name, self.args = name, args
        role, problems = role_name(name, args, "role_name", "")
        problems += role_option_problems(args) + secret_problems(args)
        if args.get("account_id") is not None:
            problems += check_value("account_id", args["account_id"], checks.check_account_id)
        if args.get("region") is not None:
            problems += check_value("region", args["region"], checks.check_region)
        policy_arns = args.get("policy_arns") or []
        problems += check_list("policy_arns", policy_arns, checks.check_policy_arn)
        for index, arn in enumerate(policy_arns):
            if args.get("ssm") and isinstance(arn, str) and arn.endswith(f":iam::aws:policy/{SSM_POLICY_NAME}"):
                problems.append(Problem(f"policy_arns[{index}]", f"{{ssm}}: true already attaches {SSM_POLICY_NAME}"))
        problems += policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))
        raise_problems(COMPONENT, name, problems)
        self.region, _ = region_of(args)
        self.role = role_spec(args, role, f"EC2 instance role of agent {name} (agent-iam)")
        self.limits = iam_limits(args)
        # The role's documents when every Arg is known (checked here; registered as they are).
        self.known_documents: Optional[RoleDocuments] = None
        if is_known(args) and args.get("account_id"):
            self.known_documents = self._build(dict(args))
            raise_problems(COMPONENT, name, self._role_problems(self.known_documents))

    def attached_policy_arns(self) -> tuple[str, ...]:
        arns = tuple(self.args.get("policy_arns") or ())
        if not self.args.get("ssm"):
            return arns
        return (*arns, f"arn:{policies.partition_for_region(self.region)}:iam::aws:policy/{SSM_POLICY_NAME}")

    def _role_problems(self, docs: RoleDocuments) -> list[Problem]:
        return role_problems("instance role", self.role, docs, self.limits, self.args.get("account_id"), policy_field="policy")

    def _build(self, values: dict[str, Any]) -> RoleDocuments:
        return RoleDocuments(
            trust=policies.ec2_trust(values["account_id"], source_account=bool(values.get("source_account_condition"))),
            inline_policy_name=POLICY_NAME,
            inline_policy=policies.with_statements(
                policy_document(values.get("policy")),
                policies.secrets_read_statements(values.get("secret_arns") or [], values.get("kms_key_arns") or []),
            ),
            attached_policy_arns=self.attached_policy_arns(),
        )

    def _checked_build(self, values: dict[str, Any]) -> RoleDocuments:
        """Resolved values that were unknown are checked here, when they resolve."""
        problems = secret_problems(values) + check_value("account_id", values["account_id"], checks.check_account_id)
        raise_problems(COMPONENT, self.name, problems)
        docs = self._build(values)
        raise_problems(COMPONENT, self.name, self._role_problems(docs))
        return docs

    def documents(self, account_id: pulumi.Input[str]) -> RoleDocuments:
        """The role's documents: dicts when everything is known, else outputs of one apply."""
        if self.known_documents is not None and account_id is self.args.get("account_id"):
            return self.known_documents
        values = {**self.args, "account_id": account_id}
        if is_known(values):
            return self._build(values)
        built = when_known(values, self._checked_build)
        assert isinstance(built, pulumi.Output)
        has_inline = bool(self.args.get("policy") or self.args.get("secret_arns") or self.args.get("kms_key_arns"))
        return RoleDocuments(
            trust=built.apply(lambda d: d.trust),
            inline_policy_name=POLICY_NAME,
            inline_policy=built.apply(lambda d: d.inline_policy) if has_inline else None,
            attached_policy_arns=self.attached_policy_arns(),
        )

    def roles(self) -> list[PlannedRole]:
        account = self.args.get("account_id")
        known = self.known_documents is not None
        return [PlannedRole("instance role", self.role, account if known else None, self.known_documents)]


# The plans `check` worked out, for the constructor that follows it with the same Args.
_CHECKED: CheckedPlans[_Plan] = CheckedPlans(_Plan)


class Ec2AgentInstanceProfile(pulumi.ComponentResource, Ec2AgentInstanceProfileOutputs):
    """An instance role trusted by EC2 and the instance profile that hands it to an instance.

    Bad Args raise an `ArgsError` naming the field before anything is registered."""

    def __init__(self, name: str, args: Ec2AgentInstanceProfileArgs, opts: Optional[pulumi.ResourceOptions] = None):
        plan = _CHECKED.for_constructor(name, args)
        super().__init__(type_token("ec2", COMPONENT), name, None, opts)
        self._waits_for = opts.depends_on if opts is not None else None  # the children wait too
        account_id = args.get("account_id")
        if account_id is None:
            account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = create_role(self, f"{name}-role", plan.role, plan.documents(account_id), depends_on=self._waits_for)
        # Protected with the role: deleting the profile takes the credentials away from running hosts.
        profile = aws.iam.InstanceProfile(
            f"{name}-instance-profile",
            name=plan.role.name,
            path=plan.role.path,
            role=role.name,
            tags=dict(plan.role.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=plan.role.protect),
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.instance_profile_arn = profile.arn
        self.instance_profile_name = profile.name
        self.register_outputs(self.outputs())

    @staticmethod
    def check(name: str, args: Ec2AgentInstanceProfileArgs) -> list[PlannedRole]:
        """Check Args as the constructor does (raising `ArgsError`), registering nothing; the roles it would create."""
        return _CHECKED.check(name, args).roles()

    def outputs(self) -> dict[str, pulumi.Output[str]]:
        """The stack output of this agent: what an EC2 launch template or an operator needs."""
        return {
            "roleArn": self.role_arn,
            "roleName": self.role_name,
            "instanceProfileArn": self.instance_profile_arn,
            "instanceProfileName": self.instance_profile_name,
        }
