"""Every stack file renders, and the plan's documents match the vendor guides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from agent_iam.plan.render import iam_document_files, write_plan
from agent_iam.plan.stackfile import read_stack_file

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def test_the_three_environments_exist():
    assert {"dev", "staging", "prod"} <= set(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_renders_with_documents(stack, tmp_path, planned):
    run = planned(stack)
    roles = run.of_type("aws:iam/role:Role")
    assert roles, f"{stack} creates no roles"
    target = write_plan(run, tmp_path)
    plan = json.loads((target / "plan.json").read_text())
    assert plan["stack"] == stack
    assert {r["type"] for r in plan["resources"]} >= {"pulumi:providers:aws", "aws:iam/role:Role"}
    for resource in plan["resources"]:
        assert set(resource) >= {"urn", "type", "name", "parent", "provider", "inputs"}
    for role in roles:
        trust = json.loads((target / "iam" / f"{role.inputs['name']}.trust.json").read_text())
        assert trust == json.loads(role.inputs["assumeRolePolicy"])


def test_prod_matillion_matches_the_guide_plus_the_task_roles_documented_conditions(planned):
    """Guide 002 (Matillion): task role trusted by ecs-tasks and ec2; execution role reads the two secrets."""
    run = planned("prod")
    docs = iam_document_files(run)
    account = "432109876543"
    task_trust = docs["matillion-streaming-task.trust.json"]
    assert [s["Principal"] for s in task_trust["Statement"]] == [
        {"Service": "ecs-tasks.amazonaws.com"},
        {"Service": "ec2.amazonaws.com"},
    ]
    assert all(s["Action"] == "sts:AssumeRole" and s["Effect"] == "Allow" for s in task_trust["Statement"])
    assert task_trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:eu-west-1:{account}:*"},
    }
    assert "Condition" not in task_trust["Statement"][1]  # AWS documents the EC2 trust with none
    secrets = docs["matillion-streaming-execution.agent-secrets.json"]
    read = secrets["Statement"][0]
    assert read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"] == [
        f"arn:aws:secretsmanager:eu-west-1:{account}:secret:matillion/streaming-agent-private-key-Hk3Lm9",
        f"arn:aws:secretsmanager:eu-west-1:{account}:secret:matillion/streaming-agent-source-db-Pq7Rs2",
    ]
    roles = run.of_type("aws:iam/role:Role")
    assert all(r.protect for r in roles), "prod roles are protected"
    assert all(r.inputs["permissionsBoundary"].endswith(":policy/AgentPermissionsBoundary") for r in roles)


def test_dev_superblocks_outputs_the_agent_environment(planned):
    run = planned("dev")
    env = run.outputs["ecsAgents"]["superblocks-agent"]["agentEnvironment"]
    assert env == {"SB_EXECUTION_ENV_INCLUSION_LIST": "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"}


def test_secure_values_are_redacted_in_place(tmp_path):
    stack_dir = tmp_path / "stacks"
    stack_dir.mkdir()
    (stack_dir / "Pulumi.s.yaml").write_text(
        "config:\n  agent-iam:accountId: '111111111111'\n  agent-iam:note:\n    a: {secure: v1:abc}\n"
    )
    config, secret_keys = read_stack_file(stack_dir, "s")
    assert config["agent-iam:note"] == {"a": "[secret]"}
    assert secret_keys == ["agent-iam:note"]


def _plan_cli(*args: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent_iam.plan", "--quiet", "--out", str(out), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_plan_command_writes_plan_and_documents(tmp_path):
    result = _plan_cli("--stack", "prod", out=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "prod" / "plan.json").is_file()
    assert (tmp_path / "prod" / "iam" / "matillion-streaming-execution.agent-secrets.json").is_file()


def test_plan_command_with_config_error_exits_non_zero_and_writes_nothing(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.broken.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: '111111111111'\n"
        "  agent-iam:ecsAgents:\n    - name: a\n      secretArns: [not-an-arn]\n"
    )
    out = tmp_path / "build"
    (out / "broken").mkdir(parents=True)  # a stale plan must not survive a failed one
    result = _plan_cli("--stack", "broken", "--stacks-dir", str(stacks), out=out)
    assert result.returncode == 2
    assert (
        "stacks/Pulumi.broken.yaml:6: agent-iam:ecsAgents[0].secretArns[0]: not a Secrets Manager ARN: 'not-an-arn'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (out / "broken").exists()
