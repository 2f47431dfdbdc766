"""agent-iam as a Pulumi component provider, so TypeScript, Go, C#, Java and YAML programs get the
components with `pulumi package add <repository>/provider` (the plugin folder `provider/` at the
repository's root starts `host.serve()`).

The package schema comes from the Pulumi SDK's own analyzer, which reads each component's Args
(TypedDict fields and their docstrings) and its outputs (the annotations of its `...Outputs` mixin),
made readable for other languages by `readable.py`; `host.py` serves it and constructs the components.
`python -m agent_iam.provider.schema` writes it (`make schema` -> build/schema.json).
"""

from __future__ import annotations

import pulumi

PACKAGE = "agent-iam"


def components() -> list[type[pulumi.ComponentResource]]:
    """Every component the package hosts, in the order the schema lists them."""
    from agent_iam import (
        Ec2AgentInstanceProfile,
        EcsAgentRoles,
        OidcProviderRegistration,
        OidcRole,
        SaasAccessRole,
        ServiceAccountRole,
    )

    return [EcsAgentRoles, Ec2AgentInstanceProfile, SaasAccessRole, ServiceAccountRole, OidcProviderRegistration, OidcRole]


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("agent-iam")
    except PackageNotFoundError:
        return "0.0.0"
