"""Judge a plan: the guardrail rules and the offline IAM validator over what the program registered.

The same rules the policy pack runs at `pulumi preview`, on the same props (the registered
inputs; an output where the input is missing or not known, e.g. a trust built in `apply()`).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from agent_iam.guardrails import rules
from agent_iam.guardrails.rules import ResourceView, Violation
from agent_iam.stack_config import StackSettings

from .run import PlanRun

PROVIDER_PREFIX = "pulumi:providers:aws"


@dataclass(frozen=True)
class AcceptedRow:
    """One `acceptedFindings` entry and what it covers, for plan.json and access.md."""

    key: str  # the entry's config key, e.g. agent-iam:saasRoles[2]
    check: str
    sid: str
    reason: str
    document: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    findings: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.key,
            "check": self.check,
            "sid": self.sid,
            "reason": self.reason,
            "document": self.document,
            "actions": list(self.actions),
            "resources": list(self.resources),
            "findings": self.findings,
        }


@dataclass
class Judgement:
    """What the plan found: guardrail violations, IAM findings (the validator's and the peer
    scanner's), Kubernetes schema problems, and the reviewed acceptances that cover some of them."""

    violations: list[Violation] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)  # guardrails.iam_validation.Finding
    manifest_problems: list[str] = field(default_factory=list)  # Kubernetes schema, strict
    accepted: list[AcceptedRow] = field(default_factory=list)
    entries: dict[str, str] = field(default_factory=dict)  # role name -> the config entry that makes it

    def entry_of_violation(self, violation: Violation) -> str | None:
        return self.entries.get(violation.role or "")

    def entry_of_finding(self, finding: Any) -> str | None:
        """The entry a finding's document belongs to (its label names the role)."""
        match = re.search(r"role '([^']+)'", finding.label)
        return self.entries.get(match.group(1)) if match else None

    @property
    def blocking_violations(self) -> list[Violation]:
        return rules.blocking(self.violations)

    @property
    def blocking_findings(self) -> list[Any]:
        return [f for f in self.findings if f.blocking]

    @property
    def blocked(self) -> bool:
        return bool(self.blocking_violations or self.blocking_findings or self.manifest_problems)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """A value with Pulumi's secret wrappers removed (the plan only holds redacted secrets)."""
    if type(value) in _SCALARS:  # most values: answered without the Mapping ABC's isinstance check
        return value
    if isinstance(value, Mapping):
        if value.get(_special_sig_key) == _special_secret_sig:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _known(value: Any) -> bool:
    return value is not None and not rules.is_unknown(value)


def props_of(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Registered inputs, filled in from outputs where an input is missing or unknown."""
    props = {k: v for k, v in _plain(dict(outputs)).items() if _known(v)}
    props.update({k: v for k, v in _plain(dict(inputs)).items() if _known(v)})
    return props


def _allowed_account(inputs: Mapping[str, Any]) -> str | None:
    allowed = inputs.get("allowedAccountIds")
    if isinstance(allowed, str):
        try:
            allowed = json.loads(allowed)
        except ValueError:
            allowed = [allowed]
    return str(allowed[0]) if isinstance(allowed, list) and len(allowed) == 1 else None


def resource_views(run: PlanRun, default_account: str | None) -> list[ResourceView]:
    """Every custom resource as the rules see it, with the account of the provider it goes through."""
    accounts = {r.urn: _allowed_account(r.inputs) for r in run.resources if r.type.startswith(PROVIDER_PREFIX)}
    views = []
    for r in run.resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        account = accounts.get(r.provider) if r.provider else None
        views.append(ResourceView(r.type, r.name, props_of(r.inputs, r.outputs), account or default_account, r.urn))
    return views


@dataclass(frozen=True)
class PlanDocument:
    """One IAM document of the plan: its label, kind, content, the roles it applies to, and for an
    attached AWS managed policy its name."""

    label: str
    kind: str  # "trust" or "identity"
    document: dict[str, Any]
    roles: tuple[str, ...]
    managed_policy: str | None = None


def plan_documents(views: Sequence[ResourceView]) -> list[PlanDocument]:
    """Every trust and identity document of the plan, and the current content of every AWS managed
    policy a role attaches, each with the role(s) it belongs to."""
    from agent_iam.iam import managed_policies

    attached: dict[str, list[str]] = {}  # policy ARN -> roles
    for view in views:
        role = rules.role_of(view)
        for arn in rules.attached_policy_arns(view):
            if role:
                attached.setdefault(arn, []).append(role)
    docs: list[PlanDocument] = []
    for view in views:
        role = rules.role_of(view)
        trust = rules.trust_document(view)
        if trust is not None:
            docs.append(PlanDocument(f"{view.describe()} trust policy", "trust", trust, (role,) if role else ()))
        for what, doc in rules.identity_documents(view):
            if view.type == rules.ROLE_POLICY:
                what = f"{what} of role {view.get('role')!r}"
            owners = (role,) if role else tuple(attached.get(str(view.get("arn")), ()))
            docs.append(PlanDocument(what, "identity", doc, owners))
    for arn, roles in attached.items():
        document = managed_policies.document(arn)
        if document is not None:
            name = managed_policies.name_of(arn)
            for role in dict.fromkeys(roles):
                docs.append(PlanDocument(f"AWS managed policy {name!r} of role {role!r}", "identity", document, (role,), name))
    return docs


def iam_documents(views: Sequence[ResourceView]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, kind, document) for every trust and identity policy the stack writes (what the IAM
    validator checks; AWS's own managed policies are not the stack's to fix)."""
    return [(d.label, d.kind, d.document) for d in plan_documents(views) if d.managed_policy is None]


def trust_exemptions(views: Sequence[ResourceView]) -> dict[str, str]:
    """Trust-policy labels of roles tagged `agent-iam:trust-exemption`, with the reason."""
    return {
        f"{v.describe()} trust policy": v.tag(rules.TRUST_EXEMPTION_TAG)
        for v in views
        if v.type == rules.ROLE and v.tag(rules.TRUST_EXEMPTION_TAG)
    }


def covered_by_trust_exemption(finding: Any) -> bool:
    """The validator's findings a reviewed trust exemption covers: a trust statement with no
    narrowing condition (`sensitive_action` on sts:AssumeRole; a service principal without
    `aws:SourceAccount`/`aws:SourceArn`). Never an error, never a principal/action mismatch."""
    if finding.kind != "trust" or finding.severity == "error":
        return False
    if finding.check == "sensitive_action":
        return finding.action == "sts:AssumeRole"
    return (
        finding.check == "trust_policy_validation"
        and finding.action is None
        and finding.message.startswith("Statement allows service principal")
        and "aws:SourceAccount" in finding.message
    )


def exempt(findings: Sequence[Any], exemptions: Mapping[str, str]) -> list[Any]:
    """Mark the findings on an exempted role's trust that the exemption covers (they stop blocking)."""
    out = []
    for finding in findings:
        reason = exemptions.get(finding.label)
        if reason and covered_by_trust_exemption(finding):
            finding = dataclasses.replace(finding, exemption=f"{rules.TRUST_EXEMPTION_TAG}: {reason}")
        out.append(finding)
    return out


def judge(
    run: PlanRun, settings: StackSettings, services_dir: Path | None = None, cache_dir: Path | None = None
) -> Judgement:
    """Guardrail violations at the stack's levels, IAM findings on every document (the validator's
    and the peer scanner's), Kubernetes schema problems in every manifest, and the stack file's
    acceptances applied (an acceptance that matches nothing is a ConfigError).

    With `cache_dir`, IAM findings and manifest results are kept there by content, per stack,
    so the next plan of the stack checks only the documents and manifests that changed.
    """
    from agent_iam.guardrails.iam_validation import validate_documents
    from agent_iam.guardrails.k8s_validation import validate_manifests
    from agent_iam.guardrails.peer_scan import Document, scan_documents

    from .render import kubernetes_manifest_files

    def cache(checker: str) -> Path | None:
        return cache_dir / f"{checker}.{run.stack}.json" if cache_dir is not None else None

    views = resource_views(run, settings.account_id)
    violations = rules.evaluate(views, settings.guardrail_context())
    documents = plan_documents(views)
    own = [(d.label, d.kind, d.document) for d in documents if d.managed_policy is None]
    findings = validate_documents(own, services_dir, cache("iam-findings"), trust_policy_size=settings.limits.trust_policy_size)
    findings = exempt(findings, trust_exemptions(views))
    peer = [Document(d.label, d.document, d.managed_policy) for d in documents if d.kind == "identity"]
    findings += scan_documents(peer, cache("peer-findings"))
    violations, findings, accepted = apply_acceptances(settings, documents, views, violations, findings)
    manifests = kubernetes_manifest_files(run)
    problems = validate_manifests(manifests, cache_file=cache("k8s-problems")) if manifests else []
    entries = {planned.spec.name: unit.key for unit in settings.units() for planned in unit.roles}
    return Judgement(violations, findings, problems, accepted, entries)


def _statement(doc: PlanDocument, sid: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(actions, resources) of the statement `sid` of a document (an AWS managed policy: all of it)."""
    if doc.managed_policy is not None and doc.managed_policy == sid:
        return (f"every statement of AWS managed policy {sid}",), ("as the policy grants",)
    for statement in rules.statements(doc.document):
        if statement.get("Sid") == sid:
            actions = rules.strings(statement.get("Action")) or [f"NotAction {a}" for a in rules.strings(statement.get("NotAction"))]
            resources = rules.strings(statement.get("Resource")) or [
                f"NotResource {r}" for r in rules.strings(statement.get("NotResource"))
            ]
            principal = statement.get("Principal")
            if principal and not resources:
                resources = [json.dumps(principal, sort_keys=True)]
            return tuple(actions), tuple(resources)
    return (), ()


def apply_acceptances(
    settings: StackSettings,
    documents: Sequence[PlanDocument],
    views: Sequence[ResourceView],
    violations: list[Violation],
    findings: list[Any],
) -> tuple[list[Violation], list[Any], list[AcceptedRow]]:
    """Mark what each entry's `acceptedFindings` cover. Each acceptance must match findings of its
    check on exactly one statement (one document, one Sid) of the entry's own roles; one that
    matches nothing, or statements of several documents, is a ConfigError naming it."""
    from agent_iam.stack_config import ConfigError, stack_file
    from agent_iam.stack_config.errors import key_path

    source = stack_file(settings.stack)
    problems: list[str] = []
    rows: list[AcceptedRow] = []
    by_view = {(v.type, v.name): v for v in views}

    # Indexes built once, so that each entry's acceptances look at its own roles' violations, findings
    # and documents only (scanning the whole stack per entry grows with entries x roles). Each index
    # keeps the stack's order: a lookup gives the same items, in the same order, as the full scan.
    docs_by_key: dict[str, list[int]] = defaultdict(list)
    docs_by_managed: dict[Any, list[int]] = defaultdict(list)
    for i, d in enumerate(documents):
        for key in dict.fromkeys((d.label, d.label.split(" of role ")[0])):
            docs_by_key[key].append(i)
        docs_by_managed[d.managed_policy].append(i)

    def docs_of_view(view: ResourceView) -> list[PlanDocument]:
        """The documents of one view: its trust policy and identity documents, by label."""
        labels = {f"{view.describe()} trust policy"} | {w for w, _ in rules.identity_documents(view)}
        return [documents[i] for i in sorted({i for label in labels for i in docs_by_key.get(label, ())})]

    by_label = {d.label: d for d in documents}
    violations_by_role: dict[Any, list[int]] = defaultdict(list)
    for i, v in enumerate(violations):
        violations_by_role[v.role].append(i)
    findings_by_role: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        for role in _roles_of(f, by_label):
            findings_by_role[role].append(i)
    for unit in settings.units():
        if not unit.accepted_findings:
            continue
        roles = {planned.spec.name for planned in unit.roles}
        own_violations = sorted({i for role in roles for i in violations_by_role.get(role, ())})
        own_findings = sorted({i for role in roles for i in findings_by_role.get(role, ())})
        checks_here = sorted(
            {violations[i].rule for i in own_violations if not violations[i].accepted}
            | {findings[i].check for i in own_findings if findings[i].severity in ("error", "critical", "high")}
        )
        for index, acceptance in enumerate(unit.accepted_findings):
            where = key_path("agent-iam", (*_key_parts(unit.key), "acceptedFindings", index))
            hit_violations = [
                i for i in own_violations if violations[i].rule == acceptance.check and violations[i].sid == acceptance.sid
            ]
            hit_findings = [
                i
                for i in own_findings
                if findings[i].check == acceptance.check and _sid_of(findings[i], by_label) == acceptance.sid
            ]
            places = {("v", violations[i].resource_type, violations[i].resource_name) for i in hit_violations}
            places |= {("f", findings[i].label) for i in hit_findings}
            if not places:
                if getattr(acceptance, "preset", None):
                    continue  # a vendor preset's acceptance whose finding the entry narrowed away
                hint = ""
                close = difflib.get_close_matches(acceptance.check, checks_here, n=1)
                sids = sorted(
                    {str(violations[i].sid) for i in own_violations
                     if violations[i].rule == acceptance.check and violations[i].sid}
                    | {
                        str(_sid_of(findings[i], by_label))
                        for i in own_findings
                        if findings[i].check == acceptance.check and _sid_of(findings[i], by_label)
                    }
                )
                if sids:
                    hint = f" ({acceptance.check} findings of this entry are on statements {', '.join(sids)})"
                elif close:
                    hint = f"; did you mean check {close[0]!r}?"
                elif checks_here:
                    hint = f" (checks with findings on this entry: {', '.join(checks_here)})"
                else:
                    hint = " (this entry's policies have no findings left to accept: remove it)"
                problems.append(
                    f"{source}: {where}: accepts {acceptance.check} on statement {acceptance.sid!r}, but "
                    f"no such finding is on a statement of this entry's roles{hint}"
                )
                continue
            if len(places) > 1 and len({p[-1] for p in places if p[0] == "f"} | {p[2] for p in places if p[0] == "v"}) > 1:
                documents_hit = sorted({p[-1] for p in places})
                problems.append(
                    f"{source}: {where}: {acceptance.check} on statement {acceptance.sid!r} matches findings "
                    f"in {len(documents_hit)} documents ({', '.join(documents_hit)}); give the statements distinct Sids"
                )
                continue
            reason = f"accepted in {unit.key}: {acceptance.reason}"
            for i in hit_violations:
                violations[i] = dataclasses.replace(violations[i], accepted=acceptance.reason)
            for i in hit_findings:
                findings[i] = dataclasses.replace(findings[i], exemption=reason)
            doc = None
            if hit_findings:
                doc = by_label.get(findings[hit_findings[0]].label)
            else:
                view = by_view.get((violations[hit_violations[0]].resource_type, violations[hit_violations[0]].resource_name))
                candidates = docs_of_view(view) if view else []
                if not candidates and view is not None:  # an attachment: the managed policy's content
                    candidates = [documents[i] for i in docs_by_managed.get(acceptance.sid, ()) if set(documents[i].roles) & roles]
                doc = next((d for d in candidates if _statement(d, acceptance.sid) != ((), ())), None)
            actions, resources = _statement(doc, acceptance.sid) if doc else ((), ())
            label = doc.label if doc else (violations[hit_violations[0]].resource_name if hit_violations else "")
            rows.append(
                AcceptedRow(unit.key, acceptance.check, acceptance.sid, acceptance.reason, label, actions, resources,
                            len(hit_violations) + len(hit_findings))
            )
    if problems:
        raise ConfigError(problems)
    return violations, findings, rows


_ACTION_IN_MESSAGE = re.compile(r"`+([a-z0-9-]+:[A-Za-z0-9*?]+)`")


def _sid_of(finding: Any, by_label: Mapping[str, PlanDocument]) -> str | None:
    """The Sid a finding is on. A finding about the whole document (the validator's "across
    statements" combinations) is on the statement that grants the most sensitive action it names
    (iam:PassRole before credential reads before changes: the same whatever order it lists them)."""
    if finding.sid:
        return finding.sid
    doc = by_label.get(finding.label)
    named = sorted(set(_ACTION_IN_MESSAGE.findall(finding.message or "")), key=lambda a: (rules.severity_rank(a), a))
    if doc is None or not named:
        return None
    for _, statement in rules.allow_statements(doc.document):
        if named[0].lower() in {a.lower() for a in rules.granted_actions(statement)}:
            sid = statement.get("Sid")
            return sid if isinstance(sid, str) and sid else None
    return None


def pack_acceptances(settings: StackSettings) -> dict[str, list[dict[str, str]]]:
    """The stack file's acceptances of guardrail rules as the policy pack's config takes them,
    `{rule: [{sid, role, reason}]}` (one item per role of the entry), so `pulumi preview` with the
    pack gives the plan's verdict. Validator and peer-scanner checks are the plan's own."""
    out: dict[str, list[dict[str, str]]] = {}
    for unit in settings.units():
        for acceptance in unit.accepted_findings:
            if acceptance.check not in rules.RULES:
                continue
            for planned in unit.roles:
                item = {"sid": acceptance.sid, "role": planned.spec.name, "reason": acceptance.reason}
                out.setdefault(acceptance.check, []).append(item)
    return out


def _roles_of(finding: Any, by_label: Mapping[str, PlanDocument]) -> set[str]:
    doc = by_label.get(finding.label)
    return set(doc.roles) if doc else set()


def _key_parts(key: str) -> tuple[str | int, ...]:
    """`agent-iam:saasRoles[2]` -> ("saasRoles", 2)."""
    name = key.split(":", 1)[1]
    family, _, rest = name.partition("[")
    return (family, int(rest.rstrip("]"))) if rest else (family,)


def stack_settings(stack: str, config: Mapping[str, Any], secret_keys: Sequence[str] = ()) -> StackSettings:
    """The stack's validated settings from stack-file config (full `namespace:key` keys)."""
    from agent_iam.stack_config import NAMESPACE, load_settings

    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    secret = frozenset(k[len(prefix):] for k in secret_keys if k.startswith(prefix))
    region = config.get("aws:region")
    return load_settings(values, stack=stack, region=region if isinstance(region, str) else None, secret_keys=secret)


def judgement_document(judgement: Judgement) -> dict[str, Any]:
    """The plan.json keys: every guardrail violation, the IAM findings (worst first), manifest
    problems, and the stack file's accepted findings with the statements they cover."""
    def with_entry(item: dict[str, Any], entry: str | None) -> dict[str, Any]:
        return {"entry": entry, **item} if entry else item

    return {
        "violations": [with_entry(v.to_dict(), judgement.entry_of_violation(v)) for v in judgement.violations],
        "iamFindings": [with_entry(f.to_dict(), judgement.entry_of_finding(f)) for f in judgement.findings],
        "manifestProblems": judgement.manifest_problems,
        "acceptedFindings": [row.to_dict() for row in judgement.accepted],
    }


def accepted_section(judgement: Judgement) -> str:
    """access.md's section on reviewed exceptions: what each accepts, on which statement, and why."""
    if not judgement.accepted:
        return ""
    out = ["## Accepted findings", "", "Reviewed exceptions from the stack file (`acceptedFindings`): these findings do "
           "not block the plan.", "", "| entry | check | statement | actions | resources | reason |",
           "| --- | --- | --- | --- | --- | --- |"]
    for row in judgement.accepted:
        out.append(
            f"| `{row.key}` | `{row.check}` | `{row.sid}` in {row.document} | {', '.join(row.actions) or '-'} | "
            f"{'<br>'.join(f'`{r}`' for r in row.resources) or '-'} | {row.reason} |"
        )
    return "\n".join(out) + "\n"


def _finding_line(finding: Any) -> str:
    action = f" {finding.action}:" if finding.action and finding.action not in finding.message else ""
    line = f"[{finding.severity} {finding.check}] {finding.where()}:{action} {finding.message}"
    return f"{line} (exempted by {finding.exemption})" if finding.exemption else line


def print_judgement(judgement: Judgement, console: Any, limit: int | None = None) -> None:
    """Panels: mandatory violations and blocking findings in red, advisories in yellow.
    With `limit` (a large plan's summary), at most that many lines per rule or check."""
    from rich.markup import escape
    from rich.panel import Panel

    from .render import grouped

    def panel(lines: list[tuple[str, str]], title: str, style: str) -> None:
        shown = grouped(lines, limit) if limit is not None else [text for _, text in lines]
        if shown:
            console.print(Panel("\n".join(escape(f"• {line}") for line in shown), title=title, border_style=style))

    def line(v: Violation) -> str:
        entry = judgement.entry_of_violation(v)
        return f"[{v.rule}] {entry + ': ' if entry else ''}{v.message}"

    def finding(f: Any) -> str:
        entry = judgement.entry_of_finding(f)
        return f"{entry + ': ' if entry else ''}{_finding_line(f)}"

    mandatory = judgement.blocking_violations
    # Each violation and finding says whether it blocks (what blocking_violations and
    # blocking_findings select by), so the rest is found without a list test per item.
    advisory = [v for v in judgement.violations if not v.blocking and not v.accepted]
    accepted = [v for v in judgement.violations if v.accepted]
    panel([(v.rule, line(v)) for v in mandatory], "guardrail violations (mandatory: the plan fails)", "red")
    panel([(v.rule, line(v)) for v in advisory], "guardrail violations (advisory)", "yellow")
    panel([(v.rule, f"{line(v)} (accepted: {v.accepted})") for v in accepted], "guardrail violations (accepted)", "yellow")
    blocking = judgement.blocking_findings
    panel(
        [(f.check, finding(f)) for f in blocking],
        "IAM validation: errors and critical/high findings (the plan fails)",
        "red",
    )
    panel([("problems", p) for p in judgement.manifest_problems], "Kubernetes manifests: schema problems (the plan fails)", "red")
    panel(
        [(f.check, finding(f)) for f in judgement.findings if not f.blocking],
        "IAM validation: advisories (warning/medium, exempted)",
        "yellow",
    )


def blocked_summary(judgement: Judgement) -> str:
    parts = []
    if judgement.blocking_violations:
        parts.append(f"{len(judgement.blocking_violations)} mandatory guardrail violation(s)")
    if judgement.blocking_findings:
        parts.append(f"{len(judgement.blocking_findings)} blocking IAM finding(s)")
    if judgement.manifest_problems:
        parts.append(f"{len(judgement.manifest_problems)} invalid Kubernetes manifest(s)")
    return " and ".join(parts)
