"""The diff as a reviewer reads it: `diff.md` (a pull-request comment), `diff.json`, and the terminal view.

`diff.md`'s first line is the verdict: risk accepted first (acceptances added, a blocked base made
deployable), then the roles the change widens, each with its witness in words ("`arn:...:role/any`
can now call `sts:AssumeRole` without `sts:ExternalId`"), or that it widens nothing. Then per stack,
one collapsible section per role, widened roles first and open: the reasoner's verdict on its
permissions and its trust with the witness request, and as context the statements added and removed.
"""

from __future__ import annotations

import difflib
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diff import NARROWING, NEUTRAL, WIDENING, Change, Diff, DocumentDiff, RoleDiff, StackDiff
from .diff_verdicts import NOT_COMPARABLE, UNDECIDED, Aspect, code_span

if TYPE_CHECKING:
    from rich.console import Console

HEADLINE_ITEMS = 3  # widened roles and accepted risks named on the first line of diff.md
HEADLINE_WORDS = 160  # a witness in words longer than this is cut on the first line
# GitHub refuses a comment body over 65,536 characters: past this, diff.md drops the statement
# blocks (diff.json keeps them), then cuts whole lines, and says so.
COMMENT_LIMIT = 60_000
FILES = ("diff.md", "diff.json")

TAGS = {
    WIDENING: "<b>WIDENED</b>",
    UNDECIDED: "<b>COULD NOT DECIDE</b> (counted as widening)",
    NOT_COMPARABLE: "not comparable offline",
    NARROWING: "narrowed",
    NEUTRAL: "changed",
}
ASPECT_WORDS = {
    "equal": "equal",
    "wider": "wider",
    "narrower": "narrower",
    "wider-and-narrower": "wider (and narrower)",
    "not-comparable": "not comparable offline",
    "unknown": "could not decide (counted as widening)",
}




def _what(change: Change) -> str:
    text = f"{change.what} {code_span(change.value)}" if change.value else change.what
    return f"{text} ({change.note})" if change.note else text


def _short(text: str, limit: int = HEADLINE_WORDS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _role_words(role: RoleDiff, stack: str) -> str:
    """A widened role on the first line: its first widening in words (trust before permissions: a new
    principal first), and how many more."""
    changes = sorted(role.widening, key=lambda c: (c.where != "trust", c.where != "permissions"))
    first = changes[0]
    text = first.value if first.what.endswith(" wider") else _what(first) if first.where not in ("permissions", "trust") \
        else f"{first.what} ({first.value})"
    more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
    renamed = f" (renamed from {code_span(role.former)})" if role.former else ""
    return f"{code_span(role.name)}{renamed} ({stack}): {_short(text)}{more}"


def _headline_details(diff: Diff) -> list[str]:
    """Accepted risks first, then per widened role its first widening, then opt-ins newly set."""
    items: list[str] = []
    for stack in diff.stacks:
        for change in stack.risk_accepted:
            items.append(f"risk accepted in {code_span(stack.stack)}: {change.what}: {_short(change.value, 120)}")
    for stack, role in diff.widened_roles():
        items.append(_role_words(role, stack))
    for stack in diff.stacks:
        for change in stack.stack_changes:
            if change.kind == WIDENING:
                items.append(f"stack {stack.stack}: {change.what}")
    return list(dict.fromkeys(items))


def _head_problems(diff: Diff) -> str:
    """What this change's side could not do, said before any verdict: a stack whose config is broken
    was not compared at all, so "no widening" must not be the first thing a reviewer reads."""
    parts = []
    for state, text in (("config error", "config error in stack{s} {names} (not compared)"), ("blocked", "stack{s} {names} blocked")):
        names = [s.stack for s in diff.stacks if s.head == state]
        if names:
            parts.append(text.format(s="s" if len(names) > 1 else "", names=", ".join(code_span(n) for n in names)))
    return "; ".join(parts)


def headline(diff: Diff) -> str:
    """The first line of diff.md."""
    problems = _head_problems(diff)
    verdict = _verdict(diff)
    if not problems:
        return f"### agent-iam diff: {verdict}"
    others = any(s.head not in ("config error", "blocked") for s in diff.stacks)
    return f"### agent-iam diff: {problems}" + (f"; {verdict}" if diff.widening or others or "blocked" in problems else "")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _verdict(diff: Diff) -> str:
    roles = diff.widened_roles()
    if diff.widening:
        details = _headline_details(diff)
        shown = "; ".join(details[:HEADLINE_ITEMS])
        more = f"; and {len(details) - HEADLINE_ITEMS} more" if len(details) > HEADLINE_ITEMS else ""
        accepted = sum(len(s.risk_accepted) for s in diff.stacks)
        counts = ([_count(accepted, "risk") + " accepted"] if accepted else []) + (
            [_count(len(roles), "role") + " widened"] if roles else [])
        return f"{', '.join(counts) or 'access widened'}: {shown}{more}"
    if not diff.stacks:
        return "no change to IAM access"
    verdicts = [r.verdict for s in diff.stacks for r in s.roles]
    parts = [_count(verdicts.count(NARROWING), "role") + " narrowed"] if NARROWING in verdicts else []
    if NOT_COMPARABLE in verdicts:
        parts.append(_count(verdicts.count(NOT_COMPARABLE), "role") + " not comparable offline")
    if NEUTRAL in verdicts:
        parts.append(_count(verdicts.count(NEUTRAL), "role") + " changed without widening")
    resources = sum(len(s.resources) for s in diff.stacks)
    parts += [_count(resources, "other resource") + " changed"] if resources else []
    return "no widening" + (f" ({', '.join(parts)})" if parts else "")


def _statement_lines(statement: dict[str, Any]) -> list[str]:
    return json.dumps(statement, indent=2).splitlines()


def _statement_block(doc: DocumentDiff) -> list[str]:
    """A `diff` block: a changed statement line by line, whole statements added or removed."""
    lines = ["```diff"]
    for old, new in doc.paired:
        for line in difflib.unified_diff(_statement_lines(old), _statement_lines(new), n=10_000, lineterm=""):
            if not line.startswith(("---", "+++", "@@")):
                lines.append(f"{line[0]} {line[1:]}")
    paired_old = [id(o) for o, _ in doc.paired]
    paired_new = [id(n) for _, n in doc.paired]
    for sign, statements, paired in (("-", doc.statements_removed, paired_old), ("+", doc.statements_added, paired_new)):
        for statement in statements:
            if id(statement) not in paired:
                lines += [f"{sign} {line}" for line in _statement_lines(statement)]
    return [*lines, "```"]


def _witness_line(aspect: Aspect, which: str) -> str:
    request = aspect.wider if which == "wider" else aspect.narrower
    shown = json.dumps(aspect.witness(request), sort_keys=True)
    return f"  - {'witness' if which == 'wider' else 'narrower witness'}: {code_span(shown)}"


def _aspect_lines(aspect: Aspect) -> list[str]:
    """One aspect's verdict, its witness(es) in words and as a request, and what it assumed."""
    title = f"**{aspect.name.capitalize()}: {ASPECT_WORDS.get(aspect.verdict, aspect.verdict)}.**"
    if aspect.wider is not None:
        lines = [f"- {title} {aspect.wider_words}", _witness_line(aspect, "wider")]
    elif aspect.narrower is not None:
        lines = [f"- {title} {aspect.narrower_words}"]
    else:
        lines = [f"- {title}" + (f" {aspect.reason}" if aspect.reason and aspect.verdict not in ("equal",) else "")]
    if aspect.wider is not None and aspect.narrower is not None:
        lines.append(f"  - and {aspect.narrower_words}")
    if aspect.wider is not None and aspect.reason:
        lines.append(f"  - {aspect.reason}")
    lines += [f"  - _{note}_" for note in aspect.notes]
    return lines


def _role_section(role: RoleDiff, statements: bool = True) -> list[str]:
    tag = TAGS[role.verdict]
    where = f" in account {role.account}" if role.account else ""
    change = f"renamed from {role.former}" if role.former else role.change
    summary = f"{tag}: role <code>{html.escape(role.name)}</code>{html.escape(where)} ({html.escape(change)})"
    out = [f"<details{' open' if role.widens else ''}><summary>{summary}</summary>", ""]
    if role.meaning is not None:
        for aspect in role.meaning.aspects:
            out += _aspect_lines(aspect)
    for change in role.settings:
        label = {WIDENING: "widening", NARROWING: "narrowing"}.get(change.kind, "other")
        out.append(f"- **Settings** ({label}): {change.where + ': ' if change.where else ''}{_what(change)}")
    out.append("")
    if role.changes or role.documents:
        out += ["What changed, as written (context: the verdict above is by meaning):", ""]
        out += [f"- {c.where + ': ' if c.where else ''}{_what(c)}" for c in role.changes]
        out.append("")
    for doc in role.documents:
        counts = f"{len(doc.statements_added)} statement(s) added, {len(doc.statements_removed)} removed"
        out += [f"{doc.label} ({doc.change}): {counts}", ""]
        if statements and (doc.statements_added or doc.statements_removed):
            out += [*_statement_block(doc), ""]
    return [*out, "</details>", ""]


def _stack_section(stack: StackDiff, statements: bool = True) -> list[str]:
    out = [f"#### Stack `{stack.stack}`", ""]
    if stack.base != stack.head:
        out += [f"Base: {stack.base}; this change: {stack.head}.", ""]
    if stack.error:
        out += ["```", stack.error, "```", ""]
    for change in stack.risk_accepted:
        out.append(f"- **widening (risk accepted)**: {change.what}: {change.value} ({change.where}; {change.note})")
    for change in stack.stack_changes:
        label = {WIDENING: "**widening**", NARROWING: "narrowing"}.get(change.kind, "context")
        out.append(f"- {label}: {change.what}: {change.value}")
    for note in stack.not_comparable:
        out.append(f"- not comparable offline: {note}")
    if stack.risk_accepted or stack.stack_changes or stack.not_comparable:
        out.append("")
    for role in stack.roles:
        out += _role_section(role, statements)
    if stack.resources:
        out += ["| other resource | type | change |", "| --- | --- | --- |"]
        for r in stack.resources:
            fields = f" ({', '.join(r.fields)})" if r.fields else ""
            out.append(f"| `{r.name}` | `{r.type}` | {r.change}{fields} |")
        out.append("")
    if stack.findings_added or stack.findings_removed:
        out += [f"<details><summary>Guardrail and IAM findings: {len(stack.findings_added)} new, "
                f"{len(stack.findings_removed)} gone</summary>", ""]
        out += [f"- new: {f}" for f in stack.findings_added] + [f"- gone: {f}" for f in stack.findings_removed]
        out += ["", "</details>", ""]
    return out


def render_markdown(diff: Diff, limit: int = COMMENT_LIMIT) -> str:
    """diff.md: the verdict line, a table of stacks, then per stack its roles (widened first),
    kept under `limit` characters so it can be posted as one comment."""
    text = _markdown(diff, statements=True)
    if len(text) <= limit:
        return text
    text = _markdown(diff, statements=False)
    note = "\n_Statements left out to fit one comment: see diff.json and the plans in base/ and head/._\n"
    if len(text) + len(note) <= limit:
        return text + note
    cut = text[: limit - 200].rsplit("\n", 1)[0]
    return cut + "\n\n_Cut here to fit one comment (GitHub's limit): the full diff is diff.json and diff.md in the job's artifacts._\n"


def _markdown(diff: Diff, statements: bool) -> str:
    out = [headline(diff), ""]
    out.append(f"Base: {diff.base}. Compared with: {diff.head}. Stacks: {', '.join(diff.compared) or 'none'}.")
    out.append("")
    if not diff.stacks:
        out += ["No role, policy, trust or resource changes in any stack.", ""]
        return "\n".join(out)
    out += ["| stack | risk accepted | widened | could not decide | not comparable | narrowed | changed | other resources | findings new/gone |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s in diff.stacks:
        verdicts = [r.verdict for r in s.roles]
        out.append(
            f"| `{s.stack}` | {len(s.risk_accepted)} | {verdicts.count(WIDENING)} | {verdicts.count(UNDECIDED)} | "
            f"{verdicts.count(NOT_COMPARABLE)} | {verdicts.count(NARROWING)} | {verdicts.count(NEUTRAL)} | "
            f"{len(s.resources)} | {len(s.findings_added)}/{len(s.findings_removed)} |"
        )
    out.append("")
    ordered = sorted(diff.stacks, key=lambda s: (not s.risk_accepted, not s.widening, s.stack))
    for stack in ordered:
        out += _stack_section(stack, statements)
    out += ["<sub>agent-iam diff: each role's permissions and trust are compared by meaning (every request, "
            "not the spelling); a witness is one request the change allows that the base did not, checked "
            "before it is shown. See docs/ci.md.</sub>", ""]
    return "\n".join(out)


def render_json(diff: Diff) -> str:
    return json.dumps(diff.to_dict(), indent=2, sort_keys=True) + "\n"


def write_diff(diff: Diff, out: Path) -> list[Path]:
    """Write diff.md and diff.json into `out` (created when missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (("diff.md", render_markdown(diff)), ("diff.json", render_json(diff))):
        path = out / name
        path.write_text(text)
        paths.append(path)
    return paths


def print_diff(diff: Diff, console: Console, written: list[Path]) -> None:
    """The terminal view: one tree per changed stack, widening in red, narrowing in green."""
    from rich.markup import escape
    from rich.tree import Tree

    def plain(text: str) -> str:
        return escape(text.replace("`", ""))

    style = {WIDENING: "bold red", UNDECIDED: "bold red", NOT_COMPARABLE: "yellow", NARROWING: "green", NEUTRAL: "yellow"}
    console.print(plain(headline(diff).removeprefix("### ")), style="bold red" if diff.widening else "bold")
    for stack in sorted(diff.stacks, key=lambda s: (not s.risk_accepted, not s.widening, s.stack)):
        tree = Tree(f"stack [bold]{escape(stack.stack)}[/bold] (base {stack.base}, now {stack.head})")
        if stack.error:
            tree.add(f"[red]{plain(stack.error)}[/red]")
        for change in stack.risk_accepted:
            tree.add(f"[bold red]risk accepted: {plain(change.what)}: {plain(change.value)}[/] ({plain(change.note)})")
        for change in stack.stack_changes:
            tree.add(f"[{style[change.kind]}]{change.kind}: {plain(change.what)}: {plain(change.value)}[/]")
        for note in stack.not_comparable:
            tree.add(f"[yellow]not comparable offline: {plain(note)}[/yellow]")
        for role in stack.roles:
            renamed = f", renamed from {escape(role.former)}" if role.former else ""
            node = tree.add(f"[{style[role.verdict]}]role {escape(role.name)}[/] ({role.change}{renamed}, {role.verdict})")
            for aspect in role.meaning.aspects if role.meaning else ():
                words = aspect.wider_words or aspect.narrower_words or aspect.reason
                node.add(f"[{style[aspect.kind]}]{aspect.name}: {ASPECT_WORDS.get(aspect.verdict, aspect.verdict)}[/]"
                         + (f": {plain(words)}" if words and aspect.verdict != "equal" else ""))
            for change in role.settings:
                node.add(f"[{style[change.kind]}]{change.kind}[/]: {plain(change.where)}: {plain(_what(change))}")
            if role.changes:
                node.add(f"[dim]{len(role.changes)} statement-level change(s) as written (diff.md)[/dim]")
        for r in stack.resources:
            tree.add(f"[yellow]{r.change}[/yellow] {escape(r.type)} {escape(r.name)}" + (f" ({', '.join(r.fields)})" if r.fields else ""))
        if stack.findings_added or stack.findings_removed:
            tree.add(f"findings: {len(stack.findings_added)} new, {len(stack.findings_removed)} gone (diff.md)")
        console.print(tree)
    console.print(f"Diff written to {', '.join(escape(str(p)) for p in written)}")
