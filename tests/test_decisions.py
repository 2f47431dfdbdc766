"""Findings as decisions: each blocking finding carries the acceptance that names its place (acceptAs),
the output is grouped per entry, check and place, and acceptances are keyed to the role's identity."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ACCOUNT, REGION
from agent_iam.guardrails.acceptance import Key, Place, RoleKey, accept_as, flow
from agent_iam.plan.__main__ import main

DATA = Path(__file__).parent / "data"
# AWS Load Balancer Controller's IAM policy as published (kubernetes-sigs/aws-load-balancer-controller,
# docs/install/iam_policy.json, last changed 2025-03-27): 16 statements, none with a Sid.
LBC_POLICY = json.loads((DATA / "aws-load-balancer-controller-iam-policy.json").read_text())
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
OTHER = "222222222222"
REASON = "reviewed by the platform team, SEC-77"


@pytest.fixture(autouse=True)
def wide_output(monkeypatch):
    """Long lines unwrapped, so the printed acceptance reads back as one line."""
    monkeypatch.setenv("COLUMNS", "300")


def write(folder: Path, stack: str, **keys: Any) -> Path:
    config = {"aws:region": REGION, "agent-iam:accountId": ACCOUNT}
    config.update({f"agent-iam:{k}": v for k, v in keys.items()})
    (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return folder


def plan(folder: Path, stack: str, capsys, *extra: str, **keys: Any) -> tuple[int, dict[str, Any], str, str]:
    stacks = write(folder, stack, **keys)
    code = main(["--stack", stack, "--stacks-dir", str(stacks), "--out", str(folder / "build"), "--no-cache", *extra])
    out = capsys.readouterr()
    plan_file = folder / "build" / stack / "plan.json"
    return code, json.loads(plan_file.read_text()) if plan_file.exists() else {}, out.out, out.err


def shown(text: str) -> str:
    """Printed text with rich's panel borders and line wrapping undone."""
    return " ".join(text.replace("│", " ").split())


def keys_of(written: dict[str, Any], entry: str) -> list[dict[str, Any]]:
    """The distinct acceptAs of an entry's blocking violations and findings, in plan.json order."""
    blocking = [v for v in written["violations"] if v["level"] == "mandatory" and not v.get("accepted")]
    blocking += [f for f in written["iamFindings"] if f["severity"] in ("critical", "high") and not f.get("exemption")]
    found = {json.dumps(item["acceptAs"], sort_keys=True): item["acceptAs"] for item in blocking if item.get("entry") == entry}
    return list(found.values())


# --- the key: one shape per kind of place --------------------------------------------------------

ROLE_A = RoleKey(ACCOUNT, "a")


def test_a_key_names_one_place_by_sid_number_statements_or_whole_document():
    no_sid = Place(ROLE_A, "vendor", (4,), (None,))
    assert accept_as("sensitive-actions-scoped", no_sid).to_dict() == {
        "check": "sensitive-actions-scoped", "document": "vendor", "statement": 4}
    with_sid = Place(ROLE_A, "vendor", (2,), ("Pass",))
    assert accept_as("c", with_sid).to_dict() == {"check": "c", "sid": "Pass"}
    assert accept_as("c", with_sid, sid_unique=False).to_dict() == {"check": "c", "document": "vendor", "sid": "Pass"}
    across = Place(ROLE_A, "vendor", (2, 5), ("Pass", None), primary=2)
    assert accept_as("c", across, role="task").to_dict() == {"check": "c", "role": "task", "document": "vendor",
                                                           "statements": ["Pass", 5]}
    managed = Place(ROLE_A, "ReadOnlyAccess", (1,), ("Sid1",), whole=True)
    assert accept_as("c", managed).to_dict() == {"check": "c", "document": "ReadOnlyAccess"}
    assert accept_as("c", Place(ROLE_A)).to_dict() == {"check": "c"}

    assert Key("c", document="vendor", statement=4).matches("c", no_sid)
    assert not Key("c", document="vendor", statement=3).matches("c", no_sid)
    assert not Key("c", document="other", statement=4).matches("c", no_sid)
    assert not Key("d", document="vendor", statement=4).matches("c", no_sid)
    assert not Key("c", document="vendor").matches("c", no_sid)  # a whole document only where there is one
    # a finding across statements: named by Sid or number, every statement once, in any order
    assert Key("c", document="vendor", statements=(5, "Pass")).matches("c", across)
    assert Key("c", document="vendor", statements=(2, 5)).matches("c", across)
    assert not Key("c", document="vendor", statements=(2, 6)).matches("c", across)
    assert not Key("c", document="vendor", statements=(2, 5, 7)).matches("c", across)
    assert Key("c", sid="Pass").matches("c", across)  # the older shape: the statement it was on
    # an AWS managed policy as a whole, also by the older `sid: <policy name>`
    assert Key("c", document="ReadOnlyAccess").matches("c", managed)
    assert Key("c", sid="ReadOnlyAccess").matches("c", managed)
    assert not Key("c", document="ReadOnlyAccess", statement=1).matches("c", managed)
    # the role, by its kind in the entry or its name
    assert Key("c", role="task", sid="Pass").matches("c", with_sid, "task")
    assert Key("c", role="a", sid="Pass").matches("c", with_sid, "task")
    assert not Key("c", role="execution", sid="Pass").matches("c", with_sid, "task")


def test_a_key_is_one_line_of_yaml_that_reads_back_as_itself():
    key = Key("sensitive-actions-scoped", "task", "my policy: v2", None, None, ("Pass", 5, "true", "7"))
    text = flow({**key.to_dict(), "reason": "<why, reviewed by whom>"})
    assert text == ('{check: sensitive-actions-scoped, role: task, document: "my policy: v2", '
                    'statements: [Pass, 5, "true", "7"], reason: "<why, reviewed by whom>"}')
    assert yaml.safe_load(text) == {**key.to_dict(), "reason": "<why, reviewed by whom>"}


@pytest.mark.parametrize(
    "item, problem",
    [
        ({"check": "c", "statement": 2}, "a statement number needs the document it is in"),
        ({"check": "c", "sid": "S", "document": "d", "statement": 2}, "name the statement once"),
        ({"check": "c", "document": "d", "statement": 1, "statements": [2, 3]}, "statement (one) or statements"),
        ({"check": "c", "document": "d", "statements": [2]}, "for one, use statement or sid"),
        ({"check": "c", "document": "d", "statements": [2, 2]}, "each statement once"),
        ({"check": "c", "document": "d", "statements": [0, 2]}, "numbered from 1"),
    ],
)
def test_a_key_that_does_not_name_one_place_is_refused(item, problem):
    assert problem in (Key.of(item).problem() or "")


# --- a vendor's policy as published: no Sid, one acceptance per decision ---------------------------


def lbc_entry(**extra: Any) -> dict[str, Any]:
    return {"name": "aws-load-balancer-controller", "mode": "irsa", "cluster": "prod", "namespace": "kube-system",
            "serviceAccount": "aws-load-balancer-controller", "policy": LBC_POLICY, "allowWildcardResources": True, **extra}


CLUSTERS = {"prod": {"oidcIssuerUrl": ISSUER}}


def test_a_published_policy_without_sids_is_accepted_decision_by_decision_without_edits(tmp_path, capsys, iam_services):
    """The issue's Load Balancer Controller: 15 violations and 2 findings, and no Sid to name them by."""
    code, written, out, _ = plan(tmp_path, "lbc", capsys, clusters=CLUSTERS, serviceAccounts=[lbc_entry()])
    assert code == 3
    assert len([v for v in written["violations"] if v["level"] == "mandatory"]) == 15
    assert len([f for f in written["iamFindings"] if f["severity"] in ("critical", "high")]) == 2
    keys = keys_of(written, "agent-iam:serviceAccounts[0]")
    assert len(keys) == 17 and all(set(k) == {"check", "document", "statement"} for k in keys)
    assert {k["document"] for k in keys} == {"service-account-access"}
    assert sorted((k["check"], k["statement"]) for k in keys) == sorted(
        [("sensitive-actions-scoped", n) for n in (1, *range(3, 17))] + [("sensitive_action", 3), ("sensitive_action", 4)]
    )
    text = shown(out)
    assert "agent-iam:serviceAccounts[0] (aws-load-balancer-controller): 17 decision(s) block the plan (17 finding(s))" in text
    assert text.count("accept: - {check:") == 17
    assert ("• [sensitive-actions-scoped] statement #4 of policy 'service-account-access' of role "
            "'aws-load-balancer-controller' grants: changes every security-group in the account: "
            "ec2:AuthorizeSecurityGroupIngress, ec2:RevokeSecurityGroupIngress on *") in text
    assert ("narrower: name the resources it acts on (arn:${Partition}:ec2:${Region}:${Account}:security-group/"
            "${SecurityGroupId})") in text
    assert ('accept: - {check: sensitive-actions-scoped, document: service-account-access, statement: 4, '
            'reason: "<why, reviewed by whom>"}') in text

    accepted = [{**key, "reason": REASON} for key in keys]
    code, written, out, err = plan(tmp_path, "lbc", capsys, clusters=CLUSTERS,
                                   serviceAccounts=[lbc_entry(acceptedFindings=accepted)])
    assert code == 0, err
    rows = written["acceptedFindings"]
    assert [{k: row[k] for k in ("check", "document", "statement")} for row in rows] == keys
    assert sum(row["findings"] for row in rows) == 17
    assert rows[1]["where"] == ("statement #3 of policy 'service-account-access' of role 'aws-load-balancer-controller'")
    assert "shield:CreateProtection" in rows[1]["actions"] and rows[1]["resources"] == ["*"]
    assert "After review" not in out and "17 finding(s) accepted by 17 acceptedFindings item(s)" not in out
    assert shown(out).count("{check: sensitive-actions-scoped, document: service-account-access, statement:") == 15


def test_readonlyaccess_on_two_roles_is_one_decision_each_with_narrower_policies_named(tmp_path, capsys, iam_services):
    """The issue's Causely case: 24 blocking lines and no way out, before."""
    accounts = {"observability": {"roleArn": f"arn:aws:iam::{OTHER}:role/agent-iam-deployer", "region": REGION}}
    readonly = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    entries = [
        {"name": "causely-mediation", "preset": "causely", "mode": "irsa", "cluster": "prod",
         "createServiceAccount": False, "policyArns": readonly},
        {"name": "causely-access", "preset": "causely", "mode": "irsa", "cluster": "prod", "account": "observability",
         "createServiceAccount": False, "roleArnAnnotation": False, "policyArns": readonly},
    ]
    code, written, out, _ = plan(tmp_path, "causely", capsys, accounts=accounts, clusters=CLUSTERS, serviceAccounts=entries)
    assert code == 3
    assert len([f for f in written["iamFindings"] if f["severity"] == "high" and not f.get("exemption")]) == 24
    for index in (0, 1):  # the peer scanner's credential reads, and the same reads on every resource as the rule sees them
        assert keys_of(written, f"agent-iam:serviceAccounts[{index}]") == [
            {"check": "sensitive-actions-scoped", "document": "ReadOnlyAccess"},
            {"check": "credentials-exposure", "document": "ReadOnlyAccess"}]
    text = shown(out)
    assert text.count("2 decision(s) block the plan (13 finding(s))") == 2
    assert text.count("narrower: attach ViewOnlyAccess or SecurityAudit instead") == 4
    assert text.count('accept: - {check: credentials-exposure, document: ReadOnlyAccess, reason: "<why') == 2
    assert text.count('accept: - {check: sensitive-actions-scoped, document: ReadOnlyAccess, reason: "<why') == 2
    assert "grants: reads secrets or credentials from every resource in the account: codeartifact:GetAuthorizationToken" in text
    assert "sts:GetSessionToken" not in text.split("grants:")[0]  # one group, not one line per action

    for entry in entries:
        entry["acceptedFindings"] = [{"check": check, "document": "ReadOnlyAccess", "reason": REASON}
                                     for check in ("sensitive-actions-scoped", "credentials-exposure")]
    code, written, out, err = plan(tmp_path, "causely", capsys, "--quiet", accounts=accounts, clusters=CLUSTERS,
                                   serviceAccounts=entries)
    assert code == 0, err
    assert "26 finding(s) accepted by 4 acceptedFindings item(s) (acceptedFindings in plan.json, access.md)" in shown(out)
    assert "GetSessionToken" not in out  # --quiet: a count, not the accepted findings
    assert [row["where"] for row in written["acceptedFindings"]] == [
        "AWS managed policy 'ReadOnlyAccess' of role 'causely-mediation'",
        "AWS managed policy 'ReadOnlyAccess' of role 'causely-mediation'",
        "AWS managed policy 'ReadOnlyAccess' of role 'causely-access'",
        "AWS managed policy 'ReadOnlyAccess' of role 'causely-access'",
    ]


# --- identity, not names ---------------------------------------------------------------------------

PASS_ANY = {"Sid": "PassAny", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}


def saas(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "roleName": "vendor-x", "vendor": {"principalArn": "arn:aws:iam::999999999999:role/vendor"},
            "externalId": "acme-4f8b2c1d", "allowWildcardResources": True,
            "policy": {"Version": "2012-10-17", "Statement": [PASS_ANY]}, **extra}


def test_an_acceptance_does_not_silence_the_same_role_name_in_another_account(tmp_path, capsys, iam_services):
    accounts = {"other": {"roleArn": f"arn:aws:iam::{OTHER}:role/agent-iam-deployer", "region": REGION}}
    accepted = [{"check": "sensitive-actions-scoped", "sid": "PassAny", "reason": REASON},
                {"check": "action_condition_enforcement", "sid": "PassAny", "reason": REASON}]
    entries = [saas("here", acceptedFindings=accepted), saas("there", account="other")]
    code, written, out, err = plan(tmp_path, "twins", capsys, accounts=accounts, saasRoles=entries)
    assert code == 3, err
    blocking = [v for v in written["violations"] if not v.get("accepted")]
    assert [(v["entry"], v["role"]) for v in blocking] == [("agent-iam:saasRoles[1]", "vendor-x")]
    assert [v["entry"] for v in written["violations"] if v.get("accepted")] == ["agent-iam:saasRoles[0]"]
    high = [f for f in written["iamFindings"] if f["check"] == "action_condition_enforcement"]
    assert sorted((f["entry"], f["document"], bool(f.get("exemption"))) for f in high) == [
        ("agent-iam:saasRoles[0]", f"inline policy 'vendor-access' of role 'vendor-x' in account {ACCOUNT}", True),
        ("agent-iam:saasRoles[1]", f"inline policy 'vendor-access' of role 'vendor-x' in account {OTHER}", False),
    ]
    assert "agent-iam:saasRoles[1] (there): 2 decision(s) block the plan" in shown(out)
    assert "agent-iam:saasRoles[0] (here): 2 decision(s)" not in shown(out) and "decision(s) block" in shown(out)


def test_an_entry_with_several_roles_names_the_role_and_a_role_it_does_not_make_is_an_error(tmp_path, capsys, iam_services):
    wide = {"name": "agent", "allowWildcardResources": True, "policy": {"Version": "2012-10-17", "Statement": [PASS_ANY]}}
    code, written, _, _ = plan(tmp_path, "ecs", capsys, ecsAgents=[wide])
    assert code == 3
    assert keys_of(written, "agent-iam:ecsAgents[0]") == [
        {"check": "sensitive-actions-scoped", "role": "task", "sid": "PassAny"},
        {"check": "action_condition_enforcement", "role": "task", "sid": "PassAny"},
    ]
    stale = [{"check": "sensitive-actions-scoped", "role": "worker", "sid": "PassAny", "reason": REASON},
             {"check": "sensitive-actions-scoped", "role": "execution", "sid": "PassAny", "reason": REASON}]
    code, written, _, err = plan(tmp_path, "ecs", capsys, ecsAgents=[{**wide, "acceptedFindings": stale}])
    assert code == 2 and written == {}
    text = shown(err)
    assert ("Pulumi.ecs.yaml:15: agent-iam:ecsAgents[0].acceptedFindings[0]: role 'worker' is not a role of this "
            "entry (its roles: agent-execution, agent-task, execution, task)") in text
    assert ("Pulumi.ecs.yaml:19: agent-iam:ecsAgents[0].acceptedFindings[1]: accepts {check: sensitive-actions-scoped, "
            "role: execution, sid: PassAny}, but no such finding is on this entry's roles; did you mean "
            "{check: sensitive-actions-scoped, role: task, sid: PassAny}?") in text


# --- findings across statements --------------------------------------------------------------------

PASS = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
RUN = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}
READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reports/*"}


def vendor(*statements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "v", "vendor": {"principalArn": "arn:aws:iam::999999999999:role/vendor"},
            "externalId": "acme-4f8b2c1d", "allowWildcardResources": True,
            "policy": {"Version": "2012-10-17", "Statement": list(statements)}, **extra}


def test_a_finding_across_statements_names_them_all_and_its_key_survives_unrelated_statements(tmp_path, capsys, iam_services):
    code, written, _, _ = plan(tmp_path, "m", capsys, saasRoles=[vendor(PASS, RUN)])
    assert code == 3
    across = [f for f in written["iamFindings"] if f.get("statements")]
    assert sorted((f["check"], tuple(f["statements"])) for f in across) == [
        ("privilege-escalation", (1, 2)), ("sensitive_action", (1, 2))]
    [validator] = [f for f in across if f["check"] == "sensitive_action"]
    assert "`iam:PassRole` in statement #1" in validator["message"] and "statement [0]" not in validator["message"].lower()
    keys = keys_of(written, "agent-iam:saasRoles[0]")
    assert {"check": "privilege-escalation", "document": "vendor-access", "statements": [1, 2]} in keys

    code, again, _, _ = plan(tmp_path, "m", capsys, saasRoles=[vendor(PASS, RUN, READ)])
    assert code == 3 and keys_of(again, "agent-iam:saasRoles[0]") == keys  # a statement added after: same keys

    accepted = [{**key, "reason": REASON} for key in keys]
    accepted[keys.index({"check": "privilege-escalation", "document": "vendor-access", "statements": [1, 2]})][
        "statements"] = [2, 1]  # in any order
    code, written, _, err = plan(tmp_path, "m", capsys, saasRoles=[vendor(PASS, RUN, READ, acceptedFindings=accepted)])
    assert code == 0, err
    [row] = [r for r in written["acceptedFindings"] if r["check"] == "privilege-escalation"]
    assert row["where"] == "statements #1, #2 of policy 'vendor-access' of role 'v'"
    assert row["actions"] == ["iam:PassRole", "ec2:RunInstances"] and row["findings"] == 1


# --- the suite is not the user's gate --------------------------------------------------------------

LBC_KEYS = [{"check": "sensitive-actions-scoped", "document": "service-account-access", "statement": n}
            for n in (1, *range(3, 17))] + [
    {"check": "sensitive_action", "document": "service-account-access", "statement": n} for n in (3, 4)]


def test_a_stack_that_plans_green_with_acceptances_passes_the_suites_stack_reading_tests(
    tmp_path, capsys, monkeypatch, iam_services
):
    """A user's stack as the docs offer it (a vendor policy accepted item by item, a preset with its
    reviewed acceptance, an ECS entry accepting on its task role), planted among the stacks: it plans
    with exit 0, and every test that reads `stacks/` passes on it."""
    import conftest
    import test_access_report
    import test_iam_validation
    import test_stacks

    wide = {"name": "agent", "allowWildcardResources": True,
            "policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]},
            "acceptedFindings": [{"check": "sensitive-actions-scoped", "role": "task", "document": "agent-permissions",
                                  "statement": 1, "reason": REASON}]}
    datadog = {"name": "datadog-integration", "preset": "datadog", "externalId": "acme-4f8b2c1d-datadog"}
    lbc = lbc_entry(acceptedFindings=[{**key, "reason": REASON} for key in LBC_KEYS])
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    code, _, _, err = plan(project / "stacks", "newbie", capsys, clusters=CLUSTERS, serviceAccounts=[lbc],
                           saasRoles=[datadog], ecsAgents=[wide])
    assert code == 0, err  # green, as the user sees it

    for module in (conftest, test_iam_validation, test_stacks):
        monkeypatch.setattr(module, "ROOT", project)
    test_iam_validation.test_every_document_of_every_stack_passes("newbie", iam_services)
    # `planned` is the session's shared planner of stacks/; here each call plans the planted stack itself
    test_stacks.test_every_stack_renders_with_documents("newbie", tmp_path / "rendered", conftest.plan_stack_file)
    test_access_report.test_report_covers_every_trust_statement_and_every_action("newbie", conftest.plan_stack_file)


# --- narrower alternatives -------------------------------------------------------------------------


def test_each_narrower_managed_policy_exists_and_grants_less_on_every_resource():
    """The reviewed table, checked against the managed-policy data through the model: every name exists,
    and each alternative grants fewer sensitive actions on every resource of a kind than the policy it
    replaces, its credential reads among the original's (for a policy granting every action, it is not
    one that does too)."""
    from agent_iam.guardrails import rules
    from agent_iam.iam import managed_policies
    from agent_iam.model import role_from_documents, solver
    from agent_iam.model.roles import aws_managed
    from agent_iam.plan.decisions import NARROWER_MANAGED_POLICIES

    by_name = {key.rsplit("/", 1)[-1]: f"arn:aws:iam::aws:policy/{key}" for key in managed_policies.names()}

    def grants(name: str) -> tuple[Any, set[str]]:
        assert name in by_name, f"{name} is not an AWS managed policy"
        document = aws_managed(by_name[name])
        role = role_from_documents("r", ACCOUNT, identity=[document])
        return document, {g.action for g in solver.wide_grants(role)}

    def everything(document: Any) -> bool:
        return any(s.effect == "Allow" and (s.not_action or any(rules.every_service(str(a)) for a in s.action))
                   and rules.wide_patterns(s) for s in document.statements)

    for name, alternatives in NARROWER_MANAGED_POLICIES.items():
        original, wider = grants(name)
        for alternative in alternatives:
            narrower, wide = grants(alternative)
            assert not everything(narrower), alternative
            if everything(original):
                continue
            assert len(wide) < len(wider), (name, alternative)
            reads = {a for a in wide if rules.risk_kind(a) == "credential read"}
            assert reads <= wider, (name, alternative)


# --- the policy pack gives the plan's verdict ------------------------------------------------------


def test_the_pack_accepts_a_statement_without_sid_for_that_role_in_that_account_only():
    import jsonschema

    from agent_iam.guardrails import pulumi_policy_adapter as adapter
    from agent_iam.guardrails import rules
    from agent_iam.plan.guardrails import pack_acceptances, resource_views, stack_settings
    from agent_iam.plan.run import run_program

    accepted = [{"check": "sensitive-actions-scoped", "document": "vendor-access", "statement": 2, "reason": REASON}]
    config = {"aws:region": REGION, "agent-iam:accountId": ACCOUNT,
              "agent-iam:saasRoles": [vendor(READ, PASS, acceptedFindings=accepted)]}
    settings = stack_settings("pack", config)
    pack = pack_acceptances(settings)
    assert pack == {"sensitive-actions-scoped": [
        {"document": "vendor-access", "statement": 2, "role": "v", "account": ACCOUNT, "reason": REASON}]}
    schema = {"type": "object", "properties": {"acceptedFindings": adapter.ACCEPTED_SCHEMA}}
    jsonschema.validate({"acceptedFindings": pack["sensitive-actions-scoped"]}, schema)

    run = run_program("pack", config)
    views = resource_views(run, settings.account_id)
    context = adapter.context_of({})
    found = rules.evaluate_stack("sensitive-actions-scoped", views, context)  # the pack's stack policy
    assert [(v.document, v.statement, v.role, v.account) for v in found] == [("vendor-access", 2, "v", ACCOUNT)]
    acceptances = adapter.acceptances_of("sensitive-actions-scoped", {"acceptedFindings": pack["sensitive-actions-scoped"]})
    by_view = {(v.type, v.name): v for v in views}
    assert rules.blocking(rules.accept(found, acceptances, adapter.account_of_violation(by_view, context))) == []
    assert adapter.account_of_violation(by_view, adapter.context_of({}))(found[0]) == ACCOUNT
    # the same role in another account: the acceptance names this account's role only
    moved = [dataclasses.replace(view, account=OTHER, props={k: v for k, v in view.props.items() if k != "arn"})
             for view in views]
    elsewhere = rules.evaluate_stack("sensitive-actions-scoped", moved, context)
    assert [v.account for v in elsewhere] == [OTHER]
    by_moved = {(v.type, v.name): v for v in moved}
    assert rules.blocking(rules.accept(elsewhere, acceptances, adapter.account_of_violation(by_moved, context))) == elsewhere


def test_statements_are_numbered_from_one_in_every_report():
    from agent_iam.guardrails.iam_validation import Finding, one_based
    from agent_iam.plan.access import finding_group_line, group_findings

    first = Finding("inline policy 'p' of role 'r'", "identity", "medium", "wildcard_resource", "m", statement_index=0,
                    statements=(1,))
    across = Finding("inline policy 'p' of role 'r'", "identity", "high", "sensitive_action", "n", statement_index=2,
                     statements=(1, 3))
    assert first.to_dict()["statement"] == 1 and first.where() == "inline policy 'p' of role 'r', statement #1"
    assert across.to_dict()["statements"] == [1, 3] and "statement" not in across.to_dict()
    assert across.where() == "inline policy 'p' of role 'r', statements #1, #3"
    lines = [finding_group_line(g) for g in group_findings([first, across])]
    assert "(inline policy 'p' of role 'r' statement #1)" in lines[1]
    assert "(inline policy 'p' of role 'r' statements #1, #3)" in lines[0]
    assert one_based("`iam:PassRole` in Statement [0]; `ec2:RunInstances` in Statement [2]") == (
        "`iam:PassRole` in statement #1; `ec2:RunInstances` in statement #3")


def test_cross_account_pod_identity_keys_name_the_role_by_its_name(tmp_path, capsys, iam_services):
    """staging's Causely entry makes two roles (the Pod Identity role in the cluster's account and
    the role holding the permissions): a key says which."""
    from conftest import ROOT

    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())
    [entry] = [e for e in stack["config"]["agent-iam:serviceAccounts"] if e["name"] == "causely-observability"]
    index = stack["config"]["agent-iam:serviceAccounts"].index(entry)
    entry.update(allowWildcardResources=True, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})
    (tmp_path / "Pulumi.xpi.yaml").write_text(yaml.safe_dump(stack))
    code = main(["--stack", "xpi", "--stacks-dir", str(tmp_path), "--out", str(tmp_path / "build"), "--no-cache", "--quiet"])
    capsys.readouterr()
    written = json.loads((tmp_path / "build" / "xpi" / "plan.json").read_text())
    assert code == 3
    assert keys_of(written, f"agent-iam:serviceAccounts[{index}]") == [{
        "check": "sensitive-actions-scoped", "role": "causely-observability", "document": "service-account-access",
        "statement": 1}]
