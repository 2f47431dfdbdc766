"""A user-supplied IAM identity policy (`policy:` in an entry), checked before it reaches IAM.

This catches the shape errors (unknown keys, a Principal in an identity policy, an
Allow with NotAction, `Action: "*"`) at load time. Action names, resource types and
condition keys are checked against AWS's service data by the IAM validator.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from agent_iam.iam.arns import covers_every_resource

# Matched whole and ASCII (fullmatch): no trailing newline, no full-width letters.
# IAM reads actions case-insensitively, the service prefix too (`S3:GetObject` is `s3:GetObject`).
ACTION_RE = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+", re.ASCII)
CONDITION_OPERATOR_RE = re.compile(r"(?:ForAllValues:|ForAnyValue:)?[A-Za-z]+", re.ASCII)
RESOURCE_RE = re.compile(r"\*|arn:[^:\s]+:[^:\s]*:[^:\s]*:[^:\s]*:\S+", re.ASCII)

# The policy language version every document agent-iam writes declares (IAM's current one).
VERSION = "2012-10-17"

StrOrList = str | list[str]


def _strings(value: StrOrList | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class PolicyStatement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    Sid: str | None = None
    Effect: Literal["Allow", "Deny"]
    Action: StrOrList | None = None
    NotAction: StrOrList | None = None
    Resource: StrOrList | None = None
    NotResource: StrOrList | None = None
    Condition: dict[str, dict[str, Any]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_principal(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("Principal" in data or "NotPrincipal" in data):
            raise ValueError("an identity policy takes no Principal (who may assume the role is set by the entry)")
        return data

    @field_validator("Sid")
    @classmethod
    def _sid(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]*", value, re.ASCII):
            raise ValueError(f"a Sid holds letters and digits only: {value!r}")
        return value

    @field_validator("Action", "NotAction")
    @classmethod
    def _actions(cls, value: StrOrList | None) -> StrOrList | None:
        for action in _strings(value):
            if action in ("*", "*:*"):
                raise ValueError('Action "*" grants every AWS action; name the actions the agent needs')
            if not ACTION_RE.fullmatch(action):
                raise ValueError(f"not an IAM action (service:Action): {action!r}")
        if value is not None and not _strings(value):
            raise ValueError("an empty action list")
        return value

    @field_validator("Resource", "NotResource")
    @classmethod
    def _resources(cls, value: StrOrList | None) -> StrOrList | None:
        for resource in _strings(value):
            if not RESOURCE_RE.fullmatch(resource):
                raise ValueError(f"not an ARN or '*': {resource!r}")
        if value is not None and not _strings(value):
            raise ValueError("an empty resource list")
        return value

    @field_validator("Condition")
    @classmethod
    def _condition(cls, value: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
        for operator, keys in (value or {}).items():
            if not CONDITION_OPERATOR_RE.fullmatch(operator):
                raise ValueError(f"not a condition operator: {operator!r}")
            if not keys:
                raise ValueError(f"condition {operator!r} names no keys")
        return value

    @model_validator(mode="after")
    def _shape(self) -> PolicyStatement:
        if (self.Action is None) == (self.NotAction is None):
            raise ValueError("a statement needs exactly one of Action or NotAction")
        if (self.Resource is None) == (self.NotResource is None):
            raise ValueError("a statement needs exactly one of Resource or NotResource")
        if self.Effect == "Allow" and (self.NotAction is not None or self.NotResource is not None):
            raise ValueError("Allow with NotAction or NotResource grants everything not listed; use Action and Resource")
        return self

    @property
    def wildcard_resources(self) -> list[str]:
        """The Allow statement's resources that cover every resource of a kind (`*`, `arn:aws:s3:::*/*`,
        `arn:aws:iam::*:role*`), judged by `agent_iam.iam.arns`, not by spelling."""
        if self.Effect != "Allow":
            return []
        return [r for r in _strings(self.Resource) if covers_every_resource(r)]

    @property
    def wildcard_resource(self) -> bool:
        return bool(self.wildcard_resources)


class PolicyDocument(BaseModel):
    """`{"Version": "2012-10-17", "Statement": [...]}`, as IAM takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Version: Literal[VERSION]
    Id: str | None = None
    Statement: list[PolicyStatement]

    @field_validator("Statement", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list) and not value:
            raise ValueError("a policy needs at least one statement")
        return value

    @property
    def wildcard_resource(self) -> bool:
        return any(s.wildcard_resource for s in self.Statement)

    def first_wildcard(self) -> tuple[int, str] | None:
        """(statement index, resource) of the first Allow resource that covers every resource of a kind."""
        for index, statement in enumerate(self.Statement):
            if statement.wildcard_resources:
                return index, statement.wildcard_resources[0]
        return None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
