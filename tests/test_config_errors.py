"""Bad config gets one clear error naming the stack file and the key, before any resource exists."""

from __future__ import annotations

import pytest

from agent_iam import stack_config
from conftest import ACCOUNT, REGION, config_with
from agent_iam.plan.run import run_program
from agent_iam.stack_config import ConfigError

SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:agent-AbCdEf"
FILE = "stacks/Pulumi.prod.yaml"


def doc(statement):
    return {"Version": "2012-10-17", "Statement": [statement]}


CASES = {
    "malformed secret ARN": (
        {"ecsAgents": [{"name": "a", "secretArns": [SECRET, "arn:aws:s3:::bucket"]}]},
        "agent-iam:ecsAgents[0].secretArns[1]: not a Secrets Manager ARN: 'arn:aws:s3:::bucket'",
    ),
    "unknown entry key, with a hint": (
        {"ecsAgents": [{"name": "a", "secretArn": [SECRET]}]},
        "agent-iam:ecsAgents[0].secretArn: unknown key; did you mean 'secretArns'?",
    ),
    "unknown top-level key": (
        {"ecsAgent": []},
        "agent-iam:ecsAgent: unknown key; did you mean 'ecsAgents'?",
    ),
    "wildcard secret without opt-in": (
        {"ecsAgents": [{"name": "a", "secretArns": ["*"]}]},
        "agent-iam:ecsAgents[0].secretArns[0]: '*' lets the agent read every secret",
    ),
    "wildcard mixed with ARNs": (
        {"ecsAgents": [{"name": "a", "secretArns": ["*", SECRET], "allowAllSecrets": True}]},
        "agent-iam:ecsAgents[0].secretArns: '*' already covers every secret",
    ),
    "opt-in without wildcard": (
        {"ecsAgents": [{"name": "a", "secretArns": [SECRET], "allowAllSecrets": True}]},
        "agent-iam:ecsAgents[0].allowAllSecrets: is true but secretArns does not contain '*'",
    ),
    "secret ARN matching every secret": (
        {"ecsAgents": [{"name": "a", "secretArns": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"]}]},
        "agent-iam:ecsAgents[0].secretArns[0]: a secret ARN must name a secret",
    ),
    "derived role name over 64 characters": (
        {"ecsAgents": [{"name": "a" * 60}]},
        "agent-iam:ecsAgents[0].name: the derived role name",
    ),
    "explicit role name over 64 characters": (
        {"ecsAgents": [{"name": "a", "taskRoleName": "r" * 65}]},
        "agent-iam:ecsAgents[0].taskRoleName: IAM role names are at most 64 characters",
    ),
    "bad characters in a name": (
        {"ecsAgents": [{"name": "a b"}]},
        "agent-iam:ecsAgents[0].name: not a valid name",
    ),
    "bad IAM path": (
        {"defaults": {"path": "agents"}},
        "agent-iam:defaults.path: not a valid IAM path",
    ),
    "malformed KMS key ARN": (
        {"ecsAgents": [{"name": "a", "kmsKeyArns": [f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/agent"]}]},
        "agent-iam:ecsAgents[0].kmsKeyArns[0]: not a KMS key ARN",
    ),
    "malformed boundary ARN": (
        {"defaults": {"permissionsBoundaryArn": "Boundary"}},
        "agent-iam:defaults.permissionsBoundaryArn: not an IAM managed policy ARN: 'Boundary'",
    ),
    "session duration out of range": (
        {"defaults": {"maxSessionDuration": 60}},
        "agent-iam:defaults.maxSessionDuration: Input should be greater than or equal to 3600 (got 60)",
    ),
    "duplicate entry name": (
        {"ecsAgents": [{"name": "a"}, {"name": "a"}]},
        "agent-iam:ecsAgents[1].name: another entry is already named 'a'",
    ),
    "duplicate physical role name": (
        {"ecsAgents": [{"name": "a", "taskRoleName": "x"}, {"name": "b", "executionRoleName": "x"}]},
        "agent-iam:ecsAgents[1]: role name 'x' is already used by agent-iam:ecsAgents[0]",
    ),
    "unknown account": (
        {"ecsAgents": [{"name": "a", "account": "data"}]},
        "agent-iam:ecsAgents[0].account: unknown account 'data'",
    ),
    "identity policy with a principal": (
        {"ecsAgents": [{"name": "a", "policy": doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                     "Resource": "arn:aws:s3:::b/*"})}]},
        "agent-iam:ecsAgents[0].policy.Statement[0]: an identity policy takes no Principal",
    ),
    "Resource * without opt-in": (
        {"ecsAgents": [{"name": "a", "policy": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})}]},
        "agent-iam:ecsAgents[0].policy.Statement[0].Resource: '*' covers every resource of its kind",
    ),
    "Action *": (
        {"ecsAgents": [{"name": "a", "policy": doc({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"})}]},
        'agent-iam:ecsAgents[0].policy.Statement[0].Action: Action "*" grants every AWS action',
    ),
    "Allow with NotAction": (
        {"ecsAgents": [{"name": "a", "policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"})}]},
        "agent-iam:ecsAgents[0].policy.Statement[0]: Allow with NotAction or NotResource",
    ),
    "unknown statement key": (
        {"ecsAgents": [{"name": "a", "policy": doc({"Effect": "Allow", "Actions": "s3:GetObject", "Resource": "arn:aws:s3:::b"})}]},
        "agent-iam:ecsAgents[0].policy.Statement[0].Actions: unknown key; did you mean 'Action'?",
    ),
    "trust policy over the account's quota": (
        {"defaults": {"limits": {"trustPolicySize": 100}}, "ecsAgents": [{"name": "a"}]},
        "agent-iam:ecsAgents[0]: task role 'a-task': trust policy is 293 characters, over the 100 IAM allows",
    ),
    "too many managed policies": (
        {"ecsAgents": [{"name": "a", "taskRolePolicyArns": [f"arn:aws:iam::{ACCOUNT}:policy/p{i}" for i in range(11)]}]},
        "agent-iam:ecsAgents[0]: task role 'a-task': 11 managed policies attached, over the 10 IAM allows",
    ),
    "entry that is not a mapping": (
        {"ecsAgents": ["matillion"]},
        "agent-iam:ecsAgents[0]: must be a mapping of keys to values (got text)",
    ),
    "a list where text belongs names the value": (
        {"oidcRoles": [{"name": ["x"], "provider": "github", "subjects": ["repo:a/b:ref:refs/heads/main"]}]},
        "agent-iam:oidcRoles[0].name: must be text, not a list (got ['x'])",
    ),
    "a list where a number belongs names the value": (
        {"ec2Agents": [{"name": "a", "maxSessionDuration": [3600]}]},
        "agent-iam:ec2Agents[0].maxSessionDuration: Input should be a valid integer (got a list: [3600])",
    ),
    "a quoted 'no' is text, not false": (
        {"ecsAgents": [{"name": "a", "confusedDeputyConditions": "no"}]},
        "agent-iam:ecsAgents[0].confusedDeputyConditions: must be true or false (got 'no')",
    ),
    "a number is not a flag": (
        {"ec2Agents": [{"name": "a", "ssm": 1}]},
        "agent-iam:ec2Agents[0].ssm: must be true or false (got 1)",
    ),
    "account ID that is not 12 digits": (
        {"accountId": "1234"},
        "agent-iam:accountId: not a 12-digit AWS account ID: '1234'",
    ),
    "unknown guardrail rule, with a hint": (
        {"guardrails": {"rules": {"no-wildcard-actions": "advisory"}}},
        "agent-iam:guardrails.rules.no-wildcard-actions: unknown rule; did you mean 'no-wildcard-action'? "
        "(rules: no-wildcard-principal, trust-statement-shape,",
    ),
    "unknown guardrail enforcement": (
        {"guardrails": {"enforcement": "strict"}},
        "agent-iam:guardrails.enforcement: Input should be 'advisory' or 'mandatory' (got 'strict')",
    ),
    "unknown guardrail rule level": (
        {"guardrails": {"rules": {"iam-limits": "off"}}},
        "agent-iam:guardrails.rules.iam-limits: Input should be 'advisory', 'mandatory' or 'disabled' (got 'off')",
    ),
    "unknown guardrails key": (
        {"guardrails": {"enforce": "advisory"}},
        "agent-iam:guardrails.enforce: unknown key; did you mean 'enforcement'? (allowed: enforcement, rules, permissionsBoundaries, allowAcceptedFindings)",
    ),
}


@pytest.mark.parametrize("values, expected", CASES.values(), ids=CASES.keys())
def test_bad_config_names_file_and_key(values, expected):
    config = {"accountId": ACCOUNT, **values}
    with pytest.raises(ConfigError) as caught:
        stack_config.load_settings(config, stack="prod", region=REGION)
    assert f"{FILE}: {expected}" in str(caught.value), str(caught.value)


def test_missing_region_and_account_are_both_reported():
    with pytest.raises(ConfigError) as caught:
        stack_config.load_settings({}, stack="prod", region=None)
    assert caught.value.lines == [
        f"{FILE}: aws:region: required, but not set (e.g. `pulumi config set aws:region us-east-1`)",
        f"{FILE}: agent-iam:accountId: required, but not set",
    ]


def test_config_error_is_a_clean_pulumi_error():
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)  # `pulumi up` prints the message, no traceback


def test_a_config_error_registers_no_resources():
    config = config_with(ecsAgents=[{"name": "ok"}, {"name": "bad", "secretArns": ["nope"]}])
    with pytest.raises(ConfigError) as caught:
        run_program("prod", config)
    assert caught.value.registered_resources == []
    assert "agent-iam:ecsAgents[1].secretArns[0]: not a Secrets Manager ARN: 'nope'" in str(caught.value)


def test_raised_limits_are_honoured():
    settings = stack_config.load_settings(
        {"accountId": ACCOUNT, "defaults": {"limits": {"managedPoliciesPerRole": 20}},
         "ecsAgents": [{"name": "a", "taskRolePolicyArns": [f"arn:aws:iam::{ACCOUNT}:policy/p{i}" for i in range(11)]}]},
        stack="prod",
        region=REGION,
    )
    assert len(settings.ecs_agents[0].args["task_role_policy_arns"]) == 11
