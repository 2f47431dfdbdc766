"""Generated account exports in the real format's shapes: whatever an account holds, `agent-iam import`
reads it, sorts every role (imported, not imported or left out, each with a reason) and writes a stack
file that reads back as written; a file that is not an export is refused naming it. Never a traceback.

Shapes: the CLI's objects and the API's URL-encoded documents, pages, empty lists, missing optional
fields, odd unicode, huge documents, every principal kind, conditions agent-iam writes and ones it
does not. The plan of a generated stack is the end-to-end test's (one plan takes seconds); a soak run
plans each example too: ADOPT_FUZZ_PLAN=1 FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/test_adopt_fuzz.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_iam.adopt.export import ExportError, read_export
from conftest import fuzz_examples
from agent_iam.adopt.run import IMPORTED, LEFT, REFUSED, choose_region, import_account, prepare

# About 0.1 s an example (reading, sorting, the stack config's checks and a read-back per export): a quarter
# of the suite's count by default.
EXAMPLES = fuzz_examples(1 / 4)
PLAN = os.environ.get("ADOPT_FUZZ_PLAN") == "1"
ACCOUNT = "123456789012"
VENDOR = "956993596390"
GH = "token.actions.githubusercontent.com"
EKS = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
SCRATCH = Path(tempfile.mkdtemp(prefix="adopt-fuzz-"))

odd = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # any Unicode but lone surrogates
huge = st.just("x" * 20_000)
principal = st.one_of(
    st.sampled_from([
        {"Service": "ec2.amazonaws.com"}, {"Service": ["pods.eks.amazonaws.com", "ecs-tasks.amazonaws.com"]},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"AWS": VENDOR}, {"AWS": f"arn:aws:iam::{VENDOR}:root"},
        {"AWS": f"arn:aws:iam::{VENDOR}:role/scanner"}, {"AWS": [f"arn:aws:iam::{VENDOR}:role/a", f"arn:aws:iam::{VENDOR}:user/b"]},
        {"AWS": "210987654321"}, {"AWS": "*"}, "*",
        {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GH}"},
        {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{EKS}"},
        {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"},
        {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/ci.example.com"},
        {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Okta"}, {"Federated": "cognito-identity.amazonaws.com"},
        {"Federated": f"arn:aws:iam::210987654321:oidc-provider/{GH}"},
        {"Service": "ec2.amazonaws.com", "AWS": VENDOR}, {},
    ]),
    st.dictionaries(st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser"]), st.one_of(odd, st.lists(odd, max_size=2)), max_size=2),
)
condition_key = st.one_of(st.sampled_from([
    "sts:ExternalId", "aws:PrincipalArn", "aws:SourceIp", "aws:PrincipalOrgID", f"{GH}:sub", f"{GH}:aud",
    f"{GH}:repository_id", f"{GH}:job_workflow_ref", f"{EKS}:sub", f"{EKS}:aud", "gitlab.com:sub", "ci.example.com:sub",
    "ci.example.com:aud", "aws:ResourceTag/team",
]), odd)
condition_value = st.one_of(
    st.sampled_from(["vendor-external-1", f"arn:aws:iam::{VENDOR}:role/scan*", "repo:acme/app:ref:refs/heads/main",
                     "repo:acme/*", "repo:acme/app:*", "system:serviceaccount:kube-system:lbc", "system:serviceaccount:*:*",
                     "project_path:acme/infra:ref_type:branch:ref:main", "sts.amazonaws.com", "702146185", "*", "true"]),
    st.booleans(), st.integers(-(2**70), 2**70), st.none(), odd, huge,
)
conditions = st.dictionaries(
    st.one_of(st.sampled_from(["StringEquals", "StringLike", "ArnLike", "IpAddress", "Bool", "Null",
                               "ForAnyValue:StringEquals", "StringEqualsIfExists"]), odd),
    st.dictionaries(condition_key, st.one_of(condition_value, st.lists(condition_value, max_size=3)), max_size=3),
    max_size=2,
)


def statement(identity: bool) -> st.SearchStrategy[dict[str, Any]]:
    actions = (st.sampled_from(["s3:GetObject", "s3:*", "*", "iam:PassRole", "ec2:Describe*", "kms:Decrypt"])
               if identity else st.sampled_from(["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:TagSession",
                                                 "sts:AssumeRoleWithSAML"]))
    optional: dict[str, Any] = {
        "Sid": st.one_of(st.from_regex(r"[A-Za-z0-9]{0,8}", fullmatch=True), odd),
        "Condition": st.one_of(conditions, odd),
        "NotAction": actions,
    }
    if identity:
        optional |= {"Resource": st.one_of(st.sampled_from(["*", "arn:aws:s3:::b/*", "arn:aws:iam::*:role/*"]), odd,
                                          st.lists(st.sampled_from(["*", "arn:aws:s3:::b"]), max_size=3)),
                     "Principal": principal}
    else:
        optional["Principal"] = principal
        optional["NotPrincipal"] = principal
    return st.fixed_dictionaries(
        {"Effect": st.sampled_from(["Allow", "Allow", "Allow", "Deny", "allow"]),
         "Action": st.one_of(actions, st.lists(actions, max_size=3))},
        optional=optional,
    )


def document(identity: bool) -> st.SearchStrategy[dict[str, Any]]:
    statements = st.lists(statement(identity), min_size=0, max_size=3)
    big = st.builds(lambda s: [s] * 400, statement(identity))  # a huge document
    return st.fixed_dictionaries(
        {"Statement": st.one_of(statements, statement(identity), big if identity else statements)},
        optional={"Version": st.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17", "2013-01-01"]), "Id": odd},
    )


def encoded(doc: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """A document as the CLI (an object) or the API (URL-encoded JSON text) gives it."""
    return doc.flatmap(lambda d: st.sampled_from([d, quote(json.dumps(d), safe=""), json.dumps(d)]))


@st.composite
def role(draw: Any) -> dict[str, Any]:
    name = draw(st.one_of(st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,64}", fullmatch=True), odd.filter(bool)))
    path = draw(st.sampled_from(["/", "/ci/", "/aws-service-role/support.amazonaws.com/", "/a b/"]))
    item: dict[str, Any] = {"RoleName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
                            "AssumeRolePolicyDocument": draw(encoded(document(False)))}
    optional = {
        "Path": st.just(path), "RoleId": odd,
        "CreateDate": st.sampled_from(["2023-04-12T09:15:22+00:00", "2019-12-18 19:10:08+00:00", "2020-12-02T06:34:08.000Z"]),
        "RolePolicyList": st.lists(st.fixed_dictionaries({"PolicyName": odd.filter(bool),
                                                          "PolicyDocument": encoded(document(True))}), max_size=3),
        "AttachedManagedPolicies": st.lists(st.fixed_dictionaries({
            "PolicyName": odd,
            "PolicyArn": st.sampled_from(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess",
                                          "arn:aws:iam::aws:policy/NoSuchPolicy", f"arn:aws:iam::{ACCOUNT}:policy/Listed",
                                          f"arn:aws:iam::{ACCOUNT}:policy/Unlisted", f"arn:aws:iam::{VENDOR}:policy/Theirs"])}),
            max_size=3),
        "PermissionsBoundary": st.one_of(st.just({}), st.fixed_dictionaries({
            "PermissionsBoundaryType": st.just("Policy"),
            "PermissionsBoundaryArn": st.sampled_from([f"arn:aws:iam::{ACCOUNT}:policy/B", "arn:aws:iam::aws:policy/PowerUserAccess"])})),
        "Tags": st.lists(st.fixed_dictionaries({"Key": st.one_of(odd, st.just("aws:cloudformation:stack-name")),
                                                "Value": st.one_of(odd, huge)}), max_size=55),
        "RoleLastUsed": st.one_of(st.just({}), st.fixed_dictionaries({}, optional={
            "LastUsedDate": st.just("2026-11-28T06:00:00+00:00"), "Region": st.sampled_from(["eu-west-1", "us-east-1", "nowhere-1"])})),
        "InstanceProfileList": st.just([]), "MaxSessionDuration": st.sampled_from([3600, 43200, 999999]), "Description": odd,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            item[key] = draw(strategy)
    return item


policies = st.lists(st.fixed_dictionaries(
    {"PolicyName": st.just("Listed"), "Arn": st.just(f"arn:aws:iam::{ACCOUNT}:policy/Listed")},
    optional={"Path": st.just("/"), "DefaultVersionId": st.just("v1"),
              "PolicyVersionList": st.lists(st.fixed_dictionaries({"Document": encoded(document(True)), "VersionId": st.just("v1"),
                                                                   "IsDefaultVersion": st.booleans()}), max_size=2)}),
    max_size=1)

exports = st.fixed_dictionaries(
    {"RoleDetailList": st.lists(role(), max_size=6, unique_by=lambda r: r["Arn"])},
    optional={"Policies": policies, "UserDetailList": st.just([]), "GroupDetailList": st.just([])},
).flatmap(lambda e: st.sampled_from([e, [e], [e, {"RoleDetailList": [], "IsTruncated": False}]]))


def write(data: Any, name: str = "details.json") -> Path:
    path = SCRATCH / name
    path.write_text(json.dumps(data, ensure_ascii=bool(len(str(data)) % 2)), encoding="utf-8")
    return path


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(exports)
def test_any_account_export_imports_without_a_traceback(data):
    path = write(data)
    try:
        export = read_export(path)
    except ExportError as exc:  # only a role without the role shape makes the file no export
        assert str(exc).startswith(str(path)) and "RoleDetailList" in str(exc) or "lists no role" in str(exc), exc
        return
    region, reason = choose_region(export)
    prepared = prepare(export, "fuzz", region, reason)  # reads its own text back, or refuses the role that breaks it
    assert sorted(o.role.arn for o in prepared.outcomes) == sorted(r.arn for r in export.roles)
    for outcome in prepared.outcomes:
        assert outcome.status in (IMPORTED, REFUSED, LEFT)
        if outcome.status == IMPORTED:
            assert outcome.entry is not None and outcome.entry["name"] == outcome.role.name
        else:
            assert outcome.reason.strip(), outcome
        if outcome.role.service_linked or outcome.status == LEFT:
            assert outcome.status != IMPORTED
    imported = {o.role.name for o in prepared.outcomes if o.status == IMPORTED}
    written = {e["name"] for key, value in prepared.config.items() if isinstance(value, list) for e in value}
    assert written == imported
    if PLAN and imported:
        out = Path(tempfile.mkdtemp(dir=SCRATCH))
        import_account(path, "fuzz", out, out / "build", out=out)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.one_of(
    st.binary(max_size=40).map(lambda b: b"\xff" + b),
    st.sampled_from([b"", b"{", b"[]", b"[1]", b"null", b'{"Roles": []}', b'{"RoleDetailList": 5}',
                     b'{"RoleDetailList": [{"RoleName": 1}]}', b'{"RoleDetailList": [], "Policies": [{}]}',
                     b'{"RoleDetailList": [{"Arn": "NaN"}], "x": NaN}', b'{"a": 1e999}', b'{"RoleDetailList": ["\\ud800"]}',
                     b"[" * 100_000]),
))
def test_a_file_that_is_no_export_is_refused_naming_it(content):
    path = SCRATCH / "bad.json"
    path.write_bytes(content)
    try:
        read_export(path)
    except ExportError as exc:
        assert str(exc).startswith(str(path)), exc
    else:
        raise AssertionError(f"read as an export: {content[:60]!r}")
