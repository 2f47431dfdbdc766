"""Vendor presets, the catalog: the data files' schema, loading, and the statements a preset gives.

One small TOML file per vendor (`agent_iam/presets/<vendor>.toml`, shipped with the package),
citing the vendor page it was copied from and the date it was checked; that date is the
preset's version. A `saasRoles` entry with `preset: <vendor>` gets the vendor's principal and
statements; it supplies only what is the customer's (external ID, buckets, a Snowflake
integration's user ARN). An entry can narrow a preset (`withoutActions`, `withoutStatements`,
fewer buckets), never widen it: its own `policy` keeps every opt-in any entry needs.

A preset may also carry the vendor's published policy documents as the vendor publishes them:
one JSON file each under `agent_iam/presets/documents/<vendor>/`, verbatim, with the digest of
the text copied (`published_documents` fills in the customer's parameters and gives them back
by name, ready for `policyFiles`' placement: inline while the role's total fits, else customer
managed policies). AWS managed policies the vendor asks for are named by their dataset key and
attached by ARN (`policy_arns`). Acceptances address a statement by Sid, or by document name and
1-based statement number when the vendor's statement has no Sid.

Pure data and pure functions; TOML is read with the standard library (`tomllib`), so
`pulumi up` needs nothing more.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from agent_iam.iam import limits, managed_policies
from agent_iam.iam.partitions import partition_ids
from agent_iam.iam.policy_document import VERSION

from . import PRESET_TAG  # noqa: F401  (re-exported: the role tag naming a preset and its version)

PRESET_DIR = Path(__file__).resolve().parent
DOCUMENTS_DIR = PRESET_DIR / "documents"
PLACEHOLDER_RE = re.compile(r"\$\{(Partition|AccountId)\}")
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
SHA256_RE = r"^[0-9a-f]{64}$"
ANY_PARTITION = "any"  # a document whose ARNs name the partition through a placeholder
BUILTINS = ("partition", "account_id")  # what a preset's `placeholders` may stand for

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
    """A reviewed acceptance of one finding on what the preset gives, in the shape of the stack
    file's `acceptedFindings` (the `acceptAs` key): `{check, sid}` for a statement with a Sid
    (`document` added when the Sid is not unique); `{check, document, statement}` for one without
    (the document's name, the statement's 1-based number); `{check, document, statements}` for a
    finding across statements (each a Sid or a number); `{check, document}` for a whole AWS managed
    policy, whose statements are AWS's and renumber with its versions."""

    check: str = Field(min_length=1)
    sid: str | None = Field(None, min_length=1)
    document: str | None = Field(None, min_length=1)
    statement: int | None = Field(None, ge=1)
    statements: list[int | str] = []
    reason: str = Field(min_length=10)
    # A parameter that, given, removes the finding (it narrows the statement): the acceptance then goes.
    unless: str | None = None
    # The partitions whose file of the document it is about (empty: every file), for a vendor whose
    # variants of one document number their statements differently.
    partitions: list[str] = []

    @model_validator(mode="after")
    def _address(self) -> AcceptedFinding:
        numbered = self.statement is not None or bool(self.statements)
        if self.sid is None and self.document is None:
            raise ValueError("an acceptance names a statement: sid, or document (with statement or statements)")
        if self.sid is not None and numbered:
            raise ValueError("an acceptance names a statement by sid or by number, not both")
        if self.statement is not None and self.statements:
            raise ValueError("statement names one statement, statements a finding across several: not both")
        return self

    @property
    def where(self) -> str:
        """`statement 'Sid'`, `statement #3 of Doc`, `statements #2, 'X' of Doc` or `Doc`: as the docs and errors name it."""
        if self.sid is not None:
            return f"statement {self.sid!r}" + (f" of {self.document}" if self.document else "")
        if self.statement is not None:
            return f"statement #{self.statement} of {self.document}"
        if self.statements:
            listed = ", ".join(f"#{s}" if isinstance(s, int) else repr(s) for s in self.statements)
            return f"statements {listed} of {self.document}"
        return f"{self.document}"

    @property
    def key(self) -> tuple[Any, ...]:
        """What the acceptance addresses, as one comparable value."""
        return (self.check, self.sid, self.document, self.statement, tuple(self.statements), tuple(self.partitions))


class DocumentFile(_Model):
    """One published text of a vendor document: the file it is kept in (under `documents/`), the
    SHA-256 of the text as copied, and where it was copied from."""

    file: str = Field(pattern=r"^[a-z0-9-]+/[A-Za-z0-9_.-]+\.json$")
    sha256: str = Field(pattern=SHA256_RE)
    source: str = Field(min_length=10)  # the URL, with the commit for a repository's file
    excerpt: str = ""  # where in the source the text is (empty: the whole file)
    partition: str = "aws"  # the partition its literal ARNs are for; "any": named by a placeholder
    # When the vendor publishes the document as code, not JSON (Terraform's `jsonencode({...})`):
    # the copied text, kept beside the JSON, and its SHA-256. The JSON holds exactly its keys and
    # strings, in its order.
    copied_text: str | None = Field(None, pattern=r"^[a-z0-9-]+/[A-Za-z0-9_.-]+$")
    copied_sha256: str | None = Field(None, pattern=SHA256_RE)

    @model_validator(mode="after")
    def _copied(self) -> DocumentFile:
        if (self.copied_text is None) != (self.copied_sha256 is None):
            raise ValueError("copied_text and copied_sha256 go together")
        return self


class VendorDocument(_Model):
    """A policy document the vendor publishes, kept verbatim: its name (the vendor's own policy
    name; the managed policy name when it is placed in one) and its text, one file per partition
    the vendor publishes it for."""

    name: str = Field(min_length=1, max_length=limits.POLICY_NAME_MAX, pattern=r"^[\w+=,.@-]+$")
    files: list[DocumentFile] = Field(min_length=1)

    @model_validator(mode="after")
    def _partitions(self) -> VendorDocument:
        parts = [f.partition for f in self.files]
        if len(set(parts)) != len(parts):
            raise ValueError(f"document {self.name!r} has two files for one partition")
        if ANY_PARTITION in parts and len(parts) > 1:
            raise ValueError(f"document {self.name!r}: a file for any partition is its only file")
        unknown = sorted(set(parts) - set(partition_ids()) - {ANY_PARTITION})
        if unknown:
            raise ValueError(f"document {self.name!r}: unknown partition {unknown[0]!r} (known: {', '.join(partition_ids())})")
        return self

    def file_for(self, partition: str) -> DocumentFile | None:
        return next((f for f in self.files if f.partition in (partition, ANY_PARTITION)), None)


class Narrowing(_Model):
    """Where a list parameter narrows the published text: a whole string value of a document
    (`text`, `{partition}` standing for the file's partition), optionally in one statement only,
    replaced by one string per value given (`value`, with `{value}` and `{partition}`)."""

    document: str
    statement: int | None = Field(None, ge=1)
    text: str = Field(min_length=1)
    value: str = Field(min_length=1)

    @model_validator(mode="after")
    def _template(self) -> Narrowing:
        if "{value}" not in self.value:
            raise ValueError("a narrowing's value fills in each given value: it must contain {value}")
        return self


class Parameter(_Model):
    """A value only the customer knows, filled into the vendor's published text: a `placeholder`
    token replaced inside every string of every document (a cluster name, a queue ARN), or a
    list that `narrows` a wide string value to the values given (hosted zone IDs); an absent
    list parameter leaves the published text as it is (`when_absent` says what then applies)."""

    key: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")  # the stack-file key on the entry
    description: str = Field(min_length=10)
    kind: Literal["string", "list"] = "string"
    pattern: str = Field(min_length=2)  # every value must match it whole
    placeholder: str | None = Field(None, min_length=3)
    narrows: list[Narrowing] = []
    when_absent: str = ""

    @model_validator(mode="after")
    def _shape(self) -> Parameter:
        if (self.placeholder is None) == (not self.narrows):
            raise ValueError(f"parameter {self.key!r} has a placeholder or narrowings (one of them)")
        if self.placeholder is not None and self.kind != "string":
            raise ValueError(f"parameter {self.key!r}: a placeholder takes one value (kind = 'string')")
        if self.narrows and (self.kind != "list" or not self.when_absent):
            raise ValueError(f"parameter {self.key!r}: a narrowing takes a list and says what applies when_absent")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"parameter {self.key!r}: pattern {self.pattern!r} is not a regular expression: {exc}") from None
        return self

    @property
    def required(self) -> bool:
        """A placeholder must be filled; a narrowing may be left out (the published text stays)."""
        return self.placeholder is not None


FAMILIES = ("saasRoles", "ecsAgents", "serviceAccounts")
S3_SIDS = ("ReadObjects", "WriteObjects", "ListBuckets")  # agent-iam's own statements on a SaaS role's locations


class Preset(_Model):
    """One vendor's documented access, as agent-iam fills it into an entry of its family:
    a `saasRoles` entry gets the vendor's trust and statements; an agent's entry (`ecsAgents`,
    `serviceAccounts`) gets the vendor's documented settings as defaults (`defaults`). A
    `saasRoles` or `serviceAccounts` preset may carry the vendor's published documents (verbatim
    files, filled with `parameters`) and the AWS managed policies the vendor asks for."""

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
    managed_policies: list[str] = []  # AWS managed policies the vendor asks for, by dataset key
    documents: list[VendorDocument] = []  # the vendor's published documents, verbatim
    placeholders: dict[str, Literal["partition", "account_id"]] = {}  # tokens of the text filled by agent-iam
    parameters: list[Parameter] = []  # tokens and narrowings filled with the customer's values
    s3: S3Access | None = None
    customer_managed_policy: bool = False
    accepted_findings: list[AcceptedFinding] = []
    notes: list[str] = []
    _texts: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)  # (document, partition) -> text, as read

    @model_validator(mode="after")
    def _check(self) -> Preset:
        if (self.family == "saasRoles") != (self.trust is not None):
            raise ValueError("a saasRoles preset has a trust table, an agent preset none")
        permissions = self.statements or self.s3 or self.managed_policies or self.documents or self.accepted_findings
        if self.family == "ecsAgents" and (permissions or self.parameters):
            raise ValueError("an ecsAgents preset sets defaults only (its vendor documents no permissions of its own)")
        if self.family == "serviceAccounts" and (self.statements or self.s3 or self.customer_managed_policy):
            raise ValueError("a serviceAccounts preset carries the vendor's documents (documents, managed_policies), not statements")
        sids = [s.get("Sid") for s in self.statements]
        if None in sids or len(set(sids)) != len(sids):
            raise ValueError("every preset statement has a unique Sid")
        if any("*" in as_list(s.get("Resource")) for s in self.statements) and not self.wildcard_reason:
            raise ValueError('statements with Resource "*" need wildcard_reason (the vendor\'s stated reason)')
        for i, key in enumerate(self.managed_policies):
            if key not in managed_policies.names():
                hint = managed_policies.suggestion(managed_policies.arn(key))
                raise ValueError(
                    f"managed_policies[{i}]: {key!r} is not an AWS managed policy in the dataset"
                    + (f"; did you mean {managed_policies.key_of(hint)!r}?" if hint else "")
                )
        _unique("document", [d.name for d in self.documents] + [managed_policies.name_of(k) for k in self.managed_policies])
        _unique("parameter", [p.key for p in self.parameters])
        _unique("placeholder", [*self.placeholders, *(p.placeholder for p in self.parameters if p.placeholder)])
        names = {d.name for d in self.documents} | set(self.managed_policy_names)
        for i, parameter in enumerate(self.parameters):
            for k, narrowing in enumerate(parameter.narrows):
                if narrowing.document not in {d.name for d in self.documents}:
                    raise ValueError(f"parameters[{i}].narrows[{k}].document: the preset has no document {narrowing.document!r}")
        narrowing_keys = {p.key for p in self.parameters if p.narrows}
        seen: set[tuple[Any, ...]] = set()
        for i, finding in enumerate(self.accepted_findings):
            address = finding.key
            if address in seen:
                raise ValueError(f"accepted_findings[{i}]: a second acceptance of {finding.check} on {finding.where}: one acceptance per decision")
            seen.add(address)
            if finding.unless is not None and finding.unless not in narrowing_keys:
                raise ValueError(f"accepted_findings[{i}].unless: names no narrowing parameter of the preset: {finding.unless!r}")
            if finding.document is not None and finding.document not in names:
                raise ValueError(f"accepted_findings[{i}].document: the preset has no document {finding.document!r}")
        return self

    @property
    def label(self) -> str:
        """`datadog@2026-11-29`: what the plan shows (the role's `agent-iam:preset` tag)."""
        return f"{self.name}@{self.version}"

    @property
    def managed_policy_names(self) -> list[str]:
        """The AWS managed policies' names (`ViewOnlyAccess`), as the plan names them."""
        return [managed_policies.name_of(k) for k in self.managed_policies]

    def published_text(self, document: str, partition: str) -> str:
        """A document's text exactly as kept (and checked against its digest) when the preset was read."""
        return self._texts[(document, partition)]

    def actions(self) -> list[str]:
        """Every action the preset adds, in order: its statements', then its extra S3 actions."""
        listed = [a for s in self.statements for a in as_list(s.get("Action"))]
        if self.s3 is not None:
            listed += [*self.s3.object_read_actions, *self.s3.object_write_actions, *self.s3.bucket_actions]
        return list(dict.fromkeys(listed))

    def wildcard_statements(self) -> list[str]:
        return [s["Sid"] for s in self.statements if "*" in as_list(s.get("Resource"))]

    def parameter(self, key: str) -> Parameter | None:
        return next((p for p in self.parameters if p.key == key), None)


def _unique(what: str, values: Sequence[Any]) -> None:
    repeated = sorted({str(v) for v in values if list(values).count(v) > 1})
    if repeated:
        raise ValueError(f"{what} {repeated[0]!r} is named twice")


class PresetError(ValueError):
    """A preset data file (or a document it names) is malformed: the message names the file."""


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
    return read(PRESET_DIR / f"{name}.toml")


def read(path: Path, documents_dir: Path | None = None) -> Preset:
    """A preset data file, checked: the schema (pydantic), its name (the file's stem), and every
    document it names: the file exists under `documents_dir` (default: `documents/` beside the
    file), its text has the SHA-256 the preset records, it is a policy document a managed policy
    can hold, and every acceptance, narrowing and placeholder refers to something in it.
    `PresetError` naming the file, the key and the value received when anything is wrong."""
    where = _shown(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PresetError(f"{where}: cannot be read as TOML: {exc}") from None
    try:
        preset = Preset.model_validate(data)
    except ValidationError as exc:
        raise PresetError("\n".join(_validation_lines(where, exc))) from None
    if preset.name != path.stem:
        raise PresetError(f"{where}: name: the file {path.name} names itself {preset.name!r}")
    base = documents_dir if documents_dir is not None else path.parent / "documents"
    texts = {}
    for i, document in enumerate(preset.documents):
        for j, file in enumerate(document.files):
            key = f"documents[{i}].files[{j}]"
            texts[(document.name, file.partition)] = _document_text(where, key, base / file.file, file)
            if file.copied_text is not None:
                _check_digest(where, f"{key}.copied_sha256", base / file.copied_text, file.copied_text, file.copied_sha256, file.source)
    problems = _document_problems(preset, texts)
    if problems:
        raise PresetError("\n".join(f"{where}: {problem}" for problem in problems))
    preset._texts = texts
    return preset


def _shown(path: Path) -> str:
    """The data file as an error names it: relative to the package's parent when it is shipped."""
    try:
        return str(path.resolve().relative_to(PRESET_DIR.parent.parent))
    except ValueError:
        return str(path)


def _validation_lines(where: str, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(error["loc"]))
        message = error["msg"].removeprefix("Value error, ")
        got = f" (got {error['input']!r})" if error["type"] != "missing" and not isinstance(error["input"], dict) else ""
        lines.append(f"{where}: {loc}: {message}{got}" if loc else f"{where}: {message}")
    return lines


def _document_text(where: str, key: str, path: Path, file: DocumentFile) -> str:
    """The text of one document file, checked against its recorded digest."""
    text = _check_digest(where, f"{key}.sha256", path, file.file, file.sha256, file.source)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise PresetError(f"{where}: {key}.file: {file.file} is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), (list, dict)):
        raise PresetError(f"{where}: {key}.file: {file.file} is not a policy document (no Statement)")
    size = limits.minified_size(document)
    if size > limits.MANAGED_POLICY_SIZE:
        raise PresetError(
            f"{where}: {key}.file: {file.file} has {size} characters minified, over the {limits.MANAGED_POLICY_SIZE} "
            "a managed policy holds: a vendor document must fit one"
        )
    return text


def _check_digest(where: str, key: str, path: Path, shown: str, expected: str | None, source: str) -> str:
    """A kept file's text, which must have the SHA-256 the preset records for it."""
    try:
        raw = path.read_bytes()
    except OSError:
        raise PresetError(f"{where}: {key.rsplit('.', 1)[0]}: no such file {shown!r} (looked in {path.parent})") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise PresetError(
            f"{where}: {key}: {shown} is not the text copied from the vendor (its SHA-256 is {digest}, "
            f"the preset records {expected}); copy it again from {source}"
        )
    return raw.decode("utf-8")


# `${...}` tokens of a vendor's text that are not IAM policy variables (`${aws:username}`, `${*}`):
# CloudFormation's `${AWS::Region}`, `${ClusterName}`, Terraform's `${data.aws_partition.current.partition}`.
_TOKEN_RE = re.compile(r"\$\{([^}]*)\}")


def _is_template_token(inner: str) -> bool:
    return inner not in ("*", "?", "$") and not re.fullmatch(r"[A-Za-z0-9-]+:[^:]+", inner)


def _statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement")
    return [found] if isinstance(found, dict) else list(found or [])


def _document_problems(preset: Preset, texts: Mapping[tuple[str, str], str]) -> list[str]:
    """What the preset's documents and the references into them get wrong (`key: sentence`)."""
    problems: list[str] = []
    parsed = {key: json.loads(text) for key, text in texts.items()}
    declared = {*preset.placeholders, *(p.placeholder for p in preset.parameters if p.placeholder)}
    for (name, partition), text in texts.items():
        tokens = {f"${{{t}}}" for t in _TOKEN_RE.findall(text) if _is_template_token(t)}
        for token in sorted(tokens - declared):
            problems.append(f"documents: {name} ({partition}) has {token}, which no placeholder or parameter fills")
    for token in sorted(declared):
        if not any(token in text for text in texts.values()):
            problems.append(f"placeholders: {token} occurs in none of the preset's documents")
    for parameter in preset.parameters:
        for k, narrowing in enumerate(parameter.narrows):
            for (name, partition), document in parsed.items():
                if name != narrowing.document:
                    continue
                text = narrowing.text.replace("{partition}", partition)
                if not _string_values(document, narrowing.statement, text):
                    where = f" in statement #{narrowing.statement}" if narrowing.statement else ""
                    problems.append(
                        f"parameters[{preset.parameters.index(parameter)}].narrows[{k}].text: {name} ({partition}) has no "
                        f"string {text!r}{where} to narrow"
                    )
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for (name, partition), document in parsed.items():
        listed = by_name.setdefault(name, _statements_of(document))
        if len(listed) != len(_statements_of(document)):  # statement numbers must mean one thing in every partition
            problems.append(f"documents: {name} has {len(_statements_of(document))} statements in {partition}, {len(listed)} in another partition")
    for key in preset.managed_policies:
        by_name[managed_policies.name_of(key)] = _statements_of(managed_policies.document(managed_policies.arn(key)) or {})
    sids = [s.get("Sid") for s in preset.statements] + [s.get("Sid") for ss in by_name.values() for s in ss]
    for i, finding in enumerate(preset.accepted_findings):
        if finding.sid is not None:
            scope = sids if finding.document is None else [s.get("Sid") for s in by_name.get(finding.document, [])]
            known = finding.sid in scope or (finding.document is None and finding.sid in preset.managed_policy_names)
            if not known and not finding.sid.startswith(S3_SIDS):
                problems.append(f"accepted_findings[{i}].sid: {finding.check} names no statement of the preset: {finding.sid!r}")
        elif finding.statement is None and not finding.statements:
            if finding.document not in preset.managed_policy_names:
                problems.append(
                    f"accepted_findings[{i}].document: a whole document is accepted for an AWS managed policy only "
                    f"(the preset's: {', '.join(preset.managed_policy_names) or 'none'}); name the statement of {finding.document}"
                )
        elif finding.document in preset.managed_policy_names:
            problems.append(f"accepted_findings[{i}]: an AWS managed policy renumbers with its versions: accept {finding.document} whole (document only)")
        else:
            problems += _numbered_problems(i, finding, parsed)
    wide = [
        f"{name} statement #{n}"
        for name, statements_ in by_name.items()
        if name not in preset.managed_policy_names
        for n, s in enumerate(statements_, 1)
        if s.get("Effect") == "Allow" and "*" in as_list(s.get("Resource"))
    ]
    if wide and not preset.wildcard_reason:
        problems.append(f'wildcard_reason: {wide[0]} has Resource "*": say why, in the vendor\'s words')
    return problems


def _numbered_problems(index: int, finding: AcceptedFinding, parsed: Mapping[tuple[str, str], Any]) -> list[str]:
    """An acceptance of statement #n of a document must name a statement in every file it is about,
    and the same statement in each (its text alike but for the partition in ARNs): a vendor whose
    partition variants order the statements differently gets one acceptance per order (`partitions`)."""
    files = {part: doc for (name, part), doc in parsed.items() if name == finding.document and (not finding.partitions or part in finding.partitions)}
    unknown = sorted(set(finding.partitions) - {part for (name, part) in parsed if name == finding.document})
    if unknown:
        return [f"accepted_findings[{index}].partitions: {finding.document} has no file for partition {unknown[0]!r}"]
    key = "statement" if finding.statement is not None else "statements"
    named = [finding.statement] if finding.statement is not None else list(finding.statements)
    seen: dict[str, str] = {}
    for part, document in files.items():
        listed = _statements_of(document)
        chosen = []
        for item in named:
            if isinstance(item, int):
                if not 1 <= item <= len(listed):
                    return [f"accepted_findings[{index}].{key}: {finding.document} has {len(listed)} statements, not {item}"]
                chosen.append(listed[item - 1])
            else:
                match = [s for s in listed if s.get("Sid") == item]
                if not match:
                    return [f"accepted_findings[{index}].{key}: {finding.document} has no statement {item!r}"]
                chosen.append(match[0])
        seen.setdefault(json.dumps(chosen).replace(f"arn:{part}:", "arn:{partition}:"), part)
    if len(seen) > 1:
        return [
            f"accepted_findings[{index}].{key}: {finding.where} is not the same in partitions "
            f"{' and '.join(sorted(seen.values()))}: give each its own acceptance with partitions"
        ]
    return []


def _string_values(document: Any, statement: int | None, text: str) -> int:
    """How many string values of a document (of one statement, 1-based) are exactly `text`."""
    listed = _statements_of(document)
    if statement is not None and statement > len(listed):
        return 0
    scope = [listed[statement - 1]] if statement is not None else [document]

    def count(value: Any) -> int:
        if isinstance(value, str):
            return int(value == text)
        if isinstance(value, list):
            return sum(count(v) for v in value)
        if isinstance(value, dict):
            return sum(count(v) for v in value.values())
        return 0

    return sum(count(s) for s in scope)


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


# --- the vendor's published documents --------------------------------------------------------


def policy_arns(preset: Preset, partition: str = "aws") -> list[str]:
    """The AWS managed policies the vendor asks for, as ARNs in `partition`, in the preset's order."""
    return [managed_policies.arn(key, partition) for key in preset.managed_policies]


def parameter_problems(preset: Preset, values: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong with the parameters an entry gives (`(key, message)`, in the entry's key
    order): a key the preset does not take, a required one missing, a value of the wrong shape or
    not matching the parameter's pattern."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    taken = [p.key for p in preset.parameters]
    for key in values:
        if key not in taken:
            hint = difflib.get_close_matches(key, taken, n=1)
            problems.append(
                ((key,), f"preset {preset.name} takes no parameter {key!r}"
                 + (f"; did you mean {hint[0]!r}?" if hint else f" (its parameters: {', '.join(taken) or 'none'})"))
            )
    for parameter in preset.parameters:
        value = values.get(parameter.key)
        if value is None:
            if parameter.required:
                problems.append(((parameter.key,), f"required by preset {preset.name}: {parameter.description}"))
            continue
        items = value if parameter.kind == "list" else [value]
        if parameter.kind == "list" and (not isinstance(value, list) or not value):
            problems.append(((parameter.key,), f"a non-empty list: {parameter.description} (got {value!r})"))
            continue
        for index, item in enumerate(items):
            key: tuple[str | int, ...] = (parameter.key, index) if parameter.kind == "list" else (parameter.key,)
            if not isinstance(item, str) or not re.fullmatch(parameter.pattern, item):
                problems.append((key, f"{item!r} is not {parameter.description} (it must match {parameter.pattern})"))
    return problems


def _key_text(key: tuple[str | int, ...]) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else k) for i, k in enumerate(key))


def published_documents(
    preset: Preset,
    parameters: Mapping[str, Any] | None = None,
    *,
    partition: str = "aws",
    account_id: str = "111122223333",
) -> list[tuple[str, dict[str, Any]]]:
    """The vendor's published documents for a role in `account_id` (`partition`), in the preset's
    order, as `(name, document)`: the verbatim text with the preset's placeholders and the
    entry's parameters filled in, and nothing else changed (keys, order, Sids and conditions as
    the vendor wrote them). `PresetError` naming the parameter when one is wrong or missing, or
    when the vendor publishes a document for other partitions only."""
    values = dict(parameters or {})
    problems = parameter_problems(preset, values)
    if problems:
        key, message = problems[0]
        raise PresetError(f"preset {preset.name}: {_key_text(key)}: {message}")
    builtin = {"partition": partition, "account_id": account_id}
    tokens = {token: builtin[what] for token, what in preset.placeholders.items()}
    tokens.update({p.placeholder: values[p.key] for p in preset.parameters if p.placeholder})
    texts = preset._texts
    result: list[tuple[str, dict[str, Any]]] = []
    for document in preset.documents:
        file = document.file_for(partition)
        if file is None:
            published = ", ".join(f.partition for f in document.files)
            raise PresetError(
                f"preset {preset.name}: the vendor publishes {document.name} for partition {published} only, not {partition}"
            )
        text = texts.get((document.name, file.partition))
        if text is None:  # a Preset built in code, not read from its file
            raise PresetError(f"preset {preset.name}: {document.name} was not read with the preset (use presets.read)")
        filled = _replace_tokens(json.loads(text), tokens)
        for parameter in preset.parameters:
            given = values.get(parameter.key)
            for narrowing in parameter.narrows:
                if given and narrowing.document == document.name:
                    wide = narrowing.text.replace("{partition}", partition)
                    narrow = [narrowing.value.replace("{partition}", partition).replace("{value}", v) for v in given]
                    filled = _narrowed(filled, narrowing.statement, wide, narrow)
        result.append((document.name, filled))
    return result


def _replace_tokens(value: Any, tokens: Mapping[str, str]) -> Any:
    """Every token replaced in every string of a document, keys included (a condition key can
    name the cluster); the order of keys and values is kept."""
    if isinstance(value, str):
        for token, filled in tokens.items():
            value = value.replace(token, filled)
        return value
    if isinstance(value, list):
        return [_replace_tokens(v, tokens) for v in value]
    if isinstance(value, dict):
        return {_replace_tokens(k, tokens): _replace_tokens(v, tokens) for k, v in value.items()}
    return value


def _narrowed(document: dict[str, Any], statement: int | None, wide: str, narrow: list[str]) -> dict[str, Any]:
    """The document with each string value `wide` (of one statement, 1-based) replaced by the
    `narrow` values: spliced into a list, or one string (a list for several) in its place."""

    def replace(value: Any) -> Any:
        if isinstance(value, str) and value == wide:
            return narrow[0] if len(narrow) == 1 else list(narrow)
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                out.extend(narrow if item == wide else [replace(item)])
            return out
        if isinstance(value, dict):
            return {k: replace(v) for k, v in value.items()}
        return value

    if statement is None:
        return replace(document)
    result = dict(document)
    listed = _statements_of(document)
    listed = [replace(s) if n == statement else s for n, s in enumerate(listed, 1)]
    result["Statement"] = listed if isinstance(document.get("Statement"), list) else listed[0]
    return result


def acceptances(preset: Preset, parameters: Mapping[str, Any] | None = None, partition: str = "aws") -> list[AcceptedFinding]:
    """The preset's reviewed acceptances that apply to an entry with these parameters, in this
    partition: one whose finding a given parameter narrows away (`unless`) goes, and one about
    another partition's file of a document."""
    given = {k for k, v in (parameters or {}).items() if v}
    return [
        f
        for f in preset.accepted_findings
        if (f.unless is None or f.unless not in given) and (not f.partitions or partition in f.partitions)
    ]
