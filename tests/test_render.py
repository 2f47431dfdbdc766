"""Writing a plan: the folder holds exactly the current plan; unchanged files are left as they were."""

from __future__ import annotations

import json
import os

from conftest import config_with
from agent_iam.plan.render import write_plan


def _agents(*names: str) -> dict:
    return config_with(ecsAgents=[{"name": n} for n in names])


def _files(target) -> set[str]:
    return {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}


def test_rewriting_keeps_unchanged_files_and_removes_what_the_plan_no_longer_has(plan_stack, tmp_path):
    target = write_plan(plan_stack(_agents("a", "b")), tmp_path)
    assert {"iam/a-task.trust.json", "iam/b-task.trust.json", "plan.json"} <= _files(target)
    unchanged = target / "iam" / "a-task.trust.json"
    os.utime(unchanged, ns=(1_000_000_000, 1_000_000_000))
    (target / "iam" / "stray.json").write_text("{}")
    (target / "leftover").mkdir()
    (target / "leftover" / "x").write_text("x")

    run = plan_stack(_agents("a"))
    write_plan(run, tmp_path)

    assert not any(name.startswith("iam/b-") for name in _files(target))
    assert not (target / "iam" / "stray.json").exists() and not (target / "leftover").exists()
    assert unchanged.stat().st_mtime_ns == 1_000_000_000, "an unchanged document is not rewritten"
    plan = json.loads((target / "plan.json").read_text())
    assert {r["name"] for r in plan["resources"]} == {r.name for r in run.resources}


def test_a_changed_document_is_rewritten(plan_stack, tmp_path):
    target = write_plan(plan_stack(_agents("a")), tmp_path)
    path = target / "iam" / "a-execution.agent-secrets.json"
    assert not path.exists()
    secret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:a-AbCdEf"
    write_plan(plan_stack(config_with(ecsAgents=[{"name": "a", "secretArns": [secret]}])), tmp_path)
    assert json.loads(path.read_text())["Statement"][0]["Resource"] == secret
    path.write_text("edited by hand")
    write_plan(plan_stack(config_with(ecsAgents=[{"name": "a", "secretArns": [secret]}])), tmp_path)
    assert json.loads(path.read_text())["Statement"][0]["Resource"] == secret


def test_a_file_where_the_plan_folder_should_be_is_replaced(plan_stack, tmp_path):
    (tmp_path / "test").write_text("not a folder")
    target = write_plan(plan_stack(_agents("a")), tmp_path)
    assert (target / "plan.json").is_file()


def _stdlib(data) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def test_documents_are_written_exactly_as_json_dumps_would():
    from conftest import plan_stack_file
    from agent_iam.plan.render import _pretty, iam_document_files, plan_document

    for stack in ("dev", "staging", "prod"):
        run = plan_stack_file(stack)
        for doc in [plan_document(run), *iam_document_files(run).values()]:
            assert _pretty(doc) == _stdlib(doc)
    for odd in [{"tag": "café"}, {"x": 1.5e-07, "y": 3600.0}, {"n": 2**64}, {"s": "1e-5 is text"}]:
        assert _pretty(odd) == _stdlib(odd), odd


def test_plan_json_lists_inputs_in_a_stable_order(plan_stack):
    """The SDK hands inputs back in a per-process order; plan.json sorts them, nested maps too."""
    from agent_iam.plan.render import plan_document

    run = plan_stack(config_with(defaults={"tags": {"zeta": "1", "alpha": "2"}}, ecsAgents=[{"name": "a"}]))
    role = run.named("aws:iam/role:Role", "a-task")
    role.inputs = dict(reversed(list(role.inputs.items())))
    inputs = next(r["inputs"] for r in plan_document(run)["resources"] if r["name"] == "a-task")
    assert list(inputs) == sorted(inputs)
    assert list(inputs["tags"]) == sorted(inputs["tags"])


def test_a_large_plan_prints_a_summary_and_the_tree_on_request(tmp_path, capsys):
    import yaml

    from agent_iam.plan.__main__ import main
    from agent_iam.plan.render import TREE_LIMIT

    names = [f"agent-{i:03d}" for i in range(TREE_LIMIT // 4 + 1)]
    (tmp_path / "Pulumi.big.yaml").write_text(yaml.safe_dump({"config": _agents(*names)}))
    argv = ["--stack", "big", "--stacks-dir", str(tmp_path), "--out", str(tmp_path / "out"), "--no-cache"]
    assert main(argv) == 0
    summary = capsys.readouterr().out
    plan = (tmp_path / "out" / "big" / "plan.json").read_bytes()
    resources = json.loads(plan)["resources"]
    assert len(resources) > TREE_LIMIT
    assert f"stack big: {len(resources)} resources" in summary and "--tree" in summary
    import re

    assert re.search(rf"│ EcsAgentRoles +│ +{len(names)} │", summary), summary
    assert "111111111111 (eu-west-1)" in summary
    assert "agent-007-task" not in summary, "no resource listed one by one"

    assert main([*argv, "--tree"]) == 0
    tree = capsys.readouterr().out
    assert all(f"{n}-task " in tree and f"{n}-execution " in tree for n in names)
    assert (tmp_path / "out" / "big" / "plan.json").read_bytes() == plan, "printing never changes the files"


def test_the_summary_counts_entries_and_resources_by_family_and_account(plan_stack):
    from agent_iam.plan.render import plan_summary

    run = plan_stack(_agents("a", "b"))
    summary = plan_summary(run)
    custom = [r for r in run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert summary["families"]["EcsAgentRoles"] == {"entries": 2, "resources": len(custom)}
    assert summary["families"]["providers"]["entries"] == 1
    assert sum(summary["accounts"]["111111111111 (eu-west-1)"].values()) == len(custom)


def test_a_summary_shows_the_first_advisories_and_counts_the_rest_the_tree_all_of_them():
    from rich.console import Console

    from agent_iam.plan.mocks import Registration
    from agent_iam.plan.render import SUMMARY_EXAMPLES, TREE_LIMIT, print_plan
    from agent_iam.plan.run import PlanRun

    resources = [
        Registration(f"urn:pulumi:s::p::aws:iam/role:Role::r{i:04d}", "aws:iam/role:Role", f"r{i:04d}", None, None,
                     True, False, {}, {})
        for i in range(TREE_LIMIT + 1)
    ]
    warnings = [f"agent-iam: saasRoles[{i}] (vendor-{i}) allows actions on '*' (allowWildcardResources: true)"
                for i in range(SUMMARY_EXAMPLES + 7)]
    run = PlanRun("s", resources, {}, warnings)

    def printed(**kwargs) -> str:
        console = Console(record=True, width=200)
        print_plan(run, console, **kwargs)
        return console.export_text()

    for text in (printed(quiet=True), printed()):
        shown = [w for w in warnings if w in text]
        assert shown == warnings[:SUMMARY_EXAMPLES]
        assert "... and 7 more advisories (plan.json lists them all under `advisories`" in text
    everything = printed(tree=True)
    assert all(w in everything for w in warnings) and "more advisories" not in everything
    small = PlanRun("s", resources[:10], {}, warnings)
    console = Console(record=True, width=200)
    print_plan(small, console, quiet=True)
    text = console.export_text()
    assert all(w in text for w in warnings), "a plan shown as a tree shows every advisory"
