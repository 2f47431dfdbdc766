"""Turn a validated stack config into typed component arguments, and check IAM limits.

The result is everything `__main__.py` needs: which accounts to build providers for,
and for each entry the component to register, its target account and its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.ecs_agent_roles import EcsAgentRolesArgs
from components.role import RoleDocuments, RoleSpec

from .errors import ConfigError, key_path
from .models import Account, Defaults, EcsAgent, Entry, StackConfig

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
    advisories: Sequence[str] = field(default_factory=tuple)
    secret_keys: frozenset[str] = frozenset()

    def units(self) -> list[Unit]:
        return [*self.ecs_agents]


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
        if explicit:
            return explicit
        name = f"{entry.name}-{suffix}"
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
        if "*" in entry.secret_arns:
            self.advisories.append(
                f"{key} ({entry.name}): the execution role {execution_name!r} may read EVERY secret in account "
                f"{target.account_id} (secretArns: '*', allowAllSecrets: true)"
            )
        if entry.policy is not None and entry.policy.wildcard_resource:
            self.advisories.append(
                f"{key} ({entry.name}): the task role {task_name!r} policy allows actions on Resource '*' "
                "(allowWildcardResources: true)"
            )
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

    def check_limits_and_names(self, units: Sequence[Unit]) -> None:
        limits = self.defaults.limits.to_iam_limits()
        problems: list[str] = []
        owners: dict[tuple[str, str], str] = {}
        for unit in units:
            for label, (spec, docs) in unit.roles().items():
                for problem in docs.limit_problems(limits):
                    problems.append(f"{self.source}: {unit.key}: {label} {spec.name!r}: {problem}")
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
        self.check_limits_and_names(ecs)
        return StackSettings(
            stack=self.stack,
            source=self.source,
            account_id=self.config.account_id,
            region=self.region,
            accounts=dict(self.config.accounts),
            ecs_agents=tuple(ecs),
            advisories=tuple(self.advisories),
            secret_keys=secret_keys,
        )


def build_settings(
    config: StackConfig, *, stack: str, source: str, region: str, secret_keys: frozenset[str] = frozenset()
) -> StackSettings:
    return _Builder(config, stack=stack, source=source, region=region).build(secret_keys)
