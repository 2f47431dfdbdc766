"""The IAM role every component is built from: its settings, its documents, its limits,
and the one helper that registers a role with its inline policy and attachments.

Not a component of its own: each role adds exactly the AWS resources it needs
(role, at most one inline `RolePolicy`, at most one customer managed `Policy`, one
`RolePolicyAttachment` per managed policy).
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads IamLimitsArgs's annotations as types.
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, TypedDict, Union

import pulumi
import pulumi_aws as aws

from agent_iam.iam import arns, checks
from agent_iam.iam import limits as limit_checks
from agent_iam.iam.limits import policy_json
from agent_iam.iam.tags import MANAGED_BY_TAGS
from agent_iam.iam.policy_document import PolicyDocument

from ._contract import Problem, check_list, check_value, is_known
from .policies import Document, statements_of

# IAM's quotas and field limits: their one home is agent_iam.iam.limits.
from agent_iam.iam.limits import (  # noqa: E402
    DEFAULT_MANAGED_POLICIES_PER_ROLE,
    DEFAULT_ROLE_POLICIES_SIZE,
    DEFAULT_TRUST_POLICY_SIZE,
    MANAGED_POLICY_SIZE,
    MAX_MANAGED_POLICIES_PER_ROLE,
    MAX_ROLE_POLICIES_SIZE,
    MAX_TRUST_POLICY_SIZE,
    IamLimits,
)


class IamLimitsArgs(TypedDict, total=False):
    """IAM quotas of the account a role is created in, when they have been raised."""

    trust_policy_size: int
    """Characters a trust policy may have. Default: 2048 (IAM's default quota; at most 8192)."""
    role_policies_size: int
    """Characters of all of a role's inline policies. Default: 10240."""
    managed_policies_per_role: int
    """Managed policies attached to one role. Default: 10 (at most 20)."""


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


class PlannedRole(NamedTuple):
    """One role a component creates, as the stack config checks names across entries."""

    label: str  # "role", "task role", ... (used in messages)
    spec: "RoleSpec"
    account_id: Optional[str]  # the account it is created in, when known
    documents: Optional["RoleDocuments"] = None  # its documents, when every input is known


@dataclass(frozen=True)
class RoleDocuments:
    """What a role is: who may assume it and what it may do.

    A document is a dict when its inputs are known, or an `Output` of one when it waits for
    another resource (it is then checked when it resolves)."""

    trust: Union[Document, "pulumi.Output[Document]"]
    inline_policy_name: Optional[str] = None
    inline_policy: Union[Document, "pulumi.Output[Document]", None] = None
    # managed policies, attached with one RolePolicyAttachment each (never through the Role's
    # own deprecated managed-policy input, which would fight the attachments)
    attached_policy_arns: tuple[str, ...] = ()
    # A customer managed policy created for this role and attached to it (the Upsolver flow),
    # instead of or besides the inline one; its name is unique in the account.
    customer_policy_name: Optional[str] = None
    customer_policy: Union[Document, "pulumi.Output[Document]", None] = None

    def document_json(self, which: str) -> Optional[str]:
        """The exact JSON IAM receives for a known document (`trust`, `inline_policy` or `customer_policy`),
        worked out once: the limit checks measure the same text the role registers. None for an unset
        document or an `Output`. (Documents are built once and never changed afterwards.)"""
        texts = self.__dict__.setdefault("_json", {})  # frozen: a cache beside the fields, not a field
        if which not in texts:
            doc = getattr(self, which)
            texts[which] = None if doc is None or isinstance(doc, pulumi.Output) else policy_json(doc)
        return texts[which]

    def limit_problems(self, limits: IamLimits) -> list[str]:
        """IAM quota breaches of the known documents, as sentences naming the limits' Args fields
        (`{iam_limits.<field>}`); empty when the role fits. Sizes are of the minified JSON
        (`limits.minified_size`), the text the role registers."""
        problems = []
        if not isinstance(self.trust, pulumi.Output):
            trust_size = len(self.document_json("trust"))
            if trust_size > limits.trust_policy_size:
                problems.append(
                    f"trust policy is {trust_size} characters, over the {limits.trust_policy_size} IAM allows "
                    "(an account with a raised quota sets {iam_limits.trust_policy_size})"
                )
        if self.inline_policy is not None and not isinstance(self.inline_policy, pulumi.Output):
            size = len(self.document_json("inline_policy"))
            if size > limits.role_policies_size:
                problems.append(
                    f"inline policy is {size} characters, over the {limits.role_policies_size} IAM allows "
                    "per role ({iam_limits.role_policies_size})"
                )
        if self.customer_policy is not None and not isinstance(self.customer_policy, pulumi.Output):
            size = len(self.document_json("customer_policy"))
            if size > MANAGED_POLICY_SIZE:
                problems.append(
                    f"customer managed policy is {size} characters, over the {MANAGED_POLICY_SIZE} IAM allows "
                    "for a managed policy (split it, or move part of it to {policy_arns})"
                )
        count = len(self.attached_policy_arns) + (self.customer_policy is not None)
        if count > limits.managed_policies_per_role:
            problems.append(
                f"{count} managed policies attached, over the {limits.managed_policies_per_role} IAM allows "
                "per role ({iam_limits.managed_policies_per_role})"
            )
        return problems


def _json_input(docs: RoleDocuments, which: str) -> pulumi.Input[str]:
    doc = getattr(docs, which)
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
    trust_json: pulumi.Input[str] | None = None,
    provider: pulumi.ProviderResource | None = None,
    depends_on: Any = None,
) -> aws.iam.Role:
    """Register a role, its inline policy and its managed-policy attachments under `parent`.

    Children are named `<logical_name>`, `<logical_name>-<policy>`, so renaming the parent
    with an alias carries them along. `trust_json` replaces `docs.trust` when the trust
    needs another resource's output (an OIDC provider's ARN, an association's external ID);
    `provider` creates the role in another account than the parent's; `depends_on` is the
    component's own (a role whose trust names a provider registered in the same program waits for it).
    """
    if trust_json is None:
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
    if docs.inline_policy is not None and docs.inline_policy_name:
        aws.iam.RolePolicy(
            f"{logical_name}-{docs.inline_policy_name}",
            role=role.name,
            name=docs.inline_policy_name,
            policy=_json_input(docs, "inline_policy"),
            opts=child,
        )
    if docs.customer_policy is not None and docs.customer_policy_name:
        policy = aws.iam.Policy(
            f"{logical_name}-{docs.customer_policy_name}",
            name=docs.customer_policy_name,
            path=spec.path,
            description=f"Permissions of role {spec.name} (agent-iam)",
            policy=_json_input(docs, "customer_policy"),
            tags=dict(spec.tags),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{logical_name}-{docs.customer_policy_name}",
            role=role.name,
            policy_arn=policy.arn,
            opts=child,
        )
    for arn in docs.attached_policy_arns:
        key = managed_policy_key(arn)
        former = arn.rsplit("/", 1)[-1]  # the key before customer managed policies were keyed by account
        aws.iam.RolePolicyAttachment(
            f"{logical_name}-{key}",
            role=role.name,
            policy_arn=arn,
            opts=child
            if key == former
            else pulumi.ResourceOptions(
                parent=parent, provider=provider, aliases=[pulumi.Alias(name=f"{logical_name}-{former}")]
            ),
        )
    return role


# --- the role fields every component's Args shares -----------------------------------



def iam_limits(args: Mapping[str, Any]) -> IamLimits:
    """`iam_limits` of the Args, IAM's defaults for what is not set."""
    given = args.get("iam_limits") or {}
    return IamLimits(
        trust_policy_size=given.get("trust_policy_size", DEFAULT_TRUST_POLICY_SIZE),
        role_policies_size=given.get("role_policies_size", DEFAULT_ROLE_POLICIES_SIZE),
        managed_policies_per_role=given.get("managed_policies_per_role", DEFAULT_MANAGED_POLICIES_PER_ROLE),
    )


_LIMIT_RANGES = {
    "trust_policy_size": MAX_TRUST_POLICY_SIZE,
    "role_policies_size": MAX_ROLE_POLICIES_SIZE,
    "managed_policies_per_role": MAX_MANAGED_POLICIES_PER_ROLE,
}


def role_option_problems(args: Mapping[str, Any]) -> list[Problem]:
    """The role fields every component shares: path, boundary, session, tags and the account's limits."""
    problems: list[Problem] = []
    for field_name, check in (
        ("path", checks.check_path),
        ("permissions_boundary_arn", checks.check_policy_arn),
        ("max_session_duration", checks.check_max_session_duration),
        ("tags", checks.check_tags),
    ):
        if args.get(field_name) is not None:
            problems += check_value(field_name, args[field_name], check)
    for key, value in (args.get("iam_limits") or {}).items():
        top = _LIMIT_RANGES.get(key)
        if top is None:
            problems.append(Problem(f"iam_limits.{key}", f"unknown limit (limits: {', '.join(_LIMIT_RANGES)})"))
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            problems.append(Problem(f"iam_limits.{key}", f"must be a whole number from 1 to {top}: {value!r}"))
    return problems


def role_name(name: str, args: Mapping[str, Any], field_name: str, suffix: str) -> tuple[str, list[Problem]]:
    """The explicit name in `field_name`, or `<name>-<suffix>` (`<name>` when the suffix is empty),
    and what is wrong with it."""
    explicit = args.get(field_name)
    if explicit:
        return explicit, check_value(field_name, explicit, checks.check_role_name)
    derived = f"{name}-{suffix}" if suffix else name
    if len(derived) > checks.ROLE_NAME_MAX:
        return derived, [
            Problem(
                "name",
                f"the derived role name {derived!r} is {len(derived)} characters, over IAM's "
                f"{checks.ROLE_NAME_MAX}; shorten the name or set {{{field_name}}}",
            )
        ]
    return derived, check_value("name", derived, checks.check_role_name)


def role_spec(args: Mapping[str, Any], name: str, description: str, **overrides: Any) -> RoleSpec:
    """A role's physical settings from the shared Args fields (defaults: path `/`, agent-iam's tags)."""
    tags = dict(args.get("tags") or {})
    for key, value in MANAGED_BY_TAGS.items():
        tags.setdefault(key, value)
    values = {
        "name": name,
        "path": args.get("path") or "/",
        "description": args.get("description") or description,
        "permissions_boundary_arn": args.get("permissions_boundary_arn"),
        "max_session_duration": args.get("max_session_duration"),
        "tags": tags,
        "protect": bool(args.get("protect", False)),
        **overrides,
    }
    return RoleSpec(**values)


def field_problems(label: str, spec: RoleSpec, docs: RoleDocuments) -> list[Problem]:
    """IAM's field limits (agent_iam.iam.limits) on what is sent for one role, after its defaults and
    agent-iam's own tags are merged in: the description, the merged tags (count, keys, values) and the
    policy names; the name, path and session are checked on the Args already."""
    where = f"{label} {spec.name!r}"
    problems = [Problem("description", f"{where}: {p}") for p in limit_checks.check_description(spec.description)]
    problems += [Problem("tags", f"{where}: {p}") for p in limit_checks.check_tags(spec.tags)]
    for policy_name in (docs.inline_policy_name, docs.customer_policy_name):
        if policy_name:
            problems += [
                Problem("name", f"{where}: {p}")
                for p in limit_checks.check_name(policy_name, what="policy name", maximum=limit_checks.POLICY_NAME_MAX)
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
    for doc in (docs.inline_policy, docs.customer_policy):
        if doc is None or isinstance(doc, pulumi.Output):
            continue
        for sid in duplicate_sids(doc):
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


def policy_problems(field_name: str, policy: Any, allow_wildcard_resources: bool) -> list[Problem]:
    """A user's identity policy: IAM's document shape, and no resource that covers every resource of
    a kind (`*`, `arn:aws:s3:::*/*`, `arn:aws:iam::*:role*`, judged by `agent_iam.iam.arns`) unless allowed."""
    if policy is None or not is_known(policy):
        return []
    if not isinstance(policy, Mapping):
        return [Problem(field_name, f"an IAM policy document (a mapping), got {type(policy).__name__}")]
    from pydantic import ValidationError

    try:
        document = PolicyDocument.model_validate(dict(policy))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
            original = (error.get("ctx") or {}).get("error")
            message = str(original) if original is not None else error["msg"]
            problems.append(Problem(f"{field_name}{where}", message))
        return problems
    wide = document.first_wildcard()
    if wide is not None and not allow_wildcard_resources:
        index, resource = wide
        return [
            Problem(
                f"{field_name}.Statement[{index}].Resource",
                f"{resource!r} covers every resource of its kind; scope it to ARNs, or set "
                "{allow_wildcard_resources}: true",
            )
        ]
    return []


def policy_document(policy: Any) -> Document | None:
    """The user's policy as IAM takes it (unset keys dropped), or None."""
    if not policy:
        return None
    return PolicyDocument.model_validate(dict(policy)).to_dict()


def secret_problems(args: Mapping[str, Any]) -> list[Problem]:
    """`secret_arns`: exact secrets, or `*` alone with `allow_all_secrets`; `kms_key_arns`: keys."""
    problems = check_list("secret_arns", args.get("secret_arns") or [], checks.check_secret_arn)
    problems += check_list("kms_key_arns", args.get("kms_key_arns") or [], checks.check_kms_key_arn)
    secrets = args.get("secret_arns") or []
    if isinstance(secrets, list):
        if "*" in secrets:
            if not args.get("allow_all_secrets"):
                problems.append(
                    Problem(
                        f"secret_arns[{secrets.index('*')}]",
                        "'*' lets the agent read every secret in the account; list the agent's secret ARNs, "
                        "or set {allow_all_secrets}: true to accept that",
                    )
                )
            if len(secrets) > 1:
                problems.append(Problem("secret_arns", "'*' already covers every secret; list it alone"))
        elif args.get("allow_all_secrets") and is_known(secrets):
            problems.append(Problem("allow_all_secrets", "is true but {secret_arns} does not contain '*'"))
    return problems


def region_of(args: Mapping[str, Any], *, needed_for: Optional[str] = None) -> tuple[str, list[Problem]]:
    """`region` of the Args, else the program's `aws:region`. When neither is set: a problem if the
    region is `needed_for` something only it can say (a trust pinned to a region's tasks, `AWS_REGION`),
    else `us-east-1`, which only sets the ARN partition (`aws`)."""
    region = args.get("region") or pulumi.Config("aws").get("region")
    if region:
        return region, []
    if needed_for:
        return "us-east-1", [Problem("region", f"required: {needed_for}, and the program sets no aws:region")]
    return "us-east-1", []
