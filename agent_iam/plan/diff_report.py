"""The diff as a reviewer reads it: `diff.md` (a pull-request comment), `diff.json`, and the terminal view.

`diff.md`'s first line is the verdict: which roles a change widens and how (the actions first),
or that it narrows or changes nothing. Then per stack, one collapsible section per role,
widened roles first and open, with the statements added and removed as a `diff` block.
"""

from __future__ import annotations

import difflib
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .diff import NARROWING, WIDENING, Change, Diff, DocumentDiff, RoleDiff, StackDiff

if TYPE_CHECKING:
    from rich.console import Console

HEADLINE_ITEMS = 3  # widened roles named on the first line of diff.md
HEADLINE_CHANGES = 2  # widening changes named per role there
# GitHub refuses a comment body over 65,536 characters: past this, diff.md drops the statement
# blocks (diff.json keeps them), then cuts whole lines, and says so.
COMMENT_LIMIT = 60_000
FILES = ("diff.md", "diff.json")


def _code(value: str) -> str:
    tick = "``" if "`" in value else "`"
    return f"{tick}{value}{tick}"


HEADLINE_NOTE = 40  # longer notes (a managed policy's summary) stay out of the first line


def _what(change: Change, note_limit: int | None = None) -> str:
    text = f"{change.what} {_code(change.value)}" if change.value else change.what
    if change.note and (note_limit is None or len(change.note) <= note_limit):
        return f"{text} ({change.note})"
    return text


def _rank(change: Change) -> int:
    """What the first line names first: new actions (the most concrete), then principals and resources."""
    return 0 if change.what == "new action" else 1 if change.what in ("new principal", "new resource") else 2


def _headline_details(diff: Diff) -> list[str]:
    """Per widened role its most concrete widening (two at most), roles with new actions first."""
    items: list[tuple[int, str]] = []
    for stack, role in diff.widened_roles():
        changes = sorted(role.widening, key=_rank)
        shown = ", ".join(dict.fromkeys(_what(c, HEADLINE_NOTE) for c in changes[:HEADLINE_CHANGES]))
        more = f" and {len(changes) - HEADLINE_CHANGES} more" if len(changes) > HEADLINE_CHANGES else ""
        items.append((_rank(changes[0]), f"{_code(role.name)} ({stack}): {shown}{more}"))
    for stack in diff.stacks:
        for change in stack.stack_changes:
            if change.kind == WIDENING:
                items.append((3, f"stack {stack.stack}: {change.what}"))
    return [text for _, text in sorted(items, key=lambda item: item[0])]


def _head_problems(diff: Diff) -> str:
    """What this change's side could not do, said before any verdict: a stack whose config is broken
    was not compared at all, so "no widening" must not be the first thing a reviewer reads."""
    parts = []
    for state, text in (("config error", "config error in stack{s} {names} (not compared)"), ("blocked", "stack{s} {names} blocked")):
        names = [s.stack for s in diff.stacks if s.head == state]
        if names:
            parts.append(text.format(s="s" if len(names) > 1 else "", names=", ".join(_code(n) for n in names)))
    return "; ".join(parts)


def headline(diff: Diff) -> str:
    """The first line of diff.md."""
    problems = _head_problems(diff)
    verdict = _verdict(diff)
    if not problems:
        return f"### agent-iam diff: {verdict}"
    others = any(s.head not in ("config error", "blocked") for s in diff.stacks)
    return f"### agent-iam diff: {problems}" + (f"; {verdict}" if diff.widening or others or "blocked" in problems else "")


def _verdict(diff: Diff) -> str:
    roles = diff.widened_roles()
    if diff.widening:
        details = list(dict.fromkeys(_headline_details(diff)))
        shown = "; ".join(details[:HEADLINE_ITEMS])
        more = f"; and {len(details) - HEADLINE_ITEMS} more" if len(details) > HEADLINE_ITEMS else ""
        count = f"{len(roles)} role{'s' if len(roles) != 1 else ''} widened" if roles else "access widened"
        return f"{count}: {shown}{more}"
    if not diff.stacks:
        return "no change to IAM access"
    narrowed = sum(1 for s in diff.stacks for r in s.roles if r.verdict == NARROWING)
    changed = sum(len(s.roles) for s in diff.stacks) - narrowed
    parts = [f"{narrowed} role{'s' if narrowed != 1 else ''} narrowed"] if narrowed else []
    parts += [f"{changed} role{'s' if changed != 1 else ''} changed without widening"] if changed else []
    resources = sum(len(s.resources) for s in diff.stacks)
    parts += [f"{resources} other resource{'s' if resources != 1 else ''} changed"] if resources else []
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


def _role_section(role: RoleDiff, statements: bool = True) -> list[str]:
    tag = {"widening": "<b>WIDENED</b>", "narrowing": "narrowed", "neutral": "changed"}[role.verdict]
    where = f" in account {role.account}" if role.account else ""
    summary = f"{tag}: role <code>{html.escape(role.name)}</code>{html.escape(where)} ({role.change})"
    out = [f"<details{' open' if role.verdict == WIDENING else ''}><summary>{summary}</summary>", ""]
    for kind, title in ((WIDENING, "Widening"), (NARROWING, "Narrowing"), ("neutral", "Other changes")):
        changes = [c for c in role.changes if c.kind == kind]
        if changes:
            out += [f"**{title}**", ""]
            out += [f"- {c.where + ': ' if c.where else ''}{_what(c)}" for c in changes]
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
    for change in stack.stack_changes:
        label = "**widening**" if change.kind == WIDENING else "narrowing"
        out.append(f"- {label}: {change.what}: {change.value}")
    if stack.stack_changes:
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
    out += ["| stack | widened | narrowed | changed | other resources | findings new/gone |",
            "| --- | --- | --- | --- | --- | --- |"]
    for s in diff.stacks:
        verdicts = [r.verdict for r in s.roles]
        out.append(
            f"| `{s.stack}` | {verdicts.count(WIDENING)} | {verdicts.count(NARROWING)} | "
            f"{verdicts.count('neutral')} | {len(s.resources)} | {len(s.findings_added)}/{len(s.findings_removed)} |"
        )
    out.append("")
    ordered = sorted(diff.stacks, key=lambda s: (not s.widening, s.stack))
    for stack in ordered:
        out += _stack_section(stack, statements)
    out += ["<sub>agent-iam diff: statements are compared by meaning (order, Sid and list order aside); "
            "a Deny statement's widening counts as narrowing.</sub>", ""]
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

    style = {WIDENING: "bold red", NARROWING: "green", "neutral": "yellow"}
    console.print(plain(headline(diff).removeprefix("### ")), style="bold red" if diff.widening else "bold")
    for stack in sorted(diff.stacks, key=lambda s: (not s.widening, s.stack)):
        tree = Tree(f"stack [bold]{escape(stack.stack)}[/bold] (base {stack.base}, now {stack.head})")
        if stack.error:
            tree.add(f"[red]{plain(stack.error)}[/red]")
        for change in stack.stack_changes:
            tree.add(f"[{style[change.kind]}]{change.kind}: {plain(change.what)}: {plain(change.value)}[/]")
        for role in stack.roles:
            node = tree.add(f"[{style[role.verdict]}]role {escape(role.name)}[/] ({role.change}, {role.verdict})")
            for change in role.changes:
                where = f"[dim]{plain(change.where)}:[/dim] " if change.where else ""
                node.add(f"[{style[change.kind]}]{change.kind}[/]: {where}{plain(_what(change))}")
        for r in stack.resources:
            tree.add(f"[yellow]{r.change}[/yellow] {escape(r.type)} {escape(r.name)}" + (f" ({', '.join(r.fields)})" if r.fields else ""))
        if stack.findings_added or stack.findings_removed:
            tree.add(f"findings: {len(stack.findings_added)} new, {len(stack.findings_removed)} gone (diff.md)")
        console.print(tree)
    console.print(f"Diff written to {', '.join(escape(str(p)) for p in written)}")
