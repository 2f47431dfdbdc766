"""Process-level settings for running a program offline under mocks (the plan, and the bench's floor).

Kept free of agent-iam and Pulumi imports at module level, so the floor can use it without paying
for the package, and a cached re-plan (plan/cache.py) can exit through it without loading Pulumi.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

# Toggles that keep the default behaviour (for measuring).
KEEP_FULL_GC = "AGENT_IAM_PLAN_FULL_GC"
KEEP_FULL_EXIT = "AGENT_IAM_PLAN_FULL_EXIT"
# Young-generation collections as usual; no full collections while the plan runs (see plan_runtime).
PLAN_GC_THRESHOLD = (700, 10, 1_000_000_000)


@contextmanager
def no_full_gc() -> Iterator[None]:
    """CPython's full collections off (young generations still collected) while a command builds a
    large heap that stays alive (a plan; `agent-iam diff` reading two sets of plans): each full
    collection rescans it all and frees almost nothing. `AGENT_IAM_PLAN_FULL_GC=1` keeps the default."""
    saved = gc.get_threshold()
    if os.environ.get(KEEP_FULL_GC) != "1":
        gc.set_threshold(*PLAN_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@contextmanager
def plan_runtime() -> Iterator[None]:
    """Process-level savings for an offline plan, undone on exit (nesting is fine).

    - The SDK shortcuts of `agent_iam.patches` (no stack trace per registration, URNs and mock
      answers computed directly, monitor calls on the plan's loop, dropped debug lines), each on
      the SDK versions it was checked against and with a variable that keeps the SDK's path.
    - A plan only grows its heap, so CPython's full collections rescan every live object
      again and again (about half of a 1,000-unit plan) and find almost nothing to free;
      young generations are still collected. `AGENT_IAM_PLAN_FULL_GC=1` keeps the default.
    """
    from agent_iam import patches  # imported here: a cached re-plan never loads Pulumi

    with no_full_gc(), patches.sdk_shortcuts():
        yield


def exit_process(code: int) -> NoReturn:
    """End a finished plan process without tearing its heap down object by object.

    Interpreter shutdown frees every object of a plan one at a time (about a second and a
    half at 1,000 units) for nothing: the files are written and closed. Exit handlers still
    run (logging, thread pools) and the standard streams are flushed first.
    `AGENT_IAM_PLAN_FULL_EXIT=1` keeps the normal shutdown.
    """
    if os.environ.get(KEEP_FULL_EXIT) == "1":
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
