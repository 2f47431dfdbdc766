"""Vendor presets and IAM user principals: the vendor's documented trust and permissions from a
few lines of stack config, narrowed never widened, and every preset judged by the guardrails
and the IAM validator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from agent_iam import presets
from agent_iam.plan.__main__ import main
from conftest import ACCOUNT, ROOT, assert_config_error, config_with, inline_policy_of, trust_of

SNOWFLAKE_USER = "arn:aws:iam::987654321098:user/abc1-b-self1234"
SNOWFLAKE_EXTERNAL_ID = "ACME_SFCRole=2_a1b2c3d4e5f6g7h8i9j0k1l2m3n4="
EXTERNAL_ID = "9c2b7d1e4f6a48b3a0c5e7d9f1b3a5c7"
ROLE = "aws:iam/role:Role"

# One entry per preset, with only what is the customer's.
ENTRIES = {
    "datadog": {"preset": "datadog", "externalId": EXTERNAL_ID},
    "snowflake": {
        "preset": "snowflake",
        "vendor": {"principalArn": SNOWFLAKE_USER},
        "externalId": SNOWFLAKE_EXTERNAL_ID,
        "s3Write": ["acme-lake/snowflake"],
    },
    "databricks": {"preset": "databricks", "externalId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
    "fivetran": {"preset": "fivetran", "externalId": "acme_group_id", "s3Read": ["acme-exports/fivetran"]},
    "upsolver": {
        "preset": "upsolver",
        "vendor": {"principalArn": "arn:aws:iam::949275490180:role/upsolver-org-acme-7f3c2a9e"},
        "externalId": EXTERNAL_ID,
        "s3Read": ["acme-lake/raw"],
        "s3Write": ["acme-lake/upsolver"],
    },
    "qwak": {"preset": "qwak", "s3Read": ["acme-ml-training"]},
    "matillion": {
        "preset": "matillion",
        "secretArns": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:matillion/agent-key-Hk3Lm9"],
    },
    "causely": {"preset": "causely", "mode": "pod-identity", "cluster": "platform"},
    "vanta": {"preset": "vanta", "vendor": {"principalArn": "arn:aws:iam::956993596390:role/scanner"}, "externalId": EXTERNAL_ID},
    "wiz": {
        "preset": "wiz",
        "vendor": {"principalArn": "arn:aws:iam::197171649850:role/prod-us20-AssumeRoleDelegator"},
        "externalId": EXTERNAL_ID,
    },
    "new-relic": {"preset": "new-relic", "externalId": "3141592"},
    "crowdstrike": {
        "preset": "crowdstrike",
        "vendor": {"principalArn": "arn:aws:iam::292230061137:role/CrowdStrikeCSPMConnector"},
        "externalId": EXTERNAL_ID,
    },
    "aws-load-balancer-controller": {"preset": "aws-load-balancer-controller", "mode": "irsa", "cluster": "platform"},
    "external-dns": {"preset": "external-dns", "mode": "pod-identity", "cluster": "platform", "namespace": "external-dns"},
    "cert-manager": {"preset": "cert-manager", "mode": "pod-identity", "cluster": "platform"},
    "ebs-csi-driver": {"preset": "ebs-csi-driver", "mode": "pod-identity", "cluster": "platform"},
    "karpenter": {
        "preset": "karpenter", "mode": "pod-identity", "cluster": "platform", "clusterName": "acme-platform",
        "region": "eu-west-1", "nodeRoleArn": f"arn:aws:iam::{ACCOUNT}:role/KarpenterNodeRole-acme",
        "interruptionQueueArn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:acme-platform",
    },
    "cluster-autoscaler": {"preset": "cluster-autoscaler", "mode": "irsa", "cluster": "platform"},
}
# Every preset plans from a stack entry: its published documents are placed on the role (policyFiles' placement).
PLANNED = presets.names()
CLUSTERS = {
    "platform": {
        "name": "acme-platform", "kubeContext": "platform",
        "oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/5C9E2A7F41B3D8E06A1F9C4B2D7E3A18",
    }
}


def entry(preset: str, **extra):
    return {"name": f"{preset}-role", **ENTRIES[preset], **extra}


def preset_config(name: str, **extra):
    """A stack config with the preset's example entry in its family."""
    family = presets.load(name).family
    keys = {family: [entry(name, **extra)]}
    if family == "serviceAccounts":
        keys["clusters"] = CLUSTERS
    return config_with(**keys)


def test_every_shipped_preset_has_an_example_here():
    assert sorted(ENTRIES) == list(presets.names())


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_cites_its_source_and_check_date(name):
    preset = presets.load(name)
    assert preset.name == name
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", preset.version)
    assert preset.sources and preset.summary
    assert preset.label == f"{name}@{preset.version}"


def test_unknown_preset_says_which_exist():
    assert_config_error(
        {"saasRoles": [{"name": "dd", "preset": "datadogg", "externalId": EXTERNAL_ID}]},
        "agent-iam:saasRoles[0].preset: unknown preset 'datadogg'; did you mean 'datadog'?",
    )


# --- the done-when cases ---------------------------------------------------------------


def test_datadog_integration_plans_from_a_few_lines(plan_stack):
    run = plan_stack(config_with(saasRoles=[entry("datadog")]))
    assert trust_of(run, "datadog-role-role")["Statement"] == [
        {
            "Sid": "VendorAssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::464622532012:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
        }
    ]
    policy = inline_policy_of(run, "datadog-role-role-vendor-access")
    assert policy["Statement"] == presets.documents(presets.load("datadog"), account_id=ACCOUNT)["Statement"]
    writes = next(s for s in policy["Statement"] if s["Sid"] == "DatadogIntegrationWrites")
    assert writes["Action"] == [
        "events:CreateEventBus",
        "logs:DeleteSubscriptionFilter",
        "logs:PutSubscriptionFilter",
        "s3:PutBucketNotification",
        "sns:Publish",
    ]
    role = run.named(ROLE, "datadog-role-role")
    assert role.inputs["tags"]["agent-iam:preset"] == f"datadog@{presets.load('datadog').version}"
    assert any(
        "may call the actions of DatadogIntegrationReads, DatadogIntegrationWrites on Resource '*', as preset datadog@" in w
        for w in run.warnings
    )


def test_snowflake_storage_integration_trusts_its_iam_user_with_the_external_id(plan_stack):
    run = plan_stack(config_with(saasRoles=[entry("snowflake", s3Read=["acme-lake/raw"])]))
    assert trust_of(run, "snowflake-role-role")["Statement"] == [
        {
            "Sid": "VendorAssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": SNOWFLAKE_USER},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": SNOWFLAKE_EXTERNAL_ID}},
        }
    ]
    assert inline_policy_of(run, "snowflake-role-role-vendor-access")["Statement"] == [
        {
            "Sid": "SnowflakeReadObjectVersions",
            "Effect": "Allow",
            "Action": "s3:GetObjectVersion",
            "Resource": ["arn:aws:s3:::acme-lake/raw/*", "arn:aws:s3:::acme-lake/snowflake/*"],
        },
        {
            "Sid": "SnowflakeWriteObjectVersions",
            "Effect": "Allow",
            "Action": "s3:DeleteObjectVersion",
            "Resource": "arn:aws:s3:::acme-lake/snowflake/*",
        },
        {"Sid": "SnowflakeBucketLocation", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": "arn:aws:s3:::acme-lake"},
        {
            "Sid": "ListPrefixesOfAcmeLake",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::acme-lake",
            "Condition": {"StringLike": {"s3:prefix": ["raw/*", "snowflake/*"]}},
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::acme-lake/raw/*", "arn:aws:s3:::acme-lake/snowflake/*"],
        },
        {
            "Sid": "WriteObjects",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": "arn:aws:s3:::acme-lake/snowflake/*",
        },
    ]


def test_snowflake_without_the_preset_is_a_user_principal_with_an_external_id(plan_stack):
    """Issue item 2: a vendor's IAM *user* is a principal like a role, never a whole account."""
    run = plan_stack(
        config_with(
            saasRoles=[
                {"name": "sf", "vendor": {"principalArn": SNOWFLAKE_USER}, "externalId": "abc", "s3Read": ["acme-lake/raw"]}
            ]
        )
    )
    assert trust_of(run, "sf-role")["Statement"][0]["Principal"] == {"AWS": SNOWFLAKE_USER}
    assert_config_error(
        {"saasRoles": [{"name": "sf", "vendor": {"principalArn": SNOWFLAKE_USER}, "s3Read": ["acme-lake/raw"]}]},
        f"agent-iam:saasRoles[0].externalId: required: the vendor user {SNOWFLAKE_USER} is in another account",
    )
    assert_config_error(
        {"saasRoles": [{"name": "sf", "vendor": {"principalArn": "arn:aws:iam::987654321098:user/*"}, "externalId": "ab"}]},
        "agent-iam:saasRoles[0].vendor.principalArn: a wildcard principal",
    )


# --- narrowing, never widening -----------------------------------------------------------


def test_a_preset_is_narrowed_by_actions_and_statements(plan_stack):
    run = plan_stack(
        config_with(
            saasRoles=[
                entry("datadog", withoutStatements=["DatadogIntegrationWrites"], withoutActions=["cloudtrail:LookupEvents"])
            ]
        )
    )
    statements = inline_policy_of(run, "datadog-role-role-vendor-access")["Statement"]
    assert [s["Sid"] for s in statements] == ["DatadogIntegrationReads"]
    assert "cloudtrail:LookupEvents" not in statements[0]["Action"]
    assert "cloudtrail:LookupTrails" not in statements[0]["Action"]
    assert len(statements[0]["Action"]) == len(presets.load("datadog").statements[0]["Action"]) - 1


def test_the_entrys_own_policy_keeps_every_opt_in(plan_stack):
    wide = {"Version": "2012-10-17", "Statement": [{"Sid": "More", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}
    assert_config_error(
        {"saasRoles": [entry("datadog", policy=wide)]},
        'agent-iam:saasRoles[0].policy: an Allow statement has Resource "*"',
    )
    scoped = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "More", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q"}],
    }
    run = plan_stack(config_with(saasRoles=[entry("datadog", policy=scoped)]))
    sids = [s["Sid"] for s in inline_policy_of(run, "datadog-role-role-vendor-access")["Statement"]]
    assert sids == ["DatadogIntegrationReads", "DatadogIntegrationWrites", "More"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (entry("datadog", withoutActions=["cloudtrail:LookupEvent"]), "withoutActions[0]: preset datadog lists no action 'cloudtrail:LookupEvent'; did you mean 'cloudtrail:LookupEvents'?"),
        (entry("datadog", withoutStatements=["Writes"]), "withoutStatements[0]: preset datadog has no statement 'Writes'"),
        (entry("datadog", vendor={"accountId": "222222222222"}), "vendor.accountId: is set by preset datadog (Datadog AWS integration: account 464622532012); remove it"),
        ({"name": "dd", "preset": "datadog"}, "externalId: required by preset datadog"),
        (entry("datadog", presetVersion="2020-01-01"), "presetVersion: preset datadog is now version"),
        ({"name": "sf", "preset": "snowflake", "externalId": "ab", "s3Read": ["b-1"]}, "vendor.principalArn: preset snowflake trusts the user you name: set vendor.principalArn"),
        (entry("snowflake", vendor={"principalArn": "arn:aws:iam::987654321098:role/x"}), "vendor.principalArn: preset snowflake trusts an IAM user"),
        ({"name": "sf", "preset": "snowflake", "vendor": {"principalArn": SNOWFLAKE_USER}, "externalId": "ab"}, "s3Read: preset snowflake reads the locations you list"),
        ({"name": "x", "vendor": {"accountId": "222222222222"}, "externalId": "ab", "withoutActions": ["s3:GetObject"]}, "withoutActions: applies to an entry with a preset only"),
    ],
)
def test_preset_errors_name_the_key(values, expected):
    assert_config_error({"saasRoles": [values]}, f"agent-iam:saasRoles[0].{expected}")


def test_presets_only_narrow_the_preset_never_other_statements():
    preset = presets.load("datadog")
    narrowed = presets.statements(preset, partition="aws", account_id=ACCOUNT, without_actions=preset.actions())
    assert narrowed == []
    full = presets.statements(preset, partition="aws", account_id=ACCOUNT)
    assert [a for s in full for a in presets.as_list(s["Action"])] == preset.actions()


def test_the_vendors_extra_s3_actions_can_be_dropped_but_agent_iams_own_stay(plan_stack):
    run = plan_stack(config_with(saasRoles=[entry("snowflake", withoutActions=["s3:DeleteObjectVersion"])]))
    statements = inline_policy_of(run, "snowflake-role-role-vendor-access")["Statement"]
    actions = [a for s in statements for a in presets.as_list(s["Action"])]
    assert "s3:DeleteObjectVersion" not in actions
    assert {"s3:GetObjectVersion", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject"} <= set(actions)


def test_placeholders_are_filled_with_the_roles_own_partition_and_account():
    statements = presets.statements(presets.load("databricks"), partition="aws-us-gov", account_id=ACCOUNT)
    spot = next(s for s in statements if s["Sid"] == "DatabricksSpotServiceLinkedRole")
    assert spot["Resource"] == f"arn:aws-us-gov:iam::{ACCOUNT}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"
    assert "${" not in json.dumps(statements)


# --- every preset judged -------------------------------------------------------------------


@pytest.mark.parametrize("name", PLANNED)
def test_every_preset_passes_the_guardrails_and_the_iam_validator(name, tmp_path, iam_services):
    """In mandatory mode the preset's example entry plans with exit 0: no guardrail violation and no
    blocking IAM finding (validator or peer scanner) but those the preset accepts, each with its reason;
    and without its acceptances (a stack that forbids exceptions refuses the preset) it would block."""
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = preset_config(name)
    (stacks / "Pulumi.vendor.yaml").write_text(yaml.safe_dump({"config": config}))
    code = main(["--stack", "vendor", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"])
    written = json.loads((tmp_path / "build" / "vendor" / "plan.json").read_text())
    preset = presets.load(name)
    assert code == 0, (written["violations"], [f for f in written["iamFindings"] if f["severity"] in ("critical", "high")])
    parameters = {p.key: config["agent-iam:" + preset.family][0].get(p.key) for p in preset.parameters}
    accepted = {
        (f.check, f.sid, f.document, f.statement)
        for f in presets.acceptances(preset, {k: v for k, v in parameters.items() if v is not None}, "aws")
    }
    for violation in written["violations"]:  # every violation left is the preset's, accepted with its reason
        key = violation["acceptAs"]
        assert (key["check"], key.get("sid"), key.get("document"), key.get("statement")) in accepted
        assert violation["accepted"].startswith(f"preset {preset.label}: ")
    rows = {(row["check"], row.get("sid"), row.get("document"), row.get("statement")) for row in written["acceptedFindings"]}
    assert rows == accepted  # each of the preset's acceptances matched a real finding: none is stale


def test_a_stack_without_exceptions_refuses_a_preset_that_carries_acceptances():
    assert_config_error(
        {"guardrails": {"allowAcceptedFindings": False}, "saasRoles": [entry("databricks")]},
        "agent-iam:saasRoles[0].preset: preset databricks carries reviewed acceptances",
    )


def test_narrowing_away_an_accepted_statement_leaves_no_stale_acceptance(tmp_path, iam_services):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = config_with(saasRoles=[entry("datadog", withoutStatements=["DatadogIntegrationWrites"])])
    (stacks / "Pulumi.vendor.yaml").write_text(yaml.safe_dump({"config": config}))
    code = main(["--stack", "vendor", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"])
    written = json.loads((tmp_path / "build" / "vendor" / "plan.json").read_text())
    assert (code, written["violations"], written["acceptedFindings"]) == (0, [], [])


def test_docs_show_every_presets_documents():
    """docs/presets.md is generated from the data (`python -m agent_iam.presets`), never by hand."""
    from agent_iam.presets.__main__ import render

    assert (ROOT / "docs" / "presets.md").read_text() == render()


def test_matillion_preset_trusts_ecs_tasks_and_ec2_and_needs_the_secrets(plan_stack):
    run = plan_stack(preset_config("matillion"))
    principals = [s["Principal"] for s in trust_of(run, "matillion-role-task")["Statement"]]
    assert principals == [{"Service": "ecs-tasks.amazonaws.com"}, {"Service": "ec2.amazonaws.com"}]
    assert run.named(ROLE, "matillion-role-execution").inputs["tags"]["agent-iam:preset"].startswith("matillion@")
    assert_config_error(
        {"ecsAgents": [{"name": "m", "preset": "matillion"}]},
        "agent-iam:ecsAgents[0].secretArns: required by preset matillion",
    )
    overridden = plan_stack(preset_config("matillion", trustEc2=False))
    assert len(trust_of(overridden, "matillion-role-task")["Statement"]) == 1


def test_causely_preset_names_the_guides_service_account(plan_stack):
    run = plan_stack(preset_config("causely"))
    association = run.named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "causely-role-association")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("causely", "causely-mediator")
    assert_config_error(
        {"clusters": CLUSTERS, "serviceAccounts": [{"name": "c", "preset": "causely", "cluster": "platform"}]},
        "agent-iam:serviceAccounts[0].mode: required, but not set",  # every entry names its mode
    )
    assert_config_error(
        {"clusters": CLUSTERS, "serviceAccounts": [{"name": "c", "preset": "datadog", "mode": "pod-identity", "cluster": "platform"}]},
        "agent-iam:serviceAccounts[0].preset: preset datadog is for agent-iam:saasRoles entries, not serviceAccounts",
    )


def test_presets_ship_as_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"agent_iam.presets" = ["*.toml", "documents/*/*"]' in pyproject
    assert all((Path(presets.__file__).parent / f"{n}.toml").is_file() for n in presets.names())
    shipped = {p.relative_to(ROOT / "agent_iam" / "presets").as_posix() for p in (ROOT / "agent_iam" / "presets" / "documents").glob("*/*")}
    named = {f.file for n in presets.names() for d in presets.load(n).documents for f in d.files}
    named |= {f.copied_text for n in presets.names() for d in presets.load(n).documents for f in d.files if f.copied_text}
    assert shipped == {f"documents/{f}" for f in named}  # every kept file is a preset's, each under the glob


def test_the_policy_pack_config_carries_a_presets_acceptances():
    """`agent-iam pack-config` (and every plan's policy-pack-config.json) gives the pack the plan's
    verdict: prod's Datadog role carries its preset's acceptance there too."""
    from agent_iam.guardrails.pulumi_policy_adapter import pack_config
    from agent_iam.plan.guardrails import pack_acceptances, stack_settings
    from agent_iam.plan.stackfile import read_stack_file

    config, secret_keys = read_stack_file(ROOT / "stacks", "prod")
    settings = stack_settings("prod", config, secret_keys)
    pack = pack_config(settings.guardrail_context(), pack_acceptances(settings))
    accepted = [a for a in pack["sensitive-actions-scoped"]["acceptedFindings"] if a.get("sid")]
    assert [(a["sid"], a["role"]) for a in accepted] == [("DatadogIntegrationWrites", "datadog-integration")]
    assert accepted[0]["reason"].startswith(f"preset datadog@{presets.load('datadog').version}: ")


def test_a_hand_set_preset_tag_is_refused_and_never_shows_as_a_preset():
    """The access report and plan call a role a preset's by its `agent-iam:preset` tag: only agent-iam sets it."""
    entry = {"name": "fake", "vendor": {"accountId": "464622532012"}, "externalId": "ext-1234",
             "tags": {"agent-iam:preset": "datadog@2026-11-29"}}
    assert_config_error({"saasRoles": [entry]}, "agent-iam:saasRoles[0].tags.agent-iam:preset: 'agent-iam:preset' is agent-iam's own tag key")
    assert_config_error({"defaults": {"tags": {"agent-iam:preset": "x"}}, "saasRoles": [{**entry, "tags": {}}]},
                        "agent-iam:defaults.tags.agent-iam:preset: 'agent-iam:preset' is agent-iam's own tag key")
