"""The Pulumi type tokens (pulumi-aws v7) of the AWS resources agent-iam creates, judges and reports, and
the values the Pulumi engine uses for "not known yet": one home."""

from __future__ import annotations

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
SECRET = "aws:secretsmanager/secret:Secret"
POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"

# Values the Pulumi engine uses for "not known until the update runs" (preview, or under mocks).
UNKNOWN_SENTINELS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)
