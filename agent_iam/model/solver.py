"""The SMT reasoner over the role model (z3; this is the only module that imports it).

A request is a tuple of variables: the principal (kind and ARN; an AWS principal's partition and
account are parts of its ARN), the action (lower-cased: actions match case-insensitively), the
resource, and per condition key whether it is present and its value(s), typed by the operators
that read it (text, number, date, IP address). A document is a formula that holds when it allows
the request; a role's permissions are its identity documents' Allows minus their Denies, within
its boundary; its trust is the trust policy's. "Head is wider than base" is the satisfiability of
`head and not base`, and the solver's model is a concrete witness request, which the concrete
evaluator (`agent_iam.model.evaluate`) checks before it is returned.

Exact for the language the evaluator defines (see docs/model.md): wildcards with IAM's case rules,
ARN part-wise matching, the String, Arn, Numeric, Date, Bool, Binary, IpAddress (IPv4 and IPv6)
and Null operators with IfExists, ForAnyValue/ForAllValues (a bounded set of values per
multi-valued key), and policy variables (the value of another key of the same request). Unknown
documents are uninterpreted predicates and unknown values uninterpreted functions, named by their
symbol, so the same unknown on both sides of a comparison is the same. Every query has a time
budget; a query not decided in budget is unknown, never "no change".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any

import z3

from agent_iam.iam import actions as iam_actions
from agent_iam.iam import arns
from agent_iam.model import documents as docs
from agent_iam.model import values as typed
from agent_iam.model.documents import Condition, Document, Pattern, Principal, Statement, Unknown, Var, Wild
from agent_iam.model.evaluate import (
    PRINCIPAL_ACCOUNT,
    PRINCIPAL_ARN,
    Request,
    StatementRef,
    can_assume,
    compare_values,
    evaluate,
)
from agent_iam.model.matching import action_pattern, segments
from agent_iam.model.roles import RoleModel, allows_nothing

DEFAULT_BUDGET_MS = 5_000
# How long a satisfiable query may look for a witness in printable ASCII before it keeps the first.
NICE_BUDGET_MS = 300
# Values per multi-valued key (ForAnyValue/ForAllValues): one per set condition on it, plus one, at most this.
MAX_SET_VALUES = 6

# Verdicts of `compare`.
EQUAL, WIDER, NARROWER, MIXED, NOT_COMPARABLE, UNKNOWN = (
    "equal", "wider", "narrower", "wider-and-narrower", "not-comparable", "unknown",
)

_KINDS = {docs.AWS: 0, docs.SERVICE: 1, docs.FEDERATED: 2, docs.CANONICAL_USER: 3}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
STR, NUM, DATE, IP = "str", "num", "date", "ip"
_FAMILY = {
    docs.STRING: STR, docs.ARN_FAMILY: STR, docs.BOOL: STR, docs.BINARY: STR,
    docs.NUMERIC: NUM, docs.DATE: DATE, docs.IP: IP,
}
_V4, _V6, _NOT_IP = 0, 1, 2


# z3 reads `\u{HEX}` in string literals as one character and writes characters outside printable
# ASCII that way: a document's backslash is written as `\u{5c}` going in, and escapes are read back
# coming out, so every text is exactly itself on both sides.
def _text(value: str) -> z3.SeqRef:
    return z3.StringVal(value.replace("\\", "\\u{5c}"))


def _re(value: str | z3.SeqRef) -> z3.ReRef:
    return z3.Re(_text(value) if isinstance(value, str) else value)


_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]{1,6})\}")


def _read(value: z3.ExprRef) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value.as_string())



class Unsupported(Exception):
    """A document uses the language in a way the encoding does not cover exactly (the query is unknown)."""


# --- regular expressions ------------------------------------------------------------------


@cache
def _all_char() -> z3.ReRef:
    return z3.AllChar(z3.ReSort(z3.StringSort()))


MAX_CHAR = chr(0x2FFFF)  # the last character of z3's unicode strings


@cache
def _no_colon() -> z3.ReRef:
    """One character but `:` (as ranges: the solver decides them far faster than a complement)."""
    return z3.Union(z3.Range(chr(0), "9"), z3.Range(";", MAX_CHAR))


@cache
def _action_char() -> z3.ReRef:
    """One character of a lower-cased action: anything but an upper-case ASCII letter."""
    return z3.Union(z3.Range(chr(0), "@"), z3.Range("[", MAX_CHAR))


@cache
def _printable() -> z3.ReRef:
    return z3.Star(z3.Range(" ", "~"))


@cache
def _caseless(text: str) -> z3.ReRef:
    """Every spelling of `text` that lower-cases to `text.lower()` (ASCII letters either case)."""
    parts = []
    for char in text:
        lower, upper = char.lower(), char.upper()
        if lower != upper and len(lower) == 1 and len(upper) == 1:
            parts.append(z3.Union(_re(lower), _re(upper)))
        else:
            parts.append(_re(char))
    if not parts:
        return z3.Re("")
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


def _concat_re(parts: list[z3.ReRef]) -> z3.ReRef:
    if not parts:
        return z3.Re("")
    return parts[0] if len(parts) == 1 else z3.Concat(*parts)


@cache
def _ground_regex(pattern: Pattern) -> z3.ReRef:
    """A pattern without variables as a z3 regular expression (cached by pattern)."""
    parts: list[z3.ReRef] = []
    for token, bounded in segments(pattern):
        if isinstance(token, str):
            parts.append(_re(token))
        else:
            assert isinstance(token, Wild)
            char = _no_colon() if bounded else _all_char()
            parts.append(z3.Star(char) if token.char == "*" else char)
    return _concat_re(parts)


def _union(regexes: tuple[z3.ReRef, ...]) -> z3.ReRef:
    return regexes[0] if len(regexes) == 1 else z3.Union(*regexes)


@cache
def _action_regex(text: str) -> z3.ReRef:
    """An Action value over lower-cased actions: its wildcards match no upper-case letter, so an action
    that some pattern matches is always one the evaluator lower-cases to itself."""
    parts: list[z3.ReRef] = []
    for token in action_pattern(text).tokens:
        if isinstance(token, str):
            parts.append(_re(token))
        else:
            assert isinstance(token, Wild)
            parts.append(z3.Star(_action_char()) if token.char == "*" else _action_char())
    return _concat_re(parts)


# --- the request's variables ------------------------------------------------------------


@dataclass
class _KeyUse:
    families: set[str] = field(default_factory=set)
    set_conditions: int = 0
    variable: bool = False
    decimals: int = 0


@dataclass
class _Slot:
    """One value of a key: a string, or a typed value with its "not a value of that type" flag."""

    text: z3.SeqRef | None = None
    number: z3.ArithRef | None = None
    bad: z3.BoolRef | None = None
    ip_kind: z3.ArithRef | None = None
    ip: z3.BitVecRef | None = None


@dataclass
class _Key:
    name: str
    family: str | None
    multi: bool
    present: z3.BoolRef
    count: z3.ArithRef | None
    slots: list[_Slot]
    scale: int = 1

    def elements(self) -> list[tuple[z3.BoolRef, _Slot]]:
        if not self.multi:
            return [(self.present, self.slots[0])]
        return [(self.count > i, slot) for i, slot in enumerate(self.slots)]


@cache
def _can_start(pattern: str, prefix: str) -> bool:
    """Whether the action pattern `pattern` (lower-cased; `*` and `?`) matches some text that starts
    with `prefix`."""

    @cache
    def fits(i: int, j: int) -> bool:
        if j == len(prefix):
            return True  # the rest of the text is free: `pattern[i:]` matches some text
        if i == len(pattern):
            return False
        char = pattern[i]
        if char == "*":
            return fits(i + 1, j) or fits(i, j + 1)
        return (char == "?" or char == prefix[j]) and fits(i + 1, j + 1)

    return fits(0, 0)


def _service_of(pattern: str) -> str | None:
    """The service prefix an action pattern is limited to (`s3` for `s3:Get*`), None when a wildcard
    in it, or a missing `:`, lets it reach actions of any service."""
    service, colon, _ = pattern.lower().partition(":")
    return service if colon and not any(c in service for c in "*?") else None


@dataclass(frozen=True)
class _Slice:
    """The actions of one service (`service`), or of no service in `others` (`service` None): a
    query split by service asks one small question per slice instead of one over every pattern."""

    service: str | None
    others: tuple[str, ...] = ()

    def admits(self, pattern: str) -> bool:
        """Whether an Action value may match an action of this slice (over-approximated never under)."""
        service = _service_of(pattern)
        if self.service is not None:
            return service == self.service if service is not None else _can_start(pattern.lower(), self.service + ":")
        return service is None or service not in self.others

    def holds(self, action: str) -> bool:
        """Whether an action (lower-cased) is one of this slice's."""
        service, colon, _ = action.partition(":")
        if self.service is not None:
            return bool(colon) and service == self.service
        return not colon or service not in self.others

    def constraint(self, action: z3.SeqRef) -> z3.BoolRef:
        if self.service is not None:
            return z3.PrefixOf(_text(self.service + ":"), action)
        if not self.others:
            return z3.BoolVal(True)
        prefixes = tuple(z3.Concat(_re(s + ":"), z3.Star(_all_char())) for s in self.others)
        return z3.Not(z3.InRe(action, _union(prefixes)))


class _Encoding:
    """The variables of one query and the encoding of documents over them."""

    def __init__(self, documents: Iterable[Document], request: Request | None = None, fixed: Mapping[str, str | None] | None = None,
                 unions: bool = True, actions: _Slice | None = None):
        self.documents = [d for d in documents if d is not None]
        self.slice = actions  # only the actions of this slice: statements that cannot match them drop out
        # Ground patterns of one element as one membership of their union (fast for the solver) or
        # as a disjunction of memberships (fast for the simplifier, when every variable is pinned).
        self.unions = unions
        self.request = request
        self.fixed = dict(fixed or {})  # context keys fixed to one value (wide grants' tags)
        self.domain: list[z3.BoolRef] = []
        self.unknown_texts: dict[str, z3.SeqRef] = {}
        self.uses = self._uses()
        self.action = z3.String("action")
        self.resource = z3.String("resource")
        self.pkind = z3.Int("principal.kind")
        self.pid = z3.String("principal")
        self.ppartition = z3.String("principal.partition")
        self.pservice = z3.String("principal.service")
        self.paccount = z3.String("principal.account")
        self.prest = z3.String("principal.rest")
        self.keys = {name: self._key(name, use) for name, use in sorted(self.uses.items())}
        self._principal_domain()
        if self.slice is not None:
            self.domain.append(self.slice.constraint(self.action))

    # usage -------------------------------------------------------------------------------

    def _uses(self) -> dict[str, _KeyUse]:
        uses: dict[str, _KeyUse] = {}

        def variables(patterns: Iterable[Pattern | Unknown]) -> None:
            for pattern in patterns:
                if isinstance(pattern, Pattern):
                    for key in pattern.variables:
                        use = uses.setdefault(key, _KeyUse())
                        use.variable = True
                        use.families.add(STR)

        for document in self.documents:
            for statement in document.statements:
                variables(statement.resource or ())
                for condition in statement.conditions:
                    use = uses.setdefault(condition.key, _KeyUse())
                    family = _FAMILY.get(condition.family)
                    if family:
                        use.families.add(family)
                    if condition.set_operator:
                        use.set_conditions += 1
                    if family == NUM:
                        use.decimals = max(use.decimals, *(typed.decimals(v) for v in condition.values if isinstance(v, str)))
                    variables(condition.patterns)
        for key in (PRINCIPAL_ARN, PRINCIPAL_ACCOUNT):
            if key in uses:
                uses[key].families.add(STR)
        if self.request is not None:
            for key, values in self.request.context.items():
                if key in uses:
                    use = uses[key]
                    if len(values) > 1:
                        use.set_conditions = max(use.set_conditions, len(values))
                    for value in values:
                        use.decimals = max(use.decimals, typed.decimals(value) if typed.number(value) is not None else 0)
        return uses

    def _key(self, name: str, use: _KeyUse) -> _Key:
        if len(use.families) > 1:
            raise Unsupported(f"condition key {name} is read as {' and '.join(sorted(use.families))}")
        family = next(iter(use.families), None)
        multi = use.set_conditions > 0
        size = 1
        if multi:
            size = max(1, min(MAX_SET_VALUES, use.set_conditions + 1))
            if self.request is not None and name in self.request.context:
                size = max(size, len(self.request.context[name]))
        slots = [self._slot(f"{name}[{i}]", family) for i in range(size)]
        key = _Key(name, family, multi, z3.Bool(f"{name}?"), z3.Int(f"{name}#") if multi else None, slots,
                   10 ** (use.decimals + 1) if family == NUM else 1)
        if multi:
            assert key.count is not None
            self.domain += [key.count >= 0, key.count <= size, key.present == (key.count >= 1)]
        return key

    def _slot(self, name: str, family: str | None) -> _Slot:
        if family == NUM:
            return _Slot(number=z3.Int(f"{name}.number"), bad=z3.Bool(f"{name}.nan"))
        if family == DATE:
            number = z3.Int(f"{name}.date")
            self.domain += [number >= typed.DATE_MIN, number <= typed.DATE_MAX]
            return _Slot(number=number, bad=z3.Bool(f"{name}.notadate"))
        if family == IP:
            kind, value = z3.Int(f"{name}.ipkind"), z3.BitVec(f"{name}.ip", 128)
            self.domain += [kind >= 0, kind <= _NOT_IP, z3.Implies(kind == _V4, z3.ULT(value, 2**32))]
            return _Slot(ip_kind=kind, ip=value)
        return _Slot(text=z3.String(f"{name}.text"))

    def _principal_domain(self) -> None:
        self.domain += [self.pkind >= 0, self.pkind <= 3]
        shape = z3.And(
            self.pid == z3.Concat(_text("arn:"), self.ppartition, _text(":"), self.pservice,
                                  _text("::"), self.paccount, _text(":"), self.prest),
            z3.InRe(self.ppartition, z3.Plus(_no_colon())),
            z3.Or(self.pservice == "iam", self.pservice == "sts"),
            z3.InRe(self.paccount, z3.Loop(z3.Range("0", "9"), 12, 12)),
            z3.Length(self.prest) >= 1,
        )
        self.domain.append(z3.Implies(self.pkind == _KINDS[docs.AWS], shape))
        for key, term in ((PRINCIPAL_ARN, self.pid), (PRINCIPAL_ACCOUNT, self.paccount)):
            if key in self.keys:
                derived = self.keys[key]
                self.domain.append(
                    z3.Implies(self.pkind == _KINDS[docs.AWS], z3.And(derived.present, self._single_text(derived) == term))
                )

    def _single_text(self, key: _Key) -> z3.SeqRef:
        slot = key.slots[0]
        assert slot.text is not None
        if key.multi:
            assert key.count is not None
            # a derived key has exactly one value
            self.domain.append(z3.Implies(key.present, key.count == 1))
        return slot.text

    # fixing values --------------------------------------------------------------------------

    def fix_request(self, request: Request, fix_principal: bool = True) -> list[z3.BoolRef]:
        """Constraints that pin the variables to a concrete request."""
        out = [self.action == _text(request.action.lower()), self.resource == _text(request.resource)]
        if fix_principal and request.principal is not None:
            out += self.fix_principal(request.principal)
        for name, key in self.keys.items():
            values = request.context.get(name)
            out.append(self.fix_key(key, values))
        return out

    def substitution(self, request: Request) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        """(variable, value) pairs that pin the variables to a concrete request, for `z3.substitute`;
        raises Unsupported where a value is not one term (the caller then asks the solver)."""
        pairs: list[tuple[z3.ExprRef, z3.ExprRef]] = [
            (self.action, _text(request.action.lower())), (self.resource, _text(request.resource)),
        ]
        principal = request.principal
        if principal is not None:
            assert isinstance(principal.value, str)
            pairs += [(self.pkind, z3.IntVal(_KINDS[principal.kind])), (self.pid, _text(principal.value))]
            if principal.kind == docs.AWS:
                parsed = arns.parse(principal.value)
                assert parsed is not None
                pairs += [(self.ppartition, _text(parsed.partition)), (self.pservice, _text(parsed.service)),
                          (self.paccount, _text(parsed.account)), (self.prest, _text(parsed.resource))]
        for name, key in self.keys.items():
            values = request.context.get(name) or ()
            if len(values) > len(key.slots):
                raise Unsupported(f"{name} has more values than the encoding holds")
            pairs.append((key.present, z3.BoolVal(bool(values))))
            if key.multi:
                assert key.count is not None
                pairs.append((key.count, z3.IntVal(len(values))))
            for slot, value in zip(key.slots, values):
                pairs += self._slot_values(key, slot, value)
        return pairs

    def _slot_values(self, key: _Key, slot: _Slot, value: str) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        if key.family in (NUM, DATE):
            assert slot.number is not None and slot.bad is not None
            parsed = typed.number(value) if key.family == NUM else typed.date(value)
            if parsed is None or (key.family == DATE and not typed.DATE_MIN <= parsed <= typed.DATE_MAX):
                return [(slot.bad, z3.BoolVal(True)), (slot.number, z3.IntVal(0))]
            scaled = Fraction(parsed) * key.scale
            if scaled.denominator != 1:
                raise Unsupported(f"{key.name}: {value} has more decimals than the encoding's scale")
            return [(slot.bad, z3.BoolVal(False)), (slot.number, z3.IntVal(scaled.numerator))]
        if key.family == IP:
            assert slot.ip_kind is not None and slot.ip is not None
            address = typed.address(value)
            if address is None:
                return [(slot.ip_kind, z3.IntVal(_NOT_IP)), (slot.ip, z3.BitVecVal(0, 128))]
            return [(slot.ip_kind, z3.IntVal(_V4 if address.version == 4 else _V6)), (slot.ip, z3.BitVecVal(int(address), 128))]
        return [(slot.text, _text(value))] if slot.text is not None else []

    def fix_principal(self, principal: Principal) -> list[z3.BoolRef]:
        assert isinstance(principal.value, str)
        out = [self.pkind == _KINDS[principal.kind], self.pid == _text(principal.value)]
        if principal.kind == docs.AWS:
            parsed = arns.parse(principal.value)
            assert parsed is not None
            out += [
                self.ppartition == _text(parsed.partition), self.pservice == _text(parsed.service),
                self.paccount == _text(parsed.account), self.prest == _text(parsed.resource),
            ]
        return out

    def fix_key(self, key: _Key, values: Sequence[str] | None) -> z3.BoolRef:
        if not values:
            return z3.Not(key.present)
        if len(values) > len(key.slots):
            raise Unsupported(f"{key.name} has more values than the encoding holds")
        out = [key.present]
        if key.multi:
            assert key.count is not None
            out.append(key.count == len(values))
        for slot, value in zip(key.slots, values):
            out.append(self.fix_slot(key, slot, value))
        return z3.And(*out)

    def fix_slot(self, key: _Key, slot: _Slot, value: str) -> z3.BoolRef:
        if key.family == NUM:
            number = typed.number(value)
            if number is None:
                return slot.bad  # type: ignore[return-value]
            scaled = number * key.scale
            if scaled.denominator != 1:
                raise Unsupported(f"{key.name}: {value} has more decimals than the encoding's scale")
            return z3.And(z3.Not(slot.bad), slot.number == scaled.numerator)
        if key.family == DATE:
            moment = typed.date(value)
            if moment is None or not typed.DATE_MIN <= moment <= typed.DATE_MAX:
                return slot.bad  # type: ignore[return-value]
            return z3.And(z3.Not(slot.bad), slot.number == moment)
        if key.family == IP:
            address = typed.address(value)
            if address is None:
                return slot.ip_kind == _NOT_IP
            return z3.And(slot.ip_kind == (_V4 if address.version == 4 else _V6), slot.ip == int(address))
        if slot.text is None:
            return z3.BoolVal(True)
        return slot.text == _text(value)

    def free_domain(self) -> list[z3.BoolRef]:
        """Domain constraints for variables a query leaves free: the action variable stands for the
        lower-cased action, so it holds no upper-case letter. An action an Action pattern matches never
        does; only a NotAction or an unknown document can reach others, and only then is the
        constraint added (it slows the solver down)."""
        if any(not d.known or any(s.not_action or any(isinstance(a, Unknown) for a in s.action) for s in d.statements)
               for d in self.documents):
            return [z3.InRe(self.action, z3.Star(_action_char()))]
        return []

    def fix_fixed(self) -> list[z3.BoolRef]:
        """The fixed keys: to their one value, or absent (None)."""
        return [self.fix_key(self.keys[k], [v] if v is not None else []) for k, v in self.fixed.items() if k in self.keys]

    # documents -----------------------------------------------------------------------------

    def effect(self, documents: Iterable[Document]) -> tuple[z3.BoolRef, z3.BoolRef]:
        """(some Allow matches, some Deny matches) over documents taken together."""
        allows: list[z3.BoolRef] = []
        denies: list[z3.BoolRef] = []
        for document in documents:
            if not document.known:
                symbol = document.unknown
                assert symbol is not None
                sort = (z3.StringSort(), z3.StringSort(), z3.StringSort(), z3.BoolSort())
                allows.append(z3.Function(f"{symbol.name}:allow", *sort)(self.action, self.resource, self.pid))
                denies.append(z3.Function(f"{symbol.name}:deny", *sort)(self.action, self.resource, self.pid))
                continue
            for statement in document.statements:
                (allows if statement.effect == docs.ALLOW else denies).append(self.statement(statement))
        return z3.Or(*allows) if allows else z3.BoolVal(False), z3.Or(*denies) if denies else z3.BoolVal(False)

    def allowed(self, documents: Iterable[Document]) -> z3.BoolRef:
        allow, deny = self.effect(documents)
        return z3.And(allow, z3.Not(deny))

    def permissions(self, role: RoleModel) -> z3.BoolRef:
        """The role's effective permissions: identity Allows minus Denies, within the boundary."""
        formula = self.allowed(role.identity)
        if role.boundary is not None:
            formula = z3.And(formula, self.allowed((role.boundary,)))
        return formula

    def trust(self, role: RoleModel) -> z3.BoolRef:
        if role.trust is None:
            return z3.Function(f"role:{role.key}:trust", z3.StringSort(), z3.StringSort(), z3.BoolSort())(self.pid, self.action)
        return self.allowed((role.trust,))

    def statement(self, statement: Statement) -> z3.BoolRef:
        parts: list[z3.BoolRef] = []
        # Ground patterns of one element become one membership in their union: the solver decides
        # a union of regular expressions far faster than a disjunction of memberships.
        unknown_actions = [self._uf(v, "action", self.action) for v in statement.action if isinstance(v, Unknown)]
        ground = tuple(v for v in statement.action if isinstance(v, str))
        if self.slice is not None:  # the action is in the slice: other values never match it
            ground = tuple(v for v in ground if self.slice.admits(v))
        # A value without wildcards is an equality (the solver decides those at once, where a regular
        # expression of a long literal, negated, can take it seconds); the others one union's membership.
        literal = [self.action == _text(v.lower()) for v in ground if not any(c in v for c in "*?")]
        memberships = self._memberships(self.action, tuple(_action_regex(v) for v in ground if any(c in v for c in "*?")))
        action = z3.Or(*unknown_actions, *literal, *memberships)
        parts.append(z3.Not(action) if statement.not_action else action)
        if statement.principal is not None:
            principal = z3.Or(*(self.principal_match(p) for p in statement.principal))
            parts.append(z3.Not(principal) if statement.not_principal else principal)
        if statement.resource is not None:
            plain = tuple(p for p in statement.resource if isinstance(p, Pattern) and not p.variables and p.has_wildcard)
            others = [self._uf(p, "resource", self.resource) if isinstance(p, Unknown) else self.pattern_match(p, self.resource)
                      for p in statement.resource if not (isinstance(p, Pattern) and not p.variables and p.has_wildcard)]
            others += self._memberships(self.resource, tuple(_ground_regex(p) for p in plain))
            resource = z3.Or(*others)
            parts.append(z3.Not(resource) if statement.not_resource else resource)
        parts += [self.condition(c) for c in statement.conditions]
        return z3.And(*parts)

    def _memberships(self, term: z3.SeqRef, regexes: tuple[z3.ReRef, ...]) -> list[z3.BoolRef]:
        if not regexes:
            return []
        if self.unions:
            return [z3.InRe(term, _union(regexes))]
        return [z3.InRe(term, regex) for regex in regexes]

    def unknown_text(self, symbol: Unknown) -> z3.SeqRef:
        const = self.unknown_texts.get(symbol.name)
        if const is None:
            const = self.unknown_texts[symbol.name] = z3.String(f"unknown:{symbol.name}")
        return const

    def _uf(self, symbol: Unknown, what: str, term: z3.ExprRef) -> z3.BoolRef:
        return z3.Function(f"{symbol.name}:{what}", term.sort(), z3.BoolSort())(term)

    def principal_match(self, listed: Principal) -> z3.BoolRef:
        if listed.kind == docs.ANY:
            return z3.BoolVal(True)
        kind = self.pkind == _KINDS[listed.kind]
        if isinstance(listed.value, Unknown):
            return z3.And(kind, self._uf(listed.value, "principal", self.pid))
        if listed.kind == docs.AWS:
            if listed.value == "*":
                return kind
            root = re.fullmatch(r"arn:([^:]+):iam::(\d{12}):root", listed.value)
            if root:
                return z3.And(kind, self.ppartition == _text(root.group(1)), self.paccount == _text(root.group(2)))
        return z3.And(kind, self.pid == _text(listed.value))

    # patterns and values ----------------------------------------------------------------------

    def variable(self, var: Var) -> tuple[z3.BoolRef, z3.SeqRef]:
        """(defined, value) of a policy variable: the key's single value, else its default."""
        key = self.keys[var.key]
        slot = key.slots[0]
        if slot.text is None:
            raise Unsupported(f"policy variable ${{{var.key}}} reads a key that is not text")
        defined = key.present if not key.multi else z3.And(key.present, key.count == 1)  # type: ignore[operator]
        if var.default is not None:
            return z3.BoolVal(True), z3.If(defined, slot.text, _text(var.default))
        return defined, slot.text

    def pattern_match(self, pattern: Pattern, term: z3.SeqRef) -> z3.BoolRef:
        if not pattern.variables:
            if not pattern.has_wildcard:
                return term == _text("".join(t for t in pattern.tokens if isinstance(t, str)))
            return z3.InRe(term, _ground_regex(pattern))
        guards: list[z3.BoolRef] = []
        parts: list[z3.ReRef] = []
        for token, bounded in segments(pattern):
            if isinstance(token, str):
                parts.append(_re(token))
            elif isinstance(token, Wild):
                char = _no_colon() if bounded else _all_char()
                parts.append(z3.Star(char) if token.char == "*" else char)
            else:
                defined, value = self.variable(token)
                guards.append(defined)
                parts.append(_re(value))
        return z3.And(*guards, z3.InRe(term, _concat_re(parts)))

    def text_of(self, pattern: Pattern) -> tuple[list[z3.BoolRef], z3.SeqRef]:
        guards: list[z3.BoolRef] = []
        pieces: list[z3.SeqRef] = []
        for token in pattern.tokens:
            if isinstance(token, str):
                pieces.append(_text(token))
            elif isinstance(token, Wild):
                pieces.append(_text(token.char))
            else:
                defined, value = self.variable(token)
                guards.append(defined)
                pieces.append(value)
        if not pieces:
            return guards, _text("")
        return guards, pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)

    def value_match(self, condition: Condition, index: int, key: _Key, slot: _Slot) -> z3.BoolRef:
        value = condition.values[index]
        positive = condition.positive
        family = condition.family
        if isinstance(value, Unknown):
            if slot.text is None:
                raise Unsupported(f"an unknown value under {condition.operator}")
            if positive == "StringEquals":  # one unknown text: a constant a witness can name
                return slot.text == self.unknown_text(value)
            return self._uf(value, positive, slot.text)
        if family in (docs.STRING, docs.ARN_FAMILY):
            pattern = condition.patterns[index]
            assert isinstance(pattern, Pattern) and slot.text is not None
            if positive == "StringEqualsIgnoreCase":
                if pattern.variables:
                    raise Unsupported("StringEqualsIgnoreCase with a policy variable")
                return z3.InRe(slot.text, _caseless("".join(t for t in pattern.tokens if isinstance(t, str))))
            if positive == "StringEquals":
                guards, text = self.text_of(pattern)
                return z3.And(*guards, slot.text == text)
            return self.pattern_match(pattern, slot.text)
        if family == docs.BOOL:
            assert slot.text is not None
            return z3.InRe(slot.text, _caseless(value))
        if family == docs.BINARY:
            assert slot.text is not None
            return slot.text == _text(value)
        if family == docs.NUMERIC:
            number = typed.number(value)
            assert number is not None and slot.number is not None and slot.bad is not None
            scaled = number * key.scale
            assert scaled.denominator == 1
            return z3.And(z3.Not(slot.bad), compare_values(positive, slot.number, scaled.numerator))
        if family == docs.DATE:
            moment = typed.date(value)
            assert moment is not None and slot.number is not None and slot.bad is not None
            return z3.And(z3.Not(slot.bad), compare_values(positive, slot.number, moment))
        if family == docs.IP:
            network = typed.network(value)
            assert network is not None and slot.ip is not None and slot.ip_kind is not None
            mask = int(network.netmask)
            return z3.And(slot.ip_kind == (_V4 if network.version == 4 else _V6),
                          slot.ip & mask == int(network.network_address))
        raise AssertionError(condition.operator)

    def condition(self, condition: Condition) -> z3.BoolRef:
        key = self.keys[condition.key]
        if condition.operator == "Null":
            return z3.Or(*(
                self._uf(v, "Null", key.present) if isinstance(v, Unknown)
                else (z3.Not(key.present) if v.lower() == "true" else key.present)
                for v in condition.values
            ))
        if condition.if_exists or condition.set_operator == docs.FOR_ALL_VALUES:
            absent = z3.BoolVal(True)
        elif condition.set_operator == docs.FOR_ANY_VALUE:
            absent = z3.BoolVal(False)
        else:
            absent = z3.BoolVal(condition.negated)

        def positive(slot: _Slot) -> z3.BoolRef:
            return z3.Or(*(self.value_match(condition, i, key, slot) for i in range(len(condition.values))))

        def holds(slot: _Slot) -> z3.BoolRef:
            return z3.Not(positive(slot)) if condition.negated else positive(slot)

        elements = key.elements()
        if condition.set_operator == docs.FOR_ALL_VALUES:
            present = z3.And(*(z3.Implies(exists, holds(slot)) for exists, slot in elements))
        elif condition.set_operator == docs.FOR_ANY_VALUE:
            present = z3.Or(*(z3.And(exists, holds(slot)) for exists, slot in elements))
        else:
            found = z3.Or(*(z3.And(exists, positive(slot)) for exists, slot in elements))
            present = z3.Not(found) if condition.negated else found
        return z3.If(key.present, present, absent)

    # witnesses ---------------------------------------------------------------------------------

    def witness(self, model: z3.ModelRef, principal: Principal | None) -> Request:
        def text(term: z3.ExprRef) -> str:
            return _read(model.eval(term, model_completion=True))

        if principal is None:
            kind = _KIND_NAMES[model.eval(self.pkind, model_completion=True).as_long()]
            principal = Principal(kind, text(self.pid))
        derived = (PRINCIPAL_ARN, PRINCIPAL_ACCOUNT) if principal.kind == docs.AWS else ()
        context: dict[str, list[str]] = {}
        for name, key in self.keys.items():
            if name in derived or not z3.is_true(model.eval(key.present, model_completion=True)):
                continue
            count = model.eval(key.count, model_completion=True).as_long() if key.multi else 1  # type: ignore[arg-type]
            context[name] = [self._render(model, key, slot) for slot in key.slots[:count]]
        return Request(principal, iam_actions.canonical(text(self.action)), text(self.resource), context)

    def _render(self, model: z3.ModelRef, key: _Key, slot: _Slot) -> str:
        def value(term: z3.ExprRef) -> Any:
            return model.eval(term, model_completion=True)

        if key.family == NUM:
            if z3.is_true(value(slot.bad)):
                return "not-a-number"
            return typed.render_number(Fraction(value(slot.number).as_long(), key.scale))
        if key.family == DATE:
            if z3.is_true(value(slot.bad)):
                return "not-a-date"
            return typed.render_date(value(slot.number).as_long())
        if key.family == IP:
            import ipaddress

            kind = value(slot.ip_kind).as_long()
            number = value(slot.ip).as_long()
            if kind == _V4:
                return str(ipaddress.IPv4Address(number % 2**32))
            if kind == _V6:
                return str(ipaddress.IPv6Address(number))
            return "not-an-ip-address"
        if slot.text is None:
            return "any"
        return _read(value(slot.text))

    def _texts(self) -> list[z3.SeqRef]:
        return [self.action, self.resource, self.pid] + [s.text for k in self.keys.values() for s in k.slots if s.text is not None]

    def printable(self) -> list[z3.BoolRef]:
        """Preferences for readable witnesses: printable ASCII everywhere."""
        return [z3.InRe(t, _printable()) for t in self._texts()]

    def readable(self, model: z3.ModelRef) -> bool:
        """Whether a model's texts are printable ASCII already (no second search for nicer ones)."""
        return all(" " <= c <= "~" for t in self._texts() for c in _read(model.eval(t, model_completion=True)))


# Budgets are counted in z3's own resource steps (`rlimit`), not in wall-clock time: the same question
# gets the same answer (and the same witness) however loaded the machine is. A budget of `budget_ms`
# is that many milliseconds of a solver doing STEPS_PER_MS steps each; the wall clock is only a
# backstop, BACKSTOP times the budget, for a machine far slower than that. (This project's queries,
# measured on a quiet machine, run at a few hundred thousand steps a millisecond; the string solver's
# slowest ones at a few thousand.)
STEPS_PER_MS = 10_000
BACKSTOP = 10


def _limit(solver: z3.Solver, budget_ms: int) -> None:
    """Give `solver` a budget of `budget_ms` (in steps; the wall clock only as a backstop)."""
    solver.set("rlimit", max(1, int(budget_ms * STEPS_PER_MS)))
    solver.set("timeout", max(1, int(budget_ms * BACKSTOP)))


def _solve(constraints: Sequence[z3.BoolRef], budget_ms: int) -> tuple[str, z3.ModelRef | None]:
    solver = z3.Solver()
    _limit(solver, budget_ms)
    solver.add(*constraints)
    result = solver.check()
    if result == z3.sat:
        return "sat", solver.model()
    return ("unsat", None) if result == z3.unsat else ("unknown", None)


# How long the solver may look for a witness with the action pinned to one the documents name, and
# how many such actions it tries, before it searches every action.
CANDIDATE_BUDGET_MS = 300
MAX_CANDIDATES = 48


def _candidate_actions(documents: Iterable[Document], part: _Slice | None = None) -> list[str]:
    """Actions the documents name (a pattern with its wildcards dropped or filled), lower-cased; those
    of statements written once (what a change added or removed) first; only those of the slice `part`."""
    statements = [s for d in documents for s in d.statements]
    seen: dict[tuple[Any, ...], int] = {}
    for statement in statements:
        body = (statement.effect, statement.action, statement.not_action, statement.resource, statement.not_resource,
                statement.principal, statement.not_principal, statement.conditions)
        seen[body] = seen.get(body, 0) + 1
    ordered = sorted(statements, key=lambda s: seen[(s.effect, s.action, s.not_action, s.resource, s.not_resource,
                                                      s.principal, s.not_principal, s.conditions)] != 1)
    out: dict[str, None] = {}
    for statement in ordered:
        for value in statement.action:
            if isinstance(value, str) and (part is None or part.admits(value)):
                text = value.lower()
                candidate = text.replace("*", "").replace("?", "a") if text != "*" else "s3:getobject"
                if part is None or part.holds(candidate):
                    out.setdefault(candidate, None)
    return list(out)[:MAX_CANDIDATES]


def _solve_nicely(encoding: _Encoding, constraints: Sequence[z3.BoolRef], budget_ms: int) -> tuple[str, z3.ModelRef | None]:
    """`_solve`, and when satisfiable, a model with printable values if there is one. The solver's
    string search is erratic when the action is free and quick once it is pinned: the free search is
    tried briefly, then with each action the documents name, then again with the whole budget (the
    answer that counts). A question about one slice of the actions tries its few candidates first."""
    candidates = _candidate_actions(encoding.documents, encoding.slice)

    def pinned() -> tuple[str, z3.ModelRef | None]:
        for action in candidates:
            found = _solve([*constraints, encoding.action == _text(action)], CANDIDATE_BUDGET_MS)
            if found[0] == "sat":
                return found
        return "unknown", None

    status, model = pinned() if encoding.slice is not None else ("unknown", None)
    if status != "sat":
        status, model = _solve(constraints, min(budget_ms, CANDIDATE_BUDGET_MS))
        if status == "unknown" and encoding.slice is None:
            status, model = pinned()
        if status == "unknown":
            status, model = _solve(constraints, budget_ms)
    if status == "sat" and not encoding.readable(model):  # type: ignore[arg-type]
        nicer_status, nicer = _solve([*constraints, *encoding.printable()], min(budget_ms, NICE_BUDGET_MS))
        if nicer_status == "sat":
            model = nicer
    return status, model


# --- queries -------------------------------------------------------------------------------


def allows(role: RoleModel, request: Request, budget_ms: int = DEFAULT_BUDGET_MS) -> bool | None:
    """Whether the role's permissions allow a concrete request, decided by the solver (None: it
    depends on unknowns, or was not decided in budget). The evaluator answers the same question
    without a solver; this one exists to check the encoding against it."""
    if request.principal is None and isinstance(role.arn, str):
        request = request.with_principal(role.arn)
    return _checker(role, "permissions").decide(request, budget_ms)


def assumes(role: RoleModel, request: Request, budget_ms: int = DEFAULT_BUDGET_MS) -> bool | None:
    """Whether the role's trust lets the request's principal assume it, decided by the solver."""
    if not request.resource and isinstance(role.arn, str):
        request = request.with_resource(role.arn)
    return _checker(role, "trust").decide(request, budget_ms)


def decide_by_search(role: RoleModel, request: Request, trust: bool = False, budget_ms: int = DEFAULT_BUDGET_MS) -> bool | None:
    """`allows` (or `assumes`) answered by the solver's search over the encoding `compare` uses
    (nothing simplified away first): how tests check that encoding against the evaluator."""
    if trust:
        documents: Sequence[Document] = (role.trust,) if role.trust else ()
        if not request.resource and isinstance(role.arn, str):
            request = request.with_resource(role.arn)
    else:
        documents = role.permission_documents
        if request.principal is None and isinstance(role.arn, str):
            request = request.with_principal(role.arn)
    try:
        encoding = _Encoding(documents, request)
        target = encoding.trust(role) if trust else encoding.permissions(role)
        base = [*encoding.domain, *encoding.fix_request(request)]
    except Unsupported:
        return None
    can_allow, _ = _solve([*base, target], budget_ms)
    if can_allow == "unsat":
        return False
    can_deny, _ = _solve([*base, z3.Not(target)], budget_ms)
    return True if can_allow == "sat" and can_deny == "unsat" else None


class _Checker:
    """One role's formula in an incremental solver, asked about one concrete request at a time."""

    def __init__(self, role: RoleModel, what: str):
        self.role, self.what = role, what
        self.documents = role.permission_documents if what == "permissions" else ((role.trust,) if role.trust else ())
        self.uncertain = any(not d.known or d.unknowns for d in self.documents)
        self.solver: z3.Solver | None = None
        try:
            self.encoding = _Encoding(self.documents, unions=False)
            self.target = self._formula(self.encoding)
            self.solver = z3.Solver()
            self.solver.add(*self.encoding.domain)
        except Unsupported:
            self.solver = None

    def _formula(self, encoding: _Encoding) -> z3.BoolRef:
        return encoding.permissions(self.role) if self.what == "permissions" else encoding.trust(self.role)

    def decide(self, request: Request, budget_ms: int) -> bool | None:
        try:
            if self.solver is None:
                raise Unsupported("the role's documents")
            # Every variable the formula reads is pinned: z3's simplifier evaluates what is ground
            # (regular expression membership of constants included); what is left (the unknowns'
            # uninterpreted functions) goes to the solver, both ways.
            value = z3.simplify(z3.substitute(self.target, *self.encoding.substitution(request)))
            if z3.is_true(value) or z3.is_false(value):
                return z3.is_true(value)
            return self._ask(z3.Solver(), [], value, budget_ms, both=True)
        except Unsupported:
            try:  # the request needs more than the shared encoding holds (more values, more decimals)
                encoding = _Encoding(self.documents, request)
                solver = z3.Solver()
                solver.add(*encoding.domain)
                return self._ask(solver, encoding.fix_request(request), self._formula(encoding), budget_ms)
            except Unsupported:
                return None

    def _ask(self, solver: z3.Solver, fixed: list[z3.BoolRef], target: z3.BoolRef, budget_ms: int,
             both: bool = False) -> bool | None:
        _limit(solver, budget_ms)

        def check(goal: z3.BoolRef) -> str:
            solver.push()
            solver.add(*fixed, goal)
            result = solver.check()
            solver.pop()
            return "sat" if result == z3.sat else "unsat" if result == z3.unsat else "unknown"

        can_allow = check(target)
        if can_allow == "unsat":
            return False
        if both or self.uncertain or can_allow == "unknown":
            can_deny = check(z3.Not(target))
            return True if can_allow == "sat" and can_deny == "unsat" else None
        return True


_CHECKERS: dict[tuple[Any, ...], _Checker] = {}
CHECKERS_KEPT = 200  # roles whose solver is kept for concrete questions


def _checker(role: RoleModel, what: str) -> _Checker:
    documents = role.permission_documents if what == "permissions" else ((role.trust,) if role.trust else ())
    key = (what, role.key, str(role.arn), tuple(d.digest for d in documents),
           role.boundary.digest if role.boundary and what == "permissions" else None,
           tuple(u.name for d in documents for u in d.unknowns))
    checker = _CHECKERS.get(key)
    if checker is None:
        if len(_CHECKERS) > CHECKERS_KEPT:
            _CHECKERS.clear()
        checker = _CHECKERS[key] = _Checker(role, what)
    return checker


@dataclass(frozen=True)
class Comparison:
    """How head's access compares with base's: `verdict` (equal, wider, narrower,
    wider-and-narrower, not-comparable, unknown), a witness per direction (allowed by one and
    denied by the other under the concrete evaluator), and what made it not comparable."""

    verdict: str
    wider: Request | None = None  # allowed by head, denied by base
    narrower: Request | None = None  # allowed by base, denied by head
    unknowns: tuple[str, ...] = ()
    reason: str = ""
    # values the witnesses give to unknowns both sides share (a secret external ID: "the same value")
    assumed: tuple[tuple[str, str], ...] = ()

    @property
    def widens(self) -> bool | None:
        """True when head allows something base does not; None when that cannot be told offline
        (never read as "no change")."""
        if self.verdict in (WIDER, MIXED):
            return True
        if self.verdict in (EQUAL, NARROWER):
            return False
        return None


@dataclass(frozen=True)
class RoleComparison:
    """`compare`'s answer for one role: its permissions and its trust, compared separately."""

    key: tuple[str | None, str]
    permissions: Comparison
    trust: Comparison

    @property
    def widens(self) -> bool | None:
        answers = (self.permissions.widens, self.trust.widens)
        return True if True in answers else None if None in answers else False


_VERDICTS: dict[tuple[Any, ...], Comparison] = {}


_empty = allows_nothing


def compare(base: RoleModel | None, head: RoleModel | None, budget_ms: int = DEFAULT_BUDGET_MS) -> RoleComparison:
    """Compare one role's access before (base) and after (head), permissions and trust separately.
    A role only in head is compared with a role that allows nothing (and the reverse)."""
    if base is None and head is None:
        raise ValueError("compare needs a base or a head role")
    base = base or _empty(head)  # type: ignore[arg-type]
    head = head or _empty(base)
    principal = head.arn if isinstance(head.arn, str) else base.arn if isinstance(base.arn, str) else None
    permissions = _compare_documents(
        base.permission_documents, head.permission_documents,
        lambda e: e.permissions(base), lambda e: e.permissions(head),
        principal, base, head, "permissions", budget_ms,
    )
    trust = _compare_documents(
        (base.trust,) if base.trust else (), (head.trust,) if head.trust else (),
        lambda e: e.trust(base), lambda e: e.trust(head),
        None, base, head, "trust", budget_ms,
    )
    return RoleComparison(head.key, permissions, trust)


def _signature(documents: Sequence[Document], role: RoleModel, what: str) -> tuple[Any, ...]:
    boundary = role.boundary.digest if what == "permissions" and role.boundary else None
    return (tuple(sorted(d.digest for d in documents if d is not role.boundary)), boundary,
            tuple(sorted(u.name for d in documents for u in d.unknowns)))


def _compare_documents(
    base_docs: Sequence[Document], head_docs: Sequence[Document],
    base_formula: Callable[[_Encoding], z3.BoolRef], head_formula: Callable[[_Encoding], z3.BoolRef],
    principal: str | None, base: RoleModel, head: RoleModel, what: str, budget_ms: int,
) -> Comparison:
    base_sig, head_sig = _signature(base_docs, base, what), _signature(head_docs, head, what)
    if base_sig == head_sig and (what == "trust" or base.arn == head.arn):
        return Comparison(EQUAL, reason="the same documents")
    base_unknowns = {u.name for d in base_docs for u in d.unknowns}
    head_unknowns = {u.name for d in head_docs for u in d.unknowns}
    # Values or documents the plan cannot see that differ: only a witness that holds whatever they are
    # (the evaluator decides it without them) says "wider"; "not wider" must hold for every value.
    differ = tuple(sorted(base_unknowns ^ head_unknowns))
    cache_key = (what, base_sig, head_sig, principal if what == "permissions" else None)
    if cache_key in _VERDICTS:
        return _VERDICTS[cache_key]
    slices: list[_Slice | None] = [None]
    if what == "permissions":
        slices = _slices([*base_docs, *head_docs])  # type: ignore[assignment]
    fixed_principal = None
    if principal:
        try:
            from agent_iam.model.evaluate import principal_of

            fixed_principal = principal_of(principal)
        except ValueError:
            fixed_principal = None

    assumed: dict[str, str] = {}

    def direction(encoding: _Encoding, common: list[z3.BoolRef], allowed_by: RoleModel, denied_by: RoleModel,
                  yes: z3.BoolRef, no: z3.BoolRef) -> tuple[str, Request | None]:
        status, model = _solve_nicely(encoding, [*common, yes, z3.Not(no)], budget_ms)
        if status != "sat":
            return status, None
        assert model is not None
        try:
            witness = encoding.witness(model, fixed_principal)
        except ValueError:
            return "unknown", None
        values = {name: _read(model.eval(const, model_completion=True)) for name, const in encoding.unknown_texts.items()}
        if differ:
            values = {}  # a witness must hold whatever the unknowns are
        check = evaluate if what == "permissions" else can_assume
        if check(allowed_by, witness, values).allowed is True and check(denied_by, witness, values).allowed is False:
            assumed.update(values)
            return "sat", witness
        return "unconfirmed", None

    statuses = {"wider": "unsat", "narrower": "unsat"}
    found: dict[str, Request | None] = {"wider": None, "narrower": None}
    # A witness the evaluator confirms, found without the solver (most changes have one).
    if what == "permissions":
        found["wider"] = _concrete_witness(head, base, fixed_principal)
        found["narrower"] = _concrete_witness(base, head, fixed_principal)
    else:
        found["wider"] = _concrete_trust_witness(head, base)
        found["narrower"] = _concrete_trust_witness(base, head)
    statuses.update({name: "sat" for name, request in found.items() if request is not None})
    for part, base_content, head_content in zip(slices, _contents(base_docs, slices), _contents(head_docs, slices)):
        within = {"wider": head_content.within(base_content), "narrower": base_content.within(head_content)}
        if all(within[name] or found[name] is not None for name in within):
            continue  # no new witness can be in this slice: its statements say so without the solver
        try:
            encoding = _Encoding([*base_docs, *head_docs], actions=part)
            before, after = base_formula(encoding), head_formula(encoding)
            common = [*encoding.domain, *encoding.free_domain()]
            if fixed_principal is not None:
                common += encoding.fix_principal(fixed_principal)
        except Unsupported as exc:
            return Comparison(UNKNOWN, reason=f"outside what the reasoner encodes exactly: {exc}")
        for name, allowed_by, denied_by, yes, no in (("wider", head, base, after, before), ("narrower", base, head, before, after)):
            if found[name] is not None or within[name]:
                continue
            status, witness = direction(encoding, common, allowed_by, denied_by, yes, no)
            if status == "sat":
                found[name], statuses[name] = witness, "sat"
            elif status != "unsat":
                statuses[name] = status
        if found["wider"] is not None and found["narrower"] is not None:
            break
    wider, narrower = found["wider"], found["narrower"]
    undecided = {s for name, s in statuses.items() if found[name] is None} - {"unsat"}
    if differ:
        reason = "values or documents the plan cannot see differ: " + ", ".join(differ)
        if wider:
            result = Comparison(MIXED if narrower else WIDER, wider, narrower, differ, reason + " (wider whatever they are)")
        elif statuses["wider"] == "unsat" and (narrower or statuses["narrower"] == "unsat"):
            result = Comparison(NARROWER if narrower else EQUAL, None, narrower, differ,
                                reason + " (not wider whatever they are)")
        else:
            result = Comparison(NOT_COMPARABLE, None, None, differ, reason)
    elif undecided:
        result = Comparison(UNKNOWN, wider, narrower, reason="the solver could not decide within its budget, or its "
                            "witness depends on values the plan cannot see")
    elif wider and narrower:
        result = Comparison(MIXED, wider, narrower, assumed=tuple(sorted(assumed.items())))
    elif wider:
        result = Comparison(WIDER, wider, assumed=tuple(sorted(assumed.items())))
    elif narrower:
        result = Comparison(NARROWER, None, narrower, assumed=tuple(sorted(assumed.items())))
    else:
        result = Comparison(EQUAL, reason="the same access, written differently")
    if result.verdict != UNKNOWN:
        _VERDICTS[cache_key] = result
    return result


# --- witnesses tried without the solver -------------------------------------------------------

CONCRETE_ACTIONS = 8  # actions tried per statement value that has wildcards (or per NotAction statement)
CONCRETE_REQUESTS = 200  # requests tried in all, before the solver is asked


def _body(statement: Statement) -> tuple[Any, ...]:
    return (statement.effect, statement.action, statement.not_action, statement.resource, statement.not_resource,
            statement.principal, statement.not_principal, statement.conditions)


def _fill(pattern: Pattern) -> str | None:
    """A value a pattern matches: its wildcards as a name nobody writes (`example`); None with a variable."""
    out = []
    for token in pattern.tokens:
        if isinstance(token, str):
            out.append(token)
        elif isinstance(token, Wild):
            out.append("example" if token.char == "*" else "x")
        else:
            return None
    return "".join(out)


def _guess(condition: Condition) -> list[str] | None:
    """Values of a condition's key that likely meet it (None: leave the key out)."""
    if condition.operator == "Null":
        return None if any(str(v).lower() == "true" for v in condition.values) else ["example"]
    if condition.negated:
        return None
    values = [v for v in condition.values if isinstance(v, str)]
    if not values:
        return None
    if condition.family in (docs.STRING, docs.ARN_FAMILY):
        filled = [_fill(p) for p in condition.patterns if isinstance(p, Pattern)]
        return [f for f in filled if f is not None][:1] or None
    if condition.family == docs.IP:
        network = typed.network(values[0])
        return [str(network.network_address)] if network is not None else None
    if condition.family in (docs.NUMERIC, docs.DATE) and condition.positive.endswith(("LessThan", "GreaterThan")):
        return None  # the boundary value itself fails a strict comparison: the solver finds one
    return values[:1]


def _concrete_candidates(allowed_by: RoleModel, denied_by: RoleModel, principal: Principal | None) -> Iterable[Request]:
    """Requests built from the Allow statements one side has and the other has not as such (and, when
    their Denies or boundaries differ, from every Allow statement): an action each of their values
    names (a few of those a wildcard reaches, from AWS's service data), a resource each pattern
    matches, a context their conditions likely accept."""
    theirs = {_body(s) for d in denied_by.identity for s in d.statements}
    mine = [s for d in allowed_by.identity for s in d.statements if s.effect == docs.ALLOW]
    statements = [s for s in mine if _body(s) not in theirs]
    denies_differ = {_body(s) for d in allowed_by.identity for s in d.statements if s.effect == docs.DENY} != {
        b for b in theirs if b[0] == docs.DENY}
    boundaries_differ = (allowed_by.boundary.digest if allowed_by.boundary else None) != (
        denied_by.boundary.digest if denied_by.boundary else None)
    if denies_differ or boundaries_differ:
        statements += [s for s in mine if s not in statements]
    count = 0
    for statement in statements:
        names: list[str] = []
        if statement.not_action:
            from agent_iam.model.matching import action_matches

            excluded = tuple(a for a in statement.action if isinstance(a, str))
            names = [a for a in iam_actions.expand("*") if not any(action_matches(p, a) for p in excluded)][:CONCRETE_ACTIONS]
        else:
            for value in statement.action:
                if isinstance(value, str):
                    names += list(iam_actions.expand(value)[:CONCRETE_ACTIONS]) if any(c in value for c in "*?") else [value]
        resources: list[str] = []
        if statement.resource is None or statement.not_resource:
            resources = ["*"]
        else:
            resources = [f for f in (_fill(p) for p in statement.resource if isinstance(p, Pattern)) if f is not None]
        context: dict[str, list[str]] = {}
        for condition in statement.conditions:
            guess = _guess(condition)
            if guess is not None:
                context.setdefault(condition.key, guess)
        for name in dict.fromkeys(names):
            for resource in resources:
                for ctx in ([context, {}] if context else [{}]):
                    try:
                        yield Request(principal, name, resource, ctx)
                    except ValueError:
                        continue
                    count += 1
                    if count >= CONCRETE_REQUESTS:
                        return


def _principals_of(statement: Statement) -> list[str]:
    """Principals a trust statement's Principal names, as requests name them (a role of an account it
    names whole)."""
    out = []
    for listed in statement.principal or ():
        if not isinstance(listed.value, str):
            continue
        if listed.kind == docs.ANY or listed.value == "*":
            out.append("arn:aws:iam::123456789012:role/any")
        elif listed.kind == docs.AWS and listed.value.endswith(":root"):
            out += [listed.value.removesuffix("root") + "role/any", listed.value]  # any role of that account
        else:
            out.append(listed.value)
    return out


def _concrete_trust_witness(allowed_by: RoleModel, denied_by: RoleModel) -> Request | None:
    """A trust witness found without the solver: a principal a trust statement the other side lacks
    names, calling one of its actions with a context its conditions likely accept, that the evaluator
    confirms."""
    if allowed_by.trust is None or denied_by.trust is None:
        return None
    theirs = {_body(s) for s in denied_by.trust.statements}
    resource = ""  # the role itself (can_assume's default), as the solver's trust witnesses leave it
    tried = 0
    for statement in allowed_by.trust.statements:
        if statement.effect != docs.ALLOW or statement.not_action or statement.not_principal or _body(statement) in theirs:
            continue
        context: dict[str, list[str]] = {}
        for condition in statement.conditions:
            guess = _guess(condition)
            if guess is not None:
                context.setdefault(condition.key, guess)
        named = context.pop(PRINCIPAL_ARN, None)
        context.pop(PRINCIPAL_ACCOUNT, None)
        principals = named[:1] if named else _principals_of(statement)
        for who in principals:
            for action in (a for a in statement.action if isinstance(a, str) and not any(c in a for c in "*?")):
                try:
                    request = Request(who, action, resource, context)
                except ValueError:
                    continue
                tried += 1
                if can_assume(allowed_by, request).allowed is True and can_assume(denied_by, request).allowed is False:
                    return request
                if tried >= CONCRETE_REQUESTS:
                    return None
    return None


def _concrete_witness(allowed_by: RoleModel, denied_by: RoleModel, principal: Principal | None) -> Request | None:
    """A permissions witness found without the solver: a request built from the statements the
    allowing side added that the evaluator confirms (allowed by one side, denied by the other)."""
    for request in _concrete_candidates(allowed_by, denied_by, principal):
        if evaluate(allowed_by, request).allowed is True and evaluate(denied_by, request).allowed is False:
            return request
    return None


# A permissions comparison with more Action values than this is asked one service at a time: one
# question over every pattern of two large managed policies can take the solver minutes, one per
# service takes it milliseconds, and a service whose statements are the same on both sides is skipped.
SPLIT_ACTIONS = 40


def _slices(documents: Sequence[Document]) -> list[_Slice | None]:
    """The slices a permissions comparison is asked in: one per service the documents' Action values
    name, and one for every other action; a single whole question for small documents."""
    values = [v for d in documents for s in d.statements for v in s.action if isinstance(v, str)]
    services = sorted({s for s in map(_service_of, values) if s is not None})
    if len(values) <= SPLIT_ACTIONS or len(services) < 2:
        return [None]
    return [*(_Slice(s) for s in services), _Slice(None, tuple(services))]


@dataclass(frozen=True)
class _Content:
    """What of some documents can reach a slice's actions: statement bodies (each with only the Action
    values that may match the slice; one none of whose values can is left out) by effect, for the
    identity documents and the boundary (`bounded`: there is one, whatever it holds in the slice), and
    the unknown documents."""

    allows: frozenset[tuple[Any, ...]]
    denies: frozenset[tuple[Any, ...]]
    bounded: bool
    boundary_allows: frozenset[tuple[Any, ...]]
    boundary_denies: frozenset[tuple[Any, ...]]
    unknowns: frozenset[Any]

    def within(self, other: _Content) -> bool:
        """Whether these documents certainly allow no more than `other` in the slice: each Allow is
        within one of other's, each of other's Denies within one here, and the boundary within other's
        (sound, not complete: the solver answers the rest)."""
        if self.unknowns != other.unknowns:
            return False
        if not self.allows:
            return not any(kind != docs.BOUNDARY for kind, _ in self.unknowns)  # allows nothing it can see
        if not (_covered(self.allows, other.allows) and _covered(other.denies, self.denies)):
            return False
        if not other.bounded:
            return True
        return self.bounded and _covered(self.boundary_allows, other.boundary_allows) and \
            _covered(other.boundary_denies, self.boundary_denies)


@cache
def _glob_within(small: str, big: str) -> bool:
    """Whether every text the action pattern `small` matches, `big` matches too (lower-cased, `*` and
    `?`): `big` matches `small` read as text, where only a `*` of `big` may stand for a wildcard of
    `small` (sound; what it cannot show, the solver decides)."""

    @cache
    def fits(i: int, j: int) -> bool:
        if j == len(big):
            return i == len(small)
        if big[j] == "*":
            return fits(i, j + 1) or (i < len(small) and fits(i + 1, j))
        if i == len(small) or small[i] == "*":
            return False
        if small[i] == "?":
            return big[j] == "?" and fits(i + 1, j + 1)
        return big[j] in ("?", small[i]) and fits(i + 1, j + 1)

    return fits(0, 0)


def _disjoint(one: str, other: str) -> bool:
    """Whether two action patterns certainly match no action in common: they name different services."""
    first, second = _service_of(one), _service_of(other)
    return first is not None and second is not None and first != second


def _within_values(small: tuple[Any, ...], small_not: bool, big: tuple[Any, ...], big_not: bool) -> bool:
    """Whether the actions an Action (or NotAction) list reaches are among those another reaches."""
    if small_not:  # every action but `small`: only a NotAction that excludes no more covers it
        return big_not and set(big) <= set(small)
    if big_not:  # every action but `big`: each of ours must be none of those
        return all(isinstance(a, str) and all(isinstance(x, str) and _disjoint(a, x) for x in big) for a in small)
    return all(any(_glob_within(a, b) for b in big if isinstance(b, str)) if isinstance(a, str) else a in big for a in small)


def _resources_within(small: tuple[Any, ...] | None, small_not: bool, big: tuple[Any, ...] | None, big_not: bool) -> bool:
    if small is None or big is None:
        return small is big and small_not == big_not
    if small_not or big_not:
        return small_not and big_not and set(big) <= set(small)
    return set(small) <= set(big) or any(isinstance(p, Pattern) and p.text == "*" for p in big)


def _condition_within(mine: Condition, theirs: Condition) -> bool:
    """Whether a request that meets `mine` meets `theirs` (the same key and operator, fewer values
    allowed; for a negated operator, more excluded)."""
    if mine == theirs:
        return True
    if (mine.operator, mine.key, mine.if_exists, mine.set_operator) != (theirs.operator, theirs.key, theirs.if_exists,
                                                                          theirs.set_operator) or mine.set_operator:
        return False
    if mine.operator == "Null" or any(isinstance(v, Unknown) for v in (*mine.values, *theirs.values)):
        return False
    return set(theirs.values) <= set(mine.values) if mine.negated else set(mine.values) <= set(theirs.values)


def _body_within(small: tuple[Any, ...], big: tuple[Any, ...]) -> bool:
    """Whether a statement (body) reaches no request another does not, told from their parts."""
    effect, actions, not_action, resource, not_resource, principal, not_principal, conditions = small
    if (effect, principal, not_principal) != (big[0], big[5], big[6]):
        return False
    if not _within_values(actions, not_action, big[1], big[2]):
        return False
    if not _resources_within(resource, not_resource, big[3], big[4]):
        return False
    return all(any(_condition_within(mine, theirs) for mine in conditions) for theirs in big[7])


def _covered(small: frozenset[tuple[Any, ...]], big: frozenset[tuple[Any, ...]]) -> bool:
    """Whether each statement body of `small` is within one of `big` (sound, not complete)."""
    if small <= big:
        return True
    return all(any(_body_within(body, other) for other in big) for body in small - big)


def _contents(documents: Sequence[Document], slices: Sequence[_Slice | None]) -> list[_Content]:
    """`_Content` of `documents` for each slice; a value naming its service goes to that service's
    slice (or the other actions'), one with a wildcard in its service to every slice it may reach."""
    parts: list[tuple[set[Any], set[Any], set[Any], set[Any]]] = [(set(), set(), set(), set()) for _ in slices]
    named = {part.service: i for i, part in enumerate(slices) if part is not None and part.service is not None}
    rest = next((i for i, part in enumerate(slices) if part is None or part.service is None), None)
    unknowns: set[Any] = set()
    bounded = False
    for document in documents:
        kind = document.source.kind if document.source is not None else None
        if not document.known:
            unknowns.add((kind, document.unknown))
            continue
        bounded = bounded or kind == docs.BOUNDARY
        for s in document.statements:
            values: list[set[Any]] = [set() for _ in slices]
            for v in s.action:
                if isinstance(v, Unknown):
                    for found in values:
                        found.add(v)
                    continue
                service = _service_of(v)
                if service is not None:
                    index = named.get(service, rest)
                    if index is not None:
                        values[index].add(v.lower())
                else:
                    for index, part in enumerate(slices):
                        if part is None or part.admits(v):
                            values[index].add(v.lower())
            for index, found in enumerate(values):
                if not found and not s.not_action:
                    continue
                body = (s.effect, tuple(sorted(found, key=str)), s.not_action, s.resource, s.not_resource,
                        s.principal, s.not_principal, s.conditions)
                allows, denies, boundary_allows, boundary_denies = parts[index]
                if kind == docs.BOUNDARY:
                    (boundary_allows if s.effect == docs.ALLOW else boundary_denies).add(body)
                else:
                    (allows if s.effect == docs.ALLOW else denies).add(body)
    frozen = frozenset(unknowns)
    return [_Content(frozenset(a), frozenset(d), bounded, frozenset(ba), frozenset(bd), frozen) for a, d, ba, bd in parts]


# --- one request a narrowed role must keep -------------------------------------------------------

# Verdicts of `still_allows` (and UNKNOWN).
KEPT, LOST, NOT_GRANTED = "kept", "lost", "not-granted"


@dataclass(frozen=True)
class Kept:
    """`still_allows`'s answer: `kept` (head allows the request wherever base does), `lost` (with a
    witness base allows and head denies, checked by the evaluator), `not-granted` (base allows it
    under no value of what the request leaves open) or `unknown` (with the reason)."""

    verdict: str
    witness: Request | None = None
    reason: str = ""


def still_allows(
    base: RoleModel,
    head: RoleModel,
    request: Request,
    recorded: Callable[[str], bool] | None = None,
    any_resource: bool = False,
    budget_ms: int = DEFAULT_BUDGET_MS,
) -> Kept:
    """Whether head still allows a request that base allows, whatever the parts of the request that
    were not observed: a context key for which `recorded(key)` is false (None: every key is as the
    request says; a recorded key the request lacks was absent) and, with `any_resource`, the
    resource. The action, the principal (default: base's ARN) and the recorded keys are pinned.
    How `agent-iam tighten` shows a proposal keeps what CloudTrail saw a role do, when the event does
    not record every key the role's conditions read."""
    if request.principal is None and isinstance(base.arn, str):
        request = request.with_principal(base.arn)
    try:
        encoding = _Encoding([*base.permission_documents, *head.permission_documents], request)
        before, after = encoding.permissions(base), encoding.permissions(head)
        pinned = [*encoding.domain, encoding.action == _text(request.action.lower())]
        if not any_resource:
            pinned.append(encoding.resource == _text(request.resource))
        if request.principal is not None:
            pinned += encoding.fix_principal(request.principal)
        for name, key in encoding.keys.items():
            if recorded is None or name in request.context or recorded(name):
                pinned.append(encoding.fix_key(key, request.context.get(name)))
    except Unsupported as exc:
        return Kept(UNKNOWN, reason=f"outside what the reasoner encodes exactly: {exc}")
    status, _ = _solve([*pinned, before], budget_ms)
    if status == "unsat":
        return Kept(NOT_GRANTED)
    if status != "sat":
        return Kept(UNKNOWN, reason="the solver could not decide within its budget")
    status, model = _solve([*pinned, before, z3.Not(after)], budget_ms)
    if status == "unsat":
        return Kept(KEPT)
    if status != "sat":
        return Kept(UNKNOWN, reason="the solver could not decide within its budget")
    nicer_status, nicer = _solve([*pinned, before, z3.Not(after), *encoding.printable()], min(budget_ms, NICE_BUDGET_MS))
    model = nicer if nicer_status == "sat" else model
    assert model is not None
    try:
        witness = encoding.witness(model, request.principal)
    except ValueError:
        return Kept(UNKNOWN, reason="the solver's witness is no request the evaluator reads")
    values = {name: _read(model.eval(const, model_completion=True)) for name, const in encoding.unknown_texts.items()}
    if evaluate(base, witness, values).allowed is True and evaluate(head, witness, values).allowed is False:
        return Kept(LOST, witness)
    return Kept(UNKNOWN, reason="its witness depends on documents or values the plan cannot see")


# --- sensitive actions on every resource of their kind ------------------------------------------

# Keys that describe the resource (its tags) or the tags a request sets: fixed to a value no policy
# names, so a statement that requires a tag value is scoped by it and one that takes any value is not.
TAG_KEY = re.compile(r"^[a-z0-9-]+:(?:resourcetag|requesttag)/.+$")
FRESH_TAG = "\ue000"


@dataclass(frozen=True)
class WideGrant:
    """A sensitive action the role may call on every resource of its kind (`template`, AWS's ARN
    format), the statements that grant it so (document and number), the resource as written, and
    the unknown documents that could still deny or bound it."""

    action: str
    template: str
    resource: str
    granted_by: tuple[StatementRef, ...]
    depends_on: tuple[str, ...] = ()
    decided: bool = True  # False: the solver could not decide it in budget (reported, never dropped)


# A name nobody writes: private-use characters around every separator a name may hold, so `*-*`
# or `*/*` still match it (as `arns.covers_every_resource` reads them).
FRESH_NAME = FRESH_TAG + FRESH_TAG.join("-/:._+=,@" * 2) + FRESH_TAG
# A region and an account nobody names, shaped as the shortest real ones are (`us-east-1`: two letters,
# a word of four or more, a number; twelve characters), so a pattern every real region or account
# matches (`??-????*`, `????????????`) matches them too, and one some region misses (`*-1`) does not.
FRESH_REGION = FRESH_TAG * 2 + "-" + FRESH_TAG * 4 + "-" + FRESH_TAG
FRESH_ACCOUNT = FRESH_TAG * 12


def _instantiate(pattern: Pattern) -> str:
    """A resource a pattern matches, with a name nobody wrote where it has wildcards (no `:` within
    an ARN's first five parts)."""
    out = []
    for token, bounded in segments(pattern):
        if isinstance(token, str):
            out.append(token)
        elif isinstance(token, Wild):
            out.append(FRESH_TAG if bounded or token.char == "?" else FRESH_NAME)
        else:
            return ""
    return "".join(out)


def _scope_of(template: str, fields: Sequence[str]) -> list[str] | None:
    """The first five parts of a resource of the format `template` within an ARN pattern's parts: the
    format's own text where it has one (`arn`, the service), else the pattern's part with fresh
    characters for its wildcards; None when the pattern leaves a part the format fills empty."""
    parsed = arns.parse(template)
    if len(fields) != 6 or parsed is None:
        return None
    out = []
    for own, part in zip(("arn", parsed.partition, parsed.service, parsed.region, parsed.account), fields[:5]):
        if "${" not in own:
            out.append(own)
            continue
        filled = _instantiate_part(part)
        if not filled:
            return None  # a real resource of the format has this part
        out.append(filled)
    return out


def _instantiate_part(text: str, star: str = FRESH_TAG) -> str:
    """A part of an ARN pattern with each wildcard (and variable) filled with characters nobody writes."""
    return re.sub(r"\$\{[^}]*\}|[*?]", lambda m: FRESH_TAG if m.group(0) == "?" else star, text)


@cache
def _fresh_instance(template: str, partition: str | None, region: str | None, account: str | None) -> str:
    """A resource of the format `template` named by no document: the scope the pattern fixes
    (partition, region, account), fresh names elsewhere."""
    fields = template.split(":", 5)
    for index, given in zip((1, 3, 4), (partition, region, account)):
        if fields[index].startswith("${"):
            fields[index] = given if given else {1: "aws", 3: FRESH_REGION, 4: FRESH_ACCOUNT}[index]
    fields[5] = re.sub(r"\$\{[^}]*\}", FRESH_NAME, fields[5])
    return ":".join(fields)


@cache
def _format_pattern(template: str) -> Pattern:
    return docs.parse_pattern(re.sub(r"\$\{[^}]*\}", "*", template), wildcards=True, variables=False, arn=True)


@cache
def _templates(action: str) -> tuple[str, ...]:
    return tuple(fmt.template for fmt in arns.action_formats(action))


def _kind_instances(action: str, pattern: Pattern | None) -> tuple[tuple[str, str], ...]:
    """(template, resource) for each resource type of the action: a fresh instance of the type that
    the pattern matches (any, for NotResource). When the pattern reaches none of the types AWS's data
    lists for the action, the other types of the action's service count: the data keeps one record
    per action name, so where two APIs share a service prefix (`elasticloadbalancing:AddTags` of ELB
    and ELBv2: load balancers listed, listeners not) a grant on every listener is not missed."""
    out = []
    for template in _templates(action):
        resource = _instance(template, pattern)
        if resource is not None:
            out.append((template, resource))
    if not out and pattern is not None:
        for template in _service_templates(iam_actions.split(action)[0]):
            resource = _instance(template, pattern)
            if resource is not None:
                out.append((template, resource))
    return tuple(out)


@cache
def _service_templates(service: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(fmt.template for fmt in arns.formats() if fmt.service == service))


@cache
def _instance(template: str, pattern: Pattern | None) -> str | None:
    """A resource of the format `template` that no document names and `pattern` matches; None when
    the pattern reaches no resource of that format that way."""
    from agent_iam.model.matching import matches

    if pattern is None or pattern.text == "*":  # every resource of every kind: the format's own fresh one
        return _fresh_instance(template, None, None, None)
    fields = pattern.text.split(":", 5) if pattern.text.startswith("arn:") else []

    def fixed(index: int) -> str | None:
        value = fields[index] if index < len(fields) else None
        return value if value and not arns.has_wildcard(value) and "${" not in value else None

    candidates = [_fresh_instance(template, fixed(1), fixed(3), fixed(4))]
    if pattern is not None:
        candidates.append(_instantiate(pattern))
        scope = _scope_of(template, fields)
        if scope is not None:
            # The pattern's own scope (`????????????` for the account) filled with fresh characters,
            # with the format's resource part, then with the pattern's.
            fresh = arns.parse(_fresh_instance(template, None, None, None))
            if fresh is not None:
                candidates.append(":".join([*scope, fresh.resource]))
            candidates.append(":".join([*scope, _instantiate_part(fields[5], FRESH_NAME)]))
    for resource in candidates:
        if resource and matches(_format_pattern(template), resource) and (pattern is None or matches(pattern, resource)):
            return resource
    return None


@cache
def _granted(action_values: tuple[str, ...], not_action: bool) -> tuple[str, ...]:
    """The sensitive, scopable actions a statement's Action (or NotAction) grants."""
    if not_action:
        from agent_iam.model.matching import action_matches

        found = [a for a in iam_actions.expand("*") if not any(action_matches(p, a) for p in action_values)]
    else:
        found = sorted({a for p in action_values for a in iam_actions.expand(p)})
    return tuple(a for a in found if iam_actions.is_sensitive(a) and iam_actions.scopable(a))


def _simple_conditions(conditions: Sequence[Condition]) -> bool | None:
    """Whether conditions on keys the request leaves free hold in some context, told without the
    solver when each key has at most one operator besides Null, no unknown value, and variables
    only of keys no condition reads: every operator alone has a satisfying value (a pattern has an
    instance, a negated operator a value outside its list), so only Null's presence matters. None
    when that cannot be told so."""
    by_key: dict[str, list[Condition]] = {}
    for condition in conditions:
        if any(isinstance(v, Unknown) for v in condition.values):
            return None
        by_key.setdefault(condition.key, []).append(condition)
    for key, found in by_key.items():
        variables = {k for c in found for p in c.patterns if isinstance(p, Pattern) for k in p.variables}
        if variables & set(by_key):
            return None
        nulls = [c for c in found if c.operator == "Null"]
        others = [c for c in found if c.operator != "Null"]
        if len(others) > 1 or len(nulls) > 1 or (nulls and len(nulls[0].values) != 1):
            return None
        if nulls and others:
            must_be_absent = str(nulls[0].values[0]).lower() == "true"
            other = others[0]
            holds_when_absent = other.if_exists or other.set_operator == docs.FOR_ALL_VALUES or (
                other.negated and other.set_operator is None)
            if must_be_absent and not holds_when_absent:
                return False
    return True


_RESIDUAL = "residual"


def _partial(statement: Statement, request: Request) -> bool | tuple[Condition, ...] | str:
    """A statement evaluated on what the request fixes (action, resource, principal, the keys in its
    context): False when that already fails it, True when it matches whatever the rest of the
    context is, else the conditions on free keys it still depends on (`_RESIDUAL` when more than
    conditions are open: an unknown value, a variable of a free key in a resource pattern)."""
    from agent_iam.model.evaluate import condition_holds, statement_matches

    if any(isinstance(a, Unknown) for a in statement.action):
        return _RESIDUAL
    if statement.resource is not None and any(
        isinstance(p, Unknown) or any(k not in request.context for k in p.variables) for p in statement.resource
    ):
        return _RESIDUAL
    bare = Statement(statement.number, statement.sid, statement.effect, statement.action, statement.not_action,
                     statement.resource, statement.not_resource, statement.principal, statement.not_principal, ())
    head, _ = statement_matches(bare, request)
    if head is False:
        return False
    if head is None:
        return _RESIDUAL
    open_conditions = []
    for condition in statement.conditions:
        fixed = condition.key in request.context or TAG_KEY.match(condition.key)
        variables = [k for p in condition.patterns if isinstance(p, Pattern) for k in p.variables]
        if fixed and all(k in request.context for k in variables) and not any(isinstance(v, Unknown) for v in condition.values):
            if condition_holds(condition, request) is False:
                return False
        else:
            open_conditions.append(condition)
    return tuple(open_conditions) if open_conditions else True


WIDE_BUDGET_MS = 300
# wide_grants by content: (principal, identity digests, unknown documents, boundary digest) -> grants
# with statements as (document index, number, sid), so an attached and an inlined copy share them.
_WIDE: dict[tuple[Any, ...], tuple[tuple[str, str, str, tuple[tuple[int, int, str | None], ...], bool], ...]] = {}
_WIDE_CLASSES: dict[tuple[Any, ...], bool | None] = {}


def wide_grants(role: RoleModel, budget_ms: int = WIDE_BUDGET_MS) -> tuple[WideGrant, ...]:
    """The sensitive actions (`iam.actions.is_sensitive`, scopable) the role grants on every resource
    of their kind (a pattern `arns.covers_every_resource` accepts, or NotResource), through any of its
    identity documents, after its Denies and within its boundary, in some request context. The
    resource is one of the kind that no document names; tag keys (`...:ResourceTag/...`,
    `...:RequestTag/...`) hold a value no document names, so a tag condition that requires values
    scopes a grant and one any value meets does not. Unknown documents are listed in `depends_on`;
    a grant the solver could not decide in budget is listed with `decided=False`. Cached by content."""
    key = (
        role.arn if isinstance(role.arn, str) else None,
        tuple(d.digest for d in role.identity),
        role.boundary.digest if role.boundary is not None else None,
    )
    cached = _WIDE.get(key)
    if cached is None:
        grants = _wide_grants(role, budget_ms)
        index = {d.source: i for i, d in enumerate(role.identity)}
        cached = tuple(
            (g.action, g.template, g.resource, tuple((index[r.source], r.number, r.sid) for r in g.granted_by), g.decided)
            for g in grants
        )
        if all(g[4] for g in cached):
            _WIDE[key] = cached
    depends = tuple(f"{d.describe()} ({d.reason})" for d in role.permission_documents if not d.known)
    return tuple(
        WideGrant(action, template, shown, tuple(StatementRef(role.identity[i].source, n, sid) for i, n, sid in refs),
                  depends, decided)
        for action, template, shown, refs, decided in cached
    )


def _wide_grants(role: RoleModel, budget_ms: int) -> tuple[WideGrant, ...]:
    """`wide_grants`, computed."""
    principal = role.arn if isinstance(role.arn, str) else None
    candidates: dict[tuple[str, str], tuple[str, str, list[StatementRef]]] = {}
    known = tuple(d for d in role.identity if d.known)
    for document in known:
        for statement in document.statements:
            if statement.effect != docs.ALLOW or any(isinstance(a, Unknown) for a in statement.action):
                continue
            patterns: list[Pattern | None]
            if statement.not_resource:
                patterns = [None]
            else:
                patterns = [p for p in statement.resource or () if isinstance(p, Pattern) and arns.covers_every_resource(p.text)]
            if not patterns:
                continue
            ref = StatementRef(document.source, statement.number, statement.sid)
            for action in _granted(tuple(a for a in statement.action if isinstance(a, str)), statement.not_action):
                for pattern in patterns:
                    for template, resource in _kind_instances(action, pattern):
                        shown = pattern.text if pattern is not None else "NotResource " + ", ".join(
                            str(p) for p in statement.resource or ())
                        entry = candidates.setdefault((action, template), (shown, resource, []))
                        entry[2].append(ref)
    boundary = role.boundary if role.boundary is not None and role.boundary.known else None
    depends = tuple(f"{d.describe()} ({d.reason})" for d in role.permission_documents if not d.known)
    by_ref = {(d.source, s.number): s for d in known for s in d.statements}
    out: list[WideGrant] = []
    classes = _WIDE_CLASSES
    simple = boundary is None and not any(d.has_deny for d in known)
    simple_verdicts: dict[tuple[Any, ...], bool | None] = {}
    # A resource of the kind may carry each tag a statement reads (with a value no document names) or
    # not carry it: `IfExists`, `Null` and negated tag conditions hold on an untagged one. Every
    # combination of the tag keys involved is tried (up to MAX_TAG_KEYS keys; beyond, all present
    # and all absent).
    others = [s for d in known for s in d.statements if s.effect == docs.DENY]
    if boundary is not None:
        others += list(boundary.statements)
    other_keys = {c.key for s in others for c in s.conditions if TAG_KEY.match(c.key)}

    def variants(statement: Statement) -> list[tuple[dict[str, str], tuple[str, ...]]]:
        keys = sorted({c.key for c in statement.conditions if TAG_KEY.match(c.key)} | other_keys)
        if not keys:
            return [({}, ())]
        if len(keys) > MAX_TAG_KEYS:
            return [(dict.fromkeys(keys, FRESH_TAG), ()), ({}, tuple(keys))]
        out = []
        for mask in range(2 ** len(keys)):
            present = [k for i, k in enumerate(keys) if mask >> i & 1 == 0]
            out.append((dict.fromkeys(present, FRESH_TAG), tuple(k for k in keys if k not in present)))
        return out

    def decide_one(action: str, resource: str, ref: StatementRef, context: dict[str, str],
                   absent: tuple[str, ...]) -> bool | None:
        statement = by_ref[(ref.source, ref.number)]
        if simple:
            # No Deny, no boundary: a statement's verdict depends on the fresh resource and the
            # fixed context only, so it is decided once per statement, kind and tags.
            cache_key = ((ref.source, ref.number), resource, tuple(sorted(context)), absent)
            if cache_key not in simple_verdicts:
                request = Request(principal, action, resource, context)
                state = _partial(statement, request)
                verdict = state if isinstance(state, bool) else _simple_conditions(state) if state != _RESIDUAL else None
                if verdict is None and state is not False:
                    verdict = _wide_by_solver((statement, state), (), (), request, classes, budget_ms, absent)
                simple_verdicts[cache_key] = verdict
            return simple_verdicts[cache_key]
        request = Request(principal, action, resource, context)
        denies = [(s, _partial(s, request)) for d in known for s in d.statements if s.effect == docs.DENY]
        if any(state is True for _, state in denies):
            return False
        open_denies = tuple((s, state) for s, state in denies if state is not False)
        bounded: tuple[Any, ...] = ()
        if boundary is not None:
            allows_b = [(s, _partial(s, request)) for s in boundary.statements if s.effect == docs.ALLOW]
            denies_b = [(s, _partial(s, request)) for s in boundary.statements if s.effect == docs.DENY]
            if any(state is True for _, state in denies_b) or all(state is False for _, state in allows_b):
                return False
            inside = any(state is True for _, state in allows_b)
            bounded = (inside, () if inside else tuple(p for p in allows_b if p[1] is not False),
                       tuple(p for p in denies_b if p[1] is not False))
        state = _partial(statement, request)
        if state is False:
            return False
        verdict: bool | None = None
        if not open_denies and (not bounded or (bounded[0] and not bounded[2])) and state != _RESIDUAL:
            verdict = True if state is True else _simple_conditions(state)  # type: ignore[arg-type]
        if verdict is None:
            verdict = _wide_by_solver((statement, state), open_denies, bounded, request, classes, budget_ms, absent)
        return verdict

    for (action, template), (shown, resource, refs) in sorted(candidates.items()):
        granted_refs = []
        undecided = False
        for ref in dict.fromkeys(refs):
            combined: bool | None = False
            for context, absent in variants(by_ref[(ref.source, ref.number)]):
                verdict = decide_one(action, resource, ref, context, absent)
                combined = True if True in (combined, verdict) else None if None in (combined, verdict) else False
                if combined is True:
                    break
            if combined is not False:
                granted_refs.append(ref)
                undecided = undecided or combined is None
        if granted_refs:
            out.append(WideGrant(action, template, shown, tuple(granted_refs), depends, not undecided))
    return tuple(out)


MAX_TAG_KEYS = 6


def _wide_by_solver(
    granting: tuple[Statement, Any], open_denies: tuple[tuple[Statement, Any], ...], bounded: tuple[Any, ...],
    request: Request, classes: dict[tuple[Any, ...], bool | None], budget_ms: int, absent: tuple[str, ...] = (),
) -> bool | None:
    """Whether some context lets the granting statement match the request while no open Deny does
    and the boundary allows it: the solver on the statements `_partial` left open (their fixed parts
    already hold). Cached by those statements and what they left open."""
    inside, boundary_allows, boundary_denies = bounded if bounded else (True, (), ())
    involved = (granting, *open_denies, *boundary_allows, *boundary_denies)
    residual = any(state == _RESIDUAL for _, state in involved)
    key = (tuple(involved), len(open_denies), inside, len(boundary_allows), absent,
           tuple(sorted(request.context.items())) if any(TAG_KEY.match(k) for k in request.context) else (),
           (request.action, request.resource, request.principal) if residual else None)
    if key in classes:
        return classes[key]
    try:
        pseudo = docs.Document(tuple(s for s, _ in involved), "residual")
        fixed: dict[str, str | None] = {k: v[0] for k, v in request.context.items() if TAG_KEY.match(k)}
        fixed.update(dict.fromkeys(absent))  # tags the resource does not carry
        encoding = _Encoding([pseudo], fixed=fixed)
        parts = [encoding.statement(granting[0])]
        parts += [z3.Not(encoding.statement(s)) for s, _ in (*open_denies, *boundary_denies)]
        if not inside:
            parts.append(z3.Or(*(encoding.statement(s) for s, _ in boundary_allows)))
        constraints = [*encoding.domain, *encoding.fix_fixed(), *parts,
                       encoding.action == _text(request.action.lower()),
                       encoding.resource == _text(request.resource)]
        if request.principal is not None:
            constraints += encoding.fix_principal(request.principal)
        status, _ = _solve(constraints, budget_ms)
        verdict = True if status == "sat" else False if status == "unsat" else None
    except Unsupported:
        verdict = None
    classes[key] = verdict
    return verdict


# --- who outside the account can assume the role ------------------------------------------------


@dataclass(frozen=True)
class Assumer:
    """Principals outside the role's account a trust statement lets assume the role: the principal as
    written (`*`, `AWS: *`, another account's root or principal, an identity provider), the
    statement, the actions it allows, the conditions they must meet (typed), the principals a
    NotPrincipal leaves out, and a request by which such a principal assumes the role (checked
    with the evaluator; None when that depends on unknowns)."""

    principal: Principal
    statement: StatementRef
    actions: tuple[str, ...]
    conditions: tuple[Condition, ...]
    witness: Request | None = None
    excluded: tuple[Principal, ...] = ()
    account: str | None = None
    assumed: tuple[tuple[str, str], ...] = ()  # values the witness gives unknowns (a secret external ID)


def _outside(encoding: _Encoding, listed: Principal, own: str | None) -> list[z3.BoolRef] | None:
    """Constraints for a principal outside `own` that `listed` names (any principal of another
    account for `*` and an account's root; the principal itself when it is one), or None when it
    names none."""
    aws = encoding.pkind == _KINDS[docs.AWS]
    if listed.kind == docs.ANY or (listed.kind == docs.AWS and listed.value == "*"):
        return [aws, encoding.paccount != _text(own)] if own else [aws]
    if isinstance(listed.value, Unknown):
        return None
    if listed.kind == docs.AWS:
        account = arns.account_of(listed.value)
        if account is None or account == own:
            return None
        if re.fullmatch(r"arn:[^:]+:iam::\d{12}:root", listed.value):
            return [encoding.principal_match(listed)]
        try:
            from agent_iam.model.evaluate import principal_of

            return encoding.fix_principal(principal_of(listed))  # one principal: every part of its ARN pinned
        except ValueError:
            return None
    if listed.kind in (docs.FEDERATED, docs.CANONICAL_USER):
        return encoding.fix_principal(listed)
    return None


def external_assumers(role: RoleModel, budget_ms: int = DEFAULT_BUDGET_MS) -> tuple[Assumer, ...]:
    """Who outside the role's account its trust lets assume it (after the trust's Denies), and
    under which conditions: one `Assumer` per Allow statement and principal it names outside the
    account (AWS service principals act for the account and are not listed)."""
    trust = role.trust
    if trust is None or not trust.known:
        return ()
    out: list[Assumer] = []
    for statement in trust.statements:
        if statement.effect != docs.ALLOW or statement.principal is None:
            continue
        listed = statement.principal
        if statement.not_principal:
            listed, excluded = (Principal(docs.ANY, "*"),), statement.principal
        else:
            excluded = ()
        actions = tuple(str(a) for a in statement.action)
        for principal in listed:
            found = _assume_witness(role, statement, principal, budget_ms)
            if found is False:
                continue
            witness, assumed = found if isinstance(found, tuple) else (None, ())
            out.append(Assumer(
                principal, StatementRef(trust.source, statement.number, statement.sid), actions, statement.conditions,
                witness, tuple(excluded),
                arns.account_of(principal.value) if isinstance(principal.value, str) and principal.kind == docs.AWS else None,
                assumed,
            ))
    return tuple(out)


# A value nobody names, shaped as the key's real values are (every organization ID starts `o-`, so
# `o-*` pins nothing).
FRESH_VALUES = {"aws:principalorgid": "o-" + FRESH_TAG * 10}


def assumable_without(role: RoleModel, principal: Principal, keys: Sequence[str],
                      budget_ms: int = DEFAULT_BUDGET_MS) -> bool | None:
    """Whether `principal` (one principal, or an account's root: any of its principals) can assume the
    role when each of `keys` is absent from the request or holds a value no document names, through
    any statement of the trust and past all its Denies: whether those keys pin who gets in. False:
    every such request is refused (the trust requires values of them, in an Allow or a Deny); None:
    not decided, or the trust is not known."""
    trust = role.trust
    if trust is None or not trust.known:
        return None
    try:
        encoding = _Encoding((trust,))
        if re.fullmatch(r"arn:[^:]+:iam::\d{12}:root", str(principal.value)):
            who = [encoding.principal_match(principal)]
        else:
            from agent_iam.model.evaluate import principal_of

            who = encoding.fix_principal(principal_of(principal))
        constraints = [*encoding.domain, *encoding.free_domain(), *who, encoding.trust(role)]
        constraints += [z3.Or(encoding.fix_key(encoding.keys[k.lower()], []),
                              encoding.fix_key(encoding.keys[k.lower()], [FRESH_VALUES.get(k.lower(), FRESH_NAME)]))
                        for k in keys if k.lower() in encoding.keys]
        if isinstance(role.arn, str):
            constraints.append(encoding.resource == _text(role.arn))
    except (Unsupported, ValueError):
        return None
    status, _ = _solve(constraints, budget_ms)
    return True if status == "sat" else False if status == "unsat" else None


# Operators whose first value, as written, is a value that meets them (no wildcard, no variable).
_LITERAL_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"})


# What a wildcard of a `*Like` condition value becomes in a witness built from the statement's values.
WITNESS_FILL = "x"
# What an unknown condition value (a `secure:` external ID) is assumed to be in such a witness.
SECRET_STAND_IN = "the-configured-secret"


def _direct_witness(role: RoleModel, statement: Statement, principal: Principal
                    ) -> tuple[Request, tuple[tuple[str, str], ...]] | None:
    """A request built from the statement's own values (the principal it names, an action it names,
    each condition's first value, a `*Like` pattern's wildcards filled, an unknown value given a
    stand-in it is then assumed to hold), kept only when the evaluator says it assumes the role: most
    trusts (a vendor with an external ID, secret or not, a principal pattern, an OIDC subject) are
    answered so, without the solver. None when the statement needs the solver (negations, numbers,
    several values of one key)."""
    if principal.kind not in (docs.AWS, docs.FEDERATED) or not isinstance(principal.value, str):
        return None
    if arns.has_wildcard(principal.value) or statement.not_action or not isinstance(role.arn, str):
        return None
    action = next((a for a in statement.action if isinstance(a, str) and not arns.has_wildcard(a)), None)
    if action is None:
        return None
    context: dict[str, str] = {}
    assumed: dict[str, str] = {}
    for condition in statement.conditions:
        if condition.operator not in _LITERAL_OPERATORS or condition.if_exists or condition.set_operator:
            return None
        value = condition.values[0] if condition.values else None
        if isinstance(value, Unknown):
            assumed[value.name] = SECRET_STAND_IN
            value = SECRET_STAND_IN
        if not isinstance(value, str) or "${" in value:
            return None
        if arns.has_wildcard(value):
            if not condition.operator.endswith("Like"):
                return None
            value = value.replace("*", WITNESS_FILL).replace("?", WITNESS_FILL)
        if context.setdefault(condition.key, value) != value:
            return None
    who: Principal | str = principal
    named = context.pop(PRINCIPAL_ARN, None)
    if named is not None:  # the principal the pattern names, within the listed account (its root)
        root = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root", principal.value)
        if root is None or arns.account_of(named) != root.group(1):
            return None
        who = named
    try:
        request = Request(who, action, role.arn, context)
    except ValueError:
        return None
    if can_assume(role, request, assumed).allowed is not True:
        return None
    return request, tuple(sorted(assumed.items()))


def _assume_witness(
    role: RoleModel, statement: Statement, principal: Principal, budget_ms: int
) -> tuple[Request, tuple[tuple[str, str], ...]] | bool | None:
    """A request by which a principal `principal` names, outside the role's account, assumes the role
    through `statement` (checked with the evaluator, with the values it gives unknowns such as a
    secret external ID); False when `principal` names no one outside the account or no request
    can; None when that is not decided."""
    assert role.trust is not None
    if principal.kind == docs.SERVICE:
        return False  # as `_outside` answers: an AWS service acts for the account
    if principal.kind == docs.AWS and isinstance(principal.value, str) and not arns.has_wildcard(principal.value):
        account = arns.account_of(principal.value)
        if account is None or account == role.account:
            return False  # as `_outside` answers: no one outside the account
    direct = _direct_witness(role, statement, principal)
    if direct is not None:
        return direct
    try:
        encoding = _Encoding((role.trust,))
        who = _outside(encoding, principal, role.account)
        if who is None:
            return False
        constraints = [*encoding.domain, *encoding.free_domain(), *who, encoding.statement(statement), encoding.trust(role)]
        if isinstance(role.arn, str):
            constraints.append(encoding.resource == _text(role.arn))
    except Unsupported:
        return None
    status, model = _solve_nicely(encoding, constraints, budget_ms)
    if status == "unsat":
        return False
    if status != "sat" or model is None:
        return None
    try:
        witness = encoding.witness(model, None)
    except ValueError:
        return None
    assumed = {name: _read(model.eval(const, model_completion=True)) for name, const in encoding.unknown_texts.items()}
    if can_assume(role, witness, assumed).allowed is not True:
        return None
    return witness, tuple(sorted(assumed.items()))


__all__ = [
    "Assumer",
    "Comparison",
    "EQUAL",
    "MIXED",
    "NARROWER",
    "NOT_COMPARABLE",
    "RoleComparison",
    "UNKNOWN",
    "WIDER",
    "WideGrant",
    "allows",
    "assumable_without",
    "assumes",
    "compare",
    "external_assumers",
    "wide_grants",
]
