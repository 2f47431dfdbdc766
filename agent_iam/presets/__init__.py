"""Vendor presets: a vendor's documented trust principal and permissions, as data.

One small TOML file per vendor (`agent_iam/presets/<vendor>.toml`, shipped with the package),
citing the vendor page it was copied from and the date it was checked; that date is the
preset's version. A `saasRoles` entry with `preset: <vendor>` gets the vendor's principal and
statements; an agent's entry (`ecsAgents`, `serviceAccounts`) the settings its guide prescribes.
Where the vendor publishes its policy as a document, the preset keeps it verbatim under
`documents/<vendor>/` (`published_documents` fills in the customer's parameters).
The catalog (`agent_iam.presets.catalog`: schema, `load`, `statements`, `published_documents`,
`policy_arns`, `acceptances`) loads on first use, so what only needs the role tag (the access
report) does not build its models.
"""

from __future__ import annotations

import importlib
from typing import Any

from agent_iam.iam.tags import PRESET_TAG  # noqa: F401  (the role tag of a preset: `<vendor>@<version>`)


def args(name: str, **fields: Any) -> dict[str, Any]:
    """Args naming a vendor preset, for the component of its kind (a `saasRoles` preset: `SaasAccessRole`;
    `ecsAgents`: `EcsAgentRoles`; `serviceAccounts`: `IrsaRole` or `PodIdentityRole`), usable from a program:
    `SaasAccessRole("datadog", presets.args("datadog", external_id=...))`. The component applies the preset
    (its documented defaults, trust and statements, its tag) and checks what it requires, as for a stack
    file's `preset:`. An unknown name raises KeyError with the presets that exist."""
    return {**fields, "preset": getattr(importlib.import_module("agent_iam.presets.catalog"), "load")(name).name}


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("agent_iam.presets.catalog"), name)
