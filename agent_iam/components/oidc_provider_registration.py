"""OIDC provider registration: an OIDC issuer (an EKS cluster's, GitHub Actions', GitLab's,
HCP Terraform's...) registered as an IAM identity provider in one account, so roles there can
trust its tokens (IRSA, `OidcRole`).

One registration per (issuer, account), however many roles in that account trust it: IAM
allows one provider per issuer URL per account.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from typing import Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws

from agent_iam.iam import checks, issuers

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
            client_id_lists=list(args.get("client_ids") or [issuers.STS_AUDIENCE]),
            tags=dict(args.get("tags") or {}),
            opts=pulumi.ResourceOptions(parent=self, protect=bool(args.get("protect", False))),
        )
        self.arn = provider.arn
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output[str]]:
        """The provider's ARN."""
        return {"arn": self.arn}
