"""The `agent-iam` console script: its exit codes are the process's own, --help for every command,
--quiet still shows what the config widened, and the policy pack config for any stack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT
from agent_iam.guardrails import rules
from agent_iam.guardrails.pulumi_policy_adapter import ACCEPTED_SCHEMA, CONFIG_SCHEMAS, context_of, pack_config
from agent_iam.plan.guardrails import pack_acceptances, stack_settings
from agent_iam.plan.stackfile import read_stack_file
from test_plan_all import BLOCKED, BROKEN

AGENT_IAM = Path(sys.executable).parent / "agent-iam"
# No k8s/ (no Kubernetes object) and an explicit opt-in: an advisory every plan must print.
OPT_IN = """config:
  aws:region: eu-west-1
  agent-iam:accountId: "111111111111"
  agent-iam:guardrails:
    enforcement: advisory
  agent-iam:ecsAgents:
    - name: wide
      secretArns: ["arn:aws:secretsmanager:eu-west-1:111111111111:secret:a-AbCdEf"]
      allowWildcardResources: true
      policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: ["ec2:DescribeInstances"]
            Resource: "*"
"""


@pytest.fixture
def stacks(tmp_path: Path) -> Path:
    folder = tmp_path / "stacks"
    folder.mkdir()
    (folder / "Pulumi.broken.yaml").write_text(BROKEN)
    (folder / "Pulumi.blocked.yaml").write_text(BLOCKED)
    (folder / "Pulumi.optin.yaml").write_text(OPT_IN)
    return folder


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}  # a wide terminal: panels do not wrap the text the tests look for
    return subprocess.run([str(AGENT_IAM), *args], cwd=cwd, capture_output=True, text=True, env=env)


def _main(capsys, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (`agent_iam.cli.main`), where a subprocess adds nothing: what the
    console script's exit code and streams would be (test_console_script_exit_codes_survive runs it)."""
    from agent_iam.cli import main

    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def test_console_script_exit_codes_survive(stacks, tmp_path):
    out = tmp_path / "build"
    config_error = _run("plan", "--stack", "broken", "--stacks-dir", str(stacks), "--out", str(out))
    assert config_error.returncode == 2, config_error.stderr
    assert "Pulumi.broken.yaml" in config_error.stderr and "'not-an-arn'" in config_error.stderr
    assert not (out / "broken").exists()
    blocked = _run("plan", "--stack", "blocked", "--stacks-dir", str(stacks), "--out", str(out), "--quiet")
    assert blocked.returncode == 3, blocked.stderr
    assert "plan blocked" in blocked.stderr and (out / "blocked" / "plan.json").is_file()
    clean = _run("plan", "--stack", "optin", "--stacks-dir", str(stacks), "--out", str(out))
    assert clean.returncode == 0, clean.stderr
    unknown = _run("plan", "--stack", "nope", "--stacks-dir", str(stacks), "--out", str(out))
    assert unknown.returncode == 2 and "no such stack file" in unknown.stderr
    assert _run("no-such-command").returncode == 2
    # python -m agent_iam and the old python -m agent_iam.plan are the same command.
    for module in (["-m", "agent_iam", "plan"], ["-m", "agent_iam.plan"]):
        done = subprocess.run([sys.executable, *module, "--stack", "blocked", "--stacks-dir", str(stacks),
                               "--out", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 3, (module, done.stderr)


def test_quiet_still_prints_advisories_and_violations_and_the_written_line_is_true(stacks, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # a wide terminal, as _run gives the console script
    out = tmp_path / "build"
    quiet = _main(capsys, "plan", "--stack", "optin", "--stacks-dir", str(stacks), "--out", str(out), "--quiet")
    assert quiet.returncode == 0
    text = " ".join(quiet.stdout.split())
    assert "advisory" in text and "(allowWildcardResources: true)" in text
    assert "guardrail violations" not in text  # ec2:DescribeInstances on "*" breaks no rule
    assert "agent-iam:ecs:EcsAgentRoles" not in text  # no tree
    written = next(line for line in quiet.stdout.splitlines() if line.startswith("Plan written to"))
    assert written.endswith("(access.md, plan.json, policy-pack-config.json, iam/)"), written
    assert sorted(p.name for p in (out / "optin").iterdir()) == ["access.md", "iam", "plan.json", "policy-pack-config.json"]
    blocked = _main(capsys, "plan", "--stack", "blocked", "--stacks-dir", str(stacks), "--out", str(out), "--quiet")
    text = " ".join(blocked.stdout.split())
    assert "blocking decisions (the plan fails)" in text and "[cross-account-trust-condition]" in text
    assert "(allowUnconditionedAccountTrust: true)" in text


@pytest.mark.parametrize("command", ["plan", "plan-all", "diff", "pack-config"])
def test_every_command_has_help_with_its_exit_codes(command):
    done = _run(command, "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and f"usage: agent-iam {command}" in text
    assert "exit codes: 0 " in text and "; 2 " in text and "config error" in text
    top = subprocess.run([sys.executable, "-m", "agent_iam", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert top.returncode == 0 and command in top.stdout and "4 (diff) the change widens access" in " ".join(top.stdout.split())


# --- the policy pack config, derived from the stack file --------------------------------


def _validate(config: dict) -> None:
    """The pack config as the Pulumi CLI checks it: levels, known policies, each policy's own schema."""
    levels = {"advisory", "mandatory", "remediate", "disabled"}
    assert config["all"] in levels
    for name, value in config.items():
        if name == "all":
            continue
        assert name in rules.RULE_NAMES, name
        if isinstance(value, str):
            assert value in levels
            continue
        settings = {k: v for k, v in value.items() if k != "enforcementLevel"}
        assert value.get("enforcementLevel", "mandatory") in levels
        properties = {**CONFIG_SCHEMAS.get(name, {}), "acceptedFindings": ACCEPTED_SCHEMA}  # as build_policies declares
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        jsonschema.validate(settings, schema)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_pack_config_is_derived_from_the_stack_file(stack, capsys):
    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    settings = stack_settings(stack, config, secret_keys)
    generated = pack_config(settings.guardrail_context(), pack_acceptances(settings))
    _validate(generated)
    assert generated["all"] == settings.guardrails.enforcement
    assert generated["cross-account-trust-condition"]["accountId"] == settings.account_id
    # The pack reads back exactly the stack's account, required boundaries and limits.
    context = settings.guardrail_context()
    merged = {k: v for name, value in generated.items() if isinstance(value, dict) for k, v in value.items()}
    back = context_of(merged)
    assert (back.account_id, back.limits, back.boundary_required) == (context.account_id, context.limits, context.boundary_required)
    assert back.boundary_arns == (context.boundary_arns if context.boundary_required else None)
    done = _main(capsys, "pack-config", "--stack", stack)
    assert done.returncode == 0 and json.loads(done.stdout) == generated


def test_a_new_stack_gets_its_pack_config_with_levels_and_raised_limits(tmp_path, capsys):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(ROOT / "stacks" / "Pulumi.prod.yaml", stacks / "Pulumi.eu-prod.yaml")
    text = (stacks / "Pulumi.eu-prod.yaml").read_text()
    text = text.replace(
        "  agent-iam:guardrails:\n    enforcement: mandatory\n",
        "  agent-iam:guardrails:\n    enforcement: mandatory\n    rules:\n      iam-limits: advisory\n"
        "      no-wildcard-action: disabled\n",
    ).replace("    maxSessionDuration: 3600\n", "    maxSessionDuration: 3600\n    limits:\n      trustPolicySize: 4096\n")
    (stacks / "Pulumi.eu-prod.yaml").write_text(text)
    target = tmp_path / "eu-prod.json"
    done = _main(capsys, "pack-config", "--stack", "eu-prod", "--stacks-dir", str(stacks), "--out", str(target))
    assert done.returncode == 0, done.stderr
    config = json.loads(target.read_text())
    _validate(config)
    assert config["iam-limits"] == {"enforcementLevel": "advisory", "trustPolicySize": 4096}
    assert config["no-wildcard-action"] == "disabled"
    assert "iam-role-limits" not in config  # the pack's defaults: nothing to say
    # Every plan writes the same file beside the plan.
    plan = _main(capsys, "plan", "--stack", "eu-prod", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet")
    assert plan.returncode == 0, plan.stderr
    assert json.loads((tmp_path / "build" / "eu-prod" / "policy-pack-config.json").read_text()) == config
    bad = _main(capsys, "pack-config", "--stack", "missing", "--stacks-dir", str(stacks))
    assert bad.returncode == 2 and "no such stack file" in bad.stderr and bad.stdout == ""


def test_without_the_plan_extra_the_command_says_what_to_install(monkeypatch, capsys):
    from agent_iam import cli

    def missing(args):
        raise ModuleNotFoundError("No module named 'rich'", name="rich")

    monkeypatch.setattr(cli, "cmd_plan", missing)
    assert cli.main(["plan"]) == 2
    assert "pip install 'agent-iam[plan]'" in capsys.readouterr().err


def test_the_pack_config_carries_the_stack_files_acceptances(capsys):
    stacks = ROOT / "examples" / "guardrails"
    loaded_config, secret_keys = read_stack_file(stacks, "databricks")
    settings = stack_settings("databricks", loaded_config, secret_keys)
    accepted = pack_acceptances(settings)
    assert accepted, "the example accepts guardrail findings"
    done = _main(capsys, "pack-config", "--stack", "databricks", "--stacks-dir", str(stacks))
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    _validate(config)
    for rule, items in accepted.items():
        assert config[rule]["acceptedFindings"] == items


def test_outside_a_pulumi_project_plan_is_a_usage_error(tmp_path, monkeypatch, capsys):
    """Run from a folder with no Pulumi.yaml above it: exit 2 naming the folder, not a FileNotFoundError traceback."""
    from agent_iam import cli as cli_module

    monkeypatch.setattr(cli_module, "_project_dir", lambda: tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli_module.main(["plan", "--stack", "dev", "--out", str(tmp_path / "out")]) == 2
    assert f"no Pulumi.yaml in {tmp_path}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
