"""Translate a validated stack config into components: each entry's keys into its component's Args
through one table (`models.ENTRIES`), the stack-wide defaults, and the checks only a whole stack can make.

The components decide: each entry's Args are checked by its component's own `check`, with the
stack's voice (the config key in place of the Args field, in the same sentence), and the plan it
works out is what `__main__.py` registers. Which IAM OIDC provider a role trusts is decided by the
components' `OidcProviders`. What only the stack knows is checked here, as data: a role name once
per account, a Kubernetes object or Pod Identity association claimed by one entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from agent_iam.components import oidc_role, service_account_role
from agent_iam.components._service_account import ServiceAccountRef
from agent_iam.components._contract import ArgsError, Voice
from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfile
from agent_iam.components.ecs_agent_roles import EcsAgentRoles
from agent_iam.components.oidc_provider_registration import OidcProviderRegistrationArgs, OidcProviders
from agent_iam.components.role import PlannedRole
from agent_iam.components.saas_access_role import SaasAccessRole
from agent_iam.guardrails import rules as guardrail_rules
from agent_iam.guardrails.acceptance import KEY_FIELDS, Key
from agent_iam.iam.checks import REDACTED
from agent_iam.iam.limits import IamLimits
from agent_iam.iam.tags import MANAGED_BY_TAGS, STACK_TAG

from . import policy_documents, policy_files
from .errors import ConfigError, key_path
from .models import ENTRIES, AcceptedFinding, Account, Cluster, Entry, Guardrails, StackConfig


def _key_of(item: Any) -> Key:
    """The acceptance key of a preset's acceptance (a model with some of the key's fields)."""
    return Key.of({name: getattr(item, name, None) for name in KEY_FIELDS})


class PresetAcceptance(AcceptedFinding):
    """A reviewed acceptance that comes with a vendor preset (docs/presets.md), not from the stack file."""

    preset: str  # `<vendor>@<version>`


NAMESPACE = "agent-iam"

# The families: config key -> the component whose `check` judges an entry (serviceAccounts: by `mode`).
FAMILIES: dict[str, Any] = {
    "ecsAgents": EcsAgentRoles,
    "ec2Agents": Ec2AgentInstanceProfile,
    "saasRoles": SaasAccessRole,
    "serviceAccounts": service_account_role,
    "oidcRoles": oidc_role.OidcRole,
}

# The table from keys to Args fields (models.ENTRIES): an entry's key `fooBar` is its component's field
# `foo_bar`, a key of a mapping in it is the field `nested` names, and a stack-wide key fills a field of
# every entry's: `defaults.limits` is `iam_limits`.
STACK_KEYS = {"defaults.limits": "iam_limits"}
# Args fields an entry writes under other keys: its `policyFiles` are read into `policy_documents` (one document
# per file, in order), and its preset's parameters are keys of the entry itself.
FILE_FIELD, PARAMETERS_FIELD = "policy_documents", "preset_parameters"
# Args fields that are mappings of the user's own keys (tags, token claims, session tags, annotations).
USER_KEYED = frozenset({"tags", "claims", "session_tags", "agent_environment", "service_account_annotations"})
# Role settings an entry takes from `agent-iam:defaults` when it does not set them.
DEFAULTED = ("path", "permissions_boundary_arn", "max_session_duration", "protect")


@dataclass(frozen=True)
class Target:
    """The account (and region) an entry's resources are created in."""

    account_key: str | None  # None: the stack's own account
    account_id: str
    region: str


@dataclass(frozen=True)
class Unit:
    """One component to register: its config key, logical name, target, component and checked plan."""

    key: str  # e.g. "agent-iam:ecsAgents[0]"
    name: str
    target: Target
    component: type[pulumi.ComponentResource]
    args: Mapping[str, Any]  # the entry's Args, which its plan was checked for
    plan: Any = field(default=None, compare=False)  # the component's checked plan, which its constructor registers
    former_names: tuple[str, ...] = ()
    cluster: str | None = None  # serviceAccounts: the entry's cluster (Kubernetes provider, Pod Identity association)
    cluster_account: str | None = None  # serviceAccounts: the account key of the cluster (its AWS provider)
    cluster_region: str | None = None  # serviceAccounts: the cluster's region, when it is not its account's
    depends_on: tuple[str, ...] = ()  # names of the OIDC provider registrations its trust names
    # The entry's reviewed exceptions (`acceptedFindings`, and its preset's), matched against the plan's findings.
    accepted_findings: tuple[AcceptedFinding, ...] = ()

    @property
    def roles(self) -> tuple[PlannedRole, ...]:
        return tuple(self.plan.roles())

    def advisory_texts(self) -> list[str]:
        """What the entry's component says loudly when it registers, in order."""
        return self.plan.advisory_texts()


@dataclass(frozen=True)
class OidcRegistration:
    """One OIDC issuer's provider to register in one account (shared by every role there)."""

    key: str  # the first config entry that needs it
    name: str  # <cluster>-oidc-<account id>, or oidc-<issuer>-<account id>
    target: Target
    args: OidcProviderRegistrationArgs


@dataclass(frozen=True)
class StackSettings:
    stack: str
    account_id: str
    region: str
    accounts: Mapping[str, Account]
    ecs_agents: Sequence[Unit] = ()
    ec2_agents: Sequence[Unit] = ()
    saas_roles: Sequence[Unit] = ()
    service_accounts: Sequence[Unit] = ()
    oidc_roles: Sequence[Unit] = ()
    clusters: Mapping[str, Cluster] = field(default_factory=dict)
    oidc_providers: Sequence[OidcRegistration] = ()
    kubernetes_clusters: Sequence[str] = ()  # clusters agent-iam creates Kubernetes objects in
    guardrails: Guardrails = Guardrails()
    limits: IamLimits = IamLimits()
    # The stack's permissions boundary and those guardrails.permissionsBoundaries allow instead.
    boundary_arns: tuple[str, ...] = ()
    boundary_required: bool = False  # the stack sets defaults.permissionsBoundaryArn

    def units(self) -> list[Unit]:
        return [*self.ecs_agents, *self.ec2_agents, *self.saas_roles, *self.service_accounts, *self.oidc_roles]

    def guardrail_context(self) -> guardrail_rules.Context:
        """What the guardrail rules need to judge this stack's resources, at its enforcement levels."""
        return guardrail_rules.Context(
            account_id=self.account_id,
            boundary_arns=self.boundary_arns,
            boundary_required=self.boundary_required,
            limits=self.limits,
            enforcement=self.guardrails.enforcement,
            rules=dict(self.guardrails.rules),
        )


# --- the table, both ways ---------------------------------------------------------------------

_SEGMENT = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def config_key(family: str, field_name: str) -> str:
    """The key of an Args field, by the table: `vendor_account_id` -> `vendor.accountId`,
    `subjects[0].service_account` -> `subjects[0].serviceAccount`, and a stack-wide one from the
    namespace: `iam_limits.trust_policy_size` -> `:defaults.limits.trustPolicySize`. IAM's own keys
    (`Statement`, `Resource`) and annotation names keep their spelling."""
    head, dot, rest = field_name.partition(".")
    name, bracket, index = head.partition("[")
    if name == FILE_FIELD:
        return "policyFiles" + bracket + index
    if name == PARAMETERS_FIELD and rest:
        return rest
    if name in USER_KEYED:  # a mapping whose keys are the user's (a tag, a claim): kept as written
        return to_camel(name) + bracket + index + dot + rest
    keys = {f: k for k, f in ENTRIES[family].nested}
    stack_wide = {f: k for k, f in STACK_KEYS.items()}
    key = stack_wide.get(name) or keys.get(name) or to_camel(name)
    rest = _SEGMENT.sub(lambda m: to_camel(m.group(0)), rest)
    text = key + bracket + index + dot + rest
    return f":{text}" if name in stack_wide else text


def problem_lines(source: str, unit_key: str, family: str, error: ArgsError) -> list[str]:
    """A component's problems as config errors: the stack file, the key, the same sentence."""

    def spell(field_name: str) -> str:
        return config_key(family, field_name).lstrip(":")

    lines = []
    for problem in error.problems:
        message = problem.render(spell)
        if not problem.field:
            lines.append(f"{source}: {unit_key}: {message}")
            continue
        key = config_key(family, problem.field)
        where = f"{NAMESPACE}:{key[1:]}" if key.startswith(":") else f"{unit_key}.{key}"
        lines.append(f"{source}: {where}: {message}")
    return lines


def _plain(value: Any) -> Any:
    """A parsed config value as Args hold it: models as their mappings (keys as set), lists and mappings as such."""
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in value.model_fields if getattr(value, k) is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def entry_args(family: str, entry: Entry) -> dict[str, Any]:
    """The keys the entry sets, as its component's Args fields, by the table (nothing it leaves out:
    the component applies its own defaults)."""
    args: dict[str, Any] = {}
    fields, nested = ENTRIES[family].args.__annotations__, dict(ENTRIES[family].nested)
    for name in entry.model_fields_set:
        value = getattr(entry, name)
        if name == "policy":  # IAM's `Null` operator, pasted unquoted, as the Pulumi CLI passes it
            value = policy_documents.with_null_operator(value)
        if name in fields:
            args[name] = _plain(value)
        elif isinstance(value, BaseModel):  # a mapping whose keys are fields (`vendor`, `secret`)
            for sub in value.model_fields_set:
                key = f"{to_camel(name)}.{to_camel(sub)}"
                if key in nested:
                    args[nested[key]] = _plain(getattr(value, sub))
    return args


# --- the stack ------------------------------------------------------------------------------------


class _Stack:
    def __init__(self, config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str]):
        self.config = config
        self.stack = stack
        self.source = source
        self.region = region
        self.secret_keys = secret_keys
        self.defaults = config.defaults
        self.problems: list[str] = []
        self.claimed: dict[tuple[str, ServiceAccountRef], str] = {}  # (kind, object) -> the key that creates it
        self.stack_tags = {**(self.defaults.tags or {}), **MANAGED_BY_TAGS, STACK_TAG: stack}
        self.oidc = OidcProviders(tags=self.stack_tags, protect=bool(self.defaults.protect))
        for key, cluster in config.clusters.items():
            problems = self.oidc.cluster(
                key,
                name=cluster.name or key,
                account_id=config.account_id_of(cluster.account),
                oidc_issuer_url=cluster.oidc_issuer_url,
                oidc_provider_arn=cluster.oidc_provider_arn,
                oidc_provider_arns={a: (config.accounts[a].account_id, arn) for a, arn in cluster.oidc_provider_arns.items()},
                register_oidc_provider=cluster.register_oidc_provider,
            )
            for problem in problems:
                head, _, rest = problem.field.partition(".")
                where = key_path(NAMESPACE, ("clusters", key, *([to_camel(head)] if head else []), *([rest] if rest else [])))
                self.problems.append(f"{source}: {where}: {problem.render(to_camel)}")
        if self.problems:
            raise ConfigError(self.problems)
        for entry in config.oidc_roles:
            if entry.oidc_provider_arn:
                self.oidc.known(entry.oidc_provider_arn)

    def target(self, account_key: str | None) -> Target:
        if account_key is None:
            return Target(None, self.config.account_id, self.region)
        account = self.config.accounts[account_key]
        return Target(account_key, account.account_id, account.region)

    def args(self, family: str, entry: Entry, target: Target) -> dict[str, Any]:
        """The entry's Args: its keys by the table, over the stack's defaults, in its target account. The
        component does not judge itself (`guardrails`): the plan and the policy pack judge the whole stack, at
        its levels and with the entries' `acceptedFindings` (the entry's own, not the component's)."""
        d = self.defaults
        args = {
            "account_id": target.account_id,
            "region": target.region,
            **{name: getattr(d, name) for name in DEFAULTED if getattr(d, name) is not None},
            **{k: v for k, v in entry_args(family, entry).items() if k != "accepted_findings"},
            "tags": {**(d.tags or {}), **(entry.tags or {}), **MANAGED_BY_TAGS, STACK_TAG: self.stack},
            "guardrails": {"enforcement": "disabled"},
        }
        if "limits" in d.model_fields_set:
            args["iam_limits"] = _plain(d.limits)
        return args

    def unit(
        self, family: str, index: int, entry: Entry, args: Mapping[str, Any], target: Target,
        unsaid: tuple[str, ...] = (), **extra: Any,
    ) -> Unit | None:
        """The entry's component with its plan, checked by the component itself (problems collected, but
        those of the `unsaid` fields, whose cause the stack has said already)."""
        key = key_path(NAMESPACE, (family, index))
        voice = Voice(f"{key} ({entry.name})", lambda name: config_key(family, name).lstrip(":"))
        judge = FAMILIES[family]
        try:
            plan = judge.check(entry.name, args, voice=voice)
        except ArgsError as error:
            error.problems = [p for p in error.problems if p.field.rsplit(".", 1)[-1] not in unsaid]
            self.problems.extend(problem_lines(self.source, key, family, error))
            return None
        component = service_account_role.component_of(plan) if judge is service_account_role else judge
        # A document placed in a customer managed policy is named `<role>-<document>` there: an acceptance may
        # name it by its file's name too.
        managed = {p["document"]: p["policy"] for p in plan.placements() if p["policy"] != p["document"]}
        accepted = tuple(
            a.model_copy(update={"document": managed[a.document]}) if a.document in managed else a
            for a in entry.accepted_findings
        )
        own = {a.key.identity() for a in accepted}
        preset = [
            PresetAcceptance(**_key_of(f).to_dict(), reason=f"preset {plan.preset.label}: {f.reason}", preset=plan.preset.label)
            for f in plan.preset_acceptances()
            if _key_of(f).identity() not in own
        ]
        return Unit(
            key, entry.name, target, component, plan.given, plan, tuple(entry.former_names),
            accepted_findings=(*preset, *accepted), **extra,
        )

    def entry(self, family: str, index: int, entry: Entry) -> Unit | None:
        target = self.target(entry.account)
        args = self.args(family, entry, target)
        if entry.policy_files:
            documents, problems = policy_files.documents(entry.policy_files)
            for place, message in problems:
                self.problems.append(f"{self.source}: {key_path(NAMESPACE, (family, index, 'policyFiles', place))}: {message}")
            if problems:
                return None
            args["policy_documents"] = documents
        if family == "saasRoles" and entry.external_id is not None:  # a `secure:` value stays secret in the trust too
            if "saasRoles" in self.secret_keys or entry.external_id == REDACTED:
                args["external_id_secret"] = True
        if family == "serviceAccounts":
            return self.service_account(index, entry, args, target)
        if family == "oidcRoles":
            return self.oidc_role(index, entry, args, target)
        return self.unit(family, index, entry, args, target)

    def oidc_role(self, index: int, entry: Any, args: dict[str, Any], target: Target) -> Unit | None:
        """The issuer's provider in the role's account: one the stack names, else one registered here."""
        depends_on: tuple[str, ...] = ()
        if not entry.oidc_provider_arn:
            key = key_path(NAMESPACE, ("oidcRoles", index))
            arn, registration = self.oidc.for_issuer(
                oidc_role.issuer_url(args), audience=oidc_role.audience(args), account_id=target.account_id,
                needed_by=(key, target),
            )
            if arn:
                args["oidc_provider_arn"] = arn
            depends_on = (registration,) if registration else ()
        return self.unit("oidcRoles", index, entry, args, target, depends_on=depends_on)

    def service_account(self, index: int, entry: Any, args: dict[str, Any], target: Target) -> Unit | None:
        key = key_path(NAMESPACE, ("serviceAccounts", index))
        cluster = self.config.clusters[entry.cluster]
        cluster_target = self.target(cluster.account)
        depends_on: tuple[str, ...] = ()
        if entry.mode == "pod-identity":
            if cluster.name and cluster.name != entry.cluster:
                args["eks_cluster_name"] = cluster.name
            args["cluster_account_id"] = cluster_target.account_id
            boundary = self.defaults.permissions_boundary_arn
            if cluster_target.account_id != target.account_id and boundary:  # the stack's boundary, on its roles there too
                args.setdefault("source_role_permissions_boundary_arn", boundary)
        else:
            providers, registrations, problems = self.oidc.irsa(
                [cluster for _, cluster in entry.clusters()], account_id=target.account_id, region=target.region,
                needed_by=(key, target),
            )
            depends_on = tuple(registrations)
            for place, problem in problems:
                prefix = entry.clusters()[place][0]
                self.problems.append(f"{self.source}: {key_path(NAMESPACE, ('serviceAccounts', index, *prefix, 'cluster'))}: "
                                     f"{problem.message}")
            if problems:  # the cluster's issuer is missing (said): the entry's own problems still count
                self.unit("serviceAccounts", index, entry, args, target, unsaid=("oidc_provider_arn", "oidc_issuer"))
                return None
            (own_arn, own_issuer), *others = providers
            args |= {"oidc_provider_arn": own_arn, "oidc_issuer": own_issuer}
            for subject, (arn, issuer) in zip(args.get("subjects") or [], others):
                if subject["cluster"] != entry.cluster:  # another cluster's provider; the role's own is inherited
                    subject |= {"oidc_provider_arn": arn, "oidc_issuer": issuer}
        region = cluster.region if cluster.region and cluster.region != cluster_target.region else None
        unit = self.unit(
            "serviceAccounts", index, entry, args, target,
            cluster=entry.cluster, cluster_account=cluster.account, cluster_region=region, depends_on=depends_on,
        )
        if unit is None:
            return None
        plan = unit.plan
        own = plan.service_account
        if plan.MODE == "pod-identity":
            self.claim(f"{key}.serviceAccount", "Pod Identity association", own)
        if plan.args.get("create_service_account", True):
            for prefix, ref in plan.service_accounts():
                self.claim(f"{key}.{config_key('serviceAccounts', prefix + 'service_account')}", "ServiceAccount", ref)
        if plan.args.get("secret_name"):
            secret = ServiceAccountRef(own.cluster, plan.args.get("secret_namespace") or own.namespace, plan.args["secret_name"])
            self.claim(f"{key}.secret.name", "Secret", secret)
        return unit

    def claim(self, where: str, kind: str, ref: ServiceAccountRef) -> None:
        """Each Kubernetes object is created by one entry only, and EKS allows one Pod Identity association per
        service account (`ref` names the object: a Secret's name in place of the service account's)."""
        owner = self.claimed.setdefault((kind, ref), where)
        if owner == where:
            return
        if kind == "Pod Identity association":
            self.problems.append(
                f"{self.source}: {where}: {ref} already has a Pod Identity association ({owner.rsplit('.', 1)[0]}); "
                "EKS allows one per service account"
            )
            return
        self.problems.append(
            f"{self.source}: {where}: {kind} {ref.namespace}/{ref.name} in cluster {ref.cluster!r} is already "
            f"created by {owner}; let one entry create it"
            + (" (createServiceAccount: false on the others)" if kind == "ServiceAccount" else "")
        )

    def check_names(self, units: Sequence[Unit]) -> None:
        """A role name once per account, across every entry."""
        owners: dict[tuple[str, str], str] = {}
        for unit in units:
            for role in unit.roles:
                account = role.account_id or unit.target.account_id
                owner = owners.setdefault((account, role.spec.name), unit.key)
                if owner != unit.key:
                    self.problems.append(
                        f"{self.source}: {unit.key}: role name {role.spec.name!r} is already used by {owner} "
                        f"in account {account}"
                    )

    def check_urns(self, units: Sequence[Unit]) -> None:
        """No two entries register a resource with the same URN (its type, its name and the type of the
        component it is under): the engine would stop the deploy halfway (`DuplicateUrnError`)."""
        owners: dict[tuple[str, str, str], str] = {}
        for unit in units:
            for typ, name in unit.plan.resources(unit.name):
                owner = owners.setdefault((unit.component.__name__, typ, name), unit.key)
                if owner != unit.key:
                    self.problems.append(
                        f"{self.source}: {unit.key}: its {typ.rsplit(':', 1)[-1]} {name!r} would have the same URN as "
                        f"{owner}'s (the same type and name, both under {unit.component.__name__} components); rename one of the two entries"
                    )

    def build(self) -> StackSettings:
        def family(name: str, entries: Sequence[Entry]) -> tuple[Unit, ...]:
            built = (self.entry(name, index, entry) for index, entry in enumerate(entries))
            return tuple(unit for unit in built if unit is not None)

        c = self.config
        ecs, ec2, saas = family("ecsAgents", c.ecs_agents), family("ec2Agents", c.ec2_agents), family("saasRoles", c.saas_roles)
        service_accounts, oidc_roles = family("serviceAccounts", c.service_accounts), family("oidcRoles", c.oidc_roles)
        units = [*ecs, *ec2, *saas, *service_accounts, *oidc_roles]
        self.check_names(units)
        self.check_urns(units)
        for planned, problem in self.oidc.problems():
            self.problems.append(f"{self.source}: {planned.needed_by[0]}: {problem}")
        if self.problems:
            raise ConfigError(self.problems)
        # An entry's own boundary is allowed only when the stack's guardrails list it (reviewed there).
        default = self.defaults.permissions_boundary_arn
        listed = [b for b in c.guardrails.permissions_boundaries if b != default]
        boundaries = tuple(dict.fromkeys([*([default] if default else []), *listed]))
        return StackSettings(
            stack=self.stack,
            account_id=c.account_id,
            region=self.region,
            accounts=dict(c.accounts),
            ecs_agents=ecs,
            ec2_agents=ec2,
            saas_roles=saas,
            service_accounts=service_accounts,
            oidc_roles=oidc_roles,
            clusters=dict(c.clusters),
            oidc_providers=tuple(
                OidcRegistration(key=p.needed_by[0], name=p.name, target=p.needed_by[1], args=p.args)
                for p in self.oidc.registrations()
            ),
            kubernetes_clusters=tuple(sorted({ref.cluster for kind, ref in self.claimed if kind != "Pod Identity association"})),
            guardrails=c.guardrails,
            limits=self.defaults.limits.to_iam_limits(),
            boundary_arns=boundaries,
            boundary_required=bool(default),
        )


def build_settings(
    config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str] = frozenset()
) -> StackSettings:
    return _Stack(config, stack=stack, source=source, region=region, secret_keys=secret_keys).build()

