"""Writing a plan: the folder holds exactly the current plan; unchanged files are left as they were."""

from __future__ import annotations

import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import config_with, fuzz_examples
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


def test_documents_are_written_exactly_as_json_dumps_would(planned):
    from agent_iam.plan.render import _pretty, iam_document_files, plan_document

    for stack in ("dev", "staging", "prod"):
        run = planned(stack)
        for doc in [plan_document(run), *iam_document_files(run).values()]:
            assert _pretty(doc) == _stdlib(doc)
    for odd in [{"tag": "café"}, {"x": 1.5e-07, "y": 3600.0}, {"n": 2**64}, {"s": "1e-5 is text"},
                {"x": 1e-05}, {"x": [-2.5e-05, 1e-09, 1e-10, 0.0001]}, {"s": "0.00001", "t": "role-1e-5"}]:
        assert _pretty(odd) == _stdlib(odd), odd


# Every JSON value a plan can hold: floats of every magnitude (orjson and json write small ones
# differently), non-ASCII and surrogate text, ints beyond 64 bits, nesting.
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.floats(min_value=1e-12, max_value=1e-3)
    | st.text(max_size=12) | st.sampled_from(["1e-5", "0.00001", "e-1", "arn:aws:iam::123456789012:role/a"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=fuzz_examples(0.8), deadline=None)
@given(_json_values)
def test_any_document_is_written_exactly_as_json_dumps_would(value):
    from agent_iam.plan.render import _pretty

    assert _pretty(value) == _stdlib(value)


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


def _run_with(inputs: list, outputs: dict):
    from agent_iam.plan.mocks import Registration
    from agent_iam.plan.run import PlanRun

    resources = [
        Registration(f"urn:pulumi:s::p::t::r{i}", "aws:iam/role:Role", f"r{i}", None, None, True, i % 2 == 0,
                     value, {}, ["a"] if i % 3 == 0 else [])
        for i, value in enumerate(inputs)
    ]
    return PlanRun("s", resources, outputs, ["an advisory"])


@settings(max_examples=fuzz_examples(0.6), deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=6), _json_values, max_size=5), max_size=4),
       st.dictionaries(st.text(max_size=6), _json_values, max_size=4))
def test_plan_json_is_the_sorted_document_as_json_dumps_would_write_it(inputs, outputs):
    """plan_json sorts inputs with orjson and splices them in: the bytes of `_pretty(plan_document())`,
    for any inputs (non-ASCII and surrogate keys, small floats, ints beyond 64 bits take the slow way)."""
    from agent_iam.plan.render import _pretty, plan_document, plan_json

    run = _run_with(inputs, outputs)
    extra = {"violations": [{"rule": "r", "message": "m"}], "iamFindings": []}
    assert plan_json(run, extra) == _pretty(plan_document(run, extra))
    assert plan_json(run) == _stdlib(plan_document(run))


def test_plan_json_of_every_stack_is_the_sorted_document(planned):
    from agent_iam.plan.render import _pretty, plan_document, plan_json

    for stack in ("dev", "staging", "prod"):
        run = planned(stack)
        assert plan_json(run, {"x": [1e-05]}) == _pretty(plan_document(run, {"x": [1e-05]}))
        assert plan_json(run) == _stdlib(plan_document(run))
    odd = _run_with([{"b": {"é": 1, "a": [2**70]}, "a": 1}, {2: "not a text key"} and {"z": 1.5e-07}], {"o": {"b": 1, "a": 2}})
    assert plan_json(odd) == _stdlib(plan_document(odd))


_yaml_words = st.sampled_from(["v1", "ServiceAccount", "yes", "No", "on", "OFF", "y", "n", "null", "Null", "~", "true",
                               "x:", "a::b", "arn:aws:iam::123456789012:role/a-b.c", "eks.amazonaws.com/role-arn", "0x1F",
                               "1.5", "2024-01-01", "<<", "=", "-a", "a b", "", "é", "a#b", "k" * 130])
_yaml_text = _yaml_words | st.from_regex(r"[A-Za-z][A-Za-z0-9._/:-]{0,12}", fullmatch=True) | st.text(max_size=6)
_yaml_values = st.recursive(
    _yaml_text | st.booleans() | st.none() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_yaml_text, inner, max_size=3),
    max_leaves=12,
)


_plainish = st.from_regex(r"[A-Za-z][A-Za-z0-9._/:-]{0,12}", fullmatch=True) | st.sampled_from(["yes", "on", "null", "x:", "n"])
_plain_manifests = st.recursive(
    _plainish | st.booleans() | st.none() | st.integers(),
    lambda inner: st.lists(inner, min_size=1, max_size=3) | st.dictionaries(_plainish, inner, min_size=1, max_size=3),
    max_leaves=12,
)


@settings(max_examples=fuzz_examples(), deadline=None)
@given(st.dictionaries(_yaml_text, _yaml_values, max_size=5) | st.dictionaries(_plainish, _plain_manifests, min_size=1, max_size=5))
def test_manifests_are_written_exactly_as_yaml_dump_would(manifest):
    """`_yaml` writes plain manifests itself: the bytes of PyYAML's safe dump, for any manifest."""
    import yaml

    from agent_iam.plan.render import _YAML_DUMPER, _yaml

    assert _yaml(manifest) == yaml.dump(manifest, Dumper=_YAML_DUMPER, sort_keys=False).encode()


def test_shared_objects_and_every_stacks_manifests_are_written_as_yaml_dump_would(planned):
    import yaml

    from agent_iam.plan.render import _YAML_DUMPER, _yaml, kubernetes_manifest_files

    labels = {"app": "x"}
    shared = {"metadata": {"labels": labels}, "spec": {"selector": labels}}  # PyYAML writes an anchor and an alias
    for manifest in [shared, *(m for s in ("dev", "staging", "prod") for m in kubernetes_manifest_files(planned(s)).values())]:
        assert _yaml(manifest) == yaml.dump(manifest, Dumper=_YAML_DUMPER, sort_keys=False).encode()
    assert b"&id001" in _yaml(shared)


def test_tree_labels_built_as_text_print_what_their_markup_prints(planned):
    """The tree's labels are rich Text built directly (`_label_text`), not markup parsed per label:
    printed plain and in colour they are the markup's labels, odd names included."""
    import dataclasses
    import io
    import pickle

    from rich.console import Console
    from rich.tree import Tree

    from agent_iam.plan.render import _label, _label_text

    resources = [r for s in ("dev", "prod") for r in planned(s).resources]
    some = resources[0]
    for name in ["", "a]b", "x\\\\y", ":smile:", "[bold]n", "é 名", "a" * 120]:
        resources += [dataclasses.replace(some, name=name, protect=True),
                      dataclasses.replace(some, name=name, custom=False, provider="urn:x::p")]

    def printed(label, terminal: bool) -> str:
        out = io.StringIO()
        console = Console(file=out, width=80, highlight=False, emoji=False, force_terminal=terminal, color_system="truecolor")
        tree = Tree("root")
        for r in resources:
            tree.add(label(r))
        console.print(tree)
        return out.getvalue()

    def replayed(r):  # as the plan cache keeps and replays the tree printout
        return pickle.loads(pickle.dumps(_label_text(r)))

    for terminal in (False, True):
        assert printed(_label_text, terminal) == printed(_label, terminal) == printed(replayed, terminal)


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
