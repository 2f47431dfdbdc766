"""Vendor presets, the catalog: the data files' schema, loading, and the statements a preset gives.

One small TOML file per vendor (`agent_iam/presets/<vendor>.toml`, shipped with the package),
citing the vendor page it was copied from and the date it was checked; that date is the
preset's version. A `saasRoles` entry with `preset: <vendor>` gets the vendor's principal and
statements; it supplies only what is the customer's (external ID, buckets, a Snowflake
integration's user ARN). An entry can narrow a preset (`withoutActions`, `withoutStatements`,
fewer buckets), never widen it: its own `policy` keeps every opt-in any entry needs.

Pure data and pure functions; TOML is read with the standard library (`tomllib`), so
`pulumi up` needs nothing more.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agent_iam.iam.policy_document import VERSION

from . import PRESET_TAG  # noqa: F401  (re-exported: the role tag naming a preset and its version)

PRESET_DIR = Path(__file__).resolve().parent
PLACEHOLDER_RE = re.compile(r"\$\{(Partition|AccountId)\}")
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"

Statement = dict[str, Any]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trust(_Model):
    """Who the vendor is: its whole account (root, narrowed by patterns and/or an external ID),
    or one role or user the entry names (`vendor.principalArn`)."""

    principal: Literal["account", "role", "user"]
    account_id: str | None = Field(None, pattern=r"^\d{12}$")  # "account": required; role/user: the principal's account when fixed
    principal_arn_patterns: list[str] = []
    external_id: bool = True  # the entry must give the external ID the vendor generated
    principal_hint: str = ""  # where the customer finds the principal ARN (role/user)
    external_id_hint: str = ""  # where the customer finds the external ID

    @model_validator(mode="after")
    def _check(self) -> Trust:
        if self.principal == "account" and not self.account_id:
            raise ValueError("principal = 'account' needs account_id")
        if self.principal != "account" and self.principal_arn_patterns:
            raise ValueError("principal_arn_patterns narrow a whole-account trust only")
        if self.principal == "account" and not (self.external_id or self.principal_arn_patterns):
            raise ValueError("a whole-account trust needs external_id or principal_arn_patterns")
        return self


class S3Access(_Model):
    """The vendor's S3 actions on the customer's `s3Read`/`s3Write` locations, beyond agent-iam's
    own (`s3:ListBucket` with `s3:prefix`, `s3:GetObject`; writes `s3:PutObject`,
    `s3:DeleteObject`, `s3:AbortMultipartUpload`)."""

    required: bool = True  # the entry must list at least one location
    object_read_actions: list[str] = []  # on every readable location's objects
    object_write_actions: list[str] = []  # on every s3Write location's objects
    bucket_actions: list[str] = []  # on each bucket (no s3:prefix condition: these actions carry none)


class AcceptedFinding(_Model):
    """A reviewed acceptance of one finding on one preset statement, in the shape the stack
    file's `acceptedFindings` takes: `{check, sid, reason}`."""

    check: str
    sid: str
    reason: str = Field(min_length=10)


FAMILIES = ("saasRoles", "ecsAgents", "serviceAccounts")


class Preset(_Model):
    """One vendor's documented access, as agent-iam fills it into an entry of its family:
    a `saasRoles` entry gets the vendor's trust and statements; an agent's entry (`ecsAgents`,
    `serviceAccounts`) gets the vendor's documented settings as defaults (`defaults`)."""

    name: str
    version: str = Field(pattern=DATE_RE)  # the date the vendor's page was last checked
    title: str
    family: Literal["saasRoles", "ecsAgents", "serviceAccounts"] = "saasRoles"
    sources: list[str] = Field(min_length=1)  # the vendor pages this preset was copied from
    summary: str
    trust: Trust | None = None  # saasRoles: who the vendor is
    defaults: dict[str, Any] = {}  # agents: stack-config keys the entry gets unless it sets them
    required: list[str] = []  # agents: keys the entry must set (what only the customer knows)
    statements: list[Statement] = []
    wildcard_reason: str | None = None  # why the vendor's statements use Resource "*" (required then)
    policy_arns: list[str] = []
    s3: S3Access | None = None
    customer_managed_policy: bool = False
    accepted_findings: list[AcceptedFinding] = []
    notes: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> Preset:
        if (self.family == "saasRoles") != (self.trust is not None):
            raise ValueError("a saasRoles preset has a trust table, an agent preset none")
        if self.family != "saasRoles" and (self.statements or self.s3 or self.policy_arns or self.accepted_findings):
            raise ValueError("an agent preset sets defaults only (its vendor documents no permissions of its own)")
        sids = [s.get("Sid") for s in self.statements]
        if None in sids or len(set(sids)) != len(sids):
            raise ValueError("every preset statement has a unique Sid")
        if any("*" in as_list(s.get("Resource")) for s in self.statements) and not self.wildcard_reason:
            raise ValueError('statements with Resource "*" need wildcard_reason (the vendor\'s stated reason)')
        for finding in self.accepted_findings:
            if finding.sid not in sids and not finding.sid.startswith(("ReadObjects", "WriteObjects", "ListBuckets")):
                raise ValueError(f"accepted finding {finding.check!r} names no statement of the preset: {finding.sid!r}")
        return self

    @property
    def label(self) -> str:
        """`datadog@2026-11-29`: what the plan shows (the role's `agent-iam:preset` tag)."""
        return f"{self.name}@{self.version}"

    def actions(self) -> list[str]:
        """Every action the preset adds, in order: its statements', then its extra S3 actions."""
        listed = [a for s in self.statements for a in as_list(s.get("Action"))]
        if self.s3 is not None:
            listed += [*self.s3.object_read_actions, *self.s3.object_write_actions, *self.s3.bucket_actions]
        return list(dict.fromkeys(listed))

    def wildcard_statements(self) -> list[str]:
        return [s["Sid"] for s in self.statements if "*" in as_list(s.get("Resource"))]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, (str, dict)) else list(value)


@functools.cache
def names() -> tuple[str, ...]:
    """Every shipped preset, by name (the file stem)."""
    return tuple(sorted(path.stem for path in PRESET_DIR.glob("*.toml")))


@functools.cache
def load(name: str) -> Preset:
    """The preset `name`; `KeyError` with a 'did you mean' when there is none."""
    if name not in names():
        hint = difflib.get_close_matches(name, names(), n=1)
        raise KeyError(
            f"unknown preset {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" (presets: {', '.join(names())})"
        )
    data = tomllib.loads((PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    preset = Preset.model_validate(data)
    if preset.name != name:
        raise ValueError(f"{name}.toml names itself {preset.name!r}")
    return preset


def _fill(value: Any, partition: str, account_id: str) -> Any:
    """`${Partition}` and `${AccountId}` (the role's own) filled into a statement's strings."""
    if isinstance(value, str):
        return PLACEHOLDER_RE.sub(lambda m: partition if m[1] == "Partition" else account_id, value)
    if isinstance(value, list):
        return [_fill(v, partition, account_id) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, partition, account_id) for k, v in value.items()}
    return value


def apply_defaults(preset: Preset, data: Mapping[str, Any]) -> dict[str, Any]:
    """An agent entry's keys over the preset's `defaults` (the entry always wins)."""
    return {**preset.defaults, **data}


def narrowing_problems(
    preset: Preset, without_actions: Sequence[str], without_statements: Sequence[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """`withoutActions` / `withoutStatements` that name nothing of the preset: `(key, message)`."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    actions = preset.actions()
    sids = [s["Sid"] for s in preset.statements]
    for index, action in enumerate(without_actions):
        if action not in actions:
            hint = difflib.get_close_matches(action, actions, n=1)
            problems.append(
                (
                    ("withoutActions", index),
                    f"preset {preset.name} lists no action {action!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                )
            )
    for index, sid in enumerate(without_statements):
        if sid not in sids:
            problems.append(
                (("withoutStatements", index), f"preset {preset.name} has no statement {sid!r} (its statements: {', '.join(sids) or 'none'})")
            )
    return problems


def statements(
    preset: Preset,
    *,
    partition: str,
    account_id: str,
    without_actions: Sequence[str] = (),
    without_statements: Sequence[str] = (),
) -> list[Statement]:
    """The preset's statements for a role in `account_id`, narrowed: listed actions and statements
    removed (a statement left with no action goes too). Never adds anything."""
    result = []
    for statement in preset.statements:
        if statement["Sid"] in without_statements:
            continue
        actions = [a for a in as_list(statement.get("Action")) if a not in without_actions]
        if not actions:
            continue
        filled = _fill(dict(statement), partition, account_id)
        ordered = {"Sid": filled.pop("Sid"), "Effect": filled.pop("Effect", "Allow")}
        ordered["Action"] = actions[0] if len(actions) == 1 else actions
        filled.pop("Action", None)
        for key in ("Resource", "Condition"):  # the order IAM's own examples (and the plan's files) use
            if key in filled:
                ordered[key] = filled.pop(key)
        result.append({**ordered, **filled})
    return result


def s3_statements(
    preset: Preset,
    *,
    partition: str,
    read: Sequence[tuple[str, str | None]],
    write: Sequence[tuple[str, str | None]],
    without_actions: Sequence[str] = (),
) -> list[Statement]:
    """The vendor's extra S3 actions on the entry's own locations (Snowflake's
    `s3:GetObjectVersion`, `s3:DeleteObjectVersion`, `s3:GetBucketLocation`)."""
    s3 = preset.s3
    if s3 is None:
        return []

    def objects(locations: Sequence[tuple[str, str | None]]) -> list[str]:
        return list(dict.fromkeys(f"arn:{partition}:s3:::{b}/{p + '/' if p else ''}*" for b, p in locations))

    def keep(actions: Sequence[str]) -> list[str]:
        return [a for a in actions if a not in without_actions]

    def one_or_many(values: list[str]) -> str | list[str]:
        return values[0] if len(values) == 1 else values

    readable = list(dict.fromkeys([*read, *write]))
    result: list[Statement] = []
    prefix = re.sub(r"[^A-Za-z0-9]", "", preset.title.split()[0])
    for sid, actions, resources in (
        (f"{prefix}ReadObjectVersions", keep(s3.object_read_actions), objects(readable)),
        (f"{prefix}WriteObjectVersions", keep(s3.object_write_actions), objects(list(write))),
        (f"{prefix}BucketLocation", keep(s3.bucket_actions), sorted({f"arn:{partition}:s3:::{b}" for b, _ in readable})),
    ):
        if actions and resources:
            result.append({"Sid": sid, "Effect": "Allow", "Action": one_or_many(actions), "Resource": one_or_many(resources)})
    return result


def documents(preset: Preset, partition: str = "aws", account_id: str = "111122223333") -> Mapping[str, Any]:
    """The preset's statements as a reader sees them (docs, tests): placeholders filled."""
    return {"Version": VERSION, "Statement": statements(preset, partition=partition, account_id=account_id)}
