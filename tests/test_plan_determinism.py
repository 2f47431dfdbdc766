"""A plan is the same in every process: no part of it may follow Python's string hash seed.

Set and dict-of-set orders of strings change with PYTHONHASHSEED from one process to the next;
the IAM validator's sensitive-action finding once listed its actions in such an order, so a CI
job on a fresh clone (empty content caches) wrote a different plan each time.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

STACKS = [("examples/guardrails", "databricks"), ("examples/guardrails", "karpenter"), ("stacks", "prod")]


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".cache" not in p.relative_to(folder).parts
    }


@pytest.mark.parametrize("stacks_dir,stack", STACKS)
def test_plans_with_empty_caches_are_byte_identical_whatever_the_hash_seed(stacks_dir, stack, tmp_path):
    written = []
    for seed in ("1", "2"):
        out = tmp_path / seed  # a fresh folder: no content cache, every document validated again
        cmd = [sys.executable, "-m", "agent_iam.plan", "--stack", stack, "--stacks-dir", str(ROOT / stacks_dir),
               "--quiet", "--no-cache", "--out", str(out)]
        done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        written.append(_files(out))
    assert written[0].keys() == written[1].keys()
    different = [name for name in written[0] if written[0][name] != written[1][name]]
    assert not different, f"{stack}: {different} differ between hash seeds 1 and 2"
