"""The acceptance key: where a finding is, and the `acceptedFindings` item that names that place.

One home for the shape a reviewed exception takes (docs/guardrails.md, "Reviewed exceptions"): the
plan prints it as `acceptAs`, the stack file's model reads it, the plan's judge and the policy pack
match it. Matching uses only a finding's place (the role's account and name, the document's name
as the plan shows it, the statements' 1-based numbers and Sids), never how the finding was
computed, so the guardrail rules, the IAM validator, the peer scanner and any later source of
findings are accepted alike. Plain Python: the policy pack bundles this module.

A key is `check` and where:
- `sid`: a statement with a Sid;
- `document` + `statement`: a statement without one (its 1-based number);
- `document` + `statements`: a finding across statements, each named by its Sid, else its number;
- `document` alone: a whole document (an attached AWS managed policy, whose statements AWS renumbers
  with its versions; a document-wide finding such as a size limit);
- nothing: a finding about the role itself (its name, path, boundary, limits);
- and `role` (the role's kind, `task`, or its name) when the entry makes several roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TRUST_DOCUMENT = "trust"  # the name a role's trust policy goes by in keys
KEY_FIELDS = ("check", "role", "document", "sid", "statement", "statements")
MIN_REASON = 10  # characters of an acceptance's reason: a review in words, not a placeholder


def reason_problem(reason: Any) -> str | None:
    """Why an acceptance's reason is not one; None when it is."""
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON:
        return f"say why the finding is accepted (at least {MIN_REASON} characters): a reviewer reads it in the plan"
    return None


@dataclass(frozen=True, order=True)
class RoleKey:
    """A role's identity: its account and name (the same name in two accounts is two roles)."""

    account: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.name!r} in account {self.account}" if self.account else repr(self.name)


@dataclass(frozen=True)
class Place:
    """Where a finding is. `statements` are 1-based and sorted, `sids` their Sids (None: none);
    `whole`: the document is addressed as a whole (an attached AWS managed policy); `primary` is the
    statement an older `{check, sid}` acceptance names for a finding across statements."""

    role: RoleKey | None
    document: str | None = None
    statements: tuple[int, ...] = ()
    sids: tuple[str | None, ...] = ()
    whole: bool = False
    primary: int | None = None

    def sid_of(self, number: int) -> str | None:
        return self.sids[self.statements.index(number)] if number in self.statements else None

    def number_of(self, ref: int | str) -> int | None:
        """The statement a key's reference names: a number of this place, or the Sid of one."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            return ref if ref in self.statements else None
        return next((n for n, sid in zip(self.statements, self.sids) if sid is not None and sid == ref), None)

    @property
    def refs(self) -> tuple[int | str, ...]:
        """Each statement as a key names it: its Sid, else its number."""
        return tuple(sid or number for number, sid in zip(self.statements, self.sids))

    def describe(self) -> str:
        """`statement #3 of inline policy 'x'`-like words for messages (1-based, as everywhere)."""
        if self.document is None:
            return "the role itself"
        if self.whole:
            return f"AWS managed policy {self.document!r}"
        doc = "the trust policy" if self.document == TRUST_DOCUMENT else f"policy {self.document!r}"
        if not self.statements:
            return doc
        shown = ", ".join(f"{sid!r} (#{n})" if sid else f"#{n}" for n, sid in zip(self.statements, self.sids))
        return f"{'statement' if len(self.statements) == 1 else 'statements'} {shown} of {doc}"


def role_kind(label: str) -> str:
    """A role's kind from its component's label: `task role` -> `task`, `Pod Identity role` -> `pod-identity`."""
    kind = label.strip().lower()
    if kind.endswith(" role"):
        kind = kind[: -len(" role")]
    return kind.replace(" ", "-") or "role"


@dataclass(frozen=True)
class Key:
    """An `acceptedFindings` item without its reason."""

    check: str
    role: str | None = None
    document: str | None = None
    sid: str | None = None
    statement: int | None = None
    statements: tuple[int | str, ...] = ()

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Key:
        statements = item.get("statements") or ()
        return cls(
            check=str(item["check"]),
            role=item.get("role") or None,
            document=item.get("document") or None,
            sid=item.get("sid") or None,
            statement=item.get("statement") or None,
            statements=tuple(statements) if isinstance(statements, (list, tuple)) else (statements,),
        )

    def problem(self) -> str | None:
        """Why the fields do not make one place; None when they do."""
        if self.sid is not None and (self.statement is not None or self.statements):
            return "name the statement once: sid, statement or statements"
        if self.statement is not None and self.statements:
            return "give statement (one) or statements (several), not both"
        if (self.statement is not None or self.statements) and not self.document:
            return "a statement number needs the document it is in (document: <name as the plan shows it>)"
        if self.statement is not None and (isinstance(self.statement, bool) or self.statement < 1):
            return f"statements are numbered from 1, not {self.statement!r}"
        numbers = [s for s in self.statements if isinstance(s, int)]
        if any(isinstance(s, bool) or s < 1 for s in numbers):
            return "statements are numbered from 1"
        if len(set(self.statements)) != len(self.statements):
            return "each statement once in statements"
        if self.statements and len(self.statements) < 2:
            return "statements names several statements; for one, use statement or sid"
        return None

    def identity(self) -> tuple[Any, ...]:
        return (self.check, self.role, self.document, self.sid, self.statement, tuple(sorted(map(str, self.statements))))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check}
        for name in ("role", "document", "sid", "statement"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.statements:
            out["statements"] = list(self.statements)
        return out

    def text(self) -> str:
        """The key as YAML flow text, for messages: `{check: x, document: y, statement: 3}`."""
        return flow(self.to_dict())

    def matches(self, check: str, place: Place, role_kind: str | None = None) -> bool:
        """Whether this key names `check` at `place` (`role_kind`: the place's role's kind in its entry)."""
        if check != self.check:
            return False
        if self.role is not None and place.role is not None and self.role not in (role_kind, place.role.name):
            return False
        if self.document is not None and self.document != place.document:
            return False
        if self.sid is not None:
            if place.whole and self.sid == place.document:  # the older `sid: <AWS managed policy name>`
                return True
            if len(place.statements) == 1:
                return not place.whole and place.sids[0] == self.sid
            return place.primary is not None and place.sid_of(place.primary) == self.sid
        if self.statement is not None:
            return not place.whole and place.statements == (self.statement,)
        if self.statements:
            if place.whole:
                return False
            numbers = [place.number_of(ref) for ref in self.statements]
            return None not in numbers and sorted(numbers) == list(place.statements)  # type: ignore[type-var]
        if self.document is not None:
            return place.whole or not place.statements
        return place.document is None


def accept_as(check: str, place: Place, role: str | None = None, sid_unique: bool = True) -> Key:
    """The key that names `check` at `place`: `role` when the entry makes several roles; the Sid when
    the statement has one (with the document when `sid_unique` is False: another document of the role
    has a statement with that Sid); else the document and the statement numbers."""
    if place.document is None:
        return Key(check, role)
    if place.whole or not place.statements:
        return Key(check, role, place.document)
    if len(place.statements) == 1:
        sid = place.sids[0]
        if sid:
            return Key(check, role, None if sid_unique else place.document, sid)
        return Key(check, role, place.document, statement=place.statements[0])
    return Key(check, role, place.document, statements=place.refs)


def flow(value: Any) -> str:
    """A key (or list) as one line of YAML flow text, quoting only what YAML would misread."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    plain = (
        text
        and all(c.isalnum() or c in "-_./@" for c in text)
        and not text[0].isdigit()
        and text.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "y", "n", "~")
    )
    return text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def distinct_documents(places: Iterable[Place]) -> list[tuple[RoleKey | None, str | None]]:
    """The (role, document) pairs a set of places spans, in order."""
    return list(dict.fromkeys((p.role, p.document) for p in places))
