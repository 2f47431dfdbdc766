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
reports the Sid of the statement it objects to, and `accept` marks the violations an acceptance
covers. What a policy means is judged with `agent_iam.iam` (ARN formats, access levels, the
documents of AWS managed policies), never by how it is spelled.
"""

from __future__ import annotations

import dataclasses
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
StackCheck = Callable[[Sequence[ResourceView], Context], Iterable[tuple[str, str, str]]]


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


def _accept_hint(rule_name: str, statement: Mapping[str, Any], index: int, document: str | None) -> str:
    """How to accept a statement's finding: its Sid, else its document and 1-based number."""
    sid = _sid(statement)
    where = f"sid: {sid}" if sid else f"document: {document}, statement: {index + 1}"
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
        yield Hit(
            f"{resource.describe()}: trust {label(statement, index)} lets {who} ({whose}) assume the role with no "
            f"{', '.join(CROSS_ACCOUNT_KEYS)} condition that pins it{any_value} (StringEquals/StringLike/ArnEquals/"
            f"ArnLike, no IfExists); add one, or tag the role {TRUST_EXEMPTION_TAG}=<reason> after review",
            *_on(statement, index, TRUST_DOCUMENT),
        )


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
                        f"{_accept_hint('principal-pattern-specific', statement, index, TRUST_DOCUMENT)}",
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


def granted_actions(statement: Mapping[str, Any]) -> tuple[str, ...]:
    """Every known action an Allow statement grants: its Action patterns expanded against AWS's
    service data, or with NotAction every action the data knows except those it lists."""
    if "NotAction" in statement:
        excluded = strings(statement.get("NotAction"))
        return tuple(a for a in iam_actions.expand("*") if not covers(excluded, a))
    return tuple(sorted({a for pattern in actions_of(statement) for a in iam_actions.expand(pattern)}))


def wide_resources(statement: Mapping[str, Any]) -> list[str]:
    """The statement's resources that cover every resource of a kind (`NotResource` covers all but a few)."""
    if "NotResource" in statement:
        return ["NotResource (every resource it does not list)"]
    return [r for r in strings(statement.get("Resource")) if arns.covers_every_resource(r)]


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


_TAG_KEY = re.compile(r"^[a-z0-9-]+:(?:resourcetag|requesttag)/.+$")


def tag_scoped(statement: Mapping[str, Any]) -> bool:
    """Whether a statement is limited to tagged resources (attribute-based access control): a
    required `aws:ResourceTag/<key>` or `aws:RequestTag/<key>` (or a service's own ResourceTag key)
    pinned to values, not to a pattern every value matches (a tag anyone may set to `*` scopes nothing)."""
    for key, by_operator in condition_keys(statement).items():
        if not _TAG_KEY.match(key):
            continue
        for op, values in by_operator.items():
            if op.lower() in POSITIVE_OPERATORS and values and not any(
                arns.has_wildcard(v) and not any(c.isalnum() for c in v) for v in values
            ):
                return True
    return False


@rule(
    "sensitive-actions-scoped",
    "No identity policy grants a sensitive action (AWS access level Write, Permissions management or Tagging, "
    "iam:PassRole, or a read that returns secrets or credentials) on every resource of a kind, unless a tag "
    "condition limits it to tagged resources.",
)
def sensitive_actions_scoped(resource: ResourceView, context: Context) -> Iterator[Hit]:
    for name, what, doc in named_identity_documents(resource):
        for index, statement in allow_statements(doc):
            wide = wide_resources(statement)
            if not wide or tag_scoped(statement):
                continue
            hit = [a for a in granted_actions(statement) if iam_actions.is_sensitive(a) and iam_actions.scopable(a)]
            if not hit:
                continue
            hit.sort(key=lambda a: (severity_rank(a), a))
            levels: dict[str, int] = {}
            for action in hit:
                level = "credential read" if iam_actions.is_credential_read(action) else iam_actions.access_level(action)
                levels[str(level)] = levels.get(str(level), 0) + 1
            counts = ", ".join(f"{n} {level}" for level, n in sorted(levels.items()))
            yield Hit(
                f"{what}: {label(statement, index)} allows {_summary(hit)} ({counts}) on {wide[0]!r}, every resource "
                f"of its kind; scope it to ARNs, {_accept_hint('sensitive-actions-scoped', statement, index, name)}",
                *_on(statement, index, name),
            )


@rule("no-wildcard-action", 'No identity policy allows Action "*" (every action of every service).')
def no_wildcard_action(resource: ResourceView, context: Context) -> Iterator[Hit]:
    for name, what, doc in named_identity_documents(resource):
        for index, statement in allow_statements(doc):
            if "NotAction" in statement:
                yield Hit(f"{what}: {label(statement, index)} uses NotAction with Allow, which grants every other action", *_on(statement, index, name))
                continue
            wild = [a for a in actions_of(statement) if a.split(":", 1)[0] == "*"]
            if wild:
                yield Hit(f"{what}: {label(statement, index)} allows {wild[0]!r}, every action of every service", *_on(statement, index, name))


def managed_policy_privileges(document: Mapping[str, Any]) -> list[str]:
    """What makes a policy document dangerous to attach: full admin, IAM write or iam:PassRole on
    every role, each described with the actions that grant it."""
    admin, iam_write, pass_role = False, set(), False
    all_but: list[str] = []
    for _, statement in allow_statements(document):
        if not wide_resources(statement):
            continue
        if any(a.split(":", 1)[0] == "*" for a in actions_of(statement)):
            admin = True
            continue
        if "NotAction" in statement:
            excluded = strings(statement.get("NotAction"))
            all_but.extend(excluded)
            granted_here = {a for a in iam_actions.expand("iam:*") if not covers(excluded, a)}
        else:  # only IAM's own actions matter here: expand just the patterns that can name one
            iam_patterns = [a for a in actions_of(statement) if ":" in a and fnmatchcase("iam", a.split(":", 1)[0].lower())]
            granted_here = {x for a in iam_patterns for x in iam_actions.expand("iam:" + a.split(":", 1)[1])}
        for action in granted_here:
            if action.startswith("iam:") and iam_actions.access_level(action) in (iam_actions.WRITE, iam_actions.PERMISSIONS):
                iam_write.add(action)
            if action == iam_actions.PASS_ROLE:
                pass_role = True
    out = []
    if admin:
        out.append("full administrator access (every action on every resource)")
        return out
    if all_but:
        out.append(f"every action but {', '.join(all_but)} on every resource")
    if iam_write:
        out.append(f"IAM write on every resource ({_summary(sorted(iam_write), 3)}: {len(iam_write)} actions)")
    if pass_role and not admin and not iam_write:
        out.append("iam:PassRole on every role")
    return out


def wide_grants(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """What a document grants on every resource of a kind, by kind of risk: `credential reads`,
    `iam:PassRole` and the change levels (AWS's access levels), each with its actions."""
    out: dict[str, set[str]] = {}
    for _, statement in allow_statements(document):
        if not wide_resources(statement):
            continue
        for action in granted_actions(statement):
            if not iam_actions.scopable(action):
                continue
            if iam_actions.is_credential_read(action):
                out.setdefault("credential reads", set()).add(action)
            elif action == iam_actions.PASS_ROLE:
                out.setdefault(iam_actions.PASS_ROLE, set()).add(action)
            elif iam_actions.access_level(action) in iam_actions.CHANGING_LEVELS:
                out.setdefault(str(iam_actions.access_level(action)), set()).add(action)
    return {kind: sorted(found) for kind, found in sorted(out.items())}


def describe_wide_grants(document: Mapping[str, Any]) -> str:
    """`credential reads on every resource: ssm:GetParameter, ssm:GetParameters; Write on every
    resource: 12 actions (...)`, or "" when the document grants nothing sensitive that widely."""
    parts = []
    for kind, found in wide_grants(document).items():
        parts.append(f"{kind} on every resource of a kind: {_summary(found, 5)}")
    return "; ".join(parts)


def attached_policy_arns(resource: ResourceView) -> list[str]:
    """Managed policy ARNs a resource attaches: a RolePolicyAttachment's, a role's `managedPolicyArns`."""
    if resource.type == ROLE_POLICY_ATTACHMENT:
        return strings(resource.get("policyArn"))
    if resource.type == ROLE:
        return strings(resource.get("managedPolicyArns"))
    return []


@rule(
    "managed-policy-privileges",
    "No role attaches an AWS managed policy that grants full admin, IAM write or iam:PassRole on every role "
    "(judged by the policy's current document), or one that does not exist.",
)
def managed_policy_privileges_rule(resource: ResourceView, context: Context) -> Iterator[Hit]:
    who = f"role {role_of(resource)!r}" if role_of(resource) else resource.describe()
    for arn in attached_policy_arns(resource):
        if not managed_policies.is_aws_managed(arn):
            continue
        name = managed_policies.name_of(arn)
        document = managed_policies.document(arn)
        if document is None:
            hint = managed_policies.suggestion(arn)
            yield Hit(
                f"{who} attaches {arn}, which is not an AWS managed policy"
                + (f"; did you mean {hint}?" if hint else " (IAM refuses the attachment)"),
                name,
                document=name,
            )
            continue
        privileges = managed_policy_privileges(document)
        if privileges:
            yield Hit(
                f"{who} attaches AWS managed policy {name}, which grants {'; '.join(privileges)}: the role could "
                f"grant itself anything; attach a narrower policy, or accept it in the entry with acceptedFindings: "
                f"[{{check: managed-policy-privileges, document: {name}, reason: <why>}}]",
                name,
                document=name,
            )


def _boundary_is_admin(arn: str) -> bool:
    document = managed_policies.document(arn)
    return bool(document) and any("full administrator" in p for p in managed_policy_privileges(document))


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
def iam_role_limits(resources: Sequence[ResourceView], context: Context) -> Iterator[tuple[str, str, str]]:
    limits = context.limits
    for entry in roles_with_permissions(resources, context):
        rtype, rname = (entry.role.type, entry.role.name) if entry.role else (ROLE, entry.name)
        total = sum(size for _, size in entry.inline)
        if total > limits.role_policies_size:
            parts = ", ".join(f"{name} {size}" for name, size in entry.inline)
            yield rtype, rname, (
                f"role {entry.name!r}: inline policies total {total} characters minified ({parts}), over the "
                f"{limits.role_policies_size} IAM allows per role"
            )
        if len(entry.managed) > limits.managed_policies_per_role:
            yield rtype, rname, (
                f"role {entry.name!r}: {len(entry.managed)} managed policies attached, over the "
                f"{limits.managed_policies_per_role} the account allows per role"
            )


# --- evaluation --------------------------------------------------------------------


def _violation(rule_name: str, resource: ResourceView, found: str | Hit, level: str) -> Violation:
    hit = found if isinstance(found, Hit) else Hit(found)
    return Violation(
        rule_name, resource.type, resource.name, hit.message, level, hit.sid, role_of(resource),
        statement=hit.statement, document=hit.document,
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
    return [Violation(rule_name, t, n, m, level, role=n) for t, n, m in entry.check(resources, context)]


def evaluate(resources: Sequence[ResourceView], context: Context) -> list[Violation]:
    """Every rule over every resource, in rule order."""
    return [v for name in RULES for v in evaluate_stack(name, resources, context)]


def violation_place(violation: Violation, account: str | None = None) -> Place:
    """Where a violation is, for matching acceptances: its role (with `account`), document and statement."""
    role = RoleKey(account, violation.role) if violation.role else None
    if violation.statement is not None:
        return Place(role, violation.document, (violation.statement,), (violation.sid,))
    if violation.document is not None:  # an attached AWS managed policy as a whole; a policy's size
        return Place(role, violation.document, whole=violation.resource_type == ROLE_POLICY_ATTACHMENT)
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
