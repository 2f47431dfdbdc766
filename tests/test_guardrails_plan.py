"""The plan judges what the program registered: guardrail violations at the stack's levels, exit 3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from conftest import ACCOUNT, REGION
from agent_iam.guardrails.rules import ADVISORY, MANDATORY, ROLE, ROLE_POLICY, evaluate
from agent_iam.plan.__main__ import main
from agent_iam.plan.guardrails import props_of, resource_views, stack_settings
from agent_iam.plan.run import run_program

VENDOR = "222222222222"
OTHER = "333333333333"


def unconditioned_vendor(**extra: Any) -> dict[str, Any]:
    """A SaaS role the vendor's whole account may assume with no condition (accepted in config)."""
    return {
        "name": "vendor-x",
        "vendor": {"accountId": VENDOR},
        "allowUnconditionedAccountTrust": True,
        "s3Read": ["acme-reports"],
        **extra,
    }


def write_stack(folder: Path, stack: str, **keys: Any) -> Path:
    config = {"aws:region": REGION, "agent-iam:accountId": ACCOUNT}
    config.update({f"agent-iam:{k}": v for k, v in keys.items()})
    (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return folder


def plan(tmp_path: Path, stack: str, capsys, **keys: Any) -> tuple[int, dict[str, Any], str, str]:
    stacks = write_stack(tmp_path, stack, **keys)
    code = main(["--stack", stack, "--stacks-dir", str(stacks), "--out", str(tmp_path / "build")])
    out = capsys.readouterr()
    plan_file = tmp_path / "build" / stack / "plan.json"
    return code, json.loads(plan_file.read_text()) if plan_file.exists() else {}, out.out, out.err


CROSS_ACCOUNT_MESSAGE = (
    f"role 'vendor-x': trust statement 'VendorAssumeRole' lets arn:aws:iam::{VENDOR}:root (an account that is not "
    "the role's own) assume the role with no sts:ExternalId, aws:PrincipalArn, aws:PrincipalOrgID condition"
)

# kms:Decrypt on every key: the guardrail's violation; the IAM validator only gives mediums for it.
WIDE_AGENT = {
    "name": "wide",
    "allowWildcardResources": True,
    "policy": {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DecryptAnything", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}],
    },
}
WIDE_VIOLATION = (
    "sensitive-actions-scoped",
    ROLE_POLICY,
    "wide-task-agent-permissions",
    "inline policy 'agent-permissions': statement 'DecryptAnything' allows kms:Decrypt (1 Write) on '*', every resource "
    "of its kind; scope it to ARNs, or accept it in the entry with acceptedFindings: [{check: sensitive-actions-scoped, "
    "sid: DecryptAnything, reason: <why>}]",
)


def flat(text: str) -> str:
    """Console text as one line: rich wraps long lines inside panels."""
    return " ".join(text.replace("│", " ").split())


def violations(written: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(v["rule"], v["resourceType"], v["resourceName"], v["message"]) for v in written["violations"]]


def test_advisory_violation_is_printed_and_written_and_the_plan_passes(tmp_path, capsys, iam_services):
    code, written, out, err = plan(tmp_path, "dev", capsys, guardrails={"enforcement": "advisory"}, ecsAgents=[WIDE_AGENT])
    assert code == 0, err
    assert violations(written) == [WIDE_VIOLATION]
    assert written["violations"][0]["level"] == ADVISORY
    assert "guardrail violations (advisory)" in out and "DecryptAnything" in out
    blocking = [f for f in written["iamFindings"] if f["severity"] in ("error", "critical", "high") and not f.get("exemption")]
    assert not blocking
    assert "plan blocked" not in err


def test_mandatory_violation_fails_with_exit_3_after_writing_the_plan(tmp_path, capsys, iam_services):
    code, written, out, err = plan(tmp_path, "prod", capsys, ecsAgents=[WIDE_AGENT])
    assert code == 3
    assert violations(written) == [WIDE_VIOLATION]
    assert written["violations"][0]["level"] == MANDATORY
    assert {r["type"] for r in written["resources"]} >= {ROLE, ROLE_POLICY}  # the reviewer still gets the plan
    shown = " ".join(out.replace("│", " ").split())
    assert "agent-iam:ecsAgents[0] (wide): 1 decision(s) block the plan (1 finding(s))" in shown
    assert ("• [sensitive-actions-scoped] statement 'DecryptAnything' (#1) of policy 'agent-permissions' of role "
            "'wide-task' grants: changes every key in the account: kms:Decrypt on *") in shown
    assert "accept: - {check: sensitive-actions-scoped, role: task, sid: DecryptAnything, reason:" in shown
    assert written["violations"][0]["acceptAs"] == {"check": "sensitive-actions-scoped", "role": "task", "sid": "DecryptAnything"}
    assert "plan blocked: 1 mandatory guardrail violation(s) (listed in" in err
    assert "blocking IAM" not in err
    assert str(tmp_path / "build" / "prod" / "plan.json") in err.replace("\n", "")


def test_a_rule_can_be_lowered_to_advisory_or_disabled_per_stack(tmp_path, capsys, iam_services):
    lowered = {"rules": {"sensitive-actions-scoped": "advisory"}}
    code, written, _, err = plan(tmp_path, "prod", capsys, guardrails=lowered, ecsAgents=[WIDE_AGENT])
    assert code == 0, err
    assert [v["level"] for v in written["violations"]] == [ADVISORY]
    disabled = {"rules": {"sensitive-actions-scoped": "disabled"}}
    code, written, _, err = plan(tmp_path, "prod", capsys, guardrails=disabled, ecsAgents=[WIDE_AGENT])
    assert (code, written["violations"]) == (0, [])


def test_unconditioned_cross_account_trust_is_blocked_by_the_rule_and_the_validator(tmp_path, capsys, iam_services):
    code, written, _, err = plan(tmp_path, "prod", capsys, saasRoles=[unconditioned_vendor()])
    assert code == 3
    [violation] = written["violations"]
    assert (violation["rule"], violation["resourceName"]) == ("cross-account-trust-condition", "vendor-x-role")
    assert violation["message"].startswith(CROSS_ACCOUNT_MESSAGE)
    [finding] = [f for f in written["iamFindings"] if f["severity"] == "critical"]
    assert (finding["document"], finding["check"], finding["action"]) == (
        "role 'vendor-x' trust policy",
        "sensitive_action",
        "sts:AssumeRole",
    )
    assert "plan blocked: 1 mandatory guardrail violation(s) and 1 blocking IAM finding(s)" in err


def test_trust_exemption_tag_covers_the_rule_and_the_same_validator_finding(tmp_path, capsys, iam_services):
    tags = {"agent-iam:trust-exemption": "vendor X has no external ID - reviewed in SEC-42"}
    code, written, out, err = plan(tmp_path, "prod", capsys, saasRoles=[unconditioned_vendor(tags=tags)])
    assert code == 0, err
    assert written["violations"] == []
    [finding] = [f for f in written["iamFindings"] if f["check"] == "sensitive_action"]
    assert finding["severity"] == "critical"
    assert finding["exemption"] == "agent-iam:trust-exemption: vendor X has no external ID - reviewed in SEC-42"
    assert "(exempted by agent-iam:trust-exemption: vendor X has no external ID -" in flat(out)


def test_a_role_in_another_account_trusting_the_stack_account_is_cross_account():
    config = {
        "aws:region": REGION,
        "agent-iam:accountId": ACCOUNT,
        "agent-iam:accounts": {"data": {"roleArn": f"arn:aws:iam::{OTHER}:role/deployer", "region": REGION}},
        "agent-iam:saasRoles": [
            {
                "name": "from-main",
                "account": "data",
                "vendor": {"principalArn": f"arn:aws:iam::{ACCOUNT}:role/etl"},
                "allowUnconditionedAccountTrust": True,
            }
        ],
    }
    run = run_program("prod", config)
    settings = stack_settings("prod", config)
    views = {v.name: v for v in resource_views(run, settings.account_id)}
    assert views["from-main-role"].account == OTHER
    [violation] = evaluate(list(views.values()), settings.guardrail_context())
    assert violation.rule == "cross-account-trust-condition"
    assert f"lets arn:aws:iam::{ACCOUNT}:role/etl (an account that is not the role's own)" in violation.message


def test_the_judge_gets_the_settings_the_program_composed_from():
    """The plan judges the program's own validated settings rather than validating the config twice."""
    from agent_iam.plan.stackfile import read_stack_file
    from agent_iam.stack_config import StackSettings

    config, secret_keys = read_stack_file(Path(__file__).resolve().parent.parent / "stacks", "prod")
    run = run_program("prod", config, secret_keys)
    assert isinstance(run.settings, StackSettings)
    assert run.settings == stack_settings("prod", config, secret_keys)


def test_props_prefer_known_inputs_and_fall_back_to_unwrapped_outputs():
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": '{"Statement": []}'}
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    props = props_of(
        {"name": "r", "assumeRolePolicy": unknown, "path": None},
        {"name": "r", "assumeRolePolicy": secret, "arn": "arn:aws:iam::111111111111:role/r", "path": "/"},
    )
    assert props == {"name": "r", "assumeRolePolicy": '{"Statement": []}', "arn": "arn:aws:iam::111111111111:role/r", "path": "/"}


def test_guardrail_context_of_a_stack_file():
    from agent_iam.plan.stackfile import read_stack_file
    from conftest import ROOT

    config, secret_keys = read_stack_file(ROOT / "stacks", "prod")
    context = stack_settings("prod", config, secret_keys).guardrail_context()
    assert context.enforcement == MANDATORY and context.rules == {}
    assert context.account_id == "432109876543"
    # the stack's boundary, and the one the Causely entry sets for its role in the observability account
    assert context.boundary_arns == (
        "arn:aws:iam::432109876543:policy/AgentPermissionsBoundary",
        "arn:aws:iam::543210987654:policy/AgentPermissionsBoundary",
    )
    config, secret_keys = read_stack_file(ROOT / "stacks", "dev")
    dev = stack_settings("dev", config, secret_keys).guardrail_context()
    assert (dev.enforcement, dev.boundary_arns) == (ADVISORY, ())


def test_entry_boundaries_are_allowed_only_when_the_guardrails_list_them(tmp_path, capsys, iam_services):
    default = f"arn:aws:iam::{ACCOUNT}:policy/Boundary"
    special = f"arn:aws:iam::{ACCOUNT}:policy/SpecialBoundary"
    config = {
        "aws:region": REGION,
        "agent-iam:accountId": ACCOUNT,
        "agent-iam:defaults": {"permissionsBoundaryArn": default},
        "agent-iam:ecsAgents": [{"name": "a"}, {"name": "b", "permissionsBoundaryArn": special}],
    }
    context = stack_settings("prod", config).guardrail_context()
    assert (context.boundary_arns, context.boundary_required) == ((default,), True)
    listed = {**config, "agent-iam:guardrails": {"permissionsBoundaries": [special]}}
    assert stack_settings("prod", listed).guardrail_context().boundary_arns == (default, special)
    agents = config["agent-iam:ecsAgents"]
    code, written, _, err = plan(tmp_path, "prod", capsys, defaults={"permissionsBoundaryArn": default}, ecsAgents=agents)
    assert code == 3
    assert {v["resourceName"] for v in written["violations"] if v["rule"] == "permissions-boundary"} == {
        "b-task", "b-execution"
    }
    assert "list it in agent-iam:guardrails.permissionsBoundaries" in written["violations"][0]["message"]
    code, written, _, err = plan(tmp_path, "prod", capsys, defaults={"permissionsBoundaryArn": default}, ecsAgents=agents,
                                 guardrails={"permissionsBoundaries": [special]})
    assert code == 0, err


def test_an_admin_policy_as_a_boundary_is_a_violation_even_when_listed(tmp_path, capsys, iam_services):
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    agents = [{"name": "a", "permissionsBoundaryArn": admin}]
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=agents, guardrails={"permissionsBoundaries": [admin]})
    assert code == 3
    messages = [v["message"] for v in written["violations"] if v["rule"] == "permissions-boundary"]
    assert messages and all("an administrator policy: a boundary that allows everything bounds nothing" in m
                            for m in messages)


def test_confused_deputy_conditions_off_blocks_unless_the_trust_is_exempted(tmp_path, capsys, iam_services):
    agent = {"name": "legacy", "confusedDeputyConditions": False}
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[agent])
    assert code == 3 and "blocking IAM finding(s)" in err and "guardrail" not in err
    blocking = {
        (f["document"], f["check"])
        for f in written["iamFindings"]
        if f["severity"] in ("critical", "high") and not f.get("exemption")
    }
    assert blocking == {  # the execution role's documented trust is agent-iam's own reviewed exception
        ("role 'legacy-task' trust policy", "sensitive_action"),
        ("role 'legacy-task' trust policy", "trust_policy_validation"),
    }
    tags = {"agent-iam:trust-exemption": "account without SourceAccount support - SEC-7"}
    code, written, _, err = plan(tmp_path, "prod", capsys, ecsAgents=[{**agent, "tags": tags}])
    assert code == 0, err
    assert all(f.get("exemption") for f in written["iamFindings"] if f["severity"] in ("critical", "high"))


def test_the_trust_exemption_never_covers_a_principal_mismatch():
    from agent_iam.guardrails.iam_validation import Finding
    from agent_iam.plan.guardrails import covered_by_trust_exemption

    def finding(check: str, severity: str, action: str | None, message: str, kind: str = "trust") -> Finding:
        return Finding("role 'r' trust policy", kind, severity, check, message, 0, "T", action)

    missing = "Statement allows service principal `ec2.amazonaws.com` without an `aws:SourceArn`, `aws:SourceAccount`, ..."
    assert covered_by_trust_exemption(finding("trust_policy_validation", "high", None, missing))
    assert covered_by_trust_exemption(finding("sensitive_action", "critical", "sts:AssumeRole", "Sensitive action"))
    mismatch = "Action `sts:AssumeRole` should not use `Principal` type `Federated`. Expected principal types: `AWS`"
    assert not covered_by_trust_exemption(finding("trust_policy_validation", "high", "sts:AssumeRole", mismatch))
    assert not covered_by_trust_exemption(finding("sensitive_action", "critical", "sts:AssumeRoleWithWebIdentity", "x"))
    assert not covered_by_trust_exemption(finding("action_validation", "error", "sts:AssumeRol", "not found"))
    assert not covered_by_trust_exemption(finding("sensitive_action", "critical", "sts:AssumeRole", "x", kind="identity"))


def test_manifest_schema_problems_are_named_and_block_the_plan(tmp_path, capsys, iam_services, monkeypatch):
    """Manifests are valid by construction; the strict schema check is the net under that claim."""
    from agent_iam.guardrails.k8s_validation import validate_manifests

    good = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "agent", "namespace": "agents"}}
    bad = {**good, "metadata": {"name": "agent", "namespace": "agents", "annotation": {"a": "b"}}}
    assert validate_manifests({"agents.ServiceAccount.agent.yaml": good}) == []
    problems = validate_manifests({"agents.ServiceAccount.agent.yaml": bad})
    assert len(problems) == 1 and problems[0].startswith("k8s/agents.ServiceAccount.agent.yaml: metadata: ")
    assert "annotation" in problems[0]
    # validators are built once per kind and reused: a good manifest after a bad one is still good,
    # and a kind with no schema is named rather than skipped
    many = {f"agents.ServiceAccount.a{i}.yaml": {**good, "metadata": {"name": f"a{i}", "namespace": "agents"}}
            for i in range(3)}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "type": "Opaque"}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validate_manifests({**many, "agents.ServiceAccount.zz.yaml": bad, "n.Secret.s.yaml": secret,
                               "w.Widget.w.yaml": widget}) == [
        "k8s/agents.ServiceAccount.zz.yaml: metadata: " + problems[0].split(": metadata: ", 1)[1],
        "k8s/w.Widget.w.yaml: no Kubernetes 1.31 schema for this object: kind 'Widget' with apiVersion 'example.com/v1'",
    ]
    assert validate_manifests({"n.Secret.s.yaml": {**secret, "stringdata": {"k": "v"}}}) == [
        "k8s/n.Secret.s.yaml: (manifest): Additional properties are not allowed ('stringdata' was unexpected)"]

    import agent_iam.plan.render as render

    monkeypatch.setattr(render, "kubernetes_manifest_files", lambda run: {"agents.ServiceAccount.agent.yaml": bad})
    code, written, out, err = plan(tmp_path, "dev", capsys, guardrails={"enforcement": "advisory"})
    assert code == 3
    assert written["manifestProblems"] == problems
    assert "plan blocked: 1 invalid Kubernetes manifest(s)" in flat(err)


def test_manifest_results_are_cached_by_content(tmp_path, monkeypatch):
    from agent_iam.guardrails import k8s_validation
    from agent_iam.guardrails.k8s_validation import validate_manifests

    cache = tmp_path / "k8s-problems.test.json"
    good = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}}
    bad = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b", "namespace": "n", "label": {}}}
    first = validate_manifests({"n.ServiceAccount.a.yaml": good, "n.ServiceAccount.b.yaml": bad}, cache_file=cache)
    assert len(first) == 1 and first[0].startswith("k8s/n.ServiceAccount.b.yaml: metadata: ")

    checked = []
    real = k8s_validation._problem

    def counting(manifest, version):
        checked.append(manifest["metadata"]["name"])
        return real(manifest, version)

    monkeypatch.setattr(k8s_validation, "_problem", counting)
    # the same content under another file name is answered from the cache, problem and all
    renamed = {"n.ServiceAccount.a.yaml": good, "x.ServiceAccount.b.yaml": bad}
    assert validate_manifests(renamed, cache_file=cache) == [first[0].replace("k8s/n.", "k8s/x.")]
    assert checked == []
    changed = {**good, "metadata": {"name": "c", "namespace": "n"}}
    assert validate_manifests({"n.ServiceAccount.c.yaml": changed}, cache_file=cache) == []
    assert checked == ["c"]
    monkeypatch.setattr(k8s_validation, "_cache_version", lambda version: "another kubernetes-validate")
    validate_manifests({"n.ServiceAccount.c.yaml": changed}, cache_file=cache)
    assert checked == ["c", "c"], "a cache written by another validator version is not trusted"


def test_content_cache_trusts_only_its_own_version_and_replaces_atomically(tmp_path):
    from agent_iam.guardrails import content_cache

    cache = tmp_path / "sub" / "checker.stack.json"
    assert content_cache.read(cache, "v1") == {}
    content_cache.write(cache, "v1", {"k": ["x"]})
    assert content_cache.read(cache, "v1") == {"k": ["x"]}
    assert content_cache.read(cache, "v2") == {}
    assert [p.name for p in cache.parent.iterdir()] == ["checker.stack.json"]  # no temporary file left
    cache.write_text("{half a fi")
    assert content_cache.read(cache, "v1") == {}
    assert content_cache.content_key({"a": 1, "b": 2}) == content_cache.content_key({"b": 2, "a": 1})
    assert content_cache.content_key("trust", {"a": 1}) != content_cache.content_key("identity", {"a": 1})


def test_stack_plans_check_their_manifests_and_record_no_problem(tmp_path, iam_services):
    assert main(["--stack", "prod", "--quiet", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "prod" / "plan.json").read_text())
    assert written["manifestProblems"] == []
    assert [p.name for p in (tmp_path / "prod" / "k8s").iterdir()] == ["causely.Secret.aws-secret.yaml"]


# --- the judgement is the same in one process and in several --------------------------------


def _judged_files(run, settings, cache_dir: Path) -> dict[str, bytes]:
    from agent_iam.plan.guardrails import judge, judgement_document
    from agent_iam.plan.render import plan_files

    return plan_files(run, judgement_document(judge(run, settings, cache_dir=cache_dir)))


def test_the_plan_is_byte_identical_whether_one_or_several_processes_validate(tmp_path, monkeypatch):
    """A generated stack (hundreds of distinct documents) and the examples' databricks stack (findings
    accepted and exempted), judged with empty caches by one process and by three, then from the
    caches the three wrote: the same files, byte for byte."""
    from bench.generate import stack_config
    from agent_iam.guardrails import iam_validation
    from agent_iam.plan.stackfile import read_stack_file
    from conftest import ROOT

    config, secret_keys = read_stack_file(ROOT / "examples" / "guardrails", "databricks")
    for stack, (config, secret_keys) in {"bench30": (stack_config(30), []), "databricks": (config, secret_keys)}.items():
        run = run_program(stack, config, secret_keys)
        monkeypatch.setenv(iam_validation.PROCESSES_ENV, "1")
        one = _judged_files(run, run.settings, tmp_path / f"{stack}-one")
        monkeypatch.setenv(iam_validation.PROCESSES_ENV, "3")
        several = _judged_files(run, run.settings, tmp_path / f"{stack}-several")
        again = _judged_files(run, run.settings, tmp_path / f"{stack}-several")
        assert one.keys() == several.keys() == again.keys()
        for name in one:
            assert several[name] == one[name], f"{stack}: {name}"
            assert again[name] == one[name], f"{stack}: {name} from the cache"
        assert json.loads(one["plan.json"])["iamFindings"], f"{stack}: the comparison covers findings"
