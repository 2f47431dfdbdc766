"""What a role for Kubernetes service accounts on EKS shares, through IRSA (`IrsaRole`) or EKS Pod
Identity (`PodIdentityRole`): the service account fields and their checks, the one form of a service
account (`ServiceAccountRef`), and the Kubernetes objects and chart values that go with the role.

Kubernetes objects (the service account, a Secret with `AWS_REGION`/`AWS_ROLE_ARN`) are created
through the cluster's Kubernetes provider: `kubernetes={cluster: provider}`, or the component's own.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Required

import pulumi

from agent_iam.iam import checks, issuers

from ._contract import Problem, check_list, check_value
from .base import (
    check_managed_policy_arn,
    OneRoleArgs, RoleComponent, RolePlan, S3Args, has_permissions, policy_advisory, policy_problems, role_name,
    role_spec, s3_permissions, s3_problems,
)
from .role import Policy

POLICY_NAME = "service-account-access"
SERVICE_ACCOUNT_ROLE = "agent-iam:eks:ServiceAccountRole"  # both modes' type before IrsaRole and PodIdentityRole
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGED_BY_LABEL = {"app.kubernetes.io/managed-by": "agent-iam"}


@dataclass(frozen=True)
class ServiceAccountRef:
    """A Kubernetes service account (or, for IRSA with `allow_wildcard_subject`, a pattern of them) in one
    cluster: the one form every part of agent-iam reads and writes it in."""

    cluster: str
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """The `sub` claim of its tokens: `system:serviceaccount:<namespace>:<name>`."""
        return issuers.service_account_subject(self.namespace, self.name)

    @property
    def wildcard(self) -> bool:
        """Whether the namespace or the name is a pattern (`*`, `?`)."""
        return checks.has_wildcard(self.namespace) or checks.has_wildcard(self.name)

    def __str__(self) -> str:
        return f"{self.cluster}/{self.namespace}/{self.name}"


SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SECRET = "kubernetes:core/v1:Secret"


def service_account_resource_name(name: str, ref: ServiceAccountRef) -> str:
    return f"{name}-sa-{ref}"


def secret_resource_name(name: str) -> str:
    return f"{name}-secret"


class ServiceAccountArgs(OneRoleArgs, S3Args, total=False):
    """A role for a Kubernetes service account: which one, the Kubernetes objects agent-iam creates for
    it, and what the role may do."""

    namespace: Required[str]
    """The service account's namespace (IRSA: a pattern with `*`/`?` only with `allowWildcardSubject`). Required."""
    service_account: Required[str]
    """The service account's name (IRSA: a pattern with `*`/`?` only with `allowWildcardSubject`). Required."""
    cluster: str
    """The cluster's key: names the Kubernetes provider to use from `kubernetes` (IRSA: the trust statement,
    `Irsa<Cluster>`; Pod Identity: the EKS cluster unless `eksClusterName` is set). Default: `cluster`."""
    create_service_account: bool
    """Create the ServiceAccount objects (through the Kubernetes provider); false when a chart creates them
    (the `helmValues` output says how). Default: true."""
    secret_name: str
    """Also create a Secret of this name with `AWS_REGION` and `AWS_ROLE_ARN`. Default: none."""
    secret_namespace: str
    """The Secret's namespace. Default: `namespace`."""


class ServiceAccountOutputs:
    """What a role for service accounts hands out (annotated here, not on the component: the SDK resolves a
    component class's own annotations on every registration; the schema analyzer reads them through the MRO)."""

    role_arn: pulumi.Output[str]
    """The role's ARN."""
    role_name: pulumi.Output[str]
    """The role's name."""
    mode: pulumi.Output[str]
    """`irsa` or `pod-identity`."""
    helm_values: Optional[pulumi.Output[dict[str, Any]]]
    """A chart's `serviceAccount` values (`create`, `name`, the role annotation); none for a wildcard subject."""


class ServiceAccountPlan(RolePlan, family="serviceAccounts"):
    """What both modes check and work out: the role's name and settings, the service accounts, the
    Secret, the permissions (one inline document), and the chart values."""

    MODE = ""

    def problems(self) -> list[Problem]:
        args = self.args
        self.role_name, problems = role_name(self.name, args, "role_name", "")
        problems += super().problems() + s3_problems(args)
        problems += check_list("policy_arns", args.get("policy_arns") or [], check_managed_policy_arn)
        problems += policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))
        if args.get("secret_name") is not None:
            problems += check_value("secret_name", args["secret_name"], checks.check_k8s_object_name)
        if args.get("secret_namespace") is not None:
            problems += check_value("secret_namespace", args["secret_namespace"], checks.check_namespace)
            if checks.has_wildcard(args["secret_namespace"]):
                problems.append(
                    Problem("secret_namespace", f"a Secret lives in one namespace, not a pattern: {args['secret_namespace']!r}")
                )
        for prefix, ref in self.service_accounts():
            problems += check_value(f"{prefix}namespace", ref.namespace, checks.check_namespace)
            problems += check_value(f"{prefix}service_account", ref.name, checks.check_service_account_name)
        return problems

    def preset_args(self, preset: Any, args: dict[str, Any]) -> dict[str, Any]:
        """The AWS managed policies the vendor asks for, attached by ARN in the role's partition, before the Args' own
        (its published documents are placed with `policy_documents`)."""
        from agent_iam import presets

        arns = presets.policy_arns(preset, self.partition)
        if arns:
            args["policy_arns"] = list(dict.fromkeys([*arns, *(args.get("policy_arns") or [])]))
        return args

    @property
    def cluster(self) -> str:
        return self.args.get("cluster") or "cluster"

    def service_accounts(self) -> list[tuple[str, ServiceAccountRef]]:
        """`(field prefix, service account)` of the role's own and (IRSA) its `subjects`."""
        return [("", ServiceAccountRef(self.cluster, self.args.get("namespace", ""), self.args.get("service_account", "")))]

    @property
    def service_account(self) -> ServiceAccountRef:
        """The role's own service account (the association's, the chart's)."""
        return self.service_accounts()[0][1]

    @property
    def wildcard(self) -> bool:
        return any(ref.wildcard for _, ref in self.service_accounts())

    def role(self) -> Any:
        return role_spec(self.args, self.role_name, f"Role of Kubernetes service account {self.name} (agent-iam)")

    def permissions(self, values: Mapping[str, Any]) -> tuple[Policy, ...]:
        document = s3_permissions(values, self.region)
        return (Policy(POLICY_NAME, document),) if document else ()

    def permissions_layout(self) -> tuple[Policy, ...]:
        return (Policy(POLICY_NAME, None),) if has_permissions(self.args) else ()

    def resolved_problems(self, values: dict[str, Any]) -> list[Problem]:
        return super().resolved_problems(values) + s3_problems(values)

    def other_resources(self, name: str) -> list[tuple[str, str]]:
        """The ServiceAccount objects and the Secret."""
        objects = []
        if self.args.get("create_service_account", True):
            objects += [(SERVICE_ACCOUNT, service_account_resource_name(name, ref)) for _, ref in self.service_accounts()]
        if self.args.get("secret_name"):
            objects.append((SECRET, secret_resource_name(name)))
        return objects

    def advisories(self) -> list[Problem]:
        return policy_advisory(self.args, f"the role {self.role_name!r}")

    def role_arn_annotations(self, role_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        return {}

    def helm_values(self, role_arn: pulumi.Input[str]) -> Optional[dict[str, Any]]:
        """A chart's `serviceAccount` values: created by the chart only when agent-iam does not.
        None when the subject is a pattern (no one service account to name)."""
        own = self.service_account
        if own.wildcard:
            return None
        service_account: dict[str, Any] = {"create": not self.args.get("create_service_account", True), "name": own.name}
        annotations = self.role_arn_annotations(role_arn)
        if annotations:
            service_account["annotations"] = annotations
        return {"serviceAccount": service_account}


class ServiceAccountComponent(RoleComponent):
    """Registers what both modes create besides their roles: the ServiceAccount objects and the Secret,
    through the Kubernetes provider of each cluster (`kubernetes`, else the component's own)."""

    def __init__(
        self,
        name: str,
        args: Any,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        plan: Any = None,
        kubernetes: Optional[Mapping[str, pulumi.ProviderResource]] = None,
        cluster_provider: Optional[pulumi.ProviderResource] = None,
    ):
        self._kubernetes = dict(kubernetes or {})
        self._cluster_provider = cluster_provider
        self._extra: dict[str, Any] = {}
        super().__init__(name, args, opts, plan=plan)

    def _prepare(self, name: str, plan: ServiceAccountPlan) -> None:
        """`pulumi_kubernetes` (the `eks` extra) when the component creates Kubernetes objects."""
        self._k8s: Any = None
        if not (plan.args.get("create_service_account", True) or plan.args.get("secret_name")):
            return
        try:
            import pulumi_kubernetes
        except ImportError as error:
            raise pulumi.RunError(
                f"{type(self).__name__} {name!r} creates Kubernetes objects (a ServiceAccount, a Secret), which needs "
                "pulumi-kubernetes: install agent-iam with its `eks` extra (pip install 'agent-iam[eks]'), or set "
                "create_service_account: false and no secret_name"
            ) from error
        self._k8s = pulumi_kubernetes

    def _kubernetes_objects(self, name: str, plan: ServiceAccountPlan) -> None:
        args, k8s = plan.args, self._k8s
        if args.get("create_service_account", True):
            for _, ref in plan.service_accounts():
                k8s.core.v1.ServiceAccount(
                    service_account_resource_name(name, ref),
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=ref.name,
                        namespace=ref.namespace,
                        labels=MANAGED_BY_LABEL,
                        annotations={
                            **(args.get("service_account_annotations") or {}),
                            **plan.role_arn_annotations(self.role_arn),
                        }
                        or None,
                    ),
                    opts=pulumi.ResourceOptions(parent=self, provider=self._kubernetes.get(ref.cluster)),
                )
        if args.get("secret_name"):
            k8s.core.v1.Secret(
                secret_resource_name(name),
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args["secret_name"],
                    namespace=args.get("secret_namespace") or args["namespace"],
                    labels=MANAGED_BY_LABEL,
                ),
                type="Opaque",
                string_data={"AWS_REGION": self._regional_value(lambda regional: regional.region), "AWS_ROLE_ARN": self.role_arn},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=self._kubernetes.get(plan.cluster),
                    additional_secret_outputs=["data", "stringData"],
                ),
            )
            self._extra["secretName"] = args["secret_name"]
        self.helm_values = plan.helm_values(self.role_arn)

    def outputs(self) -> dict[str, Any]:
        """Stack output: role ARN and name, mode, the association (and Secret) when there is one, the chart values."""
        outputs = super().outputs()
        helm_values = outputs.pop("helmValues", None)
        return {**outputs, **self._extra, **({"helmValues": helm_values} if helm_values is not None else {})}
