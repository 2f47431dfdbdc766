"""agent-iam as a Pulumi component provider, so TypeScript, Go, C#, Java and YAML programs get the
components with `pulumi package add <repository>/provider` (the plugin folder `provider/` at the
repository's root starts `host.serve()`).

The package schema comes from the Pulumi SDK's own analyzer, which reads each component's Args
(TypedDict fields and their docstrings) and its outputs (the annotations of its `...Outputs` mixin),
made readable for other languages by `readable.py`; `host.py` serves it and constructs the components.
`python -m agent_iam.provider.schema` writes it (`make schema` -> build/schema.json).
"""

from __future__ import annotations

from typing import Any

import pulumi

PACKAGE = "agent-iam"


def components() -> list[type[pulumi.ComponentResource]]:
    """Every component the package hosts, in the order the schema lists them."""
    from agent_iam import (
        Ec2AgentInstanceProfile,
        EcsAgentRoles,
        IrsaRole,
        OidcProviderRegistration,
        OidcRole,
        PodIdentityRole,
        SaasAccessRole,
        ServiceAccountRole,
    )

    return [
        EcsAgentRoles, Ec2AgentInstanceProfile, SaasAccessRole, IrsaRole, PodIdentityRole, ServiceAccountRole,
        OidcProviderRegistration, OidcRole,
    ]


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("agent-iam")
    except PackageNotFoundError:
        return "0.0.0"


def with_inherited_descriptions(schema: dict[str, Any], hosted: list[type[pulumi.ComponentResource]]) -> dict[str, Any]:
    """The schema with each Args field's docstring, inherited ones too: the SDK's analyzer reads a field's
    docstring from its own class's source only, so the fields an Args type inherits from a base Args type
    (`RoleArgs`, `ServiceAccountArgs`, ...) are described from the base that declares them."""
    import ast
    import inspect
    import sys

    from pulumi.provider.experimental.analyzer import Analyzer

    reader = Analyzer(PACKAGE)
    parsed: dict[type, Any] = {}  # inspect.getsource parses the whole module again on every call: once a class

    def docstring(args_type: type, field: str) -> str | None:
        if args_type not in parsed:
            (parsed[args_type],) = ast.parse(inspect.getsource(args_type)).body  # TypedDicts keep no bases: read them from source
        node = parsed[args_type]
        own = {getattr(n.target, "id", None) for n in node.body if isinstance(n, ast.AnnAssign)}  # type: ignore[attr-defined]
        if field in own:
            return reader.get_docstring(args_type, field)
        module = vars(sys.modules[args_type.__module__])
        for base in node.bases:  # type: ignore[attr-defined]
            found = module.get(getattr(base, "id", ""))
            if isinstance(found, type) and field in getattr(found, "__annotations__", {}):
                return docstring(found, field)
        return None

    for component in hosted:
        args_type = component.__init__.__annotations__["args"]
        resource = schema["resources"][f"{PACKAGE}:index:{component.__name__}"]
        names = {"".join(w.title() if i else w for i, w in enumerate(f.split("_"))): f for f in args_type.__annotations__}
        for name, prop in resource["inputProperties"].items():
            if not prop.get("description") and name in names:
                description = docstring(args_type, names[name])
                if description:
                    prop["description"] = description
    return schema
