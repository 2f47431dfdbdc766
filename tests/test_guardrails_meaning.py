"""Guardrails that cannot be sidestepped: each bypass of the issue, planned from a stack file.

Every case ends blocked (exit 3, the plan written with the violation or finding naming the
entry's resource) or refused (exit 2, a config error naming the key), and the reviewed way out,
`acceptedFindings`, works only on the one statement it names.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from conftest import ROOT
from test_guardrails_plan import plan

VENDOR = "222222222222"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def agent(statement: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "a", "allowWildcardResources": True, "policy": doc(statement), **extra}


def rules_hit(written: dict[str, Any], blocking_only: bool = True) -> set[tuple[str, str | None]]:
    return {
        (v["rule"], v.get("sid"))
        for v in written["violations"]
        if not (blocking_only and (v.get("accepted") or v["level"] != "mandatory"))
    }


def blocking_findings(written: dict[str, Any]) -> set[tuple[str, Any]]:
    return {
        (f["check"], f["statement"])
        for f in written["iamFindings"]
        if f["severity"] in ("error", "critical", "high") and not f.get("exemption")
    }


# --- wildcards and sensitive actions by meaning ----------------------------------------

SPELLINGS = [
    ("iam:PassRole", "arn:aws:iam::*:role*"),
    ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret*"),
    ("kms:Decrypt", "arn:aws:kms:*:*:*/*"),
    ("s3:PutBucketNotification", "arn:aws:s3:::*"),
    ("s3:PutEncryptionConfiguration", "arn:aws:s3:::*"),
    ("s3:PutBucketVersioning", "arn:aws:s3:::*"),
    ("s3:DeleteObjectTagging", "arn:aws:s3:::*/*"),
]


@pytest.mark.parametrize("action, resource", SPELLINGS)
def test_sensitive_action_on_every_resource_is_refused_then_blocked(tmp_path, capsys, iam_services, action, resource):
    statement = {"Sid": "Wide", "Effect": "Allow", "Action": action, "Resource": resource}
    code, _, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[{"name": "a", "policy": doc(statement)}])
    assert code == 2
    assert "agent-iam:ecsAgents[0].policy.Statement[0].Resource: " in err
    assert f"'{resource}' covers every resource of its kind" in err
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[agent(statement)])
    assert code == 3, err
    assert ("sensitive-actions-scoped", "Wide") in rules_hit(written)
    [violation] = [v for v in written["violations"] if v["rule"] == "sensitive-actions-scoped"]
    assert violation["resourceName"] == "a-task-agent-permissions" and action in violation["message"]


def test_reads_on_every_object_need_the_opt_in(tmp_path, capsys, iam_services):
    statement = {"Sid": "ReadAll", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}
    code, _, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[{"name": "a", "policy": doc(statement)}])
    assert code == 2 and "'arn:aws:s3:::*/*' covers every resource of its kind" in err
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[agent(statement)])
    assert code == 0, err  # a read: the opt-in is the review
    assert rules_hit(written, blocking_only=False) == set()


def test_borrowing_agent_iams_sid_does_not_borrow_its_exception(tmp_path, capsys, iam_services):
    statement = {"Sid": "WriteObjects", "Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::*-*/*"}
    code, _, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[{"name": "a", "policy": doc(statement)}])
    assert code == 2 and "'arn:aws:s3:::*-*/*' covers every resource of its kind" in err
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[agent(statement)])
    assert code == 3
    assert ("sensitive-actions-scoped", "WriteObjects") in rules_hit(written)
    assert ("sensitive_action", "WriteObjects") in blocking_findings(written)


# --- managed policies and boundaries --------------------------------------------------


def test_admin_managed_policy_on_an_ecs_agent_is_blocked_until_accepted(tmp_path, capsys, iam_services):
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[{"name": "a", "taskRolePolicyArns": [admin]}])
    assert code == 3
    [violation] = [v for v in written["violations"] if v["rule"] == "managed-policy-privileges"]
    assert violation["message"].startswith("role 'a-task' attaches AWS managed policy AdministratorAccess, which grants full")
    assert violation["sid"] == "AdministratorAccess" and violation["role"] == "a-task"
    escalations = [f for f in written["iamFindings"] if f["check"] == "privilege-escalation"]
    assert len(escalations) == 59 and all(f["statement"] == "AdministratorAccess" for f in escalations)
    # the grant itself, judged as if written inline: every action (no-wildcard-action), on every resource
    # (sensitive-actions-scoped), each named by the policy as a whole
    wide = {(v["rule"], v["document"]) for v in written["violations"] if v["rule"] != "managed-policy-privileges"}
    assert wide == {("sensitive-actions-scoped", "AdministratorAccess"), ("no-wildcard-action", "AdministratorAccess")}
    accepted = [
        {"check": "managed-policy-privileges", "sid": "AdministratorAccess", "reason": "break-glass agent, SEC-9 reviewed"},
        {"check": "privilege-escalation", "sid": "AdministratorAccess", "reason": "break-glass agent, SEC-9 reviewed"},
        {"check": "credentials-exposure", "sid": "AdministratorAccess", "reason": "break-glass agent, SEC-9 reviewed"},
        {"check": "sensitive-actions-scoped", "document": "AdministratorAccess", "reason": "break-glass agent, SEC-9 reviewed"},
        {"check": "no-wildcard-action", "document": "AdministratorAccess", "reason": "break-glass agent, SEC-9 reviewed"},
    ]
    entry = {"name": "a", "taskRolePolicyArns": [admin], "acceptedFindings": accepted}
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[entry])
    assert code == 0, err
    assert {(r["check"], r.get("sid") or r["document"]) for r in written["acceptedFindings"]} == {
        (a["check"], a.get("sid") or a["document"]) for a in accepted}
    access = (tmp_path / "build" / "prod" / "access.md").read_text()
    assert "## Accepted findings" in access and "break-glass agent, SEC-9 reviewed" in access


def test_iam_full_access_on_a_vendor_role_is_blocked(tmp_path, capsys, iam_services):
    vendor = {
        "name": "v",
        "vendor": {"principalArn": f"arn:aws:iam::{VENDOR}:role/vendor"},
        "externalId": "acme-4f8b2c1d",
        "policyArns": ["arn:aws:iam::aws:policy/IAMFullAccess"],
    }
    code, written, _, err = plan(tmp_path, "prod", capsys, saasRoles=[vendor])
    assert code == 3
    [violation] = [v for v in written["violations"] if v["rule"] == "managed-policy-privileges"]
    assert "attaches AWS managed policy IAMFullAccess, which grants IAM write on every resource" in violation["message"]
    assert len([f for f in written["iamFindings"] if f["check"] == "privilege-escalation"]) == 19


def test_unknown_aws_managed_policy_is_a_config_error_with_a_suggestion(tmp_path, capsys):
    entry = {"name": "a", "taskRolePolicyArns": ["arn:aws:iam::aws:policy/ViewOnlyAccess"]}
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[entry])
    assert code == 2 and written == {}
    assert "agent-iam:ecsAgents[0].taskRolePolicyArns[0]: 'arn:aws:iam::aws:policy/ViewOnlyAccess' is not an AWS " in err
    assert "did you mean 'arn:aws:iam::aws:policy/job-function/ViewOnlyAccess'?" in err


def test_a_boundary_override_must_be_listed_and_never_admin(tmp_path, capsys, iam_services):
    default = "arn:aws:iam::111111111111:policy/Boundary"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    defaults = {"permissionsBoundaryArn": default}
    code, written, _, err = plan(tmp_path, "prod", capsys, defaults=defaults,
                                 ecsAgents=[{"name": "a", "permissionsBoundaryArn": admin}])
    assert code == 3
    messages = [v["message"] for v in written["violations"] if v["rule"] == "permissions-boundary"]
    assert any("an administrator policy" in m for m in messages)
    assert any("list it in agent-iam:guardrails.permissionsBoundaries" in m for m in messages)


def test_ssm_instance_core_reads_every_parameter_and_the_access_report_says_so(tmp_path, capsys, iam_services):
    """`ssm: true` attaches AWS's instance policy, whose reads of every parameter are judged as the same
    statement written inline: blocked until the entry accepts the policy as a whole."""
    code, written, _, err = plan(tmp_path, "prod", capsys, ec2Agents=[{"name": "e", "ssm": True}])
    assert code == 3, err
    [violation] = written["violations"]
    assert violation["message"].startswith(
        "role 'e': AWS managed policy 'AmazonSSMManagedInstanceCore' allows ssm:GetParameter, ssm:GetParameters")
    assert violation["acceptAs"] == {"check": "sensitive-actions-scoped", "document": "AmazonSSMManagedInstanceCore"}
    access = (tmp_path / "build" / "prod" / "access.md").read_text()
    line = next(x for x in access.splitlines() if "AmazonSSMManagedInstanceCore` (statement" in x)
    assert "credential reads on every resource of a kind: ssm:GetParameter, ssm:GetParameters" in line
    accepted = [{**violation["acceptAs"], "reason": "Session Manager instead of SSH, reviewed SEC-31"}]
    code, written, _, err = plan(tmp_path, "prod", capsys, ec2Agents=[{"name": "e", "ssm": True, "acceptedFindings": accepted}])
    assert code == 0, err


# --- acceptances --------------------------------------------------------------------------

WIDE = {"Sid": "PassAny", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role*"}


def test_an_acceptance_that_matches_nothing_is_a_config_error(tmp_path, capsys, iam_services):
    accepted = [{"check": "sensitive-actions-scoped", "sid": "NoSuchStatement", "reason": "left over from last year"}]
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[agent(WIDE, acceptedFindings=accepted)])
    assert code == 2 and written == {}
    text = " ".join(err.split())
    assert ("Pulumi.prod.yaml:5: agent-iam:ecsAgents[0].acceptedFindings[0]: accepts {check: sensitive-actions-scoped, "
            "sid: NoSuchStatement}, but no such finding is on this entry's roles; did you mean "
            "{check: sensitive-actions-scoped, role: task, sid: PassAny}?") in text


def test_an_acceptance_covers_its_statement_only(tmp_path, capsys, iam_services):
    other = {"Sid": "ReadAllSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    accepted = [{"check": "sensitive-actions-scoped", "sid": "PassAny", "reason": "legacy deployer, SEC-12 reviewed"}]
    entry = {"name": "a", "allowWildcardResources": True, "policy": doc(WIDE, other), "acceptedFindings": accepted}
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[entry])
    assert code == 3
    assert rules_hit(written) == {("sensitive-actions-scoped", "ReadAllSecrets")}
    [accepted_violation] = [v for v in written["violations"] if v.get("accepted")]
    assert accepted_violation["sid"] == "PassAny" and accepted_violation["accepted"] == "legacy deployer, SEC-12 reviewed"
    [row] = written["acceptedFindings"]
    assert row["entry"] == "agent-iam:ecsAgents[0]" and row["actions"] == ["iam:PassRole"]
    assert row["resources"] == ["arn:aws:iam::*:role*"]


def test_an_acceptance_of_another_entry_does_not_cover_this_one(tmp_path, capsys, iam_services):
    accepted = [{"check": "sensitive-actions-scoped", "sid": "PassAny", "reason": "legacy deployer, SEC-12 reviewed"}]
    agents = [agent(WIDE), {**agent(WIDE, acceptedFindings=accepted), "name": "b"}]
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=agents)
    assert code == 3
    blocking = [v for v in written["violations"] if not v.get("accepted")]
    assert [v["role"] for v in blocking] == ["a-task"]


def test_a_stack_that_takes_no_exceptions_refuses_acceptances(tmp_path, capsys):
    accepted = [{"check": "sensitive-actions-scoped", "sid": "PassAny", "reason": "legacy deployer, SEC-12 reviewed"}]
    code, _, _, err = plan(tmp_path, "prod", capsys, guardrails={"allowAcceptedFindings": False},
                           ecsAgents=[agent(WIDE, acceptedFindings=accepted)])
    assert code == 2
    assert "agent-iam:ecsAgents[0].acceptedFindings: this stack takes no exceptions" in " ".join(err.split())


@pytest.mark.parametrize(
    "accepted, expected",
    [
        ({"check": "sensitive-actions-scoped", "sid": "PassAny", "reason": "short"}, "say why the finding is accepted"),
        ({"check": "sensitive-actions-scoped", "statement": 2, "reason": "legacy deployer, SEC-12"},
         "acceptedFindings[0]: a statement number needs the document it is in"),
        ({"check": "sensitive-actions-scoped", "document": "a", "statement": 0, "reason": "legacy deployer, SEC-12"},
         "acceptedFindings[0].statement"),
        ({"check": "sensitive-actions-scoped", "sid": "PassAny", "statement": 1, "reason": "legacy deployer, SEC-12"},
         "name the statement once"),
    ],
)
def test_acceptances_are_well_formed(tmp_path, capsys, accepted, expected):
    code, _, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[agent(WIDE, acceptedFindings=[accepted])])
    assert code == 2 and expected in err


# --- trust by meaning -------------------------------------------------------------------------


def test_short_principal_patterns_are_blocked_unless_accepted(tmp_path, capsys, iam_services):
    vendor = {
        "name": "v",
        "vendor": {"accountId": VENDOR, "principalArnPatterns": [f"arn:aws:iam::{VENDOR}:role/*-*",
                                                                  f"arn:aws:iam::{VENDOR}:user/*a"]},
        "s3Read": ["acme-reports"],
    }
    code, written, _, err = plan(tmp_path, "prod", capsys, saasRoles=[vendor])
    assert code == 3
    assert rules_hit(written) == {
        ("principal-pattern-specific", "VendorAssumeRolePattern1"),
        ("principal-pattern-specific", "VendorAssumeRolePattern2"),
    }
    accepted = [
        {"check": "principal-pattern-specific", "sid": f"VendorAssumeRolePattern{i}", "reason": "vendor names roles randomly"}
        for i in (1, 2)
    ]
    code, written, _, err = plan(tmp_path, "prod", capsys, saasRoles=[{**vendor, "acceptedFindings": accepted}])
    assert code == 0, err


def test_session_tag_conditions_off_prints_an_advisory(tmp_path, capsys):
    from agent_iam.plan.guardrails import stack_settings

    config = {
        "aws:region": "eu-west-1",
        "agent-iam:accountId": "111111111111",
        "agent-iam:clusters": {"c": {"name": "c"}},
        "agent-iam:serviceAccounts": [
            {"name": "p", "mode": "pod-identity", "cluster": "c", "namespace": "n", "serviceAccount": "s",
             "sessionTagConditions": False}
        ],
    }
    [unit] = stack_settings("prod", config).units()
    [advisory] = unit.advisory_texts()  # said by the component as it registers
    assert "trusts EVERY Pod Identity association in account 111111111111" in advisory
    assert "(sessionTagConditions: false)" in advisory


# --- the worked examples ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["databricks", "karpenter"])
def test_vendor_policies_plan_once_their_exceptions_are_written_and_not_before(tmp_path, capsys, iam_services, stack):
    from agent_iam.plan.__main__ import main

    source = ROOT / "examples" / "guardrails" / f"Pulumi.{stack}.yaml"
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    shutil.copy(source, stacks / source.name)
    assert main(["--stack", stack, "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"]) == 0
    written = json.loads((tmp_path / "build" / stack / "plan.json").read_text())
    accepted = written["acceptedFindings"]
    assert accepted and all(row["reason"] and row["actions"] for row in accepted)
    # without the acceptances the same policy is blocked
    text = source.read_text()
    (stacks / source.name).write_text(text[: text.index("      # Reviewed exceptions")])
    capsys.readouterr()
    assert main(["--stack", stack, "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"]) == 3
    blocked = json.loads((tmp_path / "build" / stack / "plan.json").read_text())
    assert blocked["acceptedFindings"] == []
    if stack == "databricks":  # the launch-template rewrite the issue names, found by the peer scanner
        assert any("ModifyExistingEC2LaunchTemplate" in f["message"] for f in blocked["iamFindings"])


def test_the_pack_config_carries_the_stack_files_acceptances_and_gives_the_plans_verdict():
    from agent_iam.guardrails import pulumi_policy_adapter as adapter
    from agent_iam.guardrails import rules
    from agent_iam.plan.guardrails import pack_acceptances, resource_views, stack_settings
    from agent_iam.plan.run import run_program

    accepted = [
        {"check": "sensitive-actions-scoped", "sid": "PassAny", "reason": "legacy deployer, SEC-12 reviewed"},
        {"check": "sensitive_action", "sid": "PassAny", "reason": "validator checks stay the plan's own"},
    ]
    config = {"aws:region": "eu-west-1", "agent-iam:accountId": "111111111111",
              "agent-iam:ecsAgents": [agent(WIDE, acceptedFindings=accepted)]}
    settings = stack_settings("prod", config)
    pack = pack_acceptances(settings)
    assert pack == {"sensitive-actions-scoped": [
        {"sid": "PassAny", "role": "a-task", "account": "111111111111", "reason": "legacy deployer, SEC-12 reviewed"},
        {"sid": "PassAny", "role": "a-execution", "account": "111111111111", "reason": "legacy deployer, SEC-12 reviewed"},
    ]}
    views = resource_views(run_program("prod", config), settings.account_id)
    context = adapter.context_of({})
    found = rules.evaluate_stack("sensitive-actions-scoped", views, context)
    assert found and all(
        v.accepted
        for v in rules.accept(found, adapter.acceptances_of("sensitive-actions-scoped",
                                                            {"acceptedFindings": pack["sensitive-actions-scoped"]}))
    )


def test_violations_and_findings_name_the_entry_they_come_from(tmp_path, capsys, iam_services):
    entry = {"name": "a", "taskRolePolicyArns": ["arn:aws:iam::aws:policy/IAMFullAccess"]}
    code, written, out, _ = plan(tmp_path, "prod", capsys, ecsAgents=[{"name": "ok"}, entry])
    assert code == 3
    [violation] = [v for v in written["violations"] if v["rule"] == "managed-policy-privileges"]
    assert violation["entry"] == "agent-iam:ecsAgents[1]"
    assert {f["entry"] for f in written["iamFindings"] if f["check"] == "privilege-escalation"} == {"agent-iam:ecsAgents[1]"}
    shown = " ".join(out.replace("│", " ").split())
    assert "agent-iam:ecsAgents[1] (a): 4 decision(s) block the plan" in shown  # + its IAM write on every resource
    assert "• [managed-policy-privileges] AWS managed policy 'IAMFullAccess' of role 'a-task'" in shown
    assert "accept: - {check: managed-policy-privileges, role: task, document: IAMFullAccess, reason:" in shown
    assert "narrower: attach IAMReadOnlyAccess instead" in shown
