"""The proof that an imported entry reproduces its role: the planned role and the role as IAM holds
it, compared by the model of effective access (`agent_iam.model`), permissions and trust apart.

The role as IAM holds it is given to the model as resource views, the same shapes the plan's
resources become (`views_from_plan`), so both sides are built by the one `roles_from_views`: its
AWS managed policies from the shipped dataset, a customer managed policy of the export by its
content, and what the export does not show (a customer managed policy without content, a customer
managed boundary) as the same unknown on both sides, named by its ARN.

`equal`: the entry reproduces the role. `narrower`: the entry grants less (an agent-iam pin, such as
the `:aud` it always adds), named with a request the role allowed and the entry refuses. `wider`
(or both ways): the entry would grant what the role did not; never written. Anything the reasoner
cannot decide is said so, never taken for `equal`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from agent_iam.guardrails.rules import Context, ResourceView
from agent_iam.iam.resource_types import POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT
from agent_iam.iam import actions
from agent_iam.model import documents as docs
from agent_iam.model import solver
from agent_iam.model.evaluate import Request, evaluate
from agent_iam.model.roles import RoleModel, roles_from_views
from agent_iam.plan.guardrails import views_from_plan

from .export import Export, ExportedRole

EQUAL, WIDER, NARROWER, MIXED = solver.EQUAL, solver.WIDER, solver.NARROWER, solver.MIXED


def imported_views(role: ExportedRole, export: Export) -> list[ResourceView]:
    """The role as IAM holds it, as the resource views a plan of it would give."""
    account = role.account
    views = [ResourceView(ROLE, f"imported:{role.name}", {
        "name": role.name, "path": role.path, "arn": role.arn, "assumeRolePolicy": json.dumps(role.trust),
        **({"permissionsBoundary": role.boundary} if role.boundary else {}),
    }, account)]
    for policy in role.inline:
        views.append(ResourceView(ROLE_POLICY, f"imported:{role.name}:{policy.name}", {
            "role": role.name, "name": policy.name, "policy": json.dumps(policy.document)}, account))
    for attachment in role.attached:
        views.append(ResourceView(ROLE_POLICY_ATTACHMENT, f"imported:{role.name}:{attachment.arn}", {
            "role": role.name, "policyArn": attachment.arn}, account))
        listed = export.policy(attachment.arn)
        if listed is not None and listed.document is not None and not attachment.aws_managed:
            views.append(ResourceView(POLICY, f"imported:{listed.arn}", {
                "name": listed.name, "path": listed.path, "arn": listed.arn, "policy": json.dumps(listed.document)},
                account))
    return views


@dataclass(frozen=True)
class Proof:
    """How the planned role compares with the imported one."""

    role: str
    permissions: Any  # solver.Comparison
    trust: Any

    @property
    def equal(self) -> bool:
        return self.permissions.verdict == EQUAL and self.trust.verdict == EQUAL

    @property
    def widens(self) -> bool:
        """The entry would grant something the role did not (never written active)."""
        return self.permissions.verdict in (WIDER, MIXED) or self.trust.verdict in (WIDER, MIXED)

    @property
    def decided(self) -> bool:
        return all(c.verdict in (EQUAL, WIDER, NARROWER, MIXED) for c in (self.permissions, self.trust))

    def verdict(self) -> str:
        if self.equal:
            return "equal"
        if self.widens:
            return "wider"
        if not self.decided:
            return "not proven"
        return "narrower"

    def lines(self) -> list[str]:
        """What differs, one line per side that is not equal, with the request that shows it."""
        out = []
        for what, comparison in (("permissions", self.permissions), ("trust", self.trust)):
            verdict = comparison.verdict
            if verdict == EQUAL:
                continue
            if verdict in (WIDER, NARROWER, MIXED):
                if comparison.wider is not None:
                    out.append(f"{what}: the entry allows what the role did not: {describe(comparison.wider)}")
                if comparison.narrower is not None:
                    out.append(f"{what}: the entry refuses what the role allowed: {describe(comparison.narrower)}")
            else:
                out.append(f"{what}: not proven ({verdict}): {comparison.reason}")
        return out


def describe(request: Any) -> str:
    """A witness request in one line: principal, action, resource, context."""
    shown = request.to_dict()
    parts = []
    if shown.get("principal"):
        parts.append(f"principal {shown['principal']}")
    parts.append(f"action {shown['action']}")
    if shown.get("resource"):
        parts.append(f"resource {shown['resource']}")
    context = shown.get("context") or {}
    if context:
        parts.append("only " + ", ".join(f"{k}={v if isinstance(v, str) else '|'.join(v)}" for k, v in sorted(context.items()))
                     + " in its context")
    else:
        parts.append("no condition key in its context")
    return "; ".join(parts)


PROBES = 400  # requests the concrete evaluator tries before a preset's comparison goes to the solver


def _instance(pattern: Any) -> str | None:
    """A value a pattern matches: its text with each `*` empty and each `?` an `x` (None with a variable)."""
    if not isinstance(pattern, docs.Pattern):
        return None
    out = []
    for token in pattern.tokens:
        if isinstance(token, str):
            out.append(token)
        elif isinstance(token, docs.Wild):
            out.append("" if token.char == "*" else "x")
        else:
            return None
    return "".join(out)


def concrete_difference(base: RoleModel, head: RoleModel) -> tuple[Any, Any]:
    """(a request head allows and base denies, one base allows and head denies), each None when the
    concrete evaluator finds none among the documents' own actions (each pattern's first actions in
    AWS's service data) on their own resources, asked without context: a quick, checked answer for a
    preset whose documents are not the role's, where the solver could spend its budget many times over."""
    tried: set[tuple[str, str]] = set()
    wider = narrower = None
    for role in (head, base):
        for document in role.identity:
            for statement in document.statements:
                if statement.effect != "Allow" or statement.not_action or statement.not_resource or not statement.resource:
                    continue
                resources = [text for r in statement.resource[:2] if (text := _instance(r)) is not None]
                for value in statement.action:
                    text = value if isinstance(value, str) else value.text if isinstance(value, docs.Pattern) else None
                    for action in actions.expand(text)[:2] if text else ():
                        for resource in resources:
                            if (action, resource) in tried or len(tried) >= PROBES:
                                continue
                            tried.add((action, resource))
                            request = Request(None, action, resource)
                            allowed_by_head, allowed_by_base = evaluate(head, request).allowed, evaluate(base, request).allowed
                            if allowed_by_head is True and allowed_by_base is False:
                                wider = wider or request
                            elif allowed_by_base is True and allowed_by_head is False:
                                narrower = narrower or request
                            if wider is not None and narrower is not None:
                                return wider, narrower
    return wider, narrower


def same_statements(base: RoleModel, head: RoleModel) -> bool:
    """Whether both roles' permissions are the same statements (Sids and numbers aside), however they
    are grouped into documents, within the same boundary: a role's identity permissions are the union of
    its documents' statements, so regrouping them (the one policy an entry writes) changes nothing."""
    def statements(role: RoleModel) -> Counter[Any]:
        found: Counter[Any] = Counter()
        for document in role.identity:
            if not document.known:
                found[("unknown", document.digest)] += 1
            for statement in document.statements:
                found[replace(statement, number=0, sid=None)] += 1
        return found

    boundary = [(m.boundary.digest if m.boundary is not None else None) for m in (base, head)]
    return boundary[0] == boundary[1] and set(statements(base)) == set(statements(head))


def planned_roles(plan: Mapping[str, Any], account: str) -> dict[str, RoleModel]:
    """The plan's roles in `account`, by name."""
    models = roles_from_views(views_from_plan(plan, account), Context(account_id=account))
    return {m.name: m for m in models if m.account == account and m.created}


def prove(plan: Mapping[str, Any], roles: Sequence[ExportedRole], export: Export,
          quick: frozenset[str] = frozenset()) -> dict[str, Proof]:
    """A proof per imported role (by name) that the plan registers. For the roles named in `quick`
    (written with a preset, which only an equal proof keeps) a difference the concrete evaluator finds
    in the permissions answers without the solver."""
    planned = planned_roles(plan, export.account)
    proofs = {}
    for role in roles:
        head = planned.get(role.name)
        if head is None:
            continue
        base = next(m for m in roles_from_views(imported_views(role, export), Context(account_id=export.account))
                    if m.name == role.name)
        trust_only = [replace(m, identity=(), boundary=None) for m in (base, head)]  # the trust alone
        if same_statements(base, head):
            permissions = solver.Comparison(EQUAL, reason="the same statements, grouped in other documents")
            proofs[role.name] = Proof(role.name, permissions, solver.compare(*trust_only).trust)
            continue
        if role.name in quick:
            wider, narrower = concrete_difference(base, head)
            if wider is not None or narrower is not None:
                verdict = MIXED if wider is not None and narrower is not None else WIDER if wider is not None else NARROWER
                permissions = solver.Comparison(verdict, wider, narrower, reason="found by the concrete evaluator")
                proofs[role.name] = Proof(role.name, permissions, solver.compare(*trust_only).trust)
                continue
        comparison = solver.compare(base, head)
        proofs[role.name] = Proof(role.name, comparison.permissions, comparison.trust)
    return proofs
