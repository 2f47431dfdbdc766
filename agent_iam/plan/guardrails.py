"""Judge a plan: the guardrail rules and the offline IAM validator over what the program registered.

The same rules the policy pack runs at `pulumi preview`, on the same props (the registered
inputs; an output where the input is missing or not known, e.g. a trust built in `apply()`).
"""

from __future__ import annotations

import dataclasses
import json
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


@dataclass
class Judgement:
    """What the plan found: guardrail violations and IAM validator findings."""

    violations: list[Violation] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)  # guardrails.iam_validation.Finding
    manifest_problems: list[str] = field(default_factory=list)  # Kubernetes schema, strict

    @property
    def blocking_violations(self) -> list[Violation]:
        return rules.blocking(self.violations)

    @property
    def blocking_findings(self) -> list[Any]:
        return [f for f in self.findings if f.blocking]

    @property
    def blocked(self) -> bool:
        return bool(self.blocking_violations or self.blocking_findings or self.manifest_problems)


def _plain(value: Any) -> Any:
    """A value with Pulumi's secret wrappers removed (the plan only holds redacted secrets)."""
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


def iam_documents(views: Sequence[ResourceView]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, kind, document) for every trust and identity policy in the plan."""
    docs: list[tuple[str, str, dict[str, Any]]] = []
    for view in views:
        trust = rules.trust_document(view)
        if trust is not None:
            docs.append((f"{view.describe()} trust policy", "trust", trust))
        for what, doc in rules.identity_documents(view):
            if view.type == rules.ROLE_POLICY:
                what = f"{what} of role {view.get('role')!r}"
            docs.append((what, "identity", doc))
    return docs


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
    """Guardrail violations at the stack's levels, IAM findings on every document, and
    Kubernetes schema problems in every manifest.

    With `cache_dir`, IAM findings and manifest results are kept there by content, per stack,
    so the next plan of the stack checks only the documents and manifests that changed.
    """
    from agent_iam.guardrails.iam_validation import validate_documents
    from agent_iam.guardrails.k8s_validation import validate_manifests

    from .render import kubernetes_manifest_files

    def cache(checker: str) -> Path | None:
        return cache_dir / f"{checker}.{run.stack}.json" if cache_dir is not None else None

    views = resource_views(run, settings.account_id)
    violations = rules.evaluate(views, settings.guardrail_context())
    documents = iam_documents(views)
    findings = validate_documents(
        documents, services_dir, cache("iam-findings"), trust_policy_size=settings.limits.trust_policy_size
    )
    findings = exempt(findings, trust_exemptions(views))
    manifests = kubernetes_manifest_files(run)
    problems = validate_manifests(manifests, cache_file=cache("k8s-problems")) if manifests else []
    return Judgement(violations, findings, problems)


def stack_settings(stack: str, config: Mapping[str, Any], secret_keys: Sequence[str] = ()) -> StackSettings:
    """The stack's validated settings from stack-file config (full `namespace:key` keys)."""
    from agent_iam.stack_config import NAMESPACE, load_settings

    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    secret = frozenset(k[len(prefix):] for k in secret_keys if k.startswith(prefix))
    region = config.get("aws:region")
    return load_settings(values, stack=stack, region=region if isinstance(region, str) else None, secret_keys=secret)


def judgement_document(judgement: Judgement) -> dict[str, Any]:
    """The plan.json keys: every guardrail violation, and the IAM findings (worst first)."""
    return {
        "violations": [v.to_dict() for v in judgement.violations],
        "iamFindings": [f.to_dict() for f in judgement.findings],
        "manifestProblems": judgement.manifest_problems,
    }


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
        shown = grouped(lines, limit) if limit is not None else [line for _, line in lines]
        if shown:
            console.print(Panel("\n".join(escape(f"• {line}") for line in shown), title=title, border_style=style))

    mandatory = judgement.blocking_violations
    advisory = [v for v in judgement.violations if v not in mandatory]
    panel([(v.rule, f"[{v.rule}] {v.message}") for v in mandatory], "guardrail violations (mandatory: the plan fails)", "red")
    panel([(v.rule, f"[{v.rule}] {v.message}") for v in advisory], "guardrail violations (advisory)", "yellow")
    blocking = judgement.blocking_findings
    panel(
        [(f.check, _finding_line(f)) for f in blocking],
        "IAM validation: errors and critical/high findings (the plan fails)",
        "red",
    )
    panel([("problems", p) for p in judgement.manifest_problems], "Kubernetes manifests: schema problems (the plan fails)", "red")
    panel(
        [(f.check, _finding_line(f)) for f in judgement.findings if f not in blocking],
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
