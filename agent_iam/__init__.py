"""agent-iam: least-privilege, auditable IAM roles for third-party agents, SaaS control planes
and CI pipelines, as Pulumi components.

Every component and its Args are importable from here (`agent_iam.SaasAccessRole`,
`agent_iam.SaasAccessRoleArgs`, ...). They load on first use, so tools that only need the
guardrail rules (the CrossGuard pack) import `agent_iam.guardrails` without Pulumi's AWS SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module under agent_iam.components that defines it
_EXPORTS: dict[str, str] = {
    "EcsAgentRoles": "ecs_agent_roles",
    "EcsAgentRolesArgs": "ecs_agent_roles",
    "Ec2AgentInstanceProfile": "ec2_agent_instance_profile",
    "Ec2AgentInstanceProfileArgs": "ec2_agent_instance_profile",
    "SaasAccessRole": "saas_access_role",
    "SaasAccessRoleArgs": "saas_access_role",
    "IrsaRole": "irsa_role",
    "IrsaRoleArgs": "irsa_role",
    "PodIdentityRole": "pod_identity_role",
    "PodIdentityRoleArgs": "pod_identity_role",
    "ServiceAccountRole": "service_account_role",
    "ServiceAccountRoleArgs": "service_account_role",
    "OidcProviderRegistration": "oidc_provider_registration",
    "OidcProviderRegistrationArgs": "oidc_provider_registration",
    "ServiceAccountSubjectArgs": "irsa_role",
    "OidcRole": "oidc_role",
    "OidcRoleArgs": "oidc_role",
    "IamLimitsArgs": "base",
    "ArgsError": "_contract",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent_iam' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agent_iam.components.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
