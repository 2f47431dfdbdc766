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
