"""`policyFiles` and `policy_documents`: a vendor's policy documents as published, placed by agent-iam
(inline while the role's inline total fits, else customer managed policies named from the role and
the document), every bad file a config error at the stack file's line before anything registers, and
the files' bytes part of the plan cache key and of the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_iam import ArgsError, SaasAccessRole, SaasAccessRoleArgs
from agent_iam.plan.cache import PlanCache, config_key, Fingerprint
from agent_iam.plan.planner import plan_stack
from agent_iam.plan.stackfile import load_stack_file
from agent_iam.stack_config import ConfigError
from agent_iam.stack_config import policy_files
from conftest import ACCOUNT, REGION, ROOT, run_components

VENDOR = "arn:aws:iam::197171649850:role/prod-us20-AssumeRoleDelegator"
INLINE = "aws:iam/rolePolicy:RolePolicy"
MANAGED = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def document(prefix: str, statements: int) -> dict[str, Any]:
    """A read-only document of about 200 characters a statement, keys in the order a vendor writes them."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"{prefix}{i}",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::acme-{prefix.lower()}-{i}", f"arn:aws:s3:::acme-{prefix.lower()}-{i}/*"],
            }
            for i in range(statements)
        ],
    }


# Wiz's case: three documents of 11,000 characters together, over the 10,240 a role holds inline.
WIZ = {"WizFullPolicy": document("WizFull", 22), "WizFullPolicy2": document("WizTwo", 26), "WizScanning": document("Scan", 6)}


def minified(doc: dict[str, Any]) -> int:
    return len(json.dumps(doc, separators=(",", ":")))


def project(tmp_path: Path, entry: dict[str, Any], files: dict[str, Any], stack: str = "vendor") -> Path:
    """A Pulumi project with one SaaS entry (`entry` merged in) and its policy files under stacks/."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    stacks = tmp_path / "stacks"
    stacks.mkdir(exist_ok=True)
    for path, content in files.items():
        target = stacks / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content if isinstance(content, str) else json.dumps(content, indent=4))
    config = {
        "aws:region": REGION,
        "agent-iam:accountId": ACCOUNT,
        "agent-iam:saasRoles": [{"name": "wiz", "vendor": {"principalArn": VENDOR}, "externalId": "wiz-ext-1d", **entry}],
    }
    (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return stacks


@pytest.fixture(scope="module")
def wiz_plan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wiz")
    stacks = project(tmp, {"policyFiles": [f"wiz/{name}.json" for name in WIZ]}, {f"wiz/{n}.json": d for n, d in WIZ.items()})
    return plan_stack(stacks, "vendor", tmp / "build", use_cache=False)


def test_the_documents_fit_inline_then_go_to_customer_managed_policies_named_from_role_and_document(wiz_plan):
    sizes = [minified(d) for d in WIZ.values()]
    assert sizes[0] + sizes[1] <= 10240 < sum(sizes)  # the case: more than a role holds inline
    run = wiz_plan.run
    inline = {r.inputs["name"]: r for r in run.of_type(INLINE)}
    assert sorted(inline) == ["WizFullPolicy", "WizFullPolicy2"]
    for name in inline:  # exactly as published: the vendor's key order, nothing added
        assert inline[name].inputs["policy"] == json.dumps(WIZ[name], separators=(",", ":"))
    (managed,) = run.of_type(MANAGED)
    assert managed.inputs["name"] == "wiz-WizScanning" and json.loads(managed.inputs["policy"]) == WIZ["WizScanning"]
    (attachment,) = [a for a in run.of_type(ATTACHMENT) if a.name == "wiz-role-wiz-WizScanning"]
    assert attachment.inputs["role"] == "wiz"


def test_the_plan_and_the_access_report_say_where_each_document_went(wiz_plan):
    plan = json.loads(wiz_plan.files["plan.json"])
    assert [(p["document"], p["placed"], p["policy"]) for p in plan["policyDocuments"]] == [
        ("WizFullPolicy", "inline", "WizFullPolicy"),
        ("WizFullPolicy2", "inline", "WizFullPolicy2"),
        ("WizScanning", "customer managed", "wiz-WizScanning"),
    ]
    assert {p["entry"] for p in plan["policyDocuments"]} == {"agent-iam:saasRoles[0]"}
    report = wiz_plan.files["access.md"].decode()
    assert (
        f"Policy documents, placed by agent-iam: WizFullPolicy inline ({minified(WIZ['WizFullPolicy']):,} characters); "
        f"WizFullPolicy2 inline ({minified(WIZ['WizFullPolicy2']):,} characters); WizScanning in customer managed "
        f"policy 'wiz-WizScanning' ({minified(WIZ['WizScanning']):,} characters)."
    ) in report


def test_a_program_passes_documents_and_gets_the_same_placement():
    args = SaasAccessRoleArgs(
        principal_arn=VENDOR, external_id="wiz-ext-1d", account_id=ACCOUNT,
        policy_documents=[{"name": name, "document": doc} for name, doc in WIZ.items()],
    )
    run, _ = run_components(lambda: SaasAccessRole("wiz", args))
    assert sorted(r.inputs["name"] for r in run.of_type(INLINE)) == ["WizFullPolicy", "WizFullPolicy2"]
    assert [r.inputs["name"] for r in run.of_type(MANAGED)] == ["wiz-WizScanning"]


def test_the_roles_own_inline_policy_counts_and_the_managed_quota_is_checked():
    documents = [{"name": "A", "document": document("A", 30)}, {"name": "B", "document": document("B", 26)}]
    assert minified(documents[0]["document"]) + minified(documents[1]["document"]) <= 10240
    alone = SaasAccessRoleArgs(principal_arn=VENDOR, external_id="wiz-ext-1d", account_id=ACCOUNT, policy_documents=documents)
    run, _ = run_components(lambda: SaasAccessRole("wiz", alone))
    assert sorted(r.inputs["name"] for r in run.of_type(INLINE)) == ["A", "B"]
    with_s3 = {**alone, "s3_read": ["acme-exports"]}  # vendor-access (245 characters) comes first
    run, _ = run_components(lambda: SaasAccessRole("wiz", with_s3))
    assert sorted(r.inputs["name"] for r in run.of_type(INLINE)) == ["A", "vendor-access"]
    assert [r.inputs["name"] for r in run.of_type(MANAGED)] == ["wiz-B"]
    with pytest.raises(ArgsError, match=r"2 managed policies attached, over the 1 IAM allows per role") as caught:
        run_components(lambda: SaasAccessRole("wiz", {**with_s3, "iam_limits": {"managed_policies_per_role": 1},
                                                      "policy_arns": ["arn:aws:iam::aws:policy/SecurityAudit"]}))
    assert caught.value.registered_resources == []


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        ([{"name": "a b", "document": document("A", 1)}], "args.policy_documents[0]: not a valid IAM policy name"),
        ([{"name": "A", "document": document("A", 1)}, {"name": "A", "document": document("B", 1)}],
         "args.policy_documents[1]: document 'A' is given twice"),
        ([{"name": "vendor-access", "document": document("A", 1)}],
         "args.policy_documents[0]: document 'vendor-access' is named like a policy agent-iam gives the role"),
        ([{"name": "A", "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                                             "Resource": "*"}]}}],
         "args.policy_documents[0]: document 'A': Statement[0].Resource: '*' covers every resource of its kind"),
        ([{"name": "A", "document": {"Statement": []}}], "args.policy_documents[0]: document 'A': Version:"),
        ([{"name": "Huge", "document": document("Huge", 56)}],
         "args.policy_documents[0]: document 'Huge' is 10,704 characters (minified): it does not fit inline"),
        ([{"name": "A"}], "args.policy_documents[0]: a mapping of name and document, got ['name']"),
    ],
)
def test_bad_documents_are_refused_naming_the_field_before_anything_registers(documents, expected):
    args = SaasAccessRoleArgs(principal_arn=VENDOR, external_id="wiz-ext-1d", account_id=ACCOUNT, s3_read=["acme-exports"],
                              policy_documents=documents)
    with pytest.raises(ArgsError) as caught:
        run_components(lambda: SaasAccessRole("wiz", args))
    assert expected in str(caught.value), str(caught.value)
    assert caught.value.registered_resources == []


# --- the stack layer: every bad file a config error at its line --------------------------------


def _config_error(stacks: Path, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        plan_stack(stacks, "vendor", tmp_path / "build", use_cache=False)
    assert not (tmp_path / "build" / "vendor").exists()  # nothing written, nothing registered
    return str(caught.value)


GOOD = document("Good", 1)


@pytest.mark.parametrize(
    ("listed", "files", "expected"),
    [
        (["vendor/missing.json"], {}, "policyFiles[0]: no such file: 'vendor/missing.json'"),
        (["../../outside.json"], {}, "policyFiles[0]: '../../outside.json' leaves the project folder"),
        (["/etc/passwd.json"], {}, "policyFiles[0]: '/etc/passwd.json' is an absolute path"),
        (["vendor/policy.txt"], {"vendor/policy.txt": GOOD}, "policyFiles[0]: 'vendor/policy.txt' is not a .json file"),
        (["vendor/a.json", "vendor/bad.json"], {"vendor/a.json": GOOD, "vendor/bad.json": '{\n  "Version": "2012-10-17",\n  "Statement": [,]\n}'},
         "policyFiles[1]: vendor/bad.json:3:17: not valid JSON: Expecting value"),
        (["vendor/list.json"], {"vendor/list.json": "[1, 2]"}, "policyFiles[0]: vendor/list.json: a policy document is a JSON object, not list"),
        (["vendor/twice.json"], {"vendor/twice.json": '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}'},
         "policyFiles[0]: vendor/twice.json: the key 'Version' is given twice in one object"),
        (["vendor/trust.json"], {"vendor/trust.json": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Resource": "*"}]}},
         "policyFiles[0]: document 'trust': Statement[0]: an identity policy takes no Principal"),
        (["vendor/latin1.json"], {"vendor/latin1.json": "\udcff"}, "policyFiles[0]: vendor/latin1.json: not UTF-8 text"),
    ],
)
def test_a_bad_policy_file_is_a_config_error_at_its_line(tmp_path, listed, files, expected):
    if any("\udcff" in str(c) for c in files.values()):  # bytes that are not UTF-8
        stacks = project(tmp_path, {"policyFiles": listed}, {})
        (stacks / "vendor").mkdir(exist_ok=True)
        (stacks / "vendor" / "latin1.json").write_bytes(b'{"Version": "2012-10-17", "Id": "caf\xe9"}')
    else:
        stacks = project(tmp_path, {"policyFiles": listed}, files)
    message = _config_error(stacks, tmp_path)
    line = next(n for n, text in enumerate((stacks / "Pulumi.vendor.yaml").read_text().splitlines(), 1)
                if listed[int(expected.split("[")[1][0])] in text)
    assert f"Pulumi.vendor.yaml:{line}: agent-iam:saasRoles[0].{expected}" in message, message


def test_a_link_out_of_the_project_a_fifo_and_a_huge_file_are_refused(tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(GOOD))
    inner = tmp_path / "project"
    inner.mkdir()
    stacks = project(inner, {"policyFiles": ["link.json", "pipe.json", "huge.json"]}, {"huge.json": " " * (policy_files.MAX_BYTES + 1)})
    (stacks / "link.json").symlink_to(outside)
    os.mkfifo(stacks / "pipe.json")
    message = _config_error(stacks, inner)
    assert "policyFiles[0]: 'link.json' leaves the project folder" in message
    assert "policyFiles[1]: 'pipe.json' is a FIFO (named pipe); a policy file is a regular file of at most 262,144 bytes" in message
    assert "policyFiles[2]: 'huge.json' is 262,145 bytes, over the limit of 262,144" in message


def test_a_file_the_plan_reads_is_part_of_the_cache_key(tmp_path):
    stacks = project(tmp_path, {"policyFiles": ["vendor/p.json"]}, {"vendor/p.json": GOOD})
    fingerprint = Fingerprint("code", "environment")
    key = config_key(fingerprint, "vendor", load_stack_file(stacks, "vendor"))
    assert config_key(fingerprint, "vendor", load_stack_file(stacks, "vendor")) == key
    (stacks / "vendor" / "p.json").write_text(json.dumps(GOOD, indent=2))  # the same document, other bytes
    assert config_key(fingerprint, "vendor", load_stack_file(stacks, "vendor")) != key
    cache = PlanCache(tmp_path / "build", fingerprint)
    assert cache.config_key("vendor", load_stack_file(stacks, "vendor")) != key


def test_a_changed_policy_file_is_planned_again_not_restored(tmp_path):
    from agent_iam.cli import main

    stacks = project(tmp_path, {"policyFiles": ["vendor/p.json"]}, {"vendor/p.json": GOOD})
    argv = ["plan", "--stack", "vendor", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"]
    assert main(argv) == 0 and main(argv) == 0  # the second restored from the cache
    wider = json.loads(json.dumps(GOOD))
    wider["Statement"][0]["Action"].append("s3:PutObject")
    (stacks / "vendor" / "p.json").write_text(json.dumps(wider))  # the stack file itself unchanged
    assert main(argv) == 0
    planned = json.loads((tmp_path / "build" / "vendor" / "iam" / "wiz.p.json").read_text())
    assert planned == wider


def test_a_changed_policy_file_is_a_widening_in_the_diff(tmp_path):
    from agent_iam.cli import main

    stacks = project(tmp_path, {"policyFiles": ["vendor/p.json"]}, {"vendor/p.json": GOOD})
    plan_stack(stacks, "vendor", tmp_path / "base", use_cache=False)
    wider = json.loads(json.dumps(GOOD))
    wider["Statement"][0]["Action"].append("s3:PutObject")
    (stacks / "vendor" / "p.json").write_text(json.dumps(wider))
    plan_stack(stacks, "vendor", tmp_path / "head", use_cache=False)
    code = main(["diff", "--base", str(tmp_path / "base"), "--head", str(tmp_path / "head"), "--out", str(tmp_path / "diff")])
    assert code == 4
    assert "s3:PutObject" in (tmp_path / "diff" / "diff.md").read_text()


def test_an_acceptance_names_a_document_by_its_files_name_wherever_it_goes(tmp_path):
    wide = document("Clean", 5)  # too large for what is left inline beside the first two
    wide["Statement"].insert(0, {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"})
    entry = {
        "policyFiles": ["wiz/WizFullPolicy.json", "wiz/WizFullPolicy2.json", "wiz/Cleanup.json"],
        "allowWildcardResources": True,
        "acceptedFindings": [
            {"check": check, "document": "Cleanup", "statement": 1, "reason": "the vendor removes the objects it staged"}
            for check in ("sensitive-actions-scoped", "sensitive_action")
        ],
    }
    stacks = project(tmp_path, entry, {**{f"wiz/{n}.json": d for n, d in WIZ.items()}, "wiz/Cleanup.json": wide})
    assert minified(WIZ["WizFullPolicy"]) + minified(WIZ["WizFullPolicy2"]) + minified(wide) > 10240
    result = plan_stack(stacks, "vendor", tmp_path / "build", use_cache=False)
    plan = json.loads(result.files["plan.json"])
    assert plan["policyDocuments"][-1]["policy"] == "wiz-Cleanup"  # in a customer managed policy
    rows = {(r["check"], r["document"], r["statement"]) for r in plan["acceptedFindings"]}
    assert rows == {("sensitive-actions-scoped", "wiz-Cleanup", 1), ("sensitive_action", "wiz-Cleanup", 1)}
    assert not result.blocked


def test_the_repositorys_documents_read_from_the_deployed_projects_stack_folder():
    """Under `pulumi up` the program runs in the project folder: `stackConfigDir` of its Pulumi.yaml."""
    assert policy_files.deployed_stacks_dir(ROOT) == ROOT / "stacks"
    assert policy_files.current().stacks_dir == Path.cwd() / "stacks" or not (Path.cwd() / "Pulumi.yaml").is_file()
