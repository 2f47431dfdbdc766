"""Work done in a forked child process, its result sent back pickled through a pipe.

One mechanism for both places that spread a plan over the cores: the plan's shards
(plan/shard.py) and the IAM validator's shares of new documents (guardrails/iam_validation.py).
A child starts on a fresh event loop (an inherited loop would hand work to an executor whose
threads did not survive the fork) and exits without the parent's teardown or exit handlers.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


# How many processes a stack's program is sharded across (plan/shard.py) and how many validate a
# plan's new IAM documents (guardrails/iam_validation.py); `plan-all` sets both to 1 for its stacks.
SHARDS_ENV = "AGENT_IAM_PLAN_SHARDS"
JUDGE_PROCESSES_ENV = "AGENT_IAM_JUDGE_PROCESSES"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass(frozen=True)
class Child:
    pid: int
    read: int  # the pipe's end its result arrives on


def start(work: Callable[[], Any]) -> Child:
    """Run `work()` in a forked child; `result` waits for what it returned or raised."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            try:
                asyncio.set_event_loop(asyncio.new_event_loop())
                data = pickle.dumps(("ok", work()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 (reported to the parent, which decides)
                data = pickle.dumps(("error", "".join(traceback.format_exception(exc))))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
        finally:
            os._exit(0)
    os.close(write)
    return Child(pid, read)


def result(child: Child) -> tuple[bool, Any]:
    """Wait for `child`: (True, what `work` returned), or (False, why it gave nothing: its traceback)."""
    with os.fdopen(child.read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(child.pid, 0)
    if not data:
        return False, "the process ended without a result"
    status, value = pickle.loads(data)
    return status == "ok", value
