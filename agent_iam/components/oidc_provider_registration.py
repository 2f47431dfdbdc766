"""OIDC provider registration: an OIDC issuer (an EKS cluster's, GitHub Actions', GitLab's,
HCP Terraform's...) registered as an IAM identity provider in one account, so roles there can
trust its tokens (IRSA, `OidcRole`).

One registration per (issuer, account), however many roles in that account trust it: IAM
allows one provider per issuer URL per account.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from agent_iam.iam import arns, checks, issuers
from agent_iam.iam import limits as limit_checks
from agent_iam.iam.limits import TAG_VALUE_MAX
from agent_iam.iam.tags import EKS_CLUSTER_TAG, OIDC_ISSUER_TAG

from . import policies
from ._contract import Problem, check_fields, check_list, check_value, raise_problems, type_token

COMPONENT = "OidcProviderRegistration"


def _check_client_id(value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise ValueError(f"a client ID (audience) is 1 to 255 characters: {value!r}")
    return value


class OidcProviderRegistrationArgs(TypedDict, total=False):
    """The issuer URL to register, the audiences it accepts, and the tags of the provider."""

    url: Required[str]
    """The issuer URL: a cluster's, as `aws eks describe-cluster` shows it
    (`https://oidc.eks.<region>.amazonaws.com/id/<ID>`), or a CI issuer's
    (`https://token.actions.githubusercontent.com`, `https://gitlab.com`, `https://app.terraform.io`). Required."""
    client_ids: list[str]
    """The audiences (client IDs) IAM accepts in this issuer's tokens: every `:aud` its roles pin.
    Default: `["sts.amazonaws.com"]`."""
    tags: dict[str, str]
    """Tags of the provider. Default: none."""
    protect: bool
    """Protect the provider from deletion (every IRSA role of the cluster in this account trusts it).
    Default: false."""


class OidcProviderRegistrationOutputs:
    """What an OidcProviderRegistration hands out (annotated here, not on the component: the SDK resolves a
    component class's own annotations on every registration; the schema analyzer reads them through the MRO)."""

    arn: pulumi.Output[str]
    """The provider's ARN, which IRSA trust policies name as their `Federated` principal."""


class OidcProviderRegistration(pulumi.ComponentResource, OidcProviderRegistrationOutputs):
    """An `aws.iam.OpenIdConnectProvider` for an issuer, in the account of the parent's provider, with
    its audiences (default `sts.amazonaws.com`) and no thumbprints (IAM validates EKS, GitHub and other
    issuers with public certificates against its own trusted CAs, and fetches a thumbprint otherwise)."""

    def __init__(self, name: str, args: OidcProviderRegistrationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        problems = check_fields(OidcProviderRegistrationArgs, args)
        if not problems:
            problems = check_value("url", args["url"], checks.check_oidc_issuer_url)
            problems += check_list("client_ids", args.get("client_ids") or [], _check_client_id)
            if args.get("tags") is not None:
                problems += check_value("tags", args["tags"], checks.check_tags)
        raise_problems(COMPONENT, name, problems)
        super().__init__(type_token("eks", COMPONENT), name, None, opts)
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-provider",
            url=args["url"],
            client_id_lists=list(args.get("client_ids") or [issuers.STS_AUDIENCE]),
            tags=dict(args.get("tags") or {}),
            opts=pulumi.ResourceOptions(parent=self, protect=bool(args.get("protect", False))),
        )
        self.arn = provider.arn
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[str]]:
        """The provider's ARN."""
        return {"arn": self.arn}


# --- which provider each role trusts ---------------------------------------------------------


class PlannedRegistration(NamedTuple):
    """One issuer's IAM OIDC provider to register in one account, shared by every role there that trusts it."""

    name: str  # `<cluster>-oidc-<account>` (an EKS cluster's), `oidc-<issuer>-<account>` (a CI issuer's)
    account_id: str
    args: OidcProviderRegistrationArgs
    needed_by: Any  # what asked for it first (the stack config: the entry's key and target)
    what: str  # `cluster 'c'`, `issuer https://...` (named by problems)


class EksCluster(NamedTuple):
    """An EKS cluster as the roles of its service accounts trust it."""

    name: str  # the EKS cluster name
    account_id: str  # the account it runs in
    issuer: Optional[str]  # host/path, no scheme; None when neither its URL nor a provider is known
    issuer_url: Optional[str]
    register_in_own_account: bool = False  # EKS registered none there (eksctl and the console do)


class OidcProviders:
    """Which IAM OIDC provider each role of a program trusts, decided in one place: a provider the program
    knows exists (`known`), the one EKS registers with a cluster in the cluster's own account, or one this
    program registers, once per issuer and account (IAM allows one per issuer URL in an account), accepting
    every audience the roles that trust it pin. `registrations()` lists those to register."""

    def __init__(self, *, tags: Optional[Mapping[str, str]] = None, protect: bool = False):
        self.tags = dict(tags or {})
        self.protect = protect
        self._known: dict[tuple[str, str], str] = {}  # (issuer host/path, account) -> provider ARN
        self._planned: dict[tuple[str, str], PlannedRegistration] = {}
        self.clusters: dict[str, EksCluster] = {}

    def cluster(
        self,
        key: str,
        *,
        name: str,
        account_id: str,
        oidc_issuer_url: Optional[str] = None,
        oidc_provider_arn: Optional[str] = None,
        oidc_provider_arns: Mapping[str, tuple[str, str]] = {},
        register_oidc_provider: bool = False,
    ) -> list[Problem]:
        """Know an EKS cluster: its issuer (from its URL, or a provider's ARN), the provider that exists in its
        own account and those in others (`oidc_provider_arns`: an account's name -> its ID and the ARN).
        What is wrong names these fields (an issuer that is not an EKS cluster's, a provider of another
        issuer or in another account, one issuer listed for two clusters)."""
        arns_given = [("oidc_provider_arn", oidc_provider_arn, account_id, "the cluster's account")] if oidc_provider_arn else []
        arns_given += [(f"oidc_provider_arns.{k}", arn, a, f"{k}'s") for k, (a, arn) in oidc_provider_arns.items()]
        issuer = issuers.issuer_host_path(oidc_issuer_url) if oidc_issuer_url else None
        problems = []
        for field, arn, owner, whose in arns_given:
            named = issuers.issuer_of(arn)
            if issuer is not None and named != issuer:
                problems.append(Problem(field, f"is the provider of issuer {named!r}, not of this cluster's {issuer!r}"))
            issuer = issuer or named
            if arns.account_of(arn) != owner:
                elsewhere = " (providers in other accounts go in {oidc_provider_arns})" if field == "oidc_provider_arn" else ""
                problems.append(Problem(field, f"is in account {arns.account_of(arn)}, not {whose} {owner}{elsewhere}"))
        if issuer and not issuers.is_eks_issuer(issuer):
            field = "oidc_issuer_url" if oidc_issuer_url else arns_given[0][0]
            problems.insert(0, Problem(
                field,
                f"{issuer!r} is not an EKS cluster's OIDC issuer (oidc.eks.<region>.amazonaws.com/id/<ID>, from "
                "`aws eks describe-cluster`); roles for CI and deploy pipelines (GitHub Actions, GitLab CI, HCP "
                "Terraform, any other issuer) are OidcRole's (agent-iam:oidcRoles entries, docs/oidc-roles.md)",
            ))
        if register_oidc_provider and oidc_provider_arn:
            problems.append(Problem("register_oidc_provider", "{oidc_provider_arn} already names the provider in the "
                                    "cluster's account; keep one"))
        elif register_oidc_provider and not oidc_issuer_url:
            problems.append(Problem("register_oidc_provider", "needs {oidc_issuer_url}, the URL to register"))
        same = next((k for k, c in self.clusters.items() if issuer and c.issuer == issuer), None)
        if same is not None:
            problems.append(Problem("", f"has the same OIDC issuer as cluster {same!r}; list it once"))
        if not problems:
            self.clusters[key] = EksCluster(name, account_id, issuer, oidc_issuer_url, register_oidc_provider)
            for _, arn, _, _ in arns_given:
                self.known(arn)
        return problems

    def irsa(self, clusters: list[str], *, account_id: str, region: str, needed_by: Any = None) -> tuple[
        list[tuple[str, str]], list[str], list[tuple[int, Problem]]
    ]:
        """For a role in `account_id` trusting service accounts of `clusters` (known ones): each cluster's
        provider ARN and issuer, the registrations they need, and for each cluster (by its place) without
        an issuer, why IRSA cannot trust it."""
        providers, registrations, problems = [], [], []
        for index, key in enumerate(clusters):
            cluster = self.clusters[key]
            if cluster.issuer is None:
                problems.append((index, Problem("cluster", f"IRSA trusts the OIDC provider of cluster {key!r}, which has "
                                                "no oidcIssuerUrl (or oidcProviderArn); add it from `aws eks describe-cluster`")))
                continue
            arn, registration = self.for_cluster(key, cluster, account_id=account_id, region=region, needed_by=needed_by)
            if registration and registration not in registrations:
                registrations.append(registration)
            providers.append((arn, cluster.issuer))
        return providers, registrations, problems

    def known(self, arn: str) -> None:
        """A provider that exists (or is registered elsewhere): every role of its issuer in its account trusts it."""
        key = (issuers.issuer_of(arn).rstrip("/"), arns.account_of(arn) or "")
        self._known.setdefault(key, arn)

    def for_cluster(
        self, key: str, cluster: EksCluster, *, account_id: str, region: str, needed_by: Any = None
    ) -> tuple[str, Optional[str]]:
        """The ARN of an EKS cluster's provider in `account_id`, and the registration that creates it when
        this program does: a known one; in the cluster's own account, the one EKS (eksctl, the console)
        registered, unless it registered none; elsewhere, one registered once per account."""
        assert cluster.issuer is not None
        if (cluster.issuer, account_id) in self._known:
            return self._known[(cluster.issuer, account_id)], None
        arn = issuers.provider_arn(policies.partition_for_region(region), account_id, cluster.issuer)
        if account_id == cluster.account_id and not cluster.register_in_own_account:
            return arn, None
        tags = {**self.tags, EKS_CLUSTER_TAG: cluster.name}
        planned = self._planned.setdefault(
            (f"cluster:{key}", account_id),
            PlannedRegistration(
                f"{key}-oidc-{account_id}", account_id,
                {"url": cluster.issuer_url or f"https://{cluster.issuer}", "tags": tags, "protect": self.protect},
                needed_by, f"cluster {key!r}",
            ),
        )
        return arn, planned.name

    def for_issuer(
        self, issuer_url: str, *, audience: str, account_id: str, needed_by: Any = None
    ) -> tuple[Optional[str], Optional[str]]:
        """The ARN of a CI issuer's provider in `account_id` when one is known, else None (the role derives
        it) and the registration that creates it, accepting `audience` among its client IDs."""
        issuer = issuers.issuer_host_path(issuer_url)
        if (issuer, account_id) in self._known:
            return self._known[(issuer, account_id)], None
        tags = {**self.tags, OIDC_ISSUER_TAG: issuer[:TAG_VALUE_MAX]}
        planned = self._planned.setdefault(
            (f"issuer:{issuer}", account_id),
            PlannedRegistration(
                f"oidc-{issuer.replace('/', '-')}-{account_id}", account_id,
                {"url": issuer_url, "client_ids": [], "tags": tags, "protect": self.protect},
                needed_by, f"issuer {issuer_url}",
            ),
        )
        if audience not in planned.args["client_ids"]:
            planned.args["client_ids"].append(audience)
        return None, planned.name

    def registrations(self) -> list[PlannedRegistration]:
        """The providers to register, in the order they were first needed."""
        return list(self._planned.values())

    def problems(self) -> list[tuple[PlannedRegistration, str]]:
        """What IAM would refuse about a registration (its merged tags), before anything is registered."""
        return [
            (planned, f"the OIDC provider of {planned.what}: {problem}")
            for planned in self._planned.values()
            for problem in limit_checks.check_tags(planned.args.get("tags") or {})
        ]
