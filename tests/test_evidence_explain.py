"""`agent-iam explain` for each reason IAM denies a request, decided by the model's evaluator: a
condition not met (the entry's own, and S3's prefix condition built from `s3Read`), a Deny of the
entry's own policy, the permissions boundary. Each says which statement and condition, and gives
the smallest stack-file change where the stack file holds one (planned and diffed: it widens), or
says plainly that the fix is outside it. One stack, shared by the module; each explanation plans it
(and its changed copy) once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agent_iam import exit_codes
from agent_iam.cli import main

STACK = "lake"
ACCOUNT = "111122223333"
STACK_FILE = f"""\
config:
  aws:region: us-east-1
  agent-iam:accountId: "{ACCOUNT}"
  agent-iam:saasRoles:
    - name: lake-reader
      vendor:
        principalArn: arn:aws:iam::999988887777:role/lake
      externalId: lake-reader-0a1b2c
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: ListRaw
            Effect: Allow
            Action: s3:ListBucket
            Resource: arn:aws:s3:::acme-lake
            Condition:
              StringLike:
                s3:prefix: ["raw/*"]   # the landing zone only
    - name: lake-sync
      vendor:
        principalArn: arn:aws:iam::999988887777:role/lake
      externalId: lake-sync-0a1b2c
      s3Read:
        - acme-sync/raw
    - name: lake-writer
      vendor:
        principalArn: arn:aws:iam::999988887777:role/lake
      externalId: lake-writer-0a1b2c
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: Writes
            Effect: Allow
            Action: ["s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject"]
            Resource: arn:aws:s3:::acme-out/*
          - Sid: NoAclOrDelete
            Effect: Deny
            Action: ["s3:PutObjectAcl", "s3:DeleteObject"]
            Resource: arn:aws:s3:::acme-out/*
    - name: lake-bounded
      vendor:
        principalArn: arn:aws:iam::999988887777:role/lake
      externalId: lake-bounded-0a1b2c
      permissionsBoundaryArn: arn:aws:iam::aws:policy/ReadOnlyAccess
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: Writes
            Effect: Allow
            Action: s3:PutObject
            Resource: arn:aws:s3:::acme-out/*
"""


def denied(role: str, name: str, bucket: str, key: str | None = None, **parameters: str) -> dict:
    """An S3 call of a session of the role, refused (S3 writes "Access Denied" alone)."""
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    resources = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    if key:
        resources.insert(0, {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
    return {"Records": [{
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:s", "accountId": ACCOUNT,
                         "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "arn": arn, "accountId": ACCOUNT,
                                                              "userName": role}}},
        "eventTime": "2026-11-02T09:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "errorCode": "AccessDenied",
        "errorMessage": "Access Denied", "eventType": "AwsApiCall", "managementEvent": False,
        "eventCategory": "Data", "recipientAccountId": ACCOUNT, "resources": resources,
        "requestParameters": {"bucketName": bucket, **({"key": key} if key else {}), **parameters},
    }]}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("explain")
    (root / "stacks").mkdir()
    (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE)
    return root


def explain(root: Path, name: str, event: dict, capsys) -> tuple[int, str, Path]:
    (root / f"{name}.json").write_text(json.dumps(event))
    out = root / name
    code = main(["explain", "--stack", STACK, "--stacks-dir", str(root / "stacks"), "--out", str(out),
                 "--event", str(root / f"{name}.json")])
    return code, capsys.readouterr().out, out / STACK / "explain"


def changed_entry(folder: Path, index: int) -> dict:
    return YAML(typ="safe").load((folder / f"Pulumi.{STACK}.yaml").read_text())["config"]["agent-iam:saasRoles"][index]


def test_a_condition_of_the_entrys_own_statement_gets_the_value_the_request_had(stacks, capsys):
    code, out, folder = explain(stacks, "prefix", denied("lake-reader", "ListObjects", "acme-lake", prefix="curated/2026/"), capsys)
    assert code == exit_codes.OK
    assert "Why: a condition was not met: the statements that would allow it do so under conditions" in out
    assert ("  inline policy 'vendor-access' statement 'ListRaw': StringLike s3:prefix ['raw/*'] "
            "(the request had curated/2026/)") in out
    assert "# agent-iam:saasRoles[0]: policy.Statement[0] (statement 'ListRaw'), add `curated/2026/` to StringLike s3:prefix" in out
    assert "This change WIDENS access" in out and "The changed plan still does not allow" not in out
    statement = changed_entry(folder, 0)["policy"]["Statement"][0]
    assert statement["Condition"] == {"StringLike": {"s3:prefix": ["raw/*", "curated/2026/"]}}
    assert 's3:prefix: ["raw/*", "curated/2026/"]' in (folder / f"Pulumi.{STACK}.yaml").read_text()  # quoted alike
    assert "# the landing zone only" in (folder / f"Pulumi.{STACK}.yaml").read_text()
    assert ("the reasoner: the role's permissions become wider: it may now call s3:ListBucket on "
            "arn:aws:s3:::acme-lake with s3:prefix = curated/2026/") in out
    assert json.loads((folder / "diff.json").read_text())["widening"] is True


def test_s3s_prefix_condition_built_from_s3read_gets_the_location(stacks, capsys):
    code, out, folder = explain(stacks, "location", denied("lake-sync", "ListObjects", "acme-sync", prefix="curated/x/"), capsys)
    assert code == exit_codes.OK
    assert ("inline policy 'vendor-access' statement 'ListPrefixesOfAcmeSync': StringLike s3:prefix ['raw/*'] "
            "(the request had curated/x/)") in out
    assert "# agent-iam:saasRoles[1]: s3Read, add the location (s3:prefix is built from it)" in out
    assert changed_entry(folder, 1)["s3Read"] == ["acme-sync/raw", "acme-sync/curated/x"]
    assert "This change WIDENS access" in out and "The changed plan still does not allow" not in out


def test_a_deny_of_the_entrys_own_policy_is_narrowed_by_the_action_it_names(stacks, capsys):
    event = denied("lake-writer", "PutObjectAcl", "acme-out", "reports/1.csv")
    code, out, folder = explain(stacks, "deny", event, capsys)
    assert code == exit_codes.OK
    assert "Why: a Deny statement refuses it: inline policy 'vendor-access' statement 'NoAclOrDelete'" in out
    assert "policy.Statement[1] (statement 'NoAclOrDelete'), take `s3:PutObjectAcl` out of the Deny's Action" in out
    assert changed_entry(folder, 2)["policy"]["Statement"][1]["Action"] == "s3:DeleteObject"
    assert "This change WIDENS access" in out and "The changed plan still does not allow" not in out


def test_the_boundary_the_stack_file_sets_is_named_with_its_line_and_the_fix_outside_it(stacks, capsys):
    code, out, folder = explain(stacks, "boundary", denied("lake-bounded", "PutObject", "acme-out", "reports/1.csv"), capsys)
    assert code == exit_codes.OK
    assert ("Why: the permissions boundary 'ReadOnlyAccess' does not allow it (the role's own statements do: "
            "inline policy 'vendor-access' statement 'Writes')") in out
    line = STACK_FILE.splitlines().index("      permissionsBoundaryArn: arn:aws:iam::aws:policy/ReadOnlyAccess") + 1
    assert (f"Fix: the stack file sets the boundary (arn:aws:iam::aws:policy/ReadOnlyAccess) with the entry's "
            f"permissionsBoundaryArn ({stacks / 'stacks' / f'Pulumi.{STACK}.yaml'}:{line}), but its content is managed "
            "outside the stack") in out
    assert "Smallest stack-file change" not in out and not folder.exists()


# --- reasons whose fix is outside the stack file (the model built directly: no plan) ------------


def _explained(role, request, entry_yaml: str = "name: r\n", context=None):
    from agent_iam.evidence.explain import Denied, Explanation, diagnose, propose
    from agent_iam.evidence.narrow import load_round_trip
    from agent_iam.evidence.roles import StackRole

    first, *rest = entry_yaml.splitlines()
    _, tree = load_round_trip("config:\n  agent-iam:saasRoles:\n" + f"    - {first}\n" + "".join(f"      {line}\n" for line in rest))
    stack_role = StackRole(f"arn:aws:iam::{ACCOUNT}:role/r", ACCOUNT, "r", "agent-iam:saasRoles[0]", "r", "role", role)
    explanation = Explanation(Denied(ACCOUNT, "r", request.action, request.resource, "--message"), stack_role)
    diagnose(explanation, role, request, context)
    snippet = propose(explanation, tree, tree["config"]["agent-iam:saasRoles"][0], stack_role, role, request,
                      Path("Pulumi.lake.yaml"))
    return explanation, snippet


def test_a_deny_of_the_boundary_or_an_aws_managed_policy_is_outside_the_stack_file():
    from agent_iam.model import Request, role_from_documents

    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    boundary = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}]}
    role = role_from_documents("r", ACCOUNT, identity=[allow], boundary=boundary)
    explanation, snippet = _explained(role, Request(None, "s3:DeleteObject", "arn:aws:s3:::acme-out/x"))
    assert explanation.why == "a Deny statement refuses it: permissions boundary 'boundary' statement 'NoDeletes'"
    assert snippet == "" and explanation.fix == (
        "permissions boundary 'boundary' statement 'NoDeletes': the boundary's content is managed outside the stack")


def test_a_condition_the_message_cannot_tell_names_the_key_and_gives_no_value():
    from agent_iam.model import Request, role_from_documents

    tagged = {"Version": "2012-10-17", "Statement": [{
        "Sid": "Tagged", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}}}]}
    role = role_from_documents("r", ACCOUNT, identity=[tagged])
    entry = ('name: r\npolicy:\n  Version: "2012-10-17"\n  Statement:\n    - Sid: Tagged\n      Effect: Allow\n'
             '      Action: s3:GetObject\n      Resource: "*"\n      Condition:\n        StringEquals:\n'
             '          aws:ResourceTag/team: data\n')
    explanation, snippet = _explained(role, Request(None, "s3:GetObject", "arn:aws:s3:::acme-out/x"), entry)
    assert explanation.reason == "condition"
    assert explanation.details == ["inline policy 'policy-1' statement 'Tagged': StringEquals aws:ResourceTag/team "
                                   "['data'] (the request had no aws:ResourceTag/team the message records)"]
    assert snippet == "" and "no value of the request to add" in explanation.fix
