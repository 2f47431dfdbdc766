"""pulumi-policy arguments -> guardrail rule inputs, and the pack's policies built from `rules.RULES`.

No import of `pulumi_policy` here: the pack passes its module to `build_policies`, so this
file is importable (and tested) in the project's environment, where pulumi-policy's
protobuf pin cannot be installed. Only `policy/__main__.py` starts the pack's server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent_iam.iam import limits
from agent_iam.iam.arns import ACCOUNT_ID_RE
from agent_iam.iam.limits import IamLimits

from . import rules
from .acceptance import Key
from .rules import UNKNOWN, Context, ResourceView

PACK_NAME = "agent-iam-guardrails"

_LIMIT_KEYS = {
    "trustPolicySize": "trust_policy_size",
    "rolePoliciesSize": "role_policies_size",
    "managedPoliciesPerRole": "managed_policies_per_role",
}
_INT = {"type": "integer", "minimum": 1}

# Per-policy config (`--policy-pack-config`): JSON schema properties of each rule's settings.
CONFIG_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "cross-account-trust-condition": {
        "accountId": {"type": "string", "pattern": f"^{ACCOUNT_ID_RE.pattern}$", "description": "the stack's account, when a "
                      "role's account cannot be told from its ARN or provider"},
    },
    "permissions-boundary": {
        "boundaryArns": {"type": "array", "items": {"type": "string"}, "description": "boundaries a role may carry "
                         "(the first is required); absent: any boundary that is not an admin policy"},
    },
    "iam-limits": {"trustPolicySize": {**_INT, "maximum": limits.MAX_TRUST_POLICY_SIZE}},
    "iam-role-limits": {
        "rolePoliciesSize": {**_INT, "maximum": limits.MAX_ROLE_POLICIES_SIZE},
        "managedPoliciesPerRole": {**_INT, "maximum": limits.MAX_MANAGED_POLICIES_PER_ROLE},
    },
}


# Every policy takes the stack file's acceptances for its rule: a violation at the place an item names
# (guardrails/acceptance.py) of role `role` in `account` (any when absent) is not reported.
# `agent-iam pack-config` writes them.
ACCEPTED_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "sid": {"type": "string", "minLength": 1},
            "document": {"type": "string", "minLength": 1},
            "statement": {"type": "integer", "minimum": 1},
            "statements": {"type": "array", "items": {"type": ["integer", "string"]}, "minItems": 2},
            "role": {"type": "string"},
            "account": {"type": "string"},
            "reason": {"type": "string", "minLength": 10},
        },
        "required": ["reason"],
    },
    "description": "reviewed findings of this policy (docs/guardrails.md, acceptedFindings): where (the statement's "
    "Sid; or the document's name and the statement's 1-based number(s); or the document alone), the role "
    "and its account, why",
}


def _is_unknown_error(exc: Exception) -> bool:
    return type(exc).__name__ == "UnknownValueError"


def plain(value: Any) -> Any:
    """A pulumi-policy value (proxies that raise on unknowns) as plain data, unknowns as UNKNOWN."""
    if isinstance(value, str):
        return UNKNOWN if rules.is_unknown(value) else value
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except Exception as exc:  # noqa: BLE001 - only the proxy's unknown-value error is expected
                if not _is_unknown_error(exc):
                    raise
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except Exception as exc:  # noqa: BLE001
                if not _is_unknown_error(exc):
                    raise
                items.append(UNKNOWN)
        return items
    return value


def provider_account(provider: Any) -> str | None:
    """The one account an AWS provider allows (`allowedAccountIds`), when it names exactly one."""
    props = plain(getattr(provider, "props", None) or {})
    allowed = props.get("allowedAccountIds") if isinstance(props, Mapping) else None
    if isinstance(allowed, str) and not rules.is_unknown(allowed):
        try:
            allowed = json.loads(allowed)
        except ValueError:
            allowed = [allowed]
    if isinstance(allowed, list) and len(allowed) == 1 and isinstance(allowed[0], str):
        return allowed[0]
    return None


def view_of(resource: Any, default_account: str | None = None) -> ResourceView:
    """A ResourceValidationArgs or PolicyResource as the rules see it."""
    account = provider_account(getattr(resource, "provider", None)) or default_account
    return ResourceView(
        type=resource.resource_type,
        name=resource.name,
        props=plain(resource.props),
        account=account,
        urn=resource.urn,
    )


def context_of(config: Mapping[str, Any] | None) -> Context:
    """A rule's context from its policy config; enforcement is Pulumi's (the pack config's levels)."""
    config = dict(config or {})
    quotas = {field: int(config[key]) for key, field in _LIMIT_KEYS.items() if key in config}
    boundaries = config.get("boundaryArns")
    return Context(
        account_id=config.get("accountId"),
        boundary_arns=tuple(boundaries) if boundaries else None,
        boundary_required=bool(boundaries),
        limits=IamLimits(**quotas),
        enforcement=rules.MANDATORY,
    )


def acceptances_of(rule_name: str, config: Mapping[str, Any] | None) -> list[rules.Acceptance]:
    """The policy config's `acceptedFindings` for its rule."""
    out = []
    for item in (config or {}).get("acceptedFindings") or []:
        if not isinstance(item, Mapping):
            continue
        key = Key.of({**item, "check": rule_name, "role": None})
        out.append(
            rules.Acceptance(
                rule_name, key.sid, str(item.get("reason", "")), item.get("role") or None,
                key.document, key.statement, key.statements, item.get("account") or None,
            )
        )
    return out


def account_of_violation(views: Mapping[tuple[str, str], ResourceView], context: Context) -> Any:
    """A violation's role's account: the one the rule read from the role's model, else the account of the
    resource it is on (the role's ARN, else its provider's)."""
    def account(violation: rules.Violation) -> str | None:
        if violation.account is not None:
            return violation.account
        view = views.get((violation.resource_type, violation.resource_name))
        return rules.role_account(view, context) if view is not None else context.account_id

    return account


def _reported(violation: rules.Violation) -> bool:
    """What the pack reports (at the policy's level): not what an acceptance covers, nor what the plan only
    says as an advisory (a document the plan cannot see)."""
    return not violation.accepted and violation.level != rules.ADVISORY


def resource_validator(rule_name: str) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        config = args.get_config()
        context = context_of(config)
        view = view_of(args, context.account_id)
        found = rules.accept(
            rules.evaluate_resource(rule_name, view, context), acceptances_of(rule_name, config),
            account_of_violation({(view.type, view.name): view}, context),
        )
        for violation in found:
            if _reported(violation):
                report_violation(violation.message)

    return validate


def stack_validator(rule_name: str) -> Callable[[Any, Callable[..., None]], None]:
    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        config = args.get_config()
        context = context_of(config)
        views = [view_of(r, context.account_id) for r in args.resources]
        urns = {(v.type, v.name): v.urn for v in views}
        found = rules.accept(
            rules.evaluate_stack(rule_name, views, context), acceptances_of(rule_name, config),
            account_of_violation({(v.type, v.name): v for v in views}, context),
        )
        for violation in found:
            if _reported(violation):
                report_violation(violation.message, urns.get((violation.resource_type, violation.resource_name)))

    return validate


def build_policies(pp: Any) -> list[Any]:
    """One policy per rule: a ResourceValidationPolicy, or a StackValidationPolicy for a rule that
    aggregates across resources (`pp` is the `pulumi_policy` module)."""
    policies = []
    for rule in rules.RULES.values():
        schema = {**CONFIG_SCHEMAS.get(rule.name, {}), "acceptedFindings": ACCEPTED_SCHEMA}
        kwargs: dict[str, Any] = {"name": rule.name, "description": rule.description}
        kwargs["config_schema"] = pp.PolicyConfigSchema(properties=schema)
        if rule.scope == "stack":
            policies.append(pp.StackValidationPolicy(validate=stack_validator(rule.name), **kwargs))
        else:
            policies.append(pp.ResourceValidationPolicy(validate=resource_validator(rule.name), **kwargs))
    return policies


def pack_config(context: Context, acceptances: Mapping[str, list[dict[str, str]]] | None = None) -> dict[str, Any]:
    """The pack config (`--policy-pack-config`) for a stack, from its guardrail context: the
    inverse of `context_of`, plus the enforcement levels (`"all"` and per-rule overrides) and the
    stack file's acceptances per rule (`acceptedFindings`, as `plan.guardrails.pack_acceptances` gives them).

    Only settings that differ from the pack's defaults are written, so the file says what is
    particular to the stack; `agent-iam pack-config --stack S` and every plan write it.
    """
    defaults = IamLimits()
    settings: dict[str, dict[str, Any]] = {}
    if context.account_id:
        settings["cross-account-trust-condition"] = {"accountId": context.account_id}
    if context.boundary_required and context.boundary_arns:  # the pack requires the boundaries it is given
        settings["permissions-boundary"] = {"boundaryArns": list(context.boundary_arns)}
    for key, field in _LIMIT_KEYS.items():
        value = getattr(context.limits, field)
        if value != getattr(defaults, field):
            rule = next(name for name, schema in CONFIG_SCHEMAS.items() if key in schema)
            settings.setdefault(rule, {})[key] = value
    for rule, items in sorted((acceptances or {}).items()):
        if items:
            settings.setdefault(rule, {})["acceptedFindings"] = [dict(item) for item in items]
    config: dict[str, Any] = {"all": context.enforcement}
    for name in rules.RULE_NAMES:
        level = context.rules.get(name)
        if name in settings:
            config[name] = {**({"enforcementLevel": level} if level else {}), **settings[name]}
        elif level:
            config[name] = level
    return config
