"""Pydantic's validation errors as sentences naming the key: what a stack file's and a policy
document's problems read like (the stack config and the components' policy check both use it).

An unknown key says which the model accepts, with the one it most resembles; a value of the wrong kind
says its kind in YAML words; a value is quoted, except under a sensitive key (an external ID).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from agent_iam.iam.checks import QUOTE_HINT  # the one spelling of the hint

# Keys whose values are never echoed back in an error.
SENSITIVE_KEYS = {"externalId", "kubeconfig"}


def _kind_of(value: Any) -> str:
    """A value's kind in YAML words (a number, true/false, a list, text, ...)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _model_in(annotation: Any) -> Any:
    """Strip Optional/Annotated so a walk can step into lists, dicts and models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model_in(members[0]) if len(members) == 1 else annotation
    return annotation


def allowed_keys(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model at `loc` accepts (for 'did you mean' hints)."""
    current: Any = root
    for part in loc:
        current = _model_in(current)
        origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or n: f for n, f in current.model_fields.items()}
            if part not in fields:
                return []
            current = fields[part].annotation
        elif origin in (list, tuple):
            current = typing.get_args(current)[0]
        elif origin is dict:
            current = typing.get_args(current)[1]
        else:
            return []
    current = _model_in(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def describe(error: dict[str, Any], root: type[BaseModel]) -> tuple[tuple[str | int, ...], str]:
    """One pydantic error as (location, plain message)."""
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if original is not None and hasattr(original, "key"):
        loc = loc + tuple(original.key)
    if kind == "extra_forbidden":
        *parent, key = loc
        allowed = allowed_keys(root, parent)
        hint = difflib.get_close_matches(str(key), allowed, n=1)
        message = "unknown key" + (f"; did you mean {hint[0]!r}?" if hint else "")
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
        return loc, message
    if kind == "missing":
        return loc, "required, but not set"
    value = error.get("input")
    if kind in ("model_type", "dict_type", "list_type"):
        shape = "a list" if kind == "list_type" else "a mapping of keys to values"
        if value is None or value == "":
            return loc, f"is empty (null); give {shape}, or remove the key"
        return loc, f"must be {shape} (got {_kind_of(value)})"
    sensitive = any(str(p) in SENSITIVE_KEYS for p in loc)
    if kind == "string_type" and isinstance(value, (bool, int, float)):
        got = "" if sensitive else f" (got {value!r})"
        return loc, f"must be text, not {_kind_of(value)}: {QUOTE_HINT}{got}"
    if kind == "string_type" and isinstance(value, (list, tuple, dict)):
        return loc, f"must be text, not {_kind_of(value)}" + ("" if sensitive else f" (got {_short(value)})")
    message = str(original) if original is not None else error["msg"]
    if original is None and not sensitive:
        if isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 120:
            message += f" (got {value!r})"
        elif value is not None:
            message += f" (got {_kind_of(value)}: {_short(value)})"
    return loc, message


def _short(value: Any, limit: int = 120) -> str:
    """A value as an error shows it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
