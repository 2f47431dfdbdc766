"""Config errors that name the stack file and the exact key, and read like a sentence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pulumi
from pydantic import BaseModel, ValidationError

from agent_iam.components._explain import describe


class ConfigError(pulumi.RunError):
    """Bad stack config. A `pulumi.RunError`, so `pulumi up` prints the message, not a traceback."""

    def __init__(self, lines: Sequence[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


def key_path(namespace: str, loc: Iterable[str | int]) -> str:
    """`("ecsAgents", 0, "secretArns", 1)` -> `agent-iam:ecsAgents[0].secretArns[1]`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return f"{namespace}:{text}"


def from_validation_error(
    exc: ValidationError, *, source: str, namespace: str, root: type[BaseModel], prefix: Sequence[str | int] = ()
) -> ConfigError:
    lines: dict[str, None] = {}  # in order, each line once
    for error in exc.errors():
        loc, message = describe(error, root)
        lines[f"{source}: {key_path(namespace, (*prefix, *loc))}: {message}"] = None
    return ConfigError(list(lines))
