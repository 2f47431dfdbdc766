"""`python -m agent_iam.plan.all`: every stack planned in its own process, summarized, failures make it fail."""

from __future__ import annotations

import shutil

from rich.console import Console

from conftest import ROOT
from agent_iam.plan.all import main, plan_all, stacks_in, summary

BROKEN = (
    "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: '111111111111'\n"
    "  agent-iam:ecsAgents:\n    - name: a\n      secretArns: [not-an-arn]\n"
)


def test_every_stack_is_planned_and_summarized(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", stacks)
    (stacks / "Pulumi.broken.yaml").write_text(BROKEN)
    assert stacks_in(stacks) == ["broken", "dev"]

    results, wall = plan_all(stacks_in(stacks), stacks, tmp_path / "build", jobs=2)

    broken, dev = results
    assert broken.status == 2 and "not a Secrets Manager ARN" in broken.stderr
    assert dev.status == 0 and (tmp_path / "build" / "dev" / "plan.json").is_file()
    assert (dev.types["Role"], dev.types["components"], dev.types["providers"], dev.types["ServiceAccount"]) == (6, 5, 2, 1)
    assert dev.violations == 0 and dev.seconds > 0 and wall > 0
    wide = Console(width=200, record=True)
    wide.print(summary(results))
    assert "6 Role, 4 Attachment, 4 RolePolicy, 1 InstanceProfile" in wide.export_text()  # most first
    narrow = Console(width=80, record=True)  # a plain terminal: the type list wraps, no column is cut
    narrow.print(summary(results))
    lines = narrow.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("status" in line for line in lines) and any("exit 2" in line for line in lines)


def test_a_failed_stack_fails_the_command(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.broken.yaml").write_text(BROKEN)
    assert main(["--stacks-dir", str(stacks), "--out", str(tmp_path / "build")]) == 1
    assert main(["--stacks-dir", str(tmp_path / "none"), "--out", str(tmp_path / "build")]) == 2
