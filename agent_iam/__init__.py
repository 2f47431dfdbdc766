"""agent-iam: least-privilege, auditable IAM roles for third-party agents, SaaS control planes
and CI pipelines, as Pulumi components.

Every component and its Args are importable from here (`agent_iam.SaasAccessRole`,
`agent_iam.SaasAccessRoleArgs`, ...). Type checkers see them as the real classes (the imports
below); at run time they load on first use, so processes that never build a component (the
CrossGuard pack, a cached re-plan) do not import Pulumi's AWS SDK. Pulumi's plugin runner
(`python -m pulumi.run.plugin agent-iam`) depends on it too: it would host the component classes it
finds here with the SDK's plain provider; finding none, it runs `python -m agent_iam`, which serves
agent-iam's own (`agent_iam.provider.host`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_iam.components._contract import ArgsError
    from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfile, Ec2AgentInstanceProfileArgs
    from agent_iam.components.ecs_agent_roles import EcsAgentRoles, EcsAgentRolesArgs
    from agent_iam.components.oidc_provider_registration import (
        OidcProviderRegistration,
        OidcProviderRegistrationArgs,
    )
    from agent_iam.components.base import IamLimitsArgs
    from agent_iam.components.irsa_role import IrsaRole, IrsaRoleArgs, ServiceAccountSubjectArgs
    from agent_iam.components.oidc_role import OidcRole, OidcRoleArgs
    from agent_iam.components.pod_identity_role import PodIdentityRole, PodIdentityRoleArgs
    from agent_iam.components.saas_access_role import SaasAccessRole, SaasAccessRoleArgs
    from agent_iam.components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs

# public name -> module under agent_iam.components that defines it (the imports above, for run time)
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

__all__ = [
    "ArgsError",
    "Ec2AgentInstanceProfile",
    "Ec2AgentInstanceProfileArgs",
    "EcsAgentRoles",
    "EcsAgentRolesArgs",
    "IamLimitsArgs",
    "IrsaRole",
    "IrsaRoleArgs",
    "OidcProviderRegistration",
    "OidcProviderRegistrationArgs",
    "OidcRole",
    "OidcRoleArgs",
    "PodIdentityRole",
    "PodIdentityRoleArgs",
    "SaasAccessRole",
    "SaasAccessRoleArgs",
    "ServiceAccountRole",
    "ServiceAccountRoleArgs",
    "ServiceAccountSubjectArgs",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent_iam' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agent_iam.components.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
