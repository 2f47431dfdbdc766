"""Policies attached by ARN, honestly (issue 22 item 4): another account's policy is a config error at
its line (IAM refuses it at `pulumi up`); an own-account customer managed policy gets an advisory that
the plan cannot see its content, and the access report never calls it AWS managed."""

from __future__ import annotations

import pytest

from agent_iam import ArgsError, EcsAgentRoles
from agent_iam.plan.access import access_model, render_access_report
from conftest import ACCOUNT, assert_config_error, config_with, run_components

VENDOR = {"name": "vendor", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/vendor"}, "externalId": "ext-123"}
OWN_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/ReadOnlyAccess"  # a customer managed policy named like AWS's


@pytest.mark.parametrize(
    ("family", "entry", "key"),
    [
        ("saasRoles", {**VENDOR, "policyArns": ["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::222222222222:policy/SomeoneElsesPolicy"]},
         "saasRoles[0].policyArns[1]"),
        ("ecsAgents", {"name": "agent", "taskRolePolicyArns": ["arn:aws:iam::222222222222:policy/SomeoneElsesPolicy"]},
         "ecsAgents[0].taskRolePolicyArns[0]"),
        ("oidcRoles", {"name": "ci", "provider": "github", "repository": "acme/app", "branches": ["main"],
                       "policyArns": ["arn:aws:iam::222222222222:policy/SomeoneElsesPolicy"]}, "oidcRoles[0].policyArns[0]"),
    ],
)
def test_another_accounts_policy_is_a_config_error_at_its_key(family, entry, key):
    assert_config_error(
        {family: [entry]},
        f"agent-iam:{key}: 'arn:aws:iam::222222222222:policy/SomeoneElsesPolicy' is a policy of account 222222222222, "
        f"and the",
    )


def test_a_program_gets_the_same_refusal_before_anything_registers():
    args = {"account_id": ACCOUNT, "region": "eu-west-1", "task_role_policy_arns": ["arn:aws:iam::222222222222:policy/P"]}
    with pytest.raises(ArgsError, match=r"args.task_role_policy_arns\[0\]: 'arn:aws:iam::222222222222:policy/P' is a policy of account") as caught:
        run_components(lambda: EcsAgentRoles("agent", args))
    assert caught.value.registered_resources == []


def test_an_own_account_policy_gets_an_advisory_and_is_never_called_aws_managed(plan_stack):
    run = plan_stack(config_with(saasRoles=[{**VENDOR, "policyArns": [OWN_POLICY, "arn:aws:iam::aws:policy/SecurityAudit"]}]))
    (advisory,) = [w for w in run.warnings if OWN_POLICY in w]
    assert advisory == (
        f"agent-iam: agent-iam:saasRoles[0] (vendor): the role 'vendor' is attached the customer managed policy {OWN_POLICY}, "
        "whose content the plan cannot see (this stack does not create it): review what it grants in the account, or give "
        "its statements as a policy document"
    )
    report = render_access_report("test", access_model(run.resources))
    assert f"- customer managed policy `{OWN_POLICY}` (content not known to the plan)" in report
    assert f"AWS managed policy `{OWN_POLICY}`" not in report and "ReadOnlyAccess (customer managed policy)" in report
    assert "| AWS managed policy `SecurityAudit` |" in report  # its grants, read from AWS's document
