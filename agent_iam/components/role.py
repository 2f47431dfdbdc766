"""The IAM role every component is built from: its physical settings, its documents, what IAM
would refuse about them, and the one helper that registers a role with its policies.

Not a component of its own: each role adds exactly the AWS resources it needs (the role, one
`RolePolicy` per inline policy, one customer managed `Policy` and its attachment per managed
policy, one `RolePolicyAttachment` per managed policy it is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

import pulumi
import pulumi_aws as aws

from agent_iam.guardrails.rules import UNKNOWN, ResourceView
from agent_iam.iam import arns
from agent_iam.iam import limits as limit_checks
from agent_iam.iam.limits import MANAGED_POLICY_SIZE, IamLimits, policy_json
from agent_iam.iam.resource_types import POLICY as MANAGED_POLICY
from agent_iam.iam.resource_types import ROLE
from agent_iam.iam.resource_types import ROLE_POLICY as INLINE_POLICY
from agent_iam.iam.resource_types import ROLE_POLICY_ATTACHMENT as ATTACHMENT

from ._contract import Problem, is_known
from .policies import Document, statements_of

MaybeDocument = Union[Document, "pulumi.Output[Document]"]


@dataclass(frozen=True)
class RoleSpec:
    """Physical settings of one role; names are deterministic because vendors are handed ARNs."""

    name: str
    path: str = "/"
    description: str | None = None
    permissions_boundary_arn: str | None = None
    max_session_duration: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    protect: bool = False


@dataclass(frozen=True)
class Policy:
    """One named permissions document of a role: inline (a `RolePolicy`), or customer managed (a
    `Policy` of that name, unique in the account, attached to the role). The document is a dict when
    its inputs are known, else an `Output` of one (checked when it resolves); None only in a layout."""

    name: str
    document: MaybeDocument | None
    managed: bool = False


@dataclass(frozen=True)
class RoleDocuments:
    """What a role is: who may assume it (`trust`), what it may do (`policies`, each inline or
    customer managed), and the managed policies it is given by ARN (attached with one
    `RolePolicyAttachment` each, never through the Role's deprecated managed-policy input)."""

    trust: MaybeDocument | None
    policies: tuple[Policy, ...] = ()
    attached_policy_arns: tuple[str, ...] = ()

    def policy(self, name: str) -> MaybeDocument | None:
        return next((p.document for p in self.policies if p.name == name), None)

    def document_json(self, which: str) -> str | None:
        """The exact JSON IAM receives for a known document (`trust`, or a policy's name), worked out
        once: the limit checks measure the same text the role registers. None for an unset document
        or an `Output`. (Documents are built once and never changed afterwards.)"""
        texts = self.__dict__.setdefault("_json", {})  # frozen: a cache beside the fields, not a field
        if which not in texts:
            doc = self.trust if which == "trust" else self.policy(which)
            texts[which] = None if doc is None or isinstance(doc, pulumi.Output) else policy_json(doc)
        return texts[which]

    def known(self) -> list[Policy]:
        """The policies whose documents are known (not `Output`s)."""
        return [p for p in self.policies if p.document is not None and not isinstance(p.document, pulumi.Output)]

    def limit_problems(self, limits: IamLimits) -> list[str]:
        """IAM quota breaches of the known documents, as sentences naming the limits' Args fields
        (`{iam_limits.<field>}`); empty when the role fits. Sizes are of the minified JSON
        (`limits.minified_size`), the text the role registers."""
        problems = []
        if self.trust is not None and not isinstance(self.trust, pulumi.Output):
            trust_size = len(self.document_json("trust"))
            if trust_size > limits.trust_policy_size:
                problems.append(
                    f"trust policy is {trust_size} characters, over the {limits.trust_policy_size} IAM allows "
                    "(an account with a raised quota sets {iam_limits.trust_policy_size})"
                )
        known = self.known()
        inline = [p for p in known if not p.managed]
        size = sum(len(self.document_json(p.name)) for p in inline)
        if size > limits.role_policies_size:
            what = "inline policy is" if len(inline) == 1 else f"{len(inline)} inline policies are"
            problems.append(
                f"{what} {size} characters, over the {limits.role_policies_size} IAM allows "
                "per role ({iam_limits.role_policies_size})"
            )
        managed = [p for p in self.policies if p.managed]
        for policy in (p for p in known if p.managed):
            size = len(self.document_json(policy.name))
            if size > MANAGED_POLICY_SIZE:
                what = "customer managed policy" + (f" {policy.name!r}" if len(managed) > 1 else "")
                problems.append(
                    f"{what} is {size} characters, over the {MANAGED_POLICY_SIZE} IAM allows "
                    "for a managed policy (split it, or move part of it to {policy_arns})"
                )
        count = len(self.attached_policy_arns) + len(managed)
        if count > limits.managed_policies_per_role:
            problems.append(
                f"{count} managed policies attached, over the {limits.managed_policies_per_role} IAM allows "
                "per role ({iam_limits.managed_policies_per_role})"
            )
        return problems

    def resolved(self, built: pulumi.Output[list[RoleDocuments]], index: int) -> RoleDocuments:
        """This layout (names and placement known, documents not) with each document, and each managed
        policy ARN, taken from role `index` of `built`, the documents of every role worked out (and checked)
        in one apply once its inputs resolve: an attachment is never sent an ARN that was not checked."""

        def take(pick: Any) -> pulumi.Output[Any]:
            return built.apply(lambda docs: pick(docs[index]))

        return RoleDocuments(
            trust=take(lambda d: d.trust),
            policies=tuple(
                Policy(p.name, take(lambda d, name=p.name: d.policy(name)), p.managed) for p in self.policies
            ),
            attached_policy_arns=tuple(
                take(lambda d, i=i: d.attached_policy_arns[i]) for i in range(len(self.attached_policy_arns))
            ),
        )


class PlannedRole(NamedTuple):
    """One role a component creates, as the stack config checks names across entries."""

    label: str  # "role", "task role", ... (used in messages)
    spec: RoleSpec
    account_id: str | None  # the account it is created in, when known
    documents: RoleDocuments | None = None  # its documents, when every input is known


def _json_input(docs: RoleDocuments, which: str) -> pulumi.Input[str]:
    doc = docs.trust if which == "trust" else docs.policy(which)
    if isinstance(doc, pulumi.Output):
        return doc.apply(policy_json)
    text = docs.document_json(which)
    docs.__dict__["_json"].pop(which)  # registered now: the documents (kept for the guardrails) need not keep it
    return text


def managed_policy_key(arn: str) -> str:
    """A stable attachment key from a policy ARN, never a list index, and one that cannot collide:
    an AWS managed policy by its name (`ViewOnlyAccess`), a customer managed one by account and
    name (`123456789012-ViewOnlyAccess`); IAM names are unique within an account."""
    name = arn.rsplit("/", 1)[-1]
    account = arns.account_of(arn) or "aws"
    return name if account == "aws" else f"{account}-{name}"


def create_role(
    parent: pulumi.Resource,
    logical_name: str,
    spec: RoleSpec,
    docs: RoleDocuments,
    *,
    secret_trust: bool = False,
    provider: pulumi.ProviderResource | None = None,
    depends_on: Any = None,
    layout: RoleDocuments | None = None,
) -> aws.iam.Role:
    """Register a role, its policies and its managed-policy attachments under `parent`.

    Children are named `<logical_name>`, `<logical_name>-<policy>`, so renaming the parent
    with an alias carries them along; an attachment is named by the policy ARN the role's `layout`
    knows before its documents resolve (its value may wait for them). `provider` creates the role in
    another account than the parent's; `depends_on` is the component's own (a role whose trust names a
    provider registered in the same program waits for it).
    """
    trust_json = _json_input(docs, "trust")
    if secret_trust:
        trust_json = pulumi.Output.secret(trust_json)
    role = aws.iam.Role(
        logical_name,
        name=spec.name,
        path=spec.path,
        description=spec.description,
        assume_role_policy=trust_json,
        permissions_boundary=spec.permissions_boundary_arn,
        max_session_duration=spec.max_session_duration,
        tags=dict(spec.tags),
        opts=pulumi.ResourceOptions(parent=parent, protect=spec.protect, provider=provider, depends_on=depends_on),
    )
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    for policy in docs.policies:
        if policy.managed:
            managed = aws.iam.Policy(
                policy_resource_name(logical_name, policy),
                name=policy.name,
                path=spec.path,
                description=f"Permissions of role {spec.name} (agent-iam)",
                policy=_json_input(docs, policy.name),
                tags=dict(spec.tags),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(
                policy_resource_name(logical_name, policy), role=role.name, policy_arn=managed.arn, opts=child
            )
        else:
            aws.iam.RolePolicy(
                policy_resource_name(logical_name, policy), role=role.name, name=policy.name,
                policy=_json_input(docs, policy.name), opts=child,
            )
    named = (layout or docs).attached_policy_arns
    for index, arn in enumerate(docs.attached_policy_arns):
        name, former = attachment_names(logical_name, named[index], index)
        aws.iam.RolePolicyAttachment(
            name,
            role=role.name,
            policy_arn=arn,
            opts=child
            if former is None
            else pulumi.ResourceOptions(parent=parent, provider=provider, aliases=[pulumi.Alias(name=former)]),
        )
    return role


def policy_resource_name(logical_name: str, policy: Policy) -> str:
    """A policy's resource (and, managed, its attachment's): `<role resource>-<policy name>`."""
    return f"{logical_name}-{policy.name}"


def attachment_names(logical_name: str, arn: Any, index: int) -> tuple[str, str | None]:
    """A managed policy attachment's resource name, by the policy (`managed_policy_key`), and the name it had
    before customer managed policies were keyed by account (an alias), if another. An ARN that is not known
    yet (another resource's output) is named by its place in the list: nothing else is known to name it by."""
    if not isinstance(arn, str):
        return f"{logical_name}-attachment-{index}", None
    key, former = managed_policy_key(arn), arn.rsplit("/", 1)[-1]
    return f"{logical_name}-{key}", None if key == former else f"{logical_name}-{former}"


def role_resources(logical_name: str, docs: RoleDocuments) -> list[tuple[str, str]]:
    """`(type, name)` of every resource `create_role` registers for a role: what its URNs are made of."""
    resources = [(ROLE, logical_name)]
    for policy in docs.policies:
        name = policy_resource_name(logical_name, policy)
        resources += [(MANAGED_POLICY, name), (ATTACHMENT, name)] if policy.managed else [(INLINE_POLICY, name)]
    resources += [
        (ATTACHMENT, attachment_names(logical_name, arn, index)[0]) for index, arn in enumerate(docs.attached_policy_arns)
    ]
    return resources


def role_views(
    logical_name: str, spec: RoleSpec, docs: RoleDocuments, account: str | None, partition: str
) -> list[tuple[ResourceView, str | None]]:
    """The role and what `create_role` registers with it, as the guardrail rules see registered resources
    (same types, names and inputs; a customer managed policy's ARN as IAM will make it, when the account is
    known), each with the ARN it attaches (None for the others). For known documents only."""
    role_props = {
        "name": spec.name, "path": spec.path, "description": spec.description,
        "assumeRolePolicy": docs.document_json("trust"), "permissionsBoundary": spec.permissions_boundary_arn,
        "maxSessionDuration": spec.max_session_duration, "tags": dict(spec.tags),
    }
    views: list[tuple[ResourceView, str | None]] = [
        (ResourceView(ROLE, logical_name, {k: v for k, v in role_props.items() if v is not None}, account), None)
    ]
    for policy in docs.policies:
        name, text = policy_resource_name(logical_name, policy), docs.document_json(policy.name)
        if not policy.managed:
            views.append((ResourceView(INLINE_POLICY, name, {"role": spec.name, "name": policy.name, "policy": text}, account), None))
            continue
        arn = f"arn:{partition}:iam::{account}:policy{spec.path}{policy.name}" if account else UNKNOWN
        views.append((ResourceView(MANAGED_POLICY, name, {"name": policy.name, "path": spec.path, "policy": text, "arn": arn}, account), None))
        views.append((ResourceView(ATTACHMENT, name, {"role": spec.name, "policyArn": arn}, account), None))
    for index, arn in enumerate(docs.attached_policy_arns):
        attachment = ResourceView(ATTACHMENT, attachment_names(logical_name, arn, index)[0], {"role": spec.name, "policyArn": arn}, account)
        views.append((attachment, arn))
    return views


def field_problems(label: str, spec: RoleSpec, docs: RoleDocuments) -> list[Problem]:
    """IAM's field limits (agent_iam.iam.limits) on what is sent for one role, after its defaults and
    agent-iam's own tags are merged in: the description, the merged tags (count, keys, values) and the
    policy names; the name, path and session are checked on the Args already."""
    where = f"{label} {spec.name!r}"
    problems = [Problem("description", f"{where}: {p}") for p in limit_checks.check_description(spec.description)]
    problems += [Problem("tags", f"{where}: {p}") for p in limit_checks.check_tags(spec.tags)]
    for policy in docs.policies:
        problems += [
            Problem("name", f"{where}: {p}")
            for p in limit_checks.check_name(policy.name, what="policy name", maximum=limit_checks.POLICY_NAME_MAX)
        ]
    return problems


def role_problems(
    label: str,
    spec: RoleSpec,
    docs: RoleDocuments,
    limits: IamLimits,
    account_id: Any,
    *,
    policy_field: str,
    boundary_field: str = "permissions_boundary_arn",
) -> list[Problem]:
    """What IAM would refuse about one role: its field limits on the merged values, its quotas, a Sid
    used twice, a boundary of another account."""
    problems = field_problems(label, spec, docs)
    problems += [Problem("", f"{label} {spec.name!r}: {p}") for p in docs.limit_problems(limits)]
    for policy in docs.known():
        for sid in duplicate_sids(policy.document):
            problems.append(
                Problem(
                    policy_field,
                    f"Sid {sid!r} is used twice in the {label}'s permissions "
                    "(agent-iam merges its own statements into the same document); rename it",
                )
            )
    boundary = spec.permissions_boundary_arn
    boundary_account = arns.account_of(boundary)
    if boundary_account and is_known(account_id) and account_id:
        if boundary_account not in ("aws", account_id):
            problems.append(
                Problem(
                    boundary_field,
                    f"{label} {spec.name!r} is created in account {account_id}, but its permissions boundary "
                    f"{boundary} is in account {boundary_account}; set {{{boundary_field}}} to a policy "
                    "of that account",
                )
            )
    return problems


def duplicate_sids(doc: Document | None) -> list[str]:
    """Sids used by more than one statement: IAM refuses such a document."""
    counts: dict[str, int] = {}
    for statement in statements_of(doc):
        if statement.get("Sid"):
            counts[statement["Sid"]] = counts.get(statement["Sid"], 0) + 1
    return sorted(sid for sid, n in counts.items() if n > 1)
