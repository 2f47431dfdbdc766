"""OIDC provider registration: an OIDC issuer (an EKS cluster's, GitHub Actions', GitLab's,
HCP Terraform's...) registered as an IAM identity provider in one account, so roles there can
trust its tokens (IRSA, `OidcRole`).

One registration per (issuer, account), however many roles in that account trust it: IAM
allows one provider per issuer URL per account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from . import policies


@dataclass(frozen=True)
class OidcProviderRegistrationArgs:
    """The issuer URL to register, the audiences it accepts, and the tags of the provider."""

    url: str  # https://oidc.eks.<region>.amazonaws.com/id/<ID>, https://token.actions.githubusercontent.com, ...
    tags: Mapping[str, str] = field(default_factory=dict)
    protect: bool = False
    # The audiences (client IDs) IAM accepts in tokens of this issuer: every role's `:aud`.
    client_ids: tuple[str, ...] = (policies.STS_AUDIENCE,)


class OidcProviderRegistration(pulumi.ComponentResource):
    """An `aws.iam.OpenIdConnectProvider` for a cluster's issuer, in the account of the parent's provider."""

    def __init__(self, name: str, args: OidcProviderRegistrationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-iam:eks:OidcProviderRegistration", name, None, opts)
        # No thumbprint_lists: IAM validates EKS, GitHub and other issuers with public certificates
        # against its own library of trusted root CAs, and fetches a thumbprint itself otherwise.
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-provider",
            url=args.url,
            client_id_lists=list(args.client_ids),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        self.arn: pulumi.Output[str] = provider.arn
        self.register_outputs({"arn": self.arn})
