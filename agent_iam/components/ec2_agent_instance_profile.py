"""EC2 agent instance profile: the role an agent on an EC2 instance runs as, read through IMDS.

The role alone does not make the credentials reachable: the instance needs IMDSv2
(`http_tokens = "required"`) and, when the agent runs in a container, a hop limit of 2.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from agent_iam.iam import resource_types


from . import policies
from ._contract import Problem, check_list
from .base import (
    check_managed_policy_arn,
    OneRoleArgs, RoleComponent, SecretsPlan, RoleSlot, SecretsArgs, policy_advisory, policy_document,
    policy_problems, role_name, role_spec, secret_problems, secrets_advisory,
)
from .role import Policy, RoleDocuments

POLICY_NAME = "agent-permissions"
SSM_POLICY_NAME = "AmazonSSMManagedInstanceCore"


class Ec2AgentInstanceProfileArgs(OneRoleArgs, SecretsArgs, total=False):
    """One agent on EC2: its role (and the instance profile of the same name) and what it reads."""

    account_id: pulumi.Input[str]
    """The 12-digit account the role is created in. Default: the account of the
    component's AWS provider (`aws.get_caller_identity`)."""
    ssm: bool
    """Attach `AmazonSSMManagedInstanceCore` (Session Manager instead of SSH). It reads every SSM parameter, which
    the guardrails want accepted (`accepted_findings`: check `sensitive-actions-scoped`, document
    `AmazonSSMManagedInstanceCore`). Default: false."""
    source_account_condition: bool
    """Pin `aws:SourceAccount` in the EC2 trust, which AWS documents without a condition: an opt-in, since a
    condition on a key EC2 does not send keeps the instance from ever getting credentials. Default: false."""


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


def instance_profile_name(name: str) -> str:
    return f"{name}-instance-profile"


class Ec2AgentInstanceProfilePlan(SecretsPlan, args=Ec2AgentInstanceProfileArgs, family="ec2Agents"):
    """The checked Args with their defaults applied: the role and its documents."""

    ACCOUNT_FROM_PROVIDER = True

    def problems(self) -> list[Problem]:
        args = self.args
        self.role_name, problems = role_name(self.name, args, "role_name", "")
        problems += super().problems() + secret_problems(args)
        policy_arns = args.get("policy_arns") or []
        problems += check_list("policy_arns", policy_arns, check_managed_policy_arn)
        for index, arn in enumerate(policy_arns):
            if args.get("ssm") and isinstance(arn, str) and arn.endswith(f":iam::aws:policy/{SSM_POLICY_NAME}"):
                problems.append(Problem(f"policy_arns[{index}]", f"{{ssm}}: true already attaches {SSM_POLICY_NAME}"))
        return problems + policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))

    def role_slots(self) -> list[RoleSlot]:
        spec = role_spec(self.args, self.role_name, f"EC2 instance role of agent {self.name} (agent-iam)")
        return [RoleSlot("instance role", spec, self.args.get("account_id"))]

    def attached_policy_arns(self) -> tuple[str, ...]:
        arns = tuple(self.args.get("policy_arns") or ())
        if not self.args.get("ssm"):
            return arns
        return (*arns, f"arn:{self.partition}:iam::aws:policy/{SSM_POLICY_NAME}")

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        permissions = policies.with_statements(
            policy_document(values.get("policy")),
            policies.secrets_read_statements(values.get("secret_arns") or [], values.get("kms_key_arns") or []),
        )
        trust = policies.ec2_trust(values["account_id"], source_account=bool(values.get("source_account_condition")))
        return [RoleDocuments(trust, (Policy(POLICY_NAME, permissions),) if permissions else (), self.attached_policy_arns())]

    def layout(self) -> list[RoleDocuments]:
        has_inline = bool(self.args.get("policy") or self.args.get("secret_arns") or self.args.get("kms_key_arns"))
        return [RoleDocuments(None, (Policy(POLICY_NAME, None),) if has_inline else (), self.attached_policy_arns())]

    def other_resources(self, name: str) -> list[tuple[str, str]]:
        return [(resource_types.INSTANCE_PROFILE, instance_profile_name(name))]

    def advisories(self) -> list[Problem]:
        who = f"the instance role {self.role_name!r}"
        return secrets_advisory(self.args, who, self.args.get("account_id")) + policy_advisory(self.args, who)


class Ec2AgentInstanceProfile(RoleComponent, Ec2AgentInstanceProfileOutputs, plan=Ec2AgentInstanceProfilePlan, module="ec2"):
    """An instance role trusted by EC2 and the instance profile that hands it to an instance.

    Bad Args raise an `ArgsError` naming the field before anything is registered."""

    def __init__(self, name: str, args: Ec2AgentInstanceProfileArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 plan: Optional[Ec2AgentInstanceProfilePlan] = None):
        super().__init__(name, args, opts, plan=plan)

    def _register(self, name: str, plan: Ec2AgentInstanceProfilePlan) -> None:
        (role,), (slot,) = self._register_roles(name, plan), plan.slots
        # Protected with the role: deleting the profile takes the credentials away from running hosts.
        profile = aws.iam.InstanceProfile(
            instance_profile_name(name),
            name=slot.spec.name,
            path=slot.spec.path,
            role=role.name,
            tags=dict(slot.spec.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=slot.spec.protect),
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.instance_profile_arn = profile.arn
        self.instance_profile_name = profile.name

