"""The one model of a role's effective access, and an exact reasoner over it.

* `documents`: typed documents parsed once (`parse_document`, `Document`, `Statement`, `Source`,
  `Unknown`), statements numbered from 1.
* `roles`: `roles_from_views(views, context)` -> one `RoleModel` per role, keyed by (account, name);
  `role_from_documents` for documents given directly (a plan.json's views:
  `agent_iam.plan.guardrails.views_from_plan`).
* `evaluate`: the plain concrete evaluator (`Request`, `evaluate`, `can_assume` -> `Decision`).
* `solver`: the SMT reasoner (z3, imported only there): `allows`, `compare`, `wide_grants`,
  `external_assumers`.

The model core and the evaluator need no solver; see docs/model.md.
"""

from agent_iam.model.documents import (
    Condition,
    Document,
    Pattern,
    Principal,
    Source,
    Statement,
    Unknown,
    parse_document,
)
from agent_iam.model.evaluate import (
    ConditionFailure,
    Decision,
    NearMiss,
    Request,
    StatementRef,
    can_assume,
    evaluate,
)
from agent_iam.model.roles import RoleModel, role_from_documents, roles_from_views

__all__ = [
    "Condition",
    "ConditionFailure",
    "Decision",
    "Document",
    "NearMiss",
    "Pattern",
    "Principal",
    "Request",
    "RoleModel",
    "Source",
    "Statement",
    "StatementRef",
    "Unknown",
    "can_assume",
    "evaluate",
    "parse_document",
    "role_from_documents",
    "roles_from_views",
]
