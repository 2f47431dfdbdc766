"""The stack's roles as evidence meets them: each role's ARN (what CloudTrail names as a session's
issuer), the stack-file entry that makes it, and its model (`agent_iam.model`: its documents as
the plan would create them).

Roles come from the plan (`agent_iam.plan.planner.plan_stack`): the units the program registered
(entry key, the roles each makes, in the entry's own account or another of the stack's
`accounts`) and `plan.json`'s documents, read into role models as `agent-iam diff` reads them.
Identity is the ARN (partition, account, path, name), never a name alone: a session of a role
with the same name in another account, or under another path, is another principal. A role whose
entry was renamed (`formerNames`) was another role under its former name: sessions of that ARN, in
evidence older than the rename, are the entry's use too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent_iam.components._contract import ArgsError
from agent_iam.guardrails import rules
from agent_iam.iam import partitions
from agent_iam.model import RoleModel, roles_from_views
from agent_iam.plan.guardrails import views_from_plan

from .records import Event
from .requests import ObservedRequest, requests_of


@dataclass(eq=False)  # one object per role: compared and hashed by identity
class StackRole:
    """One role of the stack, where it comes from, and the evidence that is its own."""

    arn: str
    account: str
    name: str
    entry: str  # the stack-file entry that makes it: `agent-iam:saasRoles[0]`
    entry_name: str
    label: str  # "role", "task role", "execution role": which of the entry's roles
    model: RoleModel | None  # its documents in the plan, as the model reads them
    former_arns: tuple[str, ...] = ()  # the ARNs it had under the entry's formerNames
    events: list[Event] = field(default_factory=list)  # API calls of its sessions, allowed
    denied: list[Event] = field(default_factory=list)  # API calls of its sessions, refused
    requests: list[ObservedRequest] = field(default_factory=list)  # what the allowed calls needed
    unmapped: list[tuple[Event, str]] = field(default_factory=list)  # calls naming no IAM action, and why
    former_events: dict[str, int] = field(default_factory=dict)  # former ARN -> events of its sessions

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


def plan_models(settings: Any, plan: Mapping[str, Any]) -> dict[tuple[str | None, str], RoleModel]:
    """The role models of a plan.json, by (account, name): what the diff's reasoner reads."""
    views = views_from_plan(plan, settings.account_id)
    return {m.key: m for m in roles_from_views(views, rules.Context(account_id=settings.account_id))}


def _former_names(unit: Any) -> list[tuple[str, ...]]:
    """Per former entry name (`formerNames`), the names its roles had, in the unit's roles' order;
    a former name the component would refuse today gives none."""
    out = []
    for former in unit.former_names:
        try:
            planned = tuple(unit.component.check(former, unit.args).roles())
        except ArgsError:
            continue
        if len(planned) == len(unit.roles):
            out.append(tuple(p.spec.name for p in planned))
    return out


def stack_roles(settings: Any, plan: Mapping[str, Any]) -> list[StackRole]:
    """Every role the stack's units make, with its ARN (and former ARNs), entry and model.

    `settings` is the plan's StackSettings (`StackPlan.run.settings`), `plan` its plan.json."""
    models = plan_models(settings, plan)
    partition = partitions.partition_for_region(settings.region)
    roles = []
    for unit in settings.units():
        formers = _former_names(unit)
        for index, planned in enumerate(unit.roles):
            account = planned.account_id or unit.target.account_id
            name = planned.spec.name
            former = tuple(dict.fromkeys(
                role_arn(partition, account, planned.spec.path, names[index]) for names in formers if names[index] != name))
            roles.append(StackRole(
                arn=role_arn(partition, account, planned.spec.path, name),
                account=account,
                name=name,
                entry=unit.key,
                entry_name=unit.name,
                label=planned.label,
                model=models.get((account, name)),
                former_arns=former,
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
        issuer = event.issuer_arn
        owner = next((r for r in roles if issuer and _same_role(issuer, r.arn)), None)
        if owner is None and issuer:
            owner = next((r for r in roles if any(_same_role(issuer, f) for f in r.former_arns)), None)
            if owner is not None:
                former = next(f for f in owner.former_arns if _same_role(issuer, f))
                owner.former_events[former] = owner.former_events.get(former, 0) + 1
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
