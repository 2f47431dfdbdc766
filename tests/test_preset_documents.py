"""Vendor presets built from the vendor's published documents: each document is the vendor's text
byte for byte (the digest of what was copied), parameters fill and narrow it and change nothing
else, every acceptance names a statement that exists and matches exactly the findings the plan's
guardrails, IAM validator and peer scanner raise on it, and the catalog refuses malformed data
naming the file, the key and the value."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from agent_iam import presets
from agent_iam.iam import managed_policies
from conftest import ACCOUNT, ROOT, assert_config_error, config_with

ZONES = ["Z0123456789ABCDEFGHIJ", "Z2FDTNDATAQYW2"]
ASG = "arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:0b2c8a4e-1f2d-4c7a-9e8b-3a5d6f7c8e9a:autoScalingGroupName/acme-ng"
KARPENTER = {
    "clusterName": "acme",
    "region": "eu-west-1",
    "nodeRoleArn": f"arn:aws:iam::{ACCOUNT}:role/KarpenterNodeRole-acme",
    "interruptionQueueArn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:acme",
}
# What each preset is judged with: its required parameters, with and without its narrowings, in
# each partition it publishes a document for.
VARIANTS: dict[str, list[tuple[dict[str, Any], str]]] = {
    "karpenter": [(KARPENTER, "aws")],
    "external-dns": [({}, "aws"), ({"hostedZoneIds": ZONES}, "aws")],
    "cert-manager": [({}, "aws"), ({"hostedZoneIds": ZONES[:1]}, "aws")],
    "cluster-autoscaler": [({}, "aws"), ({"autoScalingGroupArns": [ASG]}, "aws")],
    "aws-load-balancer-controller": [({}, "aws"), ({}, "aws-us-gov"), ({}, "aws-cn")],
}
WITH_POLICIES = tuple(n for n in presets.names() if presets.load(n).documents or presets.load(n).managed_policies)
WITH_DOCUMENTS = tuple(n for n in presets.names() if presets.load(n).documents)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return [found] if isinstance(found, dict) else found


# --- the vendor's text, byte for byte ---------------------------------------------------------


def test_the_catalog_ships_the_required_vendors_and_at_least_ten_new_ones():
    new = {"vanta", "wiz", "aws-load-balancer-controller", "external-dns", "cert-manager"}
    optional = {"lacework", "orca", "snyk", "crowdstrike", "sysdig", "new-relic", "ebs-csi-driver", "karpenter", "cluster-autoscaler"}
    assert new <= set(presets.names())
    assert len(set(presets.names()) & optional) >= 5


@pytest.mark.parametrize("name", WITH_DOCUMENTS)
def test_every_document_is_the_text_copied_from_the_vendor(name):
    preset = presets.load(name)
    for document in preset.documents:
        for file in document.files:
            raw = (presets.DOCUMENTS_DIR / file.file).read_bytes()
            assert hashlib.sha256(raw).hexdigest() == file.sha256, file.file
            assert preset.published_text(document.name, file.partition) == raw.decode("utf-8")
            assert file.source.startswith("https://")
            # The file is kept as published: not re-serialised (its own indentation and key order).
            assert json.loads(raw) == json.loads(raw, object_pairs_hook=dict)


def test_a_document_published_as_terraform_holds_exactly_its_keys_and_strings():
    """CrowdStrike publishes cspm_config as `jsonencode({...})`: the JSON kept has the copied text's
    keys (unquoted in HCL) and string literals, all in the same order."""
    file = presets.load("crowdstrike").documents[0].files[0]
    assert file.copied_text is not None
    copied = (presets.DOCUMENTS_DIR / file.copied_text).read_text()
    assert hashlib.sha256(copied.encode()).hexdigest() == file.copied_sha256
    document = json.loads((presets.DOCUMENTS_DIR / file.file).read_text())

    def walk(value: Any) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        strings: list[str] = []
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, list):
            for item in value:
                k, s = walk(item)
                keys, strings = keys + k, strings + s
        elif isinstance(value, dict):
            for key, item in value.items():
                k, s = walk(item)
                keys, strings = keys + [key] + k, strings + s
        return keys, strings

    keys, strings = walk(document)
    body = copied[copied.index("jsonencode(") :]
    assert keys == re.findall(r"^\s*(\w+)\s*=", body, re.M)
    assert strings == re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    assert len(_statements(document)) == 2 and len(document["Statement"][0]["Action"]) == 156


def test_the_load_balancer_controllers_partitions_differ_only_in_the_partition():
    preset = presets.load("aws-load-balancer-controller")
    (name, aws), = presets.published_documents(preset)
    assert name == "AWSLoadBalancerControllerIAMPolicy" and len(_statements(aws)) == 16
    assert not any("Sid" in s for s in _statements(aws))  # as published: no Sids
    assert _statements(aws)[5]["Condition"]["Null"] == {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}
    for partition in ("aws-us-gov", "aws-cn"):
        (_, other), = presets.published_documents(preset, partition=partition)
        same = json.loads(json.dumps(other).replace(f"arn:{partition}:", "arn:aws:"))
        # The same statements; the vendor's GovCloud and China files list #13 and #14 the other way round.
        assert same["Statement"][:12] + same["Statement"][14:] == aws["Statement"][:12] + aws["Statement"][14:]
        assert same["Statement"][12:14] == aws["Statement"][13:11:-1]
    assert {a.statement for a in presets.acceptances(preset, partition="aws-cn") if a.partitions} == {13, 14}
    reasons = {p: {a.statement: a.reason for a in presets.acceptances(preset, partition=p) if a.statement in (13, 14)} for p in ("aws", "aws-cn")}
    assert reasons["aws"][13] == reasons["aws-cn"][14] and reasons["aws"][14] == reasons["aws-cn"][13]


# --- parameters fill and narrow, and change nothing else ----------------------------------------


def test_without_parameters_a_document_is_the_published_text():
    for name in ("aws-load-balancer-controller", "external-dns", "cert-manager", "cluster-autoscaler", "new-relic"):
        preset = presets.load(name)
        for (doc_name, document), vendor_document in zip(presets.published_documents(preset), preset.documents, strict=True):
            text = preset.published_text(doc_name, vendor_document.file_for("aws").partition)
            assert json.dumps(document) == json.dumps(json.loads(text)), name  # same keys, same order


def test_hosted_zone_ids_narrow_only_the_zone_arn_of_external_dns():
    preset = presets.load("external-dns")
    (_, wide), = presets.published_documents(preset)
    (_, narrow), = presets.published_documents(preset, {"hostedZoneIds": ZONES})
    assert narrow["Statement"][0]["Resource"] == [f"arn:aws:route53:::hostedzone/{z}" for z in ZONES]
    assert {**narrow["Statement"][0], "Resource": wide["Statement"][0]["Resource"]} == wide["Statement"][0]
    assert narrow["Statement"][1] == wide["Statement"][1] == {"Effect": "Allow", "Action": ["route53:ListHostedZones"], "Resource": ["*"]}
    assert [a.check for a in presets.acceptances(preset)] == ["sensitive-actions-scoped"]
    assert presets.acceptances(preset, {"hostedZoneIds": ZONES}) == []


def test_one_hosted_zone_replaces_cert_managers_zone_string_in_its_place():
    (_, narrow), = presets.published_documents(presets.load("cert-manager"), {"hostedZoneIds": ZONES[:1]})
    second = narrow["Statement"][1]
    assert second["Resource"] == f"arn:aws:route53:::hostedzone/{ZONES[0]}"
    assert second["Condition"] == {"ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}
    assert narrow["Statement"][0]["Resource"] == "arn:aws:route53:::change/*"


def test_auto_scaling_group_arns_narrow_the_second_block_only():
    (_, narrow), = presets.published_documents(presets.load("cluster-autoscaler"), {"autoScalingGroupArns": [ASG]})
    assert narrow["Statement"][0]["Resource"] == ["*"]  # the describes stay as the README publishes them
    assert narrow["Statement"][1]["Resource"] == [ASG]


def test_karpenters_template_is_filled_with_the_clusters_values_keys_included():
    preset = presets.load("karpenter")
    documents = dict(presets.published_documents(preset, KARPENTER, partition="aws", account_id=ACCOUNT))
    assert list(documents) == [
        "KarpenterControllerNodeLifecyclePolicy",
        "KarpenterControllerIAMIntegrationPolicy",
        "KarpenterControllerEKSIntegrationPolicy",
        "KarpenterControllerInterruptionPolicy",
        "KarpenterControllerZonalShiftPolicy",
        "KarpenterControllerResourceDiscoveryPolicy",
    ]
    assert "${" not in json.dumps(documents)
    launch = documents["KarpenterControllerNodeLifecyclePolicy"]["Statement"][1]
    assert launch["Resource"] == "arn:aws:ec2:eu-west-1:*:launch-template/*"
    assert launch["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/acme": "owned"}
    pass_role = documents["KarpenterControllerIAMIntegrationPolicy"]["Statement"][0]
    assert (pass_role["Sid"], pass_role["Resource"]) == ("AllowPassingInstanceRole", KARPENTER["nodeRoleArn"])
    eks = documents["KarpenterControllerEKSIntegrationPolicy"]["Statement"][0]
    assert eks["Resource"] == f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/acme"
    gov = dict(presets.published_documents(preset, {**KARPENTER, "region": "us-gov-west-1"}, partition="aws-us-gov", account_id=ACCOUNT))
    assert gov["KarpenterControllerEKSIntegrationPolicy"]["Statement"][0]["Resource"] == f"arn:aws-us-gov:eks:us-gov-west-1:{ACCOUNT}:cluster/acme"


def test_crowdstrikes_terraform_partition_is_the_roles():
    (_, document), = presets.published_documents(presets.load("crowdstrike"), partition="aws-us-gov")
    assert document["Statement"][1]["Resource"] == "arn:aws-us-gov:apigateway:*::/restapis/*"


def test_managed_policies_are_attached_by_arn_in_the_roles_partition():
    assert presets.policy_arns(presets.load("wiz")) == [
        "arn:aws:iam::aws:policy/SecurityAudit",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
    ]
    assert presets.policy_arns(presets.load("ebs-csi-driver"), "aws-us-gov") == ["arn:aws-us-gov:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"]
    for name in WITH_POLICIES:
        for arn in presets.policy_arns(presets.load(name)):
            assert managed_policies.exists(arn), arn


@pytest.mark.parametrize(
    ("name", "parameters", "partition", "expected"),
    [
        ("external-dns", {}, "aws-cn", "preset external-dns: the vendor publishes AllowExternalDNSUpdates for partition aws only, not aws-cn"),
        ("external-dns", {"hostedZoneIds": ["zone-1"]}, "aws", "preset external-dns: hostedZoneIds[0]: 'zone-1' is not the IDs of the Route 53 hosted zones"),
        ("external-dns", {"hostedZoneIds": "Z0123456789ABCDEFGHIJ"}, "aws", "preset external-dns: hostedZoneIds: a non-empty list"),
        ("external-dns", {"hostedZoneId": ZONES}, "aws", "preset external-dns: hostedZoneId: preset external-dns takes no parameter 'hostedZoneId'; did you mean 'hostedZoneIds'?"),
        ("karpenter", {k: v for k, v in KARPENTER.items() if k != "clusterName"}, "aws", "preset karpenter: clusterName: required by preset karpenter: the EKS cluster's name"),
        ("karpenter", {**KARPENTER, "nodeRoleArn": "arn:aws:iam::*:role/x"}, "aws", "preset karpenter: nodeRoleArn: 'arn:aws:iam::*:role/x' is not the ARN of the role"),
    ],
)
def test_wrong_parameters_are_refused_naming_the_key_and_value(name, parameters, partition, expected):
    with pytest.raises(presets.PresetError) as caught:
        presets.published_documents(presets.load(name), parameters, partition=partition)
    assert str(caught.value).startswith(expected), str(caught.value)


# --- acceptances: each names a statement that exists, and together they are the findings -------


@pytest.mark.parametrize("name", presets.names())
def test_every_acceptance_names_a_statement_that_exists(name):
    preset = presets.load(name)
    documents = {d.name: _statements(json.loads(preset.published_text(d.name, d.files[0].partition))) for d in preset.documents}
    for key in preset.managed_policies:
        documents[managed_policies.name_of(key)] = _statements(managed_policies.document(managed_policies.arn(key)))
    sids = {s.get("Sid") for s in preset.statements} | {s.get("Sid") for ss in documents.values() for s in ss}
    for acceptance in preset.accepted_findings:
        if acceptance.sid is not None:
            assert acceptance.sid in sids | set(preset.managed_policy_names) or acceptance.sid.startswith(presets.S3_SIDS), acceptance
        elif acceptance.statement is None:  # a whole AWS managed policy
            assert acceptance.document in preset.managed_policy_names, acceptance
        else:
            assert 1 <= acceptance.statement <= len(documents[acceptance.document]), acceptance
            assert "Sid" not in documents[acceptance.document][acceptance.statement - 1]  # a Sid would be the key


def _judge(services: Path) -> dict[tuple[str, int], set[tuple[Any, ...]]]:
    """What the plan's judges block on when each preset's documents (in each variant) are a role's
    inline policies and its managed policies are attached to it: each finding as the acceptance
    key that would cover it. One role per preset and variant; the IAM validator and the peer
    scanner see every document in one call, kept by content under build/ as the plan keeps them."""
    from agent_iam.guardrails import rules
    from agent_iam.guardrails.iam_validation import validate_documents
    from agent_iam.guardrails.peer_scan import Document, scan_documents

    found: dict[tuple[str, int], set[tuple[Any, ...]]] = {}
    own: list[tuple[str, str, dict[str, Any]]] = []
    peer: list[Any] = []
    where: dict[str, tuple[tuple[str, int], str]] = {}  # label -> (preset and variant, document name)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for name in WITH_POLICIES:
        preset = presets.load(name)
        for i, (parameters, partition) in enumerate(VARIANTS.get(name, [({}, "aws")])):
            role = f"{name}-{i}"
            found[(name, i)] = set()
            published = presets.published_documents(preset, parameters, partition=partition, account_id=ACCOUNT)
            views = [rules.ResourceView(rules.ROLE, role, {"name": role, "assumeRolePolicy": trust}, ACCOUNT)]
            for doc_name, doc in published:
                views.append(rules.ResourceView(rules.ROLE_POLICY, f"{role}-{doc_name}", {"name": doc_name, "role": role, "policy": json.dumps(doc)}, ACCOUNT))
                label = f"inline policy {doc_name!r} of role {role!r}"
                where[label] = ((name, i), doc_name)
                own.append((label, "identity", doc))
                peer.append(Document(label, doc))
            for arn, policy in zip(presets.policy_arns(preset, partition), preset.managed_policy_names, strict=True):
                views.append(rules.ResourceView(rules.ROLE_POLICY_ATTACHMENT, f"{role}-{policy}", {"role": role, "policyArn": arn}, ACCOUNT))
                label = f"AWS managed policy {policy!r} of role {role!r}"
                where[label] = ((name, i), policy)
                peer.append(Document(label, managed_policies.document(arn), policy))
            for violation in rules.blocking(rules.evaluate(views, rules.Context(account_id=ACCOUNT))):
                if violation.sid:
                    found[(name, i)].add((violation.rule, violation.sid))
                else:  # a statement without a Sid: the rule's message numbers it
                    number = int(re.search(r"statement #(\d+)", violation.message).group(1))
                    found[(name, i)].add((violation.rule, violation.resource_name.removeprefix(f"{role}-"), number))
    cache = ROOT / "build" / ".test-cache"
    findings = validate_documents(own, services, cache / "preset-iam-findings.json")
    findings += scan_documents(peer, cache / "preset-peer-findings.json")
    for finding in findings:
        if finding.blocking:
            key, doc_name = where[finding.label]
            found[key].add((finding.check, finding.sid) if finding.sid else (finding.check, doc_name, finding.statement_index + 1))
    return found


@pytest.fixture(scope="module")
def judged(iam_services) -> dict[tuple[str, int], set[tuple[Any, ...]]]:
    """Every preset with policies, judged once per variant of its parameters (shared by the tests)."""
    return _judge(iam_services)


@pytest.mark.parametrize("name", WITH_POLICIES)
def test_the_acceptances_are_exactly_what_the_guardrails_and_validators_raise(name, judged):
    """One acceptance per decision: each blocking finding on the vendor's policies is accepted with
    the vendor's reason, and no acceptance is left over (a narrowing parameter removes its own)."""
    for i, (parameters, partition) in enumerate(VARIANTS.get(name, [({}, "aws")])):
        accepted = [
            (a.check, a.sid or a.document) if a.statement is None else (a.check, a.document, a.statement)
            for a in presets.acceptances(presets.load(name), parameters, partition)
        ]
        assert len(accepted) == len(set(accepted))
        assert judged[(name, i)] == set(accepted), (name, parameters, partition)


def test_the_load_balancer_controller_needs_seventeen_decisions_none_of_them_a_sid(judged):
    """The issue's case: 15 guardrail violations and 2 validator findings on the published policy,
    each accepted by document and statement number, without editing the vendor's text."""
    found = judged[("aws-load-balancer-controller", 0)]
    assert len(found) == 17 and found == judged[("aws-load-balancer-controller", 1)] == judged[("aws-load-balancer-controller", 2)]
    assert {f[0] for f in found} == {"sensitive-actions-scoped", "sensitive_action"}
    assert all(f[1] == "AWSLoadBalancerControllerIAMPolicy" for f in found)


# --- the stack layer: the vendor's policies on the role ------------------------------------------


def test_an_entry_gets_the_vendors_documents_and_managed_policies_placed(plan_stack):
    """A preset's published documents are placed on the role exactly as published (filled), and the
    AWS managed policies it asks for are attached by ARN, for a service account as for a SaaS role."""
    clusters = {"platform": {"name": "acme-platform", "kubeContext": "platform"}}
    run = plan_stack(config_with(
        clusters=clusters,
        serviceAccounts=[
            {"name": "lbc", "preset": "aws-load-balancer-controller", "mode": "pod-identity", "cluster": "platform"},
            {"name": "ebs", "preset": "ebs-csi-driver", "mode": "pod-identity", "cluster": "platform"},
        ],
        saasRoles=[{"name": "nr", "preset": "new-relic", "externalId": "3141592"}],
    ))
    inline = {(r.inputs["role"], r.inputs["name"]): json.loads(r.inputs["policy"]) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    (name, published), = presets.published_documents(presets.load("aws-load-balancer-controller"), partition="aws", account_id=ACCOUNT)
    assert inline[("lbc", name)] == published and list(inline[("lbc", name)]["Statement"][5]) == ["Effect", "Action", "Resource", "Condition"]
    (budget_name, budget), = presets.published_documents(presets.load("new-relic"), partition="aws", account_id=ACCOUNT)
    assert inline[("nr", budget_name)] == budget
    attached = sorted((r.inputs["role"], r.inputs["policyArn"]) for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
    assert attached == [
        ("ebs", "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2"),
        ("nr", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"preset": "karpenter", "clusterName": "acme"}, "agent-iam:serviceAccounts[0].region: required by preset karpenter"),
        ({"preset": "external-dns", "namespace": "dns", "hostedZoneIds": ["zone-1"]},
         "agent-iam:serviceAccounts[0].hostedZoneIds[0]: 'zone-1' is not the IDs of the Route 53 hosted zones"),
        ({"preset": "cert-manager", "hostedZoneId": ["Z0123456789"]},
         "agent-iam:serviceAccounts[0].hostedZoneId: unknown key"),
        ({"preset": "ebs-csi-driver", "clusterName": "acme"}, "agent-iam:serviceAccounts[0].clusterName: unknown key"),
    ],
)
def test_a_presets_parameters_are_keys_of_the_entry_checked_by_the_preset(entry, expected):
    clusters = {"platform": {"name": "acme-platform", "kubeContext": "platform"}}
    full = {"name": "ctl", "mode": "pod-identity", "cluster": "platform", **entry}
    assert_config_error({"clusters": clusters, "serviceAccounts": [full]}, expected)


def test_vanta_and_wiz_roles_attach_the_aws_managed_policies_by_arn(plan_stack):
    entries = [
        {"name": "vanta", "preset": "vanta", "vendor": {"principalArn": "arn:aws:iam::956993596390:role/scanner"}, "externalId": "EXT1D"},
        {
            "name": "wiz",
            "preset": "wiz",
            "vendor": {"principalArn": "arn:aws:iam::197171649850:role/prod-us20-AssumeRoleDelegator"},
            "externalId": "EXT1D",
        },
    ]
    run = plan_stack(config_with(saasRoles=entries))
    attached = sorted(
        (r.inputs["role"], r.inputs["policyArn"]) for r in run.resources if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    )
    assert [arn for _, arn in attached] == [
        "arn:aws:iam::aws:policy/SecurityAudit",
        "arn:aws:iam::aws:policy/SecurityAudit",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
    ]
    assert_config_error(
        {"saasRoles": [{**entries[0], "vendor": {"accountId": "956993596390"}}]},
        "agent-iam:saasRoles[0].vendor.accountId: preset vanta trusts an IAM role",
    )


# --- malformed presets are refused, naming the file, the key and the value ----------------------

DOCUMENT = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Action": "route53:ChangeResourceRecordSets",\n      "Resource": "arn:aws:route53:::hostedzone/*"\n    },\n    {\n      "Effect": "Allow",\n      "Action": "route53:ListHostedZones",\n      "Resource": "*"\n    }\n  ]\n}\n'
PRESET = """name = "acme"
version = "2026-12-07"
title = "Acme"
family = "serviceAccounts"
sources = ["https://example.com/acme"]
summary = "Acme's controller."
required = ["mode", "cluster"]
wildcard_reason = "route53:ListHostedZones takes no resource"

[[documents]]
name = "AcmePolicy"

[[documents.files]]
file = "acme/policy.json"
sha256 = "{sha}"
source = "https://example.com/acme/policy.json"

[[parameters]]
key = "hostedZoneIds"
description = "the zones Acme changes"
kind = "list"
pattern = "Z[0-9A-Z]{{4,32}}"
when_absent = "every zone, accepted"

[[parameters.narrows]]
document = "AcmePolicy"
statement = 1
text = "arn:{{partition}}:route53:::hostedzone/*"
value = "arn:{{partition}}:route53:::hostedzone/{{value}}"

[[accepted_findings]]
check = "sensitive-actions-scoped"
document = "AcmePolicy"
statement = 1
unless = "hostedZoneIds"
reason = "Acme changes records in every zone it serves"
"""


def _write(tmp_path: Path, preset: str | None = None, document: str = DOCUMENT) -> Path:
    (tmp_path / "documents" / "acme").mkdir(parents=True, exist_ok=True)
    (tmp_path / "documents" / "acme" / "policy.json").write_text(document)
    text = preset if preset is not None else PRESET
    path = tmp_path / "acme.toml"
    path.write_text(text.replace("{sha}", hashlib.sha256(document.encode()).hexdigest()).replace("{{", "{").replace("}}", "}"))
    return path


def test_a_well_formed_preset_reads_and_fills(tmp_path):
    preset = presets.read(_write(tmp_path))
    (_, document), = presets.published_documents(preset, {"hostedZoneIds": ZONES[:1]})
    assert document["Statement"][0]["Resource"] == f"arn:aws:route53:::hostedzone/{ZONES[0]}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("sha256 = \"{sha}\"", 'sha256 = "' + "0" * 64 + '"'), "documents[0].files[0].sha256: acme/policy.json is not the text copied from the vendor (its SHA-256 is "),
        (('file = "acme/policy.json"', 'file = "acme/other.json"'), "documents[0].files[0]: no such file 'acme/other.json'"),
        (("statement = 1\nunless", "statement = 3\nunless"), "accepted_findings[0].statement: AcmePolicy has 2 statements, not 3"),
        (('document = "AcmePolicy"\nstatement = 1\nunless', 'sid = "Nope"\nunless'), "accepted_findings[0].sid: sensitive-actions-scoped names no statement of the preset: 'Nope'"),
        (('statement = 1\nunless', 'sid = "X"\nstatement = 1\nunless'), "accepted_findings[0]: an acceptance names a statement by sid or by number, not both"),
        (('statement = 1\nunless = "hostedZoneIds"', 'unless = "hostedZoneIds"'), "accepted_findings[0].document: a whole document is accepted for an AWS managed policy only (the preset's: none); name the statement of AcmePolicy"),
        (('document = "AcmePolicy"\nstatement = 1\nunless', 'statements = [1, 2]\nunless'), "accepted_findings[0]: an acceptance names a statement: sid, or document (with statement or statements)"),
        (('statement = 1\nunless', 'statements = [1, "Nope"]\nunless'), "accepted_findings[0].statements: AcmePolicy has no statement 'Nope'"),
        (('unless = "hostedZoneIds"', 'unless = "zones"'), "acme.toml: accepted_findings[0].unless: names no narrowing parameter of the preset: 'zones'"),
        (("text = \"arn:{{partition}}:route53:::hostedzone/*\"", "text = \"arn:{{partition}}:route53:::hostedzone/Z*\""), "parameters[0].narrows[0].text: AcmePolicy (aws) has no string 'arn:aws:route53:::hostedzone/Z*' in statement #1 to narrow"),
        (('wildcard_reason = "route53:ListHostedZones takes no resource"\n', ""), "wildcard_reason: AcmePolicy statement #2 has Resource \"*\""),
        (('required = ["mode", "cluster"]', 'required = ["mode", "cluster"]\nmanaged_policies = ["ViewOnlyAccess"]'), "acme.toml: managed_policies[0]: 'ViewOnlyAccess' is not an AWS managed policy in the dataset; did you mean 'job-function/ViewOnlyAccess'?"),
        (('name = "acme"', 'name = "acme-corp"'), "name: the file acme.toml names itself 'acme-corp'"),
        (('title = "Acme"', 'title = "Acme"\ncolour = "red"'), "colour: Extra inputs are not permitted (got 'red')"),
        (('version = "2026-12-07"', 'version = "7 Dec 2026"'), "version: String should match pattern"),
        (('family = "serviceAccounts"', 'family = "ecsAgents"'), "acme.toml: an ecsAgents preset sets defaults only"),
        (('[[documents]]', '[placeholders]\n"${ClusterName}" = "partition"\n\n[[documents]]'), "placeholders: ${ClusterName} occurs in none of the preset's documents"),
        (('title = "Acme"', 'title = "Acme'), "cannot be read as TOML"),
    ],
)
def test_a_malformed_preset_is_refused_naming_the_file_and_key(tmp_path, change, expected):
    old, new = change
    assert old in PRESET
    path = _write(tmp_path, PRESET.replace(old, new))
    with pytest.raises(presets.PresetError) as caught:
        presets.read(path)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)
    assert expected in str(caught.value), str(caught.value)


def test_a_repeated_acceptance_and_an_unfilled_template_token_are_refused(tmp_path):
    repeated = PRESET + PRESET[PRESET.index("[[accepted_findings]]") :]
    with pytest.raises(presets.PresetError, match="one acceptance per decision"):
        presets.read(_write(tmp_path, repeated))
    templated = DOCUMENT.replace("hostedzone/*", "hostedzone/${ZoneId}")
    with pytest.raises(presets.PresetError, match=r"AcmePolicy \(aws\) has \$\{ZoneId\}, which no placeholder or parameter fills"):
        presets.read(_write(tmp_path, PRESET.replace("[[parameters]]", "[[unused]]").split("[[unused]]")[0], templated))
    variable = DOCUMENT.replace("hostedzone/*", "hostedzone/${aws:username}")  # an IAM policy variable is the vendor's
    preset = PRESET.split("[[parameters]]")[0] + '\n[[accepted_findings]]\ncheck = "x"\ndocument = "AcmePolicy"\nstatement = 1\nreason = "a reason long enough"\n'
    assert presets.read(_write(tmp_path, preset, variable)).name == "acme"


def test_a_document_a_managed_policy_cannot_hold_is_refused(tmp_path):
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [f"s3:GetObject{i}" for i in range(500)], "Resource": "*"}]}, indent=2)
    preset = PRESET.split("[[parameters]]")[0]
    with pytest.raises(presets.PresetError, match=r"acme/policy.json has \d+ characters minified, over the 6144 a managed policy holds"):
        presets.read(_write(tmp_path, preset, big))
