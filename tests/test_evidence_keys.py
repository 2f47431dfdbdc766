"""`agent-iam tighten` on what components build from other keys, and on matching roles by ARN.

One stack, planned twice (the stack and the proposal) by one `tighten` run shared by the module:
a SaaS role under a path (`/agents/`) in another account of the stack, with S3 locations and KMS
keys; an EC2 agent renamed with `formerNames` whose older sessions carry its former ARN; an ECS
agent allowed every secret. The locations, secrets and keys not used are dropped, `*` becomes the
secret read, and the reasoner proves the proposal narrower and still allowing every request.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agent_iam import exit_codes
from agent_iam.cli import main

STACK = "data"
ACCOUNT, ANALYTICS = "111122223333", "444455556666"
KEY_USED = f"arn:aws:kms:us-east-1:{ANALYTICS}:key/11111111-2222-3333-4444-555555555555"
KEY_UNUSED = f"arn:aws:kms:us-east-1:{ANALYTICS}:key/66666666-7777-8888-9999-000000000000"
DB = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:etl/db-AbCdEf"
API_KEY = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:etl/api-key-GhIjKl"
TOKEN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:report/token-XyZ123"
LAKE = f"arn:aws:iam::{ANALYTICS}:role/agents/lake-vendor"
ETL, ETL_BEFORE = f"arn:aws:iam::{ACCOUNT}:role/etl-worker", f"arn:aws:iam::{ACCOUNT}:role/etl-host"
REPORT_EXECUTION = f"arn:aws:iam::{ACCOUNT}:role/report-agent-execution"
STACK_FILE = f"""\
# Agents of the data platform, across two accounts.
config:
  aws:region: us-east-1
  agent-iam:accountId: "{ACCOUNT}"
  agent-iam:accounts:
    # The analytics account, reached through its deployer role.
    analytics:
      roleArn: arn:aws:iam::{ANALYTICS}:role/agent-iam-deployer
      region: us-east-1
  agent-iam:saasRoles:
    # The lake vendor reads and writes the analytics account's buckets.
    - name: lake-vendor
      account: analytics
      path: /agents/
      vendor:
        principalArn: arn:aws:iam::999988887777:role/lake-reader
      externalId: lake-0a1b2c3d4e5f
      s3Read:
        - acme-lake-raw          # landing zone
        - acme-lake-curated/daily
        - acme-lake-archive      # old exports
        - acme-lake-audit        # no data events logged for it
      s3Write:
        - acme-lake-output       # results
        - acme-lake-staging      # scratch
      kmsKeyArns:
        - {KEY_USED}
        - {KEY_UNUSED}
  agent-iam:ec2Agents:
    # Renamed from etl-host: its role was etl-host until the rename.
    - name: etl-worker
      formerNames: [etl-host]
      secretArns:
        - {DB}
        - {API_KEY}  # the old API
  agent-iam:ecsAgents:
    - name: report-agent
      secretArns: ["*"]
      allowAllSecrets: true
"""


def record(time: str, role: str, source: str, name: str, *, data: bool = False, **extra) -> dict:
    """An API call of a session of `role`, in CloudTrail's shape (a data event with `data`)."""
    account = role.split(":")[4]
    session = role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/").replace("/agents/", "/")
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole", "principalId": "AROAEXAMPLE:s", "arn": session + "/s", "accountId": account,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": role,
                                                 "accountId": account, "userName": role.rsplit("/", 1)[1]},
                               "attributes": {"creationDate": time, "mfaAuthenticated": "false"}},
        },
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9", "userAgent": "agent/1.0", "requestParameters": None,
        "responseElements": None, "eventID": f"{role}-{name}-{time}-{json.dumps(extra, sort_keys=True)}",
        "readOnly": name.startswith(("Get", "List", "Decrypt")), "eventType": "AwsApiCall",
        "managementEvent": not data, "eventCategory": "Data" if data else "Management", "recipientAccountId": account,
        **extra,
    }


def s3_object(time: str, role: str, name: str, bucket: str, key: str) -> dict:
    arn = f"arn:aws:s3:::{bucket}/{key}"
    return record(time, role, "s3.amazonaws.com", name, data=True,
                  requestParameters={"bucketName": bucket, "key": key},
                  resources=[{"type": "AWS::S3::Object", "ARN": arn}, {"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}])


def evidence() -> list[dict]:
    records = []
    for day in range(1, 29):
        time = f"2026-10-{day:02d}T06:00:00Z"
        records += [
            s3_object(time, LAKE, "GetObject", "acme-lake-raw", f"2026/10/{day:02d}/events.parquet"),
            record(time, LAKE, "s3.amazonaws.com", "ListObjects", data=True,
                   requestParameters={"bucketName": "acme-lake-curated", "prefix": f"daily/2026-10-{day:02d}/"},
                   resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::acme-lake-curated"}]),
            s3_object(time, LAKE, "PutObject", "acme-lake-output", f"results/{day:02d}.csv"),
            s3_object(time, LAKE, "GetObject", "acme-lake-staging", "tmp/state.json"),
            record(time, LAKE, "kms.amazonaws.com", "Decrypt", sourceIPAddress="s3.amazonaws.com",
                   requestParameters={"encryptionContext": {"aws:s3:arn": "arn:aws:s3:::acme-lake-raw"}},
                   resources=[{"type": "AWS::KMS::Key", "ARN": KEY_USED}]),
            record(time, REPORT_EXECUTION, "secretsmanager.amazonaws.com", "GetSecretValue",
                   requestParameters={"secretId": TOKEN}),
            # Another principal reads the archive: the trail logs its data events.
            s3_object(time, f"arn:aws:iam::{ANALYTICS}:role/backup", "GetObject", "acme-lake-archive", "2019/x.csv"),
        ]
        # The EC2 agent's role before (the first two weeks) and after its rename.
        role = ETL_BEFORE if day <= 14 else ETL
        records.append(record(time, role, "secretsmanager.amazonaws.com", "GetSecretValue",
                              requestParameters={"secretId": DB}))
    return records


@pytest.fixture(scope="module")
def tightened(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    (root / "stacks").mkdir()
    (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE)
    (root / "logs").mkdir()
    (root / "logs" / "trail.json").write_text(json.dumps({"Records": evidence()}))
    code = main(["tighten", "--stack", STACK, "--stacks-dir", str(root / "stacks"), "--evidence", str(root / "logs"),
                 "--out", str(root / "build")])
    folder = root / "build" / STACK / "tighten"
    proposal = (folder / f"Pulumi.{STACK}.yaml").read_text()
    return code, proposal, YAML(typ="safe").load(proposal)["config"], (folder / "tighten.md").read_text()


def test_roles_are_matched_by_path_account_and_former_name(tightened):
    code, _, _, report = tightened
    assert code == exit_codes.OK
    # The role under /agents/ in the analytics account: its sessions counted (4 S3 calls and a KMS one a day).
    assert f"### role `{LAKE}`\n\nWindow of its sessions: 2026-10-01 06:00 to 2026-10-28 06:00 UTC; 140 allowed" in report
    # The EC2 agent's sessions under its former name count for the entry, and the report says so.
    assert f"### instance role `{ETL}`\n\nWindow of its sessions: 2026-10-01 06:00 to 2026-10-28 06:00 UTC; 28 allowed" in report
    assert (f"Counted with them: 14 event(s) of `{ETL_BEFORE}`, the role under a former name of its entry "
            "(`formerNames`): evidence from before the rename.") in report
    # The backup role of the analytics account is another principal.
    assert "Events of other principals (never counted): 28" in report


def test_unused_locations_keys_and_secrets_are_dropped_and_never_widened(tightened):
    _, proposal, config, report = tightened
    lake = config["agent-iam:saasRoles"][0]
    assert lake["s3Read"] == ["acme-lake-raw", "acme-lake-curated/daily", "acme-lake-audit", "acme-lake-staging"]
    assert lake["s3Write"] == ["acme-lake-output"]
    assert lake["kmsKeyArns"] == [KEY_USED]
    assert config["agent-iam:ec2Agents"][0]["secretArns"] == [DB]
    report_agent = config["agent-iam:ecsAgents"][0]
    assert report_agent["secretArns"] == [TOKEN] and "allowAllSecrets" not in report_agent
    # `["*"]` narrowed keeps its flow style and its quotes: an ARN's colons read as text by every YAML reader.
    assert f'      secretArns: ["{TOKEN}"]\n' in proposal
    for comment in ("# landing zone", "# results", "# Renamed from etl-host"):
        assert comment in proposal
    assert "# old exports" not in proposal and "# scratch" not in proposal and "# the old API" not in proposal
    for line in ("dropped: `acme-lake-archive` from s3Read: no request acted in it",
                 "dropped: `acme-lake-staging` moved from s3Write to s3Read: read, never written",
                 f"dropped: `{KEY_UNUSED}` from kmsKeyArns: no KMS request used it",
                 f"dropped: `{API_KEY}` from secretArns: never read",
                 f"dropped: `*` from secretArns (and allowAllSecrets): only `{TOKEN}` read",
                 "note: `acme-lake-audit` in s3Read kept: the evidence holds no S3 data event of bucket `acme-lake-audit`"):
        assert line in report


def test_the_reasoner_proves_every_role_narrower_and_every_request_kept(tightened):
    _, _, _, report = tightened
    assert "**Proven**" in report
    proofs = [line for line in report.splitlines() if line.startswith("Proof: ")]
    assert len(proofs) == 3  # the ECS task role made no call: no proof line for it
    for line in proofs:
        assert "permissions **narrower than** the role's (each of its statements within one of the role's" in line
        assert "its trust equal to them" in line and "all still allowed." in line
    # Each day's object and listing prefix is its own request; the KMS call through S3 is one.
    assert "86 distinct request(s) checked (conditions evaluated), all still allowed." in report
    # Every key the conditions read for those actions is recorded: nothing was left open.
    assert "checked for every value of what the events do not record" not in report


def test_trust_is_never_narrowed_and_the_report_says_so(tightened):
    _, _, _, report = tightened
    assert report.count("Not narrowed: the trust") == 3  # once per entry


# --- what the evidence cannot show keeps a key (no plan) ---------------------------------------


def _role(*statements: dict, events: int = 1, requests=()):
    from agent_iam.evidence.records import read_file
    from agent_iam.evidence.roles import StackRole
    from agent_iam.model import role_from_documents

    model = role_from_documents("etl-worker", ACCOUNT, identity=[{"Version": "2012-10-17", "Statement": list(statements)}])
    role = StackRole(ETL, ACCOUNT, "etl-worker", "agent-iam:ec2Agents[0]", "etl-worker", "instance role", model)
    (event,), _ = read_file(Path(__file__).parent / "data" / "cloudtrail" / "s3-putobject-data-event.json")
    role.events = [event] * events
    role.requests = list(requests)
    return role, event


def _entry(text: str):
    from agent_iam.evidence.narrow import load_round_trip

    return load_round_trip(text)


SECRETS = {"Sid": "ReadAgentSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [DB, API_KEY]}
ENTRY = f"name: etl-worker\nsecretArns:\n  - {DB}\n  - {API_KEY}\n"


def test_secrets_stay_when_the_evidence_cannot_show_their_use():
    from agent_iam.evidence.narrow import Coverage, EntryChange, dump, narrow_secrets
    from agent_iam.evidence.requests import ObservedRequest

    role, event = _role(SECRETS)
    cases = [
        (Coverage(frozenset(), frozenset({"s3.amazonaws.com"})), [],
         "`secretArns` kept: the evidence holds no Secrets Manager read (a trail that records writes only would not show them)"),
        (Coverage(frozenset(), frozenset({"secretsmanager.amazonaws.com"})),
         [ObservedRequest("secretsmanager:GetSecretValue", (), event)],
         "`secretArns`: a Secrets Manager request named its secret by name, not ARN: left as they are"),
    ]
    for coverage, requests, note in cases:
        role.requests = requests
        yaml, entry = _entry(ENTRY)
        change = EntryChange(role.entry)
        narrow_secrets(entry, [role], coverage, change)
        assert change.notes == [note] and not change.dropped and dump(yaml, entry) == ENTRY
    role.events = []  # its role not seen in the window
    yaml, entry = _entry(ENTRY)
    change = EntryChange(role.entry)
    narrow_secrets(entry, [role], Coverage(frozenset(), frozenset({"secretsmanager.amazonaws.com"})), change)
    assert change.notes == ["`secretArns`: the role that reads them has no event in the window: left as they are"]


def test_kms_keys_and_locations_stay_when_the_evidence_cannot_show_their_use():
    from agent_iam.evidence.narrow import Coverage, EntryChange, dump, narrow_kms_keys, narrow_s3
    from agent_iam.evidence.requests import ObservedRequest

    keys = {"Sid": "Keys", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": [KEY_USED, KEY_UNUSED]}
    role, event = _role(keys)
    text = f"name: lake\nkmsKeyArns:\n  - {KEY_USED}\n  - {KEY_UNUSED}\n"
    yaml, entry = _entry(text)
    change = EntryChange(role.entry)
    narrow_kms_keys(entry, [role], Coverage(frozenset(), frozenset({"s3.amazonaws.com"})), change)
    assert change.notes == ["`kmsKeyArns` kept: the evidence holds no KMS event (a trail may leave KMS events out)"]
    assert dump(yaml, entry) == text
    objects = {"Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reports/*"}
    role, event = _role(objects, requests=[ObservedRequest("s3:GetObject", (), event)])
    text = "name: lake\ns3Read:\n  - acme-reports\n  - acme-other\n"
    yaml, entry = _entry(text)
    change = EntryChange(role.entry)
    narrow_s3(entry, [role], "aws", Coverage(frozenset({"acme-reports", "acme-other"}), frozenset()), change)
    assert change.notes == ["`s3Read`/`s3Write`: some S3 requests named no resource, so which location they used is "
                            "unknown: left as they are"]
    assert dump(yaml, entry) == text
