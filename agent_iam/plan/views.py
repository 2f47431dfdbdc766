"""The plan's resources as the rules and the model see them: type, logical name, props (registered
inputs, filled from outputs), and the account of the provider each goes through.

One home for that reading: the judge, the access report (the same list for the same run, so the
judge's role models are the report's), the diff (`views_from_plan`, from a written plan.json) and the
bench build their views here.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from agent_iam.guardrails import rules
from agent_iam.guardrails.rules import ResourceView

from .run import PlanRun

PROVIDER_PREFIX = "pulumi:providers:aws"


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


# The views of the last few runs (by identity; a run is not hashable), so the judge's role models
# are the access report's.
_RUN_VIEWS: dict[int, tuple[weakref.ref[PlanRun], str | None, list[ResourceView]]] = {}


def resource_views(run: PlanRun, default_account: str | None) -> list[ResourceView]:
    """Every custom resource as the rules see it, with the account of the provider it goes through.
    The same list for the same run (the judge's role models are then the access report's)."""
    kept = _RUN_VIEWS.get(id(run))
    if kept is not None and kept[0]() is run and kept[1] == default_account:
        return kept[2]
    views = registration_views(run.resources, default_account)
    if len(_RUN_VIEWS) >= 4:
        _RUN_VIEWS.clear()
    _RUN_VIEWS[id(run)] = (weakref.ref(run), default_account, views)
    return views


def registration_views(resources: Sequence[Any], default_account: str | None) -> list[ResourceView]:
    """`resource_views` of registrations."""
    accounts = {r.urn: _allowed_account(r.inputs) for r in resources if r.type.startswith(PROVIDER_PREFIX)}
    views = []
    for r in resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        account = accounts.get(r.provider) if r.provider else None
        views.append(ResourceView(r.type, r.name, props_of(r.inputs, r.outputs), account or default_account, r.urn))
    return views


def views_from_plan(plan: Mapping[str, Any], default_account: str | None = None) -> list[ResourceView]:
    """`resource_views` of a written plan.json (its inputs as registered): what the diff hands
    `agent_iam.model.roles_from_views` for each side."""
    resources = list(plan.get("resources", []))
    accounts = {r["urn"]: _allowed_account(r.get("inputs", {})) for r in resources if r["type"].startswith(PROVIDER_PREFIX)}
    views = []
    for r in resources:
        if r["type"].startswith(("pulumi:providers:", "agent-iam:")):
            continue
        account = accounts.get(r.get("provider") or "")
        views.append(ResourceView(r["type"], r["name"], dict(r.get("inputs", {})), account or default_account, r.get("urn")))
    return views


