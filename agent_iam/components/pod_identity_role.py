"""Pod Identity role: an IAM role for one Kubernetes service account on EKS through EKS Pod Identity.

The role trusts `pods.eks.amazonaws.com` from the cluster's account, narrowed by Pod Identity's
session tags; a `PodIdentityAssociation` in the cluster's account binds it to the service account.
Across accounts the association's own role (in the cluster's account) chains to this role, which
holds the permissions and trusts only that role with the association's external ID.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from typing import Any, Optional, Required

import pulumi
import pulumi_aws as aws

from agent_iam.iam import checks, resource_types

from . import policies
from ._contract import Problem, check_value
from ._service_account import (
    SERVICE_ACCOUNT_ROLE, ServiceAccountArgs, ServiceAccountComponent, ServiceAccountOutputs, ServiceAccountPlan,
)
from .base import RoleSlot, role_name
from .role import Policy, RoleDocuments, RoleSpec, create_role

MODE = "pod-identity"
CHAIN_POLICY_NAME = "assume-target-role"
# Stands in for the association's external ID (known only after it exists) in limit checks.
EXTERNAL_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


class PodIdentityRoleArgs(ServiceAccountArgs, total=False):
    """A role one service account gets through an EKS Pod Identity association."""

    account_id: Required[str]
    """The 12-digit account the role is created in (its ARN is set on the association). Required."""
    eks_cluster_name: str
    """The EKS cluster's name (the association, the session tags). Default: `cluster`."""
    cluster_account_id: str
    """The cluster's account. When it differs from `accountId`, the association's own role is created there
    (through the `cluster_provider`) and chains to this role. Default: `accountId`."""
    source_role_name: str
    """Cross-account: the name of the association's role. Default: `<name>-pod-identity`."""
    source_role_permissions_boundary_arn: str
    """Cross-account: a permissions boundary for the association's role. Default: none."""
    session_tag_conditions: bool
    """Narrow the trust to this cluster, namespace and service account through the session tags Pod Identity
    sets (the conditions AWS documents for this trust). Default: true."""
    source_account_condition: bool
    """Also pin `aws:SourceAccount` (the cluster's account), which AWS's Pod Identity page does not document:
    an opt-in, since a condition on a key the service does not send fails closed. Default: false."""


class PodIdentityRoleOutputs(ServiceAccountOutputs):
    """What a PodIdentityRole hands out (the outputs every role for service accounts has; the stack output
    adds the association's ARN and ID, and the source role's ARN across accounts)."""


def association_name(name: str) -> str:
    return f"{name}-association"


class PodIdentityRolePlan(ServiceAccountPlan, args=PodIdentityRoleArgs):
    """The checked Args with their defaults applied: the role(s), the trust and the association."""

    MODE = MODE

    def problems(self) -> list[Problem]:
        args = self.args
        problems = super().problems()
        if args.get("cluster_account_id") is not None:
            problems += check_value("cluster_account_id", args["cluster_account_id"], checks.check_account_id)
        if args.get("eks_cluster_name") is not None:
            problems += check_value("eks_cluster_name", args["eks_cluster_name"], checks.check_eks_cluster_name)
        own = self.service_account
        for key, value in (("namespace", own.namespace), ("service_account", own.name)):
            if checks.has_wildcard(value):
                problems.append(Problem(key, f"Pod Identity associates one exact service account, not a pattern: {value!r}"))
        if problems:
            return problems
        path = args.get("path") or "/"
        if path != "/":
            return [Problem("path", f"EKS Pod Identity needs roles at path '/', got {path!r}; set {{path}} to '/'")]
        self.account_id = args["account_id"]
        self.cluster_account_id = args.get("cluster_account_id") or self.account_id
        self.cross_account = self.cluster_account_id != self.account_id
        if self.cross_account:
            self.source_name, problems = role_name(self.name, args, "source_role_name", "pod-identity")
            return problems
        return [
            Problem(
                field_name,
                "only for cross-account Pod Identity (an account other than the cluster's "
                f"{self.cluster_account_id}); remove it",
            )
            for field_name in ("source_role_name", "source_role_permissions_boundary_arn")
            if args.get(field_name)
        ]

    @property
    def cluster(self) -> str:
        return self.args.get("cluster") or self.args.get("eks_cluster_name") or "cluster"

    @property
    def eks_cluster_name(self) -> str:
        return self.args.get("eks_cluster_name") or self.cluster

    def role_slots(self) -> list[RoleSlot]:
        role = self.role()
        slots = [RoleSlot("role", role, self.account_id)]
        if self.cross_account:
            source = RoleSpec(
                name=self.source_name,
                path="/",
                description=f"EKS Pod Identity role of {self.name}, chaining to {role.name} (agent-iam)",
                permissions_boundary_arn=self.args.get("source_role_permissions_boundary_arn"),
                max_session_duration=role.max_session_duration,
                tags=role.tags,
                protect=role.protect,
            )
            slots.append(
                RoleSlot(
                    "Pod Identity role", source, self.cluster_account_id,
                    boundary_field="source_role_permissions_boundary_arn", suffix="pod-identity-role", arns_field="",
                )
            )
        return slots

    def role_arn(self) -> str:
        """The role's ARN, computed: the association needs the target's before the target exists."""
        return policies.role_arn(self.partition, self.account_id, "/", self.slots[0].spec.name)

    def source_role_arn(self) -> str:
        return policies.role_arn(self.partition, self.cluster_account_id, "/", self.slots[1].spec.name)

    def pod_identity_trust(self) -> policies.Document:
        source_account = bool(self.args.get("source_account_condition"))
        if self.args.get("session_tag_conditions") is False:
            return policies.pod_identity_trust(self.cluster_account_id, source_account=source_account)
        return policies.pod_identity_trust(
            self.cluster_account_id,
            cluster_name=self.eks_cluster_name,
            namespace=self.service_account.namespace,
            service_account=self.service_account.name,
            source_account=source_account,
        )

    def target_trust(self, source_role_arn: str, external_id: str) -> policies.Document:
        return policies.pod_identity_target_trust(source_role_arn, external_id)

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        """The role's documents (across accounts, its trust with the association's external ID standing in),
        then the association's own role's."""
        attached = tuple(values.get("policy_arns") or ())
        if not self.cross_account:
            return [RoleDocuments(self.pod_identity_trust(), self.permissions(values), attached)]
        role = RoleDocuments(self.target_trust(self.source_role_arn(), EXTERNAL_ID_PLACEHOLDER), self.permissions(values), attached)
        chain = policies.assume_target_role_policy(self.role_arn())
        return [role, RoleDocuments(self.pod_identity_trust(), (Policy(CHAIN_POLICY_NAME, chain),))]

    def layout(self) -> list[RoleDocuments]:
        role = RoleDocuments(None, self.permissions_layout(), tuple(self.args.get("policy_arns") or ()))
        return [role, RoleDocuments(None, (Policy(CHAIN_POLICY_NAME, None),))] if self.cross_account else [role]

    def other_resources(self, name: str) -> list[tuple[str, str]]:
        return [(resource_types.POD_IDENTITY_ASSOCIATION, association_name(name)), *super().other_resources(name)]

    def advisories(self) -> list[Problem]:
        advice = super().advisories()
        if self.args.get("session_tag_conditions") is False:
            advice.append(
                Problem(
                    "",
                    f"the role {self.role_name!r} trusts EVERY Pod Identity association in account "
                    f"{self.cluster_account_id}, not only {self.service_account.namespace}/{self.service_account.name} on "
                    f"cluster {self.eks_cluster_name} ({{session_tag_conditions}}: false)",
                )
            )
        return advice


class PodIdentityRole(
    ServiceAccountComponent, PodIdentityRoleOutputs, plan=PodIdentityRolePlan, module="eks",
    former_types=(SERVICE_ACCOUNT_ROLE,),
):
    """A role one Kubernetes service account gets through an EKS Pod Identity association (created here,
    in the cluster's account), and its Kubernetes objects.

    `kubernetes` maps cluster keys to their Kubernetes providers (default: the component's own);
    `cluster_provider` is the AWS provider of the cluster's account (the association, the cross-account
    source role); the role itself is created through the component's own AWS provider. Bad Args raise an
    `ArgsError` naming the field before anything is registered. Registered before as
    `agent-iam:eks:ServiceAccountRole` (`mode: pod-identity`): that type is an alias, so a stack that had
    one keeps its resources."""

    def __init__(self, name: str, args: PodIdentityRoleArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 plan: Optional[PodIdentityRolePlan] = None, kubernetes: Optional[Mapping[str, pulumi.ProviderResource]] = None,
                 cluster_provider: Optional[pulumi.ProviderResource] = None):
        super().__init__(name, args, opts, plan=plan, kubernetes=kubernetes, cluster_provider=cluster_provider)

    def _register(self, name: str, plan: PodIdentityRolePlan) -> None:
        if not plan.cross_account:
            (role,) = self._register_roles(name, plan)
            register_association(self, name, plan, role.arn)
        else:
            role = register_chained_roles(self, name, plan, self._documents(plan))
        self.mode, self.role_arn, self.role_name = MODE, role.arn, role.name
        self._kubernetes_objects(name, plan)


def register_association(
    component: ServiceAccountComponent,
    name: str,
    plan: PodIdentityRolePlan,
    role_arn: pulumi.Input[str],
    target_role_arn: Optional[pulumi.Input[str]] = None,
) -> aws.eks.PodIdentityAssociation:
    """The association, in the cluster's account (the component's `cluster_provider`)."""
    association = aws.eks.PodIdentityAssociation(
        association_name(name),
        cluster_name=plan.eks_cluster_name,
        namespace=plan.service_account.namespace,
        service_account=plan.service_account.name,
        role_arn=role_arn,
        target_role_arn=target_role_arn,
        tags=dict(plan.slots[0].spec.tags),
        opts=pulumi.ResourceOptions(parent=component, provider=component._cluster_provider),
    )
    component._extra["associationArn"] = association.association_arn
    component._extra["associationId"] = association.association_id
    return association


def register_chained_roles(
    component: ServiceAccountComponent, name: str, plan: PodIdentityRolePlan, documents: list[RoleDocuments]
) -> aws.iam.Role:
    """Cross-account: the source role, the association (the target's ARN computed), then the target role,
    whose trust waits for the association's external ID. No cycle."""
    role, chain = documents
    role_slot, source_slot = plan.slots
    role_layout, chain_layout = plan.layout()
    source = create_role(
        component,
        source_slot.resource_name(name),
        source_slot.spec,
        chain,
        provider=component._cluster_provider,
        depends_on=component._waits_for,
        layout=chain_layout,
    )
    target_role_arn = component._regional_value(lambda regional: regional.role_arn())  # the roles' partition
    association = register_association(component, name, plan, source.arn, target_role_arn=target_role_arn)
    trust = pulumi.Output.all(source.arn, association.external_id).apply(lambda values: plan.target_trust(*values))
    component._extra["sourceRoleArn"] = source.arn
    registered = RoleDocuments(trust, role.policies, role.attached_policy_arns)
    return create_role(
        component, role_slot.resource_name(name), role_slot.spec, registered, depends_on=component._waits_for, layout=role_layout
    )
