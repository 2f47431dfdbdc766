"""Time the effective-access model on the bench's synthetic stack: build every role's model and ask
the wide-grant query, with cold caches (a fresh process: nothing parsed, no verdict cached) and warm
ones (the same again in that process), and one `compare` of every role with itself changed.

`python -m bench.model [N]` (N units, default 1000; the stack file goes to build/bench/) prints one
JSON object: roles, documents, and seconds per step.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    units = int(argv[0]) if argv else 1000
    from bench.generate import ACCOUNT, write_stack

    stack = f"model{units}"
    write_stack(ROOT / "build" / "bench", stack, units)
    from agent_iam.guardrails.rules import Context
    from agent_iam.plan.guardrails import resource_views
    from agent_iam.plan.run import run_program
    from agent_iam.plan.stackfile import read_stack_file

    config, secret_keys = read_stack_file(ROOT / "build" / "bench", stack)
    started = time.perf_counter()
    run = run_program(stack, config, secret_keys)
    views = resource_views(run, ACCOUNT)
    planned = time.perf_counter() - started

    from agent_iam.model import roles_from_views, solver

    out: dict[str, object] = {"units": units, "plan_s": round(planned, 2)}
    for phase in ("cold", "warm"):
        started = time.perf_counter()
        roles = roles_from_views(views, Context(account_id=ACCOUNT))
        built = time.perf_counter()
        grants = sum(len(solver.wide_grants(role)) for role in roles)
        asked = time.perf_counter()
        out[phase] = {"models_s": round(built - started, 3), "wide_grants_s": round(asked - built, 3), "grants": grants}
    out["roles"] = len(roles)
    out["documents"] = sum(len(r.documents) for r in roles)
    started = time.perf_counter()
    verdicts = [solver.compare(role, role).permissions.verdict for role in roles]
    out["compare_unchanged_s"] = round(time.perf_counter() - started, 3)
    assert set(verdicts) == {solver.EQUAL}, set(verdicts)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
