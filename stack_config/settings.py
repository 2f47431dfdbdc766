"""Turn a validated stack config into typed component arguments, and check IAM limits.

The result is everything `__main__.py` needs: which accounts to build providers for,
and for each entry the component to register, its target account and its arguments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components import policies
from components.ec2_agent_instance_profile import Ec2AgentInstanceProfileArgs
from components.ecs_agent_roles import EcsAgentRolesArgs
from components.role import RoleDocuments, RoleSpec
from components.saas_access_role import SaasAccessRoleArgs

from .errors import ConfigError, key_path
from .models import Account, AgentSecrets, Defaults, Ec2Agent, EcsAgent, Entry, InlinePolicy, SaasRole, StackConfig
from .types import REDACTED, s3_location

NAMESPACE = "agent-iam"
MANAGED_BY_TAGS = {"managed-by": "agent-iam"}


@dataclass(frozen=True)
class Target:
    """The account (and region) an entry's resources are created in."""

    account_key: str | None  # None: the stack's own account
    account_id: str
    region: str


@dataclass(frozen=True)
class Unit:
    """One component to register: its config key, logical name, target and arguments."""

    key: str  # e.g. "agent-iam:ecsAgents[0]"
    name: str
    target: Target
    args: Any
    former_names: tuple[str, ...] = ()

    def roles(self) -> Mapping[str, tuple[RoleSpec, RoleDocuments]]:
        """Every role this unit creates, by a label used in messages."""
        return self.args.roles() if hasattr(self.args, "roles") else {}


@dataclass(frozen=True)
class StackSettings:
    stack: str
    source: str
    account_id: str
    region: str
    accounts: Mapping[str, Account]
    ecs_agents: Sequence[Unit] = ()
    ec2_agents: Sequence[Unit] = ()
    saas_roles: Sequence[Unit] = ()
    advisories: Sequence[str] = field(default_factory=tuple)
    secret_keys: frozenset[str] = frozenset()

    def units(self) -> list[Unit]:
        return [*self.ecs_agents, *self.ec2_agents, *self.saas_roles]


class _Builder:
    def __init__(self, config: StackConfig, *, stack: str, source: str, region: str):
        self.config = config
        self.stack = stack
        self.source = source
        self.region = region
        self.defaults: Defaults = config.defaults
        self.advisories: list[str] = []

    def target(self, entry: Entry) -> Target:
        if entry.account is None:
            return Target(None, self.config.account_id, self.region)
        account = self.config.accounts[entry.account]
        return Target(entry.account, account.account_id, account.region)

    def role_spec(self, entry: Entry, name: str, description: str) -> RoleSpec:
        d = self.defaults
        tags = {**(d.tags or {}), **(entry.tags or {}), **MANAGED_BY_TAGS, "stack": self.stack}
        return RoleSpec(
            name=name,
            path=entry.path or d.path or "/",
            description=description,
            permissions_boundary_arn=entry.permissions_boundary_arn or d.permissions_boundary_arn,
            max_session_duration=entry.max_session_duration or d.max_session_duration,
            tags=tags,
            protect=bool(entry.protect if entry.protect is not None else d.protect),
        )

    def derived_name(self, key: str, entry: Entry, explicit: str | None, suffix: str, explicit_key: str) -> str:
        """The explicit name, or `<name>-<suffix>` (`<name>` when the suffix is empty)."""
        if explicit:
            return explicit
        name = f"{entry.name}-{suffix}" if suffix else entry.name
        if len(name) > 64:
            raise ConfigError(
                [
                    f"{self.source}: {key}.name: the derived role name {name!r} is {len(name)} characters, "
                    f"over IAM's 64; shorten the name or set {explicit_key}"
                ]
            )
        return name

    def ecs_agent(self, index: int, entry: EcsAgent) -> Unit:
        key = key_path(NAMESPACE, ("ecsAgents", index))
        target = self.target(entry)
        task_name = self.derived_name(key, entry, entry.task_role_name, "task", "taskRoleName")
        execution_name = self.derived_name(key, entry, entry.execution_role_name, "execution", "executionRoleName")
        self.secrets_advisory(key, entry, f"the execution role {execution_name!r}", target)
        self.policy_advisory(key, entry, f"the task role {task_name!r}")
        args = EcsAgentRolesArgs(
            account_id=target.account_id,
            region=target.region,
            task_role=self.role_spec(entry, task_name, f"ECS task role of agent {entry.name} (agent-iam)"),
            execution_role=self.role_spec(
                entry, execution_name, f"ECS task execution role of agent {entry.name} (agent-iam)"
            ),
            secret_arns=tuple(entry.secret_arns),
            kms_key_arns=tuple(entry.kms_key_arns),
            task_role_policy_arns=tuple(entry.task_role_policy_arns),
            task_policy=entry.policy.to_dict() if entry.policy else None,
            trust_ec2=entry.trust_ec2,
            confused_deputy_conditions=entry.confused_deputy_conditions,
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def secrets_advisory(self, key: str, entry: AgentSecrets, who: str, target: Target) -> None:
        if "*" in entry.secret_arns:
            self.advisories.append(
                f"{key} ({entry.name}): {who} may read EVERY secret in account "
                f"{target.account_id} (secretArns: '*', allowAllSecrets: true)"
            )

    def policy_advisory(self, key: str, entry: InlinePolicy, who: str) -> None:
        if entry.policy is not None and entry.policy.wildcard_resource:
            self.advisories.append(
                f"{key} ({entry.name}): {who} policy allows actions on Resource '*' (allowWildcardResources: true)"
            )

    def ec2_agent(self, index: int, entry: Ec2Agent) -> Unit:
        key = key_path(NAMESPACE, ("ec2Agents", index))
        target = self.target(entry)
        name = self.derived_name(key, entry, entry.role_name, "", "roleName")
        self.secrets_advisory(key, entry, f"the instance role {name!r}", target)
        self.policy_advisory(key, entry, f"the instance role {name!r}")
        args = Ec2AgentInstanceProfileArgs(
            account_id=target.account_id,
            region=target.region,
            role=self.role_spec(entry, name, f"EC2 instance role of agent {entry.name} (agent-iam)"),
            policy_arns=tuple(entry.policy_arns),
            ssm=entry.ssm,
            secret_arns=tuple(entry.secret_arns),
            kms_key_arns=tuple(entry.kms_key_arns),
            policy=entry.policy.to_dict() if entry.policy else None,
            confused_deputy_conditions=entry.confused_deputy_conditions,
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def saas_role(self, index: int, entry: SaasRole, secret_keys: frozenset[str]) -> Unit:
        key = key_path(NAMESPACE, ("saasRoles", index))
        target = self.target(entry)
        name = self.derived_name(key, entry, entry.role_name, "", "roleName")
        vendor = entry.vendor
        principal = vendor.principal_arn or policies.account_root_arn(
            policies.partition_for_region(target.region), vendor.account
        )
        if entry.allow_unconditioned_account_trust:
            self.advisories.append(
                f"{key} ({entry.name}): the role {name!r} may be assumed by ANY principal in account "
                f"{vendor.account}, with no external ID or principal pattern (allowUnconditionedAccountTrust: true)"
            )
        elif not vendor.whole_account and not entry.external_id:
            self.advisories.append(
                f"{key} ({entry.name}): the role {name!r} trusts the vendor role {principal} without an external ID; "
                "if the vendor serves other customers from that role, ask it for one (confused deputy)"
            )
        self.policy_advisory(key, entry, f"the role {name!r}")
        args = SaasAccessRoleArgs(
            region=target.region,
            role=self.role_spec(entry, name, f"Cross-account access for SaaS {entry.name} (agent-iam)"),
            principal_arn=principal,
            external_id=entry.external_id,
            external_id_secret=entry.external_id is not None
            and ("saasRoles" in secret_keys or entry.external_id == REDACTED),
            principal_arn_patterns=tuple(vendor.principal_arn_patterns),
            s3_read=tuple(s3_location(v) for v in entry.s3_read),
            s3_write=tuple(s3_location(v) for v in entry.s3_write),
            kms_key_arns=tuple(entry.kms_key_arns),
            policy_arns=tuple(entry.policy_arns),
            policy=entry.policy.to_dict() if entry.policy else None,
            customer_managed_policy=entry.customer_managed_policy,
        )
        return Unit(key, entry.name, target, args, tuple(entry.former_names))

    def check_limits_and_names(self, units: Sequence[Unit]) -> None:
        limits = self.defaults.limits.to_iam_limits()
        problems: list[str] = []
        owners: dict[tuple[str, str], str] = {}
        for unit in units:
            for label, (spec, docs) in unit.roles().items():
                for problem in docs.limit_problems(limits):
                    problems.append(f"{self.source}: {unit.key}: {label} {spec.name!r}: {problem}")
                for sid in duplicate_sids(docs.inline_policy) + duplicate_sids(docs.customer_policy):
                    problems.append(
                        f"{self.source}: {unit.key}.policy: Sid {sid!r} is used twice in the {label}'s permissions "
                        "(agent-iam merges its own statements into the same document); rename it"
                    )
                owner = owners.setdefault((unit.target.account_id, spec.name), unit.key)
                if owner != unit.key:
                    problems.append(
                        f"{self.source}: {unit.key}: role name {spec.name!r} is already used by {owner} "
                        f"in account {unit.target.account_id}"
                    )
        if problems:
            raise ConfigError(problems)

    def build(self, secret_keys: frozenset[str]) -> StackSettings:
        ecs = [self.ecs_agent(i, e) for i, e in enumerate(self.config.ecs_agents)]
        ec2 = [self.ec2_agent(i, e) for i, e in enumerate(self.config.ec2_agents)]
        saas = [self.saas_role(i, e, secret_keys) for i, e in enumerate(self.config.saas_roles)]
        self.check_limits_and_names([*ecs, *ec2, *saas])
        return StackSettings(
            stack=self.stack,
            source=self.source,
            account_id=self.config.account_id,
            region=self.region,
            accounts=dict(self.config.accounts),
            ecs_agents=tuple(ecs),
            ec2_agents=tuple(ec2),
            saas_roles=tuple(saas),
            advisories=tuple(self.advisories),
            secret_keys=secret_keys,
        )


def duplicate_sids(doc: policies.Document | None) -> list[str]:
    """Sids used by more than one statement: IAM refuses such a document."""
    counts = Counter(s["Sid"] for s in policies.statements_of(doc) if s.get("Sid"))
    return sorted(sid for sid, n in counts.items() if n > 1)


def build_settings(
    config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str] = frozenset()
) -> StackSettings:
    return _Builder(config, stack=stack, source=source, region=region).build(secret_keys)
