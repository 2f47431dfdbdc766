"""One model per IAM role: its trust, every identity document it gets, and its permissions boundary.

`roles_from_views` reads the resource views the plan, the diff (`plan.guardrails.views_from_plan`,
from plan.json) and the policy pack build (`guardrails.rules.ResourceView`: type, logical name, props,
account; any object with those attributes will do), and gives one `RoleModel` per role, keyed by (account, name): a role's
identity is its account and its name, never the name alone. Its identity documents are its inline
`RolePolicy`s and `inlinePolicies`, the customer managed `Policy` resources of the same stack it
attaches (matched by ARN), the AWS managed policies it attaches (their current documents from
`agent_iam.iam.managed_policies`) and, as unknown documents, attached ARNs whose content the plan
cannot see. Values the plan cannot know are `Unknown` symbols named by the resource and property
path, so the same unknown on both sides of a diff is the same symbol.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_iam.iam.resource_types import POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT
from agent_iam.iam import arns, managed_policies
from agent_iam.model import documents as docs
from agent_iam.model.documents import Document, Source, Unknown

RoleKey = tuple[str | None, str]  # (account, role name)


class KeyedByRole:
    """What is known by a role's `key` (RoleKey): its account and its name."""

    key: RoleKey

    @property
    def account(self) -> str | None:
        return self.key[0]

    @property
    def name(self) -> str:
        return self.key[1]


@dataclass(frozen=True)
class RoleModel(KeyedByRole):
    """A role's effective-access model: trust, identity documents (inline, customer managed, AWS
    managed, unknown attachments) and boundary. `created` is False for a role this stack does not
    create but adds policies to (its other documents are unknown)."""

    key: RoleKey
    arn: str | Unknown | None
    trust: Document | None
    identity: tuple[Document, ...] = ()
    boundary: Document | None = None
    resource: str | None = None  # the logical name of the Role resource
    created: bool = True

    @property
    def partition(self) -> str:
        return (arns.partition_of(self.arn) if isinstance(self.arn, str) else None) or "aws"

    @property
    def documents(self) -> tuple[Document, ...]:
        """Trust, identity documents and boundary, in that order."""
        return (*((self.trust,) if self.trust else ()), *self.identity, *((self.boundary,) if self.boundary else ()))

    @property
    def unknowns(self) -> tuple[Unknown, ...]:
        """Every unknown symbol the role's documents depend on."""
        return tuple(dict.fromkeys(u for d in self.documents for u in d.unknowns))

    @property
    def permission_unknowns(self) -> tuple[Unknown, ...]:
        """The unknowns of what the role may do (identity documents and boundary, not the trust)."""
        return tuple(dict.fromkeys(u for d in self.permission_documents for u in d.unknowns))

    @property
    def permission_documents(self) -> tuple[Document, ...]:
        return (*self.identity, *((self.boundary,) if self.boundary else ()))

    def describe(self) -> str:
        where = f" in {self.account}" if self.account else ""
        return f"role {self.name!r}{where}"


def allows_nothing(like: RoleModel) -> RoleModel:
    """The role `like` with an empty trust and no permissions: what a role added or removed is
    compared with."""
    return RoleModel(like.key, like.arn, docs.Document((), "empty"), (), None, like.resource)


def role_from_documents(
    name: str,
    account: str | None = None,
    *,
    trust: Mapping[str, Any] | str | Document | None = None,
    identity: Iterable[Mapping[str, Any] | str | Document] = (),
    boundary: Mapping[str, Any] | str | Document | None = None,
    arn: str | None = None,
    partition: str = "aws",
) -> RoleModel:
    """A role model from documents given directly (a proposal, a test, an explanation of an event):
    mappings or JSON texts become inline documents named `policy-<n>`."""
    key = (account, name)
    arn = arn or (f"arn:{partition}:iam::{account}:role/{name}" if account else None)

    def document(value: Mapping[str, Any] | str | Document, source: Source) -> Document:
        if isinstance(value, Document):
            return value if value.source else value.with_source(source)
        parsed = docs.parse_document(value, name=f"{source.describe()} of role {name!r}", source=source, partition=partition)
        docs.require_shape(parsed, source.kind, f"{source.describe()} of role {name!r}")
        return parsed

    trust_doc = document(trust, Source(docs.TRUST, "trust", arn, key)) if trust is not None else None
    identity_docs = tuple(
        document(value, Source(docs.INLINE, f"policy-{index}", None, key)) for index, value in enumerate(identity, 1)
    )
    boundary_doc = document(boundary, Source(docs.BOUNDARY, "boundary", None, key)) if boundary is not None else None
    return RoleModel(key, arn, trust_doc, identity_docs, boundary_doc)


# --- from the plan's resources ---------------------------------------------------------


class ResourceView(Protocol):
    """What the model reads of a resource (`agent_iam.guardrails.rules.ResourceView` has it)."""

    type: str
    name: str
    props: Mapping[str, Any]
    account: str | None


class Context(Protocol):
    """What the model reads of the stack (`agent_iam.guardrails.rules.Context` has it)."""

    account_id: str | None


_PLAIN = (str, int, float, bool, list, tuple, dict)


def _known(value: Any) -> bool:
    """A value the plan knows: not None, not an unknown sentinel or secret, and plain data (the
    policy pack's stand-in for an unknown value is neither)."""
    return value is not None and isinstance(value, _PLAIN) and not docs.is_unknown_value(value)


def _get(view: ResourceView, key: str) -> Any:
    value = view.props.get(key)
    return value if _known(value) else None


def _physical_name(view: ResourceView) -> str:
    name = _get(view, "name")
    return name if isinstance(name, str) and name else view.name


_ACCOUNT = re.compile(r"^\d{12}$")


def _role_account(view: ResourceView, context: Context | None) -> str | None:
    """The account a role lives in: its ARN's, else its provider's, else the stack's."""
    account = arns.account_of(_get(view, "arn"))
    if account and _ACCOUNT.match(account):
        return account
    return view.account or (context.account_id if context is not None else None)


def _short(view: ResourceView) -> str:
    """`aws:iam/rolePolicy:RolePolicy` -> `rolePolicy`: how unknown symbols name the resource type."""
    return view.type.split(":")[1].rsplit("/", 1)[-1] if view.type.count(":") == 2 else view.type


def _parse(view: ResourceView, prop: str, raw: Any, source: Source, partition: str, kind: str) -> Document:
    """A document from a view's property: unknown when the value is, or IAM would refuse it."""
    where = f"{_short(view)}:{view.name}:{prop}"
    if not _known(raw):
        return docs.unknown_document(source, f"{where} is not known until deployment")
    name = f"{source.describe()} ({where})"
    try:
        document = docs.parse_document(raw, name=name, source=source, partition=partition, unknown_prefix=where)
        docs.require_shape(document, kind, name)
    except ValueError as exc:
        return docs.unknown_document(source, f"IAM would refuse it: {exc}")
    return document


def policy_arn(view: ResourceView) -> str | None:
    """A customer managed Policy's ARN: its output, else built from account, path and name."""
    arn = view.props.get("arn")
    if isinstance(arn, str) and _known(arn):
        return arn
    name = _get(view, "name")
    if not isinstance(name, str) or not view.account:
        return None
    path = _get(view, "path") if isinstance(_get(view, "path"), str) else "/"
    return f"arn:aws:iam::{view.account}:policy{path}{name}"


def _role_ref(value: Any, account: str | None) -> RoleKey | None:
    """A RolePolicy/RolePolicyAttachment `role` input: a name (in the resource's account), or an ARN."""
    if not isinstance(value, str) or not _known(value) or not value:
        return None
    parsed = arns.parse(value)
    if parsed is not None:
        return (parsed.account or account, parsed.resource.rsplit("/", 1)[-1])
    return (account, value)


@dataclass
class _Building:
    key: RoleKey
    arn: str | Unknown | None
    trust: Document | None
    boundary: Document | None
    resource: str | None
    created: bool
    identity: list[Document] = field(default_factory=list)


def roles_from_views(
    views: Sequence[ResourceView], context: Context | None = None, managed: Mapping[str, Any] | None = None
) -> list[RoleModel]:
    """One `RoleModel` per IAM role the views create or add policies to, in the order the roles appear.

    `managed` (policy ARN -> document) gives AWS managed policies the documents a plan recorded it was
    judged with (plan.json's `managedPolicies`), instead of the shipped dataset's current ones."""
    own_account = context.account_id if context is not None else None
    policies: dict[str, ResourceView] = {}
    for view in views:
        if view.type == POLICY:
            arn = policy_arn(view)
            if arn:
                policies[arn] = view
    roles: dict[RoleKey, _Building] = {}
    by_name: dict[str, list[RoleKey]] = {}

    for view in views:
        if view.type != ROLE:
            continue
        account = _role_account(view, context)
        name = _physical_name(view)
        key = (account, name)
        raw_arn = view.props.get("arn")
        if isinstance(raw_arn, str) and _known(raw_arn):
            arn: str | Unknown | None = raw_arn
        elif account:
            path = _get(view, "path") if isinstance(_get(view, "path"), str) else "/"
            arn = f"arn:aws:iam::{account}:role{path}{name}"
        else:
            arn = Unknown(f"{_short(view)}:{view.name}:arn")
        partition = (arns.partition_of(arn) if isinstance(arn, str) else None) or "aws"
        trust = _parse(
            view, "assumeRolePolicy", view.props.get("assumeRolePolicy"),
            Source(docs.TRUST, "trust", arn if isinstance(arn, str) else None, key), partition, docs.TRUST,
        )
        boundary = _boundary(view, key, partition, policies, managed)
        building = _Building(key, arn, trust, boundary, view.name, True)
        roles[key] = building
        by_name.setdefault(name, []).append(key)
        for prop in ("inlinePolicies", "managedPolicyArns"):
            if not _known(view.props.get(prop)) and view.props.get(prop) is not None:
                building.identity.append(docs.unknown_document(
                    Source(docs.ATTACHED_UNKNOWN, f"{_short(view)}:{view.name}:{prop}", None, key),
                    f"the role's {prop} are not known until deployment"))
        for index, inline in enumerate(_get(view, "inlinePolicies") or []):
            if not isinstance(inline, Mapping):
                continue
            policy_name = str(inline.get("name") or f"inline-{index}")
            building.identity.append(
                _parse(view, f"inlinePolicies[{index}].policy", inline.get("policy"),
                       Source(docs.INLINE, policy_name, None, key), partition, docs.INLINE)
            )
        for index, arn_value in enumerate(_get(view, "managedPolicyArns") or []):
            if isinstance(arn_value, str) and _known(arn_value):
                building.identity.append(_attached(arn_value, key, partition, policies, managed))
            else:
                building.identity.append(docs.unknown_document(
                    Source(docs.ATTACHED_UNKNOWN, f"{_short(view)}:{view.name}:managedPolicyArns[{index}]", None, key),
                    "the attached policy's ARN is not known until deployment"))

    def owner(view: ResourceView) -> _Building | None:
        ref = _role_ref(view.props.get("role"), view.account or own_account)
        if ref is None:
            return None
        if ref in roles:
            return roles[ref]
        if ref[0] is None and len(by_name.get(ref[1], [])) == 1:
            return roles[by_name[ref[1]][0]]
        building = _Building(ref, None, None, None, None, False)
        building.identity.append(
            docs.unknown_document(
                Source(docs.ATTACHED_UNKNOWN, f"other policies of role {ref[1]!r}", None, ref),
                "the role is not created by this stack: its other policies are not in the plan",
            )
        )
        roles[ref] = building
        by_name.setdefault(ref[1], []).append(ref)
        return building

    for view in views:
        if view.type == ROLE_POLICY:
            building = owner(view)
            if building is not None:
                partition = (arns.partition_of(building.arn) if isinstance(building.arn, str) else None) or "aws"
                building.identity.append(
                    _parse(view, "policy", view.props.get("policy"),
                           Source(docs.INLINE, _physical_name(view), None, building.key), partition, docs.INLINE)
                )
        elif view.type == ROLE_POLICY_ATTACHMENT:
            building = owner(view)
            if building is not None:
                raw = view.props.get("policyArn")
                if isinstance(raw, str) and _known(raw):
                    partition = (arns.partition_of(building.arn) if isinstance(building.arn, str) else None) or "aws"
                    building.identity.append(_attached(raw, building.key, partition, policies, managed))
                else:
                    building.identity.append(
                        docs.unknown_document(
                            Source(docs.ATTACHED_UNKNOWN, f"{_short(view)}:{view.name}:policyArn", None, building.key),
                            "the attached policy's ARN is not known until deployment",
                        )
                    )
    return [
        RoleModel(b.key, b.arn, b.trust, tuple(b.identity), b.boundary, b.resource, b.created) for b in roles.values()
    ]


def _attached(arn: str, key: RoleKey, partition: str, policies: Mapping[str, ResourceView],
              managed: Mapping[str, Any] | None = None) -> Document:
    """An attached managed policy: a customer managed Policy of this stack, an AWS managed policy from
    the dataset (or `managed`), or an unknown document."""
    view = policies.get(arn)
    if view is not None:
        name = _physical_name(view)
        return _parse(view, "policy", view.props.get("policy"), Source(docs.CUSTOMER_MANAGED, name, arn, key),
                      partition, docs.CUSTOMER_MANAGED)
    if managed_policies.is_aws_managed(arn):
        return aws_managed(arn, key, content=(managed or {}).get(arn))
    return docs.unknown_document(
        Source(docs.ATTACHED_UNKNOWN, arn, arn, key), "this stack does not create it"
    )


def aws_managed(arn: str, key: RoleKey | None = None, kind: str = docs.AWS_MANAGED,
                content: Mapping[str, Any] | None = None) -> Document:
    """An AWS managed policy's document: `content` when given (what a plan recorded), else its
    current one from the shipped dataset (unknown when not in it)."""
    name = managed_policies.name_of(arn)
    source = Source(kind, name, arn, key)
    content = content if content is not None else managed_policies.document(arn)
    if content is None:
        return docs.unknown_document(source, f"{arn} is not an AWS managed policy in the dataset ({managed_policies.source()})")
    document = docs.parse_document(content, name=f"AWS managed policy {name}", source=source, partition=arns.partition_of(arn) or "aws")
    return document


def _boundary(view: ResourceView, key: RoleKey, partition: str, policies: Mapping[str, ResourceView],
              managed: Mapping[str, Any] | None = None) -> Document | None:
    raw = view.props.get("permissionsBoundary")
    if raw is None or raw == "":
        return None
    if not _known(raw) or not isinstance(raw, str):
        return docs.unknown_document(Source(docs.BOUNDARY, f"{_short(view)}:{view.name}:permissionsBoundary", None, key),
                                     "the boundary's ARN is not known until deployment")
    policy = policies.get(raw)
    if policy is not None:
        return _parse(policy, "policy", policy.props.get("policy"), Source(docs.BOUNDARY, _physical_name(policy), raw, key),
                      partition, docs.BOUNDARY)
    if managed_policies.is_aws_managed(raw):
        return aws_managed(raw, key, docs.BOUNDARY, (managed or {}).get(raw))
    return docs.unknown_document(Source(docs.BOUNDARY, raw, raw, key),
                                 "this stack does not create it")
