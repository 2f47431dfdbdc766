"""The consoles the CLI prints through, and its panels: one home, so every command prints alike.

No emoji codes (ARNs hold `:secret:`, which rich would draw as an emoji) and no highlighting. On a
terminal rich fits what it prints to the terminal's width. Anywhere else (a CI log, a file, a pipe)
no line is cut at a width nobody chose, rich's 80 columns: a line is as long as its text, and a panel
as wide as its longest line; `COLUMNS`, when set, is the width either way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.panel import Panel

# Wider than any line a plan prints: where nothing is a terminal, nothing wraps.
UNWRAPPED_WIDTH = 1_000_000


def console(*, stderr: bool = False, soft_wrap: bool = False) -> Console:
    """A console on stdout (or stderr) that wraps only on a terminal."""
    from rich.console import Console

    made = Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=soft_wrap)
    if not made.is_terminal and not os.environ.get("COLUMNS", "").strip():
        made.width = UNWRAPPED_WIDTH
    return made


def panel(renderable: Any, **options: Any) -> Panel:
    """A panel as wide as its content (on a terminal at most the terminal's width)."""
    from rich.panel import Panel

    return Panel(renderable, expand=False, **options)
