"""What a plan was judged with, written into plan.json so that `agent-iam diff` compares like with like.

A plan reads more than its stack file: the current documents of the AWS managed policies its roles
attach (from the dataset shipped with agent-iam), and `secure:` values it cannot decrypt. A diff made
later, against a newer dataset or a re-encrypted value, must see what the plan itself saw:

- `entries`: each config entry by key (`agent-iam:saasRoles[0]`) with its name, former names
  (`formerNames`) and the roles it makes (account and name): how a diff knows an entry by name (a
  reordering changes the keys, not the entries) and matches a renamed entry's roles.
- `secureValues`: each `secure:` value's key path and a digest of its ciphertext (never the value):
  a changed one is "not comparable offline", never "no change".
- `managedPolicies`: the document of every AWS managed policy a role attaches or is bounded by, as the
  plan judged it: a dataset refresh that widens one of them is a widening.

Each key is present only when the plan has something to record under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agent_iam.iam import managed_policies
from agent_iam.iam.resource_types import ROLE, ROLE_POLICY_ATTACHMENT


def plan_basis(resources: Iterable[Any], units: Iterable[Any], secure_values: Mapping[str, str]) -> dict[str, Any]:
    """The plan.json keys: `resources` as registered (`.type`, `.inputs`), the settings' units
    (`.key .name .former_names .roles .target`), the stack file's secure values (path -> digest)."""
    out: dict[str, Any] = {}
    entries = [_entry(unit) for unit in units]
    if entries:
        out["entries"] = entries
    if secure_values:
        out["secureValues"] = dict(sorted(secure_values.items()))
    documents = managed_documents(resources)
    if documents:
        out["managedPolicies"] = documents
    return out


def _entry(unit: Any) -> dict[str, Any]:
    roles = [{"account": role.account_id or unit.target.account_id, "name": role.spec.name} for role in unit.roles]
    return {
        "key": unit.key,
        "name": unit.name,
        **({"formerNames": list(unit.former_names)} if unit.former_names else {}),
        "roles": roles,
    }


def attached_arns(resource: Any) -> list[str]:
    """The policy ARNs a registered Role or RolePolicyAttachment attaches or is bounded by."""
    inputs = resource.inputs or {}
    if resource.type == ROLE_POLICY_ATTACHMENT:
        found = [inputs.get("policyArn")]
    elif resource.type == ROLE:
        arns = inputs.get("managedPolicyArns")
        found = [*(arns if isinstance(arns, list) else []), inputs.get("permissionsBoundary")]
    else:
        return []
    return [arn for arn in found if isinstance(arn, str)]


def managed_documents(resources: Iterable[Any]) -> dict[str, Any]:
    """ARN -> document of each AWS managed policy the resources attach or use as a boundary (those
    the dataset has), by ARN."""
    found: dict[str, Any] = {}
    for resource in resources:
        for arn in attached_arns(resource):
            if arn not in found and managed_policies.is_aws_managed(arn):
                document = managed_policies.document(arn)
                if document is not None:
                    found[arn] = document
    return dict(sorted(found.items()))
