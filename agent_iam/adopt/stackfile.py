"""Write the imported stack file: YAML 1.2 as Pulumi reads it, a comment above each entry saying
where it came from, and the roles that were not imported written out as comments.

Values are dumped by ruamel.yaml (quoting whatever YAML would read as another type: account IDs,
`'Null'`, `'true'`); the importer reads the written file back with the plan's own reader and
checks it holds exactly the config it meant to write.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam.stack_config import NAMESPACE

FAMILY_ORDER = ("saasRoles", "oidcRoles", "serviceAccounts")
_BREAKS = re.compile("[\r\n\x85\u2028\u2029]+")
# What YAML lets a comment hold (its printable set, tab included); anything else is written escaped.
_NOT_PRINTABLE = re.compile("[^\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096  # no folded lines: an ARN or a condition value stays on its line
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def dump(value: Any) -> str:
    """`value` as block YAML (no trailing newline)."""
    out = io.StringIO()
    _yaml().dump(_plain(value), out)
    return out.getvalue().rstrip("\n")


def _plain(value: Any) -> Any:
    """Mappings and lists as ruamel's own types, so key order is kept and nothing is sorted."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, Mapping):
        return CommentedMap((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_plain(v) for v in value)
    return value


def comment_line(text: str) -> str:
    """One comment's text on one line: line breaks become spaces, characters YAML does not print
    (controls, lone surrogates) their `\\uXXXX` escape."""
    return _NOT_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", _BREAKS.sub(" ", text)).strip()


def _indent(text: str, spaces: int) -> list[str]:
    return [(" " * spaces + line) if line else line for line in text.split("\n")]


@dataclass
class Written:
    """One entry to write, or to write commented out (`active` False), with its comments."""

    family: str
    entry: dict[str, Any] | None
    comments: list[str] = field(default_factory=list)
    active: bool = True


def entry_lines(written: Written, indent: int = 4) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}# {comment_line(c)}" for c in written.comments]
    if written.entry is None:
        return lines
    body = dump(written.entry).split("\n")
    item = [f"- {body[0]}"] + [f"  {line}" if line else line for line in body[1:]]
    if written.active:
        return lines + [pad + line for line in item]
    return lines + [f"{pad}# {line}" for line in item]


def stack_text(header: Sequence[str], settings: Mapping[str, Any], entries: Sequence[Written]) -> str:
    """The stack file: `header` comments, `config:` with `settings` (full keys, `aws:region` and
    `agent-iam:*`), then each family's entries, then the roles not imported as comments."""
    lines = [f"# {comment_line(h)}" for h in header]
    lines.append("config:")
    for key, value in settings.items():
        if isinstance(value, (Mapping, list, tuple)):
            lines.append(f"  {key}:")
            lines += _indent(dump(value), 4)
        else:
            lines.append(f"  {dump({key: value})}")
    families = [f for f in FAMILY_ORDER if any(w.family == f and w.active for w in entries)]
    families += sorted({w.family for w in entries if w.active} - set(families))
    for family in families:
        lines.append(f"  {NAMESPACE}:{family}:")
        for written in entries:
            if written.family == family and written.active:
                lines += entry_lines(written)
    left = [w for w in entries if not w.active]
    if left:
        lines.append("  # Not imported (see the reasons above each; nothing below is part of the stack):")
        for written in left:
            lines.append(f"  # {NAMESPACE}:{written.family}:" if written.entry is not None else "  #")
            lines += entry_lines(written, 2)
    return "\n".join(lines) + "\n"
