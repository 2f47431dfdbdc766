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
    ExternalId,
    IamPath,
    KmsKeyArn,
    PolicyArn,
    PrincipalArn,
    PrincipalArnPattern,
    Region,
    RoleArn,
    RoleName,
    S3Location,
    SecretArn,
    account_of_arn,
    s3_location,
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


class AgentSecrets(ConfigModel):
    """`secretArns` / `kmsKeyArns`: the secrets an agent reads, for ECS and EC2 alike."""

    secret_arns: list[SecretArn] = []
    allow_all_secrets: bool = False
    kms_key_arns: list[KmsKeyArn] = []

    @model_validator(mode="after")
    def _check_secrets(self) -> AgentSecrets:
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
        unique_or_raise(self.secret_arns, "secretArns")
        unique_or_raise(self.kms_key_arns, "kmsKeyArns")
        return self


class InlinePolicy(ConfigModel):
    """`policy`: an identity policy for anything the generated statements do not cover."""

    policy: PolicyDocument | None = None
    allow_wildcard_resources: bool = False

    @model_validator(mode="after")
    def _check_policy(self) -> InlinePolicy:
        if self.policy is not None and self.policy.wildcard_resource and not self.allow_wildcard_resources:
            raise KeyedError(
                "policy",
                'an Allow statement has Resource "*"; scope it to ARNs, or set allowWildcardResources: true',
            )
        return self


class EcsAgent(Entry, InlinePolicy, AgentSecrets):
    """`agent-iam:ecsAgents[]`: one agent running as an ECS task."""

    task_role_name: RoleName | None = None
    execution_role_name: RoleName | None = None
    trust_ec2: bool = False
    confused_deputy_conditions: bool = True
    task_role_policy_arns: list[PolicyArn] = []

    @model_validator(mode="after")
    def _check(self) -> EcsAgent:
        unique_or_raise(self.task_role_policy_arns, "taskRolePolicyArns")
        return self


class Ec2Agent(Entry, InlinePolicy, AgentSecrets):
    """`agent-iam:ec2Agents[]`: one agent on EC2 instances, with an instance profile."""

    role_name: RoleName | None = None
    confused_deputy_conditions: bool = True
    policy_arns: list[PolicyArn] = []
    ssm: bool = False

    @model_validator(mode="after")
    def _check(self) -> Ec2Agent:
        unique_or_raise(self.policy_arns, "policyArns")
        for index, arn in enumerate(self.policy_arns):
            if self.ssm and arn.endswith(":iam::aws:policy/AmazonSSMManagedInstanceCore"):
                raise KeyedError(("policyArns", index), "ssm: true already attaches AmazonSSMManagedInstanceCore")
        return self


class Vendor(ConfigModel):
    """`vendor`: who assumes a SaaS role: one of the vendor's roles, or its whole account."""

    principal_arn: PrincipalArn | None = None
    account_id: AccountId | None = None
    principal_arn_patterns: list[PrincipalArnPattern] = []

    @model_validator(mode="after")
    def _check(self) -> Vendor:
        if (self.principal_arn is None) == (self.account_id is None):
            raise ValueError("set exactly one of principalArn (the vendor's role or account root) or accountId")
        if self.principal_arn and not self.whole_account and self.principal_arn_patterns:
            raise KeyedError(
                "principalArnPatterns",
                "narrow a trust in the vendor's whole account; with principalArn naming one role they add nothing "
                "(set accountId instead)",
            )
        account = self.account
        for index, pattern in enumerate(self.principal_arn_patterns):
            if account_of_arn(pattern) != account:
                raise KeyedError(
                    ("principalArnPatterns", index),
                    f"is in account {account_of_arn(pattern)}, not the vendor's account {account}",
                )
        unique_or_raise(self.principal_arn_patterns, "principalArnPatterns")
        return self

    @property
    def account(self) -> str:
        return self.account_id or account_of_arn(self.principal_arn or "")

    @property
    def whole_account(self) -> bool:
        return self.account_id is not None or (self.principal_arn or "").endswith(":root")

    @property
    def key(self) -> str:
        return "accountId" if self.account_id is not None else "principalArn"


class SaasRole(Entry, InlinePolicy):
    """`agent-iam:saasRoles[]`: one vendor's cross-account access."""

    vendor: Vendor
    external_id: ExternalId | None = None
    allow_unconditioned_account_trust: bool = False
    role_name: RoleName | None = None
    s3_read: list[S3Location] = []
    s3_write: list[S3Location] = []
    kms_key_arns: list[KmsKeyArn] = []
    policy_arns: list[PolicyArn] = []
    customer_managed_policy: bool = False

    @model_validator(mode="after")
    def _check(self) -> SaasRole:
        conditioned = bool(self.external_id or self.vendor.principal_arn_patterns)
        if self.vendor.whole_account and not conditioned and not self.allow_unconditioned_account_trust:
            raise KeyedError(
                ("vendor", self.vendor.key),
                f"trusts every principal in account {self.vendor.account} with no condition; set externalId "
                "or vendor.principalArnPatterns, or set allowUnconditionedAccountTrust: true to accept that",
            )
        if self.allow_unconditioned_account_trust and (conditioned or not self.vendor.whole_account):
            raise KeyedError(
                "allowUnconditionedAccountTrust",
                "is true but the trust is not an unconditioned whole-account trust; remove it",
            )
        self._check_locations()
        if self.kms_key_arns and not (self.s3_read or self.s3_write):
            raise KeyedError("kmsKeyArns", "are for SSE-KMS buckets (used through S3 only); list s3Read or s3Write")
        if self.customer_managed_policy and not (self.s3_read or self.s3_write or self.policy):
            raise KeyedError("customerManagedPolicy", "is true but there are no permissions (s3Read, s3Write, policy)")
        unique_or_raise(self.kms_key_arns, "kmsKeyArns")
        unique_or_raise(self.policy_arns, "policyArns")
        return self

    def _check_locations(self) -> None:
        """Each location once: a bucket (or prefix) listed whole covers its prefixes, write covers read."""
        listed = [("s3Write", i, s3_location(v)) for i, v in enumerate(self.s3_write)]
        listed += [("s3Read", i, s3_location(v)) for i, v in enumerate(self.s3_read)]
        earlier: dict[str, list[tuple[str, int, str | None]]] = {}  # by bucket: only the same bucket can cover
        for key, index, (bucket, prefix) in listed:
            for other_key, other_index, other_prefix in earlier.get(bucket, ()):
                covered = other_prefix is None or (prefix or "") == other_prefix or (prefix or "").startswith(
                    other_prefix + "/"
                )
                if covered:
                    where = f"{other_key}[{other_index}]"
                    raise KeyedError((key, index), f"already covered by {where} ({self._location(other_key, other_index)!r})")
            earlier.setdefault(bucket, []).append((key, index, prefix))

    def _location(self, key: str, index: int) -> str:
        return (self.s3_write if key == "s3Write" else self.s3_read)[index]


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
    ec2_agents: list[Ec2Agent] = []
    saas_roles: list[SaasRole] = []

    @model_validator(mode="after")
    def _check_references(self) -> StackConfig:
        for family in ("ecs_agents", "ec2_agents", "saas_roles"):
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
