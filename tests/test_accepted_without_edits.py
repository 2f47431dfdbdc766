"""A vendor's published policy, pasted as YAML, accepted item by item from `acceptAs`: it plans with
exit 0 and needs no edit (issue 22 item 2). IAM's `Null` operator written unquoted is a null key to
YAML; inside a Condition block, and only there, it is read as the operator."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from agent_iam import presets
from agent_iam.plan.planner import plan_stack
from agent_iam.plan.stackfile import load_stack_file
from agent_iam.stack_config import ConfigError
from agent_iam.stack_config.policy_documents import with_null_operator
from conftest import ACCOUNT, REGION

ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/5C9E2A7F41B3D8E06A1F9C4B2D7E3A18"


def published_policy() -> dict:
    """The AWS Load Balancer Controller's iam_policy.json, byte for byte as the presets keep it."""
    preset = presets.load("aws-load-balancer-controller")
    return json.loads(preset.published_text("AWSLoadBalancerControllerIAMPolicy", "aws"))


def stack_text(policy: dict, acceptances: list[dict] | None = None) -> str:
    """A stack file with the policy pasted as YAML the way a user pastes it: `Null:` unquoted."""
    entry = {
        "name": "aws-load-balancer-controller", "mode": "irsa", "cluster": "platform", "namespace": "kube-system",
        "serviceAccount": "aws-load-balancer-controller", "allowWildcardResources": True, "policy": policy,
    }
    if acceptances:
        entry["acceptedFindings"] = acceptances
    config = {
        "aws:region": REGION, "agent-iam:accountId": ACCOUNT,
        "agent-iam:guardrails": {"enforcement": "mandatory"},
        "agent-iam:clusters": {"platform": {"name": "acme-platform", "kubeContext": "platform", "oidcIssuerUrl": ISSUER}},
        "agent-iam:serviceAccounts": [entry],
    }
    text = yaml.safe_dump({"config": config}, sort_keys=False, width=200)
    return text.replace("'Null':", "Null:")  # PyYAML quotes it; a user pasting the JSON's keys does not


def test_the_load_balancer_controllers_policy_plans_as_published_accepted_from_accept_as(tmp_path):
    policy = published_policy()
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    text = stack_text(policy)
    assert re.search(r"(?m)^ +Null:$", text), "the operator is written unquoted"
    (stacks / "Pulumi.lbc.yaml").write_text(text)
    loaded = load_stack_file(stacks, "lbc")
    read = loaded.config["agent-iam:serviceAccounts"][0]["policy"]
    assert read == policy  # the document as published: `Null` read as the operator, nothing else changed
    first = plan_stack(stacks, "lbc", tmp_path / "build", use_cache=False)
    assert first.blocked
    plan = json.loads(first.files["plan.json"])
    keys = [v["acceptAs"] for v in plan["violations"]] + [f["acceptAs"] for f in plan["iamFindings"] if f.get("acceptAs")]
    assert len(keys) == 17 and all(k.get("document") == "service-account-access" and "sid" not in k for k in keys)
    acceptances = [{**key, "reason": f"reviewed against the controller's installation guide ({i})"} for i, key in enumerate(keys)]
    (stacks / "Pulumi.lbc.yaml").write_text(stack_text(policy, acceptances))
    second = plan_stack(stacks, "lbc", tmp_path / "build", use_cache=False)
    assert not second.blocked  # exit 0, the vendor's text untouched
    (inline,) = second.run.of_type("aws:iam/rolePolicy:RolePolicy")
    assert json.loads(inline.inputs["policy"])["Statement"] == policy["Statement"]


def test_a_null_key_outside_a_condition_block_stays_an_error(tmp_path):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    text = stack_text(policy)
    assert "allowWildcardResources: true\n" in text
    (tmp_path / "Pulumi.lbc.yaml").write_text(text.replace("allowWildcardResources: true\n", "Null: true\n"))
    with pytest.raises(ConfigError, match=r"Pulumi\.lbc\.yaml:\d+: agent-iam:serviceAccounts\[0\]: a key must be text, not null"):
        load_stack_file(tmp_path, "lbc")


def test_the_program_reads_the_null_key_the_pulumi_cli_passes_as_the_operator():
    """Under `pulumi up` the CLI passes a YAML null key as Go's `%v` of nil, `<nil>`; in a Condition block
    the program reads it as `Null`, so the deployed document is the planned one."""
    statement = {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
                 "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, "<nil>": {"aws:RequestTag/x": "false"}}}
    fixed = with_null_operator({"Version": "2012-10-17", "Statement": [statement]})
    assert fixed["Statement"][0]["Condition"] == {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                                                  "Null": {"aws:RequestTag/x": "false"}}
    assert with_null_operator({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "<nil>": 1}}) == {
        "Version": "2012-10-17", "Statement": {"Effect": "Allow", "<nil>": 1}}  # not a Condition block: unchanged
