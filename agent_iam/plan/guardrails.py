"""Judge a plan: the guardrail rules and the offline IAM validator over what the program registered.

The same rules the policy pack runs at `pulumi preview`, on the same props (the registered
inputs; an output where the input is missing or not known, e.g. a trust built in `apply()`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam.guardrails import rules
from agent_iam.guardrails.acceptance import TRUST_DOCUMENT, Key, RoleKey, distinct_documents
from agent_iam.guardrails.rules import ResourceView, Violation
from agent_iam.stack_config import StackSettings

from .decisions import Places, acceptable, check_of
from .run import PlanRun
from .views import PROVIDER_PREFIX, _allowed_account, props_of, registration_views, resource_views, views_from_plan

__all__ = ["PROVIDER_PREFIX", "_allowed_account", "props_of", "registration_views", "resource_views", "views_from_plan"]

ACCEPTED_IN = "accepted in "  # how an IAM finding an entry's acceptedFindings covers is marked (its exemption)


def accepted_by_entry(finding: Any) -> bool:
    """Whether a stack file's acceptance covers the finding (not agent-iam's own reviewed exceptions)."""
    return bool(finding.exemption) and finding.exemption.startswith(ACCEPTED_IN)


@dataclass(frozen=True)
class AcceptedRow:
    """One `acceptedFindings` entry and what it covers, for plan.json and access.md."""

    key: str  # the entry's config key, e.g. agent-iam:saasRoles[2]
    accepted: Key  # what the entry wrote (its reason aside)
    reason: str
    where: str  # the place in words: `statement #4 of document 'x' of role 'y'`
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    findings: int

    @property
    def check(self) -> str:
        return self.accepted.check

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.key,
            **self.accepted.to_dict(),
            "reason": self.reason,
            "where": self.where,
            "actions": list(self.actions),
            "resources": list(self.resources),
            "findings": self.findings,
        }


@dataclass
class Judgement:
    """What the plan found: guardrail violations, IAM findings (the validator's and the peer
    scanner's), Kubernetes schema problems, and the reviewed acceptances that cover some of them.
    `places` ties each violation and finding to its place and entry (`plan/decisions.py`)."""

    violations: list[Violation] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)  # guardrails.iam_validation.Finding
    manifest_problems: list[str] = field(default_factory=list)  # Kubernetes schema, strict
    accepted: list[AcceptedRow] = field(default_factory=list)
    places: Places | None = None

    def entry_of_violation(self, violation: Violation) -> str | None:
        return self.places.entry_of(violation) if self.places else None

    def entry_of_finding(self, finding: Any) -> str | None:
        """The entry that makes the role of the finding's document (by the role's account and name)."""
        return self.places.entry_of(finding) if self.places else None

    def accept_as(self, item: Any) -> Key | None:
        """The `acceptedFindings` key (without reason) that accepts this violation or finding."""
        return self.places.acceptance_of(item) if self.places else None

    @property
    def blocking_violations(self) -> list[Violation]:
        return rules.blocking(self.violations)

    @property
    def blocking_findings(self) -> list[Any]:
        return [f for f in self.findings if f.blocking]

    @property
    def blocked(self) -> bool:
        return bool(self.blocking_violations or self.blocking_findings or self.manifest_problems)


@dataclass(frozen=True)
class PlanDocument:
    """One IAM document of the plan: its label (unique in the plan), kind, content, the roles it
    applies to (account and name), its name as the plan shows it (a policy's name, `trust`, an AWS
    managed policy's name), the resource it is registered on, and for an attached AWS managed
    policy its name."""

    label: str
    kind: str  # "trust" or "identity"
    document: dict[str, Any]
    roles: tuple[RoleKey, ...]
    managed_policy: str | None = None
    name: str = ""
    source: tuple[str, str] | None = None  # (resource type, logical name)

    @functools.cached_property
    def model(self) -> Any:
        """The document as the one model reads it (typed statements, numbered from 1; parsed once per
        content); None when IAM would refuse it (the IAM validator says why)."""
        from agent_iam.model import parse_document

        try:
            return parse_document(self.document, name=self.label)
        except ValueError:
            return None


def plan_documents(views: Sequence[ResourceView], context: rules.Context | None = None) -> list[PlanDocument]:
    """Every trust and identity document of the plan, and the current content of every AWS managed
    policy a role attaches, each with the role(s) it belongs to. A label two documents would share
    (roles of the same name in two accounts) names the account."""
    from agent_iam.iam import managed_policies

    context = context or rules.Context()

    def role_key(view: ResourceView) -> RoleKey | None:
        name = rules.role_of(view)
        if not name:
            return None
        account = rules.role_account(view, context) if view.type == rules.ROLE else view.account or context.account_id
        return RoleKey(account, name)

    attached: dict[str, list[RoleKey]] = {}  # policy ARN -> roles
    for view in views:
        role = role_key(view)
        for arn in rules.attached_policy_arns(view):
            if role:
                attached.setdefault(arn, []).append(role)
    docs: list[PlanDocument] = []
    for view in views:
        role = role_key(view)
        trust = rules.trust_document(view)
        source = (view.type, view.name)
        if trust is not None:
            docs.append(PlanDocument(f"{view.describe()} trust policy", "trust", trust, (role,) if role else (),
                                     name=TRUST_DOCUMENT, source=source))
        for name, what, doc in rules.named_identity_documents(view):
            if view.type == rules.ROLE_POLICY:
                what = f"{what} of role {view.get('role')!r}"
            owners = (role,) if role else tuple(attached.get(str(view.get("arn")), ()))
            docs.append(PlanDocument(what, "identity", doc, owners, name=name, source=source))
    for arn, roles in attached.items():
        document = managed_policies.document(arn)
        if document is not None:
            name = managed_policies.name_of(arn)
            for role in dict.fromkeys(roles):
                label = f"AWS managed policy {name!r} of role {role.name!r}"
                docs.append(PlanDocument(label, "identity", document, (role,), name, name))
    return _unique_labels(docs)


def _unique_labels(docs: list[PlanDocument]) -> list[PlanDocument]:
    """Documents whose labels repeat (the same role name in two accounts) get their account in the label."""
    counts: dict[str, int] = defaultdict(int)
    for doc in docs:
        counts[doc.label] += 1
    if all(n == 1 for n in counts.values()):
        return docs
    out = []
    for doc in docs:
        if counts[doc.label] > 1:
            accounts = sorted({r.account or "unknown" for r in doc.roles}) or ["unknown"]
            doc = dataclasses.replace(doc, label=f"{doc.label} in account {', '.join(accounts)}")
        out.append(doc)
    return out


def iam_documents(views: Sequence[ResourceView]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, kind, document) for every trust and identity policy the stack writes (what the IAM
    validator checks; AWS's own managed policies are not the stack's to fix)."""
    return [(d.label, d.kind, d.document) for d in plan_documents(views) if d.managed_policy is None]


def trust_exemptions(views: Sequence[ResourceView], documents: Sequence[PlanDocument]) -> dict[str, str]:
    """Trust-policy labels of roles tagged `agent-iam:trust-exemption`, with the reason."""
    tagged = {(v.type, v.name): v.tag(rules.TRUST_EXEMPTION_TAG) for v in views if v.type == rules.ROLE}
    return {d.label: tagged[d.source] for d in documents if d.kind == "trust" and d.source and tagged.get(d.source)}


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
    context = settings.guardrail_context()
    violations = rules.evaluate(views, context)
    documents = plan_documents(views, context)
    own = [(d.label, d.kind, d.document) for d in documents if d.managed_policy is None]
    findings = validate_documents(own, services_dir, cache("iam-findings"), trust_policy_size=settings.limits.trust_policy_size)
    findings = exempt(findings, trust_exemptions(views, documents))
    peer = [Document(d.label, d.document, d.managed_policy) for d in documents if d.kind == "identity"]
    findings += scan_documents(peer, cache("peer-findings"))
    places = Places(settings, views, documents, context)
    violations, findings, accepted = apply_acceptances(settings, documents, views, violations, findings, places=places)
    manifests = kubernetes_manifest_files(run)
    problems = validate_manifests(manifests, cache_file=cache("k8s-problems")) if manifests else []
    return Judgement(violations, findings, problems, accepted, places)


def _statement_content(statements: Sequence[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(actions, resources) of typed statements, as written (a trust statement's principals for resources)."""
    actions: list[str] = []
    resources: list[str] = []
    for statement in statements:
        written = [str(a) for a in statement.action]
        actions += [f"NotAction {a}" for a in written] if statement.not_action else written
        found = [str(r) for r in statement.resource or ()]
        if statement.not_resource:
            found = [f"NotResource {r}" for r in found]
        if statement.principal and not found:
            principals = ", ".join(str(p) for p in statement.principal)
            found = [f"NotPrincipal {principals}" if statement.not_principal else principals]
        resources += found
    return tuple(dict.fromkeys(actions)), tuple(dict.fromkeys(resources))


def apply_acceptances(
    settings: StackSettings,
    documents: Sequence[PlanDocument],
    views: Sequence[ResourceView],
    violations: list[Violation],
    findings: list[Any],
    *,
    places: Places | None = None,
) -> tuple[list[Violation], list[Any], list[AcceptedRow]]:
    """Mark what each entry's `acceptedFindings` cover. An acceptance matches the findings of its check
    at the place it names (guardrails/acceptance.py) on the entry's own roles, each role known by its
    account and name; one that matches nothing, or findings in several documents, is a ConfigError
    naming its key, with the keys that would match."""
    from agent_iam.stack_config import ConfigError, stack_file
    from agent_iam.stack_config.errors import key_path

    units = [unit for unit in settings.units() if unit.accepted_findings]
    if not units:
        return violations, findings, []
    if places is None:
        places = Places(settings, views, documents, settings.guardrail_context())
    source = stack_file(settings.stack)
    problems: list[str] = []
    rows: list[AcceptedRow] = []

    # Each item's places, indexed by role once, so an entry's acceptances look at its own roles' items
    # only (scanning the whole stack per entry grows with entries x roles).
    by_role: dict[RoleKey, list[tuple[str, int, Any]]] = defaultdict(list)
    for kind, items, locate in (("v", violations, places.of_violation), ("f", findings, places.of_finding)):
        for i, found in enumerate(items):
            if not acceptable(found):  # an invalid document is fixed, never accepted
                continue
            for place in locate(found):
                if place.role in places.roles:
                    by_role[place.role].append((kind, i, place))

    def item(kind: str, i: int) -> Any:
        return violations[i] if kind == "v" else findings[i]

    def blocks_when_unaccepted(kind: str, i: int) -> bool:
        found = item(kind, i)
        return not found.accepted if kind == "v" else found.severity in ("error", "critical", "high") and not found.exemption

    for unit in units:
        own = [entry for role in places.entry_roles.get(unit.key, ()) for entry in by_role.get(role, ())]
        refs = places.role_refs(unit.key)
        for index, acceptance in enumerate(unit.accepted_findings):
            key = acceptance.key
            where = key_path("agent-iam", (*_key_parts(unit.key), "acceptedFindings", index))
            if key.role is not None and key.role not in refs:
                known = ", ".join(sorted(refs)) or "none"
                problems.append(f"{source}: {where}: role {key.role!r} is not a role of this entry (its roles: {known})")
                continue
            hits = [(kind, i, place) for kind, i, place in own
                    if key.matches(check_of(item(kind, i)), place, places.kind_of(place.role))]
            if not hits:
                if getattr(acceptance, "preset", None):
                    continue  # a vendor preset's acceptance whose finding the entry narrowed away
                problems.append(f"{source}: {where}: accepts {key.text()}, but no such finding is on this entry's roles"
                                + _did_you_mean(key, own, item, blocks_when_unaccepted, places))
                continue
            spans = distinct_documents(place for _, _, place in hits)
            if len(spans) > 1:
                keys = sorted({places.accept_as(key.check, place).text() for _, _, place in hits})  # type: ignore[union-attr]
                problems.append(
                    f"{source}: {where}: accepts {key.text()}, which matches findings in {len(spans)} documents or roles; "
                    f"name one: {'; '.join(keys)}"
                )
                continue
            reason = f"{ACCEPTED_IN}{unit.key}: {acceptance.reason}"
            for kind, i, _ in hits:
                if kind == "v":
                    violations[i] = dataclasses.replace(violations[i], accepted=acceptance.reason)
                else:
                    findings[i] = dataclasses.replace(findings[i], exemption=reason)
            kind, i, place = hits[0]
            statements = places.statements_at(item(kind, i))
            if place.whole:
                content: tuple[tuple[str, ...], tuple[str, ...]] = (
                    (f"every statement of AWS managed policy {place.document}",), ("as the policy grants",))
            else:
                content = _statement_content(statements)
            role = f" of role {place.role.name!r}" if place.role else ""
            rows.append(AcceptedRow(unit.key, key, acceptance.reason, f"{place.describe()}{role}", *content,
                                    len({(k, n) for k, n, _ in hits})))
    if problems:
        raise ConfigError(problems)
    return violations, findings, rows


def _did_you_mean(key: Key, own: Sequence[tuple[str, int, Any]], item: Any, blocking: Any, places: Places) -> str:
    """The keys that would match: this check's findings on the entry's roles, else the checks found there."""
    same = [
        places.accept_as(key.check, place) for kind, i, place in own
        if check_of(item(kind, i)) == key.check and blocking(kind, i)
    ]
    texts = list(dict.fromkeys(k.text() for k in same if k is not None))
    if texts:
        shown = "; ".join(texts[:10]) + (f"; and {len(texts) - 10} more" if len(texts) > 10 else "")
        return f"; did you mean {shown}?"
    checks = sorted({check_of(item(kind, i)) for kind, i, _ in own if blocking(kind, i)})
    close = difflib.get_close_matches(key.check, checks, n=1)
    if close:
        return f"; did you mean check {close[0]!r}?"
    if checks:
        return f" (checks with findings on this entry: {', '.join(checks)})"
    return " (this entry's roles have no findings left to accept: remove it)"


def pack_acceptances(settings: StackSettings) -> dict[str, list[dict[str, Any]]]:
    """The stack file's acceptances of guardrail rules as the policy pack's config takes them,
    `{rule: [{<where>, role, account, reason}]}` (one item per role of the entry the key names),
    so `pulumi preview` with the pack gives the plan's verdict. Validator and peer-scanner checks
    are the plan's own."""
    from agent_iam.guardrails.acceptance import role_kind

    out: dict[str, list[dict[str, Any]]] = {}
    for unit in settings.units():
        for acceptance in unit.accepted_findings:
            if acceptance.check not in rules.RULES:
                continue
            key = acceptance.key
            where = {k: v for k, v in key.to_dict().items() if k not in ("check", "role")}
            for planned in unit.roles:
                if key.role is not None and key.role not in (role_kind(planned.label), planned.spec.name):
                    continue
                account = planned.account_id or unit.target.account_id
                item = {**where, "role": planned.spec.name, **({"account": account} if account else {}),
                        "reason": acceptance.reason}
                out.setdefault(acceptance.check, []).append(item)
    return out


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
    problems, and the stack file's accepted findings with the statements they cover. Each violation
    and each critical/high finding of an entry's role (but those agent-iam's own reviewed exceptions
    cover) carries `acceptAs`: with a `reason` added, the `acceptedFindings` item of that entry that
    accepts it. An error (the document is wrong) carries none: it is fixed."""
    from agent_iam.guardrails.iam_validation import BLOCKING

    def own_exception(finding: Any) -> bool:
        return bool(finding.exemption) and not accepted_by_entry(finding)

    def with_entry(item: Any, data: dict[str, Any], entry: str | None, decision: bool) -> dict[str, Any]:
        key = judgement.accept_as(item) if decision and entry else None  # None for errors: they are fixed
        return {**({"entry": entry} if entry else {}), **data, **({"acceptAs": key.to_dict()} if key else {})}

    return {
        "violations": [with_entry(v, v.to_dict(), judgement.entry_of_violation(v), True) for v in judgement.violations],
        "iamFindings": [
            with_entry(f, f.to_dict(), judgement.entry_of_finding(f), f.severity in BLOCKING and not own_exception(f))
            for f in judgement.findings
        ],
        "manifestProblems": judgement.manifest_problems,
        "acceptedFindings": [row.to_dict() for row in judgement.accepted],
    }


def accepted_section(judgement: Judgement) -> str:
    """access.md's section on reviewed exceptions: what each accepts, where, and why."""
    if not judgement.accepted:
        return ""
    out = ["## Accepted findings", "", "Reviewed exceptions from the stack file (`acceptedFindings`): these findings do "
           "not block the plan.", "", "| entry | accepts | where | actions | resources | reason |",
           "| --- | --- | --- | --- | --- | --- |"]
    for row in judgement.accepted:
        out.append(
            f"| `{row.key}` | `{row.accepted.text()}` | {row.where} | {', '.join(row.actions) or '-'} | "
            f"{'<br>'.join(f'`{r}`' for r in row.resources) or '-'} | {row.reason} |"
        )
    return "\n".join(out) + "\n"


def _finding_line(finding: Any) -> str:
    action = f" {finding.action}:" if finding.action and finding.action not in finding.message else ""
    line = f"[{finding.severity} {finding.check}] {finding.where()}:{action} {finding.message}"
    return f"{line} (exempted by {finding.exemption})" if finding.exemption else line


def print_judgement(judgement: Judgement, console: Any, limit: int | None = None, quiet: bool = False) -> None:
    """Blocking violations and findings as decisions, one red panel per entry: per check and place,
    what it grants in words, a narrower alternative where one is known, and the acceptance to paste.
    Then advisory violations in yellow, the accepted findings (`quiet`: only their count) and schema
    problems. With `limit` (a large plan's summary), at most that many entries and groups per entry."""
    from rich.markup import escape

    from .consoles import panel as fitted
    from .decisions import decision_groups
    from .render import grouped

    def panel(lines: list[tuple[str, str]], title: str, style: str) -> None:
        shown = grouped(lines, limit) if limit is not None else [text for _, text in lines]
        if shown:
            console.print(fitted("\n".join(escape(f"• {line}") for line in shown), title=title, border_style=style))

    def line(v: Violation) -> str:
        entry = judgement.entry_of_violation(v)
        return f"[{v.rule}] {entry + ': ' if entry else ''}{v.message}"

    blocking: list[Any] = [*judgement.blocking_violations, *judgement.blocking_findings]
    groups = decision_groups(judgement.places, blocking) if judgement.places else []
    by_entry: dict[str | None, list[Any]] = defaultdict(list)
    for group in groups:
        by_entry[group.entry].append(group)
    order = list(judgement.places.entry_names) if judgement.places else []
    entries = sorted((e for e in by_entry if e is not None), key=lambda e: order.index(e) if e in order else len(order))
    shown_entries = entries if limit is None else entries[:limit]
    for entry in shown_entries:
        items = by_entry[entry]
        shown = items if limit is None else items[:limit]
        name = judgement.places.entry_names.get(entry, "") if judgement.places else ""
        lines = [f"{entry} ({name}): {len(items)} decision(s) block the plan ({sum(len(g.items) for g in items)} finding(s))"]
        lines += [text for group in shown for text in _decision_lines(group)]
        if len(shown) < len(items):
            lines.append(f"... and {len(items) - len(shown)} more (plan.json lists each with its acceptAs)")
        if any(group.key for group in shown):
            lines.append("After review, each decision is accepted by its `accept:` item under this entry's acceptedFindings.")
        console.print(fitted(escape("\n".join(lines)), title="blocking decisions (the plan fails)", border_style="red"))
    if len(shown_entries) < len(entries):
        console.print(f"[red]... and {len(entries) - len(shown_entries)} more entries with blocking findings[/red] "
                      "(plan.json lists each violation and finding with its acceptAs)")
    orphans = [item for group in by_entry.get(None, []) for item in group.items]
    panel(
        [(check_of(item), line(item) if isinstance(item, Violation) else _finding_line(item)) for item in orphans],
        "blocking findings outside the stack file's entries (the plan fails)", "red",
    )
    # Each violation says whether it blocks, so the rest is found without a list test per item.
    advisory = [v for v in judgement.violations if not v.blocking and not v.accepted]
    panel([(v.rule, line(v)) for v in advisory], "guardrail violations (advisory)", "yellow")
    if judgement.accepted:
        covered = sum(row.findings for row in judgement.accepted)
        if quiet:
            console.print(f"{covered} finding(s) accepted by {len(judgement.accepted)} acceptedFindings item(s) "
                          "(acceptedFindings in plan.json, access.md)", highlight=False)
        else:
            panel([(row.check, f"{row.key}: {row.accepted.text()} ({row.findings} finding(s)): {row.reason}")
                   for row in judgement.accepted],
                  f"accepted findings ({covered} covered by the stack file's acceptedFindings)", "yellow")
    panel([("problems", p) for p in judgement.manifest_problems], "Kubernetes manifests: schema problems (the plan fails)", "red")


def _decision_lines(group: Any) -> list[str]:
    """A decision group as the plan prints it: the check and place, then grants / why / narrower / accept."""
    first = group.items[0]
    count = f" ({len(group.items)} findings)" if len(group.items) > 1 else ""
    lines = [f"• [{group.check}] {group.where()}{count}"]
    if group.grants:
        lines.append(f"    grants: {group.grants}")
    if not isinstance(first, Violation) or not group.grants:
        if isinstance(first, Violation):
            message = first.message
        else:
            action = f"{first.action}: " if first.action and first.action not in first.message else ""
            message = f"({first.severity}) {action}{first.message}"
        more = f" (and {len(group.items) - 1} more like it)" if len(group.items) > 1 else ""
        lines.append(f"    why: {message}{more}")
    if group.alternative:
        lines.append(f"    narrower: {group.alternative}")
    if group.key:
        lines.append(f"    accept: - {group.acceptance()}")
    else:
        lines.append("    fix: the document is wrong (IAM refuses it, or stores it and never grants it): correct it")
    return lines


def blocked_summary(judgement: Judgement) -> str:
    parts = []
    if judgement.blocking_violations:
        parts.append(f"{len(judgement.blocking_violations)} mandatory guardrail violation(s)")
    if judgement.blocking_findings:
        parts.append(f"{len(judgement.blocking_findings)} blocking IAM finding(s)")
    if judgement.manifest_problems:
        parts.append(f"{len(judgement.manifest_problems)} invalid Kubernetes manifest(s)")
    return " and ".join(parts)
