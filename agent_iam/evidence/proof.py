"""Proof that a proposal is safe to apply, from the role model (`agent_iam.model`), role by role.

**Narrower or equal.** The reasoner compares the current role with the proposed one
(`solver.compare`, its permissions and its trust): equal or narrower, never wider, never undecided.
A widening comes with its witness, a request the proposal allows and the role does not. An opt-in
newly set in the stack (the plan's advisories, compared as `agent-iam diff` compares them) is a
widening too.

**Still allows every observed request the current role allows.** Each distinct request (the action,
each resource the event named, and the values of the context keys the role's conditions read) is
evaluated against both roles as IAM evaluates it, conditions included (`evaluate`). When the event
does not record a key the conditions read (a resource tag, say), names no resource, or the role has
a document the plan cannot see, the reasoner decides it for every value of what is missing
(`solver.still_allows`): the proposal must allow the request wherever the current role does. A
request the current role does not allow either (a resource policy let it through, an action that
needs no permission) is reported, not held against the proposal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent_iam.model import Request, RoleModel, Statement, evaluate
from agent_iam.model import documents as docs
from agent_iam.model.evaluate import PRINCIPAL_ACCOUNT, PRINCIPAL_ARN
from agent_iam.model.matching import action_pattern, any_action_matches, covers
from agent_iam.plan.diff import WIDENING, StackDiff

from .requests import ObservedRequest, request_context
from .roles import StackRole

if TYPE_CHECKING:
    from agent_iam.model.solver import Comparison

KEPT, LOST, NOT_GRANTED, UNDECIDED = "kept", "lost", "not-granted", "unknown"  # solver's verdicts, one spelling
EQUAL, NARROWER, NARROWER_OR_EQUAL = "equal", "narrower", "narrower-or-equal"
DERIVED = frozenset({PRINCIPAL_ARN, PRINCIPAL_ACCOUNT})  # follow from the role itself


@dataclass(frozen=True)
class RequestCheck:
    """One distinct observed request, checked against the current role and the proposal."""

    request: ObservedRequest  # the first event that made it
    resource: str  # "" when the event named none: every resource the role allows was checked
    verdict: str  # kept | lost | not-granted | unknown
    detail: str = ""  # why: the evaluator's decision, the witness, or what could not be decided
    events: int = 1  # how many events made this request
    open_keys: tuple[str, ...] = ()  # keys the conditions read that the event does not record

    def describe(self) -> str:
        event = self.request.event
        return (f"{self.request.action} on {self.resource or 'the resource of'} {event.where} "
                f"({event.source} {event.name})")


@dataclass
class RoleProof:
    """What could be shown for one role."""

    role: StackRole
    verdict: str = "equal"  # the reasoner's verdict on its permissions
    trust: str = "equal"  # and on its trust
    widening: list[str] = field(default_factory=list)  # why it is not narrower-or-equal, when it is not
    how: str = "reasoner"  # "containment": every statement of the proposal within one of the role's
    checks: list[RequestCheck] = field(default_factory=list)

    @property
    def failed(self) -> list[RequestCheck]:
        """Allowed by the current role, not by the proposal."""
        return [c for c in self.checks if c.verdict == LOST]

    @property
    def undecided(self) -> list[RequestCheck]:
        return [c for c in self.checks if c.verdict == UNDECIDED]

    @property
    def not_granted(self) -> list[RequestCheck]:
        """Not allowed by the current role either."""
        return [c for c in self.checks if c.verdict == NOT_GRANTED]

    @property
    def checked(self) -> int:
        return len(self.checks)

    @property
    def proven(self) -> bool:
        return not self.widening and not self.failed and not self.undecided


def keys_read(role: RoleModel | None, action: str) -> frozenset[str]:
    """The request context keys a role's permissions read for an action: the condition keys and
    policy variables of its statements that may apply to the action."""
    if role is None:
        return frozenset()
    found: set[str] = set()
    for document in role.permission_documents:
        for statement in document.statements:
            named = tuple(a for a in statement.action if isinstance(a, str))
            applies = any_action_matches(named, action) != statement.not_action or len(named) < len(statement.action)
            if not applies:
                continue
            for pattern in statement.resource or ():
                found.update(getattr(pattern, "variables", ()))
            for condition in statement.conditions:
                found.add(condition.key)
                for pattern in condition.patterns:
                    found.update(getattr(pattern, "variables", ()))
    return frozenset(found)


def _uncertain(role: RoleModel | None) -> bool:
    return role is not None and any(not d.known or d.unknowns for d in role.permission_documents)


def _witness_words(witness: Request, open_keys: Iterable[str], any_resource: bool) -> str:
    parts = [f"on {witness.resource}"] if any_resource else []
    context = witness.to_dict()["context"]
    for key in sorted(open_keys):
        value = context.get(key)
        parts.append(f"{key} absent" if value is None else f"{key} = {value}")
    return ("e.g. " + ", ".join(parts)) if parts else ""


def check_request(current: RoleModel, proposal: RoleModel | None, request: Request, open_keys: frozenset[str],
                  any_resource: bool) -> tuple[str, str]:
    """(verdict, detail) for one request: the evaluator when the request is fully known, else the
    reasoner over what the event does not say."""
    from agent_iam.model import solver

    if proposal is None:
        proposal = RoleModel(current.key, current.arn, current.trust)  # the role is gone: it allows nothing
    if not open_keys and not any_resource and not _uncertain(current) and not _uncertain(proposal):
        before = evaluate(current, request)
        if before.allowed is False:
            return NOT_GRANTED, before.explain()
        after = evaluate(proposal, request)
        if before.allowed and after.allowed:
            return KEPT, after.explain()
        if before.allowed and after.allowed is False:
            return LOST, after.explain()
    answer = solver.still_allows(current, proposal, request, recorded=lambda key: key not in open_keys,
                                 any_resource=any_resource)
    if answer.verdict == solver.LOST:
        assert answer.witness is not None
        words = _witness_words(answer.witness, open_keys, any_resource)
        after = evaluate(proposal, answer.witness)
        return LOST, "; ".join(p for p in (words, after.explain()) if p)
    if answer.verdict == solver.NOT_GRANTED:
        return NOT_GRANTED, ("the role allows it for no value of " + ", ".join(sorted(open_keys))) if open_keys else ""
    if answer.verdict == solver.KEPT:
        return KEPT, ("for every value of " + ", ".join(sorted(open_keys))) if open_keys else ""
    return UNDECIDED, answer.reason


def applicable(role: RoleModel | None, action: str) -> tuple | None:
    """What decides every request for `action`: the statements that may apply to it (each without its
    number, Sid and other actions), the boundary, the documents the plan cannot see; None when a
    statement's actions are not all known."""
    if role is None:
        return ()
    out = []
    for document in role.identity:
        if not document.known:
            out.append(("unknown", document.digest))
            continue
        for statement in document.statements:
            named = tuple(a for a in statement.action if isinstance(a, str))
            if len(named) < len(statement.action):
                return None
            if any_action_matches(named, action) == statement.not_action:
                continue
            out.append((statement.effect, statement.resource, statement.not_resource, statement.principal,
                        statement.not_principal, tuple(sorted(map(str, map(_bare, statement.conditions))))))
    return (tuple(sorted(map(repr, out))), role.boundary.digest if role.boundary else None)


def check_requests(current: RoleModel, proposal: RoleModel | None, requests: Iterable[ObservedRequest]) -> list[RequestCheck]:
    """Every distinct observed request of a role, checked (the same action, resource and values of
    the keys the roles read, from several events, is checked once)."""
    read: dict[str, frozenset[str]] = {}
    groups: dict[tuple, list[ObservedRequest]] = {}
    for q in requests:
        action = q.action.lower()
        if action not in read:
            read[action] = (keys_read(current, action) | keys_read(proposal, action)) - DERIVED
        keys = read[action]
        context = request_context(q.event, q.action)
        values = tuple(sorted((k, v) for k, v in context.values.items() if k in keys))
        open_keys = frozenset(k for k in keys if not context.records(k))
        for resource in q.resources or ("",):
            groups.setdefault((q.action.lower(), resource, values, open_keys), []).append(q)
    checks = []
    same: dict[str, bool] = {}
    for (action, resource, values, open_keys), made in groups.items():
        first = made[0]
        request = Request(None, first.action, resource if resource else "", dict(values))
        exact = not open_keys and resource and not _uncertain(current) and not _uncertain(proposal)
        if not exact and action not in same:
            before = applicable(current, action)
            same[action] = before is not None and before == applicable(proposal, action)
        if not exact and same[action]:
            # The same statements decide every request for this action: whatever was not observed.
            verdict, detail = KEPT, "the same statements apply to it"
        else:
            verdict, detail = check_request(current, proposal, request, open_keys, any_resource=not resource)
        checks.append(RequestCheck(first, resource, verdict, detail, len(made), tuple(sorted(open_keys))))
    return checks


# --- narrower or equal, by containment -------------------------------------------------------


def _statement_within(inner: Statement, outer: Statement) -> bool:
    """Whether every request `inner` (an Allow) applies to, `outer` applies to: each of its actions and
    resources covered by one of outer's, and every condition of outer among its own."""
    if inner.not_action or outer.not_action or inner.not_resource or outer.not_resource:
        return False
    if inner.principal is not None or outer.principal is not None or inner.resource is None or outer.resource is None:
        return False
    outer_actions = [action_pattern(a) for a in outer.action if isinstance(a, str)]
    if not all(isinstance(a, str) and any(covers(o, action_pattern(a)) for o in outer_actions) for a in inner.action):
        return False
    outer_resources = [r for r in outer.resource if isinstance(r, docs.Pattern)]
    if not all(isinstance(r, docs.Pattern) and any(covers(o, r) for o in outer_resources) for r in inner.resource):
        return False
    own = {_bare(c) for c in inner.conditions}
    return all(_bare(c) in own for c in outer.conditions)


def _bare(condition: docs.Condition) -> docs.Condition:
    """A condition as IAM reads it, not as it is spelled."""
    from dataclasses import replace

    return replace(condition, written="", key_written="")


def contained(head: RoleModel, base: RoleModel) -> bool:
    """Whether head's permissions are within base's, statement by statement: every Allow of head is
    within an Allow of base, every Deny of base is one of head's, the same boundary, and no document
    head cannot see that base does not have. Sufficient (and how a narrowed stack file narrows), not
    necessary: when it fails, the SMT reasoner compares the two."""
    if (head.boundary.digest if head.boundary else None) != (base.boundary.digest if base.boundary else None):
        return False
    base_unknown = {d.digest for d in base.identity if not d.known or d.unknowns}
    if any((not d.known or d.unknowns) and d.digest not in base_unknown for d in head.identity):
        return False
    head_statements = [s for d in head.identity if d.known for s in d.statements]
    base_statements = [s for d in base.identity if d.known for s in d.statements]
    head_denies = [s for s in head_statements if s.effect == docs.DENY]
    if not all(any(_same(s, d) for d in head_denies) for s in base_statements if s.effect == docs.DENY):
        return False
    base_allows = [s for s in base_statements if s.effect == docs.ALLOW]
    return all(any(_statement_within(s, b) for b in base_allows) for s in head_statements if s.effect == docs.ALLOW)


def _same(a: Statement, b: Statement) -> bool:
    from dataclasses import replace

    return (replace(a, number=0, sid=None, conditions=tuple(map(_bare, a.conditions)))
            == replace(b, number=0, sid=None, conditions=tuple(map(_bare, b.conditions))))


def _instance(pattern: docs.Pattern) -> str:
    """A value a pattern without variables matches: its wildcards filled in."""
    return "".join(t if isinstance(t, str) else "x" for t in pattern.tokens)


def narrower_witness(base: RoleModel, head: RoleModel) -> Request | None:
    """A request base allows and head does not, looked for among base's unconditioned grants (each
    action and resource as written, wildcards filled in) with the evaluator; None when none is found."""
    for document in base.identity:
        for statement in document.statements:
            if statement.effect != docs.ALLOW or statement.conditions or statement.not_action or statement.not_resource:
                continue
            for action in statement.action:
                if not isinstance(action, str) or any(c in action for c in "*?"):
                    continue
                for pattern in statement.resource or ():
                    if not isinstance(pattern, docs.Pattern) or pattern.variables:
                        continue
                    request = Request(None, action, _instance(pattern))
                    if evaluate(base, request).allowed is True and evaluate(head, request).allowed is False:
                        return request
    return None


def _entry_of(advisory: str) -> str:
    match = re.search(r"agent-iam:[A-Za-z]+\[\d+\]", advisory)
    return match.group(0) if match else ""


def new_opt_ins(diff: StackDiff, entry: str) -> list[str]:
    """The opt-ins (the plan's advisories) the proposal newly sets for an entry. An advisory whose text
    changed because the entry was narrowed (an opt-in of the same entry went) is the same opt-in, not a
    new one: the role's documents, compared by the reasoner, say what it grants."""
    added = [c.value for c in diff.stack_changes if c.kind == WIDENING and _entry_of(c.value) == entry]
    removed = [c.value for c in diff.stack_changes if c.kind != WIDENING and _entry_of(c.value) == entry]
    return [] if removed and len(added) <= len(removed) else [f"opt-in newly set: {a}" for a in added]


def _comparison_lines(what: str, comparison: Comparison) -> list[str]:
    """Why the proposal's permissions (or trust) are not narrower-or-equal; [] when they are."""
    from agent_iam.model import solver

    if comparison.verdict in (solver.EQUAL, solver.NARROWER):
        return []
    if comparison.wider is not None:
        w = comparison.wider.to_dict()
        context = ", ".join(f"{k} = {v}" for k, v in w["context"].items())
        return [f"its {what} are {comparison.verdict}: the proposal allows {w['principal']} to call {w['action']}"
                + (f" on {w['resource']}" if w["resource"] else "") + (f" with {context}" if context else "")
                + ", which the role does not"]
    return [f"its {what}: the reasoner could not show the proposal narrower or equal "
            f"({comparison.verdict}: {comparison.reason or 'no reason given'})"]


def prove(roles: Iterable[StackRole], proposal: Mapping[tuple[str | None, str], RoleModel], diff: StackDiff) -> list[RoleProof]:
    """The proof for each role of the stack: `proposal` holds the proposed plan's role models."""
    from agent_iam.model import solver

    proofs = []
    for role in roles:
        proof = RoleProof(role)
        head = proposal.get((role.account, role.name))
        if role.model is None:
            proof.widening.append("the role is not in the stack's plan")
            proofs.append(proof)
            continue
        same_trust = (head.trust.digest if head and head.trust else None) == (
            role.model.trust.digest if role.model.trust else None)
        if head is not None and same_trust and contained(head, role.model):
            same = sorted(d.digest for d in head.permission_documents) == sorted(d.digest for d in role.model.permission_documents)
            proof.verdict = EQUAL if same else NARROWER if narrower_witness(role.model, head) else NARROWER_OR_EQUAL
            proof.how = "containment"
        else:
            comparison = solver.compare(role.model, head)
            proof.verdict, proof.trust = comparison.permissions.verdict, comparison.trust.verdict
            proof.widening += _comparison_lines("permissions", comparison.permissions)
            proof.widening += _comparison_lines("trust", comparison.trust)
        proof.widening += new_opt_ins(diff, role.entry)
        proof.checks = check_requests(role.model, head, role.requests)
        proofs.append(proof)
    return proofs
