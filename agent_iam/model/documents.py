"""Typed IAM policy documents, parsed once: the one reading of a document's JSON.

A document (a mapping or its JSON text) becomes a `Document` of `Statement`s, each numbered from 1
(the one numbering every consumer shows). Principals are normalised (`"*"`, a bare 12-digit
account is its root ARN), condition operators are split into base name, `IfExists`, set prefix and
negation, condition keys are lower-cased and every condition value is text (IAM compares `true`,
`True` and `1` as text). Patterns (Resource, `StringLike`, `ArnLike`, ...) are split into literal
text, `*`/`?` wildcards and policy variables (`${aws:username}`, `${*}`), so the evaluator and the
solver read the same tokens.

A value the plan cannot know (the engine's unknown sentinels, a `secure:` value shown as
`[secret]`) is an `Unknown` symbol, named stably by where it sits, so the same unknown on both
sides of a diff is the same symbol. Parsed statements are cached by content digest.

Malformed input raises `ValueError` naming the document and the path of the bad part
(`Statement[2].Condition.StringEquals`) and the value received.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from agent_iam.iam.resource_types import UNKNOWN_SENTINELS
from agent_iam.iam.checks import REDACTED

# Kinds of document source.
TRUST = "trust"
INLINE = "inline"
CUSTOMER_MANAGED = "customer-managed"
AWS_MANAGED = "aws-managed"
ATTACHED_UNKNOWN = "attached-unknown"
BOUNDARY = "boundary"
SOURCE_KINDS = (TRUST, INLINE, CUSTOMER_MANAGED, AWS_MANAGED, ATTACHED_UNKNOWN, BOUNDARY)

ALLOW, DENY = "Allow", "Deny"

# Principal kinds; `ANY` is the bare `"*"` principal (everyone, signed or not).
ANY = "*"
AWS, SERVICE, FEDERATED, CANONICAL_USER = "AWS", "Service", "Federated", "CanonicalUser"
PRINCIPAL_KINDS = (AWS, SERVICE, FEDERATED, CANONICAL_USER)

# The value the offline plan shows for a `secure:` config value, and the engine's "not known until the
# update runs" sentinels: their homes are agent_iam.iam.checks and agent_iam.iam.resource_types.
# Pulumi's marker of a secret value in serialized state: {SIG_KEY: SECRET_SIG, "value"|"ciphertext": ...}
# (pulumi.runtime.rpc's _special_sig_key and _special_secret_sig, written out so the model needs no Pulumi).
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass(frozen=True)
class Unknown:
    """A value the plan cannot know; two unknowns with the same name are the same value."""

    name: str

    def __str__(self) -> str:
        return f"<unknown {self.name}>"


Value = str | Unknown


def is_unknown_value(value: Any) -> bool:
    """The engine's unknown sentinel, `[secret]`, or a Pulumi secret wrapper (its value is not shown)."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value in UNKNOWN_SENTINELS or value == REDACTED
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def unknown_name(value: Any, where: str) -> str:
    """The stable name of an unknown: the ciphertext's digest when a secret carries one, else `where`
    (the document and the path of the value)."""
    if isinstance(value, Mapping) and isinstance(value.get("ciphertext"), str):
        return "secret:" + hashlib.sha256(value["ciphertext"].encode()).hexdigest()[:16]
    return where


# --- patterns ------------------------------------------------------------------------


@dataclass(frozen=True)
class Var:
    """A policy variable in a pattern: the value of request key `key` (lower-case), or `default`
    (`${aws:username, 'none'}`) when the request has no such key."""

    key: str
    default: str | None = None


STAR, QMARK = "*", "?"
Token = str | Var  # literal text, STAR, QMARK (as singleton tokens `Wild`), or a variable


@dataclass(frozen=True)
class Wild:
    """A wildcard in a pattern: `*` (any run of characters) or `?` (one character)."""

    char: str


@dataclass(frozen=True)
class Pattern:
    """A value split into literal text, wildcards and policy variables. `arn` patterns match ARN
    parts separately (a wildcard before the fifth colon stays within its part)."""

    text: str
    tokens: tuple[str | Wild | Var, ...]
    arn: bool = False

    @cached_property
    def variables(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.tokens if isinstance(t, Var))

    @cached_property
    def has_wildcard(self) -> bool:
        return any(isinstance(t, Wild) for t in self.tokens)

    def __str__(self) -> str:
        return self.text


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")


def parse_pattern(text: str, *, wildcards: bool, variables: bool, arn: bool = False) -> Pattern:
    """Split `text` into tokens. With `wildcards`, `*` and `?` match runs and single characters; with
    `variables`, `${key}` is a policy variable and `${*}`, `${?}`, `${$}` the literal characters."""
    return _parse_pattern(text, wildcards, variables, arn and text.startswith("arn:"))


@lru_cache(maxsize=200_000)
def _parse_pattern(text: str, wildcards: bool, variables: bool, arn: bool) -> Pattern:
    if not (variables and "${" in text):
        if not wildcards or ("*" not in text and "?" not in text):
            return Pattern(text, (text,) if text else (), arn)
        parts = re.split(r"([*?])", text)
        return Pattern(text, tuple(Wild(p) if p in ("*", "?") else p for p in parts if p), arn)
    tokens: list[str | Wild | Var] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            tokens.append("".join(literal))
            literal.clear()

    index = 0
    while index < len(text):
        char = text[index]
        if variables and text.startswith("${", index):
            match = _VARIABLE.match(text, index)
            if match is None:
                raise ValueError(f"an unclosed policy variable in {text!r}")
            body = match.group(1)
            index = match.end()
            if body in ("*", "?", "$"):
                literal.append(body)
                continue
            default = _DEFAULT.match(body)
            key, fallback = (default.group(1), default.group(2)) if default else (body.strip(), None)
            if not key or any(c.isspace() for c in key):
                raise ValueError(f"not a policy variable: ${{{body}}} in {text!r}")
            flush()
            tokens.append(Var(key.lower(), fallback))
            continue
        if wildcards and char in "*?":
            flush()
            tokens.append(Wild(char))
        else:
            literal.append(char)
        index += 1
    flush()
    return Pattern(text, tuple(tokens), arn)


# --- principals, conditions, statements ------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """One principal: kind `AWS`, `Service`, `Federated`, `CanonicalUser`, or `*` (everyone)."""

    kind: str
    value: Value

    def __str__(self) -> str:
        return "*" if self.kind == ANY else f"{self.kind}: {self.value}"


_ACCOUNT = re.compile(r"^\d{12}$")

# Condition operators IAM knows, by lower-cased name -> (canonical name, family, negated).
STRING, NUMERIC, DATE, BOOL, BINARY, IP, ARN_FAMILY, NULL = (
    "String", "Numeric", "Date", "Bool", "Binary", "Ip", "Arn", "Null",
)
_OPERATORS: dict[str, tuple[str, str, bool]] = {
    name.lower(): (name, family, negated)
    for name, family, negated in (
        ("StringEquals", STRING, False),
        ("StringNotEquals", STRING, True),
        ("StringEqualsIgnoreCase", STRING, False),
        ("StringNotEqualsIgnoreCase", STRING, True),
        ("StringLike", STRING, False),
        ("StringNotLike", STRING, True),
        ("NumericEquals", NUMERIC, False),
        ("NumericNotEquals", NUMERIC, True),
        ("NumericLessThan", NUMERIC, False),
        ("NumericLessThanEquals", NUMERIC, False),
        ("NumericGreaterThan", NUMERIC, False),
        ("NumericGreaterThanEquals", NUMERIC, False),
        ("DateEquals", DATE, False),
        ("DateNotEquals", DATE, True),
        ("DateLessThan", DATE, False),
        ("DateLessThanEquals", DATE, False),
        ("DateGreaterThan", DATE, False),
        ("DateGreaterThanEquals", DATE, False),
        ("Bool", BOOL, False),
        ("BinaryEquals", BINARY, False),
        ("IpAddress", IP, False),
        ("NotIpAddress", IP, True),
        ("ArnEquals", ARN_FAMILY, False),
        ("ArnLike", ARN_FAMILY, False),
        ("ArnNotEquals", ARN_FAMILY, True),
        ("ArnNotLike", ARN_FAMILY, True),
        ("Null", NULL, False),
    )
}
# The positive operator a negated one is the complement of.
POSITIVE_OF = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
FOR_ANY_VALUE, FOR_ALL_VALUES = "ForAnyValue", "ForAllValues"


@dataclass(frozen=True)
class Condition:
    """One key under one operator. `operator` is the base name (`StringLike`), `positive` the operator
    it negates when `negated` (`StringNotLike` -> `StringLike`); `values` are ORed; `patterns` are the
    values as `Pattern`s for the operators that take wildcards or policy variables."""

    operator: str
    key: str  # lower-cased
    values: tuple[Value, ...]
    if_exists: bool = False
    set_operator: str | None = None  # ForAnyValue / ForAllValues
    written: str = ""  # the operator as the document writes it
    key_written: str = ""
    patterns: tuple[Pattern | Unknown, ...] = ()

    @property
    def family(self) -> str:
        return _OPERATORS[self.operator.lower()][1]

    @property
    def negated(self) -> bool:
        return _OPERATORS[self.operator.lower()][2]

    @property
    def positive(self) -> str:
        return POSITIVE_OF.get(self.operator, self.operator)

    def __str__(self) -> str:
        shown = [str(v) for v in self.values]
        return f"{self.written or self.operator} {self.key_written or self.key} {shown if len(shown) != 1 else shown[0]!r}"


@dataclass(frozen=True)
class Statement:
    """One statement. `action`/`resource`/`principal` hold the Action/Resource/Principal values, or the
    NotAction/NotResource/NotPrincipal values when `not_action`/`not_resource`/`not_principal`;
    `resource` is None when the statement has neither (a trust policy), `principal` None when it has
    no principal element (an identity policy)."""

    number: int  # 1-based position in the document
    sid: str | None
    effect: str
    action: tuple[Value, ...]
    not_action: bool
    resource: tuple[Pattern | Unknown, ...] | None
    not_resource: bool
    principal: tuple[Principal, ...] | None
    not_principal: bool
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """`statement "Sid"` or `statement #3`: how reports name it."""
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.number}"

    @property
    def unknowns(self) -> tuple[Unknown, ...]:
        found: list[Unknown] = [v for v in self.action if isinstance(v, Unknown)]
        found += [v for v in self.resource or () if isinstance(v, Unknown)]
        found += [p.value for p in self.principal or () if isinstance(p.value, Unknown)]
        found += [v for c in self.conditions for v in c.values if isinstance(v, Unknown)]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Source:
    """Where a document comes from: its kind (`trust`, `inline`, `customer-managed`, `aws-managed`,
    `attached-unknown`, `boundary`), its name (a policy name, an ARN), its ARN when it has one, and
    the role it belongs to as (account, name)."""

    kind: str
    name: str
    arn: str | None = None
    role: tuple[str | None, str] | None = None

    def describe(self) -> str:
        words = {
            TRUST: "trust policy",
            INLINE: "inline policy",
            CUSTOMER_MANAGED: "customer managed policy",
            AWS_MANAGED: "AWS managed policy",
            ATTACHED_UNKNOWN: "customer managed policy",  # not AWS's (those are in the dataset), not this stack's
            BOUNDARY: "permissions boundary",
        }[self.kind]
        return words if self.kind == TRUST else f"{words} {self.name!r}"


@dataclass(frozen=True)
class Document:
    """A parsed document with its source. `known` is False when the plan cannot see its content (an
    attached policy outside the stack, a boundary not in the dataset, a document only known after
    deployment, or one IAM would refuse): then it has no statements and `unknown` names it."""

    statements: tuple[Statement, ...]
    digest: str
    source: Source | None = None
    known: bool = True
    reason: str = ""  # why the content is unknown
    version: str | None = None

    @property
    def unknown(self) -> Unknown | None:
        """The symbol that stands for the whole document when its content is unknown."""
        if self.known:
            return None
        where = self.source.arn or self.source.name if self.source else self.digest
        return Unknown(f"document:{where}")

    @property
    def unknowns(self) -> tuple[Unknown, ...]:
        """Every unknown this document depends on (itself, or the values inside it)."""
        if not self.known:
            return (self.unknown,)  # type: ignore[return-value]
        return tuple(dict.fromkeys(u for s in self.statements for u in s.unknowns))

    @property
    def has_deny(self) -> bool:
        return any(s.effect == DENY for s in self.statements)

    def statement(self, number: int) -> Statement:
        return self.statements[number - 1]

    def with_source(self, source: Source) -> Document:
        return Document(self.statements, self.digest, source, self.known, self.reason, self.version)

    def describe(self) -> str:
        return self.source.describe() if self.source else f"document {self.digest}"


def unknown_document(source: Source, reason: str) -> Document:
    """A document whose content the plan cannot see."""
    digest = "unknown:" + hashlib.sha256(f"{source.kind}|{source.arn or source.name}".encode()).hexdigest()[:16]
    return Document((), digest, source, known=False, reason=reason)


# --- parsing -------------------------------------------------------------------------

_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}
)
_CACHE: dict[tuple[str, str, str], tuple[str | None, tuple[Statement, ...]]] = {}
_CACHE_LIMIT = 50_000
# JSON text of a document without unknowns (and the partition) -> (digest, version, statements)
_TEXTS: dict[tuple[str, str], tuple[str, str | None, tuple[Statement, ...]]] = {}


def digest_of(document: Mapping[str, Any]) -> str:
    """The content digest of a document (key order and white space do not count)."""
    return _digest_and_text(document)[0]


def _digest_and_text(document: Mapping[str, Any]) -> tuple[str, str]:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24], text


def _may_hold_unknown(text: str) -> bool:
    """Whether a document's JSON text may hold an unknown value (exactly checked when it may)."""
    return REDACTED in text or SECRET_SIG_KEY in text or any(s in text for s in UNKNOWN_SENTINELS)


def _contains_unknown(value: Any) -> bool:
    if is_unknown_value(value):
        return True
    if isinstance(value, Mapping):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_unknown(v) for v in value)
    return False


def parse_document(
    value: Mapping[str, Any] | str,
    *,
    name: str = "policy document",
    source: Source | None = None,
    partition: str = "aws",
    unknown_prefix: str | None = None,
) -> Document:
    """A policy document (a mapping or its JSON text) as a `Document`; `name` is how errors name it.

    `partition` is that of a bare account ID in a Principal (`123456789012` -> `arn:<partition>:iam::
    123456789012:root`). Unknown values inside are named `<unknown_prefix or name>:<path>`.
    """
    text_key = None
    if isinstance(value, str):
        if is_unknown_value(value):
            raise ValueError(f"{name}: the document is not known until deployment")
        text_key = (value, partition)
        known = _TEXTS.get(text_key)
        if known is not None:  # the same JSON text without unknowns: neither read nor hashed again
            return Document(known[2], known[0], source, version=known[1])
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{name}: not JSON ({exc})") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: a policy document is a JSON object, got {type(value).__name__}: {value!r:.80}")
    digest, canonical = _digest_and_text(value)
    prefix = unknown_prefix or name
    has_unknown = _may_hold_unknown(canonical) and _contains_unknown(value)
    key = (digest, partition, prefix if has_unknown else "")
    cached = _CACHE.get(key)
    if cached is None:
        cached = _parse(value, name, partition, prefix)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = cached
    version, statements = cached
    if text_key is not None and not has_unknown:
        if len(_TEXTS) >= _CACHE_LIMIT:
            _TEXTS.clear()
        _TEXTS[text_key] = (digest, version, statements)
    return Document(statements, digest, source, version=version)


def _parse(document: Mapping[str, Any], name: str, partition: str, prefix: str) -> tuple[str | None, tuple[Statement, ...]]:
    version = document.get("Version")
    if version is not None and not isinstance(version, str):
        raise ValueError(f"{name}: Version: expected text, got {version!r}")
    if "Statement" not in document:
        raise ValueError(f"{name}: no Statement")
    raw = document["Statement"]
    items = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list):
        raise ValueError(f"{name}: Statement: expected a list or an object, got {raw!r:.80}")
    statements = tuple(
        _statement(item, number, f"Statement[{number}]", name, partition, prefix)
        for number, item in enumerate(items, start=1)
    )
    return version, statements


def _fail(name: str, path: str, message: str, value: Any) -> ValueError:
    return ValueError(f"{name}: {path}: {message}, got {value!r:.120}")


def _values(value: Any, path: str, name: str, prefix: str, allow_empty: bool = False) -> tuple[Value, ...]:
    """A string or list of strings (numbers and booleans as IAM reads them: as text)."""
    items = value if isinstance(value, list) else [value]
    if not items and not allow_empty:
        raise _fail(name, path, "an empty list", value)
    out: list[Value] = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]" if isinstance(value, list) else path
        if is_unknown_value(item):
            out.append(Unknown(unknown_name(item, f"{prefix}:{where}")))
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float)):
            out.append(json.dumps(item))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise _fail(name, where, "expected text", item)
    return tuple(out)


def _principals(value: Any, path: str, name: str, partition: str, prefix: str) -> tuple[Principal, ...]:
    if value == "*":
        return (Principal(ANY, "*"),)
    if not isinstance(value, Mapping):
        raise _fail(name, path, 'expected "*" or an object such as {"AWS": ...}', value)
    out: list[Principal] = []
    for kind, values in value.items():
        canonical = {k.lower(): k for k in PRINCIPAL_KINDS}.get(str(kind).lower())
        if canonical is None:
            raise _fail(name, f"{path}.{kind}", f"not a principal kind ({', '.join(PRINCIPAL_KINDS)})", kind)
        for item in _values(values, f"{path}.{kind}", name, prefix):
            if canonical == AWS and isinstance(item, str) and _ACCOUNT.match(item):
                item = f"arn:{partition}:iam::{item}:root"
            out.append(Principal(canonical, item))
    if not out:
        raise _fail(name, path, "no principal", value)
    return tuple(out)


_PATTERN_OPERATORS = {  # operator -> (wildcards, variables, arn)
    "StringEquals": (False, True, False),
    "StringNotEquals": (False, True, False),
    "StringEqualsIgnoreCase": (False, True, False),
    "StringNotEqualsIgnoreCase": (False, True, False),
    "StringLike": (True, True, False),
    "StringNotLike": (True, True, False),
    "ArnEquals": (True, True, True),
    "ArnLike": (True, True, True),
    "ArnNotEquals": (True, True, True),
    "ArnNotLike": (True, True, True),
}


def _operator(written: str, path: str, name: str) -> tuple[str, str | None, bool]:
    """`ForAnyValue:StringLikeIfExists` -> ("StringLike", "ForAnyValue", True)."""
    set_operator = None
    rest = written
    if ":" in written:
        head, rest = written.split(":", 1)
        set_operator = {"foranyvalue": FOR_ANY_VALUE, "forallvalues": FOR_ALL_VALUES}.get(head.lower())
        if set_operator is None:
            raise _fail(name, path, "not a condition operator (a prefix must be ForAnyValue: or ForAllValues:)", written)
    if_exists = rest.lower().endswith("ifexists")
    base = rest[: -len("IfExists")] if if_exists else rest
    known = _OPERATORS.get(base.lower())
    if known is None:
        raise _fail(name, path, "not a condition operator", written)
    if known[0] == "Null" and (if_exists or set_operator):
        raise _fail(name, path, "Null takes no IfExists and no ForAnyValue/ForAllValues", written)
    return known[0], set_operator, if_exists


def parse_conditions(block: Mapping[str, Any], *, name: str = "policy document") -> tuple[Condition, ...]:
    """A statement's Condition block as written (`{"StringEquals": {"aws:SourceAccount": "1"}}`) as typed
    conditions, read as `parse_document` reads it in a statement; `name` is how errors name it."""
    return _conditions(block, "Condition", name, name)


def _conditions(value: Any, path: str, name: str, prefix: str) -> tuple[Condition, ...]:
    if not isinstance(value, Mapping):
        raise _fail(name, path, "expected an object of operators", value)
    out: list[Condition] = []
    for written, block in value.items():
        where = f"{path}.{written}"
        operator, set_operator, if_exists = _operator(str(written), where, name)
        if not isinstance(block, Mapping) or not block:
            raise _fail(name, where, "expected an object of condition keys and values", block)
        for key, raw in block.items():
            key_path = f"{where}.{key}"
            if not isinstance(key, str) or not key:
                raise _fail(name, where, "a condition key is text", key)
            values = _values(raw, key_path, name, prefix)
            patterns: tuple[Pattern | Unknown, ...] = ()
            if operator in _PATTERN_OPERATORS:
                wild, variables, arn = _PATTERN_OPERATORS[operator]
                try:
                    patterns = tuple(
                        v if isinstance(v, Unknown) else parse_pattern(v, wildcards=wild, variables=variables, arn=arn)
                        for v in values
                    )
                except ValueError as exc:
                    raise ValueError(f"{name}: {key_path}: {exc}") from None
            _check_values(operator, values, key_path, name)
            out.append(
                Condition(operator, key.lower(), values, if_exists, set_operator, str(written), key, patterns)
            )
    return tuple(out)


def _check_values(operator: str, values: tuple[Value, ...], path: str, name: str) -> None:
    """Values IAM would refuse for the operator (a number that is not one, a date, a CIDR)."""
    from agent_iam.model import values as typed  # the one reading of typed values

    family = _OPERATORS[operator.lower()][1]
    for value in values:
        if isinstance(value, Unknown):
            continue
        if family == NUMERIC and typed.number(value) is None:
            raise _fail(name, path, "not a number", value)
        if family == DATE and typed.date(value) is None:
            raise _fail(name, path, "not a date (ISO 8601 or epoch seconds)", value)
        if family == IP and typed.network(value) is None:
            raise _fail(name, path, "not an IP address or CIDR", value)
        if family == NULL and value.lower() not in ("true", "false"):
            raise _fail(name, path, "Null takes true or false", value)


def _statement(item: Any, number: int, path: str, name: str, partition: str, prefix: str) -> Statement:
    if not isinstance(item, Mapping):
        raise _fail(name, path, "a statement is an object", item)
    extra = sorted(set(map(str, item)) - _STATEMENT_KEYS)
    if extra:
        raise _fail(name, f"{path}.{extra[0]}", "not a statement element", extra[0])
    effect = item.get("Effect")
    if effect not in (ALLOW, DENY):
        raise _fail(name, f"{path}.Effect", "expected Allow or Deny", effect)
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _fail(name, f"{path}.Sid", "expected text", sid)
    if ("Action" in item) == ("NotAction" in item):
        raise _fail(name, path, "a statement needs exactly one of Action or NotAction", sorted(item))
    action_key = "Action" if "Action" in item else "NotAction"
    action = _values(item[action_key], f"{path}.{action_key}", name, prefix)
    if "Resource" in item and "NotResource" in item:
        raise _fail(name, path, "a statement takes Resource or NotResource, not both", sorted(item))
    resource: tuple[Pattern | Unknown, ...] | None = None
    resource_key = "Resource" if "Resource" in item else "NotResource" if "NotResource" in item else None
    if resource_key:
        try:
            resource = tuple(
                v if isinstance(v, Unknown) else parse_pattern(v, wildcards=True, variables=True, arn=True)
                for v in _values(item[resource_key], f"{path}.{resource_key}", name, prefix)
            )
        except ValueError as exc:
            if str(exc).startswith(name):
                raise
            raise ValueError(f"{name}: {path}.{resource_key}: {exc}") from None
    if "Principal" in item and "NotPrincipal" in item:
        raise _fail(name, path, "a statement takes Principal or NotPrincipal, not both", sorted(item))
    principal_key = "Principal" if "Principal" in item else "NotPrincipal" if "NotPrincipal" in item else None
    principal = (
        _principals(item[principal_key], f"{path}.{principal_key}", name, partition, prefix) if principal_key else None
    )
    conditions = _conditions(item["Condition"], f"{path}.Condition", name, prefix) if "Condition" in item else ()
    return Statement(
        number=number,
        sid=sid or None,
        effect=effect,
        action=action,
        not_action=action_key == "NotAction",
        resource=resource,
        not_resource=resource_key == "NotResource",
        principal=principal,
        not_principal=principal_key == "NotPrincipal",
        conditions=conditions,
    )


def require_shape(document: Document, kind: str, name: str) -> None:
    """What IAM refuses for the kind: an identity policy with a Principal or without a Resource, a
    trust policy without a Principal."""
    for statement in document.statements:
        path = f"Statement[{statement.number}]"
        if kind == TRUST:
            if statement.principal is None:
                raise ValueError(f"{name}: {path}: a trust statement needs Principal or NotPrincipal")
        else:
            if statement.principal is not None:
                raise ValueError(f"{name}: {path}: an identity policy takes no Principal")
            if statement.resource is None:
                raise ValueError(f"{name}: {path}: an identity policy statement needs Resource or NotResource")


def clear_cache() -> None:
    _CACHE.clear()
    _TEXTS.clear()


__all__ = [
    "ALLOW",
    "ANY",
    "AWS",
    "AWS_MANAGED",
    "ATTACHED_UNKNOWN",
    "BOUNDARY",
    "CANONICAL_USER",
    "CUSTOMER_MANAGED",
    "Condition",
    "DENY",
    "Document",
    "FEDERATED",
    "INLINE",
    "Pattern",
    "Principal",
    "SERVICE",
    "Source",
    "Statement",
    "TRUST",
    "Unknown",
    "Value",
    "Var",
    "Wild",
    "digest_of",
    "is_unknown_value",
    "parse_document",
    "parse_pattern",
    "require_shape",
    "unknown_document",
]
