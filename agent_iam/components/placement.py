"""Where a role's policy documents go: inline while the role's inline total fits IAM's quota, else one
customer managed policy each.

A vendor publishes its policy as one or more documents, sized for IAM's own limits: all of a role's
inline policies together hold at most `rolePoliciesSize` characters (10,240), a managed policy at most
6,144, and a role takes `managedPoliciesPerRole` managed policies (10). `place` decides, for documents
given in order, which go inline (a `RolePolicy` named as the document) and which go to a customer
managed policy named `<role name>-<document name>` (unique in the account, as IAM requires), and says
so: the plan and the access report show where each went. A document keeps its place when documents
are added after it. Pure functions, no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_iam.iam import limits
from agent_iam.iam.limits import MANAGED_POLICY_SIZE, IamLimits, minified_size

INLINE, MANAGED = "inline", "customer managed"


@dataclass(frozen=True)
class Placed:
    """One document and where it goes: its name, the IAM policy it becomes, and its size (minified)."""

    name: str  # the document's own name (a policy file's name without `.json`, a vendor's policy name)
    policy: str  # the IAM policy name: `name` inline, `<role name>-<name>` customer managed
    managed: bool
    size: int
    document: Mapping[str, Any]
    preset: bool = False  # one of a vendor preset's published documents

    @property
    def where(self) -> str:
        """`inline policy 'x' (1,234 characters)` or `customer managed policy 'role-x' (5,900 characters)`."""
        kind = f"{MANAGED} policy" if self.managed else f"{INLINE} policy"
        return f"{kind} {self.policy!r} ({self.size:,} characters)"


def managed_policy_name(role_name: str, document_name: str) -> str:
    """The customer managed policy a document goes to: named from the role and the document, so two
    roles of one account given the same vendor document never collide."""
    return f"{role_name}-{document_name}"


def name_problem(name: Any) -> str | None:
    """Why `name` cannot name a policy document (None when it can): IAM's policy name characters."""
    if not isinstance(name, str) or not name:
        return f"a document's name is text, got {name!r}"
    problems = limits.check_name(name, what="policy name", maximum=limits.POLICY_NAME_MAX)
    return problems[0] if problems else None


def place(
    documents: Sequence[tuple[str, Mapping[str, Any], bool]],
    role_name: str,
    inline_used: int | None,
    quotas: IamLimits,
) -> list[Placed]:
    """`(name, document, from a preset)` in order, each placed: inline while the role's inline total
    (`inline_used` characters already, its other inline policies) plus the document fits
    `role_policies_size`, else in a customer managed policy. `inline_used` None (the role's other
    inline documents are not known before the program runs) places every document in a managed
    policy, so the placement never depends on values resolved later."""
    placed = []
    used = inline_used
    for name, document, preset in documents:
        size = minified_size(document)
        inline = used is not None and used + size <= quotas.role_policies_size
        if inline:
            used = (used or 0) + size
        policy = name if inline else managed_policy_name(role_name, name)
        placed.append(Placed(name, policy, not inline, size, document, preset))
    return placed


def oversized(placed: Placed) -> str | None:
    """Why a document placed in a managed policy does not fit one (None when it does)."""
    if not placed.managed or placed.size <= MANAGED_POLICY_SIZE:
        return None
    return (
        f"document {placed.name!r} is {placed.size:,} characters (minified): it does not fit inline beside the "
        f"role's other policies, and a customer managed policy holds at most {MANAGED_POLICY_SIZE:,}; split it into "
        "documents of at most that size"
    )
