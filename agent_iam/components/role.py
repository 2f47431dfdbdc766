"""The IAM role every component is built from: its settings, its documents, its limits,
and the one helper that registers a role with its inline policy and attachments.

Not a component of its own: each role adds exactly the AWS resources it needs
(role, at most one inline `RolePolicy`, at most one customer managed `Policy`, one
`RolePolicyAttachment` per managed policy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .policies import Document, minified_size

# IAM's default quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
DEFAULT_TRUST_POLICY_SIZE = 2048
MAX_TRUST_POLICY_SIZE = 8192
DEFAULT_ROLE_POLICIES_SIZE = 10240
DEFAULT_MANAGED_POLICIES_PER_ROLE = 10
MAX_MANAGED_POLICIES_PER_ROLE = 20
MANAGED_POLICY_SIZE = 6144


@dataclass(frozen=True)
class IamLimits:
    """The IAM quotas a stack's account has (raise them in `defaults.limits`)."""

    trust_policy_size: int = DEFAULT_TRUST_POLICY_SIZE
    role_policies_size: int = DEFAULT_ROLE_POLICIES_SIZE
    managed_policies_per_role: int = DEFAULT_MANAGED_POLICIES_PER_ROLE


@dataclass(frozen=True)
class RoleSpec:
    """Physical settings of one role; names are deterministic because vendors are handed ARNs."""

    name: str
    path: str = "/"
    description: str | None = None
    permissions_boundary_arn: str | None = None
    max_session_duration: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    protect: bool = False


@dataclass(frozen=True)
class RoleDocuments:
    """What a role is: who may assume it and what it may do."""

    trust: Document
    inline_policy_name: str | None = None
    inline_policy: Document | None = None
    # managed policies, attached with one RolePolicyAttachment each (never through the Role's
    # own deprecated managed-policy input, which would fight the attachments)
    attached_policy_arns: tuple[str, ...] = ()
    # A customer managed policy created for this role and attached to it (the Upsolver flow),
    # instead of or besides the inline one; its name is unique in the account.
    customer_policy_name: str | None = None
    customer_policy: Document | None = None

    def limit_problems(self, limits: IamLimits) -> list[str]:
        """IAM quota breaches, as sentences; empty when the role fits."""
        problems = []
        trust_size = minified_size(self.trust)
        if trust_size > limits.trust_policy_size:
            problems.append(
                f"trust policy is {trust_size} characters, over the {limits.trust_policy_size} IAM allows "
                "(an account with a raised quota sets defaults.limits.trustPolicySize)"
            )
        if self.inline_policy is not None:
            size = minified_size(self.inline_policy)
            if size > limits.role_policies_size:
                problems.append(
                    f"inline policy is {size} characters, over the {limits.role_policies_size} IAM allows "
                    "per role (defaults.limits.rolePoliciesSize)"
                )
        if self.customer_policy is not None:
            size = minified_size(self.customer_policy)
            if size > MANAGED_POLICY_SIZE:
                problems.append(
                    f"customer managed policy is {size} characters, over the {MANAGED_POLICY_SIZE} IAM allows "
                    "for a managed policy (split it, or move part of it to policyArns)"
                )
        count = len(self.attached_policy_arns) + (self.customer_policy is not None)
        if count > limits.managed_policies_per_role:
            problems.append(
                f"{count} managed policies attached, over the {limits.managed_policies_per_role} IAM allows "
                "per role (defaults.limits.managedPoliciesPerRole)"
            )
        return problems


def policy_json(doc: Mapping[str, Any]) -> str:
    """The exact JSON sent to IAM: stable key order, compact."""
    return json.dumps(doc, indent=None, separators=(",", ":"))


def managed_policy_key(arn: str) -> str:
    """A stable attachment key from a policy ARN (its name), never a list index."""
    return arn.rsplit("/", 1)[-1]


def create_role(
    parent: pulumi.Resource,
    logical_name: str,
    spec: RoleSpec,
    docs: RoleDocuments,
    *,
    secret_trust: bool = False,
    trust_json: pulumi.Input[str] | None = None,
    provider: pulumi.ProviderResource | None = None,
    depends_on: pulumi.Input[Any] | None = None,
) -> aws.iam.Role:
    """Register a role, its inline policy and its managed-policy attachments under `parent`.

    Children are named `<logical_name>`, `<logical_name>-<policy>`, so renaming the parent
    with an alias carries them along. `trust_json` replaces `docs.trust` when the trust
    needs another resource's output (an OIDC provider's ARN, an association's external ID);
    `provider` creates the role in another account than the parent's; `depends_on` orders the
    role after resources its trust names (an OIDC provider registered in the same program).
    """
    if trust_json is None:
        trust_json = policy_json(docs.trust)
    if secret_trust:
        trust_json = pulumi.Output.secret(trust_json)
    role = aws.iam.Role(
        logical_name,
        name=spec.name,
        path=spec.path,
        description=spec.description,
        assume_role_policy=trust_json,
        permissions_boundary=spec.permissions_boundary_arn,
        max_session_duration=spec.max_session_duration,
        tags=dict(spec.tags),
        opts=pulumi.ResourceOptions(parent=parent, protect=spec.protect, provider=provider, depends_on=depends_on),
    )
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    if docs.inline_policy is not None and docs.inline_policy_name:
        aws.iam.RolePolicy(
            f"{logical_name}-{docs.inline_policy_name}",
            role=role.name,
            name=docs.inline_policy_name,
            policy=policy_json(docs.inline_policy),
            opts=child,
        )
    if docs.customer_policy is not None and docs.customer_policy_name:
        policy = aws.iam.Policy(
            f"{logical_name}-{docs.customer_policy_name}",
            name=docs.customer_policy_name,
            path=spec.path,
            description=f"Permissions of role {spec.name} (agent-iam)",
            policy=policy_json(docs.customer_policy),
            tags=dict(spec.tags),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{logical_name}-{docs.customer_policy_name}",
            role=role.name,
            policy_arn=policy.arn,
            opts=child,
        )
    for arn in docs.attached_policy_arns:
        aws.iam.RolePolicyAttachment(
            f"{logical_name}-{managed_policy_key(arn)}",
            role=role.name,
            policy_arn=arn,
            opts=child,
        )
    return role
