"""A sharded plan (plan/shard.py) is byte for byte the single-process plan, or it is not used."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.generate import stack_config
from conftest import ROOT, config_with
from agent_iam.plan import shard
from agent_iam.plan.guardrails import judge, judgement_document, stack_settings
from agent_iam.plan.render import plan_files
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import read_stack_file
from agent_iam.stack_config import ConfigError

BENCH = {"bench5": 5, "bench23": 23}


def _config(stack: str):
    if stack in BENCH:
        return stack_config(BENCH[stack]), []
    return read_stack_file(ROOT / "stacks", stack)


def _everything(run, tmp_path) -> dict[str, bytes]:
    judgement = judge(run, run.settings, cache_dir=tmp_path)
    records = repr([dataclasses.astuple(r) for r in run.resources]).encode()
    return {
        **plan_files(run, judgement_document(judgement)),
        "<registrations>": records,
        "<outputs>": repr(run.outputs).encode(),
        "<warnings>": repr(run.warnings).encode(),
    }


@pytest.fixture(scope="module")
def judge_cache(tmp_path_factory) -> Path:
    """One content cache for the module's judgements: a single plan and its merge share it, as they did a tmp_path."""
    return tmp_path_factory.mktemp("judge-cache")


_SINGLE: dict[str, dict[str, bytes]] = {}


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("stack", ["dev", "staging", "prod", *BENCH])
def test_the_merged_plan_is_the_single_process_plan(stack, count, judge_cache):
    config, secret_keys = _config(stack)
    if stack not in _SINGLE:
        _SINGLE[stack] = _everything(run_program(stack, config, secret_keys), judge_cache)
    single = _SINGLE[stack]
    merged_run = shard.run_sharded(stack, config, secret_keys, count)  # MergeError would fail the test
    assert merged_run.settings == stack_settings(stack, config, secret_keys), "the judge gets the whole stack"
    merged = _everything(merged_run, judge_cache)
    assert merged.keys() == single.keys()
    for name in single:
        assert merged[name] == single[name], name


def test_shards_split_the_entries_in_order_and_keep_everything_else():
    config, secret_keys = _config("prod")
    settings = stack_settings("prod", config, secret_keys)
    units = settings.units()
    assert len(units) >= 3
    for count in (2, 3, len(units) + 2):
        parts = [shard.shard_settings(settings, i, count) for i in range(count)]
        assert [u for p in parts for u in p.units()] == units
        for part in parts:
            assert part.oidc_providers == settings.oidc_providers and part.accounts == settings.accounts
            assert part.kubernetes_clusters == settings.kubernetes_clusters


def test_records_that_disagree_are_not_merged(plan_stack):
    run = plan_stack(config_with(ecsAgents=[{"name": "a"}]))
    other = dataclasses.replace(run, resources=[dataclasses.replace(run.resources[0], inputs={"x": 1})])
    with pytest.raises(shard.MergeError):
        shard.merge_runs([run, other], None)
    # Each component says its own advisories: the shards' advisories, in order, are exactly the entries'.
    wide = {"name": "b", "secretArns": ["*"], "allowAllSecrets": True}
    config = config_with(ecsAgents=[{"name": "a"}, wide])
    run = plan_stack(config)
    (said,) = run.warnings
    assert said.startswith("agent-iam: agent-iam:ecsAgents[1] (b): the execution role 'b-execution' may read EVERY secret")
    first, second = (dataclasses.replace(run, warnings=w) for w in ([], [said]))
    assert shard.merge_runs([first, second], run.settings).warnings == [said]
    for shards in ([second, second], [first, first]):  # said twice, or never
        with pytest.raises(shard.MergeError):
            shard.merge_runs(shards, run.settings)
    with pytest.raises(shard.MergeError):
        shard.merge_outputs([{"a": "1"}, {"a": "2"}])
    assert shard.merge_outputs([{"m": {"x": 1}, "id": "1"}, {"m": {"y": 2}, "id": "1"}]) == {
        "m": {"x": 1, "y": 2}, "id": "1"}


def test_when_the_shards_do_not_merge_the_stack_is_planned_in_one_process(monkeypatch, tmp_path):
    config, secret_keys = _config("bench5")
    single = _everything(run_program("bench5", config, secret_keys), tmp_path)

    def refuse(runs, settings):
        raise shard.MergeError("test")

    monkeypatch.setattr(shard, "merge_runs", refuse)
    assert _everything(shard.run_plan("bench5", config, secret_keys, shards=2), tmp_path) == single


def test_a_config_error_is_raised_as_in_one_process():
    config = config_with(ecsAgents=[{"name": "a", "bogus": True}] * 3)
    with pytest.raises(ConfigError) as caught:
        shard.run_plan("test", config, [], shards=2)
    assert "bogus" in str(caught.value)


def test_the_default_is_the_cores_for_a_large_stack_only(monkeypatch):
    monkeypatch.delenv(shard.SHARDS_ENV, raising=False)
    small, large = stack_config(2), stack_config(shard.SHARD_MIN_ENTRIES)
    assert shard.default_shards(small) == 1
    assert shard.default_shards(large) == len(__import__("os").sched_getaffinity(0))
    assert shard.default_shards(large, 1) == 1 and shard.default_shards(small, 3) == 3
    monkeypatch.setenv(shard.SHARDS_ENV, "1")
    assert shard.default_shards(large) == 1


def test_a_shard_count_that_is_not_a_number_is_a_config_error(monkeypatch, tmp_path, capsys):
    from agent_iam.cli import main

    monkeypatch.setenv(shard.SHARDS_ENV, "two")
    assert main(["plan", "--stack", "dev", "--quiet", "--no-cache", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "AGENT_IAM_PLAN_SHARDS='two'" in err and "whole number" in err
    assert not (tmp_path / "dev").exists()
