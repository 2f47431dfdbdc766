"""`agent-iam plan-all`: plan every stack in `stacks/` at once, one process per core, and summarize.

Each stack is planned by its own `python -m agent_iam.plan --quiet` process (the Pulumi runtime is
per process; every commit of the project has that entry, so `agent-iam diff` plans an older commit
the same way), at most `os.cpu_count()` at a time; the summary is read from each stack's
plan.json, blocked stacks included (their plan is written). `--compare` also plans them one after
another and prints both wall times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from agent_iam.exit_codes import BLOCKED as EXIT_BLOCKED
from agent_iam.exit_codes import CONFIG_ERROR as EXIT_CONFIG
from agent_iam.exit_codes import FAILED as EXIT_FAILED
from agent_iam.exit_codes import OK as EXIT_OK
from agent_iam.forked import JUDGE_PROCESSES_ENV, SHARDS_ENV

from .diff import blocking_in
from .project import PROJECT_DIR  # not .run: this process only starts the plans, it never loads Pulumi

if TYPE_CHECKING:
    from rich.table import Table


@dataclass
class StackResult:
    stack: str
    status: int  # the plan process's exit code (agent_iam.exit_codes)
    seconds: float
    stderr: str = ""
    stdout: str = ""  # the quiet plan's advisories, violations and blocking findings
    types: Counter = field(default_factory=Counter)
    advisories: int = 0
    violations: int = 0
    blocking_violations: int = 0  # mandatory and not accepted
    findings: int = 0  # IAM validator findings
    blocking_findings: int = 0  # of which block the plan (error, critical, high; not exempted)

    @property
    def planned(self) -> bool:
        """The plan was written: clean (0) or blocked (3)."""
        return self.status in (EXIT_OK, EXIT_BLOCKED)



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


def plan_module(project: Path) -> str:
    """The module that plans one stack in `project`: `agent_iam.plan`, or `plan` in a commit from
    before the code moved into the package (same flags, same plan.json)."""
    if (project / "agent_iam" / "plan" / "__main__.py").is_file() or not (project / "plan" / "__main__.py").is_file():
        return "agent_iam.plan"
    return "plan"


def plan_one(stack: str, stacks_dir: Path, out: Path, project: Path = PROJECT_DIR,
             one_process: bool = False) -> StackResult:
    """Plan one stack in its own process, with the program and package of `project`; its time,
    exit status and plan.json summary (blocked plans are written too, so they are summarized).
    `one_process`: neither the stack's program nor its IAM validation is spread over processes (other
    stacks already use the cores); set through the environment, which older commits ignore."""
    cmd = [sys.executable, "-m", plan_module(project), "--stack", stack, "--stacks-dir", str(stacks_dir), "--out", str(out)]
    cmd.append("--quiet")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")]))}
    if one_process:
        for variable in (SHARDS_ENV, JUDGE_PROCESSES_ENV):
            if not os.environ.get(variable, "").strip():
                env[variable] = "1"
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env)
    result = StackResult(stack, done.returncode, time.perf_counter() - start, done.stderr.strip(), done.stdout.strip())
    plan_file = out / stack / "plan.json"
    if result.planned and plan_file.is_file():
        plan = orjson.loads(plan_file.read_bytes())
        result.types = Counter(short_type(r["type"]) for r in plan["resources"])
        result.advisories = len(plan.get("advisories", []))
        violations = plan.get("violations", [])
        result.violations = violations if isinstance(violations, int) else len(violations)
        result.findings = len(plan.get("iamFindings", []))
        result.blocking_violations, result.blocking_findings, _ = blocking_in(plan)
    return result


def plan_many(stacks: list[str], stacks_dir: Path, out: Path, jobs: int, project: Path = PROJECT_DIR) -> list[StackResult]:
    """Every stack, `jobs` processes at a time; the results in stack order. When the stacks alone
    fill the `jobs` slots, no stack also shards its program (that would only oversubscribe the cores)."""
    one_process = len(stacks) > 1 and jobs > 1
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # threads only wait on the processes
        return list(pool.map(lambda s: plan_one(s, stacks_dir, out, project, one_process), stacks))


def plan_all(stacks: list[str], stacks_dir: Path, out: Path, jobs: int) -> tuple[list[StackResult], float]:
    """Every stack, `jobs` processes at a time; the results in stack order and the wall time."""
    start = time.perf_counter()
    results = plan_many(stacks, stacks_dir, out, jobs)
    return results, time.perf_counter() - start


def _ratio(blocking: int, total: int) -> str:
    return f"[red]{blocking}[/red]/{total}" if blocking else f"0/{total}"


def status_text(status: int) -> str:
    if status == EXIT_OK:
        return "[green]ok[/green]"
    if status == EXIT_BLOCKED:
        return "[bold red]blocked[/bold red]"
    if status == EXIT_CONFIG:
        return "[bold red]config[/bold red]"
    return f"[bold red]exit {status}[/bold red]"


def summary(results: list[StackResult]) -> Table:
    """One row per stack: resources by type (most first, then components and providers),
    advisories, guardrail violations, IAM findings (blocking/all), time, status.

    A blocked stack's plan is written, so its row shows its contents like any other; only a
    stack that could not be planned (config error) shows `-`. The resource types share one
    wrapping column, so the table stays readable at 80 columns however many types the stacks use.
    """
    from rich.table import Table

    table = Table(
        title="agent-iam plans",
        caption="adv.: advisories (opt-ins); viol.: guardrail violations, IAM: IAM validator findings, both "
        "blocking/all (accepted and advisory ones do not block)",
    )
    table.add_column("stack", no_wrap=True)
    table.add_column("resources by type", ratio=1)
    for column in ["adv.", "viol.", "IAM", "time s"]:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for r in results:
        if not r.planned:
            table.add_row(r.stack, "-", "-", "-", "-", f"{r.seconds:.2f}", status_text(r.status))
            continue
        by_type = sorted(((n, t) for t, n in r.types.items() if t not in ("components", "providers")),
                         key=lambda item: (-item[0], item[1]))
        resources = ", ".join(f"{n} {t}" for n, t in by_type)
        resources += f"; {r.types.get('components', 0)} components, {r.types.get('providers', 0)} providers"
        table.add_row(r.stack, resources,
                      f"[red]{r.advisories}[/red]" if r.advisories else "0",
                      _ratio(r.blocking_violations, r.violations),
                      _ratio(r.blocking_findings, r.findings), f"{r.seconds:.2f}", status_text(r.status))
    return table


def exit_code(results: list[StackResult]) -> int:
    """The command's exit code: a config error (2) before a blocked plan (3); any other failure 1."""
    statuses = {r.status for r in results}
    if statuses <= {EXIT_OK}:
        return EXIT_OK
    if statuses - {EXIT_OK, EXIT_CONFIG, EXIT_BLOCKED}:
        return EXIT_FAILED
    return EXIT_CONFIG if EXIT_CONFIG in statuses else EXIT_BLOCKED
