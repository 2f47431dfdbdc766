"""Findings as decisions: where each finding of a plan is, the acceptance that names it, and the
blocking output grouped per entry, check and place.

`Places` ties every violation and IAM finding to its place (`guardrails/acceptance.py`): the role
(account and name), the document's name as the plan shows it and the statements' 1-based numbers.
Nothing here depends on how a finding was computed. `decision_groups` gathers the blocking ones per
entry, check and place; each group says in words what the place grants, the acceptance to paste,
and a narrower alternative where one is known (`NARROWER_MANAGED_POLICIES`, or the ARN format of
the resources a wide statement should name, from AWS's service data).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent_iam.guardrails import rules
from agent_iam.guardrails.acceptance import TRUST_DOCUMENT, Key, Place, RoleKey, accept_as, flow, role_kind
from agent_iam.iam import actions as iam_actions
from agent_iam.iam import arns

if TYPE_CHECKING:
    from agent_iam.guardrails.rules import ResourceView, Violation
    from agent_iam.model.documents import Document, Statement
    from agent_iam.stack_config import StackSettings

    from .guardrails import PlanDocument

# Well-known AWS managed policies and narrower ones that serve the same purpose, reviewed (one home;
# tests/test_decisions.py checks each exists in the managed-policy data and grants less).
NARROWER_MANAGED_POLICIES: Mapping[str, tuple[str, ...]] = {
    "AdministratorAccess": ("ReadOnlyAccess", "ViewOnlyAccess"),
    "PowerUserAccess": ("ReadOnlyAccess", "ViewOnlyAccess"),
    "ReadOnlyAccess": ("ViewOnlyAccess", "SecurityAudit"),
    "IAMFullAccess": ("IAMReadOnlyAccess",),
    "AmazonS3FullAccess": ("AmazonS3ReadOnlyAccess",),
    "AmazonEC2FullAccess": ("AmazonEC2ReadOnlyAccess",),
    "AmazonDynamoDBFullAccess": ("AmazonDynamoDBReadOnlyAccess",),
    "AmazonRDSFullAccess": ("AmazonRDSReadOnlyAccess",),
    "AmazonSSMFullAccess": ("AmazonSSMReadOnlyAccess",),
    "CloudWatchFullAccess": ("CloudWatchReadOnlyAccess",),
    "AWSLambda_FullAccess": ("AWSLambda_ReadOnlyAccess",),
}

REASON_PLACEHOLDER = "<why, reviewed by whom>"


@dataclass(frozen=True)
class EntryRole:
    """A role as its entry sees it: the entry's config key, the role's kind and how a key names it."""

    entry: str
    kind: str
    ref: str | None  # what `role:` says in this entry's keys; None: the entry makes one role


class Places:
    """Where each violation and finding of a plan is, which entry's role that is, and its `acceptAs`."""

    def __init__(
        self,
        settings: StackSettings,
        views: Sequence[ResourceView],
        documents: Sequence[PlanDocument],
        context: rules.Context,
    ) -> None:
        self.context = context
        self.view_list = views
        self.views = {(v.type, v.name): v for v in views}
        self.documents = {d.label: d for d in documents}
        self.by_source = {d.source: d for d in documents if d.source is not None}
        self.roles: dict[RoleKey, EntryRole] = {}
        self.entry_roles: dict[str, list[RoleKey]] = defaultdict(list)
        self.entry_names: dict[str, str] = {}  # config key -> the entry's name, in the stack file's order
        for unit in settings.units():
            self.entry_names[unit.key] = unit.name
            kinds = [role_kind(planned.label) for planned in unit.roles]
            for planned, kind in zip(unit.roles, kinds):
                role = RoleKey(planned.account_id or unit.target.account_id, planned.spec.name)
                ref = None if len(unit.roles) == 1 else kind if kinds.count(kind) == 1 and kind != "role" else planned.spec.name
                self.roles[role] = EntryRole(unit.key, kind, ref)
                self.entry_roles[unit.key].append(role)
        # (role, Sid) -> the names of the role's own documents with a statement of that Sid
        self._sid_documents: dict[tuple[RoleKey, str], set[str]] = defaultdict(set)
        for doc in documents:
            if doc.managed_policy is not None or doc.model is None:
                continue
            for statement in doc.model.statements:
                if statement.sid:
                    for role in doc.roles:
                        self._sid_documents[(role, statement.sid)].add(doc.name)

    # --- places ---------------------------------------------------------------------------

    def role_of_view(self, view: ResourceView) -> RoleKey | None:
        name = rules.role_of(view)
        if not name:
            return None
        account = rules.role_account(view, self.context) if view.type == rules.ROLE else view.account or self.context.account_id
        return RoleKey(account, name)

    def of_violation(self, violation: Violation) -> list[Place]:
        view = self.views.get((violation.resource_type, violation.resource_name))
        roles: list[RoleKey | None]
        if violation.role and violation.account is not None:  # a rule on a role's effective access
            roles = [RoleKey(violation.account, violation.role)]
        elif view is not None and view.type == rules.POLICY:  # a customer managed policy: every role attaching it
            doc = self.by_source.get((view.type, view.name))
            roles = [r for r in doc.roles if violation.role in (None, r.name)] if doc else [None]
            roles = roles or [None]
        elif view is not None:
            roles = [self.role_of_view(view)]
        else:  # a role this stack names but does not create (iam-role-limits)
            roles = [RoleKey(self.context.account_id, violation.role) if violation.role else None]
        places = []
        for role in roles:
            place = rules.violation_place(violation, role.account if role else None)
            places.append(Place(role, place.document, place.statements, place.sids, place.whole, place.statements[0] if place.statements else None))
        return places

    def of_finding(self, finding: Any) -> list[Place]:
        doc = self.documents.get(finding.label)
        if doc is None:
            return []
        index = finding.statement_index if finding.statement_index is not None and finding.statement_index >= 0 else None
        numbers = tuple(sorted(finding.statements)) or ((index + 1,) if index is not None else ())
        items = doc.model.statements if doc.model is not None else ()
        sids = tuple(items[n - 1].sid if 0 < n <= len(items) else None for n in numbers)
        whole = doc.managed_policy is not None
        primary = index + 1 if index is not None else None
        return [Place(role, doc.name, numbers, sids, whole, primary) for role in doc.roles]

    def place_of(self, item: Any) -> Place | None:
        """The item's place in the entry that makes its role (the first such role), else its first place."""
        places = self.of_violation(item) if isinstance(item, rules.Violation) else self.of_finding(item)
        return next((p for p in places if p.role in self.roles), places[0] if places else None)

    def entry_of(self, item: Any) -> str | None:
        place = self.place_of(item)
        role = self.roles.get(place.role) if place and place.role else None
        return role.entry if role else None

    def kind_of(self, role: RoleKey | None) -> str | None:
        entry = self.roles.get(role) if role else None
        return entry.kind if entry else None

    def role_refs(self, entry: str) -> dict[str, RoleKey]:
        """What `role:` may say in an entry's keys: each role's kind and name."""
        out: dict[str, RoleKey] = {}
        for role in self.entry_roles.get(entry, ()):
            out[self.roles[role].kind] = role
            out[role.name] = role
        return out

    def accept_as(self, check: str, place: Place | None) -> Key | None:
        """The key an entry accepts `check` at `place` with; None when no entry makes the role."""
        entry = self.roles.get(place.role) if place and place.role else None
        if place is None or entry is None:
            return None
        sid = place.sids[0] if len(place.statements) == 1 else None
        unique = sid is None or len(self._sid_documents.get((place.role, sid), ())) <= 1  # type: ignore[arg-type]
        return accept_as(check, place, entry.ref, unique)

    def acceptance_of(self, item: Any) -> Key | None:
        return self.accept_as(check_of(item), self.place_of(item)) if acceptable(item) else None

    def statements_at(self, item: Any) -> list[Statement]:
        """The typed statements an item's place names (every statement of a whole document)."""
        place = self.place_of(item)
        document = self.document_at(item)
        if place is None or document is None:
            return []
        items = list(document.statements)
        if place.whole or not place.statements:
            return items if place.whole else []
        return [items[n - 1] for n in place.statements if 0 < n <= len(items)]

    def document_at(self, item: Any) -> Document | None:
        """The typed document an item is in, when the plan has it (from the one model)."""
        if not isinstance(item, rules.Violation):
            doc = self.documents.get(item.label)
            return doc.model if doc else None
        if item.document is None:
            return None
        if item.role and item.account is not None:  # an effective-access finding: the role's own document
            for unit in rules.role_units(self.view_list, self.context):
                if (unit.account, unit.role) == (item.account, item.role):
                    return next((d for d in unit.model.identity if d.source and d.source.name == item.document), None)
        for doc in self.documents.values():
            if doc.source == (item.resource_type, item.resource_name) and doc.name == item.document:
                return doc.model
        view = self.views.get((item.resource_type, item.resource_name))
        role = self.role_of_view(view) if view is not None else None
        for doc in self.documents.values():
            if doc.name == item.document and (role is None or role in doc.roles):
                return doc.model
        return None


def check_of(item: Any) -> str:
    return item.rule if isinstance(item, rules.Violation) else item.check


# An IAM validator error means the document itself is wrong (an action that does not exist, an
# operator IAM rejects): it is fixed, never accepted.
NOT_ACCEPTABLE = frozenset({"error"})


def acceptable(item: Any) -> bool:
    """Whether a reviewed acceptance may cover the item: every violation, and every finding but errors."""
    return isinstance(item, rules.Violation) or item.severity not in NOT_ACCEPTABLE


# --- what a place grants, in words ---------------------------------------------------------

LEVEL_VERBS = {
    "credential read": "reads secrets or credentials from",
    iam_actions.PERMISSIONS: "changes the permissions of",
    iam_actions.WRITE: "changes",
    iam_actions.TAGGING: "tags",
    iam_actions.READ: "reads",
    iam_actions.LIST: "lists",
}
LEVEL_ORDER = tuple(LEVEL_VERBS)


def _level(action: str) -> str:
    if iam_actions.is_credential_read(action):
        return "credential read"
    return iam_actions.access_level(action) or "unknown"


def _kind_of_resource(resource: str) -> str | None:
    """The resource type an ARN pattern is of (`security-group`), by AWS's ARN formats; None for `*`."""
    parsed = arns.parse(resource)
    if parsed is None or arns.has_wildcard(parsed.service):
        return None
    for fmt in arns.formats():
        if fmt.service == parsed.service and fmt.resource_prefix and parsed.resource.startswith(fmt.resource_prefix):
            return fmt.key
    return None


def _kinds(action: str) -> tuple[str, ...]:
    """The resource types an action acts on, by AWS's data: those it requires, else its only one;
    () when it takes many optional types (`ec2:CreateTags`) or none."""
    record = iam_actions.details(action) or {}
    types = [r for r in record.get("resourceTypes", []) if r.get("name")]
    required = tuple(r["name"] for r in types if r.get("required"))
    return required or (tuple(r["name"] for r in types) if len(types) == 1 else ())


def _kinds_at(actions: Sequence[str], resource: str) -> list[str]:
    """The kinds of resource `actions` act on at `resource`: the kind a typed ARN pattern names, else
    (on `*`) the actions' own kinds."""
    kind = None if resource == "*" or resource.startswith("NotResource") else _kind_of_resource(resource)
    if kind:
        return [kind]
    return list(dict.fromkeys(k for a in actions for k in _kinds(a)))


def _what(actions: Sequence[str], resource: str) -> str:
    """`every security-group in the account`: the kind of resource the actions act on."""
    services = {iam_actions.split(a)[0] for a in actions}
    kinds = _kinds_at(actions, resource) if len(services) <= 1 or resource != "*" else []
    every = arns.covers_every_resource(resource) or resource.startswith("NotResource")
    where = " in the account" if resource == "*" else ""
    if not every:
        return f"{' and '.join(kinds)} resources" if 0 < len(kinds) <= 2 else "the resources"
    if 0 < len(kinds) <= 2:
        return " and ".join(f"every {kind}" for kind in kinds) + where
    return "every resource" + where


def _summary(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def _resources_of(statement: Statement) -> list[str]:
    """A typed statement's resources as written (`NotResource x` for what NotResource leaves out)."""
    written = [str(p) for p in statement.resource or ()]
    return [f"NotResource {r}" for r in written] if statement.not_resource else written


def grant_words(statements: Sequence[Statement], actions: Sequence[str] = ()) -> str:
    """What statements grant, in words, most dangerous first: `reads the secrets or credentials of
    every Secret in the account: secretsmanager:GetSecretValue on *`. `actions` (a finding's) narrow it
    to those actions; otherwise the sensitive ones, else everything the statements allow."""
    wanted = {a.lower() for a in actions}
    phrases: list[str] = []
    for statement in statements:
        if statement.effect != "Allow":
            continue
        resources = _resources_of(statement)
        granted = rules.statement_actions(statement)
        if wanted:
            chosen = [a for a in granted if a.lower() in wanted] or sorted(actions)
        else:
            chosen = [a for a in granted if iam_actions.is_sensitive(a)] or list(granted)
        wide = [r for r in resources if arns.covers_every_resource(r)] or resources
        phrases += action_words(chosen, wide[0] if wide else "*", len(resources))
    return "; ".join(phrases)


def action_words(actions: Sequence[str], resource: str, resources: int = 1) -> list[str]:
    """One phrase per access level: `changes every security-group in the account: ec2:A, ec2:B on *`."""
    by_level: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        by_level[_level(action)].append(action)
    more = f" (and {resources - 1} more resources)" if resources > 1 else ""
    phrases = []
    for level in sorted(by_level, key=lambda x: LEVEL_ORDER.index(x) if x in LEVEL_ORDER else len(LEVEL_ORDER)):
        found = sorted(by_level[level], key=lambda a: (rules.severity_rank(a), a))
        verb = LEVEL_VERBS.get(level, "acts on")
        phrases.append(f"{verb} {_what(found, resource)}: {_summary(found)} on {resource}{more}")
    return phrases


def _takes_resource_tag(action: str) -> bool:
    """Whether AWS's data lists `aws:ResourceTag/${TagKey}` for the action or one of its resource types."""
    record = iam_actions.details(action) or {}
    keys = list(record.get("conditionKeys", [])) + [k for r in record.get("resourceTypes", []) for k in r.get("conditionKeys", [])]
    return "aws:ResourceTag/${TagKey}" in keys


def narrower(place: Place, statements: Sequence[Statement], actions: Sequence[str] = ()) -> str | None:
    """A narrower way to the same end, where one is known: a narrower AWS managed policy, or (for a
    statement on every resource of a kind) the ARN format of the resources to name instead, and a
    tag condition where the actions take `aws:ResourceTag` (AWS's service data)."""
    if place.whole and place.document:
        alternatives = NARROWER_MANAGED_POLICIES.get(place.document)
        if alternatives:
            return f"attach {' or '.join(alternatives)} instead, if they serve the purpose (narrower AWS managed policies)"
        return None
    if place.document in (None, TRUST_DOCUMENT):
        return None
    wanted = {a.lower() for a in actions}
    formats: list[str] = []
    taggable = True
    for statement in statements:
        wide = rules.wide_patterns(statement) if statement.effect == "Allow" else []
        if not wide:
            continue
        granted = [a for a in rules.statement_actions(statement)
                   if (a.lower() in wanted if wanted else iam_actions.is_sensitive(a))]
        resource = next((r for r in _resources_of(statement) if arns.covers_every_resource(r)), "*")
        for kind in _kinds_at(granted, resource):
            formats += [f.template for f in arns.formats() if f.key == kind and any(
                f.service == iam_actions.split(a)[0] or f.service == (arns.parse(resource).service if arns.parse(resource) else "")
                for a in granted)]
        taggable = taggable and bool(granted) and all(_takes_resource_tag(a) for a in granted)
    formats = list(dict.fromkeys(formats))
    if not formats:
        return None
    shown = ", ".join(formats[:3]) + (f" and {len(formats) - 3} more" if len(formats) > 3 else "")
    tag = ", or require a tag on them (aws:ResourceTag/<key> with StringEquals)" if taggable else ""
    return f"name the resources it acts on ({shown}){tag}"


# --- groups --------------------------------------------------------------------------------


@dataclass
class DecisionGroup:
    """The blocking violations and findings of one check at one place of one entry's role."""

    entry: str | None
    check: str
    place: Place | None
    key: Key | None
    items: list[Any] = field(default_factory=list)
    grants: str = ""
    alternative: str | None = None

    @property
    def actions(self) -> list[str]:
        """The actions the group's items name (a finding's action, a violation's wide grants)."""
        found = {a for item in self.items if (a := getattr(item, "action", None))}
        found |= {a for item in self.items for a in getattr(item, "actions", ())}
        return sorted(found)

    def where(self) -> str:
        if self.place is None:
            return getattr(self.items[0], "label", "") if self.items else ""
        role = f"role {self.place.role.name!r}" if self.place.role else "the stack"
        return f"{self.place.describe()} of {role}"

    def acceptance(self, reason: str = REASON_PLACEHOLDER) -> str:
        """The `acceptedFindings` item to paste, as one line of YAML."""
        return flow({**self.key.to_dict(), "reason": reason}) if self.key else ""


def decision_groups(places: Places, items: Iterable[Any]) -> list[DecisionGroup]:
    """Items grouped per entry, check and place, in the order of their first item."""
    groups: dict[tuple[Any, ...], DecisionGroup] = {}
    for item in items:
        place = places.place_of(item)
        check = check_of(item)
        entry = places.entry_of(item)
        if place is None:
            ident: tuple[Any, ...] = (None, check, getattr(item, "label", ""), id(item))
        else:
            ident = (entry, check, place.role, place.document, place.statements if not place.whole else ())
        ident = (*ident, acceptable(item))
        group = groups.get(ident)
        if group is None:
            key = places.accept_as(check, place) if acceptable(item) else None
            group = groups[ident] = DecisionGroup(entry, check, place, key)
        group.items.append(item)
    for group in groups.values():
        if group.place is None or group.key is None:  # an invalid document: nothing to say it grants
            continue
        statements = places.statements_at(group.items[0])
        if group.place.document == TRUST_DOCUMENT or group.place.document is None or not statements:
            group.grants = ""
        elif group.place.whole:  # an AWS managed policy: the actions its findings name, on every resource
            named = group.actions
            group.grants = "; ".join(action_words(named, "*")) if named else ""
        else:
            group.grants = grant_words(statements, group.actions)
        group.alternative = narrower(group.place, statements, group.actions)
    return list(groups.values())
