"""A plan is the same in every process: no part of it may follow Python's string hash seed.

Set and dict-of-set orders of strings change with PYTHONHASHSEED from one process to the next;
the IAM validator's sensitive-action finding once listed its actions in such an order, so a CI
job on a fresh clone (empty content caches) wrote a different plan each time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

STACKS = [("examples/guardrails", "databricks"), ("examples/guardrails", "karpenter"), ("stacks", "prod")]


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(folder).parts
    }


# One process per hash seed plans every stack, each into a fresh folder (no content cache: every
# document validated again), with the command's own entry point: the plans of a seed share its
# process, and a plan that followed the seed would still differ between the two processes.
PLAN_EVERY_STACK = """
import sys
from agent_iam.plan.__main__ import main
out = sys.argv[1]
for stacks_dir, stack in zip(sys.argv[2::2], sys.argv[3::2]):
    code = main(["--stack", stack, "--stacks-dir", stacks_dir, "--quiet", "--no-cache", "--out", f"{out}/{stack}"])
    if code != 0:
        sys.exit(f"{stack}: exit {code}")
"""


@pytest.fixture(scope="module")
def planned_per_seed(tmp_path_factory) -> dict[str, Path]:
    folders = {}
    for seed in ("1", "2"):
        out = tmp_path_factory.mktemp(f"seed{seed}")
        args = [str(part) for stacks_dir, stack in STACKS for part in (ROOT / stacks_dir, stack)]
        done = subprocess.run([sys.executable, "-c", PLAN_EVERY_STACK, str(out), *args], cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        folders[seed] = out
    return folders


@pytest.mark.parametrize("stacks_dir,stack", STACKS)
def test_plans_with_empty_caches_are_byte_identical_whatever_the_hash_seed(stacks_dir, stack, planned_per_seed):
    from agent_iam import patches

    if not patches.checked(patches.VALIDATOR):  # make test-min: the validator below the release pinned for plans
        pytest.skip(f"iam-policy-validator {patches.installed_version(patches.VALIDATOR)} is not a release "
                    "agent_iam/patches.py was checked against: its findings list actions in hash-seed order")
    written = [_files(planned_per_seed[seed] / stack / stack) for seed in ("1", "2")]
    assert written[0], f"{stack}: nothing was planned"
    assert written[0].keys() == written[1].keys()
    different = [name for name in written[0] if written[0][name] != written[1][name]]
    assert not different, f"{stack}: {different} differ between hash seeds 1 and 2"
