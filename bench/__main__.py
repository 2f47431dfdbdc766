"""`python -m bench`: time the plan against the floor as whole processes, N = 10, 100, 1000 units.

Every timed process is started and reaped here with `os.wait4`, so its peak RSS is its
own (RUSAGE_CHILDREN would be the largest of all children so far). Rounds are interleaved
(every size and variant once per round, the variant order rotating) and medians reported.

Variants: plan (one process, --quiet, the plan cache off) and floor under the plan's process
settings and SDK shortcuts (plan/runtime.py, agent_iam/patches.py), +traces keeps the SDK's
per-registration stack traces, +sdk turns every setting off, floor+components is the floor under
the plan's component layout (bench/floor.py). plan-cli is the plan as a user runs it after a change
(default output, default shards, the cache off), replan the same command with nothing changed (the
plan cache restores it), cdk is AWS CDK's default `app.synth()` of the same roles (bench/cdk.py).

Environment: BENCH_QUICK=1 (smoke test: N = 2, 10, one round), BENCH_SIZES=10,100,1000,
BENCH_ROUNDS=5,5,3 (rounds per size), BENCH_VARIANTS (default: see DEFAULT_VARIANTS).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from agent_iam.plan.project import PROJECT_DIR  # not .run: this process stays small (see timed)

from .generate import ACCOUNT, REGION

BUILD = PROJECT_DIR / "build"
STACKS = BUILD / "bench"
PY = sys.executable

# Every saving of plan/runtime.py off: what a plain SDK program under mocks does.
SDK_DEFAULTS = {
    "AGENT_IAM_PLAN_STACK_TRACES": "1",
    "AGENT_IAM_PLAN_FULL_GC": "1",
    "AGENT_IAM_PLAN_FULL_EXIT": "1",
    "AGENT_IAM_PLAN_SDK_URN": "1",
    "AGENT_IAM_PLAN_SDK_STATE": "1",
    "AGENT_IAM_PLAN_SDK_EXECUTOR": "1",
    "AGENT_IAM_PLAN_SDK_DEBUG_LOG": "1",
}
CDK_DIR = BUILD / "cdk-bench"
# name -> (program, extra environment); "plan"/"floor" use the plan runner's settings (plan/runtime.py).
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "plan": ("plan", {}),
    "plan+traces": ("plan", {"AGENT_IAM_PLAN_STACK_TRACES": "1"}),
    "plan+fullgc": ("plan", {"AGENT_IAM_PLAN_FULL_GC": "1"}),
    "plan+sdk": ("plan", SDK_DEFAULTS),
    "plan-cli": ("plan-cli", {}),
    "replan": ("replan", {}),
    "cdk": ("cdk", {}),
    "floor": ("floor", {}),
    "floor+traces": ("floor", {"AGENT_IAM_PLAN_STACK_TRACES": "1"}),
    "floor+fullgc": ("floor", {"AGENT_IAM_PLAN_FULL_GC": "1"}),
    "floor+sdk": ("floor", SDK_DEFAULTS),
    "floor+components": ("floor-components", {}),
}
DEFAULT_VARIANTS = "plan,plan-cli,replan,cdk,floor,floor+components"


@dataclass
class Sample:
    wall_s: float
    rss_mb: float


def timed(cmd: list[str], env: dict[str, str]) -> Sample:
    """Run `cmd` to completion; its wall time and its own peak RSS (os.wait4 on its pid).

    Linux starts a child's peak RSS at its parent's (the high-water mark survives fork and exec), so
    this process never loads a plan, a template or Pulumi itself: its own peak stays below any child's."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=PROJECT_DIR, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err.read().decode()[-4000:]}")
    return Sample(wall, usage.ru_maxrss / 1024)  # Linux reports KiB


# Where `plan` and `plan-cli` write: each is timed with the judge's content caches warm and its plan
# cache dropped (drop_plan_cache), so the program runs; `--no-cache` would bypass both caches.
PLAN_OUT = {"plan": STACKS / "out", "plan-cli": STACKS / "cli"}


def drop_plan_cache(program: str) -> None:
    if program in PLAN_OUT:
        shutil.rmtree(PLAN_OUT[program] / ".cache" / "plans", ignore_errors=True)


def command(program: str, n: int) -> list[str]:
    stack = f"bench{n}"
    plan = [PY, "-m", "agent_iam.plan", "--stack", stack, "--stacks-dir", str(STACKS)]
    if program == "plan":
        return [*plan, "--quiet", "--shards", "1", "--out", str(PLAN_OUT["plan"])]
    if program == "plan-cli":
        return [*plan, "--out", str(PLAN_OUT["plan-cli"])]
    if program == "replan":
        return [*plan, "--out", str(PLAN_OUT["plan-cli"])]
    if program == "cdk":
        return ["node", str(CDK_DIR / "app.js"), str(STACKS / "cdk" / f"{stack}.json"), str(STACKS / "cdk" / stack)]
    flags = ["--components"] if program == "floor-components" else []
    return [PY, "-m", "bench.floor", *flags, str(STACKS / "replay" / f"{stack}.json")]


def prepare(n: int, variants: list[str]) -> dict:
    """Write the stack file, its replay, its plan files and CDK's roles, untimed (also warms the
    judge's content caches and the plan cache). Returns CDK's document check, if CDK runs."""
    stack = f"bench{n}"
    subprocess.run([PY, "-m", "bench.generate", str(STACKS), stack, str(n)], cwd=PROJECT_DIR, check=True,
                   stdout=subprocess.DEVNULL)
    replay = STACKS / "replay" / f"{stack}.json"
    subprocess.run([PY, "-m", "bench.floor", "record", str(STACKS), stack, str(replay)], cwd=PROJECT_DIR, check=True)
    subprocess.run(command("plan", n), cwd=PROJECT_DIR, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(command("plan-cli", n), cwd=PROJECT_DIR, check=True, stdout=subprocess.DEVNULL)
    if "cdk" not in variants:
        return {}
    # In child processes: a process inherits its parent's peak RSS, so this one never loads a large plan.
    spec = STACKS / "cdk" / f"{stack}.json"
    run_json = [PY, "-m", "bench.cdk"]
    subprocess.run([*run_json, "spec", str(STACKS / "out" / stack / "plan.json"), ACCOUNT, REGION, str(spec)],
                   cwd=PROJECT_DIR, check=True)
    subprocess.run(command("cdk", n), cwd=PROJECT_DIR, check=True)
    checked = subprocess.run([*run_json, "compare", str(spec), str(STACKS / "cdk" / stack)], cwd=PROJECT_DIR,
                             check=True, capture_output=True, text=True)
    return json.loads(checked.stdout)


def breakdown(n: int) -> dict[str, float]:
    """One in-process run of the plan's steps (bench/phases.py), seconds per step."""
    cmd = [PY, "-m", "bench.phases", str(STACKS), f"bench{n}", str(STACKS / "phases")]
    return json.loads(subprocess.run(cmd, cwd=PROJECT_DIR, check=True, capture_output=True, text=True).stdout)


def resources_per_unit(n: int) -> tuple[int, dict[str, Counter]]:
    """AWS resources in the replay, and per component type the resources one unit registers."""
    replay = json.loads((STACKS / "replay" / f"bench{n}.json").read_text())
    plan = json.loads((STACKS / "out" / f"bench{n}" / "plan.json").read_text())
    components = Counter(
        r["type"] for r in plan["resources"] if r["provider"] is None and not r["type"].startswith("pulumi:")
    )
    by_component: dict[str, Counter] = defaultdict(Counter)
    parents = {r["urn"]: r["type"] for r in plan["resources"]}
    for r in plan["resources"]:
        parent = parents.get(r["parent"] or "")
        if parent in components:
            by_component[parent][r["type"]] += 1
    per_unit = {c: Counter({t: k / components[c] for t, k in types.items()}) for c, types in by_component.items()}
    return len(replay["resources"]), per_unit


def rounds_for(sizes: list[int], spec: str) -> dict[int, int]:
    counts = [int(x) for x in spec.split(",")]
    counts += [counts[-1]] * (len(sizes) - len(counts))
    return dict(zip(sizes, counts))


def median(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def main(argv: list[str] | None = None) -> int:
    quick = os.environ.get("BENCH_QUICK") == "1"
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "2,10" if quick else "10,100,1000"))
    parser.add_argument("--rounds", default=os.environ.get("BENCH_ROUNDS", "1" if quick else "5,5,3"))
    parser.add_argument("--variants", default=os.environ.get("BENCH_VARIANTS", DEFAULT_VARIANTS))
    parser.add_argument("--json", type=Path, default=BUILD / "bench.json")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    rounds = rounds_for(sizes, args.rounds)
    variants = args.variants.split(",")
    console = Console(width=max(Console().width, 200))
    families = subprocess.run([PY, "-m", "bench.generate", str(STACKS), "bench1", "1"], cwd=PROJECT_DIR, check=True,
                              capture_output=True, text=True).stdout.strip()
    console.print(f"families per unit: {families}; sizes {sizes}; rounds {rounds}; cpus {os.cpu_count()}")

    if "cdk" in variants:
        from . import cdk

        if cdk.node() is None:
            console.print("node is not installed: the CDK comparison is skipped", style="yellow")
            variants.remove("cdk")
        else:
            cdk.install(CDK_DIR)
            console.print(f"AWS CDK: aws-cdk-lib {cdk.version(CDK_DIR)} on node {_node_version()} ({CDK_DIR})")
    checks = {n: prepare(n, variants) for n in sizes}
    samples: dict[tuple[int, str], list[Sample]] = defaultdict(list)
    for r in range(max(rounds.values())):
        order = variants[r % len(variants):] + variants[: r % len(variants)]
        for n in sizes:
            if r >= rounds[n]:
                continue
            for variant in order:
                program, env = VARIANTS[variant]
                drop_plan_cache(program)
                samples[(n, variant)].append(timed(command(program, n), env))
        console.print(f"round {r + 1} done", style="dim")

    rows = []
    for n in sizes:
        resources, per_unit = resources_per_unit(n)
        row: dict = {"n": n, "resources": resources, "rounds": rounds[n]}
        for variant in variants:
            key = variant.replace("+", "_").replace("-", "_")
            row[f"{key}_s"] = round(median(samples[(n, variant)], "wall_s"), 3)
            row[f"{key}_min_s"] = round(min(s.wall_s for s in samples[(n, variant)]), 3)
            row[f"{key}_max_s"] = round(max(s.wall_s for s in samples[(n, variant)]), 3)
            row[f"{key}_rss_mb"] = round(median(samples[(n, variant)], "rss_mb"), 1)
        if "plan_s" in row and "floor_s" in row:
            row["ratio"] = round(row["plan_s"] / row["floor_s"], 3)
            row["rss_ratio"] = round(row["plan_rss_mb"] / row["floor_rss_mb"], 3)
        if "plan_traces_s" in row and "floor_traces_s" in row:
            row["ratio_traces"] = round(row["plan_traces_s"] / row["floor_traces_s"], 3)
        if "floor_components_s" in row and "plan_s" in row:  # what the component layout alone costs over the floor
            row["ratio_components"] = round(row["plan_s"] / row["floor_components_s"], 3)
            row["components_over_floor"] = round(row["floor_components_s"] / row["floor_s"], 3)
        if "cdk_s" in row and "plan_cli_s" in row:  # the plan a user runs after a change, against CDK's synth
            row["plan_vs_cdk"] = round(row["plan_cli_s"] / row["cdk_s"], 3)
            row["cdk_documents"] = checks[n]
        if "plan_cli_rss_mb" in row and "floor_rss_mb" in row:
            row["plan_cli_rss_ratio"] = round(row["plan_cli_rss_mb"] / row["floor_rss_mb"], 3)
        for program in ("plan", "floor"):
            if f"{program}_s" in row:
                row[f"{program}_ms_per_resource"] = round(1000 * row[f"{program}_s"] / resources, 3)
        row["resources_per_unit"] = {c: dict(t) for c, t in per_unit.items()}
        row["plan_breakdown_s"] = breakdown(n)
        rows.append(row)
    for previous, row in zip(rows, rows[1:]):
        # marginal cost of the added resources: flat when time is linear in N
        extra = row["resources"] - previous["resources"]
        for program in ("plan", "floor"):
            if f"{program}_s" in row:
                row[f"{program}_marginal_ms_per_resource"] = round(
                    1000 * (row[f"{program}_s"] - previous[f"{program}_s"]) / extra, 3)
                row[f"{program}_growth"] = round(row[f"{program}_s"] / previous[f"{program}_s"], 2)
    report(console, rows, variants)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    console.print(f"written to {args.json}")
    return 0


def _node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def machine() -> dict:
    """What the numbers were measured on."""
    import platform
    from importlib.metadata import version

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "pulumi": version("pulumi"),
            "node": _node_version() if shutil.which("node") else ""}


def _cell(row: dict, key: str, spec: str) -> str:
    """A table cell: the value, or `-` when the variants run did not give it."""
    return format(row[key], spec) if key in row else "-"


def report(console: Console, rows: list[dict], variants: list[str]) -> None:
    table = Table(title="plan vs floor and CDK (median wall s, whole processes; peak RSS MB of the largest process)")
    for column in ["N", "resources", *variants, "ratio", "plan-cli / cdk", "vs floor+comp", "plan RSS", "floor RSS",
                   "RSS ratio", "plan ms/res", "marginal ms/res", "growth"]:
        table.add_column(column, justify="right")
    for row in rows:
        times = [f"{row[v.replace('+', '_').replace('-', '_') + '_s']:.2f}" for v in variants]
        table.add_row(
            str(row["n"]), str(row["resources"]), *times, _cell(row, "ratio", ".2f"),
            _cell(row, "plan_vs_cdk", ".2f"), _cell(row, "ratio_components", ".2f"),
            _cell(row, "plan_rss_mb", ".0f"), _cell(row, "floor_rss_mb", ".0f"), _cell(row, "rss_ratio", ".2f"),
            _cell(row, "plan_ms_per_resource", ".2f"),
            f"{row['plan_marginal_ms_per_resource']:.2f}" if "plan_marginal_ms_per_resource" in row else "-",
            f"{row['plan_growth']:.1f}x" if "plan_growth" in row else "-",
        )
    console.print(table)
    units = Table(title="AWS resources per unit, by component")
    units.add_column("component")
    units.add_column("resources per unit")
    for component, types in rows[-1]["resources_per_unit"].items():
        units.add_row(component, ", ".join(f"{k:g} {t.split(':')[-1]}" for t, k in sorted(types.items())))
    console.print(units)
    steps = Table(title="where a plan's time goes (one in-process run; validation also runs inside the program)")
    steps.add_column("N", justify="right")
    names = list(rows[-1]["plan_breakdown_s"])
    for name in names:
        steps.add_column(name, justify="right")
    for row in rows:
        steps.add_row(str(row["n"]), *(f"{row['plan_breakdown_s'][k]:.3f}" for k in names))
    console.print(steps)


if __name__ == "__main__":
    sys.exit(main())
