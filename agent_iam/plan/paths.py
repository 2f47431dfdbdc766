"""Stack names and the paths a plan reads, writes or removes: every one stays inside the output folder.

A stack name becomes a folder name (`build/<stack>/`) and part of file names (the stack file,
the caches), so it is checked before any of them is built: `..`, `../victim` or `/etc` never
reach `rmtree`. Every path the plan writes or removes is checked again to resolve inside the
output folder, so a symlink planted there cannot redirect a write or a removal either.
"""

from __future__ import annotations

import re
from pathlib import Path

# A stack file is read only when it is a regular file of at most this many bytes (a link to one is
# fine): a FIFO would block the plan and `/dev/zero` never ends. 8 MiB holds some 18,000 entries of
# the bench's generated stacks (bench/generate.py: 1,000 units take 0.44 MB).
STACK_FILE_MAX_BYTES = 8 * 1024 * 1024
# Pulumi's own rule for a stack's short name, minus the two names that mean folders.
STACK_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
STACK_NAME_MAX = 100


class UnsafePath(ValueError):
    """A stack name or plan path that would leave the output folder."""


def check_stack_name(stack: str) -> str:
    """`stack` if it is a plain stack name; otherwise UnsafePath saying what is wrong."""
    if not isinstance(stack, str) or not STACK_NAME_RE.fullmatch(stack) or stack in (".", ".."):
        hint = ""
        if isinstance(stack, str) and "/" in stack:
            hint = "; give the stack's short name (the <stack> of stacks/Pulumi.<stack>.yaml), not a path or org/project/stack"
        raise UnsafePath(
            f"not a stack name: {stack!r} (letters, digits, '_', '.' and '-' only, not '.' or '..'){hint}"
        )
    if len(stack) > STACK_NAME_MAX:
        raise UnsafePath(f"not a stack name: {len(stack)} characters, over {STACK_NAME_MAX}")
    return stack


def inside(root: Path, path: Path) -> Path:
    """`path` if it resolves strictly inside `root` (symlinks followed, except a last symlink
    component, which is itself inside); otherwise UnsafePath."""
    base = Path(root).resolve()
    # Resolve the parent, not the entry itself: removing or replacing a symlink is safe, following it is not.
    candidate = Path(path)
    resolved = candidate.parent.resolve() / candidate.name
    if candidate.name in ("", ".", "..") or not resolved.is_relative_to(base) or resolved == base:
        raise UnsafePath(f"refusing to touch {path}: it is not inside the output folder {base}")
    return candidate


def plan_folder(out_dir: Path, stack: str) -> Path:
    """`out_dir/<stack>`, after checking the stack name and that the folder stays inside `out_dir`."""
    return inside(out_dir, Path(out_dir) / check_stack_name(stack))
