"""The role base every component is built on: the role fields declared once, their checks, and one
life cycle, check then construct.

`Component.check(name, args)` works out a `RolePlan`: the Args checked (raising `ArgsError`
before anything is registered), defaults applied, each role's documents built and judged when
every input is known, and the component's advisories. The constructor registers exactly that
plan: `Component(name, args, opts, plan=plan)` takes one a caller already worked out (the stack
config checks every entry before it registers anything), else it checks the Args itself. Inputs
that are other resources' outputs are checked, and the documents naming them built, in one
`apply` when they resolve.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads the Args annotations as types.
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from agent_iam.iam import checks
from agent_iam.iam import tags as tag_keys
from agent_iam.iam.tags import MANAGED_BY_TAGS
from agent_iam.iam import limits as iam_quotas
from agent_iam.iam.limits import IamLimits
from agent_iam.iam.policy_document import PolicyDocument

from . import policies
from ._explain import describe
from ._contract import Problem, Voice, check_fields, check_list, check_value, is_known, raise_problems, type_token, when_known
from .role import PlannedRole, RoleDocuments, RoleSpec, create_role, role_problems, role_resources



class IamLimitsArgs(TypedDict, total=False):
    """IAM quotas of the account a role is created in, when they have been raised."""

    trust_policy_size: int
    """Characters a trust policy may have. Default: 2048 (IAM's default quota; at most 8192)."""
    role_policies_size: int
    """Characters of all of a role's inline policies. Default: 10240."""
    managed_policies_per_role: int
    """Managed policies attached to one role. Default: 10 (at most 20)."""


class RoleArgs(TypedDict, total=False):
    """The fields every component's roles share: where they are created, how they are set up and
    tagged, the account's limits, and a policy of the user's own."""

    region: str
    """The region of the roles' account: the ARN partition (and what a component says it pins). Default:
    the program's `aws:region`, else `us-east-1`."""
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
    statement of `policy`. Default: false."""


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
    exemptions a user sets on purpose (docs/guardrails.md) are the exception."""
    if not isinstance(tags, Mapping) or not any(str(key).startswith(tag_keys.AGENT_IAM_PREFIX) for key in tags):
        return []
    yours = (tag_keys.TRUST_EXEMPTION_TAG, tag_keys.OIDC_SUB_WILDCARD_TAG)
    return [
        Problem(
            f"tags.{key}",
            f"{key!r} is agent-iam's own tag key (agent-iam:* keys say what agent-iam set, such as the preset a role "
            f"was made from); the agent-iam tags you may set are the reviewed exemptions {' and '.join(yours)}",
        )
        for key in tags
        if str(key).startswith(tag_keys.AGENT_IAM_PREFIX) and key not in yours
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
    if preset.unplaced:  # never plan the role without the vendor's policies (presets.published_documents has them)
        raise_problems(component, name, [
            Problem(
                "preset",
                f"preset {preset.name} carries the vendor's published policies ({', '.join(preset.unplaced)}), which this "
                "version of agent-iam cannot place on the role yet (policyFiles); docs/presets.md shows them",
            )
        ])
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

    def resource_name(self, name: str) -> str:
        return f"{name}-{self.suffix}"


class RolePlan:
    """A component's checked Args with their defaults applied: its roles, their documents (known, or
    built in one `apply` when their inputs resolve) and its advisories. Built by `check`, registered
    by the constructor; every component's plan is one of these.

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
        self.preset, defaults = preset_of(self.COMPONENT, name, args, self.ARGS, self.PRESET_FAMILY)
        raise_problems(self.COMPONENT, name, check_fields(self.ARGS, {**defaults, **args} if defaults else args))
        self.name, self.given, self.args = name, args, args
        self.voice = voice or Voice(f"{self.COMPONENT} {name!r}")
        self.preset_advice: list[Problem] = []
        self.preset_kept: list[dict[str, Any]] = []  # the preset's statements the role keeps (narrowed)
        self.region, region_problems = region_of(args, needed_for=self.REGION_NEEDED_FOR)
        if self.preset is not None:
            self.args = self.with_preset(self.preset, defaults, args)
        self.raise_problems(self.problems() + region_problems)
        self.limits = iam_limits(self.args)
        self.setup()
        self.slots = self.role_slots()
        # Every role's documents when every input is known (checked here; registered as they are).
        self.checked: Optional[list[RoleDocuments]] = None
        inputs = self.document_inputs()
        if inputs is not None and is_known(inputs):
            self.checked = self.build(inputs)
            self.raise_problems(self.role_problems(self.checked))
        self.advice = self.advisories()

    def raise_problems(self, problems: list[Problem]) -> None:
        raise_problems(self.COMPONENT, self.name, problems)

    @property
    def partition(self) -> str:
        """The ARN partition of the region (`aws` while a bad region waits to be reported with the other problems)."""
        try:
            return policies.partition_for_region(self.region)
        except ValueError:
            return "aws"

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
        keeps of it: its statements left after narrowing, its AWS managed policies."""
        if self.preset is None:
            return []
        kept = {s["Sid"] for s in self.preset_kept} | set(self.preset.managed_policy_names)
        return [f for f in self.preset.accepted_findings if f.sid is None or f.sid in kept]

    # --- what a component says of itself --------------------------------------------------

    def problems(self) -> list[Problem]:
        """Every problem of the Args, naming the field, before anything is built."""
        return role_option_problems(self.args) + reserved_tag_problems(self.given.get("tags"))

    def setup(self) -> None:
        """Defaults worked out once the Args are known to be good (names, specs)."""

    def role_slots(self) -> list[RoleSlot]:
        raise NotImplementedError

    def document_inputs(self, **later: Any) -> Optional[dict[str, Any]]:
        """The values the documents are built from (Args, and what the constructor resolves: `later`);
        None while one they need is not given yet (the constructor looks it up)."""
        values = {**self.args, **later}
        return None if self.ACCOUNT_FROM_PROVIDER and values.get("account_id") is None else values

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
        problems = role_option_problems(values)
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
        return problems

    def _resolved(self, values: dict[str, Any]) -> list[RoleDocuments]:
        self.raise_problems(self.resolved_problems(values))
        documents = self.build(values)
        missing = [
            Problem(slot.policy_field, f"resolved to nothing for the {slot.label}'s policy {policy.name!r}; "
                    "give values that grant something, or leave the field out")
            for slot, layout, built in zip(self.slots, self.layout(), documents)
            for policy in layout.policies
            if built.policy(policy.name) is None
        ]
        self.raise_problems(missing + self.role_problems(documents))
        return documents

    def documents(self, **later: Any) -> list[RoleDocuments]:
        """Every role's documents to register: the checked ones when every input was known, else
        documents built (and checked) in one `apply` once the inputs resolve."""
        if self.checked is not None and not later:
            return self.checked
        inputs = self.document_inputs(**later)
        assert inputs is not None, "the constructor gives what the documents need"
        built = when_known(inputs, self._resolved)
        if not isinstance(built, pulumi.Output):
            return built
        return [layout.resolved(built, index) for index, layout in enumerate(self.layout())]

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
        roles = [r for slot, docs in zip(self.slots, self.layout()) for r in role_resources(slot.resource_name(name), docs)]
        return roles + self.other_resources(name)

    def other_resources(self, name: str) -> list[tuple[str, str]]:
        """`(type, name)` of what the component registers besides its roles and their policies."""
        return []

    def advisory_texts(self) -> list[str]:
        return [self.voice.advisory(advisory) for advisory in (*self.preset_advice, *self.advice)]

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
    """A `policy` allowed to name every resource of a kind, said loudly."""
    policy = args.get("policy")
    wide = PolicyDocument.model_validate(dict(policy)).first_wildcard() if policy and is_known(policy) else None
    if wide is None:
        return []
    return [
        Problem(
            "",
            f"{who} policy allows actions on {wide[1]!r}, every resource of its kind ({{allow_wildcard_resources}}: true)",
        )
    ]


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

    def _documents(self, plan: RolePlan) -> list[RoleDocuments]:
        """The plan's documents; without `account_id`, built once the account of the component's AWS
        provider is known (when the plan says it defaults to that account)."""
        if plan.ACCOUNT_FROM_PROVIDER and plan.args.get("account_id") is None:
            caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            return plan.documents(account_id=caller.account_id)
        return plan.documents()

    def _prepare(self, name: str, plan: Any) -> None:
        """What the component needs before it registers anything (raising `pulumi.RunError` when it is missing)."""

    def _register_roles(self, name: str, plan: RolePlan, **options: Any) -> list[Any]:
        """Every role of the plan with its documents (`create_role`), named `<name>-<slot suffix>`."""
        return [
            create_role(self, slot.resource_name(name), slot.spec, docs, depends_on=self._waits_for, **options)
            for slot, docs in zip(plan.slots, self._documents(plan))
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
