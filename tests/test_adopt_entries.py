"""A role's documents and settings as entry keys, and the first candidate the stack config accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_iam.adopt.entries import (
    Candidate,
    Document,
    Permissions,
    Unexpressible,
    candidates,
    permission_fields,
    permissions_of,
    role_fields,
)
from agent_iam.adopt.export import Attachment, Export, ExportedRole, InlinePolicy, ManagedPolicy
from agent_iam.adopt.select import Choice, choose
from agent_iam.adopt.trusts import Mapped

ACCOUNT = "123456789012"
READ = {"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": "arn:aws:s3:::b/*"}]}
LIST = {"Version": "2012-10-17", "Statement": {"Sid": "Read", "Effect": "Allow", "Action": "s3:ListBucket",
                                               "Resource": "arn:aws:s3:::b"}}
EVERY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}


def export_of(*roles: ExportedRole, policies: dict | None = None) -> Export:
    return Export(Path("x.json"), "0" * 64, ACCOUNT, "aws", roles, policies or {})


def fields_of(documents: list[Document], arns: list[str] | None = None, own: str = "vendor-access", role: str = "r"):
    notes: list[str] = []
    fields, files = permission_fields(Permissions(documents, arns or []), notes, own_policy=own, role=role,
                                      folder="policies/s/r")
    return fields, {f.path: json.loads(f.data) for f in files}, notes


def test_each_document_is_a_file_as_iam_reports_it_and_an_inline_policy_keeps_its_name():
    old = {**LIST, "Version": "2008-10-17"}
    fields, files, notes = fields_of([Document("a", "inline", READ), Document("b", "customer-managed", old)],
                                     ["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    assert fields == {"policyFiles": ["policies/s/r/a.json", "policies/s/r/b.json"],
                      "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}
    # Verbatim (the Sid both use stays: Sids are per document), the 2008 version the one rewrite, said.
    assert files == {"policies/s/r/a.json": READ, "policies/s/r/b.json": {**LIST, "Version": "2012-10-17"}}
    assert notes == [
        "customer managed policy 'b': Version 2008-10-17 written as 2012-10-17 (it holds no policy variable, so the "
        "meaning is the same)",
        "policy files, each a document as IAM reports it: inline policy 'a' as policies/s/r/a.json, customer managed "
        "policy 'b' as policies/s/r/b.json; agent-iam places them (inline while the role's total fits, else customer "
        "managed policies <role>-<name>)",
    ]


def test_policy_holds_a_document_only_where_that_loses_nothing():
    # The inline policy agent-iam gives the entry, by that name: `policy` (adopted in place either way); the rest files.
    fields, files, _ = fields_of([Document("vendor-access", "inline", READ), Document("x", "inline", LIST)])
    assert fields == {"policy": READ, "policyFiles": ["policies/s/r/x.json"]} and list(files) == ["policies/s/r/x.json"]
    # One customer managed document (its name is kept neither way): `policy`, so the entry reads alone.
    assert fields_of([Document("Known", "customer-managed", READ)]) == ({"policy": READ}, {}, [])
    # One inline document with a name of its own: a file, so `pulumi import` adopts it under that name.
    assert fields_of([Document("deploy", "inline", READ)])[0] == {"policyFiles": ["policies/s/r/deploy.json"]}


def test_document_names_are_iams_characters_short_enough_and_once_per_role():
    role = "r" * 64
    long = "L" * 128
    fields, files, notes = fields_of([
        Document("../../etc/passwd", "inline", READ), Document("/abs/x", "inline", READ), Document("..", "inline", READ),
        Document(long, "inline", READ), Document("Same", "inline", READ), Document("same", "customer-managed", LIST),
        Document("workload-access", "customer-managed", LIST),
    ], own="workload-access", role=role)
    names = [path.removeprefix("policies/s/r/").removesuffix(".json") for path in fields["policyFiles"]]
    assert names == ["__.._etc_passwd", "_abs_x", "_", "L" * 63, "Same", "same-2", "workload-access-2"]
    # Each fits IAM as an inline name and as the customer managed `<role>-<name>` (128), and one file per name, case aside.
    assert all(len(f"{role}-{n}") <= 128 and "/" not in n and not n.startswith(".") for n in names)
    assert len({n.casefold() for n in names}) == len(names)
    assert list(files.values()) == [READ, READ, READ, READ, READ, LIST, LIST]
    said = notes[-1]
    assert "inline policy '../../etc/passwd' as policies/s/r/__.._etc_passwd.json (named '__.._etc_passwd': characters IAM " \
        "does not allow in a name (or that a path would read) replaced by '_'" in said
    assert "customer managed policy 'workload-access' as policies/s/r/workload-access-2.json (named 'workload-access-2': " \
        "the name is taken, case aside)" in said
    assert "shortened to 63 characters" in said


def test_a_statement_on_every_resource_carries_the_loud_opt_in():
    assert fields_of([Document("p", "inline", EVERY)])[0]["allowWildcardResources"] is True
    assert fields_of([Document("p", "inline", READ), Document("q", "inline", EVERY)])[0]["allowWildcardResources"] is True


@pytest.mark.parametrize("document, message", [
    ({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                             "Resource": "arn:aws:s3:::home/${aws:username}/*"}]}, "policy variable"),
    ({"Version": "2013-01-01", "Statement": []}, "Version '2013-01-01'"),
])
def test_documents_whose_meaning_would_change_are_refused(document, message):
    with pytest.raises(Unexpressible, match=message):
        fields_of([Document("p", "inline", READ), Document("q", "inline", document)])


def test_customer_managed_policies_bring_their_content_or_stay_attached_by_arn():
    known, unknown = f"arn:aws:iam::{ACCOUNT}:policy/Known", f"arn:aws:iam::{ACCOUNT}:policy/Unlisted"
    role = ExportedRole("r", "/", f"arn:aws:iam::{ACCOUNT}:role/r", {}, inline=(InlinePolicy("i", READ),),
                        attached=(Attachment("Known", known), Attachment("Unlisted", unknown),
                                  Attachment("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess")))
    permissions = permissions_of(role, export_of(role, policies={known: ManagedPolicy("Known", known, "/", LIST, "")}))
    assert [(d.name, d.kind, d.arn) for d in permissions.documents] == [("i", "inline", None), ("Known", "customer-managed", known)]
    assert permissions.policy_arns == [unknown, "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert "customer managed policy Unlisted stays attached by ARN: the export lists no content" in permissions.notes[0]


def test_role_settings_as_iam_reports_them_without_awss_own_tags():
    role = ExportedRole("r", "/vendors/", f"arn:aws:iam::{ACCOUNT}:role/vendors/r", {},
                        boundary=f"arn:aws:iam::{ACCOUNT}:policy/B", max_session=7200,
                        tags=(("team", "data"), ("aws:cloudformation:stack-name", "old")))
    notes: list[str] = []
    assert role_fields(role, notes) == {"name": "r", "path": "/vendors/", "permissionsBoundaryArn":
                                        f"arn:aws:iam::{ACCOUNT}:policy/B", "tags": {"team": "data"}, "maxSessionDuration": 7200}
    assert notes == ["tags aws:cloudformation:stack-name are AWS's own (aws: prefix) and are left to AWS"]


def test_the_roles_description_is_the_entrys_when_iam_could_hold_it():
    def described(text: str | None) -> tuple[dict, list[str]]:
        notes: list[str] = []
        role = ExportedRole("r", "/", f"arn:aws:iam::{ACCOUNT}:role/r", {}, description=text)
        return role_fields(role, notes), notes

    assert described("Vanta auditor (set up 2023)") == ({"name": "r", "description": "Vanta auditor (set up 2023)"}, [])
    assert described("") == ({"name": "r"}, [])
    assert described(None) == ({"name": "r"}, [])
    fields, notes = described("x" * 1001)
    assert fields == {"name": "r"} and notes == [
        "its description is not written: the description is 1001 characters, over the 1000 IAM allows"]


# --- the stack config chooses --------------------------------------------------------------

GITHUB = "token.actions.githubusercontent.com"


def oidc_choice(name: str, subject: str) -> Choice:
    role = ExportedRole(name, "/", f"arn:aws:iam::{ACCOUNT}:role/{name}", {}, inline=(InlinePolicy("p", READ),))
    mapped = Mapped("oidcRoles", (
        {"provider": "github", "subjects": [subject]},
        {"provider": "generic", "issuerUrl": f"https://{GITHUB}", "audience": "sts.amazonaws.com", "subjects": [subject]},
    ))
    return Choice(name, candidates(role, mapped, export_of(role), f"policies/imported/{name}"))


def test_the_first_candidate_the_config_accepts_is_chosen():
    standard = oidc_choice("standard", "repo:acme/app:ref:refs/heads/main")
    custom = oidc_choice("custom", "repo:acme/app:environment:prod:job_workflow_ref:acme/app/.github/workflows/x.yml@refs/heads/main")
    assert choose(ACCOUNT, {}, [standard, custom], "imported", "eu-west-1") == []
    assert standard.chosen is not None and standard.chosen.entry["provider"] == "github"
    assert custom.chosen is not None and custom.chosen.entry["provider"] == "generic"  # GitHub's shape refused it
    assert "does not have the shape of a GitHub Actions subject" in custom.problems[0]


def test_a_role_no_candidate_writes_is_refused_with_the_configs_words():
    choice = oidc_choice("wide", "repo:*")
    choice.candidates = choice.candidates[:1]
    choice.candidates[0].entry["allowWildcardSubject"] = True
    assert choose(ACCOUNT, {}, [choice], "imported", "eu-west-1") == []
    assert choice.refused and choice.chosen is None
    assert choice.problems == ["stacks/Pulumi.imported.yaml: agent-iam:oidcRoles[0].subjects[0]: 'repo:*' a GitHub Actions "
                               "pattern keeps the owner fixed and names something under it (repo:<owner>/<repo>:ref:"
                               "refs/heads/<branch> | :ref:refs/tags/<tag> | :environment:<name> | :pull_request, with * "
                               "only after the owner)"]


def test_a_problem_only_the_whole_stack_shows_moves_the_named_role_on():
    first = Choice("a", [Candidate("saasRoles", {"name": "same", "vendor": {"accountId": "956993596390"}, "externalId": "x-1"}, [])])
    second = Choice("b", [Candidate("saasRoles", {"name": "same", "vendor": {"accountId": "956993596390"}, "externalId": "x-2"}, [])])
    assert choose(ACCOUNT, {}, [first, second], "imported", "eu-west-1") == []
    assert first.chosen is not None and second.refused
    assert "another entry is already named 'same'" in second.problems[0]


def test_the_tags_agent_iam_sets_itself_are_not_written():
    role = ExportedRole("r", "/", f"arn:aws:iam::{ACCOUNT}:role/r", {},
                        tags=(("managed-by", "agent-iam"), ("stack", "prod"), ("agent-iam:preset", "wiz@2026-12-07"),
                              ("owner", "sec")))
    notes: list[str] = []
    assert role_fields(role, notes)["tags"] == {"owner": "sec"}
    assert notes == ["tags managed-by, stack, agent-iam:preset are the ones agent-iam sets itself on every role it makes"]


def test_a_saas_roles_own_vendor_access_policy_is_written_as_customer_managed_first():
    arn = f"arn:aws:iam::{ACCOUNT}:policy/vendors/up-vendor-access"
    role = ExportedRole("up", "/vendors/", f"arn:aws:iam::{ACCOUNT}:role/vendors/up", {},
                        attached=(Attachment("up-vendor-access", arn),))
    policies = {arn: ManagedPolicy("up-vendor-access", arn, "/vendors/", READ, "")}
    mapped = Mapped("saasRoles", ({"vendor": {"accountId": "956993596390"}, "externalId": "x-1"},))
    first, second = candidates(role, mapped, export_of(role, policies=policies), "policies/s/up")
    assert first.entry == {**second.entry, "customerManagedPolicy": True}
    assert second.entry["policy"] == READ
    # Another path or name is not the policy the entry would create: only the inline way.
    moved = {arn: ManagedPolicy("up-vendor-access", arn, "/", READ, "")}
    assert len(candidates(role, mapped, export_of(role, policies=moved), "policies/s/up")) == 1


def test_the_same_statements_in_other_documents_are_the_same_permissions():
    from agent_iam.adopt.proof import same_statements
    from agent_iam.model.roles import role_from_documents

    merged = {"Version": "2012-10-17", "Statement": [READ["Statement"][0], {**LIST["Statement"], "Sid": "Read2"}]}
    apart = role_from_documents("r", ACCOUNT, identity=[READ, LIST])
    together = role_from_documents("r", ACCOUNT, identity=[merged])
    assert same_statements(apart, together)
    assert not same_statements(apart, role_from_documents("r", ACCOUNT, identity=[READ]))
    assert not same_statements(apart, role_from_documents("r", ACCOUNT, identity=[READ, LIST], boundary=EVERY))
