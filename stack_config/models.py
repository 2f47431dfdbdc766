"""The stack config schema: one pydantic model per config key, camelCase as in the stack files.

Every model forbids unknown keys, so a typo (`secretArn`, `ecsAgent`) is an error
naming the key, never a silently ignored setting.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from components.role import (
    DEFAULT_MANAGED_POLICIES_PER_ROLE,
    DEFAULT_ROLE_POLICIES_SIZE,
    DEFAULT_TRUST_POLICY_SIZE,
    MAX_MANAGED_POLICIES_PER_ROLE,
    MAX_TRUST_POLICY_SIZE,
    IamLimits,
)

from .policy_document import PolicyDocument
from .types import (
    AccountId,
    EntryName,
    IamPath,
    KmsKeyArn,
    PolicyArn,
    Region,
    RoleArn,
    RoleName,
    SecretArn,
    account_of_arn,
)

MIN_SESSION, MAX_SESSION = 3600, 43200
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256


class KeyedError(ValueError):
    """A model-level error that belongs to one of the model's keys (e.g. `name`)."""

    def __init__(self, key: str | tuple[str | int, ...], message: str):
        super().__init__(message)
        self.key = (key,) if isinstance(key, str) else key


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


class Limits(ConfigModel):
    """IAM quotas of the account, when it has had them raised."""

    trust_policy_size: int = Field(DEFAULT_TRUST_POLICY_SIZE, ge=1, le=MAX_TRUST_POLICY_SIZE)
    role_policies_size: int = Field(DEFAULT_ROLE_POLICIES_SIZE, ge=1, le=DEFAULT_ROLE_POLICIES_SIZE)
    managed_policies_per_role: int = Field(DEFAULT_MANAGED_POLICIES_PER_ROLE, ge=1, le=MAX_MANAGED_POLICIES_PER_ROLE)

    def to_iam_limits(self) -> IamLimits:
        return IamLimits(self.trust_policy_size, self.role_policies_size, self.managed_policies_per_role)


class RoleOptions(ConfigModel):
    """Settings every entry may set, overriding `defaults`."""

    path: IamPath | None = None
    permissions_boundary_arn: PolicyArn | None = None
    tags: dict[str, str] | None = None
    max_session_duration: int | None = Field(None, ge=MIN_SESSION, le=MAX_SESSION)
    protect: bool | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        for key, value in (tags or {}).items():
            if not 1 <= len(key) <= MAX_TAG_KEY or key.lower().startswith("aws:"):
                raise ValueError(f"tag keys are 1 to {MAX_TAG_KEY} characters and may not start with 'aws:': {key!r}")
            if len(value) > MAX_TAG_VALUE:
                raise ValueError(f"tag {key!r}: values are at most {MAX_TAG_VALUE} characters")
        if tags and len(tags) > MAX_TAGS - 2:
            raise ValueError(f"at most {MAX_TAGS - 2} tags (IAM allows {MAX_TAGS}; agent-iam adds two)")
        return tags


class Defaults(RoleOptions):
    """`agent-iam:defaults`: stack-wide settings."""

    limits: Limits = Limits()


class Account(ConfigModel):
    """`agent-iam:accounts.<name>`: another account the stack deploys into, through a role."""

    role_arn: RoleArn
    region: Region

    @property
    def account_id(self) -> str:
        return account_of_arn(self.role_arn)


class Entry(RoleOptions):
    """Fields every component entry has."""

    name: EntryName
    account: str | None = None
    former_names: list[EntryName] = []


class EcsAgent(Entry):
    """`agent-iam:ecsAgents[]`: one agent running as an ECS task."""

    task_role_name: RoleName | None = None
    execution_role_name: RoleName | None = None
    trust_ec2: bool = False
    confused_deputy_conditions: bool = True
    task_role_policy_arns: list[PolicyArn] = []
    policy: PolicyDocument | None = None
    allow_wildcard_resources: bool = False
    secret_arns: list[SecretArn] = []
    allow_all_secrets: bool = False
    kms_key_arns: list[KmsKeyArn] = []

    @model_validator(mode="after")
    def _check(self) -> EcsAgent:
        if "*" in self.secret_arns:
            if not self.allow_all_secrets:
                raise KeyedError(
                    ("secretArns", self.secret_arns.index("*")),
                    "'*' lets the agent read every secret in the account; list the agent's secret ARNs, "
                    "or set allowAllSecrets: true to accept that",
                )
            if len(self.secret_arns) > 1:
                raise KeyedError("secretArns", "'*' already covers every secret; list it alone")
        elif self.allow_all_secrets:
            raise KeyedError("allowAllSecrets", "is true but secretArns does not contain '*'")
        if self.policy is not None and self.policy.wildcard_resource and not self.allow_wildcard_resources:
            raise KeyedError(
                "policy",
                'an Allow statement has Resource "*"; scope it to ARNs, or set allowWildcardResources: true',
            )
        unique_or_raise(self.task_role_policy_arns, "taskRolePolicyArns")
        unique_or_raise(self.secret_arns, "secretArns")
        unique_or_raise(self.kms_key_arns, "kmsKeyArns")
        return self


def unique_or_raise(values: list[Any], key: str) -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise KeyedError((key, index), f"listed twice: {value!r}")
        seen.add(value)


class StackConfig(ConfigModel):
    """Every `agent-iam:*` key of a stack file."""

    account_id: AccountId
    defaults: Defaults = Defaults()
    accounts: dict[EntryName, Account] = {}
    ecs_agents: list[EcsAgent] = []

    @model_validator(mode="after")
    def _check_references(self) -> StackConfig:
        for family in ("ecs_agents",):
            entries = getattr(self, family)
            key = to_camel(family)
            seen: set[str] = set()
            for index, entry in enumerate(entries):
                if entry.name in seen:
                    raise KeyedError((key, index, "name"), f"another entry is already named {entry.name!r}")
                seen.add(entry.name)
                if entry.account is not None and entry.account not in self.accounts:
                    known = ", ".join(sorted(self.accounts)) or "none are defined in agent-iam:accounts"
                    raise KeyedError(
                        (key, index, "account"), f"unknown account {entry.account!r} (known: {known})"
                    )
        return self
