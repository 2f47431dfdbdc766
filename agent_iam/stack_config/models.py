"""The stack config schema: one pydantic model per config key, camelCase as in the stack files.

Every model forbids unknown keys, so a typo (`secretArn`, `ecsAgent`) is an error naming the key,
never a silently ignored setting. An entry's keys are its component's Args fields (`ENTRIES`, the
table): the model checks their shape, the component their values (one home for each rule); the keys
the stack itself reads (names, accounts, clusters, modes) are checked here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Required, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr
from pydantic import create_model, field_validator, model_validator
from pydantic.alias_generators import to_camel

from agent_iam import presets
from agent_iam.components.base import check_managed_policy_arn, reserved_tag_problems
from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfileArgs
from agent_iam.components.ecs_agent_roles import EcsAgentRolesArgs
from agent_iam.components.oidc_role import OidcRoleArgs
from agent_iam.components.saas_access_role import SaasAccessRoleArgs
from agent_iam.components.service_account_role import ServiceAccountRoleArgs
from agent_iam.guardrails.acceptance import Key, reason_problem
from agent_iam.guardrails.rules import RULE_NAMES
from agent_iam.iam.arns import account_of
from agent_iam.iam.checks import MAX_SESSION, MIN_SESSION, check_tags
from agent_iam.iam.limits import (
    DEFAULT_MANAGED_POLICIES_PER_ROLE,
    DEFAULT_ROLE_POLICIES_SIZE,
    DEFAULT_TRUST_POLICY_SIZE,
    MAX_MANAGED_POLICIES_PER_ROLE,
    MAX_ROLE_POLICIES_SIZE,
    MAX_TRUST_POLICY_SIZE,
    IamLimits,
)

from .types import AccountId, EksClusterName, EntryName, Flag, IamPath, OidcIssuerUrl, OidcProviderArn, PolicyArn, Region, RoleArn

# A managed policy ARN: well formed, and when it is AWS's, one that exists.
ManagedPolicyArn = Annotated[PolicyArn, AfterValidator(check_managed_policy_arn)]


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
    role_policies_size: int = Field(DEFAULT_ROLE_POLICIES_SIZE, ge=1, le=MAX_ROLE_POLICIES_SIZE)
    managed_policies_per_role: int = Field(DEFAULT_MANAGED_POLICIES_PER_ROLE, ge=1, le=MAX_MANAGED_POLICIES_PER_ROLE)

    def to_iam_limits(self) -> IamLimits:
        return IamLimits(self.trust_policy_size, self.role_policies_size, self.managed_policies_per_role)


class RoleOptions(ConfigModel):
    """Settings every entry may set, overriding `defaults`."""

    path: IamPath | None = None
    permissions_boundary_arn: ManagedPolicyArn | None = None
    tags: dict[str, str] | None = None
    max_session_duration: int | None = Field(None, ge=MIN_SESSION, le=MAX_SESSION)
    protect: Flag | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        """Each map on its own, leaving room for `managed-by` and `stack`, without agent-iam's own keys
        (named where they are set); the merged tags of every role are checked again where the role is built."""
        for problem in reserved_tag_problems(tags):
            raise KeyedError(tuple(problem.field.split(".", 1)[1:]), problem.message)
        return None if tags is None else check_tags(tags, reserved=2)


class Defaults(RoleOptions):
    """`agent-iam:defaults`: stack-wide settings."""

    limits: Limits = Limits()


class Guardrails(ConfigModel):
    """`agent-iam:guardrails`: how strictly the plan enforces the guardrail rules (docs/guardrails.md)."""

    enforcement: Literal["advisory", "mandatory"] = "mandatory"
    rules: dict[str, Literal["advisory", "mandatory", "disabled"]] = {}
    # Boundaries an entry may set instead of defaults.permissionsBoundaryArn (each reviewed).
    permissions_boundaries: list[ManagedPolicyArn] = []
    # False: no entry may accept a finding (`acceptedFindings`); the stack takes no exceptions.
    allow_accepted_findings: Flag = True

    @model_validator(mode="after")
    def _known_rules(self) -> Guardrails:
        for name in self.rules:
            if name not in RULE_NAMES:
                hint = difflib.get_close_matches(name, RULE_NAMES, n=1)
                raise KeyedError(
                    ("rules", name),
                    "unknown rule" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" (rules: {', '.join(RULE_NAMES)})",
                )
        return self


class Account(ConfigModel):
    """`agent-iam:accounts.<name>`: another account the stack deploys into, through a role."""

    role_arn: RoleArn
    region: Region

    @property
    def account_id(self) -> str:
        return account_of(self.role_arn)


class AcceptedFinding(ConfigModel):
    """`acceptedFindings[]`: one finding accepted after review, at one place of the entry's own roles,
    in the shape the plan prints as `acceptAs` (docs/guardrails.md; `guardrails/acceptance.py`):
    `check` (a guardrail rule, a validator or peer-scanner check) and where: `sid`, or `document` with
    `statement` (1-based) or `statements`, or `document` alone (a whole AWS managed policy), and `role`
    when the entry makes several roles."""

    check: str = Field(min_length=1)
    role: str | None = Field(None, min_length=1)
    document: str | None = Field(None, min_length=1)
    sid: str | None = Field(None, min_length=1)
    statement: StrictInt | None = Field(None, ge=1)
    statements: list[StrictInt | StrictStr] = []
    reason: str

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if (problem := reason_problem(value)) is not None:
            raise ValueError(problem)
        return value.strip()

    @model_validator(mode="after")
    def _one_place(self) -> AcceptedFinding:
        problem = self.key.problem()
        if problem:
            raise ValueError(problem)
        return self

    @property
    def key(self) -> Key:
        return Key(self.check, self.role, self.document, self.sid, self.statement, tuple(self.statements))


class Entry(RoleOptions):
    """Fields every component entry has. The keys of its preset's parameters (`hostedZoneIds`, `clusterName`)
    are written on the entry itself and read as its `presetParameters`."""

    name: EntryName
    account: str | None = None
    former_names: list[EntryName] = []
    accepted_findings: list[AcceptedFinding] = []
    # Policy documents as files, relative to the stack file's folder (stack_config/policy_files.py).
    policy_files: list[StrictStr] = []

    @model_validator(mode="before")
    @classmethod
    def _preset_parameters(cls, data: Any) -> Any:
        """The keys of the named preset's parameters, moved under `presetParameters` (where the component takes
        them); any other unknown key stays an error."""
        if not isinstance(data, dict) or not isinstance(data.get("preset"), str) or "presetParameters" not in cls._aliases():
            return data
        try:
            preset = presets.load(data["preset"])
        except KeyError:
            return data  # the component names the unknown preset
        keys = [p.key for p in preset.parameters if p.key in data and p.key not in cls._aliases()]
        if not keys:
            return data
        given = data.get("presetParameters")
        if given is not None and not isinstance(given, dict):
            return data  # said as presetParameters' own type error
        moved = {**(given or {}), **{key: data[key] for key in keys}}
        return {**{k: v for k, v in data.items() if k not in keys}, "presetParameters": moved}

    @classmethod
    def _aliases(cls) -> frozenset[str]:
        return frozenset(f.alias or n for n, f in cls.model_fields.items())

    @field_validator("accepted_findings")
    @classmethod
    def _one_acceptance_per_finding(cls, value: list[AcceptedFinding]) -> list[AcceptedFinding]:
        seen: set[tuple[Any, ...]] = set()
        for index, accepted in enumerate(value):
            if accepted.key.identity() in seen:
                raise KeyedError((index,), f"accepts {accepted.key.text()} twice")
            seen.add(accepted.key.identity())
        return value


class Vendor(ConfigModel):
    """`vendor`: who assumes a SaaS role: one of the vendor's roles (or users), or its whole account."""

    principal_arn: str | None = None
    account_id: str | None = None
    principal_arn_patterns: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> Vendor:
        if (self.principal_arn is None) == (self.account_id is None):
            raise ValueError("set exactly one of principalArn (the vendor's role or account root) or accountId")
        return self


class SecretRef(ConfigModel):
    """`secret`: a Kubernetes Secret with `AWS_REGION` and `AWS_ROLE_ARN` (the Causely guide's `aws-secret`)."""

    name: str
    namespace: str | None = None  # default: the entry's namespace


class ServiceAccountSubject(ConfigModel):
    """One more service account an IRSA role trusts (`subjects[]`)."""

    cluster: str
    namespace: str
    service_account: str


class SaasKeys(Entry):
    """What a `saasRoles` entry says of its own, besides its component's Args: the vendor."""

    vendor: Vendor | None = None  # required, unless a preset names the vendor's account

    @model_validator(mode="after")
    def _vendor(self) -> SaasKeys:
        if self.vendor is None and getattr(self, "preset", None) is None:
            raise KeyedError("vendor", "required, but not set")
        return self


class Ec2Keys(Entry):
    """A key `ec2Agents` entries had, refused with what to write instead."""

    confused_deputy_conditions: Flag | None = None  # replaced by sourceAccountCondition (see _check)

    @model_validator(mode="after")
    def _check(self) -> Ec2Keys:
        if self.confused_deputy_conditions is not None:
            raise KeyedError(
                "confusedDeputyConditions",
                "AWS documents the EC2 trust without aws:SourceAccount/aws:SourceArn, and agent-iam no longer adds "
                "them by default (a condition EC2 does not send would keep the instance from getting credentials); "
                "remove this key, or set sourceAccountCondition: true to pin aws:SourceAccount anyway",
            )
        return self


class ServiceAccountKeys(Entry):
    """What a `serviceAccounts` entry says of its own: its mode (the component), its cluster(s), its Secret."""

    mode: Literal["irsa", "pod-identity"]
    cluster: str
    subjects: list[ServiceAccountSubject] = []
    secret: SecretRef | None = None

    def clusters(self) -> list[tuple[tuple[str | int, ...], str]]:
        """`(key prefix, cluster)` of the entry and of each of its `subjects`."""
        return [((), self.cluster)] + [(("subjects", i), s.cluster) for i, s in enumerate(self.subjects)]


def _numeric_id(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"is the repository's numeric ID, not {value!r}")
    return str(value) if isinstance(value, int) else value  # YAML may write it as a number


class OidcKeys(Entry):
    """What the stack reads of an `oidcRoles` entry: its provider's ARN; a repository ID YAML may write as a number."""

    oidc_provider_arn: OidcProviderArn | None = None  # read by the stack: its issuer's provider in its account
    repository_id: Annotated[Optional[str], BeforeValidator(_numeric_id)] = None


@dataclass(frozen=True)
class Family:
    """One `agent-iam:<key>[]` family: its component's Args, the entry's own keys (`base`), the keys of
    mappings in it (`nested`: key path -> field) and the fields the stack fills from elsewhere (`filled`)."""

    args: type
    base: type = Entry
    nested: tuple[tuple[str, str], ...] = ()
    filled: tuple[str, ...] = ()


# Filled by every family from the stack: the target account, its region, `defaults.limits`, the documents
# of `policyFiles`, and `guardrails` (off in the component: the plan and the policy pack judge the whole stack,
# with its levels and each entry's `acceptedFindings`, which is the entry's own key).
FILLED = ("account_id", "region", "iam_limits", "policy_documents", "guardrails")
ENTRIES: dict[str, Family] = {
    "ecsAgents": Family(EcsAgentRolesArgs, filled=("agent_environment",)),
    "ec2Agents": Family(Ec2AgentInstanceProfileArgs, Ec2Keys),
    "saasRoles": Family(
        SaasAccessRoleArgs, SaasKeys,
        (("vendor.principalArn", "principal_arn"), ("vendor.accountId", "vendor_account_id"),
         ("vendor.principalArnPatterns", "principal_arn_patterns")),
        ("external_id_secret",),
    ),
    "serviceAccounts": Family(
        ServiceAccountRoleArgs, ServiceAccountKeys, (("secret.name", "secret_name"), ("secret.namespace", "secret_namespace")),
        ("oidc_provider_arn", "oidc_issuer", "eks_cluster_name", "cluster_account_id"),
    ),
    "oidcRoles": Family(OidcRoleArgs, OidcKeys),
}


def _shape(annotation: Any) -> Any:
    """The stack file's type of an Args field: its value, never another resource's output (`Input[T]` is
    T), true/false as a Flag, a policy document as a mapping; the component checks the value itself."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is Required:  # pulumi.Input[T]: T, Awaitable[T] or Output[T]
        return _shape(args[0])
    if origin is list:
        return list[_shape(args[0])]
    if origin is dict:
        return dict[str, _shape(args[1])]
    return Flag if annotation is bool else annotation


def _entry_model(key: str, family: Family) -> type[Entry]:
    """The model of one family's entry: its base's keys, and one key per Args field of its component."""
    nested = {field for _, field in family.nested}
    taken = set(family.base.model_fields) | nested | set(FILLED) | set(family.filled)
    fields = {
        name: (Optional[_shape(annotation)], None)
        for name, annotation in family.args.__annotations__.items()
        if name not in taken
    }
    doc = f"`agent-iam:{key}[]`: one entry, key for key the Args of its component ({family.args.__name__})."
    return create_model(f"{key[0].upper()}{key[1:-1]}Entry", __base__=family.base, __doc__=doc, **fields)


EcsAgent, Ec2Agent, SaasRole, ServiceAccount, OidcRole = (_entry_model(k, f) for k, f in ENTRIES.items())


class Cluster(ConfigModel):
    """`agent-iam:clusters.<key>`: an EKS cluster whose service accounts get roles (the components'
    `OidcProviders` judge its issuer and providers).

    IRSA needs the cluster's OIDC issuer (`oidcIssuerUrl`, or an existing provider's ARN);
    Pod Identity needs only the cluster's `name` and account.
    """

    name: EksClusterName | None = None  # the EKS cluster name; default: the key
    account: str | None = None  # the account the cluster runs in; default: the stack's
    # The region the cluster runs in, when it is not its account's: the Pod Identity association is created
    # there (through a provider of that region, with the account's own credentials; no `accounts` entry).
    region: Region | None = None
    oidc_issuer_url: OidcIssuerUrl | None = None
    oidc_provider_arn: OidcProviderArn | None = None  # an existing provider in the cluster's account
    oidc_provider_arns: dict[str, OidcProviderArn] = {}  # existing providers in other accounts, by account name
    register_oidc_provider: Flag = False  # create the provider in the cluster's own account too
    kubeconfig: str | None = None  # kubeconfig contents (a secure value) for the Kubernetes provider
    kube_context: str | None = None  # a context of the kubeconfig (ambient when no kubeconfig)


class StackConfig(ConfigModel):
    """Every `agent-iam:*` key of a stack file."""

    account_id: AccountId
    defaults: Defaults = Defaults()
    guardrails: Guardrails = Guardrails()
    accounts: dict[EntryName, Account] = {}
    ecs_agents: list[EcsAgent] = []
    ec2_agents: list[Ec2Agent] = []
    saas_roles: list[SaasRole] = []
    clusters: dict[EntryName, Cluster] = {}
    service_accounts: list[ServiceAccount] = []
    oidc_roles: list[OidcRole] = []

    @model_validator(mode="after")
    def _check_references(self) -> StackConfig:
        self._check_clusters()
        self._check_acceptances()
        for family in ("ecs_agents", "ec2_agents", "saas_roles", "service_accounts", "oidc_roles"):
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
        for index, entry in enumerate(self.service_accounts):
            for prefix, cluster in entry.clusters():
                if cluster not in self.clusters:
                    known = ", ".join(sorted(self.clusters)) or "none are defined in agent-iam:clusters"
                    raise KeyedError(
                        ("serviceAccounts", index, *prefix, "cluster"), f"unknown cluster {cluster!r} (known: {known})"
                    )
        return self

    def _check_acceptances(self) -> None:
        if self.guardrails.allow_accepted_findings:
            return
        for family in ("ecs_agents", "ec2_agents", "saas_roles", "service_accounts", "oidc_roles"):
            for index, entry in enumerate(getattr(self, family)):
                if entry.accepted_findings:
                    raise KeyedError(
                        (to_camel(family), index, "acceptedFindings"),
                        "this stack takes no exceptions (agent-iam:guardrails.allowAcceptedFindings: false); "
                        "change the policy so the finding goes away",
                    )
                preset = getattr(entry, "preset", None)
                if preset and presets.load(preset).accepted_findings:
                    raise KeyedError(
                        (to_camel(family), index, "preset"),
                        f"preset {preset} carries reviewed acceptances of the vendor's documented policy, and this "
                        "stack takes no exceptions (agent-iam:guardrails.allowAcceptedFindings: false); write the "
                        "entry without the preset, narrower than the vendor documents",
                    )

    def account_id_of(self, account: str | None) -> str:
        """The ID of an `accounts` entry, or of the stack's own account (None)."""
        return self.account_id if account is None else self.accounts[account].account_id

    def _check_clusters(self) -> None:
        known = ", ".join(sorted(self.accounts)) or "none are defined in agent-iam:accounts"
        for key, cluster in self.clusters.items():
            for where, account in [("account", cluster.account), *((("oidcProviderArns", a), a) for a in cluster.oidc_provider_arns)]:
                if account is not None and account not in self.accounts:
                    raise KeyedError(("clusters", key, *((where,) if isinstance(where, str) else where)),
                                     f"unknown account {account!r} (known: {known})")
