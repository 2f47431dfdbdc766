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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ADVISORY, MANDATORY, DISABLED = "advisory", "mandatory", "disabled"
LEVELS = (ADVISORY, MANDATORY, DISABLED)

TRUST_EXEMPTION_TAG = "agent-iam:trust-exemption"
OIDC_SUB_WILDCARD_TAG = "agent-iam:oidc-sub-wildcard"

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"

# Values the Pulumi engine uses for "not known until the update runs" (preview, or under mocks).
UNKNOWN_SENTINELS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


class _Unknown:
    """A value that is not known yet; rules skip what they cannot see rather than guess."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


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

    def get(self, key: str) -> Any:
        value = self.props.get(key)
        return None if is_unknown(value) else value

    @property
    def physical_name(self) -> str:
        name = self.get("name")
        return name if isinstance(name, str) and name else self.name

    def tag(self, key: str) -> str:
        tags = self.get("tags")
        value = tags.get(key) if isinstance(tags, Mapping) else None
        return value.strip() if isinstance(value, str) and not is_unknown(value) else ""

    def describe(self) -> str:
        kind = {ROLE: "role", ROLE_POLICY: "inline policy", POLICY: "managed policy"}.get(self.type, self.type)
        return f"{kind} {self.physical_name!r}"


@dataclass(frozen=True)
class Limits:
    """IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""

    role_name: int = 64
    path: int = 512
    trust_policy_size: int = 2048
    role_policies_size: int = 10240
    managed_policies_per_role: int = 10
    managed_policy_size: int = 6144


@dataclass(frozen=True)
class Context:
    """What the rules know about the stack, and how strictly each rule is enforced."""

    account_id: str | None = None  # the stack's own account; None: unknown
    boundary_arns: tuple[str, ...] = ()  # non-empty: every role carries one of these boundaries
    limits: Limits = Limits()
    enforcement: str = MANDATORY
    rules: Mapping[str, str] = field(default_factory=dict)  # per-rule level overrides

    def level(self, rule: str) -> str:
        return self.rules.get(rule, self.enforcement)


@dataclass(frozen=True)
class Violation:
    rule: str
    resource_type: str
    resource_name: str
    message: str
    level: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "level": self.level,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "message": self.message,
        }


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
    return dict(value) if isinstance(value, Mapping) else None


def minified_size(doc: Mapping[str, Any]) -> int:
    """Characters IAM counts against its quotas (white space is not counted)."""
    return len(json.dumps(doc, separators=(",", ":")))


def statements(doc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    value = doc.get("Statement", [])
    items = [value] if isinstance(value, Mapping) else list(value) if isinstance(value, list) else []
    return [dict(s) for s in items if isinstance(s, Mapping)]


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
    return parse_document(resource.props.get("assumeRolePolicy")) if resource.type == ROLE else None


def identity_documents(resource: ResourceView) -> list[tuple[str, dict[str, Any]]]:
    """(what, document) for every identity policy a resource carries."""
    docs: list[tuple[str, dict[str, Any]]] = []
    if resource.type in (ROLE_POLICY, POLICY, USER_POLICY, GROUP_POLICY):
        doc = parse_document(resource.props.get("policy"))
        if doc is not None:
            docs.append((resource.describe(), doc))
    elif resource.type == ROLE:
        for inline in resource.get("inlinePolicies") or []:
            if isinstance(inline, Mapping):
                doc = parse_document(inline.get("policy"))
                if doc is not None:
                    docs.append((f"{resource.describe()} inline policy {inline.get('name')!r}", doc))
    return docs


# --- principals and conditions -----------------------------------------------------

ACCOUNT_RE = re.compile(r"^\d{12}$")
PRINCIPAL_ACCOUNT_RE = re.compile(r"^arn:[a-z-]+:(?:iam|sts)::(\d{12}):")


def principal_values(statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """Principal as {kind: [values]}; `"*"` is {"*": ["*"]}."""
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return {"*": [principal]} if principal == "*" else {"AWS": [principal]}
    if isinstance(principal, Mapping):
        return {str(kind): strings(values) for kind, values in principal.items()}
    return {}


def account_of_principal(value: str) -> str | None:
    """The account of an AWS principal (`123456789012`, an iam/sts ARN); None when it cannot be told."""
    if ACCOUNT_RE.match(value):
        return value
    match = PRINCIPAL_ACCOUNT_RE.match(value)
    return match.group(1) if match else None


def account_of_arn(value: Any) -> str | None:
    if isinstance(value, str) and not is_unknown(value):
        parts = value.split(":")
        if len(parts) >= 6 and parts[0] == "arn" and ACCOUNT_RE.match(parts[4]):
            return parts[4]
    return None


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
    if not isinstance(condition, Mapping):
        return keys
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            keys.setdefault(str(key).lower(), {})[str(operator)] = strings(values)
    return keys


def pinned_by(statement: Mapping[str, Any], key: str, operators: Iterable[str] = POSITIVE_OPERATORS) -> list[str]:
    """The operators under which `key` is pinned to at least one value."""
    allowed = {o.lower() for o in operators}
    found = condition_keys(statement).get(key.lower(), {})
    return [op for op, values in found.items() if op.lower() in allowed and values]


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


@rule("no-wildcard-principal", "No trust statement lets a wildcard or the whole world assume a role.")
def no_wildcard_principal(resource: ResourceView, context: Context) -> Iterator[str]:
    for index, statement in allow_statements(trust_document(resource)):
        where = f"{resource.describe()}: trust {label(statement, index)}"
        if "NotPrincipal" in statement:
            yield f"{where} uses NotPrincipal with Allow, which lets every other principal assume the role"
        for kind, values in principal_values(statement).items():
            for value in values:
                if "*" in value:
                    shown = "*" if kind == "*" else f"{kind}: {value}"
                    yield f"{where} trusts a wildcard principal ({shown}); name the exact principal"


CROSS_ACCOUNT_KEYS = ("sts:ExternalId", "aws:PrincipalArn", "aws:PrincipalOrgID")


@rule(
    "cross-account-trust-condition",
    "A trust to another AWS account is pinned with sts:ExternalId, aws:PrincipalArn or aws:PrincipalOrgID.",
)
def cross_account_trust_condition(resource: ResourceView, context: Context) -> Iterator[str]:
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
        yield (
            f"{resource.describe()}: trust {label(statement, index)} lets {who} ({whose}) assume the role with no "
            f"{', '.join(CROSS_ACCOUNT_KEYS)} condition (StringEquals/StringLike/ArnEquals/ArnLike, no IfExists); "
            f"add one, or tag the role {TRUST_EXEMPTION_TAG}=<reason> after review"
        )


WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


def issuer_of(federated: str) -> str:
    """`arn:aws:iam::1:oidc-provider/oidc.eks.x/id/AB` -> `oidc.eks.x/id/AB`; a bare issuer stays as is."""
    return federated.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in federated else federated


@rule(
    "oidc-trust-conditions",
    "An OIDC (web identity) trust pins <issuer>:aud with StringEquals and <issuer>:sub with StringEquals "
    "(StringLike wildcards only with an explicit opt-in).",
)
def oidc_trust_conditions(resource: ResourceView, context: Context) -> Iterator[str]:
    wildcard_ok = bool(resource.tag(OIDC_SUB_WILDCARD_TAG))
    for index, statement in allow_statements(trust_document(resource)):
        if not covers(actions_of(statement), WEB_IDENTITY):
            continue
        where = f"{resource.describe()}: OIDC trust {label(statement, index)}"
        federated = principal_values(statement).get("Federated", [])
        if not federated:
            yield f"{where} allows {WEB_IDENTITY} without a Federated principal (the OIDC provider's ARN)"
            continue
        for issuer in map(issuer_of, federated):
            keys = condition_keys(statement)
            aud = keys.get(f"{issuer}:aud".lower(), {})
            if not any(op == "StringEquals" and values for op, values in aud.items()):
                yield f"{where} does not pin {issuer}:aud with StringEquals (e.g. sts.amazonaws.com)"
            sub = keys.get(f"{issuer}:sub".lower(), {})
            exact = [op for op, values in sub.items() if op == "StringEquals" and values]
            like = [values for op, values in sub.items() if op == "StringLike" and values]
            if exact or (like and not any("*" in v or "?" in v for values in like for v in values)):
                continue
            if like and wildcard_ok:
                continue
            if like:
                yield (
                    f"{where} matches {issuer}:sub with StringLike wildcards "
                    f"({', '.join(v for values in like for v in values)}): any matching identity may assume the role; "
                    f"use StringEquals, or tag the role {OIDC_SUB_WILDCARD_TAG}=<reason> after review"
                )
            else:
                yield f"{where} does not pin {issuer}:sub with StringEquals (the exact subject, e.g. the service account)"


# Actions that must never be granted on every resource; s3 writes stand for the whole family.
S3_WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:AbortMultipartUpload",
    "s3:ReplicateObject",
    "s3:RestoreObject",
)
SENSITIVE_ACTIONS = ("secretsmanager:GetSecretValue", "kms:Decrypt", "iam:PassRole", *S3_WRITE_ACTIONS)

# The resource part of an ARN that names every resource of its kind (`role/*`, `secret:*`, `*`).
_ALL_OF_KIND = re.compile(r"^(?:[A-Za-z0-9-]+[/:])?[*?]+$")
_ALL_S3 = re.compile(r"^[*?]+(?:/[*?]*)*$")


def unscoped(resource_value: str) -> bool:
    """`*`, or an ARN whose resource part is only wildcards (every bucket, every secret, every role)."""
    if resource_value == "*":
        return True
    parts = resource_value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    service, rest = parts[2], parts[5]
    if service == "s3":
        return bool(_ALL_S3.match(rest))
    return bool(_ALL_OF_KIND.match(rest))


@rule(
    "sensitive-actions-scoped",
    "secretsmanager:GetSecretValue, kms:Decrypt, iam:PassRole and S3 writes are never granted on Resource \"*\".",
)
def sensitive_actions_scoped(resource: ResourceView, context: Context) -> Iterator[str]:
    for what, doc in identity_documents(resource):
        for index, statement in allow_statements(doc):
            if "NotResource" in statement:
                wide = "NotResource (every other resource)"
            else:
                wide_values = [r for r in strings(statement.get("Resource")) if unscoped(r)]
                if not wide_values:
                    continue
                wide = f"Resource {wide_values[0]!r}"
            hit = [a for a in SENSITIVE_ACTIONS if granted(statement, a)]
            if not hit:
                continue
            others = [a for a in hit if a not in S3_WRITE_ACTIONS]
            if any(a in S3_WRITE_ACTIONS for a in hit):
                writes = [a for a in hit if a in S3_WRITE_ACTIONS]
                others.append(f"S3 writes ({', '.join(writes[:3])}{', ...' if len(writes) > 3 else ''})")
            yield f"{what}: {label(statement, index)} allows {', '.join(others)} on {wide}; scope it to ARNs"


@rule("no-wildcard-action", 'No identity policy allows Action "*" (every action of every service).')
def no_wildcard_action(resource: ResourceView, context: Context) -> Iterator[str]:
    for what, doc in identity_documents(resource):
        for index, statement in allow_statements(doc):
            if "NotAction" in statement:
                yield f"{what}: {label(statement, index)} uses NotAction with Allow, which grants every other action"
                continue
            wild = [a for a in actions_of(statement) if a.split(":", 1)[0] == "*"]
            if wild:
                yield f"{what}: {label(statement, index)} allows {wild[0]!r}, every action of every service"


@rule("permissions-boundary", "Every role carries the stack's permissions boundary when the stack sets one.")
def permissions_boundary(resource: ResourceView, context: Context) -> Iterator[str]:
    if resource.type != ROLE or not context.boundary_arns or is_unknown(resource.props.get("permissionsBoundary")):
        return
    boundary = resource.get("permissionsBoundary")
    expected = " or ".join(context.boundary_arns)
    if not boundary:
        yield f"{resource.describe()} has no permissions boundary; the stack requires {expected}"
    elif boundary not in context.boundary_arns:
        yield f"{resource.describe()} has permissions boundary {boundary}, not the stack's {expected}"


NAME_RE = re.compile(r"^[\w+=,.@-]+$")
PATH_RE = re.compile(r"^(?:/|/[\x21-\x7E]+/)$")


@rule(
    "iam-limits",
    "Role names, paths, trust policies and customer managed policies fit IAM's limits.",
)
def iam_limits(resource: ResourceView, context: Context) -> Iterator[str]:
    limits = context.limits
    if resource.type not in (ROLE, POLICY):
        return
    name = resource.get("name")
    if resource.type == ROLE and isinstance(name, str):
        if len(name) > limits.role_name:
            yield f"{resource.describe()}: the name is {len(name)} characters, over IAM's {limits.role_name}"
        if not NAME_RE.match(name):
            yield f"{resource.describe()}: the name may hold only letters, digits and +=,.@_-"
    path = resource.get("path")
    if isinstance(path, str):
        if not PATH_RE.match(path):
            yield f"{resource.describe()}: path {path!r} must be '/' or start and end with '/' (printable ASCII, no spaces)"
        if len(path) > limits.path:
            yield f"{resource.describe()}: path is {len(path)} characters, over IAM's {limits.path}"
    trust = trust_document(resource)
    if trust is not None and minified_size(trust) > limits.trust_policy_size:
        yield (
            f"{resource.describe()}: trust policy is {minified_size(trust)} characters minified, over the "
            f"{limits.trust_policy_size} the account allows"
        )
    if resource.type == POLICY:
        doc = parse_document(resource.props.get("policy"))
        if doc is not None and minified_size(doc) > limits.managed_policy_size:
            yield (
                f"{resource.describe()} is {minified_size(doc)} characters minified, over IAM's "
                f"{limits.managed_policy_size} for a managed policy"
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
                doc = parse_document(inline.get("policy")) if isinstance(inline, Mapping) else None
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
            doc = parse_document(resource.props.get("policy"))
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


def evaluate_resource(rule_name: str, resource: ResourceView, context: Context) -> list[Violation]:
    """One resource-scope rule on one resource (what a ResourceValidationPolicy runs)."""
    entry = RULES[rule_name]
    level = context.level(rule_name)
    if level == DISABLED or entry.scope != "resource":
        return []
    return [Violation(rule_name, resource.type, resource.name, m, level) for m in entry.check(resource, context)]


def evaluate_stack(rule_name: str, resources: Sequence[ResourceView], context: Context) -> list[Violation]:
    """One rule over every resource of the stack (what a StackValidationPolicy runs)."""
    entry = RULES[rule_name]
    level = context.level(rule_name)
    if level == DISABLED:
        return []
    if entry.scope == "resource":
        return [v for r in resources for v in evaluate_resource(rule_name, r, context)]
    return [Violation(rule_name, t, n, m, level) for t, n, m in entry.check(resources, context)]


def evaluate(resources: Sequence[ResourceView], context: Context) -> list[Violation]:
    """Every rule over every resource, in rule order."""
    return [v for name in RULES for v in evaluate_stack(name, resources, context)]


def blocking(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == MANDATORY]


RULE_NAMES = tuple(RULES)
