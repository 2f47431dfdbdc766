"""The plain concrete evaluator: does a role allow one request, and why. No solver.

IAM's documented logic for one role: a request is allowed when an Allow statement of the role's
identity documents matches it, no Deny matches it, and, when the role has a permissions boundary,
the boundary allows it too (an Allow of the boundary matches, none of its Denies). `can_assume`
answers the same question for the trust policy. Unknown documents and values give `None`
("unknown"): the evaluator never guesses, but a known Deny or a statement that fails on known
parts still decides.

A `Decision` says why: the Allow statements that matched, the Deny that matched, the boundary's
answer, and for every near miss (an Allow whose action matched) what failed: the principal, the
resource, or each condition with its operator, key, expected values and what the request had.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam import arns, issuers
from agent_iam.model import documents as docs
from agent_iam.model import values as typed
from agent_iam.model.documents import Condition, Document, Pattern, Principal, Source, Statement, Unknown
from agent_iam.model.matching import any_action_matches, matches, resolve
from agent_iam.model.roles import RoleModel

Tri = bool | None  # True, False, or None: unknown
Assumed = Mapping[str, str] | None  # values given to unknowns by name

# --- three-valued logic ------------------------------------------------------------------


def and3(*items: Tri) -> Tri:
    if any(i is False for i in items):
        return False
    return None if any(i is None for i in items) else True


def or3(*items: Tri) -> Tri:
    if any(i is True for i in items):
        return True
    return None if any(i is None for i in items) else False


def not3(item: Tri) -> Tri:
    return None if item is None else not item


# --- requests -------------------------------------------------------------------------

_AWS_PRINCIPAL = re.compile(r"^arn:[^:]+:(?:iam|sts)::\d{12}:.+$", re.S)
_SERVICE = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?$")
_CANONICAL = re.compile(r"^[0-9a-f]{64}$")
# Context keys IAM derives from the principal of every request (an AWS principal's ARN and account).
PRINCIPAL_ARN, PRINCIPAL_ACCOUNT = "aws:principalarn", "aws:principalaccount"


def principal_of(value: str | Principal) -> Principal:
    """A request's principal: a `Principal`, or text read by its shape: an IAM/STS ARN or a 12-digit
    account (its root) is `AWS`, an OIDC/SAML provider ARN or any other host name is `Federated`,
    `*.amazonaws.com` is `Service`, 64 hex digits are a `CanonicalUser`."""
    if isinstance(value, Principal):
        principal = value
    elif re.fullmatch(r"\d{12}", value):
        principal = Principal(docs.AWS, f"arn:aws:iam::{value}:root")
    elif value.startswith("arn:"):
        parsed = arns.parse(value)
        is_provider = parsed is not None and parsed.resource.startswith((issuers.PROVIDER_ARN_TYPE, "saml-provider/"))
        principal = Principal(docs.FEDERATED if is_provider else docs.AWS, value)
    elif _SERVICE.match(value):
        principal = Principal(docs.SERVICE, value)
    elif _CANONICAL.match(value):
        principal = Principal(docs.CANONICAL_USER, value)
    else:
        principal = Principal(docs.FEDERATED, value)
    if principal.kind not in docs.PRINCIPAL_KINDS or not isinstance(principal.value, str):
        raise ValueError(f"a request's principal is one concrete principal of kind {', '.join(docs.PRINCIPAL_KINDS)}, got {value!r}")
    if principal.kind == docs.AWS and not _AWS_PRINCIPAL.match(principal.value):
        raise ValueError(f"an AWS principal is an IAM or STS ARN with a 12-digit account, got {principal.value!r}")
    return principal


def principal_account(principal: Principal) -> str | None:
    """The account of an AWS principal."""
    return arns.account_of(principal.value) if principal.kind == docs.AWS and isinstance(principal.value, str) else None


@dataclass(frozen=True)
class Request:
    """One request: who (`principal`; None: the role itself), which action, on which resource, and the
    request context (key -> value or values; keys are case-insensitive; an absent key is absent).
    `aws:PrincipalArn` and `aws:PrincipalAccount` follow from an AWS principal."""

    principal: Principal | None
    action: str
    resource: str = ""
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __init__(
        self,
        principal: str | Principal | None,
        action: str,
        resource: str = "",
        context: Mapping[str, str | Sequence[str]] | None = None,
    ):
        if not isinstance(action, str) or not action:
            raise ValueError(f"a request's action is text such as s3:GetObject, got {action!r}")
        if not isinstance(resource, str):
            raise ValueError(f"a request's resource is an ARN (text), got {resource!r}")
        normal: dict[str, tuple[str, ...]] = {}
        for key, value in (context or {}).items():
            items = (value,) if isinstance(value, str) else tuple(value)
            if not all(isinstance(v, str) for v in items):
                raise ValueError(f"request context {key!r}: values are text, got {value!r}")
            if items:
                normal[str(key).lower()] = items
        who = principal_of(principal) if principal is not None else None
        if who is not None and who.kind == docs.AWS:
            for derived, wanted in ((PRINCIPAL_ARN, who.value), (PRINCIPAL_ACCOUNT, principal_account(who))):
                given = normal.get(derived)
                if given is not None and given != (wanted,):
                    raise ValueError(f"request context {derived} is {given!r} but the principal gives {wanted!r}")
                normal[derived] = (str(wanted),)
        object.__setattr__(self, "principal", who)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "resource", resource)
        object.__setattr__(self, "context", normal)

    def __hash__(self) -> int:
        return hash((self.principal, self.action, self.resource, tuple(sorted(self.context.items()))))

    def with_principal(self, principal: str | Principal) -> Request:
        context = {k: v for k, v in self.context.items() if k not in (PRINCIPAL_ARN, PRINCIPAL_ACCOUNT)}
        return Request(principal, self.action, self.resource, context)

    def with_resource(self, resource: str) -> Request:
        return Request(self.principal, self.action, resource, self.context)

    def value(self, key: str) -> str | None:
        """The single value of a key (for policy variables); None when absent or multi-valued."""
        values = self.context.get(key.lower())
        return values[0] if values is not None and len(values) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        """`{"principal", "action", "resource", "context"}`: the shape of a witness in diff.json (the
        keys that follow from the principal left out)."""
        derived = (PRINCIPAL_ARN, PRINCIPAL_ACCOUNT) if self.principal and self.principal.kind == docs.AWS else ()
        return {
            "principal": self.principal.value if self.principal else None,
            "action": self.action,
            "resource": self.resource,
            "context": {
                k: (list(v) if len(v) != 1 else v[0]) for k, v in sorted(self.context.items()) if k not in derived
            },
        }


# --- decisions ------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRef:
    """A statement of a role's document: the document's source and the statement's number and Sid."""

    source: Source | None
    number: int
    sid: str | None = None

    def __str__(self) -> str:
        where = self.source.describe() if self.source else "document"
        return f"{where} {f'statement {self.sid!r}' if self.sid else f'statement #{self.number}'}"


@dataclass(frozen=True)
class ConditionFailure:
    """A condition a request did not meet: operator as written, key, expected values, what it had
    (None: the request has no such key)."""

    operator: str
    key: str
    expected: tuple[str, ...]
    actual: tuple[str, ...] | None

    def __str__(self) -> str:
        had = "no such key" if self.actual is None else ", ".join(self.actual)
        return f"{self.operator} {self.key} {list(self.expected)} (the request had {had})"


@dataclass(frozen=True)
class NearMiss:
    """An Allow statement whose action matched the request but that did not allow it, and why."""

    statement: StatementRef
    principal: bool = False  # the principal did not match
    resource: bool = False  # the resource did not match
    conditions: tuple[ConditionFailure, ...] = ()

    def __str__(self) -> str:
        parts = (["the principal does not match"] if self.principal else []) + (
            ["the resource does not match"] if self.resource else []
        ) + [f"condition {c} failed" for c in self.conditions]
        return f"{self.statement}: {'; '.join(parts)}"


NO_BOUNDARY, BOUNDARY_ALLOWS, BOUNDARY_DOES_NOT_ALLOW, BOUNDARY_DENIES, BOUNDARY_UNKNOWN = (
    "none", "allows", "does-not-allow", "denies", "unknown",
)


@dataclass(frozen=True)
class Decision:
    """Whether a request is allowed (None: unknown), and why."""

    allowed: bool | None
    allows: tuple[StatementRef, ...] = ()  # the Allow statements that matched
    denies: tuple[StatementRef, ...] = ()  # the Deny statements that matched
    boundary: str = NO_BOUNDARY
    near_misses: tuple[NearMiss, ...] = ()
    unknown: tuple[str, ...] = ()  # what the answer depends on that the plan cannot see

    def explain(self) -> str:
        """The decision in plain words."""
        if self.denies:
            return "denied by " + ", ".join(map(str, self.denies))
        if self.allowed:
            return "allowed by " + ", ".join(map(str, self.allows))
        if self.allowed is None:
            return "unknown: depends on " + ", ".join(self.unknown)
        if self.allows and self.boundary in (BOUNDARY_DOES_NOT_ALLOW, BOUNDARY_DENIES):
            return "the permissions boundary does not allow it (allowed by " + ", ".join(map(str, self.allows)) + ")"
        if self.near_misses:
            return "no statement allows it: " + "; ".join(map(str, self.near_misses))
        return "no statement allows it"


@dataclass
class _Outcome:
    allow: list[Tri] = field(default_factory=list)
    deny: list[Tri] = field(default_factory=list)
    allows: list[StatementRef] = field(default_factory=list)
    denies: list[StatementRef] = field(default_factory=list)
    near: list[NearMiss] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _ref(document: Document, statement: Statement) -> StatementRef:
    return StatementRef(document.source, statement.number, statement.sid)


def _run(documents: Iterable[Document], request: Request, outcome: _Outcome, assumed: Assumed = None) -> None:
    for document in documents:
        if not document.known:
            outcome.allow.append(None)
            outcome.deny.append(None)
            outcome.unknown.append(f"{document.describe()} ({document.reason})")
            continue
        for statement in document.statements:
            verdict, miss = statement_matches(statement, request, explain=True, assumed=assumed)
            if statement.effect == docs.ALLOW:
                outcome.allow.append(verdict)
                if verdict:
                    outcome.allows.append(_ref(document, statement))
                elif miss is not None:
                    outcome.near.append(NearMiss(_ref(document, statement), *miss))
            else:
                outcome.deny.append(verdict)
                if verdict:
                    outcome.denies.append(_ref(document, statement))
            if verdict is None:
                outcome.unknown.append(f"{_ref(document, statement)} ({', '.join(u.name for u in statement.unknowns)})")


def evaluate(role: RoleModel, request: Request, assumed: Assumed = None) -> Decision:
    """Whether the role's identity documents, within its boundary, allow the request. A request
    without a principal is made by the role itself. `assumed` gives values to unknowns by name
    (`StringEquals` against an unknown then compares with that value): how a witness that needs
    "the same secret value" is checked."""
    if request.principal is None and isinstance(role.arn, str):
        request = request.with_principal(role.arn)
    identity = _Outcome()
    _run(role.identity, request, identity, assumed)
    allowed = and3(or3(*identity.allow), not3(or3(*identity.deny)))
    boundary_state = NO_BOUNDARY
    denies = list(identity.denies)
    unknown = list(identity.unknown)
    if role.boundary is not None:
        bounded = _Outcome()
        _run((role.boundary,), request, bounded, assumed)
        inside = and3(or3(*bounded.allow), not3(or3(*bounded.deny)))
        boundary_state = {True: BOUNDARY_ALLOWS, None: BOUNDARY_UNKNOWN}.get(
            inside, BOUNDARY_DENIES if bounded.denies else BOUNDARY_DOES_NOT_ALLOW  # type: ignore[arg-type]
        )
        denies += bounded.denies
        unknown += bounded.unknown
        allowed = and3(allowed, inside)
    return Decision(
        allowed,
        tuple(identity.allows),
        tuple(denies),
        boundary_state,
        tuple(identity.near) if not allowed else (),
        tuple(unknown) if allowed is None else (),
    )


def can_assume(role: RoleModel, request: Request, assumed: Assumed = None) -> Decision:
    """Whether the role's trust policy lets `request.principal` call `request.action` (sts:AssumeRole,
    sts:AssumeRoleWithWebIdentity, sts:TagSession, ...) on the role."""
    if request.principal is None:
        raise ValueError("can_assume needs the request's principal")
    if not request.resource and isinstance(role.arn, str):
        request = request.with_resource(role.arn)
    if role.trust is None:
        return Decision(None, unknown=(f"{role.describe()}: the trust policy is not in the plan",))
    outcome = _Outcome()
    _run((role.trust,), request, outcome, assumed)
    allowed = and3(or3(*outcome.allow), not3(or3(*outcome.deny)))
    return Decision(
        allowed,
        tuple(outcome.allows),
        tuple(outcome.denies),
        NO_BOUNDARY,
        tuple(outcome.near) if not allowed else (),
        tuple(outcome.unknown) if allowed is None else (),
    )


def document_allows(documents: Sequence[Document], request: Request) -> Tri:
    """Whether documents taken together allow a request (an Allow matches, no Deny does)."""
    outcome = _Outcome()
    _run(documents, request, outcome)
    return and3(or3(*outcome.allow), not3(or3(*outcome.deny)))


# --- one statement ---------------------------------------------------------------------


def principal_matches(listed: Principal, principal: Principal | None) -> Tri:
    """Whether a Principal element's entry names the request's principal: `*` everyone, `AWS: *` every
    AWS principal, an account's root every principal of that account, else the same principal."""
    if principal is None:
        return False
    if listed.kind == docs.ANY:
        return True
    if listed.kind != principal.kind:
        return False
    if isinstance(listed.value, Unknown):
        return None
    if listed.kind == docs.AWS:
        if listed.value == "*":
            return True
        root = re.fullmatch(r"arn:([^:]+):iam::(\d{12}):root", listed.value)
        if root:
            return arns.partition_of(principal.value) == root.group(1) and principal_account(principal) == root.group(2)
    return listed.value == principal.value


def _resource_matches(patterns: Sequence[Pattern | Unknown], request: Request) -> Tri:
    return or3(*(None if isinstance(p, Unknown) else matches(p, request.resource, request.value) for p in patterns))


def statement_matches(
    statement: Statement, request: Request, explain: bool = False, assumed: Assumed = None
) -> tuple[Tri, tuple[bool, bool, tuple[ConditionFailure, ...]] | None]:
    """Whether one statement applies to a request, and, for an Allow whose action matched but that did
    not apply, (principal failed, resource failed, failed conditions)."""
    known_actions = tuple(a for a in statement.action if isinstance(a, str))
    action: Tri = any_action_matches(known_actions, request.action) or (None if len(known_actions) < len(statement.action) else False)
    if statement.not_action:
        action = not3(action)
    if action is False:
        return False, None
    principal: Tri = True
    if statement.principal is not None:
        principal = or3(*(principal_matches(p, request.principal) for p in statement.principal))
        if statement.not_principal:
            principal = not3(principal)
    resource: Tri = True
    if statement.resource is not None:
        resource = _resource_matches(statement.resource, request)
        if statement.not_resource:
            resource = not3(resource)
    results = [(c, condition_holds(c, request, assumed)) for c in statement.conditions]
    verdict = and3(action, principal, resource, *(r for _, r in results))
    if verdict is not False or not explain:
        return verdict, None
    failures = tuple(
        ConditionFailure(c.written or c.operator, c.key_written or c.key, tuple(map(str, c.values)), request.context.get(c.key))
        for c, r in results
        if r is False
    )
    return False, (principal is False, resource is False, failures)


# --- conditions ---------------------------------------------------------------------------


def condition_holds(condition: Condition, request: Request, assumed: Assumed = None) -> Tri:
    """One key under one operator, IAM's way: an absent key fails a positive operator and passes a
    negated one, `IfExists` passes it, `ForAllValues` passes it (the empty set), `ForAnyValue`
    fails it; values listed for the key are ORed; a negated operator is the complement of its
    positive one."""
    present = request.context.get(condition.key)
    if condition.operator == "Null":
        absent = present is None
        return or3(*(None if isinstance(v, Unknown) else absent == (v.lower() == "true") for v in condition.values))
    if present is None:
        if condition.if_exists or condition.set_operator == docs.FOR_ALL_VALUES:
            return True
        if condition.set_operator == docs.FOR_ANY_VALUE:
            return False
        return condition.negated

    def positive(element: str) -> Tri:
        return or3(*(value_matches(condition, index, element, request, assumed) for index in range(len(condition.values))))

    def element_holds(element: str) -> Tri:
        result = positive(element)
        return not3(result) if condition.negated else result

    if condition.set_operator == docs.FOR_ALL_VALUES:
        return and3(*(element_holds(e) for e in present))
    if condition.set_operator == docs.FOR_ANY_VALUE:
        return or3(*(element_holds(e) for e in present))
    found = or3(*(positive(e) for e in present))
    return not3(found) if condition.negated else found


def value_matches(condition: Condition, index: int, element: str, request: Request, assumed: Assumed = None) -> Tri:
    """Whether a request value meets the positive operator against the condition's `index`th value."""
    value = condition.values[index]
    if isinstance(value, Unknown):
        if assumed and value.name in assumed and condition.positive == "StringEquals":
            return element == assumed[value.name]
        return None
    positive = condition.positive
    family = condition.family
    if family in (docs.STRING, docs.ARN_FAMILY):
        pattern = condition.patterns[index]
        assert isinstance(pattern, Pattern)
        if positive == "StringEqualsIgnoreCase":
            text = resolve(pattern, request.value)
            return text is not None and element.lower() == text.lower()
        if positive == "StringEquals":
            text = resolve(pattern, request.value)
            return text is not None and element == text
        return matches(pattern, element, request.value)
    if family == docs.BOOL:
        return element.lower() == value.lower()
    if family == docs.BINARY:
        return element == value
    if family == docs.NUMERIC:
        got, want = typed.number(element), typed.number(value)
        return got is not None and want is not None and compare_values(positive, got, want)
    if family == docs.DATE:
        got_date, want_date = typed.date(element), typed.date(value)
        return got_date is not None and want_date is not None and compare_values(positive, got_date, want_date)
    if family == docs.IP:
        address, network = typed.address(element), typed.network(value)
        return address is not None and network is not None and address.version == network.version and address in network
    raise AssertionError(f"operator {condition.operator}")


def compare_values(operator: str, got: Any, want: Any) -> Any:
    """A Numeric or Date operator applied to two values: Python's (a bool) or the solver's (a z3 term)."""
    suffix = operator.removeprefix("Numeric").removeprefix("Date")
    return {
        "Equals": got == want,
        "LessThan": got < want,
        "LessThanEquals": got <= want,
        "GreaterThan": got > want,
        "GreaterThanEquals": got >= want,
    }[suffix]
