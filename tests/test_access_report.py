"""The access report says exactly what the documents say: every principal, condition and action."""

from __future__ import annotations

import json

import pytest

from conftest import config_with, plan_stack_file
from agent_iam.plan.access import access_model, condition_phrases, render_access_report, trust_sentence
from test_stacks import STACKS


def _actions(statement):
    actions = statement.get("Action")
    return actions if isinstance(actions, list) else [actions]


@pytest.mark.parametrize("stack", STACKS)
def test_report_covers_every_trust_statement_and_every_action(stack):
    run = plan_stack_file(stack)
    report = render_access_report(stack, access_model(run.resources))
    roles = run.of_type("aws:iam/role:Role")
    assert f"{len(roles)} roles." in report
    for role in roles:
        section = report.split(f"## `{role.inputs['name']}`", 1)[1].split("\n## ", 1)[0]
        assert role.outputs["arn"] in section
        for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
            for values in statement["Principal"].values():
                for value in values if isinstance(values, list) else [values]:
                    if not value.endswith(":root"):
                        assert value in section, (role.name, value)
            for pairs in statement.get("Condition", {}).values():
                for key, value in pairs.items():
                    assert f"`{key}`" in section
                    for v in value if isinstance(value, list) else [value]:
                        assert v in section or v == "[secret]" and "the configured secret value" in section
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy") + run.of_type("aws:iam/policy:Policy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            for action in _actions(statement):
                assert action.split(":", 1)[1] in report, action
    assert "```mermaid\nflowchart LR" in report


def test_prod_upsolver_sentence_keeps_the_external_id_secret():
    run = plan_stack_file("prod")
    report = render_access_report("prod", access_model(run.resources))
    assert (
        "- the role `arn:aws:iam::949275490180:role/upsolver-org-acme-prod-2b6d9e41` (account 949275490180) "
        "can call `sts:AssumeRole` when `sts:ExternalId` equals the configured secret value."
    ) in report
    assert "Permissions boundary `arn:aws:iam::432109876543:policy/AgentPermissionsBoundary`" in report


def test_grants_group_actions_by_service_and_follow_managed_policies():
    run = plan_stack_file("dev")
    model = {role.name: role for role in access_model(run.resources)}
    upsolver = model["upsolver-connection"]
    writes = [g for g in upsolver.grants if "PutObject" in g.actions]
    assert [(g.service, g.actions, g.resources) for g in writes] == [
        ("s3", ("AbortMultipartUpload", "DeleteObject", "PutObject"), ("arn:aws:s3:::acme-dev-datalake/upsolver/*",))
    ]
    assert {g.source for g in upsolver.grants} == {"managed policy `upsolver-connection-vendor-access`"}
    execution = model["superblocks-agent-execution"]
    assert execution.aws_managed == ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]


def test_wildcard_resources_and_unconditioned_trust_are_spelled_out(plan_stack):
    run = plan_stack(
        config_with(
            saasRoles=[
                {
                    "name": "open-vendor",
                    "vendor": {"accountId": "222222222222"},
                    "allowUnconditionedAccountTrust": True,
                    "allowWildcardResources": True,
                    "policy": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
                    },
                }
            ]
        )
    )
    report = render_access_report("test", access_model(run.resources))
    assert "any principal of account 222222222222 that its IAM policies allow can call `sts:AssumeRole` with NO condition." in report
    assert "| Allow | ec2 | DescribeInstances | `*` **(every resource)** |" in report


def test_condition_and_oidc_phrasing():
    assert condition_phrases({"StringLike": {"k": ["a", "b"]}}) == ["`k` matches one of `a`, `b`"]
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                "oidc.eks.eu-west-1.amazonaws.com/id/AB:sub": "system:serviceaccount:causely:causely-mediator",
                "oidc.eks.eu-west-1.amazonaws.com/id/AB:aud": "sts.amazonaws.com",
            }
        },
    }
    sentence = trust_sentence("arn:aws:iam::111111111111:role/r", statement, "111111111111")
    assert sentence.startswith(
        "pods running as the Kubernetes service account `causely/causely-mediator`, with tokens from the identity "
        "provider `arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB`, "
        "can call `sts:AssumeRoleWithWebIdentity` when"
    )
