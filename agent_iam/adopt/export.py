"""Read the output of `aws iam get-account-authorization-details`: roles, their documents and the
managed policies they attach, checked field by field.

The file is what the AWS CLI writes (`--output json`: documents as JSON objects, dates as ISO
text) or what the API and the SDKs give (documents as URL-encoded JSON text, dates in whatever
form the SDK prints them); both are read. Pages of the API saved as a JSON list of responses are
read as one export. Keys this reader does not use are ignored, as AWS adds fields over time.

A file that is not such an export (not JSON, not an object, a field of the wrong kind) raises
`ExportError` naming the file and the field (`RoleDetailList[3].AssumeRolePolicyDocument`).
What a document *says* is not judged here: a role whose trust no stack-file entry can express is
the importer's to name, never the reader's to refuse.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from agent_iam.iam import arns
from agent_iam.safe_io import NotRegularFile, read_regular

LISTS = ("RoleDetailList", "Policies", "UserDetailList", "GroupDetailList")
MAX_PROBLEMS = 10  # an error message names at most this many fields (then how many more)


class ExportError(ValueError):
    """The file is unreadable or not the output of get-account-authorization-details."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class InlinePolicy:
    name: str
    document: dict[str, Any]


@dataclass(frozen=True)
class Attachment:
    name: str
    arn: str

    @property
    def aws_managed(self) -> bool:
        return arns.account_of(self.arn) == "aws"


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy of the export's `Policies`: its default version's document."""

    name: str
    arn: str
    path: str
    document: dict[str, Any] | None  # None: the export lists no default version
    where: str


@dataclass(frozen=True)
class ExportedRole:
    """One `RoleDetailList` item, as IAM reports it. `description` and `max_session` are not part of
    get-account-authorization-details; they are read when a file carries them (`get-role` output
    merged in), else None: unknown, never a default."""

    name: str
    path: str
    arn: str
    trust: dict[str, Any]
    inline: tuple[InlinePolicy, ...] = ()
    attached: tuple[Attachment, ...] = ()
    boundary: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    created: str | None = None
    last_used: str | None = None
    last_used_region: str | None = None
    description: str | None = None
    max_session: int | None = None
    where: str = ""

    @property
    def account(self) -> str:
        return arns.account_of(self.arn) or ""

    @property
    def partition(self) -> str:
        return arns.partition_of(self.arn) or "aws"

    @property
    def service_linked(self) -> bool:
        """AWS creates and owns these (`/aws-service-role/`); nobody may change their trust or policies."""
        return self.path.startswith("/aws-service-role/")


@dataclass(frozen=True)
class Export:
    """The export of one account: its roles and the managed policies the file lists (by ARN)."""

    source: Path
    digest: str  # sha256 of the file's bytes: the stack file says which export it came from
    account: str
    partition: str
    roles: tuple[ExportedRole, ...]
    policies: Mapping[str, ManagedPolicy]
    users: int = 0
    groups: int = 0

    def policy(self, arn: str) -> ManagedPolicy | None:
        return self.policies.get(arn)


def decode_document(value: Any) -> dict[str, Any]:
    """A policy document as the CLI (a JSON object) or the API and SDKs (URL-encoded JSON text) give
    it. ValueError says what it is instead."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        raise ValueError(f"a policy document is a JSON object or its (URL-encoded) text, not {_kind(value)}")
    text = value.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = json.loads(unquote(text))
        except ValueError as exc:
            raise ValueError(f"not a JSON policy document, nor URL-encoded JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"a policy document is a JSON object, this text holds {_kind(parsed)}")
    return parsed


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class _Reader:
    """Walks the export, collecting problems by field path instead of stopping at the first."""

    def __init__(self, source: Path):
        self.source = source
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    def text(self, item: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                self.bad(f"{where}.{key}", "required, but missing")
            return None
        if not isinstance(value, str) or (required and not value):
            self.bad(f"{where}.{key}", f"must be text, got {_kind(value)}" if not isinstance(value, str) else "is empty")
            return None
        return value

    def scalar(self, item: Mapping[str, Any], key: str, where: str) -> str | None:
        """A date or similar: any JSON scalar, as text (SDKs print dates several ways)."""
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        self.bad(f"{where}.{key}", f"must be a date or text, got {_kind(value)}")
        return None

    def items(self, item: Mapping[str, Any], key: str, where: str) -> list[tuple[str, Mapping[str, Any]]]:
        value = item.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(f"{where}{'.' if where else ''}{key}", f"must be a list, got {_kind(value)}")
            return []
        out = []
        for index, element in enumerate(value):
            at = f"{where}{'.' if where else ''}{key}[{index}]"
            if isinstance(element, Mapping):
                out.append((at, element))
            else:
                self.bad(at, f"must be an object, got {_kind(element)}")
        return out

    def document(self, item: Mapping[str, Any], key: str, where: str) -> dict[str, Any] | None:
        if key not in item or item[key] is None:
            self.bad(f"{where}.{key}", "required, but missing")
            return None
        try:
            return decode_document(item[key])
        except ValueError as exc:
            self.bad(f"{where}.{key}", str(exc))
            return None

    def role(self, where: str, item: Mapping[str, Any]) -> ExportedRole | None:
        before = len(self.problems)
        name = self.text(item, "RoleName", where)
        arn = self.text(item, "Arn", where)
        path = self.text(item, "Path", where, required=False) or "/"
        trust = self.document(item, "AssumeRolePolicyDocument", where)
        parsed = arns.parse(arn) if arn else None
        if arn and (parsed is None or parsed.service != "iam" or not parsed.resource.startswith("role/")):
            self.bad(f"{where}.Arn", f"not an IAM role ARN: {arn!r}")
        elif parsed is not None and not arns.ACCOUNT_ID_RE.fullmatch(parsed.account):
            self.bad(f"{where}.Arn", f"names no 12-digit account: {arn!r}")
        inline = []
        for at, policy in self.items(item, "RolePolicyList", where):
            policy_name = self.text(policy, "PolicyName", at)
            document = self.document(policy, "PolicyDocument", at)
            if policy_name is not None and document is not None:
                inline.append(InlinePolicy(policy_name, document))
        attached = []
        for at, policy in self.items(item, "AttachedManagedPolicies", where):
            policy_arn = self.text(policy, "PolicyArn", at)
            policy_name = self.text(policy, "PolicyName", at, required=False)
            if policy_arn is not None:
                attached.append(Attachment(policy_name or policy_arn.rsplit("/", 1)[-1], policy_arn))
        boundary = None
        raw_boundary = item.get("PermissionsBoundary")
        if isinstance(raw_boundary, Mapping):
            boundary = self.text(raw_boundary, "PermissionsBoundaryArn", f"{where}.PermissionsBoundary", required=False)
        elif raw_boundary is not None:
            self.bad(f"{where}.PermissionsBoundary", f"must be an object, got {_kind(raw_boundary)}")
        tags = []
        for at, tag in self.items(item, "Tags", where):
            key = self.text(tag, "Key", at)
            value = tag.get("Value", "")
            if not isinstance(value, str):
                self.bad(f"{at}.Value", f"must be text, got {_kind(value)}")
            elif key is not None:
                tags.append((key, value))
        last_used = last_region = None
        raw_used = item.get("RoleLastUsed")
        if isinstance(raw_used, Mapping):
            last_used = self.scalar(raw_used, "LastUsedDate", f"{where}.RoleLastUsed")
            last_region = self.text(raw_used, "Region", f"{where}.RoleLastUsed", required=False)
        elif raw_used is not None:
            self.bad(f"{where}.RoleLastUsed", f"must be an object, got {_kind(raw_used)}")
        max_session = item.get("MaxSessionDuration")
        if max_session is not None and (isinstance(max_session, bool) or not isinstance(max_session, int)):
            self.bad(f"{where}.MaxSessionDuration", f"must be a whole number of seconds, got {_kind(max_session)}")
            max_session = None
        description = self.text(item, "Description", where, required=False)
        created = self.scalar(item, "CreateDate", where)
        if len(self.problems) > before or name is None or arn is None or trust is None:
            return None
        return ExportedRole(
            name=name, path=path, arn=arn, trust=trust, inline=tuple(inline), attached=tuple(attached),
            boundary=boundary, tags=tuple(tags), created=created, last_used=last_used,
            last_used_region=last_region, description=description, max_session=max_session, where=where,
        )

    def policy(self, where: str, item: Mapping[str, Any]) -> ManagedPolicy | None:
        before = len(self.problems)
        name = self.text(item, "PolicyName", where)
        arn = self.text(item, "Arn", where)
        path = self.text(item, "Path", where, required=False) or "/"
        default = self.text(item, "DefaultVersionId", where, required=False)
        document = None
        for at, version in self.items(item, "PolicyVersionList", where):
            is_default = version.get("IsDefaultVersion")
            if is_default is True or (default is not None and version.get("VersionId") == default and is_default is None):
                document = self.document(version, "Document", at)
        if len(self.problems) > before or name is None or arn is None:
            return None
        return ManagedPolicy(name, arn, path, document, where)


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _NotJson(f"{text} is too large for a JSON number")
    return number


def _surrogate(value: Any, where: str = "") -> str | None:
    """The path of the first text holding a lone surrogate (json accepts `\\ud800`), else None."""
    if isinstance(value, str):
        return where if LONE_SURROGATE.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _surrogate(key, where) if isinstance(key, str) else None
            found = found if found is not None else _surrogate(item, f"{where}{'.' if where else ''}{key}")
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _surrogate(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _pages(data: Any, source: Path) -> list[Mapping[str, Any]]:
    """The response objects of the file: one object, or a JSON list of pages."""
    if isinstance(data, Mapping):
        return [data]
    if isinstance(data, list) and data and all(isinstance(page, Mapping) for page in data):
        return list(data)
    raise ExportError([
        f"{source}: not the output of `aws iam get-account-authorization-details`: the file holds {_kind(data)}"
        + (" (an empty list)" if data == [] else "") + ", not a JSON object with RoleDetailList and Policies"
    ])


def read_export(source: Path) -> Export:
    """The export in `source`. ExportError names the file (and the line, or the field) when it cannot
    be read, is not JSON, or is not get-account-authorization-details output."""
    try:
        raw = read_regular(source, follow_links=True)  # a FIFO or a device is refused, never read forever
    except NotRegularFile as exc:
        raise ExportError([f"{source}: not a file to read ({exc})"]) from None
    except OSError as exc:
        raise ExportError([f"{source}: cannot read it: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportError([f"{source}: not UTF-8 text (byte {exc.start}): is it the JSON the AWS CLI wrote?"]) from None
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise ExportError([f"{source}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"]) from None
    except _NotJson as exc:
        raise ExportError([f"{source}: not JSON: {exc}"]) from None
    except RecursionError:
        raise ExportError([f"{source}: not JSON this reader can take: nested too deeply"]) from None
    if SURROGATE_ESCAPE.search(text) and (where := _surrogate(data)) is not None:
        raise ExportError([f"{source}: {where or 'the top level'}: holds a lone UTF-16 surrogate, which is no Unicode "
                           "text (AWS never writes one): is the file damaged?"])
    pages = _pages(data, source)
    if not any(key in page for page in pages for key in LISTS):
        keys = sorted({str(k) for page in pages for k in page})[:8]
        raise ExportError([
            f"{source}: not the output of `aws iam get-account-authorization-details`: none of "
            f"{', '.join(LISTS)} (keys: {', '.join(keys) or 'none'})"
        ])
    reader = _Reader(source)
    roles: dict[str, ExportedRole] = {}
    policies: dict[str, ManagedPolicy] = {}
    users = groups = 0
    for number, page in enumerate(pages):
        prefix = f"[{number}]." if len(pages) > 1 else ""
        for where, item in reader.items(page, "RoleDetailList", prefix.rstrip(".")):
            role = reader.role(where, item)
            if role is None:
                continue
            earlier = roles.get(role.arn)
            if earlier is not None and earlier != _same_place(role, earlier):
                reader.bad(where, f"role {role.arn} is listed twice, differently (also at {earlier.where})")
            roles.setdefault(role.arn, role)
        for where, item in reader.items(page, "Policies", prefix.rstrip(".")):
            policy = reader.policy(where, item)
            if policy is not None:
                policies.setdefault(policy.arn, policy)
        users += len(reader.items(page, "UserDetailList", prefix.rstrip(".")))
        groups += len(reader.items(page, "GroupDetailList", prefix.rstrip(".")))
    accounts = sorted({r.account for r in roles.values()})
    if len(accounts) > 1:
        reader.bad("RoleDetailList", f"roles of {len(accounts)} accounts ({', '.join(accounts)}): export one account at a time")
    if reader.problems:
        extra = len(reader.problems) - MAX_PROBLEMS
        raise ExportError(reader.problems[:MAX_PROBLEMS] + ([f"... and {extra} more"] if extra > 0 else []))
    account = accounts[0] if accounts else _account_without_roles(policies)
    if account is None:
        raise ExportError([f"{source}: lists no role and no customer managed policy: nothing says which account it is"])
    partitions = sorted({r.partition for r in roles.values()}) or sorted(
        {arns.partition_of(p.arn) or "aws" for p in policies.values()}
    )
    return Export(
        source=source,
        digest=hashlib.sha256(raw).hexdigest(),
        account=account,
        partition=partitions[0],
        roles=tuple(roles.values()),
        policies=policies,
        users=users,
        groups=groups,
    )


def _same_place(role: ExportedRole, earlier: ExportedRole) -> ExportedRole:
    """`role` as if read where `earlier` was: a page listed twice is the same role, not a conflict."""
    from dataclasses import replace

    return replace(role, where=earlier.where)


def _account_without_roles(policies: Mapping[str, ManagedPolicy]) -> str | None:
    accounts = sorted({a for p in policies.values() if (a := arns.account_of(p.arn)) and arns.ACCOUNT_ID_RE.fullmatch(a)})
    return accounts[0] if len(accounts) == 1 else None
