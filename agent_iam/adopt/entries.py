"""A role as stack-file entries: its trust keys (`trusts`), its documents, its role settings.

`permission_fields` is the one place that decides how a role's documents are written into its
entry: each document as its own policy file (`policyFiles`, the document as IAM reports it), so an
inline policy keeps its name and `pulumi import` adopts it in place, and agent-iam places them as it
places any vendor's documents; `policy` only where that loses nothing (the inline policy agent-iam
gives the entry under the same name, or a role's one document when it is a customer managed policy,
whose name no entry keeps). Everything else is copied as IAM reports it: name and path (so
`pulumi import` adopts the role in place), description, boundary, tags, the session length when the
export has it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam import limits
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


def _label(document: Document) -> str:
    return f"{'inline policy' if document.kind == 'inline' else 'customer managed policy'} {document.name!r}"


@dataclass(frozen=True)
class PolicyFile:
    """One of a role's documents written as a policy file: the path its entry lists (relative to the
    stack file's folder) and the file's bytes (the document as IAM reports it, pretty-printed)."""

    path: str
    data: bytes


def file_bytes(document: Mapping[str, Any]) -> bytes:
    """A document as a policy file's text: indented JSON in IAM's key order, non-ASCII escaped (the
    same document, and bytes any reader takes)."""
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def safe_name(name: str, maximum: int, taken: set[str]) -> tuple[str, list[str]]:
    """`name` as one segment of a path the importer writes, and why it differs: IAM's name characters
    (never `/`, never only dots), no leading dot (a hidden file), at most `maximum` characters, once
    among `taken` (case-folded, as a file system may not tell `A` from `a`; updated)."""
    why = []
    clean = "".join(c if limits.IAM_NAME_RE.fullmatch(c) else "_" for c in name)
    if clean != name:
        why.append("characters IAM does not allow in a name (or that a path would read) replaced by '_'")
    if clean.startswith("."):
        clean = "_" + clean.lstrip(".")
        why.append("a leading '.' replaced (a hidden file)")
    if len(clean) > maximum:
        clean = clean[:maximum]
        why.append(f"shortened to {maximum} characters")
    stem = clean = clean or "_"
    number = 2
    while clean.casefold() in taken:
        suffix = f"-{number}"
        clean, number = stem[:maximum - len(suffix)] + suffix, number + 1
    if clean != stem:
        why.append("the name is taken, case aside")
    taken.add(clean.casefold())
    return clean, why


def file_name(name: str, role: str, taken: set[str]) -> tuple[str, list[str]]:
    """The document name (its file's name without `.json`) for a document IAM names `name`, and why it
    differs (`safe_name`): short enough for the customer managed policy `<role>-<name>` it may be placed
    in, and neither another document's name nor the policy agent-iam gives the role (in `taken`)."""
    maximum = max(8, limits.POLICY_NAME_MAX - len(role) - 1)
    clean, why = safe_name(name, maximum, taken)
    fits = f", so the customer managed policy {role}-<name> it may be placed in fits IAM's {limits.POLICY_NAME_MAX}"
    return clean, [w + fits if w.startswith("shortened") else w for w in why]


def permission_fields(permissions: Permissions, notes: list[str], *, own_policy: str, role: str,
                      folder: str) -> tuple[dict[str, Any], list[PolicyFile]]:
    """The entry keys that carry the role's permissions, and the policy files they list.

    Each document is a policy file `folder/<name>.json` (the document as IAM reports it; a
    `2008-10-17` one without policy variables as `2012-10-17`), named as IAM names it where it can be
    (`file_name`): agent-iam places them (inline while they fit, else customer managed policies
    `<role>-<name>`), and an inline policy keeps its name, so `pulumi import` adopts it in place (a
    customer managed `<role>-<name>` is named `<name>`: placed there again, it is adopted too). The
    entry's `policy` holds a document only where that loses nothing: the inline policy named as the one
    agent-iam gives the entry (`own_policy`), adopted in place under that name, or a role's only
    document when it is a customer managed policy (its name is not kept either way), so a one-document
    entry reads in the stack file alone. `allowWildcardResources` when a statement covers every
    resource of its kind (the plan prints that opt-in in red), and `policyArns`."""
    fields: dict[str, Any] = {}
    files: list[PolicyFile] = []
    documents = list(permissions.documents)
    policy: Document | None = next((d for d in documents if d.kind == "inline" and d.name == own_policy), None)
    if policy is None and len(documents) == 1 and documents[0].kind == "customer-managed":
        policy = documents[0]
    written: list[dict[str, Any]] = []
    if policy is not None:
        fields["policy"] = _version(policy.document, _label(policy), notes)
        written.append(fields["policy"])
    taken = {own_policy.casefold()}
    listed = []
    for document in documents:
        if document is policy:
            continue
        content = _version(document.document, _label(document), notes)
        wanted = document.name
        if document.kind == "customer-managed" and wanted.startswith(f"{role}-") and len(wanted) > len(role) + 1:
            wanted = wanted[len(role) + 1:]  # the policy `<role>-<name>` agent-iam places a document `<name>` in
        name, why = file_name(wanted, role, taken)
        path = f"{folder}/{name}.json"
        files.append(PolicyFile(path, file_bytes(content)))
        written.append(content)
        listed.append(f"{_label(document)} as {path}" + (f" (named {name!r}: {'; '.join(why)})" if why else ""))
    if files:
        fields["policyFiles"] = [f.path for f in files]
        notes.append(f"policy files, each a document as IAM reports it: {', '.join(listed)}; agent-iam places them "
                     "(inline while the role's total fits, else customer managed policies <role>-<name>)")
    for content in written:
        try:
            if PolicyDocument.model_validate(content).wildcard_resource:
                fields["allowWildcardResources"] = True
        except ValueError:
            pass  # the stack config's own check names what is wrong with it
    if permissions.policy_arns:
        fields["policyArns"] = list(permissions.policy_arns)
    return fields, files


def role_fields(role: ExportedRole, notes: list[str]) -> dict[str, Any]:
    """Name, path, description, boundary, tags and session, as IAM reports them."""
    fields: dict[str, Any] = {"name": role.name}
    if role.path != "/":
        fields["path"] = role.path
    if role.description:
        problems = limits.check_description(role.description)
        if problems:
            notes.append(f"its description is not written: {'; '.join(problems)}")
        else:
            fields["description"] = role.description
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
    """One way to write a role as an entry: its family, keys, the policy files it lists and what it
    writes differently."""

    family: str
    entry: dict[str, Any]
    notes: list[str]
    preset: str | None = None
    settings_notes: list[str] = field(default_factory=list)  # the notes on name, path, tags (kept by a preset)
    files: list[PolicyFile] = field(default_factory=list)


def own_policy_name(family: str) -> str:
    """The inline policy agent-iam gives an entry of `family` for its `policy`."""
    from agent_iam.components import _service_account, oidc_role, saas_access_role

    return {"saasRoles": saas_access_role.POLICY_NAME, "oidcRoles": oidc_role.POLICY_NAME,
            "serviceAccounts": _service_account.POLICY_NAME}[family]


def candidates(role: ExportedRole, mapped: Mapped, export: Export, folder: str) -> list[Candidate]:
    """The entries that could write the role, in order of preference (the trust's candidates, each
    with the role's settings and documents, its policy files in `folder`, relative to the stack
    file's folder). Raises Unexpressible for documents no entry can hold."""
    settings: list[str] = []
    fields = role_fields(role, settings)
    permissions = permissions_of(role, export)
    notes = list(permissions.notes)
    permission, files = permission_fields(permissions, notes, own_policy=own_policy_name(mapped.family),
                                          role=role.name, folder=folder)
    name = fields.pop("name")
    found = [
        Candidate(mapped.family, {"name": name, **trust, **fields, **permission}, [*mapped.notes, *settings, *notes],
                  settings_notes=[*mapped.notes, *settings], files=files)
        for trust in mapped.candidates
    ]
    if _vendor_access_policy(role, mapped.family, permissions):
        # The role's one customer managed policy is the one a SaaS entry's customerManagedPolicy creates (same
        # name and path): written that way, the import adopts the policy itself, not a copy of its statements.
        managed = [Candidate(c.family, {**c.entry, "customerManagedPolicy": True}, c.notes, c.preset, c.settings_notes,
                             c.files) for c in found]
        found = managed + found
    return found


def _vendor_access_policy(role: ExportedRole, family: str, permissions: Permissions) -> bool:
    from agent_iam.components.saas_access_role import POLICY_NAME

    documents = permissions.documents
    return (family == "saasRoles" and len(documents) == 1 and documents[0].kind == "customer-managed"
            and documents[0].name == f"{role.name}-{POLICY_NAME}" and documents[0].path == role.path)
