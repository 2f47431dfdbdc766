"""Translate a validated stack config into component Args, one entry to one component.

The components own their rules: each entry's Args are checked by the component's own `check`
(the constructor's checks, registering nothing), and its problems are reported here with the
stack file and the config key in place of the Args field. What only the stack config knows
(names across entries, Kubernetes objects claimed twice, clusters and accounts) is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pydantic.alias_generators import to_camel

from agent_iam import presets
from agent_iam.components import oidc_role
from agent_iam.components import policies
from agent_iam.components._contract import ArgsError
from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfile, Ec2AgentInstanceProfileArgs
from agent_iam.components.ecs_agent_roles import EcsAgentRoles, EcsAgentRolesArgs
from agent_iam.components.oidc_provider_registration import OidcProviderRegistrationArgs
from agent_iam.components.role import IamLimits, PlannedRole
from agent_iam.components.saas_access_role import SaasAccessRole, SaasAccessRoleArgs
from agent_iam.components.service_account_role import ServiceAccountRole
from agent_iam.guardrails import rules as guardrail_rules
from agent_iam.guardrails.acceptance import KEY_FIELDS, Key
from agent_iam.iam import arns
from agent_iam.iam import issuers as oidc_known
from agent_iam.iam import limits as iam_limits
from agent_iam.iam.arns import account_of, has_wildcard
from agent_iam.iam.checks import REDACTED
from agent_iam.iam.limits import TAG_VALUE_MAX
from agent_iam.iam.tags import MANAGED_BY_TAGS, OIDC_ISSUER_TAG, PRESET_TAG, STACK_TAG

from .errors import ConfigError, key_path
from agent_iam.iam.checks import s3_location
from .models import (
    AcceptedFinding,
    Account,
    AgentSecrets,
    Cluster,
    Defaults,
    Ec2Agent,
    EcsAgent,
    Entry,
    Guardrails,
    InlinePolicy,
    OidcRole,
    SaasRole,
    ServiceAccount,
    StackConfig,
    VendorPermissions,
)

def _key_of(item: Any) -> Key:
    """The acceptance key of a preset's acceptance (a model with some of the key's fields)."""
    return Key.of({name: getattr(item, name, None) for name in KEY_FIELDS})


class PresetAcceptance(AcceptedFinding):
    """A reviewed acceptance that comes with a vendor preset (docs/presets.md), not from the stack file."""

    preset: str  # `<vendor>@<version>`


NAMESPACE = "agent-iam"


@dataclass(frozen=True)
class Target:
    """The account (and region) an entry's resources are created in."""

    account_key: str | None  # None: the stack's own account
    account_id: str
    region: str


@dataclass(frozen=True)
class Unit:
    """One component to register: its config key, logical name, target, component and Args."""

    key: str  # e.g. "agent-iam:ecsAgents[0]"
    name: str
    target: Target
    component: type[pulumi.ComponentResource]
    args: Mapping[str, Any]
    roles: tuple[PlannedRole, ...] = ()
    former_names: tuple[str, ...] = ()
    cluster: str | None = None  # serviceAccounts: the entry's cluster (Kubernetes provider, Pod Identity association)
    cluster_account: str | None = None  # serviceAccounts: the account key of the cluster (its AWS provider)
    depends_on: tuple[str, ...] = ()  # names of the OIDC provider registrations its trust names
    # The entry's reviewed exceptions (`acceptedFindings`), matched against the plan's findings.
    accepted_findings: tuple[AcceptedFinding, ...] = ()


@dataclass(frozen=True)
class OidcRegistration:
    """One OIDC issuer's provider to register in one account (shared by every role there)."""

    key: str  # the first config entry that needs it
    cluster: str | None  # the EKS cluster key (IRSA); None for an oidcRoles issuer
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
    advisories: Sequence[str] = field(default_factory=tuple)
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


# Args fields whose config key is not their camelCase name: relative to the entry, or
# absolute (a stack-wide key) when it starts with `:`.
_SHARED_KEYS = {
    "iam_limits": ":defaults.limits",
    "name": "name",
    "description": "name",  # derived from the entry's name
}
FIELD_KEYS: dict[str, dict[str, str]] = {
    "ecsAgents": {"task_policy": "policy"},
    "ec2Agents": {},
    "saasRoles": {"principal_arn_patterns": "vendor.principalArnPatterns"},
    "oidcRoles": {},
    "serviceAccounts": {
        "secret_name": "secret.name",
        "secret_namespace": "secret.namespace",
        "oidc_provider_arn": "cluster",
        "oidc_issuer": "cluster",
        "eks_cluster_name": "cluster",
        "cluster_account_id": "cluster",
    },
}
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)")


def config_key(family: str, field_name: str, overrides: Mapping[str, str] = {}) -> str:
    """The config key of an Args field: `subjects[0].service_account` -> `subjects[0].serviceAccount`,
    `iam_limits.trust_policy_size` -> `:defaults.limits.trustPolicySize` (absolute)."""
    keys = {**_SHARED_KEYS, **FIELD_KEYS.get(family, {}), **overrides}

    def camel(match: re.Match[str]) -> str:  # IAM's own keys (`Statement`, `Resource`) keep their spelling
        part = match.group(1)
        return part if part[:1].isupper() else to_camel(part)

    head, _, rest = field_name.partition(".")
    head_name = head.split("[", 1)[0]
    if head_name in keys:
        mapped = keys[head_name] + head[len(head_name):]
    else:
        mapped = _PART.sub(camel, head)
    if rest and not rest.startswith(ROLE_ARN_ANNOTATION_PREFIX):
        rest = _PART.sub(camel, rest)
    return f"{mapped}.{rest}" if rest else mapped


ROLE_ARN_ANNOTATION_PREFIX = "eks.amazonaws.com"


def problem_lines(source: str, unit_key: str, family: str, error: ArgsError, overrides: Mapping[str, str] = {}) -> list[str]:
    """A component's problems as config errors: the stack file, the key, the same sentence."""

    def spell(field_name: str) -> str:
        return config_key(family, field_name, overrides).lstrip(":")

    lines = []
    for problem in error.problems:
        message = problem.render(spell)
        if not problem.field:
            lines.append(f"{source}: {unit_key}: {message}")
            continue
        key = config_key(family, problem.field, overrides)
        where = f"{NAMESPACE}:{key[1:]}" if key.startswith(":") else f"{unit_key}.{key}"
        lines.append(f"{source}: {where}: {message}")
    return lines


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """Args with the fields the entry does not set left out (the component applies its defaults)."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v != {}}


class _Builder:
    def __init__(self, config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str]):
        self.config = config
        self.stack = stack
        self.source = source
        self.region = region
        self.secret_keys = secret_keys
        self.defaults: Defaults = config.defaults
        self.advisories: list[str] = []
        self.problems: list[str] = []
        self.registrations: dict[tuple[str, str], OidcRegistration] = {}
        self.kubernetes_objects: dict[tuple[str, str, str, str], str] = {}  # (kind, cluster, ns, name) -> key
        self.associations: dict[tuple[str, str, str], str] = {}
        # oidcRoles: (issuer, account) -> (first key, target, issuer URL, audiences) of the providers to register
        self.issuer_audiences: dict[tuple[str, str], tuple[str, Target, str, list[str]]] = {}

    def target(self, entry: Entry) -> Target:
        return self.account_target(entry.account)

    def account_target(self, account_key: str | None) -> Target:
        if account_key is None:
            return Target(None, self.config.account_id, self.region)
        account = self.config.accounts[account_key]
        return Target(account_key, account.account_id, account.region)

    def role_options(self, entry: Entry) -> dict[str, Any]:
        """The role fields every component shares, with the stack's defaults and tags applied."""
        d = self.defaults
        limits = d.limits
        preset = getattr(entry, "preset", None)  # the plan says which preset and version the entry used
        preset_tag = {PRESET_TAG: presets.load(preset).label} if preset else {}
        return {
            "path": entry.path or d.path,
            "permissions_boundary_arn": entry.permissions_boundary_arn or d.permissions_boundary_arn,
            "max_session_duration": entry.max_session_duration or d.max_session_duration,
            "tags": {**(d.tags or {}), **(entry.tags or {}), **MANAGED_BY_TAGS, STACK_TAG: self.stack, **preset_tag},
            "protect": bool(entry.protect if entry.protect is not None else d.protect),
            "iam_limits": {
                "trust_policy_size": limits.trust_policy_size,
                "role_policies_size": limits.role_policies_size,
                "managed_policies_per_role": limits.managed_policies_per_role,
            },
        }

    def unit(
        self,
        family: str,
        index: int,
        entry: Entry,
        component: Any,
        args: Mapping[str, Any],
        target: Target,
        overrides: Mapping[str, str] = {},
        **extra: Any,
    ) -> Unit | None:
        """The entry's component with its Args, checked by the component itself (problems collected)."""
        key = key_path(NAMESPACE, (family, index))
        try:
            roles = tuple(component.check(entry.name, args))
        except ArgsError as error:
            self.problems.extend(problem_lines(self.source, key, family, error, overrides))
            return None
        return Unit(
            key, entry.name, target, component, args, roles, tuple(entry.former_names),
            accepted_findings=(*self.preset_acceptances(entry), *entry.accepted_findings), **extra,
        )

    def preset_acceptances(self, entry: Entry) -> tuple[AcceptedFinding, ...]:
        """The reviewed acceptances a vendor preset carries, for the statements the entry keeps (one it
        restates in its own acceptedFindings is its own). Marked with the preset: one that matches
        nothing (the entry narrowed the finding away) is not the entry's stale exception."""
        name = getattr(entry, "preset", None)
        if not name:
            return ()
        preset = presets.load(name)
        kept = {s["Sid"] for s in presets.statements(
            preset,
            partition="aws",
            account_id=self.config.account_id,
            without_actions=getattr(entry, "without_actions", ()),
            without_statements=getattr(entry, "without_statements", ()),
        )} | set(preset.managed_policy_names)
        own = {a.key.identity() for a in entry.accepted_findings}
        return tuple(
            PresetAcceptance(**_key_of(f).to_dict(), reason=f"preset {preset.label}: {f.reason}", preset=preset.label)
            for f in preset.accepted_findings
            if (_key_of(f).sid is None or _key_of(f).sid in kept) and _key_of(f).identity() not in own
        )

    def ecs_agent(self, index: int, entry: EcsAgent) -> Unit | None:
        key = key_path(NAMESPACE, ("ecsAgents", index))
        target = self.target(entry)
        args: EcsAgentRolesArgs = _present(  # type: ignore[assignment]
            {
                "account_id": target.account_id,
                "region": target.region,
                "task_role_name": entry.task_role_name,
                "execution_role_name": entry.execution_role_name,
                **self.role_options(entry),
                "secret_arns": list(entry.secret_arns),
                "allow_all_secrets": entry.allow_all_secrets or None,
                "kms_key_arns": list(entry.kms_key_arns),
                "task_role_policy_arns": list(entry.task_role_policy_arns),
                "task_policy": entry.policy.to_dict() if entry.policy else None,
                "allow_wildcard_resources": entry.allow_wildcard_resources or None,
                "trust_ec2": entry.trust_ec2,
                "confused_deputy_conditions": entry.confused_deputy_conditions,
                "source_account_condition": entry.source_account_condition,
            }
        )
        unit = self.unit("ecsAgents", index, entry, EcsAgentRoles, args, target)
        if unit is not None:
            task, execution = (r.spec.name for r in unit.roles)
            self.secrets_advisory(key, entry, f"the execution role {execution!r}", target)
            self.policy_advisory(key, entry, f"the task role {task!r}")
        return unit

    def secrets_advisory(self, key: str, entry: AgentSecrets, who: str, target: Target) -> None:
        if "*" in entry.secret_arns:
            self.advisories.append(
                f"{key} ({entry.name}): {who} may read EVERY secret in account "
                f"{target.account_id} (secretArns: '*', allowAllSecrets: true)"
            )

    def policy_advisory(self, key: str, entry: InlinePolicy, who: str) -> None:
        wide = entry.policy.first_wildcard() if entry.policy is not None else None
        if wide is not None:
            self.advisories.append(
                f"{key} ({entry.name}): {who} policy allows actions on {wide[1]!r}, every resource of its kind "
                "(allowWildcardResources: true)"
            )

    def ec2_agent(self, index: int, entry: Ec2Agent) -> Unit | None:
        key = key_path(NAMESPACE, ("ec2Agents", index))
        target = self.target(entry)
        args: Ec2AgentInstanceProfileArgs = _present(  # type: ignore[assignment]
            {
                "account_id": target.account_id,
                "region": target.region,
                "role_name": entry.role_name,
                **self.role_options(entry),
                "policy_arns": list(entry.policy_arns),
                "ssm": entry.ssm,
                "secret_arns": list(entry.secret_arns),
                "allow_all_secrets": entry.allow_all_secrets or None,
                "kms_key_arns": list(entry.kms_key_arns),
                "policy": entry.policy.to_dict() if entry.policy else None,
                "allow_wildcard_resources": entry.allow_wildcard_resources or None,
                "source_account_condition": entry.source_account_condition,
            }
        )
        unit = self.unit("ec2Agents", index, entry, Ec2AgentInstanceProfile, args, target)
        if unit is not None:
            name = unit.roles[0].spec.name
            self.secrets_advisory(key, entry, f"the instance role {name!r}", target)
            self.policy_advisory(key, entry, f"the instance role {name!r}")
        return unit

    def saas_role(self, index: int, entry: SaasRole) -> Unit | None:
        key = key_path(NAMESPACE, ("saasRoles", index))
        target = self.target(entry)
        vendor = entry.vendor
        principal = vendor.principal_arn or policies.account_root_arn(
            policies.partition_for_region(target.region), vendor.account
        )
        args: SaasAccessRoleArgs = _present(  # type: ignore[assignment]
            {
                "principal_arn": principal,
                "external_id": entry.external_id,
                "external_id_secret": (
                    entry.external_id is not None
                    and ("saasRoles" in self.secret_keys or entry.external_id == REDACTED)
                )
                or None,
                "principal_arn_patterns": list(vendor.principal_arn_patterns),
                "allow_unconditioned_account_trust": entry.allow_unconditioned_account_trust or None,
                "account_id": target.account_id,
                "region": target.region,
                "role_name": entry.role_name,
                **self.role_options(entry),
                **permission_args(entry),
                "customer_managed_policy": entry.customer_managed_policy or None,
            }
        )
        if entry.preset:
            args.update(self.preset_permissions(key, entry, presets.load(entry.preset), target, args))  # type: ignore[typeddict-item]
        overrides = {"principal_arn": f"vendor.{vendor.key}"}
        unit = self.unit("saasRoles", index, entry, SaasAccessRole, args, target, overrides)
        if unit is not None:
            name = unit.roles[0].spec.name
            if entry.allow_unconditioned_account_trust:
                parsed = arns.parse(principal)
                kind = parsed.resource_type if parsed else "principal"  # role or user
                who = f"ANY principal in account {vendor.account}" if vendor.whole_account else f"the vendor {kind} {principal}"
                self.advisories.append(
                    f"{key} ({entry.name}): the role {name!r} may be assumed by {who} with no external ID or "
                    "principal pattern (allowUnconditionedAccountTrust: true)"
                )
            self.policy_advisory(key, entry, f"the role {name!r}")
        return unit

    def preset_permissions(
        self, key: str, entry: SaasRole, preset: presets.Preset, target: Target, args: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The preset's statements (narrowed by the entry), then the entry's own `policy`; the preset's
        managed policies, then the entry's. The preset's own `Resource: "*"` is its documented opt-in
        (announced in every plan); the entry's own policy still needs allowWildcardResources."""
        partition = policies.partition_for_region(target.region)
        statements = presets.statements(
            preset,
            partition=partition,
            account_id=target.account_id,
            without_actions=entry.without_actions,
            without_statements=entry.without_statements,
        )
        statements += presets.s3_statements(
            preset,
            partition=partition,
            read=[s3_location(v) for v in entry.s3_read],
            write=[s3_location(v) for v in entry.s3_write],
            without_actions=entry.without_actions,
        )
        if entry.policy is not None and entry.policy.wildcard_resource and not entry.allow_wildcard_resources:
            self.problems.append(
                f"{self.source}: {key}.policy: an Allow statement has Resource \"*\"; scope it to ARNs, or set "
                "allowWildcardResources: true (the preset's own statements do not opt your policy in)"
            )
        wide = [s["Sid"] for s in statements if "*" in presets.as_list(s.get("Resource"))]
        if wide:
            self.advisories.append(
                f"{key} ({entry.name}): the role may call the actions of {', '.join(wide)} on Resource '*', "
                f"as preset {preset.label} ({preset.title}) documents: {preset.wildcard_reason}"
            )
        own = entry.policy.to_dict()["Statement"] if entry.policy else []
        result: dict[str, Any] = {
            "policy_arns": list(dict.fromkeys([*presets.policy_arns(preset, partition), *(args.get("policy_arns") or [])])),
            "description": f"Cross-account access for SaaS {entry.name} (agent-iam preset {preset.label})",
        }
        if statements or own:
            result["policy"] = policies.document([*statements, *own])
        if wide:
            result["allow_wildcard_resources"] = True
        return result

    def service_account(self, index: int, entry: ServiceAccount) -> Unit | None:
        key = key_path(NAMESPACE, ("serviceAccounts", index))
        target = self.target(entry)
        cluster = self.config.clusters[entry.cluster]
        cluster_target = self.account_target(cluster.account)
        values: dict[str, Any] = {
            "mode": entry.mode,
            "namespace": entry.namespace,
            "service_account": entry.service_account,
            "cluster": entry.cluster,
            "account_id": target.account_id,
            "region": target.region,
            "role_name": entry.role_name,
            **self.role_options(entry),
            "create_service_account": entry.create_service_account,
            "role_arn_annotation": entry.role_arn_annotation,
            "service_account_annotations": dict(entry.service_account_annotations),
            "secret_name": entry.secret.name if entry.secret else None,
            "secret_namespace": entry.secret.namespace if entry.secret else None,
            "session_tag_conditions": entry.session_tag_conditions,
            "source_account_condition": entry.source_account_condition,
            "source_role_name": entry.source_role_name,
            "source_role_permissions_boundary_arn": entry.source_role_permissions_boundary_arn,
            "subjects": [
                {"cluster": s.cluster, "namespace": s.namespace, "service_account": s.service_account}
                for s in entry.subjects
            ],
            **permission_args(entry),
        }
        depends_on: tuple[str, ...] = ()
        if entry.mode == "pod-identity":
            self.claim_association(key, entry)
            values |= {
                "eks_cluster_name": cluster.name if cluster.name and cluster.name != entry.cluster else None,
                "cluster_account_id": cluster_target.account_id,
            }
            if cluster_target.account_id != target.account_id and not entry.source_role_permissions_boundary_arn:
                values["source_role_permissions_boundary_arn"] = self.source_role_boundary(key, cluster_target)
        else:
            values["allow_wildcard_subject"] = entry.allow_wildcard_subject or None
            subjects, depends_on = self.irsa_subjects(index, entry, target)
            if subjects is None:
                return None
            own, *others = subjects
            values |= {"oidc_provider_arn": own["oidc_provider_arn"], "oidc_issuer": own["oidc_issuer"]}
            values["subjects"] = [
                {k: v for k, v in s.items() if not (s["cluster"] == entry.cluster and k.startswith("oidc"))}
                for s in others
            ]
        if entry.create_service_account:
            for prefix, cluster_key, namespace, name in entry.all_subjects():
                where = key_path(NAMESPACE, ("serviceAccounts", index, *prefix, "serviceAccount"))
                self.claim_object(where, "ServiceAccount", cluster_key, namespace, name)
        if entry.secret is not None:
            namespace = entry.secret.namespace or entry.namespace
            self.claim_object(f"{key}.secret.name", "Secret", entry.cluster, namespace, entry.secret.name)
        unit = self.unit(
            "serviceAccounts",
            index,
            entry,
            ServiceAccountRole,
            _present(values),
            target,
            cluster=entry.cluster,
            cluster_account=cluster.account,
            depends_on=depends_on,
        )
        if unit is not None:
            name = unit.roles[0].spec.name
            self.policy_advisory(key, entry, f"the role {name!r}")
            if entry.wildcard:
                patterns = ", ".join(f"{c}/{ns}/{sa}" for _, c, ns, sa in entry.all_subjects() if has_wildcard(ns + sa))
                self.advisories.append(
                    f"{key} ({entry.name}): the role {name!r} trusts EVERY service account matching {patterns} "
                    "(allowWildcardSubject: true)"
                )
            if entry.mode == "pod-identity" and entry.session_tag_conditions is False:
                self.advisories.append(
                    f"{key} ({entry.name}): the role {name!r} trusts EVERY Pod Identity association in account "
                    f"{cluster_target.account_id}, not only {entry.namespace}/{entry.service_account} on cluster "
                    f"{cluster.name or entry.cluster} (sessionTagConditions: false)"
                )
        return unit

    def oidc_role(self, index: int, entry: OidcRole) -> Unit | None:
        """One `oidcRoles` entry, key for key, into `OidcRoleArgs`; the component's checks judge it."""
        key = key_path(NAMESPACE, ("oidcRoles", index))
        target = self.target(entry)
        values: dict[str, Any] = {
            "provider": entry.provider,
            "issuer_url": entry.issuer_url,
            "audience": entry.audience,
            "subjects": list(entry.subjects),
            "allow_wildcard_subject": entry.allow_wildcard_subject or None,
            "repository": entry.repository,
            "branches": list(entry.branches),
            "git_tags": list(entry.git_tags),
            "environments": list(entry.environments),
            "pull_requests": entry.pull_requests or None,
            "repository_id": None if entry.repository_id is None else str(entry.repository_id),
            "workflow_refs": list(entry.workflow_refs),
            "workflow_file": entry.workflow_file,
            "project_path": entry.project_path,
            "organization": entry.organization,
            "project": entry.project if entry.project != oidc_role.DEFAULT_PROJECT else None,
            "workspaces": list(entry.workspaces),
            "run_phases": list(entry.run_phases) if list(entry.run_phases) != list(oidc_known.RUN_PHASES) else None,
            "oidc_provider_arn": entry.oidc_provider_arn or self.existing_oidc_provider(entry, target),
            "account_id": target.account_id,
            "region": target.region,
            "role_name": entry.role_name,
            **self.role_options(entry),
            **permission_args(entry),
        }
        args = _present(values)
        registration = None
        if not args.get("oidc_provider_arn"):  # agent-iam registers the issuer's provider in this account
            issuer = oidc_role.issuer_key(args)
            registration = f"oidc-{issuer.replace('/', '-')}-{target.account_id}"
            self.issuer_audiences.setdefault((issuer, target.account_id), (key, target, oidc_role.issuer_url(args), []))[
                3
            ].append(oidc_role.audience(args))
        unit = self.unit("oidcRoles", index, entry, oidc_role.OidcRole, args, target, depends_on=(registration,) if registration else ())
        if unit is not None:
            name = unit.roles[0].spec.name
            self.policy_advisory(key, entry, f"the role {name!r}")
            wildcards = [s for s in oidc_role.all_subjects(args) if has_wildcard(s)]
            if wildcards:
                self.advisories.append(
                    f"{key} ({entry.name}): the role {name!r} trusts EVERY token whose subject matches "
                    f"{', '.join(wildcards)} (allowWildcardSubject: true)"
                )
            pull_requests = [s for s in oidc_role.all_subjects(args) if s.endswith(":pull_request")]
            if pull_requests and (args.get("s3_write") or args.get("policy") or args.get("policy_arns")):
                self.advisories.append(
                    f"{key} ({entry.name}): the role {name!r} trusts pull request runs ({', '.join(pull_requests)}) and "
                    "can do more than read S3: the code of any pull request (any branch pushed to the repository) "
                    "runs with it; keep a pull request role read-only"
                )
        return unit

    def existing_oidc_provider(self, entry: OidcRole, target: Target) -> str | None:
        """The provider another entry names for this entry's issuer and account: IAM allows one per
        issuer per account, so every role of that issuer and account uses it."""
        issuer = oidc_known.issuer_host_path(entry.issuer_url or oidc_known.default_issuer(entry.provider) or "")
        for other in self.config.oidc_roles:
            arn = other.oidc_provider_arn
            if arn and oidc_known.issuer_of(arn).rstrip("/") == issuer and arns.account_of(arn) == target.account_id:
                return arn
        return None

    def oidc_role_registrations(self) -> None:
        """Each oidcRoles issuer's provider, once per account, accepting every audience its roles pin."""
        d = self.defaults
        for (issuer, account), (key, target, url, audiences) in self.issuer_audiences.items():
            name = f"oidc-{issuer.replace('/', '-')}-{account}"
            self.registrations[(f"issuer:{issuer}", account)] = OidcRegistration(
                key=key,
                cluster=None,
                name=name,
                target=target,
                args={
                    "url": url,
                    "client_ids": list(dict.fromkeys(audiences)),
                    "tags": {**(d.tags or {}), **MANAGED_BY_TAGS, STACK_TAG: self.stack, OIDC_ISSUER_TAG: issuer[:TAG_VALUE_MAX]},
                    "protect": bool(d.protect),
                },
            )

    def source_role_boundary(self, key: str, cluster_target: Target) -> str | None:
        """The stack's boundary for a cross-account Pod Identity role (created in the cluster's account) when
        it can apply there: an AWS managed policy, or a policy of the cluster's account. A boundary of another
        account must be restated for the cluster's account, with the key this error names."""
        boundary = self.defaults.permissions_boundary_arn
        owner = account_of(boundary)
        if boundary is None or owner in ("aws", cluster_target.account_id):
            return boundary
        partition = policies.partition_for_region(cluster_target.region)
        self.problems.append(
            f"{self.source}: {key}.sourceRolePermissionsBoundaryArn: required: the Pod Identity role is created in "
            f"the cluster's account {cluster_target.account_id}, and defaults.permissionsBoundaryArn ({boundary}) "
            f"is a policy of account {owner}; name the boundary policy of account {cluster_target.account_id} "
            f"(e.g. arn:{partition}:iam::{cluster_target.account_id}:policy/{boundary.rsplit('/', 1)[-1]})"
        )
        return None

    def claim_association(self, key: str, entry: ServiceAccount) -> None:
        """EKS allows one Pod Identity association per service account."""
        owner = self.associations.setdefault((entry.cluster, entry.namespace, entry.service_account), key)
        if owner != key:
            self.problems.append(
                f"{self.source}: {key}.serviceAccount: {entry.cluster}/{entry.namespace}/{entry.service_account} "
                f"already has a Pod Identity association ({owner}); EKS allows one per service account"
            )

    def irsa_subjects(
        self, index: int, entry: ServiceAccount, target: Target
    ) -> tuple[list[dict[str, Any]] | None, tuple[str, ...]]:
        """Each subject with its cluster's OIDC provider in the role's account, and the registrations it needs."""
        key = key_path(NAMESPACE, ("serviceAccounts", index))
        subjects = []
        registrations: list[str] = []
        for prefix, cluster_key, namespace, name in entry.all_subjects():
            cluster = self.config.clusters[cluster_key]
            if cluster.issuer is None:
                where = key_path(NAMESPACE, ("serviceAccounts", index, *prefix, "cluster"))
                self.problems.append(
                    f"{self.source}: {where}: IRSA trusts the OIDC provider of cluster {cluster_key!r}, "
                    f"which has no oidcIssuerUrl (or oidcProviderArn); add it from `aws eks describe-cluster`"
                )
                return None, ()
            arn, registration = self.oidc_provider_arn(key, cluster_key, cluster, target)
            if registration and registration not in registrations:
                registrations.append(registration)
            subjects.append(
                {
                    "cluster": cluster_key,
                    "namespace": namespace,
                    "service_account": name,
                    "oidc_provider_arn": arn,
                    "oidc_issuer": cluster.issuer,
                }
            )
        return subjects, tuple(registrations)

    def oidc_provider_arn(self, key: str, cluster_key: str, cluster: Cluster, target: Target) -> tuple[str, str | None]:
        """The cluster's provider in the target account (existing, derived, or registered once), and the
        registration that creates it, if agent-iam does."""
        assert cluster.issuer is not None
        own = self.config.account_id_of(cluster.account) == target.account_id
        if own and cluster.oidc_provider_arn:
            return cluster.oidc_provider_arn, None
        if not own:
            for account, arn in cluster.oidc_provider_arns.items():
                if self.config.accounts[account].account_id == target.account_id:
                    return arn, None
        partition = policies.partition_for_region(target.region)
        arn = oidc_known.provider_arn(partition, target.account_id, cluster.issuer)
        if own and not cluster.register_oidc_provider:
            return arn, None  # EKS (eksctl, the console) registered it with the cluster
        d = self.defaults
        registration = self.registrations.setdefault(
            (cluster_key, target.account_id),
            OidcRegistration(
                key=key,
                cluster=cluster_key,
                name=f"{cluster_key}-oidc-{target.account_id}",
                target=target,
                args={
                    "url": cluster.oidc_issuer_url or f"https://{cluster.issuer}",
                    "tags": {
                        **(d.tags or {}),
                        **MANAGED_BY_TAGS,
                        STACK_TAG: self.stack,
                        "eks-cluster": cluster.name or cluster_key,
                    },
                    "protect": bool(d.protect),
                },
            ),
        )
        return arn, registration.name

    def claim_object(self, where: str, kind: str, cluster: str, namespace: str, name: str) -> None:
        """Each Kubernetes object is created by one entry only."""
        owner = self.kubernetes_objects.setdefault((kind, cluster, namespace, name), where)
        if owner != where:
            self.problems.append(
                f"{self.source}: {where}: {kind} {namespace}/{name} in cluster {cluster!r} is already "
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

    def build(self) -> StackSettings:
        def family(build: Callable[[int, Any], Unit | None], entries: Sequence[Any]) -> tuple[Unit, ...]:
            return tuple(u for u in (build(i, e) for i, e in enumerate(entries)) if u is not None)

        ecs = family(self.ecs_agent, self.config.ecs_agents)
        ec2 = family(self.ec2_agent, self.config.ec2_agents)
        saas = family(self.saas_role, self.config.saas_roles)
        service_accounts = family(self.service_account, self.config.service_accounts)
        oidc_roles = family(self.oidc_role, self.config.oidc_roles)
        self.oidc_role_registrations()
        self.check_names([*ecs, *ec2, *saas, *service_accounts, *oidc_roles])
        for registration in self.registrations.values():
            whose = f"cluster {registration.cluster!r}" if registration.cluster else f"issuer {registration.args['url']}"
            for problem in iam_limits.check_tags(registration.args.get("tags") or {}):
                self.problems.append(f"{self.source}: {registration.key}: the OIDC provider of {whose}: {problem}")
        if self.problems:
            raise ConfigError(self.problems)
        # An entry's own boundary is allowed only when the stack's guardrails list it (reviewed there).
        default = self.defaults.permissions_boundary_arn
        listed = [b for b in self.config.guardrails.permissions_boundaries if b != default]
        boundaries = tuple(dict.fromkeys([*([default] if default else []), *listed]))
        return StackSettings(
            stack=self.stack,
            account_id=self.config.account_id,
            region=self.region,
            accounts=dict(self.config.accounts),
            ecs_agents=ecs,
            ec2_agents=ec2,
            saas_roles=saas,
            service_accounts=service_accounts,
            oidc_roles=oidc_roles,
            clusters=dict(self.config.clusters),
            oidc_providers=tuple(self.registrations.values()),
            kubernetes_clusters=tuple(sorted({cluster for _, cluster, _, _ in self.kubernetes_objects})),
            advisories=tuple(self.advisories),
            guardrails=self.config.guardrails,
            limits=self.defaults.limits.to_iam_limits(),
            boundary_arns=boundaries,
            boundary_required=bool(default),
        )


def permission_args(entry: VendorPermissions) -> dict[str, Any]:
    """The permission fields shared by SaaS and service-account roles, as component Args."""
    return {
        "s3_read": list(entry.s3_read),
        "s3_write": list(entry.s3_write),
        "kms_key_arns": list(entry.kms_key_arns),
        "policy_arns": list(entry.policy_arns),
        "policy": entry.policy.to_dict() if entry.policy else None,
        "allow_wildcard_resources": entry.allow_wildcard_resources or None,
    }


def build_settings(
    config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str] = frozenset()
) -> StackSettings:
    return _Builder(config, stack=stack, source=source, region=region, secret_keys=secret_keys).build()
