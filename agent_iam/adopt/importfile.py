"""`import.json` for `pulumi import --file`: every resource the planned stack registers that already
exists in the account, with the logical name, parent and provider the program gives it.

The resources come from the plan of the written stack, never from a second copy of the components'
naming: a role by its name, an inline policy by `role:name`, a customer managed policy by ARN, an
attachment by `role/policy-arn` (pulumi-aws v7's import IDs), an OIDC provider by ARN. Components
are listed with `component: true` (pulumi import creates them empty, as parents), the explicit AWS
provider in `nameTable` by its URN. What the plan registers that does not exist yet is created by
`pulumi up`; what exists but the stack no longer registers stays in the account, unmanaged: both
are listed per role for the summary (`RoleImport`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam import issuers, limits
from agent_iam.patches import STACK_TYPE
from agent_iam.iam.resource_types import OIDC_PROVIDER, POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT

from .export import Export, ExportedRole



def real_urn(urn: str) -> str:
    """The URN the Pulumi engine gives a resource: children of the stack's root resource carry no
    `pulumi:pulumi:Stack$` in their type chain (the offline plan's mock engine writes it)."""
    head, sep, rest = urn.partition("::" + STACK_TYPE + "$")
    return f"{head}::{rest}" if sep else urn


def urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of a URN."""
    body = urn.removeprefix("urn:pulumi:")
    stack, project, qualified, name = body.split("::", 3)
    return stack, project, qualified, name


@dataclass
class RoleImport:
    """What `pulumi import` adopts for one role, and what `pulumi up` then creates, changes or leaves."""

    role: str
    imported: list[str] = field(default_factory=list)  # "aws:iam/role:Role vanta-auditor"
    created: list[str] = field(default_factory=list)  # registered by the stack, not in the account yet
    left: list[str] = field(default_factory=list)  # in the account, no longer registered by the stack
    changes: list[str] = field(default_factory=list)  # what `pulumi up` updates in place after the import


@dataclass
class ImportFile:
    document: dict[str, Any]
    roles: dict[str, RoleImport]
    providers: list[str]  # OIDC provider ARNs imported


def _doc(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _canonical(value: Any) -> Any:
    """A policy as IAM compares it: a one-element list and its element are the same, list order does
    not matter, keys are case-sensitive."""
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if len(items) == 1 and not isinstance(items[0], (dict, list)):
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def same_policy(a: Any, b: Any) -> bool:
    return _canonical(_doc(a)) == _canonical(_doc(b))


def build_import(plan: Mapping[str, Any], export: Export, roles: Iterable[ExportedRole]) -> ImportFile:
    """The import file for the imported `roles`, from the plan's resources."""
    resources = [r for r in plan.get("resources", []) if isinstance(r, Mapping)]
    by_urn = {r["urn"]: r for r in resources}
    existing = {r.name: r for r in roles}
    policies_by_arn = dict(export.policies)
    oidc_arns = _oidc_provider_arns(existing.values())
    names: dict[str, str] = {}  # plan URN -> the name it has in the file
    entries: list[dict[str, Any]] = []
    name_table: dict[str, str] = {}
    report: dict[str, RoleImport] = {name: RoleImport(name) for name in existing}
    imported_providers: list[str] = []
    role_of_urn: dict[str, str] = {}

    def reference(resource: Mapping[str, Any]) -> str:
        urn = resource["urn"]
        if urn not in names:
            base = resource["name"]
            taken = set(names.values())
            name = base if base not in taken else f"{base}-{resource['type'].rsplit(':', 1)[-1].lower()}"
            number = 2
            while name in taken:
                name, number = f"{base}-{number}", number + 1
            names[urn] = name
        return names[urn]

    def parent_entries(urn: str | None) -> str | None:
        """The parent's file name, listing each component ancestor once (`component: true`)."""
        if not urn or urn not in by_urn or by_urn[urn]["type"] == STACK_TYPE:
            return None
        parent = by_urn[urn]
        first = urn not in names
        name = reference(parent)
        if first:
            grand = parent_entries(parent.get("parent"))
            entry: dict[str, Any] = {"type": parent["type"], "name": name, "logicalName": parent["name"], "component": True}
            if grand:
                entry["parent"] = grand
            entries.append(entry)
        return name

    def add(resource: Mapping[str, Any], import_id: str, role: str | None) -> None:
        parent = parent_entries(resource.get("parent"))
        entry: dict[str, Any] = {"type": resource["type"], "name": reference(resource), "logicalName": resource["name"],
                                 "id": import_id}
        if parent:
            entry["parent"] = parent
        provider = resource.get("provider")
        if provider:
            _, _, qualified, provider_name = urn_parts(real_urn(provider))
            name_table[provider_name] = real_urn(provider)
            entry["provider"] = provider_name
        entries.append(entry)
        if role in report:
            report[role].imported.append(f"{resource['type']} {import_id}")

    for resource in resources:
        kind, inputs = resource.get("type"), resource.get("inputs") or {}
        if kind == ROLE and inputs.get("name") in existing:
            role = existing[inputs["name"]]
            role_of_urn[resource["urn"]] = role.name
            add(resource, role.name, role.name)
            report[role.name].changes += _role_changes(role, inputs)
    for resource in resources:
        kind, inputs = resource.get("type"), resource.get("inputs") or {}
        role_name = inputs.get("role")
        role = existing.get(role_name) if isinstance(role_name, str) else None
        if kind == ROLE_POLICY and role is not None:
            found = next((p for p in role.inline if p.name == inputs.get("name")), None)
            if found is None:
                report[role.name].created.append(f"inline policy {inputs.get('name')}")
                continue
            add(resource, f"{role.name}:{found.name}", role.name)
            if not same_policy(found.document, inputs.get("policy")):
                report[role.name].changes.append(f"inline policy {found.name}: its text is rewritten (same statements "
                                                 "merged or normalised; the access is compared in the proof)")
        elif kind == ROLE_POLICY_ATTACHMENT and role is not None:
            arn = inputs.get("policyArn")
            if any(a.arn == arn for a in role.attached):
                add(resource, f"{role.name}/{arn}", role.name)
            else:
                report[role.name].created.append(f"attachment of {arn}")
        elif kind == POLICY:
            arn = _policy_arn(export, inputs)
            owner = _owner(resources, resource, existing)
            if arn in policies_by_arn:
                add(resource, arn, owner)
            elif owner in report:
                report[owner].created.append(f"customer managed policy {inputs.get('name')}")
        elif kind == OIDC_PROVIDER:
            arn = oidc_arns.get(issuers.issuer_host_path(str(inputs.get("url", ""))))
            if arn is not None:
                add(resource, arn, None)
                imported_providers.append(arn)
    for role in existing.values():
        planned_inline = {(r.get("inputs") or {}).get("name") for r in resources
                          if r.get("type") == ROLE_POLICY and (r.get("inputs") or {}).get("role") == role.name}
        planned_arns = {(r.get("inputs") or {}).get("policyArn") for r in resources
                        if r.get("type") == ROLE_POLICY_ATTACHMENT and (r.get("inputs") or {}).get("role") == role.name}
        for policy in role.inline:
            if policy.name not in planned_inline:
                report[role.name].left.append(
                    f"inline policy {policy.name} (its statements are in the stack's documents now: delete it after "
                    f"`pulumi up`: aws iam delete-role-policy --role-name {role.name} --policy-name {policy.name})")
        for attachment in role.attached:
            if attachment.arn not in planned_arns:
                report[role.name].left.append(
                    f"attachment of {attachment.arn} (its statements are in the stack's documents now: detach it after "
                    f"`pulumi up`: aws iam detach-role-policy --role-name {role.name} --policy-arn {attachment.arn})")
    document: dict[str, Any] = {"resources": entries}
    if name_table:
        document = {"nameTable": dict(sorted(name_table.items())), **document}
    _check_urns(document, {real_urn(urn) for urn in by_urn})
    return ImportFile(document, report, imported_providers)


def file_urns(document: Mapping[str, Any]) -> list[str]:
    """The URN `pulumi import --file` gives each entry of an import file: the stack and project of
    its provider's URN, its type chain through its parents, its logical name."""
    by_name = {r["name"]: r for r in document.get("resources", [])}
    providers = list(document.get("nameTable", {}).values())
    stack, project = urn_parts(providers[0])[:2] if providers else ("", "")
    urns = []
    for resource in document.get("resources", []):
        chain, parent = [resource["type"]], resource.get("parent")
        while parent:
            chain.insert(0, by_name[parent]["type"])
            parent = by_name[parent].get("parent")
        urns.append(f"urn:pulumi:{stack}::{project}::{'$'.join(chain)}::{resource.get('logicalName', resource['name'])}")
    return urns


def _check_urns(document: Mapping[str, Any], planned: set[str]) -> None:
    """Every entry names a resource of the plan: the same URN once imported (a bug otherwise)."""
    missing = [urn for urn in file_urns(document) if urn not in planned] if document.get("nameTable") else []
    if missing:
        raise RuntimeError("import.json names resources the plan does not register: " + ", ".join(missing))


def _policy_arn(export: Export, inputs: Mapping[str, Any]) -> str:
    path = inputs.get("path") or "/"
    return f"arn:{export.partition}:iam::{export.account}:policy{path}{inputs.get('name')}"


def _owner(resources: Sequence[Mapping[str, Any]], policy: Mapping[str, Any], existing: Mapping[str, ExportedRole]) -> str | None:
    """The imported role a customer managed policy of the plan is attached to (same parent)."""
    for resource in resources:
        inputs = resource.get("inputs") or {}
        if (resource.get("type") == ROLE and resource.get("parent") == policy.get("parent")
                and inputs.get("name") in existing):
            return inputs["name"]
    return None


def _oidc_provider_arns(roles: Iterable[ExportedRole]) -> dict[str, str]:
    """issuer -> the OIDC provider ARN the imported roles' trusts name."""
    from agent_iam.guardrails import rules

    found = {}
    for role in roles:
        for statement in rules.statements(role.trust):
            for value in rules.principal_values(statement).get("Federated", []):
                issuer = issuers.issuer_of(value)
                if issuer != value:  # a provider's ARN, not a bare issuer
                    found[issuer.rstrip("/")] = value
    return found


def _role_changes(role: ExportedRole, inputs: Mapping[str, Any]) -> list[str]:
    """What `pulumi up` changes on the role after the import: tags agent-iam adds, the description,
    the session length, the trust's text."""
    changes = []
    current = dict(role.tags)
    planned = inputs.get("tags") or {}
    added = [f"{k}={v}" for k, v in planned.items() if k not in current]
    changed = [f"{k}: {current[k]!r} -> {v!r}" for k, v in planned.items() if k in current and current[k] != v]
    if added:
        changes.append("tags added: " + ", ".join(added))
    if changed:
        changes.append("tags changed: " + ", ".join(changed))
    description = inputs.get("description")
    if role.description is None:
        if description:
            changes.append(f"description set to {description!r} (the export does not carry the current one)")
    elif description != role.description:
        changes.append(f"description: {role.description!r} -> {description!r}")
    session = inputs.get("maxSessionDuration")
    planned = int(session) if isinstance(session, (int, float)) else None
    if role.max_session is None:
        changes.append(f"maxSessionDuration set to {planned or limits.DEFAULT_SESSION_DURATION} seconds ({'IAM' if planned is None else 'the entry'}'s) "
                       "unless the role has that already (the export does not carry it; `pulumi preview` after the "
                       "import shows it)")
    elif planned is not None and planned != role.max_session:
        changes.append(f"maxSessionDuration: {role.max_session} -> {planned}")
    if not same_policy(role.trust, inputs.get("assumeRolePolicy")):
        changes.append("trust policy: its text is rewritten as agent-iam writes it (the access is compared in the proof)")
    return changes
