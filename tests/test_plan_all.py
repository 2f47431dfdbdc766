"""`agent-iam plan-all`: every stack planned in its own process and summarized, blocked stacks
included; the command's exit code tells a config error (2) from a blocked plan (3)."""

from __future__ import annotations

import shutil

from rich.console import Console

from conftest import ROOT
from agent_iam.cli import main
from agent_iam.plan.all import exit_code, plan_all, stacks_in, summary

BROKEN = (
    "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: '111111111111'\n"
    "  agent-iam:ecsAgents:\n    - name: a\n      secretArns: [not-an-arn]\n"
)
# Mandatory guardrails (the default): an unconditioned cross-account trust and S3 writes on "*" block it.
BLOCKED = """config:
  aws:region: eu-west-1
  agent-iam:accountId: "111111111111"
  agent-iam:saasRoles:
    - name: open-vendor
      vendor:
        accountId: "222222222222"
      allowUnconditionedAccountTrust: true
      allowWildcardResources: true
      policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: ["ec2:DescribeInstances", "s3:PutObject"]
            Resource: "*"
"""


def test_every_stack_is_planned_and_summarized(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", stacks)
    (stacks / "Pulumi.broken.yaml").write_text(BROKEN)
    (stacks / "Pulumi.blocked.yaml").write_text(BLOCKED)
    assert stacks_in(stacks) == ["blocked", "broken", "dev"]

    results, wall = plan_all(stacks_in(stacks), stacks, tmp_path / "build", jobs=2)

    blocked, broken, dev = results
    assert broken.status == 2 and "not a Secrets Manager ARN" in broken.stderr and not broken.planned
    assert dev.status == 0 and (tmp_path / "build" / "dev" / "plan.json").is_file()
    assert (dev.types["Role"], dev.types["components"], dev.types["providers"], dev.types["ServiceAccount"]) == (6, 5, 2, 1)
    assert dev.violations == 2 and dev.seconds > 0 and wall > 0  # both accepted in the stack file
    assert dev.findings > 0 and dev.blocking_findings == 0  # dev's medium findings are advisories
    # A blocked plan is written, so its row shows what it holds, not dashes.
    assert blocked.status == 3 and blocked.planned
    assert (blocked.types["Role"], blocked.types["RolePolicy"], blocked.advisories, blocked.violations) == (1, 1, 2, 2)
    assert blocked.blocking_findings >= 1 and blocked.findings >= blocked.blocking_findings
    wide = Console(width=200, record=True)
    wide.print(summary(results))
    text = wide.export_text()
    assert "6 Role, 4 Attachment, 4 RolePolicy, 1 InstanceProfile" in text  # most first
    blocked_row = next(line for line in text.splitlines() if line.startswith("│ blocked"))
    assert "1 Role, 1 RolePolicy" in blocked_row and "blocked" in blocked_row.split("│")[-2]
    assert f"{blocked.blocking_findings}/{blocked.findings}" in blocked_row and "2/2" in blocked_row
    assert dev.blocking_violations == 0 and blocked.blocking_violations == 2
    broken_row = next(line for line in text.splitlines() if line.startswith("│ broken"))
    assert "config" in broken_row.split("│")[-2]
    narrow = Console(width=80, record=True)  # a plain terminal: the type list wraps, no column is cut
    narrow.print(summary(results))
    lines = narrow.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("status" in line for line in lines) and any("IAM" in line for line in lines)
    assert exit_code(results) == 2  # a config error outranks a blocked plan
    assert exit_code([blocked, dev]) == 3 and exit_code([dev]) == 0


def test_exit_codes_tell_a_config_error_from_a_blocked_stack(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.broken.yaml").write_text(BROKEN)
    assert main(["plan-all", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build")]) == 2
    (stacks / "Pulumi.broken.yaml").unlink()
    (stacks / "Pulumi.blocked.yaml").write_text(BLOCKED)
    assert main(["plan-all", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build")]) == 3
    out = capsys.readouterr().out
    assert "blocked is blocked" in out and "cross-account-trust-condition" in out
    assert main(["plan-all", "--stacks-dir", str(tmp_path / "none"), "--out", str(tmp_path / "build")]) == 2


def test_several_stacks_at_once_are_each_planned_in_one_process(tmp_path, monkeypatch):
    """plan-all already fills the cores with stacks: no stack also shards its program (the cores
    would only be oversubscribed); one stack alone keeps the default, and a user's setting wins."""
    import subprocess

    from agent_iam.plan import all as plan_all_module
    from agent_iam.guardrails.iam_validation import PROCESSES_ENV
    from agent_iam.forked import JUDGE_PROCESSES_ENV, SHARDS_ENV

    assert JUDGE_PROCESSES_ENV == PROCESSES_ENV
    seen: dict[str, str | None] = {}
    judged: dict[str, str | None] = {}

    def fake_run(cmd, **kwargs):
        seen[cmd[cmd.index("--stack") + 1]] = kwargs["env"].get(SHARDS_ENV)
        judged[cmd[cmd.index("--stack") + 1]] = kwargs["env"].get(JUDGE_PROCESSES_ENV)
        return subprocess.CompletedProcess(cmd, 2, "", "")

    monkeypatch.setattr(plan_all_module.subprocess, "run", fake_run)
    monkeypatch.delenv(SHARDS_ENV, raising=False)
    monkeypatch.delenv(JUDGE_PROCESSES_ENV, raising=False)
    plan_all_module.plan_many(["a", "b"], tmp_path, tmp_path / "out", jobs=2)
    assert seen == {"a": "1", "b": "1"} and judged == {"a": "1", "b": "1"}
    seen.clear()
    plan_all_module.plan_many(["big"], tmp_path, tmp_path / "out", jobs=2)
    assert seen == {"big": None}
    seen.clear()
    monkeypatch.setenv(SHARDS_ENV, "3")
    plan_all_module.plan_many(["a", "b"], tmp_path, tmp_path / "out", jobs=2)
    assert seen == {"a": "3", "b": "3"}
