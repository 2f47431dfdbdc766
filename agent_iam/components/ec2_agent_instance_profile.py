"""EC2 agent instance profile: the role an agent on an EC2 instance runs as, read through IMDS.

The role alone does not make the credentials reachable: the instance needs IMDSv2
(`http_tokens = "required"`) and, when the agent runs in a container, a hop limit of 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import policies
from .role import RoleDocuments, RoleSpec, create_role

POLICY_NAME = "agent-permissions"
SSM_POLICY_NAME = "AmazonSSMManagedInstanceCore"


@dataclass(frozen=True)
class Ec2AgentInstanceProfileArgs:
    """One agent on EC2: its role (and the instance profile of the same name) and what it reads."""

    account_id: str
    region: str
    role: RoleSpec
    policy_arns: tuple[str, ...] = ()
    ssm: bool = False
    secret_arns: tuple[str, ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    policy: dict | None = None
    # aws:SourceAccount on the EC2 trust, which AWS documents without it (opt-in)
    source_account_condition: bool = False

    def roles(self) -> dict[str, tuple[RoleSpec, RoleDocuments]]:
        return {"instance role": (self.role, self.role_documents())}

    def attached_policy_arns(self) -> tuple[str, ...]:
        if not self.ssm:
            return self.policy_arns
        partition = policies.partition_for_region(self.region)
        return (*self.policy_arns, f"arn:{partition}:iam::aws:policy/{SSM_POLICY_NAME}")

    def role_documents(self) -> RoleDocuments:
        return RoleDocuments(
            trust=policies.ec2_trust(self.account_id, source_account=self.source_account_condition),
            inline_policy_name=POLICY_NAME,
            inline_policy=policies.with_statements(
                self.policy, policies.secrets_read_statements(self.secret_arns, self.kms_key_arns)
            ),
            attached_policy_arns=self.attached_policy_arns(),
        )


class Ec2AgentInstanceProfile(pulumi.ComponentResource):
    """An instance role trusted by EC2 and the instance profile that hands it to an instance."""

    def __init__(self, name: str, args: Ec2AgentInstanceProfileArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-iam:ec2:Ec2AgentInstanceProfile", name, None, opts)
        role = create_role(self, f"{name}-role", args.role, args.role_documents())
        # Protected with the role: deleting the profile takes the credentials away from running hosts.
        profile = aws.iam.InstanceProfile(
            f"{name}-instance-profile",
            name=args.role.name,
            path=args.role.path,
            role=role.name,
            tags=dict(args.role.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.role.protect),
        )
        # Attributes, not class annotations (see EcsAgentRoles).
        self.role_arn: pulumi.Output[str] = role.arn
        self.role_name: pulumi.Output[str] = role.name
        self.instance_profile_arn: pulumi.Output[str] = profile.arn
        self.instance_profile_name: pulumi.Output[str] = profile.name
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[str]]:
        """The stack output of this agent: what an EC2 launch template or an operator needs."""
        return {
            "roleArn": self.role_arn,
            "roleName": self.role_name,
            "instanceProfileArn": self.instance_profile_arn,
            "instanceProfileName": self.instance_profile_name,
        }
