"""The role base every component is built on: the role fields declared once, their checks, and one
life cycle, check then construct.

`Component.check(name, args)` works out a `RolePlan`: the Args checked (raising `ArgsError`
before anything is registered), defaults applied, each role's documents built and judged (IAM's
limits, the guardrail rules at the program's level) when every input is known, and the component's
advisories. The constructor registers exactly that plan: `Component(name, args, opts, plan=plan)`
takes one a caller already worked out (the stack config checks every entry before it registers
anything), else it checks the Args itself. Inputs that are other resources' outputs are checked, and
the documents naming them built and judged, in one `apply` when they resolve. Without `region` in the
Args a plan is checked in the program's region until the component's AWS provider says its own
(`RolePlan.for_region`): the documents are those of the provider's region.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads the Args annotations as types.
import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from agent_iam.guardrails import rules
from agent_iam.iam import arns, checks, partitions
from agent_iam.iam import tags as tag_keys
from agent_iam.iam.tags import MANAGED_BY_TAGS
from agent_iam.iam import limits as iam_quotas
from agent_iam.iam.limits import IamLimits
from agent_iam.iam.policy_document import PolicyDocument
from agent_iam.iam.resource_types import POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT

from . import placement, policies
from ._explain import describe
from ._guardrails import AcceptedFindingArgs, GuardrailsArgs, Judge, accepted_findings_problems, guardrails_problems, judge, judge_of
from ._contract import Problem, Voice, check_fields, check_list, check_value, is_known, raise_problems, type_token, when_known
from .role import Policy, PlannedRole, RoleDocuments, RoleSpec, create_role, role_problems, role_resources, role_views



class IamLimitsArgs(TypedDict, total=False):
    """IAM quotas of the account a role is created in, when they have been raised."""

    trust_policy_size: int
    """Characters a trust policy may have. Default: 2048 (IAM's default quota; at most 8192)."""
    role_policies_size: int
    """Characters of all of a role's inline policies. Default: 10240."""
    managed_policies_per_role: int
    """Managed policies attached to one role. Default: 10 (at most 20)."""


class PolicyDocumentArgs(TypedDict):
    """One policy document placed on the role, as the vendor publishes it."""

    name: str
    """The document's name: its inline policy's name, or `<role name>-<name>` for the customer managed policy it
    goes to when it does not fit inline (IAM policy name characters). Required."""
    document: dict[str, Any]
    """The IAM identity policy document, exactly as published (sent to IAM with its keys in their order). Required."""


class RoleArgs(TypedDict, total=False):
    """The fields every component's roles share: where they are created, how they are set up and
    tagged, the account's limits, and a policy of the user's own."""

    region: str
    """The region of the roles' account: the ARN partition (and what a component says it pins). Default:
    the region of the component's AWS provider (`aws.get_region`), else the program's `aws:region`, else
    `us-east-1`."""
    path: str
    """The roles' IAM path. Default: `/`."""
    permissions_boundary_arn: str
    """A managed policy set as the roles' permissions boundary. Default: none."""
    max_session_duration: int
    """The roles' maximum session, 3600 to 43200 seconds. Default: IAM's (3600)."""
    tags: dict[str, str]
    """Tags of what the component creates (agent-iam adds `managed-by: agent-iam`). Default: none."""
    protect: bool
    """Protect the roles (and what hands them out) from deletion. Default: false."""
    iam_limits: IamLimitsArgs
    """The account's IAM quotas, when raised. Default: IAM's default quotas."""
    preset: str
    """A vendor preset of this component's kind (docs/presets.md): the vendor's documented settings as
    defaults (and, for a SaaS role, its trust and statements); the roles are tagged `agent-iam:preset`
    with its name and version. Default: none."""
    policy: pulumi.Input[dict[str, Any]]
    """An IAM identity policy document for what the workload may do beyond the generated statements,
    merged into the role's permissions (its values may be other resources' outputs). Default: none."""
    allow_wildcard_resources: bool
    """Accept a resource that covers every resource of its kind (`Resource: "*"`, `arn:aws:s3:::*/*`) in an Allow
    statement of `policy` or of `policy_documents`. Default: false."""
    policy_documents: list[PolicyDocumentArgs]
    """Identity policy documents as the vendor publishes them (as many as it has), placed by agent-iam on the role
    that takes `policy`: inline while the role's inline policies fit `iam_limits.role_policies_size`, each after it in
    a customer managed policy `<role name>-<name>` (at most 6,144 characters minified, counted against
    `iam_limits.managed_policies_per_role`). Checked as `policy` is. Default: none."""
    preset_parameters: dict[str, Any]
    """With `preset`: the values of the preset's parameters, by their keys (`clusterName`, `hostedZoneIds`: what
    only you know, filled into the vendor's published documents; docs/presets.md lists them). Default: none."""
    guardrails: GuardrailsArgs
    """How the component judges the roles it builds with the guardrail rules the offline plan and the policy pack
    run (docs/guardrails.md): a violation is an error before anything is registered (`mandatory`), a warning
    (`advisory`), or not judged (`disabled`), for every rule or per rule. Default: the program's
    `agent-iam:guardrails` config, else `mandatory`."""
    accepted_findings: list[AcceptedFindingArgs]
    """Guardrail findings accepted after review, each at one place of the roles (`{check, document, reason}`, as a
    violation's message names it); a vendor preset's own reviewed acceptances apply too. Default: none."""


class OneRoleArgs(RoleArgs, total=False):
    """The fields of a component that creates one role (and its name and managed policies)."""

    role_name: str
    """The role's name. Default: the component's name."""
    description: str
    """The role's description. Default: a sentence naming the component's kind and name (agent-iam)."""
    policy_arns: list[pulumi.Input[str]]
    """Managed policies attached to the role, one `RolePolicyAttachment` each. Default: none."""


class S3Args(TypedDict, total=False):
    """S3 locations a role may read and write, and the KMS keys of their buckets."""

    s3_read: list[pulumi.Input[str]]
    """S3 locations the role may read, each `bucket` or `bucket/prefix` (GetObject, ListBucket narrowed to the
    prefix). Default: none."""
    s3_write: list[pulumi.Input[str]]
    """S3 locations the role may write (PutObject, DeleteObject, AbortMultipartUpload) and read. Default: none."""
    kms_key_arns: list[pulumi.Input[str]]
    """KMS keys of SSE-KMS buckets among the S3 locations, usable through S3 only. Default: none."""


class SecretsArgs(TypedDict, total=False):
    """The Secrets Manager secrets an agent reads, and their KMS keys."""

    secret_arns: list[pulumi.Input[str]]
    """Secrets Manager secrets the agent may read (`secretsmanager:GetSecretValue` on exactly these).
    `*` alone only with `allowAllSecrets`. Default: none."""
    allow_all_secrets: bool
    """Accept `secretArns: ["*"]`: every secret in the account (the plan says so loudly). Default: false."""
    kms_key_arns: list[pulumi.Input[str]]
    """Customer managed KMS keys of those secrets (`kms:Decrypt` through Secrets Manager only). Default: none."""


# --- the shared fields' checks and defaults -------------------------------------------------

_LIMIT_RANGES = {
    "trust_policy_size": iam_quotas.MAX_TRUST_POLICY_SIZE,
    "role_policies_size": iam_quotas.MAX_ROLE_POLICIES_SIZE,
    "managed_policies_per_role": iam_quotas.MAX_MANAGED_POLICIES_PER_ROLE,
}


def iam_limits(args: Mapping[str, Any]) -> IamLimits:
    """`iam_limits` of the Args, IAM's defaults for what is not set."""
    return IamLimits(**(args.get("iam_limits") or {}))


def role_option_problems(args: Mapping[str, Any]) -> list[Problem]:
    """The role fields every component shares: path, boundary, session, tags, the account's limits,
    the account and the region."""
    problems: list[Problem] = []
    for field_name, check in (
        ("path", checks.check_path),
        ("permissions_boundary_arn", checks.check_policy_arn),
        ("max_session_duration", checks.check_max_session_duration),
        ("tags", checks.check_tags),
        ("account_id", checks.check_account_id),
        ("region", checks.check_region),
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


def check_managed_policy_arn(value: str) -> str:
    """A managed policy ARN: well formed, and when it is AWS's, one that exists (IAM refuses the attachment at
    `pulumi up` otherwise; customer managed policies cannot be checked offline)."""
    from agent_iam.iam import managed_policies

    checks.check_policy_arn(value)
    if managed_policies.is_aws_managed(value) and not managed_policies.exists(value):
        hint = managed_policies.suggestion(value)
        raise ValueError(
            f"{value!r} is not an AWS managed policy"
            + (f"; did you mean {hint!r}?" if hint else f" (checked against {managed_policies.source()})")
        )
    return value


def reserved_tag_problems(tags: Any) -> list[Problem]:
    """`agent-iam:*` tag keys are agent-iam's own (the preset a role was made from, `agent-iam:preset`, and any
    it may set later), so a tag in the plan says what agent-iam did, never what someone typed; the reviewed
    exemptions a user sets on purpose (docs/guardrails.md), spelled as the rules read them, are the exception.
    The prefix is compared in any case: IAM treats tag keys that differ only in case as one key
    (`aws:ResourceTag/agent-iam:preset` matches `Agent-IAM:preset`)."""
    def ours(key: Any) -> bool:
        return str(key).lower().startswith(tag_keys.AGENT_IAM_PREFIX)

    if not isinstance(tags, Mapping) or not any(ours(key) for key in tags):
        return []
    yours = (tag_keys.TRUST_EXEMPTION_TAG, tag_keys.OIDC_SUB_WILDCARD_TAG)
    return [
        Problem(
            f"tags.{key}",
            f"{key!r} is agent-iam's own tag key (agent-iam:* keys say what agent-iam set, such as the preset a role "
            f"was made from); the agent-iam tags you may set are the reviewed exemptions {' and '.join(yours)}",
        )
        for key in tags
        if ours(key) and key not in yours
    ]


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


def role_spec(args: Mapping[str, Any], name: str, description: str) -> RoleSpec:
    """A role's physical settings from the shared Args fields (defaults: path `/`, agent-iam's tags)."""
    tags = dict(args.get("tags") or {})
    for key, value in MANAGED_BY_TAGS.items():
        tags.setdefault(key, value)
    return RoleSpec(
        name=name,
        path=args.get("path") or "/",
        description=args.get("description") or description,
        permissions_boundary_arn=args.get("permissions_boundary_arn"),
        max_session_duration=args.get("max_session_duration"),
        tags=tags,
        protect=bool(args.get("protect", False)),
    )


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
            loc, message = describe(error, PolicyDocument)
            problems.append(Problem(field_name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc), message))
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


def policy_documents_problems(documents: Any, allow_wildcard_resources: bool) -> list[Problem]:
    """`policy_documents`: each a `{name, document}` whose name can name an IAM policy (once) and whose
    document passes what `policy` passes (IAM's shape; every resource of a kind only when allowed), each
    problem naming the document's place in the list and its name."""
    if documents is None or not isinstance(documents, (list, tuple)):
        return []  # `check_fields` says what is wrong with the field's type
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(documents):
        field_name = f"policy_documents[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"name", "document"}:
            shown = sorted(item) if isinstance(item, Mapping) else type(item).__name__
            problems.append(Problem(field_name, f"a mapping of name and document, got {shown}"))
            continue
        name = item["name"]
        if (problem := placement.name_problem(name)) is not None:
            problems.append(Problem(field_name, problem))
            continue
        if name in seen:
            problems.append(Problem(field_name, f"document {name!r} is given twice (also {{policy_documents}}[{seen[name]}])"))
            continue
        seen[name] = index
        inner = f"{field_name}.document"
        for problem in policy_problems(inner, item["document"], allow_wildcard_resources):
            where = problem.field.removeprefix(inner).lstrip(".")
            problems.append(Problem(field_name, f"document {name!r}: " + (f"{where}: " if where else "") + problem.message))
    return problems


def wildcard_statements(document: Mapping[str, Any]) -> list[str]:
    """The Allow statements of a document that name every resource of a kind (by meaning): by Sid, else `#n`."""
    from agent_iam.iam.arns import covers_every_resource

    return [
        statement.get("Sid") or f"#{number}"
        for number, statement in enumerate(policies.statements_of(document), start=1)
        if isinstance(statement, Mapping) and statement.get("Effect") == "Allow"
        and any(isinstance(r, str) and covers_every_resource(r) for r in policies.as_list(statement.get("Resource")))
    ]


def policy_document(policy: Any) -> Optional[policies.Document]:
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
    earlier: dict[str, list[tuple[str, int, Optional[str], str]]] = {}  # by bucket: only the same bucket can cover
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


def has_permissions(args: Mapping[str, Any]) -> bool:
    """Whether the S3 fields or `policy` give the role a permissions document (its layout is known
    before the values are)."""
    return bool(args.get("s3_read") or args.get("s3_write") or args.get("policy"))


def s3_permissions(args: Mapping[str, Any], region: str) -> Optional[policies.Document]:
    """The role's one permissions document from resolved values: the user's policy, then the S3/KMS statements."""
    return policies.permissions_document(
        policies.partition_for_region(region),
        policy_document(args.get("policy")),
        [checks.s3_location(v) for v in args.get("s3_read") or []],
        [checks.s3_location(v) for v in args.get("s3_write") or []],
        list(args.get("kms_key_arns") or []),
    )


DEFAULT_REGION = "us-east-1"  # sets only the partition (`aws`), for a component whose documents name no region


def program_region() -> Optional[str]:
    """The program's `aws:region` (its default AWS provider's), when it sets one."""
    return pulumi.Config("aws").get("region") or None


def provisional_region(args: Mapping[str, Any], *, needed_for: Optional[str] = None) -> Optional[str]:
    """The region a plan is checked in: `region` of the Args; else, until the component's AWS provider says
    which (`RolePlan.for_region`), the program's `aws:region`, else `us-east-1` (which sets only the ARN
    partition), or None when the region is `needed_for` something only it can say (a trust pinned to a
    region's tasks): the documents then wait for the provider's."""
    given = args.get("region")
    if given:
        return given
    return program_region() or (None if needed_for else DEFAULT_REGION)


# Free text the partition check leaves alone: an ARN there is a word, not a principal or a resource.
NOT_ARNS = frozenset({"tags", "description", "agent_environment", "service_account_annotations"})


def partition_problems(args: Mapping[str, Any], region: Optional[str]) -> list[Problem]:
    """Every known ARN of the Args outside the partition of the roles' `region`, naming its field: IAM refuses a
    principal, resource or boundary of another partition (none while the region is unknown or not a region)."""
    try:
        expected = policies.partition_for_region(region)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
    known = {key: value for key, value in args.items() if is_known(value)}
    return [
        Problem(
            str(loc[0]) + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:]),
            f"{arn!r} is an ARN of partition {partition!r}, but the roles' region {region} is in {expected!r}: write "
            f"arn:{expected}:... (IAM refuses ARNs of another partition)",
        )
        for loc, arn, partition in partitions.foreign_arns(known, region, skip=NOT_ARNS)
    ]


def preset_of(component: str, name: str, args: Any, args_type: type, family: str) -> tuple[Any, dict[str, Any]]:
    """The vendor preset the Args name (`preset`), and its documented defaults for the fields the Args
    leave out (its keys are the stack file's: `serviceAccount` is `service_account`); `(None, {})` without
    one. An unknown preset, or one of another kind, raises `ArgsError` naming `preset`."""
    from agent_iam import presets

    if not isinstance(args, Mapping) or not isinstance(args.get("preset"), str) or not args["preset"].strip():
        return None, {}  # no preset, or one `check_fields` refuses
    try:
        preset = presets.load(args["preset"])
    except KeyError as exc:
        raise_problems(component, name, [Problem("preset", str(exc.args[0]))])
    if preset.family != family:
        raise_problems(
            component, name, [Problem("preset", f"preset {preset.name} is for agent-iam:{preset.family} entries, not {family}")]
        )
    fields = fields_by_key(args_type)
    defaults = {fields[key]: value for key, value in preset.defaults.items() if key in fields}
    return preset, {key: value for key, value in defaults.items() if key not in args}


def fields_by_key(args_type: type) -> dict[str, str]:
    """The Args fields by their camelCase names (the schema's and the stack file's): `trustEc2` -> `trust_ec2`."""
    from pydantic.alias_generators import to_camel

    return {to_camel(name): name for name in args_type.__annotations__}


# --- the life cycle ------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleSlot:
    """One role of a plan: how messages call it, its settings, the account it is created in (an Input),
    and the Args fields its permissions and its boundary come from (named by IAM's refusals)."""

    label: str
    spec: RoleSpec
    account_id: Any = None
    policy_field: str = "policy"
    boundary_field: str = "permissions_boundary_arn"
    suffix: str = "role"  # its resource is `<component name>-<suffix>`
    arns_field: str = "policy_arns"  # the Args field of the managed policies it is given by ARN

    def resource_name(self, name: str) -> str:
        return f"{name}-{self.suffix}"


def provider_region(result: Any) -> Optional[str]:
    """The region in an `aws.get_region` result; None when the provider says none (a program's own mocks may
    answer every invoke with nothing)."""
    region = getattr(result, "region", None)
    return region if isinstance(region, str) and region else None


def resolved_layout(plan: "RolePlan", built: Any) -> list[RoleDocuments]:
    """The documents to register for `plan`'s roles: `built` when known, else its layout with each document
    (and attached policy ARN) taken from `built` once it resolves."""
    if not isinstance(built, pulumi.Output):
        return built
    return [layout.resolved(built, index) for index, layout in enumerate(plan.laid_out())]


class RolePlan:
    """A component's checked Args with their defaults applied: its roles, their documents (known, or
    built in one `apply` when their inputs resolve), the guardrails' verdict on them and its advisories.
    Built by `check`, registered by the constructor; every component's plan is one of these.

    A subclass sets `COMPONENT` and `ARGS`, and says what is its own: `problems()` (every field's
    check, raised before anything is built), `slots()` (its roles), `document_inputs()` and `build()`
    (the documents from resolved values), `layout()` (which documents exist before their values are
    known), `resolved_problems()` (the checks of values that were unknown) and `advisories()`."""

    COMPONENT = ""  # the component's name, from its Args type (`EcsAgentRolesArgs`: `EcsAgentRoles`)
    ARGS: type = dict
    PRESET_FAMILY = ""  # the stack-file family whose vendor presets (agent_iam.presets) this component takes
    REGION_NEEDED_FOR: Optional[str] = None  # what only the region can say, making it required
    ACCOUNT_FROM_PROVIDER = False  # no `account_id`: the account of the component's AWS provider, looked up

    def __init_subclass__(cls, *, args: Optional[type] = None, family: Optional[str] = None, **kwargs: Any):
        """`class FooPlan(RolePlan, args=FooArgs, family="fooEntries")`: the Args it checks, and the presets it takes."""
        super().__init_subclass__(**kwargs)
        if args is not None:
            cls.ARGS, cls.COMPONENT = args, args.__name__.removesuffix("Args")
        if family is not None:
            cls.PRESET_FAMILY = family

    def __init__(self, name: str, args: Any, voice: Optional[Voice] = None):
        if not isinstance(name, str) or not name.strip():
            raise_problems(self.COMPONENT, str(name), [Problem("", f"the component's name must be a non-empty string, got {name!r}")])
        self.preset, defaults = preset_of(self.COMPONENT, name, args, self.ARGS, self.PRESET_FAMILY)
        raise_problems(self.COMPONENT, name, check_fields(self.ARGS, {**defaults, **args} if defaults else args))
        self.name, self.given, self.args = name, args, args
        self.voice = voice or Voice(f"{self.COMPONENT} {name!r}")
        self.preset_advice: list[Problem] = []
        self.preset_kept: list[dict[str, Any]] = []  # the preset's statements the role keeps (narrowed)
        # The Args' region, or a provisional one until the component's AWS provider says which (`for_region`).
        self.region_given = bool(args.get("region"))
        self.region = provisional_region(args, needed_for=self.REGION_NEEDED_FOR)
        if self.preset is not None:
            self.args = self.with_preset(self.preset, defaults, args)
        self.raise_problems(self.problems())
        self.limits = iam_limits(self.args)
        self.setup()
        self.slots = self.role_slots()
        # Every role's documents when every input is known (checked and judged here; registered as they are),
        # and where the policy documents go, decided once from what is known now (the judge's acceptances name
        # the placed documents).
        self.checked: Optional[list[RoleDocuments]] = None
        self.guardrail_advice: list[Problem] = []
        inputs = self.document_inputs()
        built = self.build(inputs) if inputs is not None and is_known(inputs) else None
        self.placed = self.place_documents(built)
        self.raise_problems(self.placement_problems())
        self.judge = self.judge_of()
        if built is not None:
            self.checked = self.with_documents(built)
            self.raise_problems(self.role_problems(self.checked))
            self.guardrail_advice = self.judged(self.checked, inputs)
        self.advice = self.advisories()

    def raise_problems(self, problems: list[Problem]) -> None:
        raise_problems(self.COMPONENT, self.name, problems)

    @property
    def partition(self) -> str:
        """The ARN partition of the region (`aws` while a bad region waits to be reported with the other problems,
        or no region is known yet: nothing is built in it then)."""
        try:
            return policies.partition_for_region(self.region)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return "aws"

    def for_region(self, answer: Optional[str]) -> "RolePlan":
        """This plan where the component's AWS provider is (`answer`, the provider's region; the program's
        `aws:region` when it says none): the plan itself when that is the region it was checked in (its ARNs
        checked against the region's partition now), else the same Args checked again in that region. Raises
        `ArgsError` for what is wrong there."""
        region = answer or program_region()
        if not region:
            if self.REGION_NEEDED_FOR:
                self.raise_problems([
                    Problem("region", f"required: {self.REGION_NEEDED_FOR}, and neither the component's AWS provider "
                            "nor the program's aws:region says which")
                ])
            region = DEFAULT_REGION
        if region == self.region:
            self.raise_problems(partition_problems(self.args, region))
            return self
        try:
            checks.check_region(region)
        except ValueError as error:
            self.raise_problems([Problem("region", f"the component's AWS provider is in a region agent-iam cannot place: {error}")])
        return type(self)(self.name, {**self.given, "region": region}, self.voice)

    # --- vendor presets ---------------------------------------------------------------

    def with_preset(self, preset: Any, defaults: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
        """The Args with the preset applied: its documented defaults under the fields the Args leave out,
        the fields it requires checked, its tag on the roles, and what the component's kind takes of it
        (`preset_args`)."""

        fields = fields_by_key(self.ARGS)
        problems = [
            Problem(fields[key], f"required by preset {preset.name} ({preset.title})")
            for key in preset.required
            if key in fields and args.get(fields[key]) is None
        ]
        if args.get("preset_version") is not None and args["preset_version"] != preset.version:
            problems.append(
                Problem(
                    "preset_version",
                    f"preset {preset.name} is now version {preset.version}, not {args['preset_version']}: review its "
                    "documents in docs/presets.md, then update {preset_version}",
                )
            )
        from agent_iam import presets

        for key, message in presets.parameter_problems(preset, args.get("preset_parameters") or {}):
            path = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in key)
            problems.append(Problem(f"preset_parameters{path}", message))
        self.raise_problems(problems)
        expanded = {**defaults, **args, "tags": {**(args.get("tags") or {}), tag_keys.PRESET_TAG: preset.label}}
        expanded = self.preset_args(preset, expanded)
        self.raise_problems(check_fields(self.ARGS, expanded))
        return expanded

    def preset_args(self, preset: Any, args: dict[str, Any]) -> dict[str, Any]:
        """What the component's kind takes of a preset beyond its defaults (a SaaS role: the trust and statements)."""
        return args

    def preset_acceptances(self) -> list[Any]:
        """The preset's reviewed acceptances (`agent_iam.presets.AcceptedFinding`) that apply to what the role
        keeps of it (its statements left after narrowing, its published documents as the entry's parameters fill
        them, its AWS managed policies), each naming a document as the plan shows it: a published document in a
        customer managed policy by that policy's name."""
        from agent_iam import presets

        if self.preset is None:
            return []
        published = {p.name: p.policy for p in self.placed if p.preset}
        sids = {s.get("Sid") for p in self.placed if p.preset for s in policies.statements_of(dict(p.document))}
        kept = {s["Sid"] for s in self.preset_kept} | set(self.preset.managed_policy_names) | (sids - {None})
        found = presets.acceptances(self.preset, self.args.get("preset_parameters") or {}, self.partition)
        return [
            f.model_copy(update={"document": published[f.document]}) if f.document in published else f
            for f in found
            if (f.sid is None or f.sid in kept) and (f.document is None or f.document in published
                                                     or f.document in self.preset.managed_policy_names)
        ]

    def preset_published(self) -> list[tuple[str, dict[str, Any], bool]]:
        """The preset's published documents, filled with the Args' parameters, the role's partition and account,
        as `(name, document, True)` for the placement; the vendor's `Resource: "*"` there is the preset's own
        opt-in (with its reason said in every plan), never the Args'."""
        from agent_iam import presets

        preset = self.preset
        if preset is None or not preset.documents:
            return []
        account = self.args.get("account_id")
        if "account_id" in preset.placeholders.values() and not isinstance(account, str):
            self.raise_problems([Problem("account_id", f"required by preset {preset.name}: its documents name the role's account")])
        try:
            published = presets.published_documents(
                preset, self.args.get("preset_parameters") or {}, partition=self.partition,
                account_id=account if isinstance(account, str) else "",
            )
        except presets.PresetError as exc:
            self.raise_problems([Problem("preset", str(exc))])
        return [(name, document, True) for name, document in published]

    def preset_document_advice(self) -> list[Problem]:
        """The preset's published statements on every resource of a kind, said in every plan with the vendor's reason."""
        preset = self.preset
        wide = [
            f"{p.name} " + ", ".join(wildcard_statements(p.document))
            for p in self.placed
            if p.preset and wildcard_statements(p.document)
        ]
        if not wide or preset is None:
            return []
        return [
            Problem("", f"the role may call the actions of {'; '.join(wide)} on every resource of a kind, as preset "
                    f"{preset.label} ({preset.title}) publishes them: {preset.wildcard_reason}")
        ]

    # --- policy documents --------------------------------------------------------------------

    @property
    def document_slot(self) -> int:
        """The role the policy documents go to: the one that takes `policy` (ECS: the task role)."""
        return next(i for i, slot in enumerate(self.slots) if slot.policy_field == "policy")

    def place_documents(self, built: Optional[list[RoleDocuments]]) -> list[placement.Placed]:
        """Where each document goes (`placement.place`): the preset's published ones first, then the Args' own,
        after the role's own inline policies (their size from `built`; unknown until the program runs when the
        role has some and they are not known yet)."""
        documents = self.preset_published() + [
            (item["name"], item["document"], False) for item in self.args.get("policy_documents") or []
        ]
        if not documents:
            return []
        index = self.document_slot
        inline = [p for p in self.layout()[index].policies if not p.managed]
        used: Optional[int] = 0
        if inline:
            own = built[index] if built is not None else None
            used = None if own is None else sum(len(own.document_json(p.name) or "") for p in own.policies if not p.managed)
        return placement.place(documents, self.slots[index].spec.name, used, self.limits)

    def placement_problems(self) -> list[Problem]:
        """A document named like a policy the role has already, or too large for a managed policy where it goes."""
        own = {p.name for p in self.layout()[self.document_slot].policies}
        field_of = {item["name"]: f"policy_documents[{i}]" for i, item in enumerate(self.args.get("policy_documents") or [])}
        problems = []
        for placed in self.placed:
            field_name = "preset" if placed.preset else field_of.get(placed.name, "preset")
            if placed.name in own or placed.policy in own:
                problems.append(Problem(field_name, f"document {placed.name!r} is named like a policy agent-iam gives "
                                        "the role; rename it"))
            elif (problem := placement.oversized(placed)) is not None:
                problems.append(Problem(field_name, problem))
        names = [p.name for p in self.placed]
        problems += [
            Problem(field_of[name], f"document {name!r} has the name of one of preset {self.preset.name}'s documents; rename it")
            for name in dict.fromkeys(names)
            if names.count(name) > 1 and name in field_of and self.preset is not None
        ]
        return problems

    def with_documents(self, documents: list[RoleDocuments], *, layout: bool = False) -> list[RoleDocuments]:
        """`documents` with the placed policy documents added to their role (names only in a layout)."""
        if not self.placed:
            return documents
        index = self.document_slot
        extra = tuple(Policy(p.policy, None if layout else dict(p.document), p.managed) for p in self.placed)
        docs = documents[index]
        return [*documents[:index], dataclasses.replace(docs, policies=(*docs.policies, *extra)), *documents[index + 1:]]

    def laid_out(self) -> list[RoleDocuments]:
        """`layout()` with the placed documents."""
        return self.with_documents(self.layout(), layout=True)

    def placements(self) -> list[dict[str, Any]]:
        """Where each policy document went, for the plan and the access report: `{role, document, placed,
        policy, characters}`."""
        if not self.placed:
            return []
        role = self.slots[self.document_slot].spec.name
        return [
            {"role": role, "document": p.name, "placed": placement.MANAGED if p.managed else placement.INLINE,
             "policy": p.policy, "characters": p.size, **({"preset": True} if p.preset else {})}
            for p in self.placed
        ]

    # --- what a component says of itself --------------------------------------------------

    def problems(self) -> list[Problem]:
        """Every problem of the Args, naming the field, before anything is built (their ARNs against the region's
        partition when the Args give the region; a provisional one is not the roles' yet)."""
        problems = role_option_problems(self.args) + reserved_tag_problems(self.given.get("tags"))
        problems += policy_documents_problems(self.args.get("policy_documents"), bool(self.args.get("allow_wildcard_resources")))
        if self.preset is None and self.args.get("preset_parameters"):
            problems.append(Problem("preset_parameters", "applies to an entry with a preset only"))
        if self.args.get("guardrails") is not None:
            problems += guardrails_problems(self.args["guardrails"])
        if self.args.get("accepted_findings") is not None:
            problems += accepted_findings_problems(self.args["accepted_findings"])
        return problems + (partition_problems(self.args, self.region) if self.region_given else [])

    # --- the guardrails' judgement ---------------------------------------------------------

    def judge_of(self) -> Judge:
        """How the roles are judged (`guardrails`, else the program's config), with the reviewed acceptances."""
        try:
            return judge_of(self.args, self.preset_acceptances(), [(slot.label, slot.spec.name) for slot in self.slots])
        except ValueError as error:  # the program's agent-iam:guardrails config
            self.raise_problems([Problem("guardrails", str(error))])
            raise

    def judged(self, documents: list[RoleDocuments], values: Mapping[str, Any]) -> list[Problem]:
        """The guardrail rules' verdict on the roles' known documents, as the plan's and the policy pack's: a
        blocking violation raises (`ArgsError`, naming the field it comes from), an advisory one is returned
        (said as a warning), and so is a rule that could not judge (no SMT solver installed)."""
        if not self.judge.judges:
            return []
        account = values.get("account_id") if isinstance(values.get("account_id"), str) else None
        views, fields = [], {}
        for slot, docs in zip(self.slots, documents, strict=True):
            own = slot.account_id if isinstance(slot.account_id, str) else account
            for view, attached in role_views(slot.resource_name(self.name), slot.spec, docs, own, self.partition):
                views.append(view)
                fields[view.name] = self.field_of(slot, view.type, attached, values)
        verdict = judge(self.judge, views, account, self.limits)
        self.raise_problems([
            Problem(
                fields.get(v.resource_name, ""),
                f"guardrail {v.rule}: {v.message} (after review, accept it in {{accepted_findings}}, or set the rule's "
                "level in {guardrails})",
            )
            for v in rules.blocking(verdict.violations)
        ])
        advice = [Problem("", f"guardrail {v.rule} (advisory): {v.message}") for v in verdict.advisory]
        if verdict.not_judged:
            advice.append(Problem(
                "",
                f"the guardrails {', '.join(verdict.not_judged)} did NOT judge the roles: they need the SMT solver "
                "(z3-solver), which is not installed; install agent-iam with its plan extra (pip install 'agent-iam[plan]')",
            ))
        return advice

    def field_of(self, slot: "RoleSlot", kind: str, attached: Any, values: Mapping[str, Any]) -> str:
        """The Args field a registered resource of a role comes from: its permissions' field for a policy, the
        list that names an attached policy (by its place there), none for the role (its trust is built from
        several fields) or a policy the component attaches of its own (a preset's: `preset`)."""
        if kind in (ROLE_POLICY, POLICY) or (kind == ROLE_POLICY_ATTACHMENT and attached is None):
            return slot.policy_field
        if attached is None:
            return ""
        for name in ("policy_arns", "task_role_policy_arns"):
            resolved, given = list(values.get(name) or []), list(self.given.get(name) or [])
            own = len(resolved) - len(given)  # a preset's managed policies come first
            if attached in resolved[own:]:
                return f"{name}[{resolved.index(attached, own) - own}]"
            if attached in resolved[:own]:
                return "preset"
        return ""

    def setup(self) -> None:
        """Defaults worked out once the Args are known to be good (names, specs)."""

    def role_slots(self) -> list[RoleSlot]:
        raise NotImplementedError

    def document_inputs(self, **later: Any) -> Optional[dict[str, Any]]:
        """The values the documents are built from (Args, and what the constructor resolves: `later`);
        None while one they need is not given yet (the constructor looks it up)."""
        values = {**self.args, **later}
        if self.region is None or (self.ACCOUNT_FROM_PROVIDER and values.get("account_id") is None):
            return None
        return values

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        """Every role's documents from resolved values, in the order of `slots`."""
        raise NotImplementedError

    def layout(self) -> list[RoleDocuments]:
        """Every role's documents as far as they are known before the values are: which policies
        exist, inline or managed, and the managed policies attached."""
        raise NotImplementedError

    def resolved_problems(self, values: dict[str, Any]) -> list[Problem]:
        """The checks of values that were not known when the Args were checked (those of the shared
        fields; a component adds its own)."""
        problems = role_option_problems(values) + partition_problems(values, self.region)
        problems += policy_problems("policy", values.get("policy"), bool(values.get("allow_wildcard_resources")))
        return problems + check_list("policy_arns", values.get("policy_arns") or [], check_managed_policy_arn)

    def advisories(self) -> list[Problem]:
        """What the Args widen on purpose, said loudly (`pulumi.log.warn` when the component registers)."""
        return []

    # --- the shared steps ---------------------------------------------------------------

    def role_problems(self, documents: list[RoleDocuments]) -> list[Problem]:
        problems = []
        for slot, docs in zip(self.slots, documents, strict=True):
            problems += role_problems(
                slot.label, slot.spec, docs, self.limits, slot.account_id,
                policy_field=slot.policy_field, boundary_field=slot.boundary_field,
            )
            problems += self.attached_problems(slot, docs)
        return problems

    def attached_problems(self, slot: RoleSlot, docs: RoleDocuments) -> list[Problem]:
        """A customer managed policy of another account than the role's, attached by ARN: IAM refuses it at
        `pulumi up` (a role takes AWS's managed policies and its own account's)."""
        account = slot.account_id
        if not isinstance(account, str) or not account:
            return []
        given = [a for a in self.args.get(slot.arns_field) or [] if isinstance(a, str)]
        problems = []
        for arn in docs.attached_policy_arns:
            owner = arns.account_of(arn) if isinstance(arn, str) else None
            if owner and owner not in ("aws", account):
                where = f"{slot.arns_field}[{given.index(arn)}]" if arn in given else slot.arns_field
                problems.append(
                    Problem(where, f"{arn!r} is a policy of account {owner}, and the {slot.label} {slot.spec.name!r} is created "
                            f"in account {account}: IAM attaches only AWS managed policies and the role's own account's "
                            "(create the policy in that account, or give its statements as a policy document)")
                )
        return problems

    def attached_unknown_advice(self) -> list[Problem]:
        """Customer managed policies attached by ARN: the plan does not create them, so it cannot see what they
        grant (the guardrails, the access report and the diff judge the role without it)."""
        advice = []
        for slot in self.slots:
            for arn in self.args.get(slot.arns_field) or []:
                owner = arns.account_of(arn) if isinstance(arn, str) else None
                if owner and owner != "aws":
                    advice.append(
                        Problem("", f"the {slot.label} {slot.spec.name!r} is attached the customer managed policy {arn}, "
                                "whose content the plan cannot see (this stack does not create it): review what it grants "
                                "in the account, or give its statements as a policy document")
                    )
        return advice

    def _resolved(self, values: dict[str, Any]) -> list[RoleDocuments]:
        self.raise_problems(self.resolved_problems(values))
        documents = self.with_documents(self.build(values))
        missing = [
            Problem(slot.policy_field, f"resolved to nothing for the {slot.label}'s policy {policy.name!r}; "
                    "give values that grant something, or leave the field out")
            for slot, layout, built in zip(self.slots, self.laid_out(), documents)
            for policy in layout.policies
            if built.policy(policy.name) is None
        ]
        self.raise_problems(missing + self.role_problems(documents))
        for advisory in self.judged(documents, values):  # registering now: said as it is found
            pulumi.log.warn(self.voice.advisory(advisory))
        return documents

    def built(self, **later: Any) -> "list[RoleDocuments] | pulumi.Output[list[RoleDocuments]]":
        """Every role's documents: the checked ones when every input was known, else built (and checked) in
        one `apply` once the inputs resolve."""
        if self.checked is not None and not later:
            return self.checked
        inputs = self.document_inputs(**later)
        assert inputs is not None, "the constructor gives what the documents need"
        return when_known(inputs, self._resolved)

    def documents(self, **later: Any) -> list[RoleDocuments]:
        """Every role's documents to register (`built`): each document an `Output` when they wait for inputs."""
        return resolved_layout(self, self.built(**later))

    def roles(self) -> list[PlannedRole]:
        """The roles the component creates, with their documents when they are known."""
        return [
            PlannedRole(slot.label, slot.spec, slot.account_id if is_known(slot.account_id) else None,
                        self.checked[index] if self.checked is not None else None)
            for index, slot in enumerate(self.slots)
        ]

    def resources(self, name: str) -> list[tuple[str, str]]:
        """`(type, name)` of every resource the component registers under itself (their URNs are made of
        these and the component's type), from the same names its registration uses."""
        roles = [r for slot, docs in zip(self.slots, self.laid_out()) for r in role_resources(slot.resource_name(name), docs)]
        return roles + self.other_resources(name)

    def other_resources(self, name: str) -> list[tuple[str, str]]:
        """`(type, name)` of what the component registers besides its roles and their policies."""
        return []

    def advisory_texts(self) -> list[str]:
        advice = (*self.preset_advice, *self.preset_document_advice(), *self.advice, *self.attached_unknown_advice(),
                  *self.guardrail_advice)
        return [self.voice.advisory(advisory) for advisory in advice]

    def for_args(self, name: str, args: Any) -> "RolePlan":
        """This plan, when it was worked out for exactly this name and Args object."""
        if name != self.name or args is not self.given:
            raise ValueError(f"{self.COMPONENT} {name!r}: the plan given was checked for other Args ({self.name!r})")
        return self


class SecretsPlan(RolePlan):
    """The plan of a component whose agent reads Secrets Manager secrets (`SecretsArgs`)."""

    def resolved_problems(self, values: dict[str, Any]) -> list[Problem]:
        return super().resolved_problems(values) + secret_problems(values)


def policy_advisory(args: Mapping[str, Any], who: str) -> list[Problem]:
    """A `policy` (or a document of `policy_documents`) allowed to name every resource of a kind, said loudly."""
    policy = args.get("policy")
    wide = PolicyDocument.model_validate(dict(policy)).first_wildcard() if policy and is_known(policy) else None
    advice = []
    if wide is not None:
        advice.append(
            Problem(
                "",
                f"{who} policy allows actions on {wide[1]!r}, every resource of its kind ({{allow_wildcard_resources}}: true)",
            )
        )
    for item in args.get("policy_documents") or []:
        statements = wildcard_statements(item["document"])
        if statements:
            advice.append(
                Problem(
                    "",
                    f"{who} document {item['name']!r} allows actions on every resource of a kind in statement(s) "
                    f"{', '.join(statements)} ({{allow_wildcard_resources}}: true)",
                )
            )
    return advice


def secrets_advisory(args: Mapping[str, Any], who: str, account_id: Any) -> list[Problem]:
    """Every secret of the account, said loudly."""
    if "*" not in (args.get("secret_arns") or []):
        return []
    account = f"account {account_id}" if isinstance(account_id, str) else "its account"
    return [
        Problem("", f"{who} may read EVERY secret in {account} ({{secret_arns}}: '*', {{allow_all_secrets}}: true)")
    ]


class RoleComponent(pulumi.ComponentResource):
    """The base of every role component: check (a `RolePlan`), then register exactly that plan.

    A component names its plan class and its type token's module (`class Foo(RoleComponent, FooOutputs,
    plan=FooPlan, module="foo")`, and the type tokens it was registered under before, aliased so state is
    kept: `former_types=`), declares `__init__(name, args: FooArgs, opts=None, *, plan=None)` (the schema
    reads its Args from there) and registers its resources in `_register`; `register_outputs` comes last,
    from `outputs()`."""

    _PLAN = RolePlan
    _MODULE = ""
    _FORMER_TYPES = ()

    def __init_subclass__(cls, *, plan: Optional[type] = None, module: Optional[str] = None,
                          former_types: tuple[str, ...] = (), **kwargs: Any):
        super().__init_subclass__(**kwargs)
        cls._PLAN = plan or cls._PLAN
        cls._MODULE = module or cls._MODULE
        cls._FORMER_TYPES = former_types or cls._FORMER_TYPES

    def __init__(self, name: str, args: Any, opts: Optional[pulumi.ResourceOptions] = None, *, plan: Any = None):
        plan = self.check(name, args) if plan is None else plan.for_args(name, args)
        self._prepare(name, plan)
        super().__init__(type_token(self._MODULE, type(self).__name__), name, None, self._with_former_types(opts))
        self._waits_for = opts.depends_on if opts is not None else None  # the children wait too
        for text in plan.advisory_texts():
            pulumi.log.warn(text)
        self._regional = self._in_provider_region(plan)
        self._register(name, plan)
        self.register_outputs(self.outputs())

    @classmethod
    def check(cls, name: str, args: Any, *, voice: Optional[Voice] = None) -> Any:
        """Check Args as the constructor does (raising `ArgsError`), registering nothing: the plan the
        constructor takes (`plan=`), with the roles it would create (`.roles()`)."""
        return cls._PLAN(name, args, voice)

    def _with_former_types(self, opts: Optional[pulumi.ResourceOptions]) -> Optional[pulumi.ResourceOptions]:
        """`opts` with an alias under each former type token, for the name and each name alias."""
        if not self._FORMER_TYPES:
            return opts
        given = list((opts.aliases if opts is not None else None) or [])
        names = [None] + [a.name for a in given if isinstance(a, pulumi.Alias) and isinstance(a.name, str)]
        former = [pulumi.Alias(name=n, type_=t) if n else pulumi.Alias(type_=t) for t in self._FORMER_TYPES for n in names]
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=former))

    def _in_provider_region(self, plan: RolePlan) -> "RolePlan | pulumi.Output[RolePlan]":
        """The plan of the roles' region: the plan itself when its Args give the region; else the plan for the
        region of the component's AWS provider: the program's `aws:region` for the default provider (which is
        configured by it), else what the provider answers (an invoke on this component, as for its account),
        once known. What the plan says of itself there that it did not say where it was checked is said then."""
        if plan.region_given:
            return plan
        if self.get_provider(ROLE) is None and program_region():  # the AWS package's provider: the roles'
            return plan.for_region(program_region())
        answer = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))

        def regional(result: Any) -> RolePlan:
            here = plan.for_region(provider_region(result))
            if here is not plan:
                for text in here.advisory_texts():
                    if text not in plan.advisory_texts():
                        pulumi.log.warn(text)
            return here

        return answer.apply(regional)

    def _regional_value(self, pick: Any) -> Any:
        """`pick(plan)` of the plan of the roles' region (`_in_provider_region`): a value, or an `Output` of one."""
        regional = self._regional
        return regional.apply(pick) if isinstance(regional, pulumi.Output) else pick(regional)

    def _documents(self, plan: RolePlan) -> list[RoleDocuments]:
        """The documents of the plan of the roles' region; without `account_id`, built once the account of the
        component's AWS provider is known (when the plan says it defaults to that account)."""
        later: dict[str, Any] = {}
        if plan.ACCOUNT_FROM_PROVIDER and plan.args.get("account_id") is None:
            later["account_id"] = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        regional = self._regional
        if not isinstance(regional, pulumi.Output):
            return plan.documents(**later)
        names = list(later)
        built = pulumi.Output.all(regional, *later.values()).apply(
            lambda values: values[0].built(**dict(zip(names, values[1:])))
        )
        return resolved_layout(plan, built)

    def _prepare(self, name: str, plan: Any) -> None:
        """What the component needs before it registers anything (raising `pulumi.RunError` when it is missing)."""

    def _register_roles(self, name: str, plan: RolePlan, **options: Any) -> list[Any]:
        """Every role of the plan with its documents (`create_role`), named `<name>-<slot suffix>`."""
        return [
            create_role(self, slot.resource_name(name), slot.spec, docs, depends_on=self._waits_for, layout=layout, **options)
            for slot, docs, layout in zip(plan.slots, self._documents(plan), plan.laid_out())
        ]

    def _register(self, name: str, plan: Any) -> None:
        raise NotImplementedError

    def outputs(self) -> dict[str, Any]:
        """The stack output: every output the component declares on its `...Outputs` mixin (the schema's
        outputs too), by its camelCase name, in the order declared; one it does not have (None) is left out."""
        from pydantic.alias_generators import to_camel

        mixins = [cls for cls in reversed(type(self).__mro__) if cls.__name__.endswith("Outputs")]
        names = [name for cls in mixins for name in inspect.get_annotations(cls)]
        values = {to_camel(name): getattr(self, name, None) for name in dict.fromkeys(names)}
        return {key: value for key, value in values.items() if value is not None}
