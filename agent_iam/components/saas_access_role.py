"""SaaS access role: a role in the customer's account that a vendor's control plane assumes.

Trust is narrowed with `sts:ExternalId` and/or `aws:PrincipalArn` patterns; the
permissions (S3 locations, KMS keys, an extra policy) go into one inline policy, or
into one customer managed policy attached to the role when the vendor's flow asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from . import policies
from .role import RoleDocuments, RoleSpec, create_role

POLICY_NAME = "vendor-access"

S3Location = tuple[str, str | None]  # (bucket, prefix or None for the whole bucket)


@dataclass(frozen=True)
class SaasAccessRoleArgs:
    """One vendor's access: who may assume the role, on what condition, and what it may do."""

    region: str
    role: RoleSpec
    principal_arn: str  # a vendor role, or the vendor account's root
    external_id: str | None = None
    external_id_secret: bool = False
    principal_arn_patterns: tuple[str, ...] = ()
    s3_read: tuple[S3Location, ...] = ()
    s3_write: tuple[S3Location, ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    policy_arns: tuple[str, ...] = ()
    policy: dict | None = None
    customer_managed_policy: bool = False

    def roles(self) -> dict[str, tuple[RoleSpec, RoleDocuments]]:
        return {"role": (self.role, self.role_documents())}

    def permissions(self) -> policies.Document | None:
        return policies.permissions_document(
            policies.partition_for_region(self.region), self.policy, self.s3_read, self.s3_write, self.kms_key_arns
        )

    def role_documents(self) -> RoleDocuments:
        trust = policies.vendor_trust(
            self.principal_arn, external_id=self.external_id, principal_arn_patterns=self.principal_arn_patterns
        )
        permissions = self.permissions()
        if self.customer_managed_policy:
            return RoleDocuments(
                trust=trust,
                customer_policy_name=f"{self.role.name}-{POLICY_NAME}",
                customer_policy=permissions,
                attached_policy_arns=self.policy_arns,
            )
        return RoleDocuments(
            trust=trust,
            inline_policy_name=POLICY_NAME,
            inline_policy=permissions,
            attached_policy_arns=self.policy_arns,
        )


class SaasAccessRole(pulumi.ComponentResource):
    """A cross-account role for one SaaS vendor, and the hand-off its console asks for."""

    def __init__(self, name: str, args: SaasAccessRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-iam:saas:SaasAccessRole", name, None, opts)
        role = create_role(
            self, f"{name}-role", args.role, args.role_documents(), secret_trust=args.external_id_secret
        )
        # Attributes, not class annotations (see EcsAgentRoles).
        self.role_arn: pulumi.Output[str] = role.arn
        self.role_name: pulumi.Output[str] = role.name
        # A secret output either way: a stack output is easy to paste where it should not go.
        self.external_id: pulumi.Output[str] | None = (
            pulumi.Output.secret(args.external_id) if args.external_id else None
        )
        # Exactly what the vendor's console asks for: the role ARN, and the external ID when there is one.
        self.handoff: dict[str, pulumi.Output[str]] = {"roleArn": self.role_arn}
        if self.external_id is not None:
            self.handoff["externalId"] = self.external_id
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, Any]:
        """The stack output of this role: ARN, name, external ID (secret, when set) and the hand-off."""
        outputs: dict[str, Any] = {"roleArn": self.role_arn, "roleName": self.role_name}
        if self.external_id is not None:
            outputs["externalId"] = self.external_id
        return {**outputs, "handoff": self.handoff}
