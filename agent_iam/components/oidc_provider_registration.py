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

from agent_iam.iam import arns, checks
from agent_iam.iam import limits as limit_checks

from . import oidc_providers as known_issuers
from . import policies
from ._contract import check_fields, check_list, check_value, raise_problems, type_token

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
            client_id_lists=list(args.get("client_ids") or [policies.STS_AUDIENCE]),
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

    def known(self, arn: str) -> None:
        """A provider that exists (or is registered elsewhere): every role of its issuer in its account trusts it."""
        key = (checks.issuer_of_provider_arn(arn).rstrip("/"), arns.account_of(arn) or "")
        self._known.setdefault(key, arn)

    def for_cluster(
        self,
        cluster: str,
        *,
        issuer: str,
        issuer_url: Optional[str],
        cluster_name: str,
        cluster_account_id: str,
        account_id: str,
        region: str,
        register_in_cluster_account: bool = False,
        needed_by: Any = None,
    ) -> tuple[str, Optional[str]]:
        """The ARN of an EKS cluster's provider in `account_id`, and the registration that creates it when
        this program does: a known one; in the cluster's own account, the one EKS (eksctl, the console)
        registered, unless `register_in_cluster_account`; elsewhere, one registered once per account."""
        issuer = policies.oidc_issuer(issuer)
        if (issuer, account_id) in self._known:
            return self._known[(issuer, account_id)], None
        arn = policies.oidc_provider_arn(policies.partition_for_region(region), account_id, issuer)
        if account_id == cluster_account_id and not register_in_cluster_account:
            return arn, None
        tags = {**self.tags, "eks-cluster": cluster_name}
        planned = self._planned.setdefault(
            (f"cluster:{cluster}", account_id),
            PlannedRegistration(
                f"{cluster}-oidc-{account_id}", account_id,
                {"url": issuer_url or f"https://{issuer}", "tags": tags, "protect": self.protect},
                needed_by, f"cluster {cluster!r}",
            ),
        )
        return arn, planned.name

    def for_issuer(
        self, issuer_url: str, *, audience: str, account_id: str, needed_by: Any = None
    ) -> tuple[Optional[str], Optional[str]]:
        """The ARN of a CI issuer's provider in `account_id` when one is known, else None (the role derives
        it) and the registration that creates it, accepting `audience` among its client IDs."""
        issuer = known_issuers.issuer_host_path(issuer_url)
        if (issuer, account_id) in self._known:
            return self._known[(issuer, account_id)], None
        tags = {**self.tags, "oidc-issuer": issuer[:256]}
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
