"""Read and validate a stack's `agent-iam:*` config into typed settings, before any resource exists.

Config flows one way: this package translates config into component Args (each component checks
its own); `__main__.py` builds providers and composes components from them; components never read config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from agent_iam.iam.checks import REDACTED, check_region

from .errors import ConfigError, from_validation_error, key_path
from .models import StackConfig
from .settings import NAMESPACE, StackSettings, Target, Unit, build_settings
from .types import partition_problems

__all__ = [
    "NAMESPACE",
    "REDACTED",
    "ConfigError",
    "StackSettings",
    "Target",
    "Unit",
    "load_settings",
    "load_from_pulumi",
    "stack_file",
]

def stack_file(stack: str) -> str:
    """Where a stack's config lives (`stackConfigDir: stacks` in Pulumi.yaml)."""
    return f"stacks/Pulumi.{stack}.yaml"

def load_settings(
    values: Mapping[str, Any],
    *,
    stack: str,
    region: str | None,
    secret_keys: frozenset[str] = frozenset(),
) -> StackSettings:
    """Validate `agent-iam:*` values (key without namespace -> parsed value) and `aws:region`.

    Raises ConfigError naming the stack file and each bad key; registers nothing.
    """
    source = stack_file(stack)
    problems: list[str] = []
    if not region:
        problems.append(f"{source}: aws:region: required, but not set (e.g. `pulumi config set aws:region us-east-1`)")
    else:
        try:
            check_region(region)
        except ValueError as exc:
            problems.append(f"{source}: aws:region: {exc}")
        else:
            for loc, message in partition_problems(values, region):
                problems.append(f"{source}: {key_path(NAMESPACE, loc)}: {message}")
    try:
        config = StackConfig.model_validate(dict(values))
    except ValidationError as exc:
        problems.extend(from_validation_error(exc, source=source, namespace=NAMESPACE, root=StackConfig).lines)
    if problems:
        raise ConfigError(problems)
    return build_settings(config, stack=stack, source=source, region=region, secret_keys=secret_keys)

def _parse(value: Any) -> Any:
    """Pulumi hands structured config over as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value

def load_from_pulumi() -> StackSettings:
    """Read the running stack's config through the Pulumi SDK (real deploy or mocks)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    prefix = f"{NAMESPACE}:"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    values = {k[len(prefix):]: _parse(runtime_config.get_config(k)) for k in sorted(keys) if k.startswith(prefix)}
    secret = frozenset(k[len(prefix):] for k in keys if k.startswith(prefix) and runtime_config.is_config_secret(k))
    return load_settings(
        values,
        stack=pulumi.get_stack(),
        region=pulumi.Config("aws").get("region"),
        secret_keys=secret,
    )
