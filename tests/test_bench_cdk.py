"""The CDK comparison builds CDK's roles from the plan and finds every document that differs."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest

from bench import cdk
from bench.generate import ACCOUNT, REGION, stack_config
from agent_iam.plan.render import plan_document


@pytest.fixture(scope="module")
def spec() -> dict:
    from agent_iam.plan.run import run_program

    run = run_program("bench3", stack_config(3))
    return cdk.roles_spec(json.loads(json.dumps(plan_document(run))), ACCOUNT, REGION)


def _template_like_cdk(spec: dict) -> dict:
    """What CDK writes for the spec's roles: trust without Sids, inline policies on the role, one-item lists."""
    resources = {}
    for i, role in enumerate(spec["roles"]):
        trust = copy.deepcopy(role["trust"])
        for statement in trust["Statement"]:
            statement.pop("Sid", None)
            statement["Action"] = [statement["Action"]]
        resources[f"Role{i}"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": role["name"],
                "Path": role["path"],
                "AssumeRolePolicyDocument": trust,
                "Policies": [{"PolicyName": n, "PolicyDocument": copy.deepcopy(d)} for n, d in role["inline"].items()],
                **({"ManagedPolicyArns": list(role["managed"])} if role["managed"] else {}),
            },
        }
    return {"Resources": resources}


def test_the_spec_holds_every_role_with_its_documents(spec):
    roles = {r["name"]: r for r in spec["roles"]}
    assert len(roles) == 4 * 3  # task, execution, service account and vendor role per unit
    execution = roles["agent-00000-execution"]
    assert execution["trust"]["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert execution["managed"] == ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    assert execution["inline"]["agent-secrets"]["Statement"][0]["Action"] == "secretsmanager:GetSecretValue"
    assert roles["sa-00001"]["trust"]["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_equal_documents_match_and_conventions_are_named(spec):
    result = cdk.compare(spec, _template_like_cdk(spec))
    assert result["mismatch_count"] == 0, result["mismatches"]
    assert result["same_statements"] == result["documents"] == sum(2 + len(r["inline"]) for r in spec["roles"])
    assert result["conventions"]


def _props(template: dict, spec: dict, has: str) -> dict:
    """The CDK properties of the first role that has inline (`inline`) or managed (`managed`) policies."""
    index = next(i for i, r in enumerate(spec["roles"]) if r[has])
    return template["Resources"][f"Role{index}"]["Properties"]


CHANGES = {
    "trust condition dropped": lambda t, s: t["Resources"]["Role0"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"][0].update(Condition={}),
    "inline policy widened": lambda t, s: _props(t, s, "inline")["Policies"][0]["PolicyDocument"]["Statement"][
        0].update(Resource="*"),
    "managed policy missing": lambda t, s: _props(t, s, "managed").update(ManagedPolicyArns=[]),
    "role missing": lambda t, s: t["Resources"].pop("Role2"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_difference_in_meaning_is_a_mismatch(spec, change):
    template = _template_like_cdk(spec)
    CHANGES[change](template, spec)
    assert cdk.compare(spec, template)["mismatch_count"] == 1


@pytest.mark.skipif(shutil.which("node") is None or not (cdk.HERE.parent.parent / "build" / "cdk-bench" /
                    "node_modules").is_dir(), reason="make bench installs CDK into build/cdk-bench")
def test_cdks_synth_of_the_spec_matches_the_plan(spec, tmp_path):
    folder = cdk.HERE.parent.parent / "build" / "cdk-bench"
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run(["node", str(folder / "app.js"), str(tmp_path / "spec.json"), str(tmp_path / "out")], check=True)
    result = cdk.compare(spec, cdk.template_of(tmp_path / "out", spec))
    assert result["mismatch_count"] == 0, result["mismatches"]
