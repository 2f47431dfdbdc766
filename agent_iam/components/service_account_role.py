"""Service account role: an IAM role for a Kubernetes service account on EKS, through IRSA or
EKS Pod Identity, and the Kubernetes objects that go with it.

- **irsa**: the role trusts the cluster's OIDC provider in the role's account (one statement
  per cluster) for `system:serviceaccount:<namespace>:<name>` with audience `sts.amazonaws.com`.
- **pod-identity**: the role trusts `pods.eks.amazonaws.com` from the cluster's account, narrowed
  by Pod Identity's session tags; a `PodIdentityAssociation` in the cluster's account binds it.
  Across accounts the association's role (in the cluster's account) chains to a target role,
  which holds the permissions and trusts only that role with the association's external ID.

Kubernetes objects (the service account, a Secret with `AWS_REGION`/`AWS_ROLE_ARN`) are created
through the cluster's Kubernetes provider: `kubernetes={cluster: provider}`, or the component's own.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from agent_iam.iam import arns, checks, issuers

from . import policies
from ._contract import CheckedPlans, Problem, check_fields, check_list, check_value, is_known, raise_problems, type_token, when_known
from .role import (
    region_of,
    IamLimitsArgs,
    PlannedRole,
    RoleDocuments,
    RoleSpec,
    create_role,
    iam_limits,
    policy_problems,
    role_name,
    role_option_problems,
    role_problems,
    role_spec,
)
from .saas_access_role import permissions, s3_problems

POLICY_NAME = "service-account-access"
CHAIN_POLICY_NAME = "assume-target-role"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGED_BY_LABEL = {"app.kubernetes.io/managed-by": "agent-iam"}
MODES = ("irsa", "pod-identity")
COMPONENT = "ServiceAccountRole"
# Stands in for the association's external ID (known only after it exists) in limit checks.
EXTERNAL_ID_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


class ServiceAccountSubjectArgs(TypedDict, total=False):
    """One more service account an IRSA role trusts, in the role's cluster or another one."""

    namespace: Required[str]
    """Its namespace (a pattern with `*`/`?` only with `allowWildcardSubject`). Required."""
    service_account: Required[str]
    """Its name (a pattern with `*`/`?` only with `allowWildcardSubject`). Required."""
    cluster: str
    """The cluster it runs in. Default: the role's `cluster`."""
    oidc_provider_arn: pulumi.Input[str]
    """That cluster's IAM OIDC provider in the role's account. Default: the role's `oidcProviderArn` (same
    cluster); required for another cluster."""
    oidc_issuer: str
    """That cluster's issuer (`oidc.eks.<region>.amazonaws.com/id/<ID>`). Default: read from `oidcProviderArn`."""


class ServiceAccountRoleArgs(TypedDict, total=False):
    """A role for service accounts: its trust (IRSA or Pod Identity), permissions and Kubernetes objects."""

    namespace: Required[str]
    """The service account's namespace. Required."""
    service_account: Required[str]
    """The service account's name. Required."""
    mode: str
    """`irsa` (the role trusts the cluster's OIDC provider) or `pod-identity` (an EKS Pod Identity
    association). Default: `irsa`."""
    cluster: str
    """The cluster's key: names the trust statement (`Irsa<Cluster>`), the Kubernetes provider to use from
    `kubernetes`, and the EKS cluster unless `eksClusterName` is set. Default: `eksClusterName`, else `cluster`."""
    eks_cluster_name: str
    """The EKS cluster's name (Pod Identity association, session tags). Default: `cluster`."""
    oidc_provider_arn: pulumi.Input[str]
    """IRSA: the cluster's IAM OIDC provider in the role's account (often an `aws.iam.OpenIdConnectProvider`'s
    `arn`). Required for `irsa`."""
    oidc_issuer: str
    """IRSA: the cluster's issuer, host and path (`oidc.eks.<region>.amazonaws.com/id/<ID>`), for the `:sub` and
    `:aud` condition keys. Default: read from `oidcProviderArn`; required when that is not known yet."""
    subjects: list[ServiceAccountSubjectArgs]
    """IRSA: more service accounts the role trusts (one statement per cluster). Default: none."""
    allow_wildcard_subject: bool
    """IRSA: accept `*`/`?` patterns in a namespace or service account (`StringLike` on `:sub`). Default: false."""
    account_id: str
    """The 12-digit account the role is created in. Required for `pod-identity` (and for a cross-account
    association); default for `irsa`: read from `oidcProviderArn`."""
    cluster_account_id: str
    """Pod Identity: the cluster's account. When it differs from `accountId`, the association's own role is
    created there (through the `cluster_provider`) and chains to this role. Default: `accountId`."""
    source_role_name: str
    """Cross-account Pod Identity: the name of the association's role. Default: `<name>-pod-identity`."""
    source_role_permissions_boundary_arn: str
    """Cross-account Pod Identity: a permissions boundary for the association's role. Default: none."""
    session_tag_conditions: bool
    """Pod Identity: narrow the trust to this cluster, namespace and service account through the session
    tags Pod Identity sets (the conditions AWS documents for this trust). Default: true."""
    source_account_condition: bool
    """Pod Identity: also pin `aws:SourceAccount` (the cluster's account), which AWS's Pod Identity page does
    not document: an opt-in, since a condition on a key the service does not send fails closed. Default: false."""
    region: str
    """The role's region: `AWS_REGION` in the Secret, and the ARN partition. Default: the program's
    `aws:region`; required for `secretName` when it has none, else `us-east-1` (the partition only)."""
    create_service_account: bool
    """Create the ServiceAccount objects (through the Kubernetes provider); false when a chart creates them
    (the `helmValues` output says how). Default: true."""
    role_arn_annotation: bool
    """IRSA: annotate the service account with `eks.amazonaws.com/role-arn`. Default: true."""
    service_account_annotations: dict[str, str]
    """More annotations of the created service accounts. Default: none."""
    secret_name: str
    """Also create a Secret of this name with `AWS_REGION` and `AWS_ROLE_ARN`. Default: none."""
    secret_namespace: str
    """The Secret's namespace. Default: `namespace`."""
    s3_read: list[pulumi.Input[str]]
    """S3 locations the role may read, each `bucket` or `bucket/prefix`. Default: none."""
    s3_write: list[pulumi.Input[str]]
    """S3 locations the role may write and read. Default: none."""
    kms_key_arns: list[pulumi.Input[str]]
    """KMS keys of SSE-KMS buckets among the S3 locations, usable through S3 only. Default: none."""
    policy_arns: list[str]
    """Managed policies attached to the role. Default: none."""
    policy: dict[str, Any]
    """An IAM identity policy document merged into the role's permissions. Default: none."""
    allow_wildcard_resources: bool
    """Accept `Resource: "*"` in an Allow statement of `policy`. Default: false."""
    role_name: str
    """The role's name. Default: the component's name."""
    path: str
    """The role's IAM path (Pod Identity requires `/`). Default: `/`."""
    description: str
    """The role's description. Default: `Role of Kubernetes service account <name> (agent-iam)`."""
    permissions_boundary_arn: str
    """A managed policy set as the role's permissions boundary. Default: none."""
    max_session_duration: int
    """The role's maximum session, 3600 to 43200 seconds. Default: IAM's (3600)."""
    tags: dict[str, str]
    """Tags of the role(s) and association (agent-iam adds `managed-by: agent-iam`). Default: none."""
    protect: bool
    """Protect the role(s) from deletion. Default: false."""
    iam_limits: IamLimitsArgs
    """The account's IAM quotas, when raised. Default: IAM's default quotas."""


class ServiceAccountRoleOutputs:
    """What a ServiceAccountRole hands out (annotated here, not on the component: the SDK resolves a component
    class's own annotations on every registration; the schema analyzer reads them through the MRO)."""

    role_arn: pulumi.Output[str]
    """The role's ARN."""
    role_name: pulumi.Output[str]
    """The role's name."""
    mode: pulumi.Output[str]
    """`irsa` or `pod-identity`."""
    helm_values: Optional[pulumi.Output[dict[str, Any]]]
    """A chart's `serviceAccount` values (`create`, `name`, the role annotation); none for a wildcard subject."""


@dataclass(frozen=True)
class IrsaCluster:
    """One cluster's OIDC provider in the role's account and the service accounts it vouches for."""

    cluster: str
    provider_arn: Any  # pulumi.Input[str]
    issuer: Optional[str]  # host/path, no scheme; None until the provider ARN is known
    subjects: tuple[str, ...]  # system:serviceaccount:<namespace>:<name>
    wildcard: bool = False

    def trust(self, provider_arn: str) -> policies.IrsaTrust:
        """This cluster's part of the trust, once its provider's ARN is known."""
        issuer = self.issuer or issuers.issuer_of(provider_arn)
        return policies.IrsaTrust(self.cluster, provider_arn, issuer, self.subjects, self.wildcard)



class _Plan:
    """The checked Args with their defaults applied: the role(s), trust and Kubernetes objects."""

    def __init__(self, name: str, args: ServiceAccountRoleArgs):
        raise_problems(COMPONENT, name, check_fields(ServiceAccountRoleArgs, args))
        self.name, self.args = name, args
        self.mode = args.get("mode") or "irsa"
        self.region, problems = region_of(
            args, needed_for="the Secret's AWS_REGION" if args.get("secret_name") else None
        )
        if args.get("region") is not None:
            problems += check_value("region", args["region"], checks.check_region)
        raise_problems(COMPONENT, name, problems)
        self.partition = policies.partition_for_region(self.region)
        self.cluster = args.get("cluster") or args.get("eks_cluster_name") or "cluster"
        role, problems = role_name(name, args, "role_name", "")
        problems += role_option_problems(args) + s3_problems(args) + self._subject_problems()
        problems += check_list("policy_arns", args.get("policy_arns") or [], checks.check_policy_arn)
        problems += policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))
        for field_name in ("account_id", "cluster_account_id"):
            if args.get(field_name) is not None:
                problems += check_value(field_name, args[field_name], checks.check_account_id)
        if args.get("eks_cluster_name") is not None:
            problems += check_value("eks_cluster_name", args["eks_cluster_name"], checks.check_eks_cluster_name)
        for field_name in ("secret_name",):
            if args.get(field_name) is not None:
                problems += check_value(field_name, args[field_name], checks.check_k8s_object_name)
        if args.get("secret_namespace") is not None:
            problems += check_value("secret_namespace", args["secret_namespace"], checks.check_namespace)
            if checks.has_wildcard(args["secret_namespace"]):
                problems.append(Problem("secret_namespace", f"a Secret lives in one namespace, not a pattern: {args['secret_namespace']!r}"))
        if self.mode not in MODES:
            problems.append(Problem("mode", f"one of {', '.join(MODES)}, got {self.mode!r}"))
        elif self.mode == "pod-identity":
            problems += self._pod_identity_problems()
        else:
            problems += self._irsa_problems()
        raise_problems(COMPONENT, name, problems)
        self.role = role_spec(args, role, f"Role of Kubernetes service account {name} (agent-iam)")
        if self.mode == "pod-identity" and self.role.path != "/":
            raise_problems(
                COMPONENT,
                name,
                [Problem("path", f"EKS Pod Identity needs roles at path '/', got {self.role.path!r}; set {{path}} to '/'")],
            )
        self.account_id = args.get("account_id") or self._account_from_provider()
        self.cluster_account_id = args.get("cluster_account_id") or self.account_id
        self.cross_account = self.mode == "pod-identity" and self.cluster_account_id != self.account_id
        self.source_role: Optional[RoleSpec] = None
        if self.cross_account:
            source, problems = role_name(name, args, "source_role_name", "pod-identity")
            raise_problems(COMPONENT, name, problems)
            self.source_role = RoleSpec(
                name=source,
                path="/",
                description=f"EKS Pod Identity role of {name}, chaining to {self.role.name} (agent-iam)",
                permissions_boundary_arn=args.get("source_role_permissions_boundary_arn"),
                max_session_duration=self.role.max_session_duration,
                tags=self.role.tags,
                protect=self.role.protect,
            )
        else:
            raise_problems(
                COMPONENT,
                name,
                [
                    Problem(
                        field_name,
                        "only for cross-account Pod Identity (an account other than the cluster's "
                        f"{self.cluster_account_id}); remove it",
                    )
                    for field_name in ("source_role_name", "source_role_permissions_boundary_arn")
                    if args.get(field_name)
                ],
            )
        self.limits = iam_limits(args)
        self.irsa = self._irsa_clusters() if self.mode == "irsa" else ()
        # Every role with its documents, when every Arg is known (checked here; registered as they are).
        self.checked_documents: Optional[list[tuple[PlannedRole, RoleDocuments]]] = None
        if is_known(args):
            self.checked_documents = self._documents_for_checks()
            problems = []
            for planned, docs in self.checked_documents:
                boundary_field = (
                    "source_role_permissions_boundary_arn" if planned.spec is self.source_role else "permissions_boundary_arn"
                )
                problems += role_problems(
                    planned.label,
                    planned.spec,
                    docs,
                    self.limits,
                    planned.account_id,
                    policy_field="policy",
                    boundary_field=boundary_field,
                )
            raise_problems(COMPONENT, name, problems)

    # --- checks ---------------------------------------------------------------------

    def subjects(self) -> list[tuple[str, str, str, str]]:
        """`(field prefix, cluster, namespace, service account)` of the role's own and its `subjects`."""
        result = [("", self.cluster, self.args.get("namespace", ""), self.args.get("service_account", ""))]
        for index, subject in enumerate(self.args.get("subjects") or []):
            result.append(
                (f"subjects[{index}].", subject.get("cluster") or self.cluster, subject.get("namespace", ""),
                 subject.get("service_account", ""))
            )
        return result

    @property
    def wildcard(self) -> bool:
        return any(checks.has_wildcard(ns + sa) for _, _, ns, sa in self.subjects())

    def _subject_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        subjects = self.args.get("subjects") or []
        if not isinstance(subjects, list):
            return [Problem("subjects", f"must be a list, got {type(subjects).__name__}")]
        for index, subject in enumerate(subjects):
            problems += [
                Problem(f"subjects[{index}].{p.field}", p.message)
                for p in check_fields(ServiceAccountSubjectArgs, subject)
            ]
        if problems:
            return problems
        for prefix, _, namespace, service_account in self.subjects():
            problems += check_value(f"{prefix}namespace", namespace, checks.check_namespace)
            problems += check_value(f"{prefix}service_account", service_account, checks.check_service_account_name)
        if self.args.get("service_account_annotations") is not None:
            problems += check_value(
                "service_account_annotations", self.args["service_account_annotations"], checks.check_annotations
            )
        return problems

    def _irsa_problems(self) -> list[Problem]:
        args = self.args
        problems: list[Problem] = []
        for field_name in (
            "session_tag_conditions",
            "source_account_condition",
            "source_role_name",
            "source_role_permissions_boundary_arn",
            "cluster_account_id",
        ):
            if args.get(field_name) is not None:
                problems.append(Problem(field_name, "applies to {mode}: pod-identity only"))
        for prefix, _, namespace, service_account in self.subjects():
            for key, value in (("namespace", namespace), ("service_account", service_account)):
                if checks.has_wildcard(value) and not args.get("allow_wildcard_subject"):
                    problems.append(
                        Problem(
                            prefix + key,
                            f"{value!r} is a wildcard: the role would trust every matching service account; name one, "
                            "or set {allow_wildcard_subject}: true to accept that",
                        )
                    )
        if args.get("allow_wildcard_subject") and not self.wildcard:
            problems.append(
                Problem("allow_wildcard_subject", "is true but no {namespace} or {service_account} holds a wildcard")
            )
        if args.get("create_service_account", True) and self.wildcard:
            problems.append(
                Problem(
                    "create_service_account",
                    "a wildcard subject names no one service account to create; set {create_service_account}: false",
                )
            )
        if args.get("service_account_annotations") and not args.get("create_service_account", True):
            problems.append(
                Problem(
                    "service_account_annotations",
                    "annotate a service account agent-iam creates ({create_service_account}: true)",
                )
            )
        if ROLE_ARN_ANNOTATION in (args.get("service_account_annotations") or {}):
            problems.append(
                Problem(f"service_account_annotations.{ROLE_ARN_ANNOTATION}", "is set from the role; use {role_arn_annotation}")
            )
        seen: set[tuple[str, str, str]] = set()
        for prefix, cluster, namespace, service_account in self.subjects():
            if (cluster, namespace, service_account) in seen:
                problems.append(Problem(prefix.rstrip(".") or "subjects", f"lists {cluster}/{namespace}/{service_account} twice"))
            seen.add((cluster, namespace, service_account))
        # Each cluster's OIDC provider: an ARN, and its issuer when the ARN is not known yet.
        for prefix, cluster, arn, issuer in self.providers():
            if arn is None:
                problems.append(
                    Problem(
                        f"{prefix}oidc_provider_arn",
                        f"IRSA trusts the OIDC provider of cluster {cluster!r}: set its ARN in the role's account",
                    )
                )
            elif is_known(arn):
                problems += check_value(f"{prefix}oidc_provider_arn", arn, checks.check_oidc_provider_arn)
            elif not issuer:
                problems.append(
                    Problem(f"{prefix}oidc_issuer", "required while {oidc_provider_arn} is not known yet (the :sub key names it)")
                )
        return problems

    def _pod_identity_problems(self) -> list[Problem]:
        args = self.args
        problems: list[Problem] = []
        if args.get("subjects"):
            problems.append(
                Problem("subjects", "a Pod Identity association is for one service account; add an entry per service account")
            )
        for key in ("namespace", "service_account"):
            value = args.get(key, "")
            if checks.has_wildcard(value):
                problems.append(
                    Problem(key, f"Pod Identity associates one exact service account, not a pattern: {value!r}")
                )
        if args.get("role_arn_annotation") is not None:
            problems.append(
                Problem(
                    "role_arn_annotation",
                    "Pod Identity service accounts carry no role annotation (EKS injects credentials through the "
                    "association); remove it",
                )
            )
        if args.get("service_account_annotations"):
            problems.append(
                Problem(
                    "service_account_annotations",
                    "Pod Identity needs no service account annotations (the association names the service account); "
                    "remove them",
                )
            )
        for key in ("oidc_provider_arn", "oidc_issuer", "allow_wildcard_subject"):
            if args.get(key) is not None:
                problems.append(Problem(key, "applies to {mode}: irsa only"))
        if not args.get("account_id"):
            problems.append(Problem("account_id", "required for Pod Identity (the role's ARN is set on the association)"))
        return problems

    def _account_from_provider(self) -> Optional[str]:
        arn = self.args.get("oidc_provider_arn")
        return arns.account_of(arn) if isinstance(arn, str) else None

    # --- documents ------------------------------------------------------------------

    def providers(self) -> list[tuple[str, str, Any, Optional[str]]]:
        """`(field prefix, cluster, provider ARN, issuer)` of each subject: its own, else its cluster's."""
        own = (self.args.get("oidc_provider_arn"), self.args.get("oidc_issuer"))
        result = [("", self.cluster, *own)]
        for index, subject in enumerate(self.args.get("subjects") or []):
            cluster = subject.get("cluster") or self.cluster
            arn, issuer = subject.get("oidc_provider_arn"), subject.get("oidc_issuer")
            if arn is None and cluster == self.cluster:
                arn, issuer = own
            result.append((f"subjects[{index}].", cluster, arn, issuer))
        return result

    def _irsa_clusters(self) -> tuple[IrsaCluster, ...]:
        """One trust statement per cluster, in the order the subjects name them."""
        by_cluster: dict[str, dict[str, Any]] = {}
        for (_, cluster, namespace, service_account), (_, _, arn, issuer) in zip(self.subjects(), self.providers()):
            entry = by_cluster.setdefault(cluster, {"arn": arn, "issuer": issuer, "subjects": [], "wildcard": False})
            entry["subjects"].append(issuers.service_account_subject(namespace, service_account))
            entry["wildcard"] = entry["wildcard"] or checks.has_wildcard(namespace + service_account)
        return tuple(
            IrsaCluster(
                cluster=cluster,
                provider_arn=entry["arn"],
                issuer=issuers.issuer_host_path(entry["issuer"]) if entry["issuer"] else None,
                subjects=tuple(entry["subjects"]),
                wildcard=entry["wildcard"],
            )
            for cluster, entry in by_cluster.items()
        )

    def role_arn(self) -> str:
        """The role's ARN, computed: the association needs the target's before the target exists."""
        return policies.role_arn(self.partition, self.account_id or "", self.role.path, self.role.name)

    def source_role_arn(self) -> str:
        assert self.source_role is not None
        return policies.role_arn(self.partition, self.cluster_account_id or "", "/", self.source_role.name)

    def pod_identity_trust(self) -> policies.Document:
        source_account = bool(self.args.get("source_account_condition"))
        if self.args.get("session_tag_conditions") is False:
            return policies.pod_identity_trust(self.cluster_account_id, source_account=source_account)
        return policies.pod_identity_trust(
            self.cluster_account_id,
            cluster_name=self.eks_cluster_name,
            namespace=self.args["namespace"],
            service_account=self.args["service_account"],
            source_account=source_account,
        )

    @property
    def eks_cluster_name(self) -> str:
        return self.args.get("eks_cluster_name") or self.cluster

    def irsa_trust(self, provider_arns: list[str]) -> policies.Document:
        return policies.irsa_trust(
            [c.trust(arn) for c, arn in zip(self.irsa, provider_arns, strict=True)]
        )

    def trust(self, source_role_arn: Optional[str] = None, external_id: str = EXTERNAL_ID_PLACEHOLDER) -> policies.Document:
        if self.mode == "irsa":
            return self.irsa_trust([c.provider_arn for c in self.irsa])
        if not self.cross_account:
            return self.pod_identity_trust()
        return policies.pod_identity_target_trust(source_role_arn or self.source_role_arn(), external_id)

    def permissions(self, values: Mapping[str, Any]) -> Optional[policies.Document]:
        return permissions(values, self.region)

    def role_documents(self, trust: Any, permissions_doc: Any) -> RoleDocuments:
        return RoleDocuments(
            trust=trust,
            inline_policy_name=POLICY_NAME,
            inline_policy=permissions_doc,
            attached_policy_arns=tuple(self.args.get("policy_arns") or ()),
        )

    def source_role_documents(self) -> RoleDocuments:
        return RoleDocuments(
            trust=self.pod_identity_trust(),
            inline_policy_name=CHAIN_POLICY_NAME,
            inline_policy=policies.assume_target_role_policy(self.role_arn()),
        )

    def _documents_for_checks(self) -> list[tuple[PlannedRole, RoleDocuments]]:
        """Every role with its documents as IAM would see them (the association's external ID stands in)."""
        role = self.role_documents(self.trust(), self.permissions(self.args))
        docs = [(PlannedRole("role", self.role, self.account_id, role), role)]
        if self.source_role is not None:
            source = self.source_role_documents()
            docs.append((PlannedRole("Pod Identity role", self.source_role, self.cluster_account_id, source), source))
        return docs

    def known_role_documents(self) -> Optional[RoleDocuments]:
        """The role's documents as checked, when every Arg is known and its trust waits for no other
        resource (not cross-account Pod Identity, whose trust needs the association's external ID)."""
        if self.checked_documents is None or self.cross_account:
            return None
        return self.checked_documents[0][1]

    def roles(self) -> list[PlannedRole]:
        return [planned for planned, _ in self.checked_documents] if self.checked_documents is not None else [
            PlannedRole("role", self.role, self.account_id if isinstance(self.account_id, str) else None)
        ]

    def role_arn_annotations(self, role_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        wanted = self.mode == "irsa" and self.args.get("role_arn_annotation", True) is not False
        return {ROLE_ARN_ANNOTATION: role_arn} if wanted else {}


# The plans `check` worked out, for the constructor that follows it with the same Args.
_CHECKED: CheckedPlans[_Plan] = CheckedPlans(_Plan)


def _kubernetes_sdk(name: str, plan: _Plan) -> Any:
    """`pulumi_kubernetes` when the component creates Kubernetes objects (the `eks` extra), else None."""
    if not (plan.args.get("create_service_account", True) or plan.args.get("secret_name")):
        return None
    try:
        import pulumi_kubernetes
    except ImportError as error:
        raise pulumi.RunError(
            f"{COMPONENT} {name!r} creates Kubernetes objects (a ServiceAccount, a Secret), which needs "
            "pulumi-kubernetes: install agent-iam with its `eks` extra (pip install 'agent-iam[eks]'), or set "
            "create_service_account: false and no secret_name"
        ) from error
    return pulumi_kubernetes


class ServiceAccountRole(pulumi.ComponentResource, ServiceAccountRoleOutputs):
    """A role for Kubernetes service accounts (IRSA or Pod Identity) and its Kubernetes objects.

    `kubernetes` maps cluster keys to their Kubernetes providers (default: the component's own);
    `cluster_provider` is the AWS provider of the cluster's account (Pod Identity association,
    cross-account source role); the role itself is created through the component's own AWS provider.
    Bad Args raise an `ArgsError` naming the field before anything is registered.
    """

    def __init__(
        self,
        name: str,
        args: ServiceAccountRoleArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        kubernetes: Optional[Mapping[str, pulumi.ProviderResource]] = None,
        cluster_provider: Optional[pulumi.ProviderResource] = None,
    ):
        plan = _CHECKED.for_constructor(name, args)
        k8s = _kubernetes_sdk(name, plan)  # before anything is registered
        super().__init__(type_token("eks", COMPONENT), name, None, opts)
        self._waits_for = opts.depends_on if opts is not None else None  # the children wait too
        self.mode = plan.mode
        self._extra: dict[str, Any] = {}
        checked = plan.known_role_documents()
        if checked is not None:  # every Arg known: register the documents the checks judged
            role = create_role(self, f"{name}-role", plan.role, checked, depends_on=self._waits_for)
            if plan.mode == "pod-identity":
                self._association(name, plan, role.arn, cluster_provider)
        elif plan.mode == "irsa":
            role = self._irsa_role(name, plan, self._permissions(plan))
        elif not plan.cross_account:
            docs = plan.role_documents(plan.pod_identity_trust(), self._permissions(plan))
            role = create_role(self, f"{name}-role", plan.role, docs, depends_on=self._waits_for)
            self._association(name, plan, role.arn, cluster_provider)
        else:
            role = self._chained_roles(name, plan, self._permissions(plan), cluster_provider)
        self.role_arn = role.arn
        self.role_name = role.name
        self._kubernetes_objects(name, plan, kubernetes or {}, k8s)
        self.helm_values = self._helm_values(plan)
        self.register_outputs(self.outputs())

    @staticmethod
    def check(name: str, args: ServiceAccountRoleArgs) -> list[PlannedRole]:
        """Check Args as the constructor does (raising `ArgsError`), registering nothing; the roles it would create."""
        return _CHECKED.check(name, args).roles()

    def _permissions(self, plan: _Plan) -> Any:
        has = bool(plan.args.get("s3_read") or plan.args.get("s3_write") or plan.args.get("policy"))
        if not has:
            return None

        def build(values: dict[str, Any]) -> Any:
            if not is_known(plan.args):
                raise_problems(COMPONENT, plan.name, s3_problems(values))
            return plan.permissions(values)

        return when_known(dict(plan.args), build)

    def _irsa_role(self, name: str, plan: _Plan, permissions_doc: Any) -> aws.iam.Role:
        arns = [c.provider_arn for c in plan.irsa]
        if is_known(arns):
            trust: Any = plan.irsa_trust(arns)
        else:

            def build(resolved: list[str]) -> policies.Document:
                problems: list[Problem] = []
                for arn in resolved:
                    problems += check_value("oidc_provider_arn", arn, checks.check_oidc_provider_arn)
                raise_problems(COMPONENT, name, problems)
                return plan.irsa_trust(list(resolved))

            trust = pulumi.Output.all(*arns).apply(build)
        return create_role(self, f"{name}-role", plan.role, plan.role_documents(trust, permissions_doc), depends_on=self._waits_for)

    def _association(
        self,
        name: str,
        plan: _Plan,
        role_arn: pulumi.Input[str],
        cluster_provider: Optional[pulumi.ProviderResource],
        target_role_arn: Optional[str] = None,
    ) -> aws.eks.PodIdentityAssociation:
        association = aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=plan.eks_cluster_name,
            namespace=plan.args["namespace"],
            service_account=plan.args["service_account"],
            role_arn=role_arn,
            target_role_arn=target_role_arn,
            tags=dict(plan.role.tags),
            opts=pulumi.ResourceOptions(parent=self, provider=cluster_provider),
        )
        self._extra["associationArn"] = association.association_arn
        self._extra["associationId"] = association.association_id
        return association

    def _chained_roles(
        self, name: str, plan: _Plan, permissions_doc: Any, cluster_provider: Optional[pulumi.ProviderResource]
    ) -> aws.iam.Role:
        """Cross-account Pod Identity: source role, association (target ARN computed), then the
        target role, whose trust waits for the association's external ID. No cycle."""
        assert plan.source_role is not None
        source = create_role(
            self,
            f"{name}-pod-identity-role",
            plan.source_role,
            plan.source_role_documents(),
            provider=cluster_provider,
            depends_on=self._waits_for,
        )
        association = self._association(name, plan, source.arn, cluster_provider, target_role_arn=plan.role_arn())
        trust = pulumi.Output.all(source.arn, association.external_id).apply(
            lambda values: plan.trust(source_role_arn=values[0], external_id=values[1])
        )
        self._extra["sourceRoleArn"] = source.arn
        return create_role(self, f"{name}-role", plan.role, plan.role_documents(trust, permissions_doc), depends_on=self._waits_for)

    def _kubernetes_objects(
        self, name: str, plan: _Plan, kubernetes: Mapping[str, pulumi.ProviderResource], k8s: Any
    ) -> None:
        args = plan.args
        if args.get("create_service_account", True):
            for _, cluster, namespace, service_account in plan.subjects():
                k8s.core.v1.ServiceAccount(
                    f"{name}-sa-{cluster}/{namespace}/{service_account}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=service_account,
                        namespace=namespace,
                        labels=MANAGED_BY_LABEL,
                        annotations={
                            **(args.get("service_account_annotations") or {}),
                            **plan.role_arn_annotations(self.role_arn),
                        }
                        or None,
                    ),
                    opts=pulumi.ResourceOptions(parent=self, provider=kubernetes.get(cluster)),
                )
        if args.get("secret_name"):
            k8s.core.v1.Secret(
                f"{name}-secret",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args["secret_name"],
                    namespace=args.get("secret_namespace") or args["namespace"],
                    labels=MANAGED_BY_LABEL,
                ),
                type="Opaque",
                string_data={"AWS_REGION": plan.region, "AWS_ROLE_ARN": self.role_arn},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=kubernetes.get(plan.cluster),
                    additional_secret_outputs=["data", "stringData"],
                ),
            )
            self._extra["secretName"] = args["secret_name"]

    def _helm_values(self, plan: _Plan) -> Optional[dict[str, Any]]:
        """A chart's `serviceAccount` values: created by the chart only when agent-iam does not.
        None when the subject is a pattern (no one service account to name)."""
        if checks.has_wildcard(plan.args["namespace"] + plan.args["service_account"]):
            return None
        service_account: dict[str, Any] = {
            "create": not plan.args.get("create_service_account", True),
            "name": plan.args["service_account"],
        }
        annotations = plan.role_arn_annotations(self.role_arn)
        if annotations:
            service_account["annotations"] = annotations
        return {"serviceAccount": service_account}

    def outputs(self) -> dict[str, Any]:
        """Stack output: role ARN and name, mode, the chart values, and the association when there is one."""
        outputs = {"roleArn": self.role_arn, "roleName": self.role_name, "mode": self.mode, **self._extra}
        if self.helm_values is not None:
            outputs["helmValues"] = self.helm_values
        return outputs
