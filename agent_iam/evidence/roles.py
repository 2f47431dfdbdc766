"""The stack's roles as evidence meets them: each role's ARN (what CloudTrail names as a session's
issuer), the stack-file entry that makes it, and its documents as the plan would create them.

Roles come from the plan (`agent_iam.plan.planner.plan_stack`): the units the program registered
(entry key, the roles each makes) and `plan.json`'s documents, read as `agent-iam diff` reads them.
Identity is the ARN (partition, account, path, name), never a name alone: a session of a role
with the same name in another account is another principal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam import partitions
from agent_iam.plan.diff import RoleState, role_states

from .records import Event
from .requests import ObservedRequest, requests_of


@dataclass
class StackRole:
    """One role of the stack, where it comes from, and the evidence that is its own."""

    arn: str
    account: str
    name: str
    entry: str  # the stack-file entry that makes it: `agent-iam:saasRoles[0]`
    entry_name: str
    label: str  # "role", "task role", "execution role": which of the entry's roles
    state: RoleState | None  # its documents in the plan
    events: list[Event] = field(default_factory=list)  # API calls of its sessions, allowed
    denied: list[Event] = field(default_factory=list)  # API calls of its sessions, refused
    requests: list[ObservedRequest] = field(default_factory=list)  # what the allowed calls needed
    unmapped: list[tuple[Event, str]] = field(default_factory=list)  # calls naming no IAM action, and why

    @property
    def family(self) -> str:
        return self.entry.split(":", 1)[1].split("[", 1)[0]

    @property
    def index(self) -> int:
        return int(self.entry.rsplit("[", 1)[1].rstrip("]"))

    @property
    def observed_actions(self) -> list[str]:
        return sorted({r.action for r in self.requests}, key=str.lower)


def role_arn(partition: str, account: str, path: str | None, name: str) -> str:
    path = path or "/"
    return f"arn:{partition}:iam::{account}:role{path}{name}"


def stack_roles(settings: Any, plan: Mapping[str, Any]) -> list[StackRole]:
    """Every role the stack's units make, with its ARN, entry and planned documents.

    `settings` is the plan's StackSettings (`StackPlan.run.settings`), `plan` its plan.json."""
    states = role_states(plan)
    partition = partitions.partition_for_region(settings.region)
    roles = []
    for unit in settings.units():
        for planned in unit.roles:
            account = planned.account_id or unit.target.account_id
            name = planned.spec.name
            roles.append(StackRole(
                arn=role_arn(partition, account, planned.spec.path, name),
                account=account,
                name=name,
                entry=unit.key,
                entry_name=unit.name,
                label=planned.label,
                state=states.get((account, name)),
            ))
    return roles


def _same_role(issuer: str, arn: str) -> bool:
    """A session's issuer is the role: same ARN; IAM role names are unique regardless of case."""
    if issuer == arn:
        return True
    head, _, name = issuer.rpartition("/")
    other_head, _, other_name = arn.rpartition("/")
    return head == other_head and name.lower() == other_name.lower()


@dataclass
class Matched:
    """Evidence split by principal: per role its own, and what belongs to none of them."""

    roles: list[StackRole]
    other_principals: dict[str, int] = field(default_factory=dict)  # issuer or principal ARN -> events
    not_calls: int = 0  # service events, console sign-ins, Insights events: no request of a principal


def match(roles: list[StackRole], events: Iterable[Event]) -> Matched:
    """Each event given to the role whose session made it; events of other principals never count."""
    matched = Matched(roles)
    for event in events:
        if not event.api_call:
            matched.not_calls += 1
            continue
        owner = next((r for r in roles if event.issuer_arn and _same_role(event.issuer_arn, r.arn)), None)
        if owner is None:
            who = event.issuer_arn or event.principal_arn or event.identity_type or "unknown principal"
            matched.other_principals[who] = matched.other_principals.get(who, 0) + 1
            continue
        if event.denied:
            owner.denied.append(event)
            continue
        owner.events.append(event)
        requests, why = requests_of(event)
        if requests:
            owner.requests += requests
        else:
            owner.unmapped.append((event, why))
    return matched


def plan_json(files: Mapping[str, bytes]) -> dict[str, Any]:
    """plan.json of a written plan (`StackPlan.files`)."""
    return json.loads(files["plan.json"])
