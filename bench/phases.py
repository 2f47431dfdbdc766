"""Where a plan's time goes, in one process: the CLI's steps timed one by one.

    python -m bench.phases STACKS_DIR STACK OUT_DIR   -> one JSON object of seconds on stdout

Config validation runs inside the program; it is also timed alone (`validate`), so
`program - validate` is what registering the resources costs. `judge_cold` runs the guardrails,
the IAM validator and the manifest schema check with empty caches; `judge_cached` the same
with the caches the cold run left (a re-plan). `write_fresh` writes into an empty
folder (a first plan, CI), `write_again` over the same plan (a re-plan).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

T0 = time.perf_counter()

from agent_iam.plan.guardrails import judge, judgement_document  # noqa: E402
from agent_iam.plan.render import write_plan  # noqa: E402
from agent_iam.plan.run import run_program  # noqa: E402
from agent_iam.plan.runtime import plan_runtime  # noqa: E402
from agent_iam.plan.stackfile import read_stack_file  # noqa: E402


def phases(stacks_dir: Path, stack: str, out: Path) -> dict[str, float]:
    from agent_iam import stack_config

    timings = {"imports": time.perf_counter() - T0}

    def step(name, fn, *args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - start, 3)
        return result

    with plan_runtime():
        config, secret_keys = step("read_stack_file", read_stack_file, stacks_dir, stack)
        values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{stack_config.NAMESPACE}:")}
        step("validate", stack_config.load_settings, values, stack=stack, region=config.get("aws:region"),
             secret_keys=frozenset(k.split(":", 1)[1] for k in secret_keys))
        run = step("program", run_program, stack, config, secret_keys)
        settings = run.settings  # as the CLI does: the program's own validated settings
        cache_dir = out / ".cache-phases"
        shutil.rmtree(cache_dir, ignore_errors=True)
        step("judge_cold", judge, run, settings, cache_dir=cache_dir)
        judgement = step("judge_cached", judge, run, settings, cache_dir=cache_dir)
        shutil.rmtree(out / stack, ignore_errors=True)
        step("write_fresh", write_plan, run, out, judgement_document(judgement))
        step("write_again", write_plan, run, out, judgement_document(judgement))
    timings["imports"] = round(timings["imports"], 3)
    return timings


if __name__ == "__main__":
    print(json.dumps(phases(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))))
