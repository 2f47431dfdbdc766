"""Preset candidates for an imported role: the shipped presets whose trust is the role's.

A preset is offered when what it fixes is what the role has: a SaaS preset's vendor account (or,
for a vendor whose principal's account the preset does not fix, a role named after the vendor:
`vanta-auditor`, `WizAccess-Role`) and its external ID requirement; an agent preset's documented
service account. Whether the preset's permissions are the role's is not guessed here: the importer
plans the entry and proves it equal to the role, else it writes the role's own documents
(`agent_iam.adopt.run`).
"""

from __future__ import annotations

import re
from typing import Any

from agent_iam import presets as catalog

from .entries import Candidate
from .trusts import Mapped

# Keys of an explicit entry a SaaS preset replaces: its vendor, documents and their opt-in.
SAAS_PRESET_REPLACES = ("vendor", "policy", "policyFiles", "allowWildcardResources")


def _named_after(role: str, vendor: str) -> bool:
    """Whether a role's name names the vendor (`WizAccess-Role` names `wiz`), letters and digits compared."""
    squeeze = lambda text: re.sub(r"[^a-z0-9]", "", text.lower())  # noqa: E731
    return squeeze(vendor) in squeeze(role)


def preset_candidates(mapped: Mapped, explicit: Candidate, partition: str) -> list[Candidate]:
    """Entries with a preset that could write the role `explicit` writes by hand, best first."""
    found = []
    for name in catalog.names():
        preset = catalog.load(name)
        if preset.family != mapped.family:
            continue
        entry = (_saas(preset, mapped, explicit, partition) if mapped.family == "saasRoles"
                 else _agent(preset, explicit))
        if entry is not None:
            kept = explicit.settings_notes if mapped.family == "saasRoles" else explicit.notes  # a SaaS preset's documents are its own
            notes = [f"preset {preset.label}: {preset.title}", *kept]
            files = explicit.files if "policyFiles" in entry else []
            found.append(Candidate(mapped.family, entry, notes, preset.name, list(explicit.settings_notes), files))
    return found


def _saas(preset: Any, mapped: Mapped, explicit: Candidate, partition: str) -> dict[str, Any] | None:
    trust = preset.trust
    vendor = explicit.entry.get("vendor", {})
    if trust is None or trust.external_id != ("externalId" in explicit.entry):
        return None
    if preset.s3 is not None and preset.s3.required:
        return None  # the customer's S3 locations are parameters the importer does not derive
    replaced: tuple[str, ...] = SAAS_PRESET_REPLACES
    if trust.principal == "account":
        if trust.account_id != mapped.vendor_account:
            return None
        if list(vendor.get("principalArnPatterns", [])) != list(trust.principal_arn_patterns):
            return None
    else:
        principal = vendor.get("principalArn", "")
        if f":{trust.principal}/" not in principal:
            return None
        if trust.account_id is not None and trust.account_id != mapped.vendor_account:
            return None
        if trust.account_id is None and not _named_after(explicit.entry["name"], preset.name):
            return None
        replaced = tuple(k for k in SAAS_PRESET_REPLACES if k != "vendor")  # the entry names the vendor's principal
    entry = {k: v for k, v in explicit.entry.items() if k not in replaced}
    managed = catalog.policy_arns(preset, partition)
    arns = [a for a in entry.pop("policyArns", []) if a not in managed]
    entry = {"name": entry.pop("name"), "preset": preset.name, **entry}
    if arns:
        entry["policyArns"] = arns
    return entry


def _agent(preset: Any, explicit: Candidate) -> dict[str, Any] | None:
    defaults = preset.defaults
    if not defaults or any(explicit.entry.get(k) != v for k, v in defaults.items()):
        return None
    entry = {k: v for k, v in explicit.entry.items() if k not in defaults}
    return {"name": entry.pop("name"), "preset": preset.name, **entry}
