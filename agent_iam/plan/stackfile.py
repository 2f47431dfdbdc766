"""Read `stacks/Pulumi.<stack>.yaml` as the Pulumi CLI would hand it to the program.

`secure:` values cannot be decrypted offline: each becomes `[secret]` in place and its
top-level key is marked secret, just as the CLI marks it for a real deploy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agent_iam.stack_config import NAMESPACE, REDACTED, ConfigError, stack_file

# libyaml's safe loader when PyYAML was built with it (its wheels are): same documents, ~10x faster.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _redact(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return REDACTED, True
        items = [(k, *_redact(v)) for k, v in value.items()]
        return {k: v for k, v, _ in items}, any(s for _, _, s in items)
    if isinstance(value, list):
        items = [_redact(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def read_stack_file(stacks_dir: Path, stack: str) -> tuple[dict[str, Any], list[str]]:
    """The stack's config (full `namespace:key` keys) and the keys that hold secrets."""
    relative = stack_file(stack)
    path = stacks_dir / Path(relative).name
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in path.parent.glob("Pulumi.*.yaml"))
        raise ConfigError([f"{relative}: no such stack file (stacks: {', '.join(known) or 'none'})"])
    try:
        data = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{relative}: not valid YAML: {exc}"]) from None
    raw = data.get("config") or {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{relative}: config: must be a mapping of keys to values"])
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        full = key if ":" in key else f"{NAMESPACE}:{key}"
        config[full], secret = _redact(value)
        if secret:
            secret_keys.append(full)
    return config, secret_keys
