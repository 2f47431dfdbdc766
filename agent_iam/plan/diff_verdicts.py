"""What a change does to each role, by meaning: the reasoner's verdict on two plans' roles.

`role_verdicts(base_plan, head_plan)` builds the model of every role of both plan.json files
(`agent_iam.model`, with the AWS managed policy documents each plan recorded it was judged with) and
asks the reasoner (`solver.compare`), per role and separately for its permissions and its trust,
whether the head allows something the base does not (**wider**, with a witness request the
evaluator confirms), the reverse (**narrower**), both, neither (**equal**), or whether that cannot be
told offline. Roles are matched by account and name, and a renamed entry's roles (`formerNames`,
recorded in plan.json's `entries`) with their former selves.

What the plan cannot see is handled so that it is never read as "no change":
- A document the plan cannot see that is the same on both sides (a permissions boundary attached by
  ARN, a policy attached from outside the stack) is left out of both: the role is wider "within what
  that document allows" (said next to the witness).
- One added or removed (a policy attached by ARN, a boundary taken away or replaced) is "could not
  decide" (counted as widening) when it may widen, and said when it can only narrow.
- A `secure:` value cannot be read: one that changed (plan.json's digests of the ciphertexts), or a
  value that moved into or out of `secure:`, makes the role "not comparable offline" (exit 0, and the
  diff says so), unless the rest of the change widens it, compared as if the value were unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agent_iam.iam.checks import REDACTED
from agent_iam.iam.resource_types import POLICY, ROLE, ROLE_POLICY
from agent_iam.model import Request, RoleModel, can_assume, evaluate, roles_from_views
from agent_iam.model import documents as docs
from agent_iam.model.roles import KeyedByRole, RoleKey, allows_nothing

PERMISSIONS, TRUST = "permissions", "trust"
# A role's verdict (diff.json `verdict`), most pressing first.
WIDENING, UNDECIDED, NOT_COMPARABLE, NARROWING, NEUTRAL = (
    "widening", "could not decide", "not comparable", "narrowing", "neutral",
)
VERDICT_ORDER = {WIDENING: 0, UNDECIDED: 1, NOT_COMPARABLE: 2, NARROWING: 3, NEUTRAL: 4}
# What the exit code counts as widening: a widening, and what could not be decided.
WIDENS = (WIDENING, UNDECIDED)


# --- the verdict of one aspect of a role ------------------------------------------------


@dataclass(frozen=True)
class Aspect:
    """How one aspect of a role (its permissions or its trust) changed: the reasoner's verdict
    (`solver.EQUAL`, `WIDER`, `NARROWER`, `MIXED`, `NOT_COMPARABLE`, `UNKNOWN`), a witness request
    per direction with what it means in words, and why it is not comparable or undecided."""

    name: str
    verdict: str
    wider: Request | None = None
    narrower: Request | None = None
    wider_words: str = ""
    narrower_words: str = ""
    reason: str = ""  # why not comparable, or not decided
    notes: tuple[str, ...] = ()  # what the comparison assumed (a document the plan cannot see, a secret)
    secrets: tuple[tuple[str, str], ...] = ()  # witness values that stand for a secret (shown as `[secret]`)

    @property
    def kind(self) -> str:
        from agent_iam.model import solver

        return {
            solver.WIDER: WIDENING, solver.MIXED: WIDENING, solver.UNKNOWN: UNDECIDED,
            solver.NOT_COMPARABLE: NOT_COMPARABLE, solver.NARROWER: NARROWING,
        }.get(self.verdict, NEUTRAL)

    def witness(self, request: Request | None) -> dict[str, Any] | None:
        """A witness as diff.json shows it: `{"principal", "action", "resource", "context"}`, a value
        that stands for a secret shown as the plan shows it (`[secret]`)."""
        if request is None:
            return None
        shown = request.to_dict()
        hidden = {value for _, value in self.secrets}
        shown["context"] = {
            k: ([REDACTED if x in hidden else x for x in v] if isinstance(v, list) else REDACTED if v in hidden else v)
            for k, v in shown["context"].items()
        }
        return shown

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.wider is not None:
            out["witness"] = self.witness(self.wider)
            out["words"] = self.wider_words
        if self.narrower is not None:
            out["narrowerWitness"] = self.witness(self.narrower)
            out["narrowerWords"] = self.narrower_words
        if self.reason:
            out["reason"] = self.reason
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class RoleVerdict(KeyedByRole):
    """One role compared: its key (the head's; the base's when it is removed), how it changed
    (added, removed, changed, renamed: `former` is its key before), and its two aspects."""

    key: RoleKey
    change: str
    permissions: Aspect
    trust: Aspect
    former: RoleKey | None = None

    @property
    def aspects(self) -> tuple[Aspect, Aspect]:
        return (self.permissions, self.trust)

    @property
    def verdict(self) -> str:
        """The most pressing of its aspects' verdicts (widening first)."""
        return min((a.kind for a in self.aspects), key=VERDICT_ORDER.__getitem__)

    @property
    def widens(self) -> bool | None:
        """True when the head allows something the base does not; None when that could not be told
        (counted as widening), False otherwise (not comparable offline included)."""
        kinds = {a.kind for a in self.aspects}
        return True if WIDENING in kinds else None if UNDECIDED in kinds else False

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            PERMISSIONS: self.permissions.to_dict(),
            TRUST: self.trust.to_dict(),
            **({"renamedFrom": {"account": self.former[0], "role": self.former[1]}} if self.former else {}),
        }


# --- the models of a plan's roles ---------------------------------------------------------


@dataclass
class PlanModels:
    """A plan.json's roles as models, and what else the diff reads of it."""

    plan: Mapping[str, Any]
    roles: dict[RoleKey, RoleModel]
    entries: list[Mapping[str, Any]]


def plan_account(plan: Mapping[str, Any]) -> str | None:
    account = (plan.get("outputs") or {}).get("accountId")
    return account if isinstance(account, str) and re.fullmatch(r"\d{12}", account) else None


def plan_models(plan: Mapping[str, Any]) -> PlanModels:
    """Every role of a plan.json as a model; AWS managed policies as the plan recorded them
    (`managedPolicies`), else from the dataset (a plan written before they were recorded)."""
    from agent_iam.guardrails import rules
    from agent_iam.plan.guardrails import views_from_plan

    account = plan_account(plan)
    views = views_from_plan(plan, account)
    managed = plan.get("managedPolicies")
    models = roles_from_views(views, rules.Context(account_id=account), managed if isinstance(managed, Mapping) else None)
    entries = [e for e in plan.get("entries") or [] if isinstance(e, Mapping)]
    return PlanModels(plan, {m.key: m for m in models}, entries)


# --- renames and secrets: preparing the two plans ---------------------------------------------

DOCUMENT_INPUTS = {ROLE: "assumeRolePolicy", ROLE_POLICY: "policy", POLICY: "policy"}


def _family(entry: Mapping[str, Any]) -> str:
    return str(entry.get("key", "")).split(":", 1)[-1].split("[", 1)[0]


def _entries(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [e for e in plan.get("entries") or [] if isinstance(e, Mapping)]


def _roles_of(entry: Mapping[str, Any]) -> list[RoleKey]:
    return [(r.get("account"), str(r.get("name"))) for r in entry.get("roles") or [] if isinstance(r, Mapping)]


@dataclass
class Renames:
    """Entries renamed through `formerNames`: former entry -> entry (`family/name`), head role -> its
    former self, and base resource logical name -> the head's (children are named from their entry)."""

    entries: dict[str, str] = field(default_factory=dict)
    roles: dict[RoleKey, RoleKey] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)


def renames(base: Mapping[str, Any], head: Mapping[str, Any]) -> Renames:
    """The entries of `head` renamed from entries of `base` (plan.json `entries`, `formerNames`)."""
    out = Renames()
    old_entries = {(_family(e), e.get("name")): e for e in _entries(base)}
    current = {(_family(e), e.get("name")) for e in _entries(head)}
    base_roles = {k for e in _entries(base) for k in _roles_of(e)}
    head_roles = {k for e in _entries(head) for k in _roles_of(e)}
    for entry in _entries(head):
        family = _family(entry)
        for former in entry.get("formerNames") or []:
            old = old_entries.get((family, former))
            if old is None or (family, former) in current:
                continue
            out.entries[f"{family}/{former}"] = f"{family}/{entry.get('name')}"
            for new_key, old_key in zip(_roles_of(entry), _roles_of(old)):
                if new_key != old_key and new_key not in base_roles and old_key not in head_roles:
                    out.roles[new_key] = old_key
            new_name = str(entry.get("name"))
            for resource in base.get("resources", []):
                name, parent = str(resource.get("name")), str(resource.get("parent") or "")
                component = name == former and str(resource.get("type", "")).startswith("agent-iam:")
                child = parent.endswith(f"::{former}") and (name == former or name.startswith(f"{former}-"))
                if component or child:
                    out.resources[name] = new_name + name[len(former):]
    return out


def _align(one: Any, other: Any) -> tuple[Any, bool]:
    """`one` with `[secret]` wherever `other` holds it and `one` plain text: a value that moved into
    or out of `secure:` is the same unknown value on both sides, and whether there was any."""
    if other == REDACTED and isinstance(one, str) and one != REDACTED:
        return REDACTED, True
    if isinstance(one, dict) and isinstance(other, dict):
        out, changed = {}, False
        for k, v in one.items():
            out[k], c = _align(v, other[k]) if k in other else (v, False)
            changed = changed or c
        return out, changed
    if isinstance(one, list) and isinstance(other, list) and len(one) == len(other):
        items = [_align(a, b) for a, b in zip(one, other)]
        return [v for v, _ in items], any(c for _, c in items)
    return one, False


def _document_of(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "{":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _short(resource_type: str) -> str:
    """`aws:iam/rolePolicy:RolePolicy` -> `rolePolicy`: how the model names a resource's unknowns."""
    return resource_type.split(":")[1].rsplit("/", 1)[-1] if resource_type.count(":") == 2 else resource_type


def prepare_plans(base: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Renames, set[str]]:
    """The two plans as the reasoner compares them: the base's resources of renamed entries under
    their new logical names (what Pulumi's aliases do), and each value that moved into or out of
    `secure:` (`[secret]` on one side, plain text at the same place of the same resource's document on
    the other) a secret on both sides, compared as if unchanged; with the renames, and the prefixes of
    the unknown names those moved values get (`role:<name>:assumeRolePolicy:`)."""
    found = renames(base, head)
    base_resources = [
        {**r, "name": found.resources[r["name"]]} if r.get("name") in found.resources else r for r in base.get("resources", [])
    ]
    moved: set[str] = set()
    resources_text = json.dumps(base_resources) + json.dumps(head.get("resources", []))
    if REDACTED not in resources_text:
        return {**base, "resources": base_resources}, dict(head), found, moved
    index = {(r["type"], r["name"]): i for i, r in enumerate(base_resources)}
    head_resources = list(head.get("resources", []))
    for position, resource in enumerate(head_resources):
        prop = DOCUMENT_INPUTS.get(resource["type"])
        at = index.get((resource["type"], resource["name"]))
        if prop is None or at is None:
            continue
        other = base_resources[at]
        mine, theirs = _document_of(resource.get("inputs", {}).get(prop)), _document_of(other.get("inputs", {}).get(prop))
        if mine is None or theirs is None:
            continue
        aligned_head, head_changed = _align(mine, theirs)
        aligned_base, base_changed = _align(theirs, mine)
        if head_changed:
            head_resources[position] = {**resource, "inputs": {**resource["inputs"], prop: json.dumps(aligned_head)}}
        if base_changed:
            base_resources[at] = {**other, "inputs": {**other["inputs"], prop: json.dumps(aligned_base)}}
        if head_changed or base_changed:
            moved.add(f"{_short(resource['type'])}:{resource['name']}:{prop}:")
    return {**base, "resources": base_resources}, {**head, "resources": head_resources}, found, moved


def _entry_identity(path: str, entries: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """A config key path by entry name: `agent-iam:saasRoles[0].externalId` -> ("saasRoles/<name>", "externalId")."""
    for entry in entries:
        key = str(entry.get("key", ""))
        if key and (path == key or path.startswith(key + ".") or path.startswith(key + "[")):
            return f"{_family(entry)}/{entry.get('name')}", path[len(key):].lstrip(".")
    return "", path


@dataclass(frozen=True)
class SecretChange:
    """A `secure:` value planned with another ciphertext than the base's: its path in the head, and
    the roles of its entry (none for a value outside the entries, such as a cluster's kubeconfig)."""

    path: str
    roles: tuple[RoleKey, ...]


def changed_secrets(base: Mapping[str, Any], head: Mapping[str, Any], found: Renames) -> list[SecretChange]:
    """The `secure:` values whose ciphertext differs from the base's (plan.json `secureValues`), matched
    by entry name and key (an entry's index may change), by path."""
    base_values = base.get("secureValues") or {}
    head_values = head.get("secureValues") or {}
    if not isinstance(base_values, Mapping) or not isinstance(head_values, Mapping):
        return []
    before = {}
    for path, digest in base_values.items():
        entry, rest = _entry_identity(path, _entries(base))
        before[(found.entries.get(entry, entry), rest)] = digest
    out = []
    for path, digest in sorted(head_values.items()):
        identity = _entry_identity(path, _entries(head))
        old = before.get(identity)
        if old is not None and old != digest:
            entry = next((e for e in _entries(head) if _entry_identity(path, [e])[0]), None)
            out.append(SecretChange(path, tuple(_roles_of(entry)) if entry else ()))
    return out


# --- comparing one role ---------------------------------------------------------------------


def _unknown_documents(role: RoleModel) -> dict[Any, docs.Document]:
    return {d.unknown: d for d in role.identity if not d.known}


def _strip(role: RoleModel, identity: Sequence[docs.Document], boundary: docs.Document | None) -> RoleModel:
    return replace(role, identity=tuple(identity), boundary=boundary)




@dataclass
class _Prepared:
    """Two roles ready for the reasoner (what neither can see left out), and what that left out says."""

    base: RoleModel
    head: RoleModel
    notes: list[str] = field(default_factory=list)
    may_widen: list[str] = field(default_factory=list)  # unseen documents added: maybe wider


def prepare(base: RoleModel, head: RoleModel) -> _Prepared:
    """Leave out of both roles the documents the plan cannot see, and say what each means: one the
    same on both sides bounds both alike; one added may widen; one removed may narrow."""
    before, after = _unknown_documents(base), _unknown_documents(head)
    out = _Prepared(base, head)
    for symbol in sorted(set(before) & set(after), key=str):
        out.notes.append(f"besides {after[symbol].describe()}, the same on both sides (its content is not in the plan)")
    for symbol in sorted(set(after) - set(before), key=str):
        out.may_widen.append(f"{after[symbol].describe()} is attached and its content is not in the plan")
    for symbol in sorted(set(before) - set(after), key=str):
        out.notes.append(f"{before[symbol].describe()} is no longer attached (its content is not in the plan)")
    base_boundary, head_boundary = base.boundary, head.boundary
    b_unknown = base_boundary is not None and not base_boundary.known
    h_unknown = head_boundary is not None and not head_boundary.known
    if b_unknown and h_unknown and base_boundary.unknown == head_boundary.unknown:  # type: ignore[union-attr]
        out.notes.append(f"within {head_boundary.describe()}, the same on both sides: if it allows it")  # type: ignore[union-attr]
        base_boundary = head_boundary = None
    elif b_unknown and head_boundary is None:
        out.may_widen.append(f"{base_boundary.describe()} (not in the plan) is removed: what it held back is allowed now")  # type: ignore[union-attr]
        base_boundary = None
    elif h_unknown and base_boundary is None:
        out.notes.append(f"bounded now by {head_boundary.describe()} (not in the plan): if it allows it")  # type: ignore[union-attr]
        head_boundary = None
    elif b_unknown:
        # Replaced (by another unseen boundary or a known one): what the old one held back may be allowed now,
        # as when it is removed; the base is compared without it (the most it could allow).
        replaced = f"{head_boundary.describe()}{' (not in the plan)' if h_unknown else ''}"  # type: ignore[union-attr]
        out.may_widen.append(f"{base_boundary.describe()} (not in the plan) is replaced by {replaced}: "  # type: ignore[union-attr]
                             "what it held back may be allowed now")
        base_boundary = None
        if h_unknown:
            head_boundary = None
    elif h_unknown:
        # A known boundary replaced by one the plan cannot see: the head is compared without it (the most it
        # could allow), so a grant the old boundary held back is a widening "if it allows it".
        out.notes.append(f"bounded now by {head_boundary.describe()} (not in the plan) instead of "  # type: ignore[union-attr]
                         f"{base_boundary.describe()}: if it allows it")  # type: ignore[union-attr]
        head_boundary = None
    out.base = _strip(base, [d for d in base.identity if d.known], base_boundary)
    out.head = _strip(head, [d for d in head.identity if d.known], head_boundary)
    return out


def code_span(value: str) -> str:
    """`value` as Markdown code, whatever backticks it holds."""
    tick = "``" if "`" in value else "`"
    return f"{tick}{value}{tick}"


def witness_words(aspect: str, request: Request, denied_by: RoleModel, assumed: Mapping[str, str], now: bool = True) -> str:
    """What a witness means: who can now (no longer) do what, and what the other side required that
    it does not meet (from the evaluator's near misses: `without sts:ExternalId`)."""
    secret_values = set(assumed.values())
    if aspect == TRUST:
        assert request.principal is not None
        who = code_span(str(request.principal.value))
        what = f"call {code_span(request.action)}"
        decision = can_assume(denied_by, request, dict(assumed))
    else:
        who = "the role"
        what = f"call {code_span(request.action)}" + (f" on {code_span(request.resource)}" if request.resource not in ("", "*") else "")
        decision = evaluate(denied_by, request, dict(assumed))
    text = f"{who} can {'now' if now else 'no longer'} {what}"
    if decision.denies:
        return f"{text} (before, {decision.denies[0]} denied it)" if now else f"{text} ({decision.denies[0]} denies it)"
    parts: list[str] = []
    misses = [m for m in decision.near_misses if not m.principal]
    if misses:
        miss = min(misses, key=lambda m: (len(m.conditions) + m.resource, str(m.statement)))
        for failure in miss.conditions:
            if failure.key in ("aws:principalarn", "aws:principalaccount"):
                continue  # the principal named already says it
            if failure.actual is None:
                parts.append(f"without {code_span(failure.key)}")
            else:
                shown = ", ".join("the secret value" if v in secret_values else v for v in failure.actual)
                parts.append(f"with {code_span(failure.key)} = {code_span(shown)}")
    elif decision.allows and decision.boundary in ("does-not-allow", "denies"):
        parts.append("(outside the permissions boundary it had)" if now else "(outside its permissions boundary now)")
    return " ".join([text, *parts])


def unknown_words(name: str) -> str:
    """An unknown by what it is: `the value of sts:ExternalId (a secure: value)`, a document by its name."""
    if ".Condition." in name:
        key = name.rsplit(".Condition.", 1)[1].split(".", 1)[-1]
        return f"the value of `{key}` the plan cannot see (a secure: value)"
    if name.startswith("document:"):
        return f"`{name.removeprefix('document:')}` (its content is not in the plan)"
    return f"`{name}` (not known until deployment)"


def _value_unknowns(documents: Sequence[docs.Document]) -> set[str]:
    """The names of the unknown values (secrets) inside known documents."""
    return {u.name for d in documents if d.known for u in d.unknowns}


EXAMPLE = "example"  # the name a witness gives a resource no document names


def _instances(pattern: str) -> str:
    """A resource a Resource pattern matches: its wildcards as `example`."""
    return re.sub(r"[*?]+", EXAMPLE, pattern)


def _readable_resources(request: Request, allowed_by: RoleModel) -> list[str]:
    """Resources a permissions witness could name instead of the solver's pick: instances of the
    allowing side's own Resource patterns for the action, then of the action's ARN formats (from
    AWS's service data), then `*` for an action on no resource type."""
    from agent_iam.iam import arns
    from agent_iam.model.matching import any_action_matches

    out: list[str] = []
    for document in allowed_by.identity:
        for statement in document.statements:
            if statement.effect != docs.ALLOW or statement.not_resource or statement.resource is None:
                continue
            if statement.not_action or not any_action_matches(tuple(a for a in statement.action if isinstance(a, str)), request.action):
                continue
            out += [_instances(p.text) for p in statement.resource if isinstance(p, docs.Pattern) and p.text != "*"]
    account = allowed_by.account or "111122223333"
    partition = allowed_by.partition
    formats = [f.template for f in arns.action_formats(request.action)]
    for template in reversed(formats):
        filled = template.replace("${Partition}", partition).replace("${Region}", "us-east-1").replace("${Account}", account)
        out.append(re.sub(r"\$\{[^}]*\}", EXAMPLE, filled))
    if not formats:
        out.append("*")
    return list(dict.fromkeys(out))


MAX_CANDIDATE_ACTIONS = 60  # actions of the changed statements tried for a witness a reviewer reads first


def _changed_statements(allowed_by: RoleModel, denied_by: RoleModel) -> list[docs.Statement]:
    """The Allow statements of `allowed_by` that `denied_by` does not have as such (what the change added)."""
    def body(s: docs.Statement) -> tuple[Any, ...]:
        return (s.effect, s.action, s.not_action, s.resource, s.not_resource, s.principal, s.not_principal, s.conditions)

    theirs = {body(s) for d in denied_by.identity for s in d.statements}
    return [s for d in allowed_by.identity for s in d.statements if s.effect == docs.ALLOW and body(s) not in theirs]


def _salient_candidates(request: Request, allowed_by: RoleModel, denied_by: RoleModel) -> list[Request]:
    """Requests that say the most to a reviewer: the actions of the statements the change added, most
    sensitive access level first, on instances of their resources, with the witness's context."""
    from agent_iam.iam import actions

    levels = (actions.PERMISSIONS, actions.WRITE, actions.TAGGING, actions.READ, actions.LIST)
    found: list[tuple[int, int, str, str]] = []
    for statement in _changed_statements(allowed_by, denied_by):
        if statement.not_action:
            continue
        names = list(dict.fromkeys(a for p in statement.action if isinstance(p, str) for a in actions.expand(p)))
        resources = [_instances(p.text) for p in statement.resource or () if isinstance(p, docs.Pattern)] \
            if not statement.not_resource else []
        for name in names[:MAX_CANDIDATE_ACTIONS]:
            level = actions.access_level(name)
            rank = levels.index(level) if level in levels else len(levels)
            for resource in resources or [""]:
                found.append((rank, len(found), name, resource))  # the most sensitive first, then as written
    out = []
    for _, _, name, resource in sorted(found)[:MAX_CANDIDATE_ACTIONS]:
        context = {k: v for k, v in request.context.items() if k not in ("aws:principalarn", "aws:principalaccount")}
        out.append(Request(request.principal, name, resource or request.resource, context))
    return out


def readable_witness(request: Request, allowed_by: RoleModel, denied_by: RoleModel, assumed: Mapping[str, str]) -> Request:
    """A permissions witness a reviewer reads first, when the evaluator confirms it (allowed by one
    side, denied by the other) too: an action of a statement the change added (its most sensitive
    access level first) on one of its resources; else the solver's witness with a resource of the
    action's kind (an ARN) for one it left unreadable; else the solver's witness as it is."""
    def confirmed(candidate: Request) -> bool:
        return (evaluate(allowed_by, candidate, dict(assumed)).allowed is True
                and evaluate(denied_by, candidate, dict(assumed)).allowed is False)

    request = next((c for c in _salient_candidates(request, allowed_by, denied_by) if confirmed(c)), request)
    if request.resource.startswith("arn:") and all(" " <= c <= "~" for c in request.resource):
        return request
    for resource in _readable_resources(request, allowed_by):
        candidate = request.with_resource(resource)
        if confirmed(candidate):
            return candidate
    return request


def compare_roles(base: RoleModel | None, head: RoleModel | None, *, moved: set[str] | frozenset[str] = frozenset(),
                  changed_secrets: Sequence[str] = ()) -> tuple[Aspect, Aspect]:
    """The two aspects of one role compared (a missing side is a role that allows nothing).
    `moved`: prefixes of the unknown names of values that moved into or out of `secure:`;
    `changed_secrets`: the paths of the role's entry's `secure:` values whose ciphertext changed."""
    from agent_iam.model import solver

    ref = head or base
    assert ref is not None
    prepared = prepare(base or allows_nothing(ref), head or allows_nothing(ref))
    if head is None:
        prepared.may_widen.clear()  # a role removed: nothing it held back is allowed to anyone
    comparison = solver.compare(prepared.base if base else None, prepared.head if head else None)
    out: list[Aspect] = []
    for name, result in ((PERMISSIONS, comparison.permissions), (TRUST, comparison.trust)):
        verdict, reason = result.verdict, result.reason
        notes: list[str] = []
        if result.unknowns:
            what = ", ".join(unknown_words(u) for u in result.unknowns)
            reason = (f"wider whatever {what} is" if verdict in (solver.WIDER, solver.MIXED) else
                      f"not wider whatever {what} is" if verdict in (solver.EQUAL, solver.NARROWER) else
                      f"not comparable offline: {what} differs")
        if name == PERMISSIONS:
            notes += prepared.notes
            if verdict not in (solver.WIDER, solver.MIXED) and prepared.may_widen:
                verdict, reason = solver.UNKNOWN, "could widen: " + "; ".join(prepared.may_widen)
        sides = [m for m in (prepared.base if base else None, prepared.head if head else None) if m is not None]
        aspect_documents = [d for m in sides for d in ((m.trust,) if name == TRUST and m.trust else () if name == TRUST
                                                         else m.permission_documents)]
        secrets_here = _value_unknowns(aspect_documents)
        why = [f"{p} changed" for p in changed_secrets] if secrets_here else []
        if any(u.startswith(tuple(moved)) for u in secrets_here):
            why.append("a value moved into or out of secure:")
        if why:
            notes.append(f"{'; '.join(why)}: compared as if the secret value were unchanged")
            if verdict in (solver.EQUAL, solver.NARROWER):
                verdict = solver.NOT_COMPARABLE
                reason = f"{'; '.join(why)}: the plan cannot read secure: values, so this is not comparable offline"
        assumed = dict(result.assumed)
        before, after = (prepared.base if base else allows_nothing(ref)), (prepared.head if head else allows_nothing(ref))
        wider, narrower = result.wider, result.narrower
        if name == PERMISSIONS:
            wider = readable_witness(wider, after, before, assumed) if wider is not None else None
            narrower = readable_witness(narrower, before, after, assumed) if narrower is not None else None
        wider_words = witness_words(name, wider, before, assumed) if wider is not None else ""
        narrower_words = witness_words(name, narrower, after, assumed, now=False) if narrower is not None else ""
        out.append(Aspect(name, verdict, wider, narrower, wider_words, narrower_words, reason,
                          tuple(notes), tuple(result.assumed)))
    return out[0], out[1]


def role_verdicts(base_plan: Mapping[str, Any] | None, head_plan: Mapping[str, Any] | None) -> list[RoleVerdict]:
    """Every role of either plan (plan.json dicts; None: the side has no plan) compared by meaning:
    one `RoleVerdict` per role, by account and name, renamed roles (through `formerNames`) as one.
    This is what `agent-iam diff` exits on; `tighten` proves a proposal narrower with it."""
    base_plan, head_plan = base_plan or {}, head_plan or {}
    base_prepared, head_prepared, found, moved = prepare_plans(base_plan, head_plan)
    base = plan_models(base_prepared)
    head = plan_models(head_prepared)
    secrets = changed_secrets(base_plan, head_plan, found)
    paired_base = set(found.roles.values())
    out: list[RoleVerdict] = []
    for key in sorted(set(base.roles) | set(head.roles), key=lambda k: (k[0] or "", k[1])):
        if key in paired_base and key not in head.roles:
            continue  # compared with the role it was renamed to
        old_key = found.roles.get(key, key) if key in head.roles else key
        before, after = base.roles.get(old_key), head.roles.get(key)
        change = "added" if before is None else "removed" if after is None else "renamed" if old_key != key else "changed"
        permissions, trust = compare_roles(
            before, after, moved=moved, changed_secrets=[s.path for s in secrets if key in s.roles],
        )
        out.append(RoleVerdict(key, change, permissions, trust, old_key if old_key != key else None))
    return out
