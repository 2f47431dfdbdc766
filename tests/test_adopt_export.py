"""Reading `aws iam get-account-authorization-details` output: the CLI's JSON objects and the API's
URL-encoded documents alike, pages saved as a list, and every malformed file refused naming the
file and the field (or line), never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from agent_iam.adopt.export import ExportError, decode_document, read_export

DATA = Path(__file__).resolve().parent / "data" / "adopt"
ACCOUNT = "123456789012"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def write(tmp_path: Path, data: object, name: str = "details.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def api_role(name: str, **extra: object) -> dict:
    """A role as the API and SDKs give it (boto3 prints dates with a space; documents URL-encoded)."""
    return {"Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLE", "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "CreateDate": "2019-12-18 19:10:08+00:00", "AssumeRolePolicyDocument": quote(json.dumps(TRUST), safe=""),
            "InstanceProfileList": [], "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": [],
            "RoleLastUsed": {}, **extra}


def test_the_cli_and_the_api_shapes_read_alike():
    export = read_export(DATA / "account.json")
    assert export.account == ACCOUNT and export.partition == "aws"
    assert len(export.roles) == 15 and export.users == 1 and export.groups == 1
    wiz = next(r for r in export.roles if r.name == "WizAccess-Role")  # written URL-encoded, as the API gives it
    assert wiz.trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::197171649850:role/wiz-prod-scanner"}
    assert wiz.inline[0].name == "WizReadOnly"
    assert wiz.inline[0].document["Statement"][0]["Resource"] == "arn:aws:s3:::*"
    assert (wiz.last_used, wiz.last_used_region) == ("2026-11-27T21:40:10Z", "us-east-1")
    vanta = next(r for r in export.roles if r.name == "vanta-auditor")  # JSON objects, as the CLI writes them
    assert [a.arn for a in vanta.attached] == ["arn:aws:iam::aws:policy/SecurityAudit",
                                               f"arn:aws:iam::{ACCOUNT}:policy/VantaAdditionalPermissions"]
    assert vanta.tags == (("owner", "security"), ("vendor", "vanta"))
    assert vanta.description is None and vanta.max_session is None  # not part of the export: unknown, not a default
    # The customer managed policy's default version, not the older one listed after it.
    extra = export.policy(f"arn:aws:iam::{ACCOUNT}:policy/VantaAdditionalPermissions")
    assert extra is not None and extra.document is not None
    assert extra.document["Statement"][0]["Sid"] == "VantaExtraReads"
    assert export.policy("arn:aws:iam::aws:policy/SecurityAudit").document is None  # listed without versions
    linked = next(r for r in export.roles if r.name == "AWSServiceRoleForSupport")
    assert linked.service_linked and not wiz.service_linked
    gitlab = next(r for r in export.roles if r.name == "gitlab-infra")
    assert gitlab.boundary == f"arn:aws:iam::{ACCOUNT}:policy/CiBoundary"


def test_pages_saved_as_a_list_and_sdk_fields_merged_in(tmp_path):
    first = {"RoleDetailList": [api_role("a", Description="made by hand", MaxSessionDuration=7200)], "IsTruncated": True,
             "Marker": "m1"}
    second = {"RoleDetailList": [api_role("b")], "Policies": [], "IsTruncated": False}
    export = read_export(write(tmp_path, [first, second]))
    assert [r.name for r in export.roles] == ["a", "b"]
    a = export.roles[0]
    assert a.trust == TRUST and a.created == "2019-12-18 19:10:08+00:00"
    assert (a.description, a.max_session) == ("made by hand", 7200)
    assert export.digest == __import__("hashlib").sha256((tmp_path / "details.json").read_bytes()).hexdigest()


def test_a_page_saved_twice_is_one_role_and_a_conflict_is_named(tmp_path):
    page = {"RoleDetailList": [api_role("a")]}
    assert len(read_export(write(tmp_path, [page, page])).roles) == 1
    other = {"RoleDetailList": [api_role("a", Path="/x/", Arn=f"arn:aws:iam::{ACCOUNT}:role/a")]}
    with pytest.raises(ExportError, match=r"\[1\]\.RoleDetailList\[0\]: role arn:aws:iam::123456789012:role/a is listed "
                                          r"twice, differently \(also at \[0\]\.RoleDetailList\[0\]\)"):
        read_export(write(tmp_path, [page, other]))


@pytest.mark.parametrize("value, expected", [
    (TRUST, TRUST),
    (json.dumps(TRUST), TRUST),
    (quote(json.dumps(TRUST), safe=""), TRUST),
    (quote(json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "100%", "Effect": "Allow"}]}), safe=""),
     {"Version": "2012-10-17", "Statement": [{"Sid": "100%", "Effect": "Allow"}]}),
    (json.dumps({"Statement": [{"Sid": "100%25"}]}), {"Statement": [{"Sid": "100%25"}]}),  # JSON text first: kept as is
])
def test_documents_as_objects_json_text_or_url_encoded_text(value, expected):
    assert decode_document(value) == expected


@pytest.mark.parametrize("value, message", [
    (None, "not null"), (3, "not a number"), ("%7Bnot json", "not a JSON policy document, nor URL-encoded JSON"),
    ("[1, 2]", "this text holds a list"),
])
def test_what_is_no_document_says_what_it_is(value, message):
    with pytest.raises(ValueError, match=message):
        decode_document(value)


@pytest.mark.parametrize("content, message", [
    ("", r"details\.json:1:1: not JSON: Expecting value"),
    ('{"RoleDetailList": [', r"details\.json:1:21: not JSON"),
    ("[1, 2]", "the file holds a list, not a JSON object with RoleDetailList and Policies"),
    ("[]", r"a list \(an empty list\)"),
    ('"text"', "the file holds text"),
    ('{"Roles": []}', r"none of RoleDetailList, Policies, UserDetailList, GroupDetailList \(keys: Roles\)"),
    ('{"RoleDetailList": {"a": 1}}', r"RoleDetailList: must be a list, got an object"),
    ('{"RoleDetailList": [3]}', r"RoleDetailList\[0\]: must be an object, got a number"),
    ('{"RoleDetailList": []}', "lists no role and no customer managed policy"),
])
def test_a_file_that_is_no_export_is_refused_naming_it(tmp_path, content, message):
    with pytest.raises(ExportError, match=message) as caught:
        read_export(write(tmp_path, content))
    assert str(caught.value).startswith(str(tmp_path / "details.json"))


def test_every_bad_field_is_named_with_its_path(tmp_path):
    bad = [
        {"RoleName": "a", "Arn": f"arn:aws:iam::{ACCOUNT}:role/a"},
        api_role("b", AssumeRolePolicyDocument="%7B%22Version"),
        api_role("c", Arn="arn:aws:s3:::bucket"),
        api_role("d", Tags=[{"Key": "k", "Value": 1}]),
        api_role("e", RolePolicyList=[{"PolicyName": "p"}]),
        api_role("f", PermissionsBoundary="arn"),
        api_role("g", MaxSessionDuration="long"),
        api_role("h", RoleName=""),
    ]
    with pytest.raises(ExportError) as caught:
        read_export(write(tmp_path, {"RoleDetailList": bad}))
    lines = caught.value.lines
    assert [line.split(": ", 2)[1] for line in lines] == [
        "RoleDetailList[0].AssumeRolePolicyDocument",
        "RoleDetailList[1].AssumeRolePolicyDocument",
        "RoleDetailList[2].Arn",
        "RoleDetailList[3].Tags[0].Value",
        "RoleDetailList[4].RolePolicyList[0].PolicyDocument",
        "RoleDetailList[5].PermissionsBoundary",
        "RoleDetailList[6].MaxSessionDuration",
        "RoleDetailList[7].RoleName",
    ], lines
    assert "not an IAM role ARN: 'arn:aws:s3:::bucket'" in lines[2]


def test_roles_of_two_accounts_are_one_export_too_many(tmp_path):
    other = api_role("b", Arn="arn:aws:iam::210987654321:role/b")
    with pytest.raises(ExportError, match=r"roles of 2 accounts \(123456789012, 210987654321\): export one account"):
        read_export(write(tmp_path, {"RoleDetailList": [api_role("a"), other]}))


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(ExportError, match=r"missing\.json: cannot read it: No such file"):
        read_export(tmp_path / "missing.json")
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"RoleDetailList": ["\xe9"]}')
    with pytest.raises(ExportError, match=r"latin1\.json: not UTF-8 text \(byte 21\)"):
        read_export(path)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)  # read as it is opened, it would wait for a writer forever
    with pytest.raises(ExportError, match=r"pipe\.json: not a file to read \(a FIFO \(named pipe\)\)"):
        read_export(fifo)
    with pytest.raises(ExportError, match=r"zero: not a file to read \(a character device\)"):
        read_export(Path("/dev/zero"))


def test_an_export_without_roles_names_its_account_from_its_policies(tmp_path):
    policy = {"PolicyName": "p", "Arn": f"arn:aws:iam::{ACCOUNT}:policy/p", "PolicyVersionList": []}
    export = read_export(write(tmp_path, {"RoleDetailList": [], "Policies": [policy]}))
    assert export.account == ACCOUNT and export.roles == ()
