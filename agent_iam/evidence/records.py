"""Reading CloudTrail evidence: log files as CloudTrail delivers them to S3, and exported events.

Accepted, file by file (gzip is recognised by its content, not its name):
- a CloudTrail log file, `{"Records": [...]}` (`.json` or `.json.gz`, as delivered to S3);
- a JSON array of events, or one event (`agent-iam explain --event`);
- JSON lines, one event per line, as CloudTrail Lake and Athena export them: keys in any case
  (`eventsource` is `eventSource`), `requestParameters` as JSON text, or the whole event in an
  `eventJson` column.

A folder is walked recursively for `*.json`, `*.json.gz`, `*.jsonl`, `*.ndjson` (and their `.gz`);
CloudTrail's digest files in the same bucket are recognised and skipped. Anything else is an
`EvidenceError` naming the file and the record (index or line) and what is wrong with it: nothing
is guessed, nothing half-read.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from agent_iam.safe_io import NotRegularFile, read_regular

SUFFIXES = (".json", ".jsonl", ".ndjson")  # and each with `.gz`
GZIP_MAGIC = b"\x1f\x8b"
# An API call a principal made; service events, console sign-ins and Insights events are not requests.
API_CALL = "AwsApiCall"
# Error codes of a request refused by authorization (IAM, an SCP, a resource policy...).
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


class EvidenceError(ValueError):
    """Evidence that cannot be read: each line names the file (and record) and the problem."""

    def __init__(self, lines: Sequence[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


@dataclass(frozen=True)
class Event:
    """One CloudTrail record, as much of it as least privilege needs."""

    where: str  # `file: Records[3]`, `file:12` (JSON lines): where the record was read
    time: datetime  # eventTime, UTC
    source: str  # eventSource (`s3.amazonaws.com`)
    name: str  # eventName (`GetObject`)
    region: str = ""
    account: str = ""  # recipientAccountId
    event_type: str = API_CALL
    identity_type: str = ""  # userIdentity.type (`AssumedRole`, `IAMUser`, `AWSService`, ...)
    principal_arn: str = ""  # userIdentity.arn (`arn:aws:sts::1:assumed-role/R/session`)
    issuer_arn: str = ""  # userIdentity.sessionContext.sessionIssuer.arn: the role a session belongs to
    invoked_by: str = ""  # userIdentity.invokedBy: a service calling on the principal's behalf
    error_code: str = ""
    error_message: str = ""
    request: Mapping[str, Any] = field(default_factory=dict)  # requestParameters
    resources: tuple[tuple[str, str], ...] = ()  # resources[]: (type, ARN)
    event_id: str = ""
    # What the request context held, where CloudTrail records it (`requests.request_context`):
    source_ip: str = ""  # sourceIPAddress: an address, or the service that called (`s3.amazonaws.com`)
    vpc_endpoint: str = ""  # vpcEndpointId: the request came through this VPC endpoint
    principal_id: str = ""  # userIdentity.principalId (`AROA...:session`): aws:userid
    session_created: str = ""  # userIdentity.sessionContext.attributes.creationDate: aws:TokenIssueTime
    data_event: bool = False  # a data event (eventCategory Data, managementEvent false): logged only when selected
    read_only: bool = False  # readOnly: a read (trails may leave reads out)

    @property
    def denied(self) -> bool:
        """Refused by authorization: AccessDenied, AccessDeniedException, (Client.)UnauthorizedOperation."""
        code = self.error_code.removeprefix("Client.").removeprefix("Server.")
        return code in DENIED_CODES or "is not authorized to perform" in self.error_message

    @property
    def api_call(self) -> bool:
        return self.event_type == API_CALL


@dataclass
class Evidence:
    """Every event read, the files read, and the files skipped (with why)."""

    events: list[Event] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    duplicates: int = 0  # events read twice (the same eventID in two files) and counted once


# --- files ------------------------------------------------------------------------------


def _evidence_name(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(SUFFIXES)


def evidence_files(paths: Iterable[Path]) -> list[Path]:
    """The files to read: each file given, and each folder's evidence files, recursively, sorted."""
    files: list[Path] = []
    problems = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _evidence_name(p))
            if not found:
                problems.append(f"{path}: no CloudTrail files in this folder (*.json, *.json.gz, *.jsonl, *.ndjson)")
            files += found
        elif path.is_file() or path.exists():
            files.append(path)  # anything but a regular file is refused when it is read, saying what it is
        else:
            problems.append(f"{path}: no such file or folder")
    if problems:
        raise EvidenceError(problems)
    return list(dict.fromkeys(files))


def read_evidence(paths: Iterable[Path]) -> Evidence:
    """Every event of every file under `paths`; EvidenceError for the first file that cannot be read."""
    evidence = Evidence()
    seen: set[str] = set()
    for path in evidence_files(paths):
        events, skipped = read_file(path)
        if skipped:
            evidence.skipped.append((path, skipped))
            continue
        evidence.files.append(path)
        for event in events:
            if event.event_id and event.event_id in seen:
                evidence.duplicates += 1
                continue
            if event.event_id:
                seen.add(event.event_id)
            evidence.events.append(event)
    return evidence


def _text(path: Path) -> str:
    try:
        data = read_regular(path, follow_links=True)  # a FIFO or a device is refused, never read forever
    except NotRegularFile as exc:
        raise EvidenceError([f"{path}: not a file to read ({exc})"]) from None
    except OSError as exc:
        raise EvidenceError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise EvidenceError([f"{path}: not a readable gzip file ({exc})"]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvidenceError([f"{path}: not UTF-8 text (byte {exc.start}): not a CloudTrail file"]) from None


def read_file(path: Path) -> tuple[list[Event], str]:
    """(the events of one file, ""), or ([], why it is skipped) for a CloudTrail digest file."""
    text = _text(path)
    if not text.strip():
        raise EvidenceError([f"{path}: empty file: not a CloudTrail log file"])
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole:
        lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise EvidenceError([f"{path}:{whole.lineno}: not JSON ({whole.msg}, column {whole.colno})"]) from None
        return [_event(_json_line(path, number, line), f"{path}:{number}") for number, line in lines], ""
    if isinstance(document, Mapping) and "Records" in document:
        records = document["Records"]
        if not isinstance(records, list):
            raise EvidenceError([f"{path}: Records: a list of events expected, got {_kind(records)}"])
        return [_event(r, f"{path}: Records[{i}]") for i, r in enumerate(records)], ""
    if isinstance(document, Mapping) and "digestStartTime" in document and "logFiles" in document:
        return [], "a CloudTrail digest file (log file hashes, no events)"
    if isinstance(document, list):
        return [_event(r, f"{path}: [{i}]") for i, r in enumerate(document)], ""
    if isinstance(document, Mapping) and _get(document, "eventName") is not None:
        return [_event(document, str(path))], ""
    if isinstance(document, Mapping) and _get(document, "eventJson") is not None:
        return [_event(_json_line(path, 1, text), str(path))], ""
    raise EvidenceError([
        f"{path}: not CloudTrail evidence: expected a log file ({{\"Records\": [...]}}), a list of events, "
        f"one event or JSON lines; got {_kind(document)}"
        + (f" with keys {', '.join(sorted(map(str, document))[:6])}" if isinstance(document, Mapping) else "")
    ])


def _json_line(path: Path, number: int, line: str) -> Any:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvidenceError([f"{path}:{number}: not JSON ({exc.msg}, column {exc.colno})"]) from None
    inner = _get(value, "eventJson") if isinstance(value, Mapping) else None
    if isinstance(inner, str):  # CloudTrail Lake: `SELECT eventJson FROM ...`
        try:
            return json.loads(inner)
        except json.JSONDecodeError as exc:
            raise EvidenceError([f"{path}:{number}: eventJson: not JSON ({exc.msg})"]) from None
    return value


# --- records -----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"[:80]


def _get(record: Any, key: str) -> Any:
    """A key of a record in any case (Athena's columns are lower case: `eventsource`)."""
    if not isinstance(record, Mapping):
        return None
    if key in record:
        return record[key]
    lowered = key.lower()
    for name, value in record.items():
        if isinstance(name, str) and name.lower() == lowered:
            return value
    return None


def _string(record: Any, key: str) -> str:
    value = _get(record, key)
    return value if isinstance(value, str) else ""


def parse_time(value: Any) -> datetime | None:
    """eventTime as CloudTrail (`2024-05-01T10:00:00Z`), CloudTrail Lake (`2024-05-01 10:00:00.000`)
    or Athena write it; UTC. None when it is no time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _mapping(value: Any, where: str, key: str) -> Mapping[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):  # Athena and CloudTrail Lake export requestParameters as JSON text
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise EvidenceError([f"{where}: {key}: neither an object nor JSON text: {value[:80]!r}"]) from None
        if value is None:
            return {}
    if not isinstance(value, Mapping):
        raise EvidenceError([f"{where}: {key}: an object expected, got {_kind(value)}"])
    return value


def _resources(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise EvidenceError([f"{where}: resources: neither a list nor JSON text"]) from None
    if not isinstance(value, list):
        raise EvidenceError([f"{where}: resources: a list expected, got {_kind(value)}"])
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise EvidenceError([f"{where}: resources[{index}]: an object expected, got {_kind(item)}"])
        arn = _string(item, "ARN")
        if arn:
            out.append((_string(item, "type"), arn))
    return tuple(out)


def _data_event(record: Mapping[str, Any], where: str) -> bool:
    """A data event: `eventCategory: Data`, `managementEvent: false`, or (records older than those
    fields) one that names an S3 object among its resources."""
    if _string(record, "eventCategory") == "Data" or _get(record, "managementEvent") in (False, "false"):
        return True
    return any(kind == "AWS::S3::Object" for kind, _ in _resources(_get(record, "resources"), where))


def _event(record: Any, where: str) -> Event:
    """One record as an Event; EvidenceError naming `where` and the field when it is malformed."""
    if not isinstance(record, Mapping):
        raise EvidenceError([f"{where}: an event (a JSON object) expected, got {_kind(record)}"])
    missing = [k for k in ("eventSource", "eventName", "eventTime") if not _string(record, k)]
    if missing:
        raise EvidenceError([f"{where}: not a CloudTrail event: no {', '.join(missing)}"])
    time = parse_time(_get(record, "eventTime"))
    if time is None:
        raise EvidenceError([f"{where}: eventTime: not a time: {_get(record, 'eventTime')!r}"])
    identity = _mapping(_get(record, "userIdentity"), where, "userIdentity")
    context = _mapping(_get(identity, "sessionContext"), where, "userIdentity.sessionContext")
    issuer = _mapping(_get(context, "sessionIssuer"), where, "userIdentity.sessionContext.sessionIssuer")
    return Event(
        where=where,
        time=time,
        source=_string(record, "eventSource"),
        name=_string(record, "eventName"),
        region=_string(record, "awsRegion"),
        account=_string(record, "recipientAccountId") or _string(identity, "accountId"),
        event_type=_string(record, "eventType") or API_CALL,
        identity_type=_string(identity, "type"),
        principal_arn=_string(identity, "arn"),
        issuer_arn=_string(issuer, "arn") if _string(issuer, "type") in ("Role", "") else "",
        invoked_by=_string(identity, "invokedBy"),
        error_code=_string(record, "errorCode"),
        error_message=_string(record, "errorMessage"),
        request=_mapping(_get(record, "requestParameters"), where, "requestParameters"),
        resources=_resources(_get(record, "resources"), where),
        event_id=_string(record, "eventID"),
        source_ip=_string(record, "sourceIPAddress"),
        vpc_endpoint=_string(record, "vpcEndpointId"),
        principal_id=_string(identity, "principalId"),
        session_created=_string(_mapping(_get(context, "attributes"), where, "userIdentity.sessionContext.attributes"),
                                "creationDate"),
        data_event=_data_event(record, where),
        read_only=_get(record, "readOnly") in (True, "true"),
    )


def window(events: Iterable[Event]) -> tuple[datetime, datetime] | None:
    """The first and last event time; None without events."""
    times = [e.time for e in events]
    return (min(times), max(times)) if times else None


def iter_strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (requestParameters), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)
