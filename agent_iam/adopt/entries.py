"""A role as stack-file entries: its trust keys (`trusts`), its documents, its role settings.

`permission_fields` is the one place that decides how a role's documents are written into its
entry (today one `policy`; `policyFiles` when the stack file takes them), so switching is one
change. Everything else is copied as IAM reports it: name and path (so `pulumi import` adopts the
role in place), boundary, tags, the session length when the export has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam.policy_document import VERSION, PolicyDocument
from agent_iam.iam.tags import MANAGED_BY_TAGS, PRESET_TAG, STACK_TAG

from .export import Export, ExportedRole
from .trusts import Mapped

OLD_VERSION = "2008-10-17"
SYSTEM_TAG_PREFIX = "aws:"  # tags AWS sets itself; nobody may set or change them
# The tags agent-iam sets on every role it makes (the stack's name, a preset's name and version): an
# entry does not write them.
AGENT_IAM_TAGS = frozenset({*MANAGED_BY_TAGS, STACK_TAG, PRESET_TAG})


class Unexpressible(ValueError):
    """A role's documents cannot be written into an entry as they are."""


@dataclass(frozen=True)
class Document:
    """One of a role's identity documents, with where it came from."""

    name: str
    kind: str  # "inline" or "customer-managed"
    document: dict[str, Any]
    arn: str | None = None  # a customer managed policy's ARN
    path: str = "/"  # a customer managed policy's path


@dataclass
class Permissions:
    documents: list[Document]
    policy_arns: list[str]  # AWS managed policies, and customer managed ones whose content is not in the export
    notes: list[str] = field(default_factory=list)


def permissions_of(role: ExportedRole, export: Export) -> Permissions:
    """The role's identity documents and the policies it keeps attaching by ARN."""
    documents = [Document(p.name, "inline", p.document) for p in role.inline]
    policy_arns: list[str] = []
    notes: list[str] = []
    for attachment in role.attached:
        if attachment.aws_managed:
            policy_arns.append(attachment.arn)
            continue
        listed = export.policy(attachment.arn)
        if listed is None or listed.document is None:
            policy_arns.append(attachment.arn)
            notes.append(
                f"customer managed policy {attachment.name} stays attached by ARN: the export lists no content for it "
                "(export with --filter LocalManagedPolicy too, or without --filter)"
            )
            continue
        documents.append(Document(listed.name, "customer-managed", listed.document, attachment.arn, listed.path))
    return Permissions(documents, policy_arns, notes)


def _version(document: Mapping[str, Any], name: str, notes: list[str]) -> dict[str, Any]:
    """The document with Version 2012-10-17: a 2008-10-17 (or unversioned) one without policy variables
    means the same under 2012-10-17; one with `${...}` would not, and is refused."""
    version = document.get("Version")
    if version == VERSION:
        return dict(document)
    text = json.dumps(document)
    if version not in (None, OLD_VERSION):
        raise Unexpressible(f"{name} has Version {version!r}; IAM knows 2012-10-17 and 2008-10-17")
    if "${" in text:
        raise Unexpressible(f"{name} has Version {version or 'none'} and text with ${{...}}, which 2012-10-17 would "
                            "read as a policy variable: it cannot be rewritten without changing its meaning")
    notes.append(f"{name}: Version {version or 'none'} written as 2012-10-17 (it holds no policy variable, so "
                 "the meaning is the same)")
    return {"Version": VERSION, **{k: v for k, v in document.items() if k != "Version"}}


def _statements(document: Mapping[str, Any], name: str) -> list[Any]:
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        return [dict(raw)]
    if isinstance(raw, list) and raw:
        return [dict(s) if isinstance(s, Mapping) else s for s in raw]
    raise Unexpressible(f"{name} has no statement")


def _unique_sid(sid: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9]", "", sid) or "Statement"
    number = 2
    while f"{stem}{number}" in taken:
        number += 1
    return f"{stem}{number}"


def merged(documents: Sequence[Document], notes: list[str]) -> dict[str, Any]:
    """One document holding every statement of `documents`, in order, Sids kept unique: the role's
    permissions are the union of its documents, so the one document means the same."""
    versioned = [(d, _version(d.document, _label(d), notes)) for d in documents]
    if len(versioned) == 1:
        return versioned[0][1]
    statements: list[Any] = []
    taken: set[str] = set()
    for source, document in versioned:
        for statement in _statements(document, _label(source)):
            sid = statement.get("Sid") if isinstance(statement, dict) else None
            if isinstance(sid, str) and sid:
                if sid in taken:
                    new = _unique_sid(sid, taken)
                    notes.append(f"{_label(source)}: Sid {sid!r} is also used by another of the role's documents; "
                                 f"written as {new!r}")
                    statement = {**statement, "Sid": new}
                    sid = new
                taken.add(sid)
            statements.append(statement)
    return {"Version": VERSION, "Statement": statements}


def _label(document: Document) -> str:
    return f"{'inline policy' if document.kind == 'inline' else 'customer managed policy'} {document.name!r}"


def permission_fields(permissions: Permissions, notes: list[str]) -> dict[str, Any]:
    """The entry keys that carry the role's permissions: its documents as one `policy` (the stack
    file takes one document per entry today), `allowWildcardResources` when a statement of it
    covers every resource of its kind (the plan prints that opt-in in red), and `policyArns`."""
    fields: dict[str, Any] = {}
    if permissions.documents:
        if len(permissions.documents) > 1:
            names = ", ".join(_label(d) for d in permissions.documents)
            notes.append(f"its {len(permissions.documents)} documents ({names}) are written as one policy: the same "
                         "statements, so the same access")
        policy = merged(permissions.documents, notes)
        fields["policy"] = policy
        try:
            if PolicyDocument.model_validate(policy).wildcard_resource:
                fields["allowWildcardResources"] = True
        except ValueError:
            pass  # the stack config's own check names what is wrong with it
    if permissions.policy_arns:
        fields["policyArns"] = list(permissions.policy_arns)
    return fields


def role_fields(role: ExportedRole, notes: list[str]) -> dict[str, Any]:
    """Name, path, boundary, tags and session, as IAM reports them."""
    fields: dict[str, Any] = {"name": role.name}
    if role.path != "/":
        fields["path"] = role.path
    if role.boundary:
        fields["permissionsBoundaryArn"] = role.boundary
    system = [key for key, _ in role.tags if key.lower().startswith(SYSTEM_TAG_PREFIX)]
    own = [key for key, _ in role.tags if key in AGENT_IAM_TAGS]
    tags = {key: value for key, value in role.tags if key not in system and key not in own}
    if system:
        notes.append(f"tags {', '.join(system)} are AWS's own (aws: prefix) and are left to AWS")
    if own:
        notes.append(f"tags {', '.join(own)} are the ones agent-iam sets itself on every role it makes")
    if tags:
        fields["tags"] = tags
    if role.max_session is not None:
        fields["maxSessionDuration"] = role.max_session
    return fields


def provenance(role: ExportedRole) -> str:
    """Where an entry came from: the role's ARN, when it was created, when it was last used."""
    parts = [role.arn]
    if role.created:
        parts.append(f"created {role.created}")
    if role.last_used:
        parts.append(f"last used {role.last_used}" + (f" in {role.last_used_region}" if role.last_used_region else ""))
    else:
        parts.append("never used (or not within IAM's tracking period)")
    return ", ".join(parts)


@dataclass
class Candidate:
    """One way to write a role as an entry: its family, keys and what it writes differently."""

    family: str
    entry: dict[str, Any]
    notes: list[str]
    preset: str | None = None
    settings_notes: list[str] = field(default_factory=list)  # the notes on name, path, tags (kept by a preset)


def candidates(role: ExportedRole, mapped: Mapped, export: Export) -> list[Candidate]:
    """The entries that could write the role, in order of preference (the trust's candidates, each
    with the role's settings and documents). Raises Unexpressible for documents no entry can hold."""
    settings: list[str] = []
    fields = role_fields(role, settings)
    permissions = permissions_of(role, export)
    notes = list(permissions.notes)
    permission = permission_fields(permissions, notes)
    name = fields.pop("name")
    found = [
        Candidate(mapped.family, {"name": name, **trust, **fields, **permission}, [*mapped.notes, *settings, *notes],
                  settings_notes=[*mapped.notes, *settings])
        for trust in mapped.candidates
    ]
    if _vendor_access_policy(role, mapped.family, permissions):
        # The role's one customer managed policy is the one a SaaS entry's customerManagedPolicy creates (same
        # name and path): written that way, the import adopts the policy itself, not a copy of its statements.
        managed = [Candidate(c.family, {**c.entry, "customerManagedPolicy": True}, c.notes, c.preset, c.settings_notes)
                   for c in found]
        found = managed + found
    return found


def _vendor_access_policy(role: ExportedRole, family: str, permissions: Permissions) -> bool:
    from agent_iam.components.saas_access_role import POLICY_NAME

    documents = permissions.documents
    return (family == "saasRoles" and len(documents) == 1 and documents[0].kind == "customer-managed"
            and documents[0].name == f"{role.name}-{POLICY_NAME}" and documents[0].path == role.path)
