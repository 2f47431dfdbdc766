"""`agent-iam tighten` and `agent-iam explain` end to end: a vendor role granted ten reads, four weeks of
CloudTrail showing three in use, a preset narrowed with withoutActions, a role never seen, noise of
other principals, and an AccessDenied explained with its fix and the widening it causes.

The scenario's stack is planned a few times (the stack, the proposal, the explained change): each
plan is small (three roles), and the module runs the commands once and shares the results.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from agent_iam import exit_codes
from agent_iam.cli import main
from agent_iam.evidence.requests import ObservedRequest
from agent_iam.evidence.roles import StackRole

DATA = Path(__file__).parent / "data" / "cloudtrail"
ACCOUNT = "111122223333"
STACK = "vendor"
TEN_READS = [
    "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "cloudwatch:DescribeAlarms", "tag:GetResources",
    "tag:GetTagKeys", "ec2:DescribeInstances", "ec2:DescribeVolumes", "logs:DescribeLogGroups",
    "rds:DescribeDBInstances", "lambda:ListFunctions",
]
STACK_FILE = f"""\
# A monitoring vendor onboarded from its setup page.
config:
  aws:region: us-east-1
  agent-iam:accountId: "{ACCOUNT}"
  agent-iam:saasRoles:
    # Acme Monitoring: the ten reads its onboarding page asks for.
    - name: acme-monitoring
      vendor:
        principalArn: arn:aws:iam::999988887777:role/acme-monitoring-reader
      externalId: acme-4f8b2c1d-93e7-4a6b-b5d2-0c9e8f7a6b51
      allowWildcardResources: true   # read-only listing across the account
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: VendorReads
            Effect: Allow
            Action:
              - cloudwatch:GetMetricData     # dashboards
              - cloudwatch:ListMetrics
              - cloudwatch:DescribeAlarms
              - tag:GetResources             # resource inventory
              - tag:GetTagKeys
              - ec2:DescribeInstances        # host map
              - ec2:DescribeVolumes
              - logs:DescribeLogGroups
              - rds:DescribeDBInstances
              - lambda:ListFunctions
            Resource: "*"
    # Datadog, from its preset (the vendor's CloudFormation template).
    - name: datadog-integration
      preset: datadog
      externalId: 0123456789abcdef0123456789abcdef
    # A trial vendor nobody has used yet.
    - name: trial-vendor
      vendor:
        accountId: "444455556666"
      externalId: trial-0d9f8e7c6b5a
      s3Read: [acme-trial-exports]
"""
ACME = f"arn:aws:iam::{ACCOUNT}:role/acme-monitoring"
DATADOG = f"arn:aws:iam::{ACCOUNT}:role/datadog-integration"


def record(time: str, source: str, name: str, role: str = ACME, **extra) -> dict:
    """A management event of a role session, in CloudTrail's shape."""
    session = role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/session-1"
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole", "principalId": "AROAEXAMPLE:session-1", "arn": session, "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEKEY",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": role,
                                                 "accountId": ACCOUNT, "userName": role.rsplit("/", 1)[1]},
                               "attributes": {"creationDate": time, "mfaAuthenticated": "false"}},
        },
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7", "userAgent": "vendor-agent/2.1", "requestParameters": None,
        "responseElements": None, "requestID": "req", "eventID": f"{role}-{name}-{time}", "readOnly": True,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT, **extra,
    }


def write_evidence(folder: Path) -> None:
    """Four weeks of logs in two files (one gzip, in a sub-folder), with noise of other principals."""
    times = [f"2026-10-{day:02d}T{hour:02d}:15:00Z" for day in range(1, 29) for hour in (1, 13)]
    records = []
    for time in times:
        records += [record(time, "monitoring.amazonaws.com", "GetMetricData"),
                    record(time, "tagging.amazonaws.com", "GetResources"),
                    record(time, "ec2.amazonaws.com", "DescribeInstances"),
                    record(time, "monitoring.amazonaws.com", "ListMetrics", role=DATADOG),
                    record(time, "ec2.amazonaws.com", "DescribeVolumes", role=DATADOG)]
    records.append(record(times[9], "logs.amazonaws.com", "PutSubscriptionFilter", role=DATADOG))
    # Noise: another role of the account, the same role name in another account, an IAM user.
    records.append(record(times[5], "logs.amazonaws.com", "DescribeLogGroups", role=f"arn:aws:iam::{ACCOUNT}:role/other"))
    records.append(record(times[6], "rds.amazonaws.com", "DescribeDBInstances", role="arn:aws:iam::777777777777:role/acme-monitoring"))
    user = json.loads((DATA / "s3-putobject-data-event.json").read_text())
    user["userIdentity"] = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "accountId": ACCOUNT}
    records.append(user)
    # A request the vendor's role was refused: never counted as use.
    denied = json.loads((DATA / "ec2-unauthorized-operation.json").read_text())[0]
    records.append(denied)
    half = len(records) // 2
    folder.mkdir(parents=True)
    (folder / "111122223333_CloudTrail_us-east-1_20261015T0000Z_a.json").write_text(json.dumps({"Records": records[:half]}))
    (folder / "2026" / "10").mkdir(parents=True)
    (folder / "2026" / "10" / "111122223333_CloudTrail_us-east-1_20261029T0000Z_b.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": records[half:]}).encode()))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The stack, its evidence, and `agent-iam tighten --write` run once on a copy (code, paths)."""
    root = tmp_path_factory.mktemp("evidence")
    stacks = root / "stacks"
    stacks.mkdir()
    (stacks / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE)
    write_evidence(root / "logs")
    written = root / "written"
    shutil.copytree(stacks, written)
    code = main(["tighten", "--stack", STACK, "--stacks-dir", str(written), "--evidence", str(root / "logs"),
                 "--out", str(root / "build"), "--write", "--min-days", "14"])
    return code, root, root / "build" / STACK / "tighten", written


def _config(text: str) -> dict:
    return YAML(typ="safe").load(text)["config"]


def test_tighten_keeps_exactly_the_three_actions_used_and_the_comments(scenario):
    code, _, folder, _ = scenario
    assert code == exit_codes.OK
    proposal = (folder / f"Pulumi.{STACK}.yaml").read_text()
    acme = _config(proposal)["agent-iam:saasRoles"][0]
    (statement,) = acme["policy"]["Statement"]
    assert statement["Action"] == ["cloudwatch:GetMetricData", "tag:GetResources", "ec2:DescribeInstances"]
    assert statement["Resource"] == "*" and statement["Sid"] == "VendorReads"
    for comment in ("# A monitoring vendor onboarded from its setup page.", "# dashboards", "# resource inventory",
                    "# host map", "# read-only listing across the account", "# A trial vendor nobody has used yet."):
        assert comment in proposal
    # Only the dropped lines (and the preset's narrowing) differ from the stack file.
    removed = [line for line in STACK_FILE.splitlines() if line not in proposal.splitlines()]
    assert sorted(line.strip() for line in removed) == sorted(
        f"- {a}" for a in TEN_READS if a not in ("cloudwatch:GetMetricData", "tag:GetResources", "ec2:DescribeInstances"))


def test_tighten_narrows_a_preset_with_without_actions_never_expanding_it(scenario):
    _, _, folder, _ = scenario
    datadog = _config((folder / f"Pulumi.{STACK}.yaml").read_text())["agent-iam:saasRoles"][1]
    assert datadog["preset"] == "datadog" and "policy" not in datadog
    assert "withoutStatements" not in datadog  # its write statement was used (logs:PutSubscriptionFilter)
    dropped = datadog["withoutActions"]
    assert "logs:DeleteSubscriptionFilter" in dropped and "logs:PutSubscriptionFilter" not in dropped
    assert "cloudwatch:List*" not in dropped and "ec2:Describe*" not in dropped  # used: kept whole, as the preset lists them
    assert "account:GetAccountInformation" in dropped and "logs:DescribeLogGroups" in dropped
    report = (folder / "tighten.md").read_text()
    assert "preset action `ec2:Describe*` kept whole: 1 of its" in report


def test_the_proposal_plans_and_diff_calls_it_a_narrowing(scenario):
    _, _, folder, _ = scenario
    diff = json.loads((folder / "diff.json").read_text())
    assert diff["widening"] is False
    (stack,) = diff["stacks"]
    verdicts = {r["role"]: r["verdict"] for r in stack["roles"]}
    assert verdicts == {"acme-monitoring": "narrowing", "datadog-integration": "narrowing"}
    removed = {c["value"] for r in stack["roles"] if r["role"] == "acme-monitoring" for c in r["changes"]}
    assert removed == set(TEN_READS[1:3] + TEN_READS[4:5] + TEN_READS[6:])
    plan = json.loads((folder / "plan" / STACK / "plan.json").read_text())
    policy = next(r for r in plan["resources"] if r["name"] == "acme-monitoring-role-vendor-access")
    assert json.loads(policy["inputs"]["policy"])["Statement"][0]["Action"] == [
        "cloudwatch:GetMetricData", "tag:GetResources", "ec2:DescribeInstances"]
    # The reasoner, on the two plans' role models, agrees: narrower, with a request only the stack allows.
    from agent_iam.guardrails.rules import Context
    from agent_iam.model import roles_from_views, solver
    from agent_iam.plan.guardrails import views_from_plan

    def models(plan_json: dict) -> dict:
        return {m.key: m for m in roles_from_views(views_from_plan(plan_json, ACCOUNT), Context(account_id=ACCOUNT))}

    before = models(json.loads((folder.parent / "plan.json").read_text()))
    after = models(plan)
    comparison = solver.compare(before[(ACCOUNT, "acme-monitoring")], after[(ACCOUNT, "acme-monitoring")])
    assert comparison.permissions.verdict == solver.NARROWER and comparison.trust.verdict == solver.EQUAL
    assert comparison.permissions.narrower.action in TEN_READS[1:3] + TEN_READS[4:5] + TEN_READS[6:]


def test_report_window_events_kept_dropped_never_seen_and_noise(scenario):
    _, _, folder, _ = scenario
    report = (folder / "tighten.md").read_text()
    assert "from 2026-10-01 01:15 to 2026-10-28 13:15 UTC (27.5 days)" in report
    assert "Events of other principals (never counted): 3" in report
    assert "168 allowed event(s) counted, 1 denied." in report  # acme: 3 x 56, and the refused RunInstances
    assert "| `cloudwatch:GetMetricData` | 56 | Read |" in report
    assert "`monitoring.amazonaws.com` `GetMetricData` -> `cloudwatch:GetMetricData`" in report
    assert "dropped: `lambda:ListFunctions` from statement 'VendorReads': never used" in report
    assert "kept: `ec2:DescribeInstances` in statement 'VendorReads'" in report
    assert "Granted but never seen:\n- inline policy 'vendor-access', statement 'VendorReads': `cloudwatch:ListMetrics`, " in report
    assert "`ec2.amazonaws.com` `RunInstances` (Client.UnauthorizedOperation)" in report
    # The role never seen is left as it is, and says so.
    assert "### role `arn:aws:iam::111122223333:role/trial-vendor`\n\nNever seen in the evidence" in report
    assert "**Proven**" in report
    assert ("Proof: the model shows the proposal's permissions **narrower than** the role's (each of its statements "
            "within one of the role's, conditions kept), its trust equal to them; 3 distinct request(s) checked "
            "(conditions evaluated), all still allowed.") in report


def test_write_narrows_the_stack_file_in_place(scenario):
    _, _, folder, written = scenario
    assert (written / f"Pulumi.{STACK}.yaml").read_text() == (folder / f"Pulumi.{STACK}.yaml").read_text()


def test_unrelated_empty_or_short_evidence_exits_2_and_writes_nothing(scenario, tmp_path: Path):
    _, root, _, _ = scenario
    out = tmp_path / "build"
    others = tmp_path / "others.json"
    others.write_text(json.dumps({"Records": [record("2026-10-01T00:00:00Z", "s3.amazonaws.com", "ListBuckets",
                                                     role="arn:aws:iam::777777777777:role/acme-monitoring")]}))
    empty = tmp_path / "empty.json"
    empty.write_text('{"Records": []}')
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(gzip.compress(b'{"Records": [{"eventSource": "s3.amazonaws.com"}]}'))
    args = ["tighten", "--stack", STACK, "--stacks-dir", str(root / "stacks"), "--out", str(out), "--evidence"]
    assert main([*args, str(empty)]) == exit_codes.CONFIG_ERROR
    assert main([*args, str(broken)]) == exit_codes.CONFIG_ERROR
    assert main([*args, str(root / "logs"), "--min-days", "60"]) == exit_codes.CONFIG_ERROR
    assert not out.exists()  # refused before anything is planned or written
    assert main([*args, str(others)]) == exit_codes.CONFIG_ERROR  # unrelated: known only once the stack is planned
    assert not (out / STACK / "tighten").exists()


def test_errors_say_why(scenario, tmp_path: Path, capsys):
    _, root, _, _ = scenario
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(gzip.compress(b'{"Records": [{"eventSource": "s3.amazonaws.com"}]}'))
    main(["tighten", "--stack", STACK, "--stacks-dir", str(root / "stacks"), "--out", str(tmp_path / "b"),
          "--evidence", str(broken)])
    err = capsys.readouterr().err
    assert "evidence error" in err and f"{broken}: Records[0]: not a CloudTrail event: no eventName, eventTime" in err


def test_explain_an_access_denied_event_with_its_fix_and_widening(scenario, capsys):
    _, root, folder, _ = scenario
    stacks = root / "narrowed"
    stacks.mkdir()
    shutil.copy(folder / f"Pulumi.{STACK}.yaml", stacks)
    event = root / "denied.json"
    event.write_text(json.dumps({"Records": [record(
        "2026-10-29T09:00:00Z", "logs.amazonaws.com", "DescribeLogGroups", errorCode="AccessDeniedException",
        errorMessage=f"User: arn:aws:sts::{ACCOUNT}:assumed-role/acme-monitoring/session-1 is not authorized to perform: "
        f"logs:DescribeLogGroups on resource: arn:aws:logs:us-east-1:{ACCOUNT}:log-group::log-stream: because no "
        "identity-based policy allows the logs:DescribeLogGroups action")]}))
    code = main(["explain", "--stack", STACK, "--stacks-dir", str(stacks), "--out", str(root / "explained"),
                 "--event", str(event)])
    out = capsys.readouterr().out
    assert code == exit_codes.OK
    assert f"Role: {ACME} made by agent-iam:saasRoles[0] (acme-monitoring, its role)" in out
    assert "Denied: logs:DescribeLogGroups on arn:aws:logs:us-east-1:111122223333:log-group::log-stream:" in out
    assert "Why: no statement of the role allows it" in out
    assert "policy.Statement[0] (statement 'VendorReads'), add the action" in out
    assert "+              - logs:DescribeLogGroups" in out
    assert "This change WIDENS access" in out
    assert "acme-monitoring: permissions wider `the role can now call `logs:DescribeLogGroups``" in out  # the diff's witness
    diff = json.loads((root / "explained" / STACK / "explain" / "diff.json").read_text())
    assert diff["widening"] is True
    changed = _config((root / "explained" / STACK / "explain" / f"Pulumi.{STACK}.yaml").read_text())
    assert changed["agent-iam:saasRoles"][0]["policy"]["Statement"][0]["Action"][-1] == "logs:DescribeLogGroups"


def test_explain_a_message_the_plan_does_not_explain_names_the_scp(scenario, capsys):
    _, root, _, _ = scenario
    message = (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/acme-monitoring/s is not authorized to perform: "
               "cloudwatch:GetMetricData on resource: * with an explicit deny in a service control policy")
    code = main(["explain", "--stack", STACK, "--stacks-dir", str(root / "stacks"), "--out", str(root / "scp"),
                 "--message", message])
    out = capsys.readouterr().out
    assert code == exit_codes.OK
    assert ("Why: nothing in the plan explains it: the role's statements allow it (inline policy 'vendor-access' "
            "statement 'VendorReads'); the message names a service control policy (SCP) of the organization") in out
    assert "Fix: outside the stack: a service control policy (SCP) of the organization refuses it" in out
    assert "Smallest stack-file change" not in out and not (root / "scp" / STACK / "explain").exists()


def test_a_preset_statement_none_of_whose_actions_was_used_goes_with_without_statements():
    from agent_iam.evidence.narrow import EntryChange, load_round_trip, narrow_preset
    from agent_iam.evidence.records import read_file

    (event,), _ = read_file(DATA / "s3-putobject-data-event.json")
    role = StackRole(DATADOG, ACCOUNT, "datadog-integration", "agent-iam:saasRoles[0]", "d", "role", None)
    used = [ObservedRequest("cloudwatch:GetMetricData", (), event)]
    _, entry = load_round_trip("name: datadog-integration\npreset: datadog  # the vendor's template\nexternalId: x\n")
    change = EntryChange(role.entry)
    narrow_preset(entry, role, "aws", used, change)
    assert entry["withoutStatements"] == ["DatadogIntegrationWrites"]
    assert list(entry)[:3] == ["name", "preset", "withoutStatements"]  # placed after the preset, not at the end
    # The writes go with their statement: withoutActions names only reads of the kept statement.
    assert "logs:PutSubscriptionFilter" not in entry["withoutActions"] and "cloudwatch:Get*" not in entry["withoutActions"]
    assert "preset statement `DatadogIntegrationWrites`: none of its actions was used (withoutStatements)" in change.dropped
