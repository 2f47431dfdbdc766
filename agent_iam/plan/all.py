"""`python -m agent_iam.plan.all`: plan every stack in `stacks/` at once, one process per core, and summarize.

Each stack is planned by its own `python -m agent_iam.plan --quiet` process (the Pulumi runtime is
per process), at most `os.cpu_count()` at a time; the summary is read from each stack's
plan.json. `--compare` also plans them one after another and prints both wall times.
Exits non-zero when any stack failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .run import PROJECT_DIR


@dataclass
class StackResult:
    stack: str
    status: int
    seconds: float
    stderr: str = ""
    types: Counter = field(default_factory=Counter)
    advisories: int = 0
    violations: int = 0


def stacks_in(stacks_dir: Path) -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))


SHORT_NAMES = {
    "RolePolicyAttachment": "Attachment",
    "OpenIdConnectProvider": "OIDC",
    "PodIdentityAssociation": "PodIdentity",
}


def short_type(typ: str) -> str:
    """A column name: `aws:iam/role:Role` -> `Role`; providers and components are grouped."""
    if typ.startswith("pulumi:providers:"):
        return "providers"
    if typ.startswith("agent-iam:"):
        return "components"
    name = typ.rsplit(":", 1)[-1]
    return SHORT_NAMES.get(name, name)


def plan_one(stack: str, stacks_dir: Path, out: Path) -> StackResult:
    """Plan one stack in its own process; its time, exit status and plan.json summary."""
    cmd = [sys.executable, "-m", "agent_iam.plan", "--stack", stack, "--stacks-dir", str(stacks_dir), "--out", str(out)]
    cmd.append("--quiet")
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=PROJECT_DIR, capture_output=True, text=True)
    result = StackResult(stack, done.returncode, time.perf_counter() - start, done.stderr.strip())
    plan_file = out / stack / "plan.json"
    if done.returncode == 0 and plan_file.is_file():
        plan = json.loads(plan_file.read_text())
        result.types = Counter(short_type(r["type"]) for r in plan["resources"])
        result.advisories = len(plan.get("advisories", []))
        violations = plan.get("violations", [])
        result.violations = violations if isinstance(violations, int) else len(violations)
    return result


def plan_all(stacks: list[str], stacks_dir: Path, out: Path, jobs: int) -> tuple[list[StackResult], float]:
    """Every stack, `jobs` processes at a time; the results in stack order and the wall time."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # threads only wait on the processes
        results = list(pool.map(lambda s: plan_one(s, stacks_dir, out), stacks))
    return results, time.perf_counter() - start


def summary(results: list[StackResult]) -> Table:
    """One row per stack: resources by type (most first), components, providers, findings, time, status.

    The resource types share one wrapping column, so the table stays readable at 80 columns
    however many types the stacks use.
    """
    table = Table(title="agent-iam plans", caption="comp.: components, prov.: providers, adv.: advisories, viol.: violations")
    table.add_column("stack", no_wrap=True)
    table.add_column("resources by type", ratio=1)
    for column in ["comp.", "prov.", "adv.", "viol.", "time s"]:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for r in results:
        ok = r.status == 0
        status = "[green]ok[/green]" if ok else f"[bold red]exit {r.status}[/bold red]"
        by_type = sorted(((n, t) for t, n in r.types.items() if t not in ("components", "providers")),
                         key=lambda item: (-item[0], item[1]))
        resources = ", ".join(f"{n} {t}" for n, t in by_type) if ok else "-"
        table.add_row(r.stack, resources, *(str(r.types.get(k, 0)) if ok else "-" for k in ("components", "providers")),
                      str(r.advisories), f"[red]{r.violations}[/red]" if r.violations else "0",
                      f"{r.seconds:.2f}", status)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_iam.plan.all", description=__doc__.splitlines()[0])
    parser.add_argument("--stacks-dir", type=Path, default=PROJECT_DIR / "stacks")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build", help="output folder (default: build/)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at a time (default: cores)")
    parser.add_argument("--compare", action="store_true", help="also plan one stack at a time and compare wall times")
    args = parser.parse_args(argv)
    console = Console()
    stacks = stacks_in(args.stacks_dir)
    if not stacks:
        console.print(f"[bold red]no stack files[/bold red] (Pulumi.*.yaml) in {args.stacks_dir}")
        return 2
    results, wall = plan_all(stacks, args.stacks_dir, args.out, args.jobs)
    console.print(summary(results))
    for r in results:
        if r.status != 0:
            message = f"[bold red]{r.stack}[/bold red] failed:\n{escape(r.stderr)}"
            console.print(message, highlight=False, soft_wrap=True)
    console.print(f"{len(stacks)} stacks in {wall:.2f} s wall, {args.jobs} at a time")
    if args.compare:
        sequential, sequential_wall = plan_all(stacks, args.stacks_dir, args.out, 1)
        total = sum(r.seconds for r in sequential)
        console.print(
            f"one at a time: {sequential_wall:.2f} s wall (sum of plans {total:.2f} s); "
            f"parallel {wall:.2f} s = {wall / sequential_wall:.2f} of sequential"
        )
        results += [r for r in sequential if r.status != 0]
    return 1 if any(r.status != 0 for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
