"""IRSA role: an IAM role for Kubernetes service accounts on EKS through IAM roles for service accounts.

The role trusts the cluster's OIDC provider in the role's account (one statement per cluster) for
`system:serviceaccount:<namespace>:<name>` with audience `sts.amazonaws.com`; the service accounts
agent-iam creates carry the `eks.amazonaws.com/role-arn` annotation.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Required, TypedDict

import pulumi

from agent_iam.iam import arns, checks, issuers

from . import policies
from ._contract import Problem, check_fields, check_value, is_known
from ._service_account import (
    ROLE_ARN_ANNOTATION, SERVICE_ACCOUNT_ROLE, ServiceAccountArgs, ServiceAccountComponent, ServiceAccountOutputs,
    ServiceAccountPlan, ServiceAccountRef,
)
from .base import RoleSlot
from .role import RoleDocuments

MODE = "irsa"


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


class IrsaRoleArgs(ServiceAccountArgs, total=False):
    """A role that service accounts assume with their tokens, through the cluster's OIDC provider."""

    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider in the role's account (often an `aws.iam.OpenIdConnectProvider`'s
    `arn`). Required."""
    oidc_issuer: str
    """The cluster's issuer, host and path (`oidc.eks.<region>.amazonaws.com/id/<ID>`), for the `:sub` and
    `:aud` condition keys. Default: read from `oidcProviderArn`; required when that is not known yet."""
    subjects: list[ServiceAccountSubjectArgs]
    """More service accounts the role trusts (one statement per cluster). Default: none."""
    allow_wildcard_subject: bool
    """Accept `*`/`?` patterns in a namespace or service account (`StringLike` on `:sub`). Default: false."""
    account_id: str
    """The 12-digit account the role is created in. Default: read from `oidcProviderArn`."""
    role_arn_annotation: bool
    """Annotate the service account with `eks.amazonaws.com/role-arn`. Default: true."""
    service_account_annotations: dict[str, str]
    """More annotations of the created service accounts. Default: none."""


class IrsaRoleOutputs(ServiceAccountOutputs):
    """What an IrsaRole hands out (the outputs every role for service accounts has)."""


@dataclass(frozen=True)
class IrsaCluster:
    """One cluster's OIDC provider in the role's account and the service accounts it vouches for."""

    cluster: str
    provider_arn: Any  # pulumi.Input[str]
    issuer: Optional[str]  # host/path, no scheme; None until the provider ARN is known
    subjects: tuple[str, ...]  # system:serviceaccount:<namespace>:<name>
    wildcard: bool = False

    def trust(self) -> policies.IrsaTrust:
        """This cluster's part of the trust, once its provider's ARN is known."""
        issuer = self.issuer or issuers.issuer_of(self.provider_arn)
        return policies.IrsaTrust(self.cluster, self.provider_arn, issuer, self.subjects, self.wildcard)


class IrsaRolePlan(ServiceAccountPlan, args=IrsaRoleArgs):
    """The checked Args with their defaults applied: the role, its trust and its Kubernetes objects."""

    MODE = MODE

    def service_accounts(self) -> list[tuple[str, ServiceAccountRef]]:
        result = super().service_accounts()
        for index, subject in enumerate(self.args.get("subjects") or []):
            ref = ServiceAccountRef(
                subject.get("cluster") or self.cluster, subject.get("namespace", ""), subject.get("service_account", "")
            )
            result.append((f"subjects[{index}].", ref))
        return result

    def providers(self, values: Mapping[str, Any]) -> list[tuple[str, str, Any, Optional[str]]]:
        """`(field prefix, cluster, provider ARN, issuer)` of each subject: its own, else its cluster's."""
        own = (values.get("oidc_provider_arn"), values.get("oidc_issuer"))
        result = [("", self.cluster, *own)]
        for index, subject in enumerate(values.get("subjects") or []):
            cluster = subject.get("cluster") or self.cluster
            arn, issuer = subject.get("oidc_provider_arn"), subject.get("oidc_issuer")
            if arn is None and cluster == self.cluster:
                arn, issuer = own
            result.append((f"subjects[{index}].", cluster, arn, issuer))
        return result

    def problems(self) -> list[Problem]:
        args = self.args
        subjects = args.get("subjects") or []
        if not isinstance(subjects, list):
            return [Problem("subjects", f"must be a list, got {type(subjects).__name__}")]
        problems = [
            Problem(f"subjects[{index}].{p.field}", p.message)
            for index, subject in enumerate(subjects)
            for p in check_fields(ServiceAccountSubjectArgs, subject)
        ]
        if problems:
            return problems
        problems = super().problems()
        if args.get("service_account_annotations") is not None:
            problems += check_value("service_account_annotations", args["service_account_annotations"], checks.check_annotations)
        allowed = bool(args.get("allow_wildcard_subject"))
        for prefix, ref in self.service_accounts():
            for key, value in (("namespace", ref.namespace), ("service_account", ref.name)):
                if checks.has_wildcard(value) and not allowed:
                    problems.append(
                        Problem(
                            prefix + key,
                            f"{value!r} is a wildcard: the role would trust every matching service account; name one, "
                            "or set {allow_wildcard_subject}: true to accept that",
                        )
                    )
        if allowed and not self.wildcard:
            problems.append(
                Problem("allow_wildcard_subject", "is true but no {namespace} or {service_account} holds a wildcard")
            )
        create = args.get("create_service_account", True)
        if create and self.wildcard:
            problems.append(
                Problem(
                    "create_service_account",
                    "a wildcard subject names no one service account to create; set {create_service_account}: false",
                )
            )
        if args.get("service_account_annotations") and not create:
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
        seen: set[ServiceAccountRef] = set()
        for prefix, ref in self.service_accounts():
            if ref in seen:
                problems.append(Problem(prefix.rstrip(".") or "subjects", f"lists {ref} twice"))
            seen.add(ref)
        # Each cluster's OIDC provider: an ARN, and its issuer when the ARN is not known yet.
        for prefix, cluster, arn, issuer in self.providers(args):
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

    def role_slots(self) -> list[RoleSlot]:
        account = self.args.get("account_id")
        if account is None and isinstance(self.args.get("oidc_provider_arn"), str):
            account = arns.account_of(self.args["oidc_provider_arn"])
        return [RoleSlot("role", self.role(), account)]

    def clusters(self, values: Mapping[str, Any]) -> list[IrsaCluster]:
        """One trust statement per cluster, in the order the subjects name them."""
        by_cluster: dict[str, dict[str, Any]] = {}
        for (_, ref), (_, _, arn, issuer) in zip(self.service_accounts(), self.providers(values)):
            entry = by_cluster.setdefault(ref.cluster, {"arn": arn, "issuer": issuer, "subjects": [], "wildcard": False})
            entry["subjects"].append(ref.subject)
            entry["wildcard"] = entry["wildcard"] or ref.wildcard
        return [
            IrsaCluster(
                cluster=cluster,
                provider_arn=entry["arn"],
                issuer=issuers.issuer_host_path(entry["issuer"]) if entry["issuer"] else None,
                subjects=tuple(entry["subjects"]),
                wildcard=entry["wildcard"],
            )
            for cluster, entry in by_cluster.items()
        ]

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        trust = policies.irsa_trust([cluster.trust() for cluster in self.clusters(values)])
        return [RoleDocuments(trust, self.permissions(values), tuple(values.get("policy_arns") or ()))]

    def layout(self) -> list[RoleDocuments]:
        return [RoleDocuments(None, self.permissions_layout(), tuple(self.args.get("policy_arns") or ()))]

    def resolved_problems(self, values: dict[str, Any]) -> list[Problem]:
        problems = super().resolved_problems(values)
        for prefix, _, arn, _ in self.providers(values):
            problems += check_value(f"{prefix}oidc_provider_arn", arn, checks.check_oidc_provider_arn)
        return problems

    def advisories(self) -> list[Problem]:
        advice = super().advisories()
        if self.wildcard:
            patterns = ", ".join(str(ref) for _, ref in self.service_accounts() if ref.wildcard)
            advice.append(
                Problem(
                    "",
                    f"the role {self.role_name!r} trusts EVERY service account matching {patterns} "
                    "({allow_wildcard_subject}: true)",
                )
            )
        return advice

    def role_arn_annotations(self, role_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
        return {ROLE_ARN_ANNOTATION: role_arn} if self.args.get("role_arn_annotation", True) is not False else {}


class IrsaRole(
    ServiceAccountComponent, IrsaRoleOutputs, plan=IrsaRolePlan, module="eks", former_types=(SERVICE_ACCOUNT_ROLE,)
):
    """A role Kubernetes service accounts assume through IRSA (the cluster's OIDC provider), and its
    Kubernetes objects.

    `kubernetes` maps cluster keys to their Kubernetes providers (default: the component's own); the role is
    created through the component's own AWS provider. Bad Args raise an `ArgsError` naming the field before
    anything is registered. Registered before as `agent-iam:eks:ServiceAccountRole` (`mode: irsa`): that
    type is an alias, so a stack that had one keeps its resources."""

    def __init__(self, name: str, args: IrsaRoleArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 plan: Optional[IrsaRolePlan] = None, kubernetes: Optional[Mapping[str, pulumi.ProviderResource]] = None):
        super().__init__(name, args, opts, plan=plan, kubernetes=kubernetes)

    def _register(self, name: str, plan: IrsaRolePlan) -> None:
        (role,) = self._register_roles(name, plan)
        self.mode, self.role_arn, self.role_name = MODE, role.arn, role.name
        self._kubernetes_objects(name, plan)
