"""Proof that a proposal is safe to apply: per role, it is narrower than (or equal to) the current
role, and it still allows every observed request the current role allows.

Narrower: `agent-iam diff`'s comparison of the two plans (`plan.diff.compare_stack`) finds no
widening change for the role (and no opt-in newly set in the stack).

Still allows: each observed request (action, the resources the event named) is checked against the
role's identity documents as planned (inline, customer managed, AWS managed from the dataset):
before, some Allow statement grants it; after, a statement with the same conditions still does,
and no Deny statement without conditions refuses it. Narrowing never edits a condition, a Deny or
a boundary, so conditions are compared, not evaluated. A request the current role does not grant
either (a resource policy let it through, or the action needs no permission) is reported, not
held against the proposal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent_iam.guardrails import rules
from agent_iam.iam import arns, managed_policies
from agent_iam.plan.diff import TRUST, WIDENING, RoleState, StackDiff

from .requests import ObservedRequest
from .roles import StackRole


@dataclass
class RoleProof:
    """What could be shown for one role."""

    role: StackRole
    verdict: str = "equal"  # equal | narrower | wider
    widening: list[str] = field(default_factory=list)  # the diff's widening changes, when any
    failed: list[ObservedRequest] = field(default_factory=list)  # allowed before, not by the proposal
    not_granted: list[ObservedRequest] = field(default_factory=list)  # not granted before either
    checked: int = 0  # distinct requests checked

    @property
    def proven(self) -> bool:
        return not self.widening and not self.failed


def identity_statements(state: RoleState | None) -> list[tuple[str, dict[str, Any]]]:
    """(document label, statement) of every identity document of a planned role."""
    if state is None:
        return []
    out = [(label, s) for label, doc in sorted(state.documents.items()) if label != TRUST for s in rules.statements(doc)]
    for arn in sorted(state.aws_managed):
        document = managed_policies.document(arn)
        out += [(f"managed policy `{managed_policies.name_of(arn)}`", s) for s in rules.statements(document)]
    return out


def _matches_resource(statement: Mapping[str, Any], request: ObservedRequest) -> bool:
    if "NotResource" in statement:
        excluded = rules.strings(statement.get("NotResource"))
        return request.resource_known and not any(arns.matches(p, r) for p in excluded for r in request.resources)
    patterns = rules.strings(statement.get("Resource"))
    if not request.resource_known:
        return True
    return all(any(arns.matches(p, r) for p in patterns) for r in request.resources)


def grants(statement: Mapping[str, Any], request: ObservedRequest) -> bool:
    return rules.allows(statement) and rules.granted(statement, request.action) and _matches_resource(statement, request)


def denies(statement: Mapping[str, Any], request: ObservedRequest) -> bool:
    if statement.get("Effect") != "Deny" or statement.get("Condition"):
        return False
    acts = rules.strings(statement.get("Action"))
    hit = rules.covers(acts, request.action) if acts else not rules.covers(rules.strings(statement.get("NotAction")), request.action)
    return hit and _matches_resource(statement, request)


def _conditions(statement: Mapping[str, Any]) -> str:
    return json.dumps(statement.get("Condition") or {}, sort_keys=True)


def still_allowed(request: ObservedRequest, before: list[tuple[str, dict]], after: list[tuple[str, dict]]) -> bool | None:
    """True: the proposal still grants the request; False: it no longer does; None: the current role
    did not grant it either."""
    granting = {_conditions(s) for _, s in before if grants(s, request)}
    if not granting:
        return None
    if any(denies(s, request) for _, s in after):
        return False
    return any(grants(s, request) and _conditions(s) in granting for _, s in after)


def _entry_of(advisory: str) -> str:
    match = re.search(r"agent-iam:[A-Za-z]+\[\d+\]", advisory)
    return match.group(0) if match else ""


def new_opt_ins(diff: StackDiff, entry: str) -> list[str]:
    """The opt-ins (the plan's advisories) the proposal newly sets for an entry. An advisory whose text
    changed because the entry was narrowed (an opt-in of the same entry went) is the same opt-in, not a
    new one: the role's documents, compared above, say what it grants."""
    added = [c.value for c in diff.stack_changes if c.kind == WIDENING and _entry_of(c.value) == entry]
    removed = [c.value for c in diff.stack_changes if c.kind != WIDENING and _entry_of(c.value) == entry]
    return [] if removed and len(added) <= len(removed) else [f"opt-in newly set: {a}" for a in added]


def prove(roles: Iterable[StackRole], proposal: Mapping[tuple[str, str], RoleState], diff: StackDiff) -> list[RoleProof]:
    """The proof for each role of the stack."""
    by_role = {(r.account, r.name): r for r in diff.roles}
    proofs = []
    for role in roles:
        proof = RoleProof(role)
        changed = by_role.get((role.account, role.name))
        if changed is not None:
            proof.verdict = "wider" if changed.widening else "narrower" if changed.narrowing else "equal"
            proof.widening = [f"{c.what} `{c.value}` ({c.where})" for c in changed.widening]
        proof.widening += new_opt_ins(diff, role.entry)
        before = identity_statements(role.state)
        after = identity_statements(proposal.get((role.account, role.name)))
        distinct = {(q.action.lower(), q.resources): q for q in role.requests}
        proof.checked = len(distinct)
        for q in distinct.values():
            result = still_allowed(q, before, after)
            if result is None:
                proof.not_granted.append(q)
            elif not result:
                proof.failed.append(q)
        proofs.append(proof)
    return proofs
