"""SaaS access role: a role in the customer's account that a vendor's control plane assumes.

Trust is narrowed with `sts:ExternalId` and/or `aws:PrincipalArn` patterns; the
permissions (S3 locations, KMS keys, an extra policy) go into one inline policy, or
into one customer managed policy attached to the role when the vendor's flow asks for it.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from typing import Any, Optional, Required, TypedDict

import pulumi

from agent_iam.iam import arns, checks

from . import policies
from ._contract import (
    CheckedPlans,
    Problem,
    check_fields,
    check_list,
    check_value,
    is_known,
    raise_problems,
    type_token,
    when_known,
)
from .role import (
    region_of,
    IamLimits,
    IamLimitsArgs,
    PlannedRole,
    RoleDocuments,
    create_role,
    iam_limits,
    policy_document,
    policy_problems,
    role_name,
    role_option_problems,
    role_problems,
    role_spec,
)

POLICY_NAME = "vendor-access"
COMPONENT = "SaasAccessRole"


class SaasAccessRoleArgs(TypedDict, total=False):
    """One vendor's access: who may assume the role, on what condition, and what it may do."""

    principal_arn: Required[pulumi.Input[str]]
    """The vendor principal trusted to assume the role: one of its roles (`arn:aws:iam::<vendor>:role/<name>`),
    one IAM user (`arn:aws:iam::<vendor>:user/<name>`, Snowflake's storage integration) or its account root
    (`arn:aws:iam::<vendor>:root`). Never a wildcard. Required."""
    external_id: pulumi.Input[str]
    """The `sts:ExternalId` the vendor gives you, required in the trust. Required when the principal is in
    another account than the role (confused deputy), unless `allowUnconditionedAccountTrust`. Default: none."""
    external_id_secret: bool
    """Keep the role's trust policy (which holds the external ID) secret in state. Default: false; the
    `externalId` output is secret either way."""
    principal_arn_patterns: list[str]
    """`aws:PrincipalArn` ArnLike patterns of the vendor's roles (`arn:aws:iam::<vendor>:role/<name*>`), one trust
    statement each; with `principalArn` as the vendor's account root. Default: none."""
    allow_unconditioned_account_trust: bool
    """Accept a trust with no external ID and no principal pattern (the plan says so loudly). Default: false."""
    account_id: pulumi.Input[str]
    """The 12-digit account the role is created in, to tell a cross-account vendor from a local one.
    Default: unknown, so an external ID is required."""
    region: str
    """The region of the role's account; sets the ARN partition of S3 resources. Default: the program's
    `aws:region`, else `us-east-1`."""
    s3_read: list[pulumi.Input[str]]
    """S3 locations the vendor may read, each `bucket` or `bucket/prefix` (GetObject, ListBucket narrowed to the
    prefix). Default: none."""
    s3_write: list[pulumi.Input[str]]
    """S3 locations the vendor may write (PutObject, DeleteObject, AbortMultipartUpload) and read. Default: none."""
    kms_key_arns: list[pulumi.Input[str]]
    """KMS keys of SSE-KMS buckets among the S3 locations, usable through S3 only. Default: none."""
    policy_arns: list[str]
    """Managed policies attached to the role, one `RolePolicyAttachment` each. Default: none."""
    policy: dict[str, Any]
    """An IAM identity policy document for anything else, merged into the role's permissions. Default: none."""
    allow_wildcard_resources: bool
    """Accept `Resource: "*"` in an Allow statement of `policy`. Default: false."""
    customer_managed_policy: bool
    """Put the permissions in a customer managed policy (`<roleName>-vendor-access`) attached to the role,
    instead of an inline policy. Default: false."""
    role_name: str
    """The role's name, which the vendor is handed in its ARN. Default: the component's name."""
    path: str
    """The role's IAM path. Default: `/`."""
    description: str
    """The role's description. Default: `Cross-account access for SaaS <name> (agent-iam)`."""
    permissions_boundary_arn: str
    """A managed policy set as the role's permissions boundary. Default: none."""
    max_session_duration: int
    """The role's maximum session, 3600 to 43200 seconds. Default: IAM's (3600)."""
    tags: dict[str, str]
    """Tags of the role (agent-iam adds `managed-by: agent-iam`). Default: none."""
    protect: bool
    """Protect the role from deletion (`pulumi up` refuses to delete what vendors depend on). Default: false."""
    iam_limits: IamLimitsArgs
    """The account's IAM quotas, when raised. Default: IAM's default quotas."""


class SaasAccessRoleOutputs:
    """What a SaasAccessRole hands out (annotated here: the SDK resolves a component class's own
    annotations on every registration, and the schema analyzer reads these through the class's MRO)."""

    role_arn: pulumi.Output[str]
    """The role's ARN, to give to the vendor."""
    role_name: pulumi.Output[str]
    """The role's name."""
    external_id: Optional[pulumi.Output[str]]
    """The external ID (secret), when there is one."""
    handoff: pulumi.Output[dict[str, str]]
    """Exactly what the vendor's console asks for: `roleArn`, and `externalId` when there is one."""



def _whole_account(principal: str) -> bool:
    return principal.endswith(":root")


def _principal_kind(principal: str) -> str:
    """`role` or `user` (an IAM user ARN: Snowflake's storage integration user)."""
    parsed = arns.parse(principal)
    return parsed.resource_type if parsed and parsed.resource_type else "principal"


def _trust_problems(args: Mapping[str, Any]) -> list[Problem]:
    """Who may assume the role: never anyone, never a vendor's customers through it (confused deputy)."""
    principal = args.get("principal_arn")
    problems = check_value("principal_arn", principal, checks.check_principal_arn) if principal else []
    patterns = args.get("principal_arn_patterns") or []
    problems += check_list("principal_arn_patterns", patterns, checks.check_principal_pattern)
    if args.get("external_id") is not None:
        problems += check_value("external_id", args["external_id"], checks.check_external_id)
    if problems or not principal or not is_known(principal) or not is_known(args.get("external_id")):
        return problems
    whole = _whole_account(principal)
    vendor_account = arns.account_of(principal)
    if patterns and not whole:
        problems.append(
            Problem(
                "principal_arn_patterns",
                "narrow a trust in the vendor's whole account; with {principal_arn} naming one role or user they add "
                "nothing (trust the vendor's account root instead)",
            )
        )
    for index, pattern in enumerate(patterns):
        if arns.account_of(pattern) != vendor_account:
            problems.append(
                Problem(
                    f"principal_arn_patterns[{index}]",
                    f"is in account {arns.account_of(pattern)}, not the vendor's account {vendor_account}",
                )
            )
    conditioned = bool(args.get("external_id") or patterns)
    allowed = bool(args.get("allow_unconditioned_account_trust"))
    if whole and not conditioned and not allowed:
        problems.append(
            Problem(
                "principal_arn",
                f"trusts every principal in account {vendor_account} with no condition; set {{external_id}} "
                "or {principal_arn_patterns}, or set {allow_unconditioned_account_trust}: true to accept that",
            )
        )
    if allowed and conditioned:
        problems.append(
            Problem(
                "allow_unconditioned_account_trust",
                "is true but the trust has a condition ({external_id} or {principal_arn_patterns}); remove it",
            )
        )
    account = args.get("account_id")
    cross_account = not is_known(account) or not account or vendor_account != account
    if cross_account and not whole and not args.get("external_id") and not allowed:
        role_account = f"({account})" if account and is_known(account) else "(or its account is not given)"
        problems.append(
            Problem(
                "external_id",
                f"required: the vendor {_principal_kind(principal)} {principal} is in another account than the role "
                f"{role_account}, "
                "and without an external ID any of the vendor's customers could have it assume this role "
                "(confused deputy); set the external ID the vendor gives you, or "
                "{allow_unconditioned_account_trust}: true to accept that",
            )
        )
    return problems


def s3_problems(args: Mapping[str, Any]) -> list[Problem]:
    """S3 locations: bucket names (not ARNs or URLs), each location once, KMS keys only for S3."""
    problems = check_list("s3_read", args.get("s3_read") or [], checks.check_s3_location)
    problems += check_list("s3_write", args.get("s3_write") or [], checks.check_s3_location)
    problems += check_list("kms_key_arns", args.get("kms_key_arns") or [], checks.check_kms_key_arn)
    if args.get("kms_key_arns") and not (args.get("s3_read") or args.get("s3_write")):
        problems.append(
            Problem("kms_key_arns", "are for SSE-KMS buckets (used through S3 only); list {s3_read} or {s3_write}")
        )
    if problems:
        return problems
    listed = [("s3_write", i, v) for i, v in enumerate(args.get("s3_write") or []) if is_known(v)]
    listed += [("s3_read", i, v) for i, v in enumerate(args.get("s3_read") or []) if is_known(v)]
    earlier: dict[str, list[tuple[str, int, str | None, str]]] = {}  # by bucket: only the same bucket can cover
    for key, index, value in listed:
        bucket, prefix = checks.s3_location(value)
        for other_key, other_index, other_prefix, other_value in earlier.get(bucket, ()):
            covered = other_prefix is None or (prefix or "") == other_prefix or (prefix or "").startswith(
                other_prefix + "/"
            )
            if covered:
                problems.append(
                    Problem(f"{key}[{index}]", f"already covered by {{{other_key}}}[{other_index}] ({other_value!r})")
                )
                break
        earlier.setdefault(bucket, []).append((key, index, prefix, value))
    return problems


def permissions(args: Mapping[str, Any], region: str) -> policies.Document | None:
    """The role's one permissions document: the user's policy, then the S3/KMS statements."""
    return policies.permissions_document(
        policies.partition_for_region(region),
        policy_document(args.get("policy")),
        [checks.s3_location(v) for v in args.get("s3_read") or []],
        [checks.s3_location(v) for v in args.get("s3_write") or []],
        list(args.get("kms_key_arns") or []),
    )


class _Plan:
    """The checked Args with their defaults applied: the role, its documents and what IAM would refuse."""

    def __init__(self, name: str, args: SaasAccessRoleArgs):
        problems = check_fields(SaasAccessRoleArgs, args)
        raise_problems(COMPONENT, name, problems)
        self.args = args
        self.region, _ = region_of(args)
        role, problems = role_name(name, args, "role_name", "")
        problems += role_option_problems(args)
        problems += _trust_problems(args)
        problems += s3_problems(args)
        problems += check_list("policy_arns", args.get("policy_arns") or [], checks.check_policy_arn)
        problems += policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))
        for field_name, check in (("region", checks.check_region), ("account_id", checks.check_account_id)):
            if args.get(field_name) is not None:
                problems += check_value(field_name, args[field_name], check)
        has_permissions = bool(args.get("s3_read") or args.get("s3_write") or args.get("policy"))
        if args.get("customer_managed_policy") and not has_permissions:
            problems.append(
                Problem("customer_managed_policy", "is true but there are no permissions ({s3_read}, {s3_write}, {policy})")
            )
        raise_problems(COMPONENT, name, problems)
        self.name = name
        self.role = role_spec(args, role, f"Cross-account access for SaaS {name} (agent-iam)")
        self.limits: IamLimits = iam_limits(args)
        self.has_permissions = has_permissions
        self.policy_name = f"{self.role.name}-{POLICY_NAME}" if args.get("customer_managed_policy") else POLICY_NAME
        if args.get("customer_managed_policy"):  # its attachment and this one would share a name
            raise_problems(COMPONENT, name, [
                Problem(
                    f"policy_arns[{index}]",
                    f"is named like the customer managed policy agent-iam creates for the role, {self.policy_name!r}, "
                    f"which is attached already: {arn!r}",
                )
                for index, arn in enumerate(args.get("policy_arns") or [])
                if arn.rsplit("/", 1)[-1] == self.policy_name
            ])
        self.documents = self._documents()
        if not isinstance(self.documents, pulumi.Output):
            raise_problems(COMPONENT, name, self._role_problems(self.documents))

    def _role_problems(self, docs: RoleDocuments) -> list[Problem]:
        return role_problems("role", self.role, docs, self.limits, self.args.get("account_id"), policy_field="policy")

    def _build(self, values: dict[str, Any]) -> RoleDocuments:
        """The documents from resolved values; values that were unknown are checked here, when they resolve."""
        if not is_known(self.args):  # resolved now: check what could not be checked before
            problems = _trust_problems(values) + s3_problems(values)
            if self.has_permissions and not permissions(values, self.region):
                problems.append(Problem("s3_read", "resolved to no permissions; remove the empty locations"))
            raise_problems(COMPONENT, self.name, problems)
        trust = policies.vendor_trust(
            values["principal_arn"],
            external_id=values.get("external_id"),
            principal_arn_patterns=values.get("principal_arn_patterns") or (),
        )
        document = permissions(values, self.region)
        attached = tuple(values.get("policy_arns") or ())
        if values.get("customer_managed_policy"):
            docs = RoleDocuments(
                trust=trust,
                customer_policy_name=self.policy_name,
                customer_policy=document,
                attached_policy_arns=attached,
            )
        else:
            docs = RoleDocuments(
                trust=trust, inline_policy_name=POLICY_NAME, inline_policy=document, attached_policy_arns=attached
            )
        if not is_known(self.args):
            raise_problems(COMPONENT, self.name, self._role_problems(docs))
        return docs

    def _documents(self) -> RoleDocuments | pulumi.Output[RoleDocuments]:
        return when_known(dict(self.args), self._build)

    def role_documents(self) -> RoleDocuments:
        """The documents to register: dicts when everything is known, else outputs of the one apply."""
        docs = self.documents
        if not isinstance(docs, pulumi.Output):
            return docs
        customer = bool(self.args.get("customer_managed_policy"))
        permissions_doc = docs.apply(lambda d: d.customer_policy if customer else d.inline_policy)
        return RoleDocuments(
            trust=docs.apply(lambda d: d.trust),
            inline_policy_name=None if customer else POLICY_NAME,
            inline_policy=None if customer or not self.has_permissions else permissions_doc,
            attached_policy_arns=tuple(self.args.get("policy_arns") or ()),
            customer_policy_name=self.policy_name if customer else None,
            customer_policy=permissions_doc if customer else None,
        )

    def roles(self) -> list[PlannedRole]:
        account = self.args.get("account_id")
        docs = None if isinstance(self.documents, pulumi.Output) else self.documents
        return [PlannedRole("role", self.role, account if is_known(account) else None, docs)]


# The plans `check` worked out, for the constructor that follows it with the same Args.
_CHECKED: CheckedPlans[_Plan] = CheckedPlans(_Plan)


class SaasAccessRole(pulumi.ComponentResource, SaasAccessRoleOutputs):
    """A cross-account role for one SaaS vendor, and the hand-off its console asks for.

    The trust names the vendor's principal with its external ID and/or `aws:PrincipalArn` patterns;
    the permissions (S3 locations, KMS keys, a policy) go into one inline or customer managed policy.
    Bad Args raise an `ArgsError` naming the field before anything is registered."""

    def __init__(self, name: str, args: SaasAccessRoleArgs, opts: Optional[pulumi.ResourceOptions] = None):
        plan = _CHECKED.for_constructor(name, args)
        super().__init__(type_token("saas", COMPONENT), name, None, opts)
        self._waits_for = opts.depends_on if opts is not None else None  # the children wait too
        role = create_role(
            self,
            f"{name}-role",
            plan.role,
            plan.role_documents(),
            secret_trust=bool(args.get("external_id_secret")),
            depends_on=self._waits_for,
        )
        self.role_arn = role.arn
        self.role_name = role.name
        external_id = args.get("external_id")
        # A secret output either way: a stack output is easy to paste where it should not go.
        self.external_id = pulumi.Output.secret(external_id) if external_id else None
        handoff: dict[str, Any] = {"roleArn": self.role_arn}
        if self.external_id is not None:
            handoff["externalId"] = self.external_id
        self.handoff = handoff
        self.register_outputs(self.outputs())

    @staticmethod
    def check(name: str, args: SaasAccessRoleArgs) -> list[PlannedRole]:
        """Check Args as the constructor does (raising `ArgsError`), registering nothing; the roles it would create."""
        return _CHECKED.check(name, args).roles()

    def outputs(self) -> dict[str, Any]:
        """The stack output of this role: ARN, name, external ID (secret, when set) and the hand-off."""
        outputs: dict[str, Any] = {"roleArn": self.role_arn, "roleName": self.role_name}
        if self.external_id is not None:
            outputs["externalId"] = self.external_id
        return {**outputs, "handoff": self.handoff}
