"""The access report says exactly what the documents say: every principal, condition and action."""

from __future__ import annotations

import json

import pytest

from conftest import config_with, plan_stack_file
from agent_iam.plan.access import (
    access_model,
    condition_phrases,
    finding_group_line,
    grants_of,
    group_findings,
    render_access_report,
    trust_sentence,
)
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
    assert "| List | Allow | ec2 | `DescribeInstances` | `*` **(every resource)** |" in report


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


def _rows(document):
    return [(g.level, g.service, g.actions, g.resources) for g in grants_of(document, "inline policy `p`")]


def test_every_row_says_its_access_level_and_changes_come_first():
    """Datadog-like statement: writes on "*" next to describes; the writes must not read like reads."""
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ec2:DescribeInstances", "sns:Publish", "logs:PutSubscriptionFilter", "iam:PutRolePolicy",
                           "s3:PutObjectTagging", "s3:GetObject"],
                "Resource": "*",
            }
        ]
    }
    rows = _rows(document)
    levels = {(service, actions): level for level, service, actions, _ in rows}
    assert levels == {
        ("ec2", ("DescribeInstances",)): "List",
        ("sns", ("Publish",)): "Write",
        ("logs", ("PutSubscriptionFilter",)): "Write",
        ("iam", ("PutRolePolicy",)): "Permissions management",
        ("s3", ("PutObjectTagging",)): "Tagging",
        ("s3", ("GetObject",)): "Read",
    }
    from agent_iam.plan.access import RoleAccess, render_access_report as render

    role = RoleAccess(arn="arn:aws:iam::111111111111:role/r", name="r", grants=grants_of(document, "inline policy `p`"))
    role.grants.sort(key=lambda g: (g.effect != "Allow", g.rank, g.service, g.source))
    table = [line for line in render("t", [role]).splitlines() if line.startswith("| ") and "Allow" in line]
    assert [line.split(" | ")[0].strip("| *") for line in table] == [
        "Permissions management", "Write", "Write", "Tagging", "Read", "List"
    ]


def test_a_pattern_is_split_by_the_levels_it_matches():
    rows = _rows({"Statement": [{"Effect": "Allow", "Action": "s3:*Object", "Resource": "arn:aws:s3:::b/*"}]})
    from agent_iam.iam import actions
    from agent_iam.plan.access import LEVEL_ORDER

    levels = [level for level, *_ in rows]
    expected = {actions.access_level(a) for a in actions.expand("s3:*Object")}
    assert {"Write", "Read"} <= expected and levels == sorted(expected, key=LEVEL_ORDER.index)
    assert all(actions == ("*Object",) for _, _, actions, _ in rows)
    from agent_iam.plan.access import _actions_cell

    write = next(g for g in grants_of({"Statement": [{"Effect": "Allow", "Action": "s3:*Object", "Resource": "*"}]}, "x")
                 if g.level == "Write")
    assert "`*Object` (" in _actions_cell(write) and "Write action" in _actions_cell(write)


def test_resources_are_listed_under_their_own_service():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "dynamodb:GetItem", "sts:AssumeRole"],
                "Resource": ["arn:aws:s3:::bucket/*", "arn:aws:dynamodb:eu-west-1:111111111111:table/t",
                             "arn:aws:iam::111111111111:role/next"],
            }
        ]
    }
    by_service = {service: resources for _, service, _, resources in _rows(document)}
    assert by_service["s3"] == ("arn:aws:s3:::bucket/*", "arn:aws:iam::111111111111:role/next")
    assert by_service["dynamodb"] == ("arn:aws:dynamodb:eu-west-1:111111111111:table/t", "arn:aws:iam::111111111111:role/next")
    assert "arn:aws:s3:::bucket/*" not in by_service["sts"] and "arn:aws:iam::111111111111:role/next" in by_service["sts"]


@pytest.mark.parametrize(
    "resource, every",
    [
        ("*", True),
        ("arn:aws:s3:::*/*", True),
        ("arn:aws:dynamodb:*:*:table/*", True),
        ("arn:aws:secretsmanager:eu-west-1:111111111111:secret:*", True),
        ("arn:aws:s3:::bucket/*", False),
        ("arn:aws:dynamodb:eu-west-1:111111111111:table/orders", False),
    ],
)
def test_every_resource_is_judged_by_meaning(resource, every):
    from agent_iam.plan.access import RoleAccess
    from agent_iam.plan.access import render_access_report as render

    service = resource.split(":")[2] if resource != "*" else "s3"
    action = {"s3": "s3:GetObject", "dynamodb": "dynamodb:GetItem", "secretsmanager": "secretsmanager:GetSecretValue"}[service]
    grants = grants_of({"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}, "x")
    report = render("t", [RoleAccess(arn="arn:aws:iam::1:role/r", name="r", grants=grants)])
    assert (f"`{resource}` **(every resource)**" in report) is every


def test_identical_findings_are_grouped_with_a_count():
    finding = {"severity": "medium", "check": "action_condition_enforcement", "action": "s3:GetObject",
               "message": "Actions `s3:GetObject` require at least ONE of these conditions", "statement": "Read"}
    findings = [
        {**finding, "document": f"inline policy 'p' of role 'r{i}'"} for i in range(5)
    ] + [{"severity": "high", "check": "sensitive_action", "action": "s3:DeleteObject", "document": "d",
          "message": "Sensitive action 's3:DeleteObject' should have conditions"}]
    groups = group_findings(findings)
    assert [(g.severity, g.count, g.blocking) for g in groups] == [("high", 1, True), ("medium", 5, False)]
    line = finding_group_line(groups[1])
    assert line.startswith("[medium action_condition_enforcement] Actions `s3:GetObject` require") and "5 documents:" in line
    assert "and 2 more" in line
    report = render_access_report("t", [], [], findings)
    assert "| **high (blocks the plan)** | sensitive_action |" in report
    assert report.count("Actions `s3:GetObject` require") == 1 and "| 5 |" in report
