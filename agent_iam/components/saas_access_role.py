"""SaaS access role: a role in the customer's account that a vendor's control plane assumes.

Trust is narrowed with `sts:ExternalId` and/or `aws:PrincipalArn` patterns; the
permissions (S3 locations, KMS keys, an extra policy) go into one inline policy, or
into one customer managed policy attached to the role when the vendor's flow asks for it.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from typing import Any, Optional

import pulumi

from agent_iam.iam import arns, checks

from . import policies
from ._contract import Problem, check_list, check_value, is_known
from agent_iam.iam.policy_document import PolicyDocument

from .base import (
    check_managed_policy_arn,
    OneRoleArgs, RoleComponent, RolePlan, RoleSlot, S3Args, has_permissions, policy_advisory, policy_problems,
    role_name, role_spec, s3_permissions, s3_problems,
)
from .role import Policy, RoleDocuments

POLICY_NAME = "vendor-access"


class SaasAccessRoleArgs(OneRoleArgs, S3Args, total=False):
    """One vendor's access: who may assume the role, on what condition, and what it may do."""

    principal_arn: pulumi.Input[str]
    """The vendor principal trusted to assume the role: one of its roles (`arn:aws:iam::<vendor>:role/<name>`),
    one IAM user (`arn:aws:iam::<vendor>:user/<name>`, Snowflake's storage integration) or its account root
    (`arn:aws:iam::<vendor>:root`). Never a wildcard. Default: the account root a `preset` names; required
    without one."""
    vendor_account_id: str
    """The vendor's account, trusted as a whole (its root), instead of `principalArn`; narrow it with
    `principalArnPatterns` and/or `externalId`. Default: none."""
    external_id: pulumi.Input[str]
    """The `sts:ExternalId` the vendor gives you, required in the trust. Required when the principal is in
    another account than the role (confused deputy), unless `allowUnconditionedAccountTrust`. Default: none."""
    external_id_secret: bool
    """Keep the role's trust policy (which holds the external ID) secret in state. Default: false; the
    `externalId` output is secret either way."""
    principal_arn_patterns: list[str]
    """`aws:PrincipalArn` ArnLike patterns of the vendor's roles (`arn:aws:iam::<vendor>:role/<name*>`), one trust
    statement each; with `principalArn` as the vendor's account root. Default: none."""
    source_ips: list[str]
    """IP addresses or CIDR ranges the vendor assumes the role from (`aws:SourceIp`, IpAddress), as the vendor
    documents them: a condition on top of the external ID or principal patterns, never instead. Default: none."""
    principal_org_ids: list[str]
    """The AWS Organizations IDs the vendor's principals belong to (`aws:PrincipalOrgID`, StringEquals), as the
    vendor documents them: a condition on top, never instead. Default: none."""
    allow_unconditioned_account_trust: bool
    """Accept a trust with no external ID and no principal pattern (the plan says so loudly). Default: false."""
    account_id: pulumi.Input[str]
    """The 12-digit account the role is created in, to tell a cross-account vendor from a local one.
    Default: unknown, so an external ID is required."""
    customer_managed_policy: bool
    """Put the permissions in a customer managed policy (`<roleName>-vendor-access`) attached to the role,
    instead of an inline policy. Default: false (a preset may say true)."""
    preset_version: str
    """With `preset`: the version (the date) the preset was reviewed at; the check fails when the shipped
    preset is another version, so a changed preset is reviewed before it reaches the account. Default: none."""
    without_actions: list[str]
    """With `preset`: actions of its statements to leave out (a statement left with none goes). Default: none."""
    without_statements: list[str]
    """With `preset`: statements to leave out, by Sid. Default: none."""


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
    """Who may assume the role: never anyone, never a vendor's customers through it (confused deputy).
    A problem of the principal names `vendor_account_id` when the principal is that account's root."""
    principal = args.get("principal_arn")
    principal_field = "vendor_account_id" if args.get("vendor_account_id") else "principal_arn"
    problems = check_value("principal_arn", principal, checks.check_principal_arn) if principal else []
    patterns = args.get("principal_arn_patterns") or []
    problems += check_list("principal_arn_patterns", patterns, checks.check_principal_pattern)
    if args.get("external_id") is not None:
        problems += check_value("external_id", args["external_id"], checks.check_external_id)
    problems += check_list("source_ips", args.get("source_ips") or [], checks.check_source_ip)
    problems += check_list("principal_org_ids", args.get("principal_org_ids") or [], checks.check_principal_org_id)
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
                principal_field,
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


class SaasAccessRolePlan(RolePlan, args=SaasAccessRoleArgs, family="saasRoles"):
    """The checked Args with their defaults applied: the role, its documents and what IAM would refuse."""

    PRESET_ONLY = ("preset_version", "without_actions", "without_statements")

    def preset_args(self, preset: Any, args: dict[str, Any]) -> dict[str, Any]:
        """The preset's trust (its account root and principal patterns, or the principal the Args name), its
        statements narrowed by the Args and on the Args' S3 locations, then the Args' own `policy`; its managed
        policies, then the Args'. Its own `Resource: "*"` is its documented opt-in, said in every plan; the
        Args' own policy still needs `allow_wildcard_resources`."""
        from agent_iam import presets

        trust = preset.trust
        problems = []
        if trust.principal == "account":
            given = [key for key in ("principal_arn", "vendor_account_id", "principal_arn_patterns") if args.get(key)]
            problems += [
                Problem(key, f"is set by preset {preset.name} ({preset.title}: account {trust.account_id}); remove it")
                for key in given
            ]
            args["vendor_account_id"] = trust.account_id
            if trust.principal_arn_patterns:
                args["principal_arn_patterns"] = list(trust.principal_arn_patterns)
        elif args.get("vendor_account_id"):
            problems.append(Problem("vendor_account_id", f"preset {preset.name} trusts an IAM {trust.principal}: {trust.principal_hint}"))
        else:
            principal = args.get("principal_arn")
            if not principal:
                problems.append(
                    Problem("principal_arn", f"preset {preset.name} trusts the {trust.principal} you name: set "
                            f"{{principal_arn}} ({trust.principal_hint})")
                )
            elif is_known(principal) and f":{trust.principal}/" not in principal:
                problems.append(Problem("principal_arn", f"preset {preset.name} trusts an IAM {trust.principal}: {trust.principal_hint}"))
            elif is_known(principal) and trust.account_id and arns.account_of(principal) != trust.account_id:
                problems.append(Problem("principal_arn", f"preset {preset.name}'s {trust.principal} is in account {trust.account_id}"))
        if trust.external_id and not args.get("external_id"):
            problems.append(
                Problem("external_id", f"required by preset {preset.name}: {trust.external_id_hint or 'the vendor generates it'}")
            )
        if preset.s3 is not None and preset.s3.required and not (args.get("s3_read") or args.get("s3_write")):
            problems.append(Problem("s3_read", f"preset {preset.name} reads the locations you list: set {{s3_read}} or {{s3_write}}"))
        for key, message in presets.narrowing_problems(preset, args.get("without_actions") or [], args.get("without_statements") or []):
            problems.append(Problem(f"{'without_actions' if key[0] == 'withoutActions' else 'without_statements'}[{key[1]}]", message))
        own = args.get("policy")
        own_model = PolicyDocument.model_validate(dict(own)) if own and is_known(own) and not policy_problems("policy", own, True) else None
        if own_model is not None and own_model.wildcard_resource and not args.get("allow_wildcard_resources"):
            problems.append(
                Problem("policy", 'an Allow statement has Resource "*"; scope it to ARNs, or set {allow_wildcard_resources}: '
                        "true (the preset's own statements do not opt your policy in)")
            )
        self.raise_problems(problems)
        if preset.customer_managed_policy and args.get("customer_managed_policy") is None:
            args["customer_managed_policy"] = True
        self.preset_kept = self.preset_statements(preset, args)
        wide = [s["Sid"] for s in self.preset_kept if "*" in presets.as_list(s.get("Resource"))]
        if wide:
            self.preset_advice.append(
                Problem("", f"the role may call the actions of {', '.join(wide)} on Resource '*', as preset {preset.label} "
                        f"({preset.title}) documents: {preset.wildcard_reason}")
            )
        statements = self.preset_kept + presets.s3_statements(
            preset,
            partition=self.partition,
            read=[checks.s3_location(v) for v in args.get("s3_read") or [] if is_known(v)],
            write=[checks.s3_location(v) for v in args.get("s3_write") or [] if is_known(v)],
            without_actions=args.get("without_actions") or [],
        )
        args["policy_arns"] = list(dict.fromkeys([*presets.policy_arns(preset, self.partition), *(args.get("policy_arns") or [])]))
        args.setdefault("description", f"Cross-account access for SaaS {self.name} (agent-iam preset {preset.label})")
        own_statements = own_model.to_dict()["Statement"] if own_model is not None else []
        if statements or own_statements:
            args["policy"] = policies.document([*statements, *own_statements])
        if wide:
            args["allow_wildcard_resources"] = True
        return args

    def preset_statements(self, preset: Any, args: Mapping[str, Any]) -> list[dict[str, Any]]:
        from agent_iam import presets

        account = args.get("account_id")
        if not isinstance(account, str) and "${AccountId}" in repr(preset.statements):
            self.raise_problems([Problem("account_id", f"required by preset {preset.name}: its statements name the role's account")])
        return presets.statements(
            preset,
            partition=self.partition,
            account_id=account if isinstance(account, str) else "",
            without_actions=args.get("without_actions") or [],
            without_statements=args.get("without_statements") or [],
        )


    def problems(self) -> list[Problem]:
        args = self.args
        if self.preset is None:
            alone = [Problem(key, "applies to an entry with a preset only") for key in self.PRESET_ONLY if args.get(key)]
            if alone:
                return alone
        self.role_name, problems = role_name(self.name, args, "role_name", "")
        if not args.get("principal_arn") and not args.get("vendor_account_id"):
            return problems + [
                Problem("principal_arn", "required, but not set: the vendor's role, user or account root "
                        "(or {vendor_account_id})")
            ]
        if args.get("principal_arn") and args.get("vendor_account_id"):
            return problems + [Problem("vendor_account_id", "set one of {principal_arn} or {vendor_account_id}")]
        if args.get("vendor_account_id"):
            problems += check_value("vendor_account_id", args["vendor_account_id"], checks.check_account_id)
            if problems:
                return problems
            self.args = args = {
                **args, "principal_arn": policies.account_root_arn(self.partition, args["vendor_account_id"])
            }
        problems += super().problems() + _trust_problems(args) + s3_problems(args)
        problems += check_list("policy_arns", args.get("policy_arns") or [], check_managed_policy_arn)
        problems += policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))
        if args.get("customer_managed_policy") and not has_permissions(args):
            problems.append(
                Problem("customer_managed_policy", "is true but there are no permissions ({s3_read}, {s3_write}, {policy})")
            )
        self.policy_name = f"{self.role_name}-{POLICY_NAME}" if args.get("customer_managed_policy") else POLICY_NAME
        if args.get("customer_managed_policy"):  # its attachment and this one would share a name
            problems += [
                Problem(
                    f"policy_arns[{index}]",
                    f"is named like the customer managed policy agent-iam creates for the role, {self.policy_name!r}, "
                    f"which is attached already: {arn!r}",
                )
                for index, arn in enumerate(args.get("policy_arns") or [])
                if isinstance(arn, str) and arn.rsplit("/", 1)[-1] == self.policy_name
            ]
        return problems

    def role_slots(self) -> list[RoleSlot]:
        spec = role_spec(self.args, self.role_name, f"Cross-account access for SaaS {self.name} (agent-iam)")
        return [RoleSlot("role", spec, self.args.get("account_id"))]

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        trust = policies.vendor_trust(
            values["principal_arn"],
            external_id=values.get("external_id"),
            principal_arn_patterns=values.get("principal_arn_patterns") or (),
            source_ips=values.get("source_ips") or (),
            principal_org_ids=values.get("principal_org_ids") or (),
        )
        document = s3_permissions(values, self.region)
        managed = bool(values.get("customer_managed_policy"))
        permissions = (Policy(self.policy_name, document, managed),) if document else ()
        return [RoleDocuments(trust, permissions, tuple(values.get("policy_arns") or ()))]

    def layout(self) -> list[RoleDocuments]:
        managed = bool(self.args.get("customer_managed_policy"))
        permissions = (Policy(self.policy_name, None, managed),) if has_permissions(self.args) else ()
        return [RoleDocuments(None, permissions, tuple(self.args.get("policy_arns") or ()))]

    def resolved_problems(self, values: dict[str, Any]) -> list[Problem]:
        problems = super().resolved_problems(values) + _trust_problems(values) + s3_problems(values)
        if not problems and has_permissions(self.args) and not s3_permissions(values, self.region):
            problems.append(Problem("s3_read", "resolved to no permissions; remove the empty locations"))
        return problems

    def advisories(self) -> list[Problem]:
        who = f"the role {self.role_name!r}"
        advice = []
        principal = self.args["principal_arn"]
        if self.args.get("allow_unconditioned_account_trust") and is_known(principal):
            if _whole_account(principal):
                anyone = f"ANY principal in account {arns.account_of(principal)}"
            else:
                anyone = f"the vendor {_principal_kind(principal)} {principal}"
            advice.append(
                Problem(
                    "",
                    f"{who} may be assumed by {anyone} with no external ID or principal pattern "
                    "({allow_unconditioned_account_trust}: true)",
                )
            )
        return advice + policy_advisory(self.given, who)


class SaasAccessRole(RoleComponent, SaasAccessRoleOutputs, plan=SaasAccessRolePlan, module="saas"):
    """A cross-account role for one SaaS vendor, and the hand-off its console asks for.

    The trust names the vendor's principal with its external ID and/or `aws:PrincipalArn` patterns;
    the permissions (S3 locations, KMS keys, a policy) go into one inline or customer managed policy.
    Bad Args raise an `ArgsError` naming the field before anything is registered."""

    def __init__(self, name: str, args: SaasAccessRoleArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 plan: Optional[SaasAccessRolePlan] = None):
        super().__init__(name, args, opts, plan=plan)

    def _register(self, name: str, plan: SaasAccessRolePlan) -> None:
        (role,) = self._register_roles(name, plan, secret_trust=bool(plan.args.get("external_id_secret")))
        self.role_arn, self.role_name = role.arn, role.name
        external_id = plan.args.get("external_id")
        # A secret output either way: a stack output is easy to paste where it should not go.
        self.external_id = pulumi.Output.secret(external_id) if external_id else None
        handoff: dict[str, Any] = {"roleArn": self.role_arn}
        if self.external_id is not None:
            handoff["externalId"] = self.external_id
        self.handoff = handoff

