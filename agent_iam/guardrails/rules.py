"""Security guardrails over IAM resources, as plain data: one module, no Pulumi, no cloud.

A rule looks at a `ResourceView` (type, logical name, props as registered: camelCase keys,
JSON documents as strings) and a stack `Context`, and yields messages; `evaluate` turns them
into `Violation`s at the level the stack sets for each rule. The offline plan and the
pulumi-policy pack both call this module, so a reviewer and a security team see the same text.

Two role tags are explicit, reviewed exemptions (their value is the reason, never empty):

* `agent-iam:trust-exemption`: the role may trust another account without `sts:ExternalId`,
  `aws:PrincipalArn` or `aws:PrincipalOrgID` (rule `cross-account-trust-condition`).
* `agent-iam:oidc-sub-wildcard`: the role's OIDC trust may match `<issuer>:sub` with
  `StringLike` wildcards (rule `oidc-trust-conditions`).

Everything else is accepted per statement, from the stack file (`acceptedFindings`): a rule
reports the place it objects to (the document, the statement's Sid and 1-based number), and
`accept` marks the violations an acceptance covers. What a policy means is judged with
`agent_iam.iam` (ARN formats, access levels, the documents of AWS managed policies), never by how it
is spelled; what a role can do is the one model's answer (`agent_iam.model`: every document it gets,
after its Denies, within its boundary), read by the rules on effective access below.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from agent_iam.iam import actions as iam_actions
from agent_iam.iam import arns, issuers, managed_policies
from agent_iam.iam.resource_types import (  # noqa: F401  (UNKNOWN_SENTINELS: read through this module too)
    GROUP_POLICY,
    POLICY,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    UNKNOWN_SENTINELS,
    USER_POLICY,
)
from agent_iam.iam.tags import OIDC_SUB_WILDCARD_TAG, TRUST_EXEMPTION_TAG
from agent_iam.iam.trusts import ECS_TASKS_SERVICE
from agent_iam.iam.limits import (
    IAM_NAME_RE,
    IAM_PATH_RE,
    MANAGED_POLICY_SIZE,
    PATH_MAX,
    ROLE_NAME_MAX,
    IamLimits,
    minified_size,
)
from agent_iam.guardrails.acceptance import TRUST_DOCUMENT, Key, Place, RoleKey
from agent_iam.model.documents import AWS_MANAGED as AWS_MANAGED_SOURCE
from agent_iam.model.documents import INLINE as INLINE_SOURCE
from agent_iam.model.documents import Document, Pattern, Source, Statement
from agent_iam.model.roles import RoleModel

ADVISORY, MANDATORY, DISABLED = "advisory", "mandatory", "disabled"
LEVELS = (ADVISORY, MANDATORY, DISABLED)




class _Unknown:
    """A value that is not known yet; rules skip what they cannot see rather than guess."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


def _is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), with plain dicts (nearly every value) answered without the ABC's check."""
    return type(value) is dict or isinstance(value, Mapping)


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in UNKNOWN_SENTINELS)


# --- inputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceView:
    """One resource as registered: Pulumi type, logical name, props, and its account when known."""

    type: str
    name: str
    props: Mapping[str, Any]
    account: str | None = None
    urn: str | None = None
    # Documents parsed from this view's JSON texts, keyed by the text itself: every rule reads the
    # same trust and policy texts, so each is parsed once per view (rules only read documents).
    _parsed: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def document(self, value: Any) -> dict[str, Any] | None:
        """`parse_document(value)` for a value of this view; a JSON text is parsed once."""
        if not isinstance(value, str):
            return parse_document(value)
        try:
            parsed = self._parsed[value]
        except KeyError:
            parsed = self._parsed[value] = parse_document(value)
        return dict(parsed) if parsed is not None else None

    def get(self, key: str) -> Any:
        value = self.props.get(key)
        return None if is_unknown(value) else value

    @property
    def physical_name(self) -> str:
        name = self.get("name")
        return name if isinstance(name, str) and name else self.name

    def tag(self, key: str) -> str:
        tags = self.get("tags")
        value = tags.get(key) if _is_mapping(tags) else None
        return value.strip() if isinstance(value, str) and not is_unknown(value) else ""

    def describe(self) -> str:
        kind = {ROLE: "role", ROLE_POLICY: "inline policy", POLICY: "managed policy"}.get(self.type, self.type)
        return f"{kind} {self.physical_name!r}"


@dataclass(frozen=True)
class Context:
    """What the rules know about the stack, and how strictly each rule is enforced."""

    account_id: str | None = None  # the stack's own account; None: unknown
    # Boundaries a role may carry: None: any (not an admin policy); a tuple: only these.
    boundary_arns: tuple[str, ...] | None = None
    boundary_required: bool = False  # every role carries one of `boundary_arns`
    limits: IamLimits = IamLimits()  # the account's quotas (raisable ones); fixed limits are iam.limits'
    enforcement: str = MANDATORY
    rules: Mapping[str, str] = field(default_factory=dict)  # per-rule level overrides

    def level(self, rule: str) -> str:
        return self.rules.get(rule, self.enforcement)


@dataclass(frozen=True)
class Hit:
    """What a rule found, with where it is: the document (its name as the plan shows it: a policy's
    name, `trust`, an attached AWS managed policy's name) and the statement (its Sid, and its 1-based
    number), so a reviewed acceptance can name exactly that place (`guardrails/acceptance.py`)."""

    message: str
    sid: str | None = None
    statement: int | None = None  # 1-based
    document: str | None = None
    whole: bool = False  # the document as a whole (an attached AWS managed policy)
    level: str | None = None  # a level below the rule's (ADVISORY: what the plan cannot see, said)
    actions: tuple[str, ...] = ()  # the actions it is about (a wide grant's), when the rule names them


@dataclass(frozen=True)
class Violation:
    rule: str
    resource_type: str
    resource_name: str
    message: str
    level: str
    sid: str | None = None  # the statement's Sid (an AWS managed policy's name)
    role: str | None = None  # the IAM role the resource belongs to, when it can be told
    accepted: str | None = None  # the reason of the stack file's acceptance that covers it
    statement: int | None = None  # the statement's 1-based number in its document
    document: str | None = None  # the document's name as the plan shows it (`trust` for a trust policy)
    account: str | None = None  # the role's account, when the rule knows it (the effective-access rules)
    whole: bool = False  # about the document as a whole (an attached AWS managed policy)
    actions: tuple[str, ...] = field(default=(), compare=False)  # the actions it is about, when the rule names them

    @property
    def blocking(self) -> bool:
        return self.level == MANDATORY and not self.accepted

    def to_dict(self) -> dict[str, str]:
        out = {
            "rule": self.rule,
            "level": self.level,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "message": self.message,
        }
        if self.sid:
            out["sid"] = self.sid
        if self.document:
            out["document"] = self.document
        if self.statement:
            out["statement"] = self.statement
        if self.role:
            out["role"] = self.role
        if self.accepted:
            out["accepted"] = self.accepted
        return out


# --- documents ---------------------------------------------------------------------


def parse_document(value: Any) -> dict[str, Any] | None:
    """A policy document from a prop (JSON text or a mapping); None when unknown or not a document."""
    if value is None or is_unknown(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return dict(value) if _is_mapping(value) else None


def statements(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    value = doc.get("Statement", [])
    items = [value] if _is_mapping(value) else list(value) if isinstance(value, list) else []
    return [dict(s) for s in items if _is_mapping(s)]


def strings(value: Any) -> list[str]:
    if value is None or is_unknown(value):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def allow_statements(doc: Mapping[str, Any] | None) -> list[tuple[int, dict[str, Any]]]:
    """(index in the document, statement) for every Allow statement: what the rules inspect."""
    return [(index, statement) for index, statement in enumerate(statements(doc)) if allows(statement)]


def label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else f"statement #{index + 1}"


def trust_document(resource: ResourceView) -> dict[str, Any] | None:
    return resource.document(resource.props.get("assumeRolePolicy")) if resource.type == ROLE else None


def identity_documents(resource: ResourceView) -> list[tuple[str, dict[str, Any]]]:
    """(what, document) for every identity policy a resource carries."""
    return [(what, doc) for _, what, doc in named_identity_documents(resource)]


def named_identity_documents(resource: ResourceView) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, what, document) for every identity policy a resource carries: the policy's name as the
    plan shows it (a reviewed acceptance names it), and its description in messages."""
    docs: list[tuple[str, str, dict[str, Any]]] = []
    if resource.type in (ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY):
        doc = resource.document(resource.props.get("policy"))
        if doc is not None:
            docs.append((resource.physical_name, resource.describe(), doc))
    elif resource.type == ROLE:
        for inline in resource.get("inlinePolicies") or []:
            if _is_mapping(inline):
                doc = resource.document(inline.get("policy"))
                if doc is not None:
                    docs.append((str(inline.get("name")), f"{resource.describe()} inline policy {inline.get('name')!r}", doc))
    return docs


# --- principals and conditions -----------------------------------------------------

def principal_values(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """Principal as {kind: [values]}; `"*"` is {"*": ["*"]}."""
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return {"*": [principal]} if principal == "*" else {"AWS": [principal]}
    if _is_mapping(principal):
        return {str(kind): strings(values) for kind, values in principal.items()}
    return {}


def account_of_principal(value: str) -> str | None:
    """The account of an AWS principal (`123456789012`, an iam/sts ARN); None when it cannot be told."""
    if arns.ACCOUNT_ID_RE.fullmatch(value):
        return value
    parsed = arns.parse(value)
    if parsed is None or parsed.service not in ("iam", "sts") or not arns.ACCOUNT_ID_RE.fullmatch(parsed.account):
        return None
    return parsed.account


def account_of_arn(value: Any) -> str | None:
    """The 12-digit account of an ARN; None when unknown, not an ARN, or not an account (`aws`)."""
    account = None if is_unknown(value) else arns.account_of(value)
    return account if account and arns.ACCOUNT_ID_RE.fullmatch(account) else None


def role_account(resource: ResourceView, context: Context) -> str | None:
    """The account a role lives in: its ARN, else the account of its provider, else the stack's."""
    return account_of_arn(resource.props.get("arn")) or resource.account or context.account_id


# Operators that make a key required and matched: no `IfExists` (absent key passes), no `Not...`,
# no `ForAllValues:` (an absent multi-valued key matches vacuously).
POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
)


def condition_keys(statement: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """{lower-case key: {operator: [values]}} over the statement's Condition block."""
    keys: dict[str, dict[str, list[str]]] = {}
    condition = statement.get("Condition")
    if not _is_mapping(condition):
        return keys
    for operator, block in condition.items():
        if not _is_mapping(block):
            continue
        for key, values in block.items():
            keys.setdefault(str(key).lower(), {})[str(operator)] = strings(values)
    return keys


def actions_of(statement: Mapping[str, Any]) -> list[str]:
    return strings(statement.get("Action"))


def covers(patterns: Sequence[str], action: str) -> bool:
    """Whether IAM action patterns (`*`, `?` wildcards, case-insensitive) match `action`."""
    return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)


def granted(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement grants `action` (Action matches it, or NotAction does not)."""
    if "NotAction" in statement:
        return not covers(strings(statement.get("NotAction")), action)
    return covers(actions_of(statement), action)


# --- rules -------------------------------------------------------------------------

ResourceCheck = Callable[[ResourceView, Context], Iterable[str]]
StackCheck = Callable[[Sequence[ResourceView], Context], Iterable["Located"]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: ResourceCheck | StackCheck
    scope: str = "resource"  # "resource": one resource at a time; "stack": needs every resource


RULES: dict[str, Rule] = {}


def rule(name: str, description: str, scope: str = "resource") -> Callable[[Callable], Callable]:
    def register(check: Callable) -> Callable:
        RULES[name] = Rule(name, description, check, scope)
        return check

    return register


def _sid(statement: Mapping[str, Any]) -> str | None:
    sid = statement.get("Sid")
    return sid if isinstance(sid, str) and sid else None


def _on(statement: Mapping[str, Any], index: int, document: str | None) -> tuple[str | None, int, str | None]:
    """A Hit's place: (Sid, 1-based number, document name) of the statement at `index`."""
    return _sid(statement), index + 1, document


def _accept_hint(rule_name: str, sid: str | None, number: int, document: str | None) -> str:
    """How to accept a statement's finding: its Sid, else its document and 1-based number."""
    where = f"sid: {sid}" if sid else f"document: {document}, statement: {number}"
    return f"or accept it in the entry with acceptedFindings: [{{check: {rule_name}, {where}, reason: <why>}}]"


@rule("no-wildcard-principal", "No trust statement lets a wildcard or the whole world assume a role.")
def no_wildcard_principal(resource: ResourceView, context: Context) -> Iterator[Hit]:
    for index, statement in allow_statements(trust_document(resource)):
        where = f"{resource.describe()}: trust {label(statement, index)}"
        for kind, values in principal_values(statement).items():
            for value in values:
                if "*" in value or "?" in value:
                    shown = "*" if kind == "*" else f"{kind}: {value}"
                    yield Hit(f"{where} trusts a wildcard principal ({shown}); name the exact principal", *_on(statement, index, TRUST_DOCUMENT))


@rule(
    "trust-statement-shape",
    "No trust statement uses NotAction or NotPrincipal with Allow (each grants everything it does not list).",
)
def trust_statement_shape(resource: ResourceView, context: Context) -> Iterator[Hit]:
    for index, statement in allow_statements(trust_document(resource)):
        where = f"{resource.describe()}: trust {label(statement, index)}"
        if "NotPrincipal" in statement:
            yield Hit(f"{where} uses NotPrincipal with Allow, which lets every other principal assume the role", *_on(statement, index, TRUST_DOCUMENT))
        if "NotAction" in statement:
            yield Hit(
                f"{where} uses NotAction with Allow, which grants every other STS action (AssumeRole, "
                f"AssumeRoleWithWebIdentity, ...); name the actions",
                *_on(statement, index, TRUST_DOCUMENT),
            )


CROSS_ACCOUNT_KEYS = ("sts:ExternalId", "aws:PrincipalArn", "aws:PrincipalOrgID")
LIKE_OPERATORS = frozenset({"stringlike", "arnlike"})
_ANY_ACCOUNT = "000000000000"


def matches_any_value(key: str, operator: str, value: str) -> bool:
    """Whether a condition value is satisfied by any request: a `*Like` pattern that names nothing
    (`*`, `o-*`, `arn:aws:iam::*:*`, an ARN pattern covering every principal of an account)."""
    if operator.lower() not in LIKE_OPERATORS or not arns.has_wildcard(value):
        return False
    key = key.lower()
    if key in ("aws:principalarn", "aws:sourcearn", "aws:sourceidentity"):
        parsed = arns.parse(value)
        if parsed is None:
            return not any(c.isalnum() for c in value)
        if arns.has_wildcard(parsed.account):
            value = str(dataclasses.replace(parsed, account=_ANY_ACCOUNT))
        name = parsed.resource.split("/", 1)[-1]
        # `role/*`, `*`: any principal. A pattern with some fixed text (`role/*-*`) is a weak pin,
        # judged by principal-pattern-specific.
        return arns.covers_every_resource(value) and not name.strip("*?/")
    rest = re.sub(r"^[a-z]{1,3}-", "", value)  # `o-`, `ou-`, `r-`: the fixed prefix of an ID
    return not any(c.isalnum() for c in rest)


def pinned_by(statement: Mapping[str, Any], key: str, operators: Iterable[str] = POSITIVE_OPERATORS) -> list[str]:
    """The operators under which `key` is pinned: required, and to values that not every request has
    (a list of values is OR: one value that matches anything unpins the key)."""
    allowed = {o.lower() for o in operators}
    found = condition_keys(statement).get(key.lower(), {})
    return [
        op
        for op, values in found.items()
        if op.lower() in allowed and values and not any(matches_any_value(key, op, v) for v in values)
    ]


@rule(
    "cross-account-trust-condition",
    "A trust to another AWS account is pinned with sts:ExternalId, aws:PrincipalArn or aws:PrincipalOrgID "
    "(a pattern any value matches is no pin).",
)
def cross_account_trust_condition(resource: ResourceView, context: Context) -> Iterator[Hit]:
    doc = trust_document(resource)
    if doc is None or resource.tag(TRUST_EXEMPTION_TAG):
        return
    own = role_account(resource, context)
    for index, statement in allow_statements(doc):
        others = []
        for value in principal_values(statement).get("AWS", []):
            if value == "*":
                continue  # no-wildcard-principal's finding
            account = account_of_principal(value)
            if own is None or account is None or account != own:
                others.append((value, account))
        if not others or any(pinned_by(statement, key) for key in CROSS_ACCOUNT_KEYS):
            continue
        witness = _unpinned_request(resource, doc, index, own)
        if witness is False:
            continue  # a Deny of the trust refuses every such request without the pins
        who = ", ".join(value for value, _ in others)
        whose = "an account that is not the role's own" if own else "an account that cannot be told to be the role's own"
        unpinned = [
            f"{key} {op} {v!r}"
            for key in CROSS_ACCOUNT_KEYS
            for op, values in condition_keys(statement).get(key.lower(), {}).items()
            for v in values
            if matches_any_value(key, op, v)
        ]
        any_value = f" ({', '.join(unpinned)} matches any value)" if unpinned else ""
        example = f" (e.g. {witness})" if isinstance(witness, str) else ""
        yield Hit(
            f"{resource.describe()}: trust {label(statement, index)} lets {who} ({whose}) assume the role with no "
            f"{', '.join(CROSS_ACCOUNT_KEYS)} condition that pins it{any_value} (StringEquals/StringLike/ArnEquals/"
            f"ArnLike, no IfExists){example}; add one, or tag the role {TRUST_EXEMPTION_TAG}=<reason> after review",
            *_on(statement, index, TRUST_DOCUMENT),
        )


def _unpinned_request(resource: ResourceView, doc: Mapping[str, Any], index: int, own: str | None) -> str | bool | None:
    """Asked of the one model (the whole trust, its Denies included): a request by a principal of the
    statement outside the role's account that assumes the role with none of the pinning keys, in words; False when the reasoner shows every
    such request is refused (a Deny requires the external ID: it pins the role); None when that cannot
    be told (the finding stands)."""
    from agent_iam.model import documents as mdocs
    from agent_iam.model import solver
    from agent_iam.model.evaluate import Request, can_assume, principal_of

    name = resource.physical_name
    arn = resource.get("arn")
    if not isinstance(arn, str):
        arn = f"arn:aws:iam::{own}:role{resource.get('path') or '/'}{name}" if own else None
    try:
        trust = mdocs.parse_document(doc, source=Source(mdocs.TRUST, TRUST_DOCUMENT, arn, (own, name)))
    except ValueError:
        return None
    if arn is None:
        return None
    model = RoleModel((own, name), arn, trust)
    statement = trust.statement(index + 1)
    action = next((a for a in statement.action if isinstance(a, str) and not arns.has_wildcard(a)), None)
    pins = {k.lower() for k in CROSS_ACCOUNT_KEYS}
    context: dict[str, str] = {}
    for condition in statement.conditions:
        value = condition.values[0] if condition.values else None
        if condition.key in pins or not isinstance(value, str) or condition.negated or arns.has_wildcard(value):
            continue
        context.setdefault(condition.key, value)
    if action is None or statement.not_action:
        return None
    outside = [p for p in statement.principal or () if p.kind == mdocs.AWS and isinstance(p.value, str)
               and p.value != "*" and (own is None or arns.account_of(p.value) != own)]
    if not outside or statement.not_principal:
        return None
    try:
        listed = [principal_of(p) for p in outside]  # an AWS principal that is no ARN (a unique ID): not told
        requests = [Request(p, action, arn, context) for p in listed]
    except ValueError:
        return None
    for request in requests:
        if can_assume(model, request).allowed is True:
            return f"{request.principal.value} can call {action} with none of them"  # type: ignore[union-attr]
    unpinnable = ("sts:ExternalId", "aws:PrincipalOrgID")  # aws:PrincipalArn follows from the principal
    answers = [solver.assumable_without(model, p, unpinnable) for p in listed]
    return False if all(a is False for a in answers) else None


# A principal pattern must fix at least this many letters or digits of the role or user name.
MIN_PRINCIPAL_NAME_CHARACTERS = 4


def principal_pattern_problem(pattern: str) -> str | None:
    """Why an `aws:PrincipalArn` pattern matches nearly any principal; None when it is specific."""
    parsed = arns.parse(pattern)
    if parsed is None:
        return "is not an ARN"
    if arns.has_wildcard(parsed.account):
        return "leaves the account open"
    # The role or user name is what follows the last `/`: a path (`role/service-role/*`) names no one.
    name = parsed.resource.rsplit("/", 1)[-1]
    if not arns.has_wildcard(name):
        return None
    fixed = sum(c.isalnum() for c in name if c not in "*?")
    if fixed < MIN_PRINCIPAL_NAME_CHARACTERS:
        return (
            f"fixes {fixed} letter(s) or digit(s) of the name (fewer than {MIN_PRINCIPAL_NAME_CHARACTERS}), "
            "so nearly every principal of the account matches"
        )
    return None


@rule(
    "principal-pattern-specific",
    f"An aws:PrincipalArn pattern in a trust fixes its account and at least {MIN_PRINCIPAL_NAME_CHARACTERS} "
    "letters or digits of the role or user name.",
)
def principal_pattern_specific(resource: ResourceView, context: Context) -> Iterator[Hit]:
    for index, statement in allow_statements(trust_document(resource)):
        for op, values in condition_keys(statement).get("aws:principalarn", {}).items():
            if op.lower() not in LIKE_OPERATORS:
                continue
            for value in values:
                problem = principal_pattern_problem(value)
                if problem and not matches_any_value("aws:PrincipalArn", op, value):
                    yield Hit(
                        f"{resource.describe()}: trust {label(statement, index)}: aws:PrincipalArn pattern {value!r} "
                        f"{problem}; name the vendor's role prefix, "
                        f"{_accept_hint('principal-pattern-specific', _sid(statement), index + 1, TRUST_DOCUMENT)}",
                        *_on(statement, index, TRUST_DOCUMENT),
                    )


WEB_IDENTITY = iam_actions.ASSUME_ROLE_WITH_WEB_IDENTITY
# Fixed prefixes of OIDC subjects: a `:sub` pattern that names nothing after them matches every subject.
SUBJECT_PREFIXES = (issuers.SERVICE_ACCOUNT_SUBJECT_PREFIX, *issuers.OWNER_PREFIXES.values())


def _any_subject(pattern: str) -> bool:
    for prefix in SUBJECT_PREFIXES:
        if pattern.startswith(prefix):
            pattern = pattern[len(prefix):]
            break
    return arns.has_wildcard(pattern) and not any(c.isalnum() for c in pattern)


@rule(
    "oidc-trust-conditions",
    "An OIDC (web identity) trust pins <issuer>:aud with StringEquals and <issuer>:sub with StringEquals "
    "(StringLike wildcards only with an explicit opt-in, and never one that matches every subject), and on an "
    "issuer every customer shares, the claim that fixes the owner.",
)
def oidc_trust_conditions(resource: ResourceView, context: Context) -> Iterator[Hit]:
    wildcard_ok = bool(resource.tag(OIDC_SUB_WILDCARD_TAG))
    for index, statement in allow_statements(trust_document(resource)):
        if not granted(statement, WEB_IDENTITY):
            continue
        where = f"{resource.describe()}: OIDC trust {label(statement, index)}"
        federated = principal_values(statement).get("Federated", [])
        if not federated:
            yield Hit(f"{where} allows {WEB_IDENTITY} without a Federated principal (the OIDC provider's ARN)", *_on(statement, index, TRUST_DOCUMENT))
            continue
        for issuer in map(issuers.issuer_of, federated):
            keys = condition_keys(statement)
            aud = keys.get(f"{issuer}:aud".lower(), {})
            if not any(op == "StringEquals" and values for op, values in aud.items()):
                yield Hit(f"{where} does not pin {issuer}:aud with StringEquals (e.g. sts.amazonaws.com)", *_on(statement, index, TRUST_DOCUMENT))
            sub = keys.get(f"{issuer}:sub".lower(), {})
            exact = [op for op, values in sub.items() if op == "StringEquals" and values]
            like = [v for op, values in sub.items() if op == "StringLike" for v in values]
            every = [v for v in like if _any_subject(v)]
            if every:
                yield Hit(
                    f"{where} matches {issuer}:sub with {', '.join(every)}, which every identity of the issuer "
                    "satisfies; name the subject (no tag accepts this)",
                    *_on(statement, index, TRUST_DOCUMENT),
                )
                continue
            owners = [v for v in like if issuers.pattern_reaches_any_owner(v)]
            if owners:
                yield Hit(
                    f"{where} matches {issuer}:sub with {', '.join(owners)}, which does not fix the repository "
                    "owner, group or organization: anyone who creates a matching one can assume the role; "
                    "fix the owner (no tag accepts this)",
                    *_on(statement, index, TRUST_DOCUMENT),
                )
                continue
            owner = issuers.owner_problem(issuer, issuers.pins_of(statement.get("Condition")))
            if owner is not None:  # whatever the provider is called: judged by the issuer (no tag accepts this)
                yield Hit(f"{where} {owner} (no tag accepts this)", *_on(statement, index, TRUST_DOCUMENT))
                continue
            if exact or (like and not any(arns.has_wildcard(v) for v in like)):
                continue
            if not like and issuers.runs_pinned_by_tags(issuer, issuers.pins_of(statement.get("Condition"))):
                continue
            if like and wildcard_ok:
                continue
            if like:
                yield Hit(
                    f"{where} matches {issuer}:sub with StringLike wildcards ({', '.join(like)}): any matching "
                    f"identity may assume the role; use StringEquals, or tag the role {OIDC_SUB_WILDCARD_TAG}=<reason> "
                    "after review",
                    *_on(statement, index, TRUST_DOCUMENT),
                )
            else:
                yield Hit(f"{where} does not pin {issuer}:sub with StringEquals (the exact subject, e.g. the service account)", *_on(statement, index, TRUST_DOCUMENT))


def statement_actions(statement: Statement) -> tuple[str, ...]:
    """Every known action a typed statement names: its Action patterns expanded against AWS's service
    data, or with NotAction every action the data knows except those it lists (unknown values aside)."""
    return _statement_actions(tuple(a for a in statement.action if isinstance(a, str)), statement.not_action)


@functools.lru_cache(maxsize=4096)
def _statement_actions(values: tuple[str, ...], not_action: bool) -> tuple[str, ...]:
    if not_action:
        from agent_iam.model.matching import action_matches

        return tuple(a for a in iam_actions.expand("*") if not any(action_matches(p, a) for p in values))
    return tuple(sorted({a for pattern in values for a in iam_actions.expand(pattern)}))


def every_service(action: str) -> bool:
    """Whether an action pattern names every service (`*`, `*:*`, `*:Get*`)."""
    return not action.partition(":")[0].strip("*")


def wide_patterns(statement: Statement) -> list[str]:
    """A typed statement's resources that cover every resource of a kind (`NotResource` covers all but a few)."""
    if statement.not_resource:
        return [NOT_RESOURCE_WORDS]
    return [p.text for p in statement.resource or () if isinstance(p, Pattern) and arns.covers_every_resource(p.text)]


NOT_RESOURCE_WORDS = "NotResource (every resource it does not list)"


def severity_rank(action: str) -> int:
    """Order of mention: PassRole, credential reads, permission changes, writes, tagging."""
    if action == iam_actions.PASS_ROLE:
        return 0
    if iam_actions.is_credential_read(action):
        return 1
    level = iam_actions.access_level(action)
    return {iam_actions.PERMISSIONS: 2, iam_actions.WRITE: 3, iam_actions.TAGGING: 4}.get(str(level), 5)


def _summary(found: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(found[:limit])
    return f"{shown} and {len(found) - limit} more" if len(found) > limit else shown


def risk_kind(action: str) -> str:
    """How a sensitive action is counted: `credential read`, or its AWS access level."""
    return "credential read" if iam_actions.is_credential_read(action) else str(iam_actions.access_level(action))


def _counts(actions: Sequence[str]) -> str:
    """`1 Permissions management, 2 Write, 1 credential read`: the actions per kind of risk."""
    levels: dict[str, int] = {}
    for action in actions:
        levels[risk_kind(action)] = levels.get(risk_kind(action), 0) + 1
    return ", ".join(f"{n} {level}" for level, n in sorted(levels.items()))


# --- effective access: what a role can do, from the one model (agent_iam.model) ------------------
#
# `sensitive-actions-scoped`, `no-wildcard-action` and `managed-policy-privileges` judge a role by
# every identity document it gets (inline, customer managed, AWS managed from the dataset), after
# its Denies and within its boundary: the same grant gets the same verdict whichever document holds
# it, and a finding names the document and the statement that grant it. They need every resource
# of the stack (a role's documents are separate resources), so the policy pack runs them as stack
# policies. A document no role of the stack gets (a customer managed policy attached elsewhere, a
# user's or group's policy) is judged alone.


@dataclass(frozen=True)
class RoleUnit:
    """What the effective-access rules judge: a role's model (or a lone document's), the role's name
    and account (None for a lone document), and the resource that registers each of its documents."""

    model: RoleModel
    role: str | None
    account: str | None
    view: ResourceView | None  # the Role resource (None: a role this stack does not create, a lone document)
    registered_by: Mapping[Source, ResourceView] = field(default_factory=dict)

    def resource_of(self, document: Document) -> ResourceView | None:
        return self.registered_by.get(document.source) if document.source else None  # type: ignore[arg-type]


_UNITS: dict[int, tuple[Sequence[ResourceView], str | None, list[RoleUnit]]] = {}


def role_units(resources: Sequence[ResourceView], context: Context) -> list[RoleUnit]:
    """The roles of the stack as the model sees them (and each lone document), built once per list of
    resources (every effective-access rule reads the same models)."""
    cached = _UNITS.get(id(resources))
    if cached is not None and cached[0] is resources and cached[1] == context.account_id:
        return cached[2]
    units = _build_units(resources, context)
    _UNITS.clear()  # one stack at a time: the list is kept alive with its models
    _UNITS[id(resources)] = (resources, context.account_id, units)
    return units


def _owner(view: ResourceView, context: Context, keys: Mapping[tuple[str | None, str], Any]) -> tuple[str | None, str] | None:
    """The (account, name) of the role a RolePolicy or RolePolicyAttachment names, as the model reads it."""
    name = _role_name(view.props.get("role"))
    if name is None:
        return None
    raw = view.props.get("role")
    account = account_of_arn(raw) if isinstance(raw, str) and raw.startswith("arn:") else None
    key = (account or view.account or context.account_id, name)
    if key in keys:
        return key
    same = [k for k in keys if k[1] == name]
    return same[0] if len(same) == 1 and key[0] is None else key


def _build_units(resources: Sequence[ResourceView], context: Context) -> list[RoleUnit]:
    from agent_iam.model import documents as mdocs
    from agent_iam.model.roles import RoleModel as Model
    from agent_iam.model.roles import policy_arn, roles_from_views

    models = roles_from_views(resources, context)
    keys = {m.key: m for m in models}
    role_views: dict[tuple[str | None, str], ResourceView] = {}
    inline: dict[tuple[Any, str], ResourceView] = {}
    attached: dict[tuple[Any, str], ResourceView] = {}
    for view in resources:
        if view.type == ROLE:
            key = (role_account(view, context), view.physical_name)
            role_views[key] = view
            for index, item in enumerate(view.get("inlinePolicies") or []):
                if _is_mapping(item):
                    inline.setdefault((key, str(item.get("name") or f"inline-{index}")), view)
            for arn in strings(view.get("managedPolicyArns")):
                attached.setdefault((key, arn), view)
    for view in resources:
        if view.type in (ROLE_POLICY, ROLE_POLICY_ATTACHMENT):
            key = _owner(view, context, keys)
            if key is None:
                continue
            if view.type == ROLE_POLICY:
                inline[(key, view.physical_name)] = view
            else:
                for arn in strings(view.get("policyArn")):
                    attached[(key, arn)] = view
    units: list[RoleUnit] = []
    seen_policies: set[str] = set()
    for model in models:
        role_view = role_views.get(model.key)
        places: dict[Source, ResourceView] = {}
        for document in model.identity:
            source = document.source
            if source is None:
                continue
            if source.arn:
                seen_policies.add(source.arn)
            found = (inline.get((model.key, source.name)) if source.kind == mdocs.INLINE
                     else attached.get((model.key, source.arn)) if source.arn else None)
            if found is None:
                found = role_view
            if found is not None:
                places[source] = found
        units.append(RoleUnit(model, model.name, model.account, role_view, places))
    # Documents no role of the stack gets: each judged alone.
    for view in resources:
        if view.type == POLICY:
            arn = policy_arn(view)
            if arn in seen_policies:
                continue
            kind, name = mdocs.CUSTOMER_MANAGED, view.physical_name
        elif view.type in (USER_POLICY, GROUP_POLICY):
            arn, kind, name = None, mdocs.INLINE, view.physical_name
        else:
            continue
        raw = view.props.get("policy")
        if raw is None or is_unknown(raw) or mdocs.is_unknown_value(raw):
            continue
        source = Source(kind, name, arn)
        try:
            document = mdocs.parse_document(raw, name=view.describe(), source=source)
            mdocs.require_shape(document, kind, view.describe())
        except ValueError:
            continue  # IAM refuses it: the IAM validator names what is wrong
        model = Model((view.account or context.account_id, name), None, None, (document,))
        units.append(RoleUnit(model, None, None, None, {source: view}))
    return units


@dataclass(frozen=True)
class Located:
    """A stack rule's finding on one resource: the resource, what was found, and the role it is about."""

    resource_type: str
    resource_name: str
    found: str | Hit
    role: str | None = None
    account: str | None = None


def _located(unit: RoleUnit, document: Document, hit: Hit) -> Located:
    view = unit.resource_of(document) or unit.view
    rtype, rname = (view.type, view.name) if view is not None else (ROLE, unit.role or "")
    return Located(rtype, rname, hit, unit.role, unit.account)


def _what(unit: RoleUnit, document: Document) -> str:
    """How a message names a document: `inline policy 'x'` (a RolePolicy), `managed policy 'x'`,
    `role 'r' inline policy 'x'` (a role's own inlinePolicies), `role 'r': AWS managed policy 'x'`."""
    view = unit.resource_of(document)
    source = document.source
    assert source is not None
    if source.kind == INLINE_SOURCE and view is not None and view.type == ROLE:
        return f"{view.describe()} inline policy {source.name!r}"
    if view is not None and view.type in (ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY):
        return view.describe()
    owner = f"role {unit.role!r}: " if unit.role else ""
    return f"{owner}{source.describe()}"


def _whole(document: Document) -> bool:
    """An AWS managed policy is judged, named and accepted as a whole (AWS renumbers its statements)."""
    return document.source is not None and document.source.kind == AWS_MANAGED_SOURCE


def _statements_words(numbers: Iterable[int]) -> str:
    found = sorted(set(numbers))
    return f"statement{'s' if len(found) > 1 else ''} " + ", ".join(f"#{n}" for n in found)


@dataclass(frozen=True)
class OwnException:
    """A finding on what agent-iam itself attaches by design, accepted after review and matched by
    content: the rule, the AWS managed policy, the actions reviewed (a finding with any other action
    is not covered) and the only service its role's trust may name."""

    rule: str
    policy: str  # the AWS managed policy's name as the plan shows it
    actions: frozenset[str]
    service: str
    reason: str

    def covers(self, rule_name: str, unit: RoleUnit, document: Document, actions: Iterable[str]) -> bool:
        return (
            rule_name == self.rule
            and document.source is not None
            and document.source.kind == AWS_MANAGED_SOURCE
            and document.source.name == self.policy
            and {a.lower() for a in actions} <= {a.lower() for a in self.actions}
            and _trusted_only_by(unit.model, self.service)
        )


def _trusted_only_by(model: RoleModel, service: str) -> bool:
    """Whether the role's trust lets only `service` (an AWS service principal) assume it."""
    trust = model.trust
    if trust is None or not trust.known:
        return False
    allows = [s for s in trust.statements if s.effect == "Allow"]
    return bool(allows) and all(
        not s.not_principal and s.principal and all(p.kind == "Service" and p.value == service for p in s.principal)
        for s in allows
    )


# agent-iam's own reviewed exceptions of the effective-access rules (docs/guardrails.md): a finding one
# covers is not raised (as a role's reviewed exemption tag); access.md names the exception next to the grant.
OWN_EXCEPTIONS: tuple[OwnException, ...] = (
    OwnException(
        "sensitive-actions-scoped",
        "AmazonECSTaskExecutionRolePolicy",
        frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}),
        ECS_TASKS_SERVICE,
        "the ECS task execution role's logs writes: ECS writes the agent's container logs with them, to log groups "
        "the task definition names at run time (AWS's documented execution role policy); only ECS tasks can assume it",
    ),
)


def own_exception(rule_name: str, unit: RoleUnit, document: Document, actions: Iterable[str]) -> str | None:
    """The reason of agent-iam's own reviewed exception that covers a finding, if one does (the finding is
    then not raised, like a role's reviewed exemption tag; access.md says the exception)."""
    actions = tuple(actions)
    for own in OWN_EXCEPTIONS:
        if own.covers(rule_name, unit, document, actions):
            return own.reason
    return None


def unseen_words(model: RoleModel) -> str:
    """`unless the permissions boundary 'arn:...' (content not in the plan) denies or bounds it`: the
    documents of a role the plan cannot see, which could still take a grant away; "" when none."""
    unseen = [d.describe() for d in model.permission_documents if not d.known]
    if not unseen:
        return ""
    verb = "deny or bound" if len(unseen) > 1 else "denies or bounds"
    return f"unless {' or '.join(unseen)} (content not in the plan) {verb} it"


def _unknowns_note(model: RoleModel, grants: Sequence[Any]) -> str:
    """What a finding cannot see: documents whose content is not in the plan, grants not decided."""
    notes = [unseen_words(model)] if any(g.depends_on for g in grants) else []
    if any(not g.decided for g in grants):
        notes.append("some grants were not decided in the solver's budget and are counted as granted")
    notes = [n for n in notes if n]
    return f" ({'; '.join(notes)})" if notes else ""


@rule(
    "sensitive-actions-scoped",
    "No role may call a sensitive action (AWS access level Write, Permissions management or Tagging, "
    "iam:PassRole, or a read that returns secrets or credentials) on every resource of a kind, through any "
    "of its documents (inline, customer managed or AWS managed), unless a tag condition limits it to tagged "
    "resources.",
    scope="stack",
)
def sensitive_actions_scoped(resources: Sequence[ResourceView], context: Context) -> Iterator[Located]:
    from agent_iam.model import solver

    name = "sensitive-actions-scoped"
    for unit in role_units(resources, context):
        grants = solver.wide_grants(unit.model)
        by_place: dict[tuple[int, int | None], list[Any]] = {}
        order = {d.source: i for i, d in enumerate(unit.model.identity)}
        for grant in grants:
            for ref in grant.granted_by:
                document = unit.model.identity[order[ref.source]]
                by_place.setdefault((order[ref.source], None if _whole(document) else ref.number), []).append((grant, ref))
        for (index, number), found in sorted(by_place.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
            document = unit.model.identity[index]
            actions = sorted({g.action for g, _ in found}, key=lambda a: (severity_rank(a), a))
            items = [g for g, _ in found]
            if own_exception(name, unit, document, actions):
                continue
            what = _what(unit, document)
            note = _unknowns_note(unit.model, items)
            source = document.source
            assert source is not None
            if number is None:
                numbers = _statements_words(ref.number for _, ref in found)
                hit = Hit(
                    f"{what} allows {_summary(actions)} ({_counts(actions)}) on every resource of their kind "
                    f"({numbers}){note}; attach a narrower policy, or accept it in the entry with acceptedFindings: "
                    f"[{{check: {name}, document: {source.name}, reason: <why>}}]",
                    source.name, document=source.name, whole=True, actions=tuple(actions),
                )
            else:
                statement = document.statement(number)
                wide = wide_patterns(statement) or [items[0].resource]
                hit = Hit(
                    f"{what}: {statement.label} allows {_summary(actions)} ({_counts(actions)}) on {wide[0]!r}, every "
                    f"resource of its kind{note}; scope it to ARNs, "
                    f"{_accept_hint(name, statement.sid, number, source.name)}",
                    statement.sid, number, source.name, actions=tuple(actions),
                )
            yield _located(unit, document, hit)
        for document in unit.model.identity:
            if not document.known:
                yield _located(unit, document, _unseen(unit, document, name))


def _unseen(unit: RoleUnit, document: Document, rule_name: str) -> Hit:
    """A document the plan cannot see: said, never passed silently (advisory: it may grant anything)."""
    owner = f"role {unit.role!r}: " if unit.role else ""
    source = document.source
    where = source.describe() if source else "a document"
    return Hit(
        f"{owner}{where}: content not known to the plan ({document.reason}); {rule_name} cannot judge what it grants: "
        "review it where it is defined",
        document=source.name if source else None, whole=True, level=ADVISORY,
    )


@rule(
    "no-wildcard-action",
    'No role gets an Allow statement with an action of every service ("*", "*:*") or NotAction, in any of its '
    "documents.",
    scope="stack",
)
def no_wildcard_action(resources: Sequence[ResourceView], context: Context) -> Iterator[Located]:
    name = "no-wildcard-action"
    for unit in role_units(resources, context):
        for document in unit.model.identity:
            found: list[tuple[Statement, str]] = []
            for statement in document.statements:
                if statement.effect != "Allow":
                    continue
                if statement.not_action:
                    found.append((statement, "uses NotAction with Allow, which grants every other action"))
                    continue
                wild = [a for a in statement.action if isinstance(a, str) and every_service(a)]
                if wild:
                    found.append((statement, f"allows {wild[0]!r}, every action of every service"))
            if not found:
                continue
            source = document.source
            assert source is not None
            what = _what(unit, document)
            if _whole(document):
                said = "; ".join(f"{s.label} {words}" for s, words in found)
                yield _located(unit, document, Hit(
                    f"{what}: {said}; attach a narrower policy, or accept it in the entry with acceptedFindings: "
                    f"[{{check: {name}, document: {source.name}, reason: <why>}}]",
                    source.name, document=source.name, whole=True,
                ))
                continue
            for statement, words in found:
                yield _located(unit, document, Hit(f"{what}: {statement.label} {words}", statement.sid, statement.number, source.name))


def _admin_statement(statement: Statement) -> bool:
    """An Allow of every action of every service on every resource."""
    return (
        statement.effect == "Allow" and not statement.not_action
        and any(isinstance(a, str) and every_service(a) for a in statement.action)
        and bool(wide_patterns(statement))
    )


def document_privileges(document: Document, grants: Sequence[Any]) -> list[str]:
    """What makes a document dangerous to attach, from the role's wide grants through it: full admin,
    every action but a few, IAM write on every resource or iam:PassRole on every role."""
    through = [g for g in grants if any(r.source == document.source for r in g.granted_by)]
    granting = {r.number for g in through for r in g.granted_by if r.source == document.source}
    if any(_admin_statement(s) and s.number in granting for s in document.statements):
        return ["full administrator access (every action on every resource)"]
    out = []
    all_but = [str(a) for s in document.statements if s.effect == "Allow" and s.not_action and wide_patterns(s)
               and s.number in granting for a in s.action]
    if all_but:
        out.append(f"every action but {', '.join(all_but)} on every resource")
    iam_write = sorted({g.action for g in through if iam_actions.split(g.action)[0] == "iam"
                        and iam_actions.access_level(g.action) in (iam_actions.WRITE, iam_actions.PERMISSIONS)})
    if iam_write:
        out.append(f"IAM write on every resource ({_summary(iam_write, 3)}: {len(iam_write)} actions)")
    elif any(g.action == iam_actions.PASS_ROLE for g in through):
        out.append("iam:PassRole on every role")
    return out


def attached_policy_arns(resource: ResourceView) -> list[str]:
    """Managed policy ARNs a resource attaches: a RolePolicyAttachment's, a role's `managedPolicyArns`."""
    if resource.type == ROLE_POLICY_ATTACHMENT:
        return strings(resource.get("policyArn"))
    if resource.type == ROLE:
        return strings(resource.get("managedPolicyArns"))
    return []


@rule(
    "managed-policy-privileges",
    "No role attaches an AWS managed policy that lets it grant itself anything (full admin, every action but "
    "a few, IAM write or iam:PassRole on every role, judged by the policy's current document within the role), "
    "or one that does not exist.",
    scope="stack",
)
def managed_policy_privileges_rule(resources: Sequence[ResourceView], context: Context) -> Iterator[Located]:
    from agent_iam.model import solver

    for unit in role_units(resources, context):
        if unit.role is None:
            continue
        managed = [d for d in unit.model.identity if _whole(d)]
        if not managed:
            continue
        grants = solver.wide_grants(unit.model) if any(d.known for d in managed) else ()
        who = f"role {unit.role!r}"
        for document in managed:
            source = document.source
            assert source is not None
            arn = source.arn or source.name
            if not document.known:
                hint = managed_policies.suggestion(arn)
                yield _located(unit, document, Hit(
                    f"{who} attaches {arn}, which is not an AWS managed policy"
                    + (f"; did you mean {hint}?" if hint else " (IAM refuses the attachment)"),
                    source.name, document=source.name, whole=True,
                ))
                continue
            privileges = document_privileges(document, grants)
            if privileges:
                yield _located(unit, document, Hit(
                    f"{who} attaches AWS managed policy {source.name}, which grants {'; '.join(privileges)}: the role "
                    f"could grant itself anything; attach a narrower policy, or accept it in the entry with "
                    f"acceptedFindings: [{{check: managed-policy-privileges, document: {source.name}, reason: <why>}}]",
                    source.name, document=source.name, whole=True,
                ))


def _boundary_is_admin(arn: str) -> bool:
    """Whether an AWS managed policy used as a boundary allows every action on every resource."""
    from agent_iam.model.roles import aws_managed

    if not managed_policies.is_aws_managed(arn):
        return False
    document = aws_managed(arn)
    return document.known and any(_admin_statement(s) and not s.conditions for s in document.statements)


@rule(
    "permissions-boundary",
    "Every role carries the stack's permissions boundary when the stack sets one; a different boundary only "
    "when the stack's guardrails list it; never an admin policy as a boundary.",
)
def permissions_boundary(resource: ResourceView, context: Context) -> Iterator[str]:
    if resource.type != ROLE or is_unknown(resource.props.get("permissionsBoundary")):
        return
    boundary = resource.get("permissionsBoundary")
    allowed = context.boundary_arns
    expected = " or ".join(allowed or ())
    if not boundary:
        if context.boundary_required and allowed:
            yield f"{resource.describe()} has no permissions boundary; the stack requires {expected}"
        return
    if _boundary_is_admin(boundary):
        yield (
            f"{resource.describe()} has permissions boundary {boundary}, an administrator policy: a boundary that "
            "allows everything bounds nothing"
        )
    if allowed is not None and boundary not in allowed:
        listed = f"the stack allows {expected}" if allowed else "the stack sets no boundary"
        yield (
            f"{resource.describe()} has permissions boundary {boundary}, which {listed}; list it in "
            "agent-iam:guardrails.permissionsBoundaries to allow it"
        )


@rule(
    "iam-limits",
    "Role names, paths, trust policies and customer managed policies fit IAM's limits.",
)
def iam_limits(resource: ResourceView, context: Context) -> Iterator[str | Hit]:
    limits = context.limits
    if resource.type not in (ROLE, POLICY):
        return
    name = resource.get("name")
    if resource.type == ROLE and isinstance(name, str):
        if len(name) > ROLE_NAME_MAX:
            yield f"{resource.describe()}: the name is {len(name)} characters, over IAM's {ROLE_NAME_MAX}"
        if not IAM_NAME_RE.fullmatch(name):
            yield f"{resource.describe()}: the name may hold only letters, digits and +=,.@_-"
    path = resource.get("path")
    if isinstance(path, str):
        if not IAM_PATH_RE.fullmatch(path):
            yield f"{resource.describe()}: path {path!r} must be '/' or start and end with '/' (printable ASCII, no spaces)"
        if len(path) > PATH_MAX:
            yield f"{resource.describe()}: path is {len(path)} characters, over IAM's {PATH_MAX}"
    trust = trust_document(resource)
    if trust is not None and minified_size(trust) > limits.trust_policy_size:
        yield (
            f"{resource.describe()}: trust policy is {minified_size(trust)} characters minified, over the "
            f"{limits.trust_policy_size} the account allows"
        )
    if resource.type == POLICY:
        doc = resource.document(resource.props.get("policy"))
        if doc is not None and minified_size(doc) > MANAGED_POLICY_SIZE:
            yield Hit(
                f"{resource.describe()} is {minified_size(doc)} characters minified, over IAM's "
                f"{MANAGED_POLICY_SIZE} for a managed policy",
                document=resource.physical_name,
            )


@dataclass
class RolePermissions:
    """Everything attached to one role across resources: inline documents and managed policies."""

    name: str
    account: str | None
    role: ResourceView | None = None
    inline: list[tuple[str, int]] = field(default_factory=list)  # (policy name, minified size)
    managed: list[str] = field(default_factory=list)  # policy ARNs (or "<unknown>")


def _role_name(value: Any) -> str | None:
    """A RolePolicy/RolePolicyAttachment `role` input: a name, or an ARN (its last path part)."""
    if not isinstance(value, str) or is_unknown(value) or not value:
        return None
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def role_of(resource: ResourceView) -> str | None:
    """The IAM role a resource belongs to: a role itself, or the `role` of a policy or attachment."""
    if resource.type == ROLE:
        return resource.physical_name
    if resource.type in (ROLE_POLICY, ROLE_POLICY_ATTACHMENT):
        return _role_name(resource.props.get("role"))
    return None


def roles_with_permissions(resources: Sequence[ResourceView], context: Context) -> list[RolePermissions]:
    """Aggregate per role: RolePolicy `role` -> the role's name, RolePolicyAttachment `role`, and the
    role's own `inlinePolicies` / `managedPolicyArns`; a role in another account is another role."""
    roles: dict[tuple[str | None, str], RolePermissions] = {}
    by_name: dict[str, list[RolePermissions]] = {}
    for resource in resources:
        if resource.type == ROLE:
            account = role_account(resource, context)
            entry = RolePermissions(resource.physical_name, account, resource)
            roles[(account, entry.name)] = entry
            by_name.setdefault(entry.name, []).append(entry)
            for inline in resource.get("inlinePolicies") or []:
                doc = resource.document(inline.get("policy")) if _is_mapping(inline) else None
                if doc is not None:
                    entry.inline.append((str(inline.get("name")), minified_size(doc)))
            entry.managed.extend(a if not is_unknown(a) else "<unknown>" for a in strings(resource.get("managedPolicyArns")))

    def owner(resource: ResourceView) -> RolePermissions | None:
        name = _role_name(resource.props.get("role"))
        if name is None:
            return None
        account = resource.account or context.account_id
        if (account, name) in roles:
            return roles[(account, name)]
        candidates = by_name.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
        entry = RolePermissions(name, account)  # a role this stack does not create
        roles[(account, name)] = entry
        by_name.setdefault(name, []).append(entry)
        return entry

    for resource in resources:
        if resource.type == ROLE_POLICY:
            entry = owner(resource)
            doc = resource.document(resource.props.get("policy"))
            if entry is not None and doc is not None:
                entry.inline.append((resource.physical_name, minified_size(doc)))
        elif resource.type == ROLE_POLICY_ATTACHMENT:
            entry = owner(resource)
            if entry is not None:
                arn = resource.props.get("policyArn")
                entry.managed.append(arn if isinstance(arn, str) and not is_unknown(arn) else "<unknown>")
    return list(roles.values())


@rule(
    "iam-role-limits",
    "Per role, inline policies together and the number of managed policies fit IAM's limits.",
    scope="stack",
)
def iam_role_limits(resources: Sequence[ResourceView], context: Context) -> Iterator[Located]:
    limits = context.limits
    for entry in roles_with_permissions(resources, context):
        rtype, rname = (entry.role.type, entry.role.name) if entry.role else (ROLE, entry.name)
        total = sum(size for _, size in entry.inline)
        if total > limits.role_policies_size:
            parts = ", ".join(f"{name} {size}" for name, size in entry.inline)
            yield Located(rtype, rname, (
                f"role {entry.name!r}: inline policies total {total} characters minified ({parts}), over the "
                f"{limits.role_policies_size} IAM allows per role"
            ), entry.name)
        if len(entry.managed) > limits.managed_policies_per_role:
            yield Located(rtype, rname, (
                f"role {entry.name!r}: {len(entry.managed)} managed policies attached, over the "
                f"{limits.managed_policies_per_role} the account allows per role"
            ), entry.name)


# --- evaluation --------------------------------------------------------------------


def _level(level: str, hit: Hit) -> str:
    return ADVISORY if hit.level == ADVISORY else level


def _violation(rule_name: str, resource: ResourceView, found: str | Hit, level: str) -> Violation:
    hit = found if isinstance(found, Hit) else Hit(found)
    return Violation(
        rule_name, resource.type, resource.name, hit.message, _level(level, hit), hit.sid, role_of(resource),
        statement=hit.statement, document=hit.document, whole=hit.whole, actions=hit.actions,
    )


def _stack_violation(rule_name: str, located: Located, level: str) -> Violation:
    hit = located.found if isinstance(located.found, Hit) else Hit(located.found)
    return Violation(
        rule_name, located.resource_type, located.resource_name, hit.message, _level(level, hit), hit.sid,
        located.role, statement=hit.statement, document=hit.document, account=located.account, whole=hit.whole,
        actions=hit.actions,
    )


def evaluate_resource(rule_name: str, resource: ResourceView, context: Context) -> list[Violation]:
    """One resource-scope rule on one resource (what a ResourceValidationPolicy runs)."""
    entry = RULES[rule_name]
    level = context.level(rule_name)
    if level == DISABLED or entry.scope != "resource":
        return []
    return [_violation(rule_name, resource, found, level) for found in entry.check(resource, context)]


def evaluate_stack(rule_name: str, resources: Sequence[ResourceView], context: Context) -> list[Violation]:
    """One rule over every resource of the stack (what a StackValidationPolicy runs)."""
    entry = RULES[rule_name]
    level = context.level(rule_name)
    if level == DISABLED:
        return []
    if entry.scope == "resource":  # evaluate_resource on each, with the rule and its level looked up once
        return [_violation(rule_name, r, found, level) for r in resources for found in entry.check(r, context)]
    return [_stack_violation(rule_name, located, level) for located in entry.check(resources, context)]


def evaluate(resources: Sequence[ResourceView], context: Context) -> list[Violation]:
    """Every rule over every resource, in rule order."""
    return [v for name in RULES for v in evaluate_stack(name, resources, context)]


def violation_place(violation: Violation, account: str | None = None) -> Place:
    """Where a violation is, for matching acceptances: its role (with `account`), document and statement."""
    role = RoleKey(violation.account or account, violation.role) if violation.role else None
    if violation.statement is not None:
        return Place(role, violation.document, (violation.statement,), (violation.sid,))
    if violation.document is not None:  # an attached AWS managed policy as a whole; a policy's size
        return Place(role, violation.document, whole=violation.whole or violation.resource_type == ROLE_POLICY_ATTACHMENT)
    return Place(role)


@dataclass(frozen=True)
class Acceptance:
    """A reviewed finding of rule `check` at one place (`guardrails/acceptance.py`: a Sid, a document
    and statement number(s), a whole document, or the role), for `role` in `account` (None: any)."""

    check: str
    sid: str | None
    reason: str
    role: str | None = None  # None: any role (the pack, which is configured per stack)
    document: str | None = None
    statement: int | None = None
    statements: tuple[int | str, ...] = ()
    account: str | None = None

    @property
    def key(self) -> Key:
        return Key(self.check, None, self.document, self.sid, self.statement, self.statements)

    def covers(self, violation: Violation, account: str | None = None) -> bool:
        if self.role is not None and violation.role != self.role:
            return False
        if self.account is not None and account is not None and account != self.account:
            return False
        return self.key.matches(violation.rule, violation_place(violation, account))


def accept(
    violations: Iterable[Violation],
    acceptances: Sequence[Acceptance],
    account_of: Callable[[Violation], str | None] | None = None,
) -> list[Violation]:
    """The violations, each covered by an acceptance marked with its reason (it no longer blocks);
    `account_of` tells a violation's role's account, so a role of the same name elsewhere is not covered."""
    out = []
    for violation in violations:
        account = account_of(violation) if account_of else None
        for acceptance in acceptances:
            if acceptance.covers(violation, account):
                violation = dataclasses.replace(violation, accepted=acceptance.reason)
                break
        out.append(violation)
    return out


def blocking(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.blocking]


RULE_NAMES = tuple(RULES)
