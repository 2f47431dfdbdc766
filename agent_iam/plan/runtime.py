"""Process-level settings for running a program offline under mocks (the plan, and the bench's floor).

Kept free of agent-iam imports, so the floor can use it without paying for them, and of
Pulumi imports at module level, so a cached re-plan (plan/cache.py) can exit through it.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

# Toggles that keep the SDK's own behaviour (for measuring, or for an SDK error's source position).
KEEP_STACK_TRACES = "AGENT_IAM_PLAN_STACK_TRACES"
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


def _no_stack_trace() -> Any:
    from pulumi.runtime.proto import source_pb2

    return source_pb2.StackTrace()


@contextmanager
def plan_runtime() -> Iterator[None]:
    """Process-level savings for an offline plan, undone on exit (nesting is fine).

    - The SDK captures a Python stack trace for every registration (`traceback.extract_stack`,
      about 20% of a plan under mocks); the engine only uses it for source positions in the
      CLI's error messages, which an offline plan never shows. `AGENT_IAM_PLAN_STACK_TRACES=1` keeps it.
    - The SDK's `create_urn` shortcut for plain strings (plan/shortcuts.py), on the SDK versions
      it was checked against; `AGENT_IAM_PLAN_SDK_URN=1` keeps the SDK's.
    - Monitor calls answered on the plan's event loop instead of a thread pool (plan/shortcuts.py,
      `inline_rpc`), on the SDK versions it was checked against; `AGENT_IAM_PLAN_SDK_EXECUTOR=1` keeps the hop.
    - Debug log lines the mock engine's logger would drop are dropped before they are built
      (`shortcuts.debug`); `AGENT_IAM_PLAN_SDK_DEBUG_LOG=1` keeps the SDK's path.
    - A plan only grows its heap, so CPython's full collections rescan every live object
      again and again (about half of a 1,000-unit plan) and find almost nothing to free;
      young generations are still collected. `AGENT_IAM_PLAN_FULL_GC=1` keeps the default.
    """
    from pulumi import log as pulumi_log
    from pulumi.runtime import resource as sdk_resource  # imported here: a cached re-plan never loads Pulumi
    from pulumi.runtime.sync_await import _ensure_event_loop

    from . import shortcuts

    saved_trace = sdk_resource._get_stack_trace
    saved_create_urn, saved_debug = sdk_resource.create_urn, pulumi_log.debug
    if os.environ.get(KEEP_STACK_TRACES) != "1":
        sdk_resource._get_stack_trace = _no_stack_trace
    if shortcuts.urn_shortcut_on():
        sdk_resource.create_urn = shortcuts.create_urn
    if shortcuts.debug_log_shortcut_on():
        pulumi_log.debug = shortcuts.debug
    try:
        with no_full_gc(), shortcuts.inline_rpc(_ensure_event_loop()):
            yield
    finally:
        sdk_resource._get_stack_trace = saved_trace
        sdk_resource.create_urn = saved_create_urn
        pulumi_log.debug = saved_debug


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
