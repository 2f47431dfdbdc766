"""The diff's accuracy on a corpus of base/head changes with known verdicts (tests/diff_corpus.py).

Every stack variant is planned once, in this process, by the planner `agent-iam plan` runs (shared
by every case that uses it); each pair of plan.json files is then compared as `agent-iam diff`
compares them. The target: every widening exits 4 and names the role (or the accepted risk) and the
change, and no narrowing or neutral change exits 4.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml

from diff_corpus import CASES, N, W, Case
from agent_iam.exit_codes import BLOCKED, OK, WIDENED
from agent_iam.plan.diff import compare, status_of
from agent_iam.plan.diff_report import headline, render_json, render_markdown


def _exit_code(diff: Any, head_plan: dict[str, Any]) -> int:
    """What `agent-iam diff` exits with for this one-stack comparison."""
    if status_of(head_plan) == "blocked":
        return BLOCKED
    return WIDENED if diff.widening else OK


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Every distinct stack config of the corpus planned once: its YAML text -> plan.json."""
    from agent_iam.plan.planner import plan_stack

    root = tmp_path_factory.mktemp("corpus")
    out = root / "out"  # one output folder: the judge's content caches serve every variant
    texts: dict[str, None] = {}
    for case in CASES:
        for config in case.configs():
            texts.setdefault(yaml.safe_dump({"config": config}, sort_keys=False), None)
    plans: dict[str, dict[str, Any]] = {}
    for index, text in enumerate(texts):
        stacks = root / f"v{index}"
        stacks.mkdir()
        (stacks / "Pulumi.corpus.yaml").write_text(text)
        result = plan_stack(stacks, "corpus", out, shards=1)
        assert not isinstance(result, int)
        plans[text] = json.loads(result.files["plan.json"])
    return plans


def _pair(case: Case, planned: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    base_config, head_config = case.configs()
    base = json.loads(json.dumps(planned[yaml.safe_dump({"config": base_config}, sort_keys=False)]))
    head = planned[yaml.safe_dump({"config": head_config}, sort_keys=False)]
    if case.plan_edit:
        case.plan_edit(base)
    return base, head


@pytest.fixture(scope="module")
def results(planned) -> dict[str, tuple[Any, int, float]]:
    """case name -> (its diff, the exit code, seconds to compare)."""
    out = {}
    for case in CASES:
        base, head = _pair(case, planned)
        start = time.perf_counter()
        diff = compare("base", "head", {"corpus": base}, {"corpus": head})
        out[case.name] = (diff, _exit_code(diff, head), time.perf_counter() - start)
    return out


def test_the_corpus_covers_what_the_issue_measured():
    widening = [c for c in CASES if c.expect == W]
    others = [c for c in CASES if c.expect == N]
    assert len(widening) >= 41 and len(others) >= 32, (len(widening), len(others))
    assert len({c.name for c in CASES}) == len(CASES)


def test_every_widening_exits_4_and_no_narrowing_or_neutral_change_does(results):
    caught = [c.name for c in CASES if c.expect == W and results[c.name][1] == WIDENED]
    missed = [(c.name, results[c.name][1]) for c in CASES if c.expect == W and results[c.name][1] != WIDENED]
    cried = [(c.name, headline(results[c.name][0])) for c in CASES if c.expect == N and results[c.name][1] != OK]
    widening = sum(c.expect == W for c in CASES)
    print(f"\ncorpus: {len(caught)}/{widening} widenings caught, {len(cried)}/{len(CASES) - widening} "
          f"narrowing or neutral changes flagged; compare {sum(r[2] for r in results.values()):.2f} s")
    assert not missed and not cried, (missed, cried)
    undecided = [c.name for c in CASES for s in results[c.name][0].stacks for r in s.roles if r.verdict == "could not decide"]
    assert not undecided, undecided  # every case decided (the solver's budget is steps, and ample)


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == W and c.role], ids=lambda c: c.name)
def test_a_widening_names_the_role_and_the_change(results, case):
    diff, _, _ = results[case.name]
    widened = {role.name: role for _, role in diff.widened_roles()}
    assert case.role in widened, (case.name, sorted(widened), headline(diff))
    role = widened[case.role]
    assert f"`{case.role}`" in headline(diff)
    (stack,) = json.loads(render_json(diff))["stacks"]
    (shown,) = [r for r in stack["roles"] if r["role"] == case.role]
    aspects = [shown[a] for a in ("permissions", "trust")]
    with_witness = [a for a in aspects if "witness" in a]
    undecided = [a for a in aspects if a["verdict"] == "unknown"]
    settings = [c for c in shown["settings"] if c["kind"] == "widening"]
    assert with_witness or undecided or settings, shown
    for aspect in with_witness:
        assert set(aspect["witness"]) == {"principal", "action", "resource", "context"} and aspect["words"], aspect
    if with_witness:
        assert with_witness[0]["words"] in render_markdown(diff)
    assert role.widening, role


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == W and not c.role], ids=lambda c: c.name)
def test_a_stack_level_widening_says_the_risk_accepted_first(results, case):
    diff, _, _ = results[case.name]
    (stack,) = diff.stacks
    assert stack.risk_accepted, stack.to_dict()
    first = headline(diff)
    assert first.startswith("### agent-iam diff: ") and "risk accepted in `corpus`" in first
    assert first.index("risk accepted") < (first.index("widened:") if "widened:" in first else len(first))


def test_not_comparable_offline_is_said_and_exits_0(results):
    for name in ("external id moved to secure", "external id moved out of secure", "secure external id changed"):
        diff, code, _ = results[name]
        assert code == OK, name
        verdicts = {r.name: r.verdict for s in diff.stacks for r in s.roles}
        assert "not comparable" in verdicts.values(), (name, verdicts)
        assert "not comparable offline" in headline(diff), headline(diff)
        assert "not comparable offline" in render_markdown(diff)


def test_a_renamed_entry_is_compared_with_its_former_self(results):
    diff, code, _ = results["entry renamed with formerNames"]
    assert code == OK
    roles = {r.name: r for s in diff.stacks for r in s.roles}
    assert roles["vendor-bee"].change == "renamed" and roles["vendor-bee"].former == "vendor-b"
    assert "vendor-b" not in roles  # not also "removed"
    widened, _, _ = results["entry renamed and widened"]
    (role,) = [r for _, r in widened.widened_roles()]
    assert (role.name, role.former) == ("vendor-bee", "vendor-b")
    assert "renamed from `vendor-b`" in headline(widened)


def test_reordered_entries_and_reworded_advisories_are_not_opt_ins(results):
    for name in ("entries reordered", "preset statement dropped"):
        diff, code, _ = results[name]
        assert code == OK, name
        assert not [c for s in diff.stacks for c in s.stack_changes if c.kind == "widening"], name
    dropped, _, _ = results["preset statement dropped"]
    (stack,) = dropped.stacks
    assert [c.what for c in stack.stack_changes] == ["opt-in reworded", "acceptance removed"]
    assert [r.verdict for r in stack.roles] == ["narrowing"]


def test_the_diffs_are_deterministic(planned):
    """The same two plans give byte-identical files (the solver's budgets are counted in steps)."""
    case = next(c for c in CASES if c.name == "S3ReadOnlyAccess replaced by S3FullAccess")
    base, head = _pair(case, planned)
    first = compare("base", "head", {"corpus": base}, {"corpus": head})
    again = compare("base", "head", {"corpus": base}, {"corpus": head})
    assert render_json(first) == render_json(again) and render_markdown(first) == render_markdown(again)


def test_a_dataset_refresh_is_compared_by_the_documents_each_plan_recorded(results, planned):
    diff, code, _ = results["dataset refresh widens an attached policy"]
    (role,) = [r for _, r in diff.widened_roles()]
    assert role.meaning.permissions.wider.action.lower().startswith("s3:describe")
    assert any(d.label.startswith("AWS managed policy `AmazonS3ReadOnlyAccess` (its document changed)") for d in role.documents)
    base, _ = _pair(next(c for c in CASES if c.name == "dataset refresh widens an attached policy"), planned)
    assert "s3:Describe*" not in json.dumps(base["managedPolicies"]), "the base recorded the older document"


def test_corpus_plans_are_real_plans(planned):
    """Each variant planned as `agent-iam plan` plans it: the blocked start is blocked, the others not."""
    statuses = {status_of(plan) for plan in planned.values()}
    assert statuses == {"planned", "blocked"}
    assert all(plan.get("entries") for plan in planned.values())


