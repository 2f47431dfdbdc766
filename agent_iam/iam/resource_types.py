"""The Pulumi type tokens (pulumi-aws v7) of the AWS resources agent-iam creates, judges and reports: one home."""

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
