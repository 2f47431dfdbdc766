"""`agent-iam tighten`: the stack file narrowed to what CloudTrail shows each role used.

Reads the evidence, plans the stack, gives each role its own sessions' requests, narrows the stack
file (`narrow`), plans the proposal, compares the two plans as `agent-iam diff` does, proves on the
role model that each role is narrower or equal and still allows every observed request (`proof`),
and writes to
`<out>/<stack>/tighten/`: `Pulumi.<stack>.yaml` (the proposal), `tighten.md` (per role: the window,
the events counted, the actions kept and dropped, what was never seen), `diff.md`/`diff.json`
(the proposal against the stack file) and `plan/<stack>/` (the proposal's plan).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from agent_iam.iam import actions, partitions
from agent_iam.model import documents as model_documents
from agent_iam.model.matching import any_action_matches
from agent_iam.plan.diff import Diff, compare_stack

from .narrow import EntryChange, narrow_stack_file, write_text
from .proof import RoleProof, prove
from .records import Evidence, EvidenceError, read_evidence, window
from .roles import Matched, StackRole, match, plan_json, plan_models, stack_roles

REPORT = "tighten.md"
TRUST_NOTE = ("Not narrowed: the trust (who may assume the role, the external ID, the conditions). Evidence of use "
              "shows what the role's sessions did, not who should be able to start one: review the trust in the plan.")


@dataclass
class Tightened:
    """What `tighten` did: the files written, what changed, the proof, and the exit code's reason."""

    stack: str
    folder: Path
    proposal: Path
    report: Path
    window: tuple[datetime, datetime]
    matched: Matched
    changes: list[EntryChange]
    proofs: list[RoleProof]
    diff: Diff
    evidence: Evidence
    written_in_place: Path | None = None
    problems: list[str] = field(default_factory=list)  # why the proposal cannot be applied

    @property
    def proven(self) -> bool:
        return all(p.proven for p in self.proofs)


def days(span: tuple[datetime, datetime]) -> float:
    return (span[1] - span[0]).total_seconds() / 86400


def check_evidence(evidence: Evidence, min_days: float | None) -> tuple[datetime, datetime]:
    """The window the evidence covers; EvidenceError when it is empty or shorter than `min_days`."""
    span = window(evidence.events)
    if span is None:
        read = ", ".join(str(p) for p in evidence.files[:3]) or "no file"
        raise EvidenceError([f"the evidence holds no event ({len(evidence.files)} file(s) read: {read}): an empty "
                             "window proves nothing about what a role uses"])
    if min_days is not None and days(span) < min_days:
        raise EvidenceError([
            f"the evidence covers {days(span):.1f} days ({span[0]:%Y-%m-%d %H:%M} to {span[1]:%Y-%m-%d %H:%M} UTC), "
            f"less than --min-days {min_days:g}: gather a longer window (a role's monthly or quarterly jobs "
            "would be taken for unused)"
        ])
    return span


def check_related(stack: str, matched: Matched, evidence: Evidence) -> None:
    """EvidenceError when no event of the evidence is a session of a role of the stack."""
    if any(r.events or r.denied for r in matched.roles):
        return
    seen = sorted(matched.other_principals.items(), key=lambda kv: -kv[1])[:5]
    raise EvidenceError([
        f"none of the {len(evidence.events)} events is by a role of stack {stack}: the evidence is unrelated",
        "  roles of the stack: " + ", ".join(r.arn for r in matched.roles),
        "  principals in the evidence: " + (", ".join(f"{who} ({n})" for who, n in seen) or "none"),
    ])


def tighten(stacks_dir: Path, stack: str, evidence_paths: Sequence[Path], out: Path, *,
            write: bool = False, min_days: float | None = None) -> Tightened:
    """Propose the narrowed stack file. Raises EvidenceError (unreadable, empty or unrelated
    evidence, too short a window) before anything is written, ConfigError for the stack's config."""
    from agent_iam.plan.cache import stack_file_path
    from agent_iam.plan.paths import plan_folder
    from agent_iam.plan.planner import plan_stack

    evidence = read_evidence(evidence_paths)
    span = check_evidence(evidence, min_days)
    source = stack_file_path(stacks_dir, stack)
    text = source.read_text(encoding="utf-8")
    current = plan_stack(stacks_dir, stack, out)
    assert not isinstance(current, int)  # no plan cache given: always planned
    current_plan = plan_json(current.files)
    roles = stack_roles(current.run.settings, current_plan)
    matched = match(roles, evidence.events)
    check_related(stack, matched, evidence)

    partition = partitions.partition_for_region(current.run.settings.region)
    narrowed, changes = narrow_stack_file(text, roles, partition, evidence)
    folder = plan_folder(out, stack) / "tighten"
    proposal_file = folder / f"Pulumi.{stack}.yaml"
    write_text(proposal_file, narrowed, root=out)
    proposed = plan_stack(folder, stack, folder / "plan")
    assert not isinstance(proposed, int)
    proposal_plan = plan_json(proposed.files)
    stack_diff = compare_stack(stack, current_plan, proposal_plan)
    diff = Diff(f"{source}", f"{proposal_file}", [stack], [] if stack_diff.empty else [stack_diff])
    from agent_iam.plan.diff_report import write_diff

    write_diff(diff, folder)
    proofs = prove(roles, plan_models(proposed.run.settings, proposal_plan), stack_diff)
    result = Tightened(stack, folder, proposal_file, folder / REPORT, span, matched, changes, proofs, diff, evidence)
    if not result.proven:
        result.problems = [line for p in proofs for line in proof_problems(p)]
    if write and result.proven and narrowed != text:
        write_text(source, narrowed)
        result.written_in_place = source
    write_text(result.report, report(result, partition), root=out)
    return result


def proof_problems(proof: RoleProof) -> list[str]:
    """One line per reason the proposal cannot be applied for this role, naming the request."""
    lines = [f"{proof.role.arn}: the proposal widens access: {w}" for w in proof.widening]
    lines += [f"{proof.role.arn}: the proposal no longer allows {c.describe()}" + (f": {c.detail}" if c.detail else "")
              for c in proof.failed]
    lines += [f"{proof.role.arn}: could not show the proposal still allows {c.describe()}: {c.detail}"
              for c in proof.undecided]
    return lines


# --- the report --------------------------------------------------------------------------


def never_seen(role: StackRole) -> dict[str, list[str]]:
    """Per statement of the role's identity documents, the actions it grants (each pattern as
    written) that no request used."""
    used = [q.action for q in role.requests]
    out: dict[str, list[str]] = {}
    for document in role.model.identity if role.model else ():
        where = document.source.describe() if document.source else "a document"
        for statement in document.statements:
            if statement.effect != model_documents.ALLOW:
                continue
            written = [a for a in statement.action if isinstance(a, str)]
            label = f"{where}, {statement.label}"
            if statement.not_action:
                out.setdefault(label, []).append(f"every action but {', '.join(written)}")
                continue
            for action in written:
                if not any(any_action_matches((action,), a) for a in used) and action not in out.get(label, []):
                    out.setdefault(label, []).append(action)
    return out


def _code(value: str) -> str:
    return f"`{value}`"


def report(result: Tightened, partition: str) -> str:
    """tighten.md: what the proposal keeps and drops, per entry and role, and why it is safe."""
    start, end = result.window
    lines = [
        f"# Least privilege from evidence: stack `{result.stack}`",
        "",
        f"Evidence: {len(result.evidence.events)} events in {len(result.evidence.files)} file(s), "
        f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC ({days(result.window):.1f} days)"
        + (f"; {result.evidence.duplicates} duplicate event(s) counted once" if result.evidence.duplicates else "")
        + (f"; {len(result.evidence.skipped)} file(s) skipped (CloudTrail digests)" if result.evidence.skipped else "")
        + ".",
        f"Events of other principals (never counted): {sum(result.matched.other_principals.values())}; "
        f"events that are no API call (service events, sign-ins, Insights): {result.matched.not_calls}.",
        "",
        f"Proposal: `{result.proposal.name}` in this folder (diff against the stack file: `diff.md`). "
        + ("**Proven**: every role is narrower or equal, and still allows every request it made."
           if result.proven else "**Not proven**: see *Proof* below; do not apply it as it is."),
        "",
    ]
    if result.written_in_place:
        lines += [f"Written in place: `{result.written_in_place}`.", ""]
    changes = {c.entry: c for c in result.changes}
    proofs = {p.role.arn: p for p in result.proofs}
    for entry in dict.fromkeys(r.entry for r in result.matched.roles):
        change = changes.get(entry)
        roles = [r for r in result.matched.roles if r.entry == entry]
        lines += [f"## `{entry}` ({roles[0].entry_name})", ""]
        for role in roles:
            lines += _role_section(role, proofs.get(role.arn))
        if change is not None:
            lines += ["**In the stack file**", ""]
            lines += [f"- kept: {k}" for k in change.kept] or ["- nothing kept"]
            lines += [f"- dropped: {d}" for d in change.dropped] or ["- nothing dropped"]
            lines += [f"- note: {n}" for n in change.notes]
            lines.append("")
        lines += [TRUST_NOTE, ""]
    return "\n".join(lines).rstrip() + "\n"


def proof_section(proof: RoleProof) -> list[str]:
    """The proof for one role, in words: the reasoner's verdicts and the requests checked."""
    words = {"equal": "equal to", "narrower": "narrower than", "narrower-or-equal": "narrower than or equal to"}
    permissions = words.get(proof.verdict, proof.verdict)
    how = ("the model shows the proposal's permissions **{}** the role's (each of its statements within one of the "
           "role's, conditions kept)" if proof.how == "containment" else
           "the reasoner finds the proposal's permissions **{}** the role's")
    lines = [f"Proof: {how.format(permissions)}, its trust "
             f"{words.get(proof.trust, proof.trust)} them; {proof.checked} distinct request(s) checked "
             "(conditions evaluated), "
             + ("all still allowed." if not proof.failed and not proof.undecided else
                f"**{len(proof.failed)} no longer allowed, {len(proof.undecided)} undecided**.")]
    lines += [f"- widening: {w}" for w in proof.widening]
    lines += [f"- no longer allowed: {c.describe()}" + (f": {c.detail}" if c.detail else "") for c in proof.failed]
    lines += [f"- undecided: {c.describe()}: {c.detail}" for c in proof.undecided]
    opened = sorted({k for c in proof.checks if c.verdict != "not-granted" for k in c.open_keys})
    if opened:
        lines.append("- checked for every value of what the events do not record: " + ", ".join(f"`{k}`" for k in opened))
    if proof.not_granted:
        lines.append("- allowed without a grant of this role (a resource policy, or an action that needs none): "
                     + ", ".join(sorted({f"`{c.request.action}`" for c in proof.not_granted})))
    return lines


def _role_section(role: StackRole, proof: RoleProof | None) -> list[str]:
    lines = [f"### {role.label} `{role.arn}`", ""]
    if not role.events and not role.denied:
        return lines + ["Never seen in the evidence: no session of this role in the window. It is left as it is; "
                        "if the vendor no longer uses it, remove the entry.", ""]
    span = window(role.events + role.denied)
    assert span is not None
    lines.append(f"Window of its sessions: {span[0]:%Y-%m-%d %H:%M} to {span[1]:%Y-%m-%d %H:%M} UTC; "
                 f"{len(role.events)} allowed event(s) counted, {len(role.denied)} denied.")
    for former, count in sorted(role.former_events.items()):
        lines.append(f"Counted with them: {count} event(s) of `{former}`, the role under a former name of its entry "
                     "(`formerNames`): evidence from before the rename.")
    counts = Counter(q.action for q in role.requests)
    if counts:
        lines += ["", "| action used | requests | access level | resources named |", "| --- | --- | --- | --- |"]
        for action in sorted(counts, key=str.lower):
            named = sorted({r for q in role.requests if q.action == action for r in q.resources})
            shown = ", ".join(_code(r) for r in named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
            lines.append(f"| `{action}` | {counts[action]} | {actions.access_level(action) or '?'} | {shown or 'not named'} |")
    how = sorted({f"`{q.event.source}` `{q.event.name}` -> `{q.action}`: {q.how}" for q in role.requests if q.how})
    if how:
        lines += ["", "Not one-to-one:"] + [f"- {h}" for h in how]
    if role.unmapped:
        reasons = Counter(why for _, why in role.unmapped)
        lines += ["", "Events that name no IAM action (not counted):"] + [f"- {why} ({n})" for why, n in sorted(reasons.items())]
    unseen = never_seen(role)
    if unseen:
        lines += ["", "Granted but never seen:"]
        for label, names in unseen.items():
            shown = ", ".join(_code(n) for n in names[:40]) + (f" and {len(names) - 40} more" if len(names) > 40 else "")
            lines.append(f"- {label}: {shown}")
    if role.denied:
        lines += ["", "Denied requests (explain each with `agent-iam explain --event`):"]
        lines += [f"- {e.where}: `{e.source}` `{e.name}` ({e.error_code})" for e in role.denied[:10]]
    if proof is not None:
        lines += ["", *proof_section(proof)]
    return lines + [""]

