"""A hostile export's document names never lead `agent-iam import` outside its output folder: every policy
file lands in `policies/<stack>/<role>/`, named from IAM's characters, once per role, short enough for
the customer managed policy it may be placed in, and the stack file says each rename. An existing
policy folder is never written into. No plan here (the entries are chosen and read back, then the
files written as the import writes them): fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_iam.adopt.export import read_export
from agent_iam.adopt.run import IMPORTED, ImportRefused, import_account, prepare, write_policy_files

ACCOUNT = "123456789012"
VENDOR = "956993596390"
STACK = "hostile"
KEPT = 128 - len("hostile-vendor-")  # so the customer managed hostile-vendor-<name> fits IAM's 128


def document(sid: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject",
                                                    "Resource": f"arn:aws:s3:::{sid.lower()}/*"}]}


INLINE = {
    "../../outside": document("Up"),
    "/etc/absolute": document("Absolute"),
    "L" * 128: document("Long"),
    "Dup": document("DupUpper"),
    "dup": document("DupLower"),
}
MANAGED_ARN = f"arn:aws:iam::{ACCOUNT}:policy/vendor-access"


def hostile_export(tmp: Path) -> Path:
    role = {
        "Path": "/", "RoleName": "hostile-vendor", "RoleId": "AROAHOSTILE", "Arn": f"arn:aws:iam::{ACCOUNT}:role/hostile-vendor",
        "CreateDate": "2024-01-01T00:00:00+00:00",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "hostile-1"}}}]},
        "RolePolicyList": [{"PolicyName": name, "PolicyDocument": doc} for name, doc in INLINE.items()],
        # A customer managed policy named like the inline policy agent-iam gives a SaaS role.
        "AttachedManagedPolicies": [{"PolicyName": "vendor-access", "PolicyArn": MANAGED_ARN}],
        "Tags": [], "RoleLastUsed": {},
    }
    policy = {"PolicyName": "vendor-access", "Path": "/", "Arn": MANAGED_ARN, "DefaultVersionId": "v1",
              "PolicyVersionList": [{"Document": document("Managed"), "VersionId": "v1", "IsDefaultVersion": True}]}
    source = tmp / "account.json"
    source.write_text(json.dumps({"RoleDetailList": [role], "Policies": [policy]}))
    return source


@pytest.fixture
def prepared(tmp_path: Path) -> Any:
    return prepare(read_export(hostile_export(tmp_path)), STACK, "us-east-1", "given")


def test_hostile_document_names_become_files_inside_the_policy_folder_and_each_rename_is_said(prepared, tmp_path):
    (outcome,) = prepared.outcomes
    assert outcome.status == IMPORTED, outcome.reason
    folder = f"policies/{STACK}/hostile-vendor"
    assert outcome.entry["policyFiles"] == [
        f"{folder}/__.._outside.json", f"{folder}/_etc_absolute.json", f"{folder}/{'L' * KEPT}.json", f"{folder}/Dup.json",
        f"{folder}/dup-2.json", f"{folder}/vendor-access-2.json",
    ]
    assert "policy" not in outcome.entry  # no inline policy is named as agent-iam's own: every document a file
    out = tmp_path / "out"
    write_policy_files(out, prepared, written := set())
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted([tmp_path / "account.json", *(out / p for p in outcome.entry["policyFiles"])])
    assert written == set(outcome.entry["policyFiles"])
    contents = [json.loads((out / p).read_text()) for p in outcome.entry["policyFiles"]]
    assert contents == [*INLINE.values(), document("Managed")]  # each document as IAM reports it, in order
    said = prepared.text
    assert ("inline policy '../../outside' as policies/hostile/hostile-vendor/__.._outside.json (named '__.._outside': "
            "characters IAM does not allow in a name (or that a path would read) replaced by '_'; a leading '.' replaced "
            "(a hidden file))") in said
    assert f"inline policy {'L' * 128!r} as {folder}/{'L' * KEPT}.json (named {'L' * KEPT!r}: shortened to {KEPT} characters" in said
    assert f"inline policy 'dup' as {folder}/dup-2.json (named 'dup-2': the name is taken, case aside)" in said
    assert (f"customer managed policy 'vendor-access' as {folder}/vendor-access-2.json (named 'vendor-access-2': the "
            "name is taken, case aside)") in said


def test_the_import_never_writes_into_an_existing_policy_folder(tmp_path, capsys):
    source = hostile_export(tmp_path)
    out = tmp_path / "out"
    (out / "policies" / STACK).mkdir(parents=True)
    (out / "policies" / STACK / "mine.json").write_text("{}")
    with pytest.raises(ImportRefused, match=r"policies/hostile exists: agent-iam import writes the roles' policy files "
                                            r"there and never overwrites"):
        import_account(source, STACK, tmp_path, tmp_path / "build", out=out)
    assert sorted(p.name for p in out.rglob("*")) == ["hostile", "mine.json", "policies"]


def test_a_policy_folder_that_is_a_link_is_refused_and_what_it_points_at_untouched(tmp_path):
    source = hostile_export(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "policies").symlink_to(elsewhere)
    with pytest.raises(ImportRefused, match=r"policies is not a folder: agent-iam import writes the roles' policy files"):
        import_account(source, STACK, tmp_path, tmp_path / "build", out=out)
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in out.iterdir()) == ["policies"]
