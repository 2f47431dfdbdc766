"""The small gaps of issue 22 item 8: an entry's `description`, a cluster's `region` (the Pod Identity
association in that region, without an assumed-role account), `agent-iam --version`, no 80-column
wrapping when stdout is not a terminal, and docs that never point outside the repository."""

from __future__ import annotations

import json
import re
import subprocess
from importlib.metadata import version

import pytest
import yaml

from agent_iam.cli import main
from conftest import ACCOUNT, ROOT, assert_config_error, config_with, provider_name

PROVIDER = "pulumi:providers:aws"
ROLE = "aws:iam/role:Role"


def test_an_entry_sets_its_roles_description(plan_stack):
    run = plan_stack(config_with(
        saasRoles=[{"name": "vendor", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/v"}, "externalId": "ext-1",
                    "description": "Vendor X reads the exports (ticket SEC-12)"}],
        ecsAgents=[{"name": "agent", "description": "The agent's own access"}],
    ))
    described = {r.inputs["name"]: r.inputs["description"] for r in run.of_type(ROLE)}
    assert described == {
        "vendor": "Vendor X reads the exports (ticket SEC-12)",
        "agent-task": "The agent's own access",
        "agent-execution": "ECS task execution role of agent agent (agent-iam)",  # the execution role keeps agent-iam's
    }
    assert_config_error(
        {"saasRoles": [{"name": "vendor", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/v"}, "externalId": "ext-1",
                        "description": "x" * 1001}]},
        "agent-iam:saasRoles[0].description: role 'vendor':",
    )


def test_a_clusters_region_places_its_pod_identity_association_there(plan_stack):
    clusters = {"west": {"name": "acme-west", "region": "us-west-2", "kubeContext": "west"},
                "home": {"name": "acme-home", "region": "eu-west-1", "kubeContext": "home"}}
    entries = [{"name": name, "mode": "pod-identity", "cluster": name, "namespace": "app", "serviceAccount": name}
               for name in ("west", "home")]
    run = plan_stack(config_with(clusters=clusters, serviceAccounts=entries))
    providers = {r.name: r.inputs for r in run.of_type(PROVIDER)}
    assert providers["aws-us-west-2"]["region"] == "us-west-2"
    assert json.loads(providers["aws-us-west-2"]["allowedAccountIds"]) == [ACCOUNT]
    assert "assumeRoles" not in providers["aws-us-west-2"]  # the account's own credentials, no accounts entry
    assert sorted(providers) == ["aws", "aws-us-west-2"]  # the stack's own region needs none
    associations = {r.name: provider_name(r) for r in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert associations == {"west-association": "aws-us-west-2", "home-association": "aws"}
    assert_config_error({"clusters": {"west": {**clusters["west"], "region": "cn-north-1"}}},
                        "agent-iam:clusters.west.region: region cn-north-1 is in partition 'aws-cn'")


def test_version_prints_the_installed_distributions_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"agent-iam {version('agent-iam')}\n"


def test_output_is_not_wrapped_at_80_columns_when_stdout_is_not_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = config_with(ecsAgents=[{"name": "agent", "secretArns": ["*"], "allowAllSecrets": True}])
    (stacks / "Pulumi.wide.yaml").write_text(yaml.safe_dump({"config": config}))
    code = main(["plan", "--stack", "wide", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--no-cache"])
    out = capsys.readouterr().out
    assert code in (0, 3)  # planned (the wide read may block a mandatory stack)
    advisory = "agent-iam: agent-iam:ecsAgents[0] (agent): the execution role 'agent-execution' may read EVERY secret in account"
    (line,) = [text for text in out.splitlines() if advisory in text]  # the whole advisory on one line
    assert len(line) > 80 and line.rstrip().endswith("│")


def test_no_document_of_the_repository_points_outside_it():
    found = subprocess.run(["git", "grep", "-n", r"\.\./shared", "--", ".", ":!tests/test_small_gaps.py"],
                           cwd=ROOT, capture_output=True, text=True)
    assert found.stdout == ""


def test_the_worked_example_pointers_of_the_oidc_page_lead_somewhere():
    """Every stack file the OIDC page points at has oidcRoles, every entry it names is one of them, and every
    relative link leads to a file or a heading."""
    text = (ROOT / "docs" / "oidc-roles.md").read_text()
    examples = text[text.index("## Worked examples"):]
    stacks = set(re.findall(r"stacks/Pulumi\.([\w.-]+)\.yaml", examples))
    assert stacks, "the worked examples point at a stack file"
    entries = {}
    for stack in stacks:
        config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
        entries[stack] = {e["name"] for e in config.get("agent-iam:oidcRoles", [])}
        assert entries[stack], f"stacks/Pulumi.{stack}.yaml has no oidcRoles"
    named = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)` \(", examples.split("\n\n", 2)[1]))
    assert named and named <= set().union(*entries.values()), named
    for stack, role in re.findall(r"build/([\w.-]+)/iam/([\w.-]+)\.trust\.json", examples):
        assert role in entries[stack], (stack, role)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"(?m)^#+ (.+)$", text)}
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith("http"):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (ROOT / "docs" / path).resolve().is_file(), target
        if anchor and not path:
            assert anchor in anchors, target
