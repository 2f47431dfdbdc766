"""The two sides of `agent-iam diff`: saved plan folders, or plans made from a git ref and the working tree.

A git ref is planned from its own files (its program, its `agent_iam` package, its stack files),
extracted with `git archive` into a temporary folder: the repository, its index and its working
tree are never touched. Each stack is planned by `plan-all`'s single-stack step, in its own process.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam.exit_codes import CONFIG_ERROR
from agent_iam.stack_config import ConfigError

from .all import plan_many, stacks_in


@dataclass
class Side:
    """One side of the diff: stack -> plan.json (None: the side has no such stack), and per-stack errors."""

    label: str
    plans: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def read_plan_folder(folder: Path, label: str | None = None) -> Side:
    """Plans saved by `agent-iam plan`: a `build/` folder of `<stack>/plan.json`, or one stack's folder."""
    side = Side(label or str(folder))
    if not folder.is_dir():
        raise ConfigError([f"{folder}: no such plan folder"])
    files = [folder / "plan.json"] if (folder / "plan.json").is_file() else sorted(folder.glob("*/plan.json"))
    if not files:
        raise ConfigError([f"{folder}: no plan.json in it or in its sub-folders (write plans with `agent-iam plan --out {folder}`)"])
    for path in files:
        try:
            plan = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError([f"{path}: not a plan.json ({exc})"]) from None
        if not isinstance(plan, dict) or "resources" not in plan:
            raise ConfigError([f"{path}: not a plan.json (no resources)"])
        side.plans[str(plan.get("stack") or path.parent.name)] = plan
    return side


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=project, capture_output=True)


def extract_ref(project: Path, ref: str, dest: Path) -> tuple[Path, str]:
    """The project as it is at `ref`, extracted under `dest`: (its project folder, the commit)."""
    top = _git(project, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise ConfigError([f"--base {ref}: not a plan folder, and {project} is not in a git repository"])
    commit = _git(project, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise ConfigError([f"--base {ref}: neither a plan folder nor a git ref of {project} (git rev-parse found no commit)"])
    sha = commit.stdout.decode().strip()
    prefix = _git(project, "rev-parse", "--show-prefix").stdout.decode().strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, *([prefix] if prefix else [])],
        cwd=top.stdout.decode().strip(),
        capture_output=True,
    )
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise ConfigError([f"--base {ref}: git archive of {sha[:12]} failed: {message}"])
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    tree = dest / prefix
    if not (tree / "Pulumi.yaml").is_file():
        raise ConfigError([f"--base {ref}: commit {sha[:12]} has no Pulumi.yaml at {prefix or 'the repository root'}"])
    return tree, sha


def plan_tree(project: Path, stacks: list[str], out: Path, label: str, jobs: int) -> Side:
    """Plan `stacks` of the project at `project` (its own program and package) into `out`."""
    side = Side(label)
    stacks_dir = project / "stacks"
    if out.is_dir():  # plans of stacks this diff does not compare are not left to pass for part of it
        for entry in out.iterdir():
            if entry.name.startswith(".") or entry.name in stacks:
                continue
            if entry.is_symlink():  # the link goes, never what it points at (outside the output folder)
                entry.unlink()
            elif entry.is_dir():
                shutil.rmtree(entry)
    present = set(stacks_in(stacks_dir))
    wanted = [s for s in stacks if s in present]
    for stack in stacks:
        if stack not in present:
            side.plans[stack] = None
    for result in plan_many(wanted, stacks_dir, out, jobs, project=project):
        plan_file = out / result.stack / "plan.json"
        if result.status in (0, 3) and plan_file.is_file():
            side.plans[result.stack] = json.loads(plan_file.read_text())
        else:
            side.plans[result.stack] = None
            side.errors[result.stack] = result.stderr.strip() or f"exit {result.status}"
            if result.status != CONFIG_ERROR:
                raise RuntimeError(f"{label}: planning stack {result.stack} failed (exit {result.status}):\n{result.stderr}")
    return side


def both_sides(project: Path, base: str, head: Path | None, only: list[str] | None, out: Path, jobs: int) -> tuple[Side, Side, list[str]]:
    """The base (a plan folder, else a git ref of `project` planned from its own files into
    `out/base/`) and the head (a plan folder, else the working tree planned into `out/head/`),
    both planned at once, for the stacks either side has (or `only` those); and the stacks."""
    with tempfile.TemporaryDirectory(prefix="agent-iam-diff-") as tmp:
        head_saved = read_plan_folder(head, f"plans in {head}") if head else None
        base_saved = read_plan_folder(Path(base), f"plans in {base}") if Path(base).is_dir() else None
        base_tree, base_label = None, base
        if base_saved is None:
            base_tree, commit = extract_ref(project, base, Path(tmp))
            base_label = f"{base} ({commit[:12]})"
        stacks = sorted(
            set(stacks_in(project / "stacks") if head_saved is None else head_saved.plans)
            | set(stacks_in(base_tree / "stacks") if base_tree is not None else base_saved.plans if base_saved else [])
        )
        if only:
            unknown = sorted(set(only) - set(stacks))
            if unknown:
                raise ConfigError([f"--stack {', '.join(unknown)}: no such stack on either side (stacks: {', '.join(stacks)})"])
            stacks = sorted(set(only))
        with ThreadPoolExecutor(max_workers=2) as pool:
            base_job = pool.submit(plan_tree, base_tree, stacks, out / "base", base_label, jobs) if base_tree else None
            head_job = pool.submit(plan_tree, project, stacks, out / "head", "working tree", jobs) if not head_saved else None
            base_side = base_job.result() if base_job else base_saved
            head_side = head_job.result() if head_job else head_saved
    assert base_side is not None and head_side is not None
    for side in (base_side, head_side):
        side.plans = {s: side.plans.get(s) for s in stacks}
    return base_side, head_side, stacks
