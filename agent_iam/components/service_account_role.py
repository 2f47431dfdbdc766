"""Service account role: an IAM role for a Kubernetes service account on EKS, through IRSA or
EKS Pod Identity, and the Kubernetes objects that go with it.

- **irsa**: the role trusts the cluster's OIDC provider in the role's account (one statement
  per cluster) for `system:serviceaccount:<namespace>:<name>` with audience `sts.amazonaws.com`.
- **pod-identity**: the role trusts `pods.eks.amazonaws.com` from the cluster's account, narrowed
  by Pod Identity's session tags; a `PodIdentityAssociation` in the cluster's account binds it.
  Across accounts the association's role (in the cluster's account) chains to a target role,
  which holds the permissions and trusts only that role with the association's external ID.

Kubernetes objects (the service account, a Secret with `AWS_REGION`/`AWS_ROLE_ARN`) are created
through the cluster's Kubernetes provider, which `__main__.py` builds and passes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from . import policies
from .role import RoleDocuments, RoleSpec, create_role, policy_json

POLICY_NAME = "service-account-access"
CHAIN_POLICY_NAME = "assume-target-role"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGED_BY_LABEL = {"app.kubernetes.io/managed-by": "agent-iam"}
# Stands in for the association's external ID (known only after it exists) in limit checks.
EXTERNAL_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class IrsaCluster:
    """One cluster's OIDC provider in the role's account and the service accounts it vouches for."""

    cluster: str
    issuer: str  # host/path, no scheme
    provider_arn: str  # known ARN; a registration's output replaces it (`oidc_provider_arns`)
    subjects: tuple[str, ...]  # system:serviceaccount:<namespace>:<name>
    wildcard: bool = False


@dataclass(frozen=True)
class PodIdentity:
    """The association: which cluster and service account, and (cross-account) the chained role."""

    cluster_name: str
    cluster_account_id: str
    namespace: str
    service_account: str
    session_tag_conditions: bool = True
    source_role: RoleSpec | None = None  # cross-account: the association's role, in the cluster's account
    # aws:SourceAccount (the cluster's account) on the trust, which AWS documents without it (opt-in)
    source_account_condition: bool = False

    def trust(self) -> policies.Document:
        if not self.session_tag_conditions:
            return policies.pod_identity_trust(self.cluster_account_id, source_account=self.source_account_condition)
        return policies.pod_identity_trust(
            self.cluster_account_id,
            cluster_name=self.cluster_name,
            namespace=self.namespace,
            service_account=self.service_account,
            source_account=self.source_account_condition,
        )


@dataclass(frozen=True)
class KubernetesObject:
    """A namespaced object agent-iam creates in one cluster."""

    cluster: str
    namespace: str
    name: str
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceAccountRoleArgs:
    """A role for service accounts: its trust (IRSA or Pod Identity), permissions and Kubernetes objects."""

    mode: str  # "irsa" | "pod-identity"
    account_id: str  # the (target) role's account
    region: str  # that account's region: AWS_REGION in the Secret
    role: RoleSpec
    namespace: str
    service_account: str
    irsa: tuple[IrsaCluster, ...] = ()
    pod_identity: PodIdentity | None = None
    create_service_account: bool = True
    role_arn_annotation: bool = True
    service_accounts: tuple[KubernetesObject, ...] = ()  # ServiceAccounts to create
    secret: KubernetesObject | None = None
    s3_read: tuple[tuple[str, str | None], ...] = ()
    s3_write: tuple[tuple[str, str | None], ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    policy_arns: tuple[str, ...] = ()
    policy: dict | None = None
    # Registered providers' ARN outputs by cluster (set by __main__.py); the trust then depends on them.
    oidc_provider_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    @property
    def partition(self) -> str:
        return policies.partition_for_region(self.region)

    @property
    def cross_account_pod_identity(self) -> bool:
        return self.pod_identity is not None and self.pod_identity.source_role is not None

    @property
    def role_arn(self) -> str:
        """The role's ARN, computed: the association needs the target's before the target exists."""
        return policies.role_arn(self.partition, self.account_id, self.role.path, self.role.name)

    @property
    def source_role_arn(self) -> str | None:
        pod = self.pod_identity
        if pod is None or pod.source_role is None:
            return None
        return policies.role_arn(self.partition, pod.cluster_account_id, pod.source_role.path, pod.source_role.name)

    def irsa_trust(self, provider_arns: Sequence[str] | None = None) -> policies.Document:
        arns = provider_arns or [c.provider_arn for c in self.irsa]
        return policies.irsa_trust(
            [(c.cluster, arn, c.issuer, c.subjects, c.wildcard) for c, arn in zip(self.irsa, arns, strict=True)]
        )

    def trust(
        self, source_role_arn: str | None = None, external_id: str = EXTERNAL_ID_PLACEHOLDER
    ) -> policies.Document:
        """The role's trust; for a cross-account target role, from the association's role and external ID."""
        if self.pod_identity is None:
            return self.irsa_trust()
        if self.pod_identity.source_role is None:
            return self.pod_identity.trust()
        return policies.pod_identity_target_trust(source_role_arn or self.source_role_arn or "", external_id)

    def permissions(self) -> policies.Document | None:
        return policies.permissions_document(
            self.partition, self.policy, self.s3_read, self.s3_write, self.kms_key_arns
        )

    def role_documents(self) -> RoleDocuments:
        return RoleDocuments(
            trust=self.trust(),
            inline_policy_name=POLICY_NAME,
            inline_policy=self.permissions(),
            attached_policy_arns=self.policy_arns,
        )

    def source_role_documents(self) -> RoleDocuments:
        assert self.pod_identity is not None
        return RoleDocuments(
            trust=self.pod_identity.trust(),
            inline_policy_name=CHAIN_POLICY_NAME,
            inline_policy=policies.assume_target_role_policy(self.role_arn),
        )

    def roles(self) -> dict[str, tuple[RoleSpec, RoleDocuments]]:
        roles = {"role": (self.role, self.role_documents())}
        if self.cross_account_pod_identity:
            assert self.pod_identity is not None and self.pod_identity.source_role is not None
            roles["Pod Identity role"] = (self.pod_identity.source_role, self.source_role_documents())
        return roles

    def role_accounts(self) -> dict[str, str]:
        """The account each role of `roles()` is created in."""
        accounts = {"role": self.account_id}
        if self.cross_account_pod_identity:
            assert self.pod_identity is not None
            accounts["Pod Identity role"] = self.pod_identity.cluster_account_id
        return accounts

    def role_arn_annotations(self, role_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        return {ROLE_ARN_ANNOTATION: role_arn} if self.mode == "irsa" and self.role_arn_annotation else {}


class ServiceAccountRole(pulumi.ComponentResource):
    """A role for Kubernetes service accounts (IRSA or Pod Identity) and its Kubernetes objects.

    `kubernetes` maps cluster keys to their Kubernetes providers; `cluster_provider` is the AWS
    provider of the cluster's account (Pod Identity association, cross-account source role);
    the role itself is created through the component's own AWS provider (the role's account).
    """

    def __init__(
        self,
        name: str,
        args: ServiceAccountRoleArgs,
        *,
        kubernetes: Mapping[str, pulumi.ProviderResource] | None = None,
        cluster_provider: pulumi.ProviderResource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("agent-iam:eks:ServiceAccountRole", name, None, opts)
        self._outputs: dict[str, Any] = {"mode": args.mode}
        if args.pod_identity is None:
            role = self._irsa_role(name, args)
        elif args.pod_identity.source_role is None:
            role = create_role(self, f"{name}-role", args.role, args.role_documents())
            self._association(name, args, role.arn, cluster_provider)
        else:
            role = self._chained_roles(name, args, cluster_provider)
        self.role_arn: pulumi.Output[str] = role.arn
        self.role_name: pulumi.Output[str] = role.name
        self._kubernetes_objects(name, args, kubernetes or {})
        self.helm_values: dict[str, Any] | None = self._helm_values(args)
        self.register_outputs(self.outputs())

    def _irsa_role(self, name: str, args: ServiceAccountRoleArgs) -> aws.iam.Role:
        arns = [args.oidc_provider_arns.get(c.cluster, c.provider_arn) for c in args.irsa]
        trust = pulumi.Output.all(*arns).apply(lambda resolved: policy_json(args.irsa_trust(resolved)))
        return create_role(self, f"{name}-role", args.role, args.role_documents(), trust_json=trust)

    def _association(
        self,
        name: str,
        args: ServiceAccountRoleArgs,
        role_arn: pulumi.Input[str],
        cluster_provider: pulumi.ProviderResource | None,
        target_role_arn: str | None = None,
    ) -> aws.eks.PodIdentityAssociation:
        pod = args.pod_identity
        assert pod is not None
        association = aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=pod.cluster_name,
            namespace=pod.namespace,
            service_account=pod.service_account,
            role_arn=role_arn,
            target_role_arn=target_role_arn,
            tags=dict(args.role.tags),
            opts=pulumi.ResourceOptions(parent=self, provider=cluster_provider),
        )
        self._outputs["associationArn"] = association.association_arn
        self._outputs["associationId"] = association.association_id
        return association

    def _chained_roles(
        self, name: str, args: ServiceAccountRoleArgs, cluster_provider: pulumi.ProviderResource | None
    ) -> aws.iam.Role:
        """Cross-account Pod Identity: source role, association (target ARN computed), then the
        target role, whose trust waits for the association's external ID. No cycle."""
        pod = args.pod_identity
        assert pod is not None and pod.source_role is not None
        source = create_role(
            self, f"{name}-pod-identity-role", pod.source_role, args.source_role_documents(), provider=cluster_provider
        )
        association = self._association(name, args, source.arn, cluster_provider, target_role_arn=args.role_arn)
        trust = pulumi.Output.all(source.arn, association.external_id).apply(
            lambda values: policy_json(args.trust(source_role_arn=values[0], external_id=values[1]))
        )
        self._outputs["sourceRoleArn"] = source.arn
        return create_role(self, f"{name}-role", args.role, args.role_documents(), trust_json=trust)

    def _kubernetes_objects(
        self, name: str, args: ServiceAccountRoleArgs, kubernetes: Mapping[str, pulumi.ProviderResource]
    ) -> None:
        for sa in args.service_accounts:
            k8s.core.v1.ServiceAccount(
                f"{name}-sa-{sa.cluster}/{sa.namespace}/{sa.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=sa.name,
                    namespace=sa.namespace,
                    labels=MANAGED_BY_LABEL,
                    annotations={**sa.annotations, **args.role_arn_annotations(self.role_arn)} or None,
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=kubernetes[sa.cluster]),
            )
        if args.secret is not None:
            secret = args.secret
            k8s.core.v1.Secret(
                f"{name}-secret",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=secret.name, namespace=secret.namespace, labels=MANAGED_BY_LABEL
                ),
                type="Opaque",
                string_data={"AWS_REGION": args.region, "AWS_ROLE_ARN": self.role_arn},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=kubernetes[secret.cluster],
                    additional_secret_outputs=["data", "stringData"],
                ),
            )
            self._outputs["secretName"] = secret.name

    def _helm_values(self, args: ServiceAccountRoleArgs) -> dict[str, Any] | None:
        """A chart's `serviceAccount` values: created by the chart only when agent-iam does not.
        None when the entry's subject is a pattern (no one service account to name)."""
        if any(w in args.namespace + args.service_account for w in "*?"):
            return None
        service_account: dict[str, Any] = {"create": not args.create_service_account, "name": args.service_account}
        annotations = args.role_arn_annotations(self.role_arn)
        if annotations:
            service_account["annotations"] = annotations
        return {"serviceAccount": service_account}

    def outputs(self) -> dict[str, Any]:
        """Stack output: role ARN and name, mode, the chart values, and the association when there is one."""
        outputs = {"roleArn": self.role_arn, "roleName": self.role_name, **self._outputs}
        if self.helm_values is not None:
            outputs["helmValues"] = self.helm_values
        return outputs
