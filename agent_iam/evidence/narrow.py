"""Narrowing a stack file to what the evidence shows was used, by round-trip editing (comments and
layout kept).

How a narrowed entry is written (never wider than it was):
- **Its own `policy` statements keep their structure.** Deny statements are kept as they are. In an
  Allow statement, an action no observed request used is dropped; a wildcard the evidence used in
  full is kept as written, one it used in part becomes the observed actions it matches (in its
  place), one it did not use goes. A Resource entry no observed request of the statement's kept
  actions named is dropped, unless some of those requests named no resource (then every entry
  stays: the evidence cannot tell which one was used). Resources are kept as written, never
  rewritten. A statement left without actions goes; a `policy` left without statements goes.
- **Presets are narrowed, not expanded**: `withoutActions` lists the preset's actions (as the
  preset lists them, wildcards whole) that no request used, `withoutStatements` the Sids of its
  statements none of whose actions was used. A preset wildcard used in part is kept whole (a
  preset cannot be narrowed inside a wildcard) and the report says how much of it was used.
- **Managed policies** (`policyArns`) that granted none of the observed requests are removed; one
  that granted some stays (its content is AWS's), and the report names what it grants unused.
- A role with no event in the window is left as it is (the report says so): no evidence is not
  evidence of no use.
- What the component builds from other keys is narrowed where the evidence can show use: an
  `s3Read`/`s3Write` location no request acted in goes (a write location only read moves to
  `s3Read`), a secret or KMS key no request named goes, `secretArns: ["*"]` becomes the secrets
  read. A key stays when the evidence could not show its use (no S3 data event of the bucket, no
  Secrets Manager or KMS read at all), when its role was not seen, or when a request named no
  resource. The trust is never narrowed: evidence of use does not say who should assume a role.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString

from agent_iam import presets
from agent_iam.guardrails import rules
from agent_iam.iam import actions, arns, managed_policies
from agent_iam.iam.checks import s3_location
from agent_iam.iam.policy_document import VERSION
from agent_iam.model import Pattern, Statement, parse_document
from agent_iam.model.documents import ALLOW, AWS_MANAGED
from agent_iam.safe_io import real_folder, replace_file

from .records import Evidence
from .requests import ObservedRequest
from .roles import StackRole

INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (2, 2, 2), (4, 6, 4))


def yaml_rt() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line the user wrote
    return yaml


def load_round_trip(text: str) -> tuple[YAML, Any]:
    """The stack file as an editable tree, with the indentation that writes it back byte for byte."""
    for mapping, sequence, offset in INDENTS:
        yaml = yaml_rt()
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        tree = yaml.load(text)
        if dump(yaml, tree) == text:
            return yaml, tree
    yaml = yaml_rt()
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml, yaml.load(text)


def dump(yaml: YAML, tree: Any) -> str:
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()


# --- what a statement grants of the evidence ---------------------------------------------


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _resource_matches(patterns: Sequence[str], request: ObservedRequest) -> bool:
    if not request.resource_known:
        return True  # the event named no resource: it may be any the statement allows
    return any(arns.matches(p, r) for p in patterns for r in request.resources)


def granted_by(statement: Mapping[str, Any], requests: Iterable[ObservedRequest]) -> list[ObservedRequest]:
    """The observed requests an Allow statement's Action and Resource match (its conditions are taken
    as met: the request succeeded)."""
    if statement.get("Effect", "Allow") != "Allow" or "NotResource" in statement:
        return []
    resources = _strings(statement.get("Resource"))
    return [q for q in requests if rules.granted(statement, q.action) and _resource_matches(resources, q)]


@dataclass
class ActionUse:
    """One action entry of a document as written, and the observed actions it matched."""

    written: str
    used: list[str]  # the observed actions it matches, sorted

    @property
    def matches(self) -> tuple[str, ...]:
        return actions.expand(self.written) if arns.has_wildcard(self.written) else (actions.canonical(self.written),)

    @property
    def whole(self) -> bool:
        """Every action the entry names was used."""
        return bool(self.used) and len(self.used) >= len(self.matches)


def action_uses(statement: Mapping[str, Any], requests: Sequence[ObservedRequest]) -> list[ActionUse]:
    granted = granted_by(statement, requests)
    uses = []
    for written in _strings(statement.get("Action")):
        used = sorted({actions.canonical(q.action) for q in granted if rules.covers([written], q.action)}, key=str.lower)
        uses.append(ActionUse(written, used))
    return uses


# --- what changed, for the report ---------------------------------------------------------


@dataclass
class EntryChange:
    """What narrowing did to one entry: each line a reviewer reads in tighten.md."""

    entry: str
    kept: list[str] = field(default_factory=list)  # "`s3:GetObject` in statement `ReadReports`"
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.dropped)


# Characters that end or nest a plain value inside `[...]` for some YAML readers (ruamel.yaml 0.18.0,
# PyYAML): such a value is quoted in a flow list, so every reader reads the list alike.
FLOW_INDICATORS = frozenset(':,[]{}#')


def quoted_like(items: Any, value: str) -> Any:
    """`value` quoted as the list's values are (`["raw/*"]` gets `"curated/"`), so a line stays in one style."""
    first = next(iter(items), None) if isinstance(items, list) else items
    return type(first)(value) if isinstance(first, ScalarString) else value


def flow_sequence(values: Sequence[Any], like: Any = None) -> CommentedSeq:
    """`[a, b]`: `values` as a flow list, quoted as `like`'s items are (a list or one value), and quoted
    wherever a plain value could be read as structure (`arn:aws:...`)."""
    def item(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        quoted = quoted_like(like, value)
        return DoubleQuotedScalarString(value) if quoted is value and FLOW_INDICATORS & set(value) else quoted

    seq = CommentedSeq(item(v) for v in values)
    seq.fa.set_flow_style()
    return seq


def _flow_like(original: Any, values: list[str]) -> Any:
    """`values` in the style the original value was written: a lone string stays a string."""
    if len(values) == 1 and isinstance(original, str):
        return values[0]
    if isinstance(original, CommentedSeq):
        if original.fa.flow_style():
            return flow_sequence(values, original)
        seq = CommentedSeq(values)
        seq.fa.set_block_style()
        return seq
    return values


def _replace_list(target: Any, key: str, values: list[str]) -> None:
    """Set `target[key]` to `values`: a list that only loses items is edited in place (its comments and
    style stay), anything else is written in the style of the value it replaces."""
    current = target[key]
    if isinstance(current, CommentedSeq) and len(values) > 1 and values == [v for v in current if v in values]:
        for index in reversed(range(len(current))):
            if current[index] not in values:
                del current[index]
        return
    if isinstance(current, str) and len(values) > 1:
        target[key] = flow_sequence(values, current)
        return
    target[key] = _flow_like(current, values)


def narrow_policy(entry: Any, requests: Sequence[ObservedRequest], change: EntryChange) -> None:
    """Narrow the entry's own `policy` statements in place (see the module's rules)."""
    policy = entry.get("policy")
    if not isinstance(policy, Mapping) or "Statement" not in policy:
        return
    statements = policy["Statement"]
    single = isinstance(statements, Mapping)
    items = [statements] if single else list(statements)
    keep_items = []
    for index, statement in enumerate(items):
        label = rules.label(statement, index)
        if statement.get("Effect", "Allow") != "Allow" or "Action" not in statement:
            keep_items.append(statement)
            change.kept.append(f"{label} kept as written (a Deny, or NotAction)")
            continue
        uses = action_uses(statement, requests)
        new_actions: list[str] = []
        for use in uses:
            if not use.used:
                change.dropped.append(f"`{use.written}` from {label}: never used")
            elif not arns.has_wildcard(use.written) or use.whole:
                new_actions.append(use.written)
                change.kept.append(f"`{use.written}` in {label}")
            else:
                new_actions += [a for a in use.used if a not in new_actions]
                change.dropped.append(
                    f"`{use.written}` in {label} narrowed to the {len(use.used)} of its {len(use.matches)} actions used: "
                    + ", ".join(f"`{a}`" for a in use.used)
                )
        if not new_actions:
            change.dropped.append(f"{label}: none of its actions was used; statement removed")
            continue
        if new_actions != _strings(statement["Action"]):
            _replace_list(statement, "Action", new_actions)
        if "Resource" in statement:
            kept_requests = [q for q in granted_by(statement, requests)]
            if all(q.resource_known for q in kept_requests):
                resources = _strings(statement["Resource"])
                used = [r for r in resources if any(arns.matches(r, x) for q in kept_requests for x in q.resources)]
                for r in resources:
                    if r not in used:
                        change.dropped.append(f"resource `{r}` from {label}: no request of its kept actions named it")
                if used and used != resources:
                    _replace_list(statement, "Resource", used)
        keep_items.append(statement)
    if len(keep_items) == len(items):
        return
    if not keep_items:
        del entry["policy"]
        change.dropped.append("`policy`: no statement left")
        return
    if single:
        return
    for index in reversed(range(len(statements))):
        if not any(statements[index] is kept for kept in keep_items):
            del statements[index]


def _add_to_list(entry: Any, key: str, values: list[str], after: str) -> None:
    """Append `values` to the entry's list `key`, creating it (block style) right after `after`."""
    if not values:
        return
    current = entry.get(key)
    if isinstance(current, list):
        for value in values:
            if value not in current:
                current.append(value)
        return
    seq = CommentedSeq(values)
    seq.fa.set_block_style()
    keys = list(entry.keys())
    position = keys.index(after) + 1 if after in keys else len(keys)
    entry.insert(position, key, seq)


def narrow_preset(entry: Any, role: StackRole, partition: str, requests: Sequence[ObservedRequest], change: EntryChange) -> None:
    """Narrow the entry's preset with `withoutActions` / `withoutStatements` (never expanding it)."""
    name = entry.get("preset")
    if not name:
        return
    preset = presets.load(str(name))
    without_actions = [str(a) for a in entry.get("withoutActions") or []]
    without_statements = [str(s) for s in entry.get("withoutStatements") or []]
    drop_statements, needed, seen = [], set(), []
    for statement in presets.statements(preset, partition=partition, account_id=role.account,
                                        without_actions=without_actions, without_statements=without_statements):
        uses = action_uses(statement, requests)
        for use in uses:
            seen.append(use)
            if use.used:
                needed.add(use.written)
        if not any(use.used for use in uses):
            drop_statements.append(statement["Sid"])
            change.dropped.append(f"preset statement `{statement['Sid']}`: none of its actions was used (withoutStatements)")
    if preset.s3 is not None:
        for written in [*preset.s3.object_read_actions, *preset.s3.object_write_actions, *preset.s3.bucket_actions]:
            if written in without_actions:
                continue
            used = sorted({q.action for q in requests if rules.covers([written], q.action)})
            seen.append(ActionUse(written, used))
            if used:
                needed.add(written)
    dropped_sids = set(drop_statements)
    in_dropped = {a for s in preset.statements if s["Sid"] in dropped_sids for a in presets.as_list(s.get("Action"))}
    drop_actions = []
    for use in seen:
        if use.written in needed or use.written in drop_actions:
            continue
        if use.written in in_dropped and not _elsewhere(preset, use.written, dropped_sids):
            continue  # goes with its statement
        drop_actions.append(use.written)
        change.dropped.append(f"preset action `{use.written}`: never used (withoutActions)")
    for use in seen:
        if use.used and use.written in needed:
            if arns.has_wildcard(use.written) and not use.whole:
                change.kept.append(
                    f"preset action `{use.written}` kept whole: {len(use.used)} of its {len(use.matches)} actions used "
                    f"({', '.join(use.used[:5])}{'...' if len(use.used) > 5 else ''}); a preset is narrowed by its "
                    "entries, never expanded"
                )
            else:
                change.kept.append(f"preset action `{use.written}`")
    _add_to_list(entry, "withoutStatements", drop_statements, "preset")
    _add_to_list(entry, "withoutActions", drop_actions, "withoutStatements" if drop_statements or "withoutStatements" in entry else "preset")


def _elsewhere(preset: Any, action: str, dropped: set[str]) -> bool:
    """Whether a preset action also appears outside the statements being dropped."""
    in_kept = any(action in presets.as_list(s.get("Action")) for s in preset.statements if s["Sid"] not in dropped)
    s3 = preset.s3
    return in_kept or bool(s3 and action in (*s3.object_read_actions, *s3.object_write_actions, *s3.bucket_actions))


def narrow_managed(entry: Any, requests: Sequence[ObservedRequest], change: EntryChange) -> None:
    """Remove attached AWS managed policies that granted none of the observed requests."""
    arns_ = entry.get("policyArns")
    if not isinstance(arns_, list):
        return
    for index in reversed(range(len(arns_))):
        arn = str(arns_[index])
        document = managed_policies.document(arn)
        name = managed_policies.name_of(arn) if managed_policies.is_aws_managed(arn) else arn
        if document is None:
            change.notes.append(f"`{arn}`: its content is not known offline; kept")
            continue
        granted = {q.action for s in rules.statements(document) for q in granted_by(s, requests)}
        if not granted:
            del arns_[index]
            change.dropped.append(f"managed policy `{name}`: granted none of the requests seen")
        else:
            change.kept.append(
                f"managed policy `{name}` (AWS's content): used for {', '.join(sorted(granted, key=str.lower)[:6])}"
                + ("..." if len(granted) > 6 else "")
            )
    if not arns_:
        del entry["policyArns"]


# --- the entry ---------------------------------------------------------------------------


def same_statement(a: Statement, b: Statement) -> bool:
    return replace(a, number=0, sid=None) == replace(b, number=0, sid=None)


def statement_role(entry_roles: Sequence[StackRole], statement: Mapping[str, Any]) -> list[StackRole]:
    """The roles of an entry whose planned documents hold this statement (ECS: the task role), by
    meaning: the statement as the model reads it, in one of the role's identity documents."""
    holders = []
    for role in entry_roles:
        if role.model is None:
            continue
        try:
            (parsed,) = parse_document({"Version": VERSION, "Statement": [json.loads(json.dumps(statement))]},
                                       partition=role.model.partition).statements
        except ValueError:
            return list(entry_roles)
        if any(same_statement(parsed, s) for d in role.model.identity for s in d.statements):
            holders.append(role)
    return holders or list(entry_roles)


def _attaches_aws_managed(role: StackRole) -> bool:
    return role.model is not None and any(d.source and d.source.kind == AWS_MANAGED for d in role.model.identity)


# --- what the component builds from other keys -------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """What the evidence can show at all: the buckets with S3 data events (CloudTrail records object
    reads and writes only for the buckets a trail selects), and the services with read events (a
    trail may record writes only)."""

    data_buckets: frozenset[str]
    read_sources: frozenset[str]

    @classmethod
    def of(cls, evidence: Evidence | None) -> Coverage:
        if evidence is None:
            return cls(frozenset(), frozenset())
        buckets: set[str] = set()
        for event in evidence.events:
            if event.data_event and event.source.startswith("s3."):
                bucket = event.request.get("bucketName")
                if isinstance(bucket, str):
                    buckets.add(bucket)
                buckets.update(arns.parse(a).resource.split("/", 1)[0] for _, a in event.resources
                               if arns.parse(a) is not None and arns.parse(a).service == "s3")
        return cls(frozenset(buckets), frozenset(e.source for e in evidence.events if e.read_only))


def _holders(entry_roles: Sequence[StackRole], service: str, prefix: str) -> list[StackRole]:
    """The entry's roles with an Allow statement for a `service` action on a resource written from a
    key's value (its Resource starts with `prefix`: the bucket, the secret, the key)."""
    def holds(role: StackRole) -> bool:
        return role.model is not None and any(
            s.effect == ALLOW
            and any(isinstance(a, str) and a.lower().startswith(f"{service}:") for a in s.action)
            and any(isinstance(p, Pattern) and p.text.startswith(prefix) for p in s.resource or ())
            for d in role.model.identity for s in d.statements)

    return [r for r in entry_roles if holds(r)]


def _inside(location: str, partition: str, request: ObservedRequest) -> bool:
    """Whether a request acted inside an S3 location (`bucket` or `bucket/prefix`): on an object under
    it, or on the bucket (a listing within the prefix, by the request's `prefix`)."""
    bucket, prefix = s3_location(location)
    objects = f"arn:{partition}:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    if any(arns.matches(objects, r) for r in request.resources):
        return True
    if f"arn:{partition}:s3:::{bucket}" not in request.resources:
        return False
    if prefix is None:
        return True
    listed = request.event.request.get("prefix")
    return isinstance(listed, str) and (listed == prefix or listed.startswith(prefix + "/"))


def _writes(request: ObservedRequest) -> bool:
    return actions.access_level(request.action) == "Write"


def _remove_items(entry: Any, key: str, values: Iterable[str]) -> None:
    items = entry.get(key)
    gone = set(values)
    if not isinstance(items, list) or not gone:
        return
    for index in reversed(range(len(items))):
        if str(items[index]) in gone:
            del items[index]
    if not items:
        del entry[key]


def narrow_s3(entry: Any, entry_roles: Sequence[StackRole], partition: str, coverage: Coverage, change: EntryChange) -> None:
    """Drop the `s3Read`/`s3Write` locations no request acted in; a write location only read moves to
    `s3Read`. A location is kept when its bucket has no data event in the evidence, when a role that
    holds it was not seen, or when one of its S3 requests named no resource."""
    read = [str(v) for v in entry.get("s3Read") or []]
    write = [str(v) for v in entry.get("s3Write") or []]
    if not read and not write:
        return
    buckets = sorted({s3_location(v)[0] for v in read + write})
    holders = list(dict.fromkeys(r for b in buckets for r in _holders(entry_roles, "s3", f"arn:{partition}:s3:::{b}")))
    if any(not r.events for r in holders or entry_roles):
        change.notes.append("`s3Read`/`s3Write`: a role holding them has no event in the window: left as they are")
        return
    requests = [q for r in holders for q in r.requests if q.action.lower().startswith("s3:")]
    if any(not q.resource_known for q in requests):
        change.notes.append("`s3Read`/`s3Write`: some S3 requests named no resource, so which location they used "
                            "is unknown: left as they are")
        return
    kept, dropped, notes = [], [], []
    drop = {"s3Read": [], "s3Write": []}
    move = []
    for key, values in (("s3Read", read), ("s3Write", write)):
        for location in values:
            bucket = s3_location(location)[0]
            if bucket not in coverage.data_buckets:
                notes.append(f"`{location}` in {key} kept: the evidence holds no S3 data event of bucket `{bucket}` "
                             "(CloudTrail records object reads and writes only for the buckets a trail selects "
                             "for data events)")
                continue
            used = [q for q in requests if _inside(location, partition, q)]
            if key == "s3Write" and any(_writes(q) for q in used):
                kept.append(f"`{location}` in s3Write: written")
            elif key == "s3Write" and used:
                move.append(location)
                dropped.append(f"`{location}` moved from s3Write to s3Read: read, never written")
            elif used:
                kept.append(f"`{location}` in s3Read: read")
            else:
                drop[key].append(location)
                dropped.append(f"`{location}` from {key}: no request acted in it")
    left = [v for v in read if v not in drop["s3Read"]] + [v for v in write if v not in drop["s3Write"]]
    preset = presets.load(str(entry["preset"])) if entry.get("preset") else None
    if not left and preset is not None and preset.s3 is not None and preset.s3.required:
        change.notes.append(f"`s3Read`/`s3Write` kept: preset {preset.name} requires a location, and none was used")
        return
    change.kept += kept
    change.dropped += dropped
    change.notes += notes
    _remove_items(entry, "s3Read", drop["s3Read"])
    _remove_items(entry, "s3Write", [*drop["s3Write"], *move])
    _add_to_list(entry, "s3Read", [m for m in move if m not in read], "s3Write" if "s3Write" in entry else "name")
    if not left and entry.get("kmsKeyArns"):
        keys = [str(k) for k in entry["kmsKeyArns"]]
        del entry["kmsKeyArns"]
        change.dropped += [f"`{k}` from kmsKeyArns: used through S3 only, and no location is left" for k in keys]


def narrow_secrets(entry: Any, entry_roles: Sequence[StackRole], coverage: Coverage, change: EntryChange) -> None:
    """Drop the `secretArns` no request read; `*` becomes the secrets read (and `allowAllSecrets`
    goes) when every read named its secret. Kept when the evidence holds no Secrets Manager read, or
    a role that reads them was not seen."""
    secrets = [str(v) for v in entry.get("secretArns") or []]
    if not secrets:
        return
    holders = list(dict.fromkeys(r for s in secrets for r in _holders(entry_roles, "secretsmanager", s)))
    if any(not r.events for r in holders or entry_roles):
        change.notes.append("`secretArns`: the role that reads them has no event in the window: left as they are")
        return
    if not any(source.startswith("secretsmanager.") for source in coverage.read_sources):
        change.notes.append("`secretArns` kept: the evidence holds no Secrets Manager read (a trail that records "
                            "writes only would not show them)")
        return
    reads = [q for r in holders for q in r.requests if q.action.lower().startswith("secretsmanager:")]
    if any(not q.resource_known for q in reads):
        change.notes.append("`secretArns`: a Secrets Manager request named its secret by name, not ARN: left as they are")
        return
    named = sorted({r for q in reads for r in q.resources})
    if secrets == ["*"]:
        if not named:
            change.notes.append("`secretArns: ['*']` kept: no secret was read in the window")
            return
        entry["secretArns"] = _flow_like(entry["secretArns"], named)
        if "allowAllSecrets" in entry:
            del entry["allowAllSecrets"]
        change.dropped.append("`*` from secretArns (and allowAllSecrets): only " + ", ".join(f"`{n}`" for n in named)
                              + " read")
        return
    unused = [s for s in secrets if not any(arns.matches(s, r) for r in named)]
    if len(unused) == len(secrets):
        change.notes.append("`secretArns` kept: none was read in the window, and an entry without them would read none")
        return
    for s in secrets:
        if s in unused:
            change.dropped.append(f"`{s}` from secretArns: never read")
        else:
            change.kept.append(f"`{s}` in secretArns: read")
    _remove_items(entry, "secretArns", unused)


def narrow_kms_keys(entry: Any, entry_roles: Sequence[StackRole], coverage: Coverage, change: EntryChange) -> None:
    """Drop the `kmsKeyArns` no KMS request named. Kept when the evidence holds no KMS read, or a role
    that uses them was not seen."""
    keys = [str(v) for v in entry.get("kmsKeyArns") or []]
    if not keys:
        return
    holders = list(dict.fromkeys(r for k in keys for r in _holders(entry_roles, "kms", k)))
    if any(not r.events for r in holders or entry_roles):
        change.notes.append("`kmsKeyArns`: the role that uses them has no event in the window: left as they are")
        return
    if not any(source.startswith("kms.") for source in coverage.read_sources):
        change.notes.append("`kmsKeyArns` kept: the evidence holds no KMS event (a trail may leave KMS events out)")
        return
    named = {r for role in holders for q in role.requests if q.action.lower().startswith("kms:") for r in q.resources}
    unused = [k for k in keys if not any(arns.matches(k, r) for r in named)]
    for k in keys:
        (change.dropped if k in unused else change.kept).append(
            f"`{k}` from kmsKeyArns: no KMS request used it" if k in unused else f"`{k}` in kmsKeyArns: used")
    _remove_items(entry, "kmsKeyArns", unused)


def narrow_entry(entry: Any, entry_roles: Sequence[StackRole], partition: str, coverage: Coverage | None = None) -> EntryChange:
    """Narrow one stack-file entry in place to the requests its roles made."""
    change = EntryChange(entry_roles[0].entry)
    coverage = coverage or Coverage.of(None)
    seen_roles = [r for r in entry_roles if r.events]
    if not seen_roles:
        change.notes.append("no event of its role(s) in the window: left as it is")
        return change
    policy = entry.get("policy")
    if isinstance(policy, Mapping) and "Statement" in policy:
        first = policy["Statement"]
        first = first if isinstance(first, Mapping) else (first[0] if first else {})
        holders = statement_role(entry_roles, first) if first else list(entry_roles)
        requests = [q for r in holders for q in r.requests]
        if any(not r.events for r in holders):
            change.notes.append("`policy`: its role has no event in the window: left as it is")
        else:
            narrow_policy(entry, requests, change)
    if entry.get("preset"):
        narrow_preset(entry, seen_roles[0], partition, [q for r in seen_roles for q in r.requests], change)
    if entry.get("policyArns"):
        holders = [r for r in entry_roles if _attaches_aws_managed(r)] or list(entry_roles)
        if all(r.events for r in holders):
            narrow_managed(entry, [q for r in holders for q in r.requests], change)
    narrow_s3(entry, entry_roles, partition, coverage, change)
    narrow_secrets(entry, entry_roles, coverage, change)
    narrow_kms_keys(entry, entry_roles, coverage, change)
    return change


def entry_node(tree: Any, key: str) -> Any:
    """The stack-file node of an entry key (`agent-iam:saasRoles[0]`)."""
    family, _, rest = key.partition("[")
    return tree["config"][family][int(rest.rstrip("]"))]


def narrow_stack_file(text: str, roles: Sequence[StackRole], partition: str,
                      evidence: Evidence | None = None) -> tuple[str, list[EntryChange]]:
    """The stack file's text narrowed entry by entry, and what changed in each."""
    yaml, tree = load_round_trip(text)
    coverage = Coverage.of(evidence)
    changes = []
    for key in dict.fromkeys(r.entry for r in roles):
        entry_roles = [r for r in roles if r.entry == key]
        changes.append(narrow_entry(entry_node(tree, key), entry_roles, partition, coverage))
    return dump(yaml, tree), changes


def write_text(path: Path, text: str, root: Path | None = None) -> None:
    """Write a file: below the output folder `root`, never through a link planted there (the folders
    made real, the file replaced atomically: agent_iam/safe_io.py); without `root`, the user's own
    file (the stack file `--write` narrows in place)."""
    if root is None:
        path.write_text(text, encoding="utf-8")
        return
    real_folder(root, path.parent, create=True)
    replace_file(path, text.encode("utf-8"))
