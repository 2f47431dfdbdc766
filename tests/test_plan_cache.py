"""The plan cache: an unchanged stack is restored, never stale; any change in its key plans again."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from agent_iam.plan import cache as plan_cache
from agent_iam.plan.__main__ import main
from agent_iam.plan.cache import (
    Fingerprint,
    PlanCache,
    canonical,
    code_digest,
    config_key,
    environment_digest,
    installed_distributions,
    quick_key,
    stack_file_path,
)
from agent_iam.plan.stackfile import load_stack_file
from agent_iam.stack_config import ConfigError

FP = Fingerprint(code="c" * 64, environment="e" * 64)


def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, leaf) for every key and scalar of a parsed config."""
    out: list[tuple[tuple, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((path + (("key", k),), k))
            out += _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _leaves(v, path + (i,))
    else:
        out.append((path, value))
    return out


def _one_char_changed(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    text = str(value)
    if not text:
        return "x"
    i = rng.randrange(len(text))
    return text[:i] + ("x" if text[i] != "x" else "y") + text[i + 1:]


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, tuple) and head[0] == "key":  # rename a mapping key
        return {(new if k == head[1] else k): v for k, v in value.items()}
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(value)]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_one_character_change_anywhere_in_a_stack_config_changes_the_key(stack):
    loaded = load_stack_file(ROOT / "stacks", stack)
    key = config_key(FP, stack, loaded)
    assert config_key(FP, stack, load_stack_file(ROOT / "stacks", stack)) == key, "the key is deterministic"
    rng = random.Random(stack)
    leaves = _leaves(loaded.config)
    assert len(leaves) > 20
    for path, leaf in leaves:
        changed = _replace(loaded.config, path, _one_char_changed(leaf, rng))
        assert config_key(FP, stack, dataclasses.replace(loaded, config=changed)) != key, (path, leaf)
    assert config_key(FP, stack, dataclasses.replace(loaded, secret_keys=[*loaded.secret_keys, "agent-iam:x"])) != key
    assert config_key(FP, stack, dataclasses.replace(loaded, environments=("team/env",), environment_line=3)) != key
    assert config_key(FP, stack + "x", loaded) != key
    assert config_key(Fingerprint("d" + FP.code[1:], FP.environment), stack, loaded) != key
    assert config_key(Fingerprint(FP.code, "f" + FP.environment[1:]), stack, loaded) != key
    # where keys sit in the file only places error messages (errors are never cached)
    moved = dataclasses.replace(loaded, lines={k: n + 1 for k, n in loaded.lines.items()}, config_line=loaded.config_line + 1)
    assert config_key(FP, stack, moved) == key


def test_canonical_keeps_types_apart_and_ignores_mapping_order():
    assert canonical({"a": 1, "b": 2}) == canonical({"b": 2, "a": 1})
    values = [1, 1.0, True, "1", None, [1], (1,), {"1": 1}, {1: 1}, "", [], {}]
    assert len({json.dumps(canonical(v)) for v in values}) == len(values)


def test_a_one_character_change_in_any_code_file_changes_the_key(tmp_path):
    package = tmp_path / "agent_iam"
    shutil.copytree(ROOT / "agent_iam", package, ignore=shutil.ignore_patterns("__pycache__"))
    program = tmp_path / "__main__.py"
    shutil.copy(ROOT / "__main__.py", program)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    files = plan_cache.code_files(package, tmp_path, program)
    assert program in files and tmp_path / "Pulumi.yaml" in files
    assert package / "plan" / "cache.py" in files and package / "stack_config" / "models.py" in files
    digest = code_digest(files, tmp_path)
    rng = random.Random(14)
    for path in files:
        data = path.read_bytes()
        i = rng.randrange(len(data)) if data else 0
        changed = data[:i] + (b"x" if data[i:i + 1] != b"x" else b"y") + data[i + 1:]
        path.write_bytes(changed)
        assert code_digest(plan_cache.code_files(package, tmp_path, program), tmp_path) != digest, path
        path.write_bytes(data)
    assert code_digest(plan_cache.code_files(package, tmp_path, program), tmp_path) == digest
    (package / "presets.yaml").write_text("")  # a new data file counts too
    assert code_digest(plan_cache.code_files(package, tmp_path, program), tmp_path) != digest


def test_a_one_character_change_in_a_dependency_version_changes_the_key(tmp_path):
    site = tmp_path / "site-packages"
    (site / "pulumi-3.272.0.dist-info").mkdir(parents=True)
    (site / "pulumi_aws-7.51.1.dist-info").mkdir()
    before = environment_digest(installed_distributions([str(site)]))
    os.rename(site / "pulumi_aws-7.51.1.dist-info", site / "pulumi_aws-7.51.2.dist-info")
    assert environment_digest(installed_distributions([str(site)])) != before
    assert any("pulumi-" in d for d in installed_distributions()), "the real sys.path holds the SDK's dist-info"
    dists = installed_distributions([str(site)])
    config = {"PULUMI_CONFIG": '{"agent-iam:accountId": "111111111111"}', "HOME": "/root"}
    keyed = environment_digest(dists, config)
    assert environment_digest(dists, {**config, "HOME": "/other"}) == keyed, "only the SDK's variables count"
    assert environment_digest(dists, {**config, "PULUMI_CONFIG": config["PULUMI_CONFIG"].replace("1\"}", "2\"}")}) != keyed
    assert environment_digest(dists, {**config, "PULUMI_CONFIG_SECRET_KEYS": "[]"}) != keyed


def test_a_one_character_change_in_the_stack_file_changes_the_quick_key():
    data = stack_file_path(ROOT / "stacks", "prod").read_bytes()
    key = quick_key(FP, "prod", data)
    for i in range(0, len(data), max(1, len(data) // 50)):
        assert quick_key(FP, "prod", data[:i] + b"#" + data[i + 1:]) != key or data[i:i + 1] == b"#"


def test_the_quick_key_reads_the_file_the_plan_reads(tmp_path):
    (tmp_path / "Pulumi.x.yaml").write_text(yaml.safe_dump({"config": {"agent-iam:accountId": "111111111111"}}))
    assert stack_file_path(tmp_path, "x") == tmp_path / "Pulumi.x.yaml"
    assert load_stack_file(tmp_path, "x").config == {"agent-iam:accountId": "111111111111"}
    os.rename(tmp_path / "Pulumi.x.yaml", tmp_path / "Pulumi.y.yaml")
    with pytest.raises(ConfigError):
        load_stack_file(tmp_path, "x")
    assert PlanCache(tmp_path / "out").quick_key("../x", tmp_path / "Pulumi.y.yaml") is None, "never for a bad name"


# -- the command ----------------------------------------------------------------------------------

AGENTS = {"aws:region": "eu-west-1", "agent-iam:accountId": "111111111111",
          "agent-iam:ecsAgents": [{"name": "a"}, {"name": "b"}]}


def _write(stacks: Path, config: dict[str, Any], comment: str = "") -> None:
    stacks.mkdir(exist_ok=True)
    (stacks / "Pulumi.t.yaml").write_text(comment + yaml.safe_dump({"config": config}))


def _plan(tmp_path: Path, capsys, *flags: str) -> tuple[int, str, str]:
    code = main(["--stack", "t", "--stacks-dir", str(tmp_path / "stacks"), "--out", str(tmp_path / "out"), *flags])
    out = capsys.readouterr()
    return code, out.out, out.err


def _files(target: Path) -> dict[str, bytes]:
    return {str(p.relative_to(target)): p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()}


def test_an_unchanged_stack_is_restored_and_prints_what_the_plan_printed(tmp_path, capsys):
    _write(tmp_path / "stacks", AGENTS)
    code, first, _ = _plan(tmp_path, capsys)
    assert code == 0 and "restored" not in first
    files = _files(tmp_path / "out" / "t")
    code, again, _ = _plan(tmp_path, capsys)
    assert code == 0
    assert again.splitlines()[0].startswith("plan restored from the plan cache")
    assert again.split("\n", 1)[1] == first
    assert _files(tmp_path / "out" / "t") == files

    code, forced, _ = _plan(tmp_path, capsys, "--no-cache")
    assert code == 0 and forced == first


def test_a_change_plans_again_and_a_comment_does_not(tmp_path, capsys):
    _write(tmp_path / "stacks", AGENTS)
    _plan(tmp_path, capsys)
    _write(tmp_path / "stacks", AGENTS, comment="# reviewed\n")
    code, out, _ = _plan(tmp_path, capsys)
    assert code == 0 and out.startswith("plan restored")  # same config, other bytes

    changed = {**AGENTS, "agent-iam:ecsAgents": [{"name": "a"}, {"name": "c"}]}
    _write(tmp_path / "stacks", changed)
    code, out, _ = _plan(tmp_path, capsys)
    assert code == 0 and "restored" not in out
    names = {r["name"] for r in json.loads((tmp_path / "out" / "t" / "plan.json").read_text())["resources"]}
    assert "c-task" in names and "b-task" not in names
    _write(tmp_path / "stacks", AGENTS)  # back to the first config: its entry is still there
    code, out, _ = _plan(tmp_path, capsys)
    assert out.startswith("plan restored")
    names = {r["name"] for r in json.loads((tmp_path / "out" / "t" / "plan.json").read_text())["resources"]}
    assert "b-task" in names and "c-task" not in names


def test_files_changed_by_hand_are_put_back(tmp_path, capsys):
    _write(tmp_path / "stacks", AGENTS)
    _plan(tmp_path, capsys)
    target = tmp_path / "out" / "t"
    files = _files(target)
    (target / "plan.json").write_text("{}")
    (target / "iam" / "a-task.trust.json").unlink()
    (target / "iam" / "stray.json").write_text("{}")
    code, out, _ = _plan(tmp_path, capsys)
    assert out.startswith("plan restored")
    assert _files(target) == files


def test_a_blocked_plan_is_restored_with_its_exit_code_and_message(tmp_path, capsys):
    wide = {"name": "wide", "allowWildcardResources": True, "policy": {"Version": "2012-10-17", "Statement": [
        {"Sid": "DecryptAnything", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}}
    _write(tmp_path / "stacks", {**AGENTS, "agent-iam:ecsAgents": [wide]})
    code, out, err = _plan(tmp_path, capsys)
    assert code == 3 and "plan blocked" in err
    code, again, err_again = _plan(tmp_path, capsys)
    assert code == 3 and again.startswith("plan restored") and err_again == err


def test_a_config_error_is_never_cached(tmp_path, capsys):
    _write(tmp_path / "stacks", {**AGENTS, "agent-iam:ecsAgents": [{"name": "a", "bogus": 1}]})
    assert _plan(tmp_path, capsys)[0] == 2
    code, out, err = _plan(tmp_path, capsys)
    assert code == 2 and "restored" not in out and "config error" in err
    assert not (tmp_path / "out" / ".cache" / "plans").exists() or not any(
        p.name == "entry.pickle" for p in (tmp_path / "out" / ".cache" / "plans").rglob("*")
    )


def test_a_quiet_plan_serves_a_later_printed_one_and_the_cache_stays_small(tmp_path, capsys):
    _write(tmp_path / "stacks", AGENTS)
    quiet = _plan(tmp_path, capsys, "--quiet")[1]
    assert "a-task" not in quiet and "Plan written to" in quiet
    code, out, _ = _plan(tmp_path, capsys)
    assert out.startswith("plan restored") and "agent-iam" in out and "a-task" in out, "the tree, from a quiet plan"
    code, again, _ = _plan(tmp_path, capsys, "--quiet")
    assert again.split("\n", 1)[1] == quiet
    for i in range(plan_cache.ENTRIES_PER_STACK + 2):
        _write(tmp_path / "stacks", {**AGENTS, "agent-iam:ecsAgents": [{"name": f"n{i}"}]})
        _plan(tmp_path, capsys, "--quiet")
    stack_dir = PlanCache(tmp_path / "out")._stack_dir("t")
    assert len([p for p in stack_dir.iterdir() if p.name != "quick"]) == plan_cache.ENTRIES_PER_STACK


def test_a_cached_replan_never_imports_pulumi(tmp_path):
    stacks = tmp_path / "stacks"
    _write(stacks, AGENTS)
    argv = ["--stack", "t", "--stacks-dir", str(stacks), "--out", str(tmp_path / "out")]
    script = (
        "import sys; from agent_iam.plan.__main__ import main; code = main(sys.argv[1:]); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'pydantic')); "
        "print('LOADED', loaded); sys.exit(code)"
    )
    first = subprocess.run([sys.executable, "-c", script, *argv], cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "LOADED []" not in first.stdout
    again = subprocess.run([sys.executable, "-c", script, *argv], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "plan restored" in again.stdout and "LOADED []" in again.stdout


def test_plan_all_plans_only_the_stacks_that_changed(tmp_path):
    from agent_iam.plan.all import plan_all

    stacks, out = tmp_path / "stacks", tmp_path / "out"
    stacks.mkdir()
    for name, agent in (("a", "x"), ("b", "y")):
        (stacks / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": {**AGENTS, "agent-iam:ecsAgents": [{"name": agent}]}}))
    results, _ = plan_all(["a", "b"], stacks, out, jobs=2)
    assert [r.status for r in results] == [0, 0], [r.stderr for r in results]
    cache = PlanCache(out)

    def entries(stack: str) -> dict[str, int]:
        return {p.parent.name: p.stat().st_mtime_ns for p in cache._stack_dir(stack).glob("*/entry.pickle")}

    before_a, before_b = entries("a"), entries("b")
    (stacks / "Pulumi.b.yaml").write_text(yaml.safe_dump({"config": {**AGENTS, "agent-iam:ecsAgents": [{"name": "z"}]}}))
    results, _ = plan_all(["a", "b"], stacks, out, jobs=2)
    assert [r.status for r in results] == [0, 0]
    assert entries("a") == before_a, "the unchanged stack was restored, not planned (its entry untouched)"
    assert len(entries("b")) == len(before_b) + 1, "the changed stack was planned"
    assert "z-task" in (out / "b" / "plan.json").read_text()


# `agent-iam diff` restoring both sides from the plan cache: tests/test_diff.py
# (test_a_second_diff_of_the_same_commits_restores_both_sides), on that file's repository.


# -- nothing below the output folder is followed out of it ----------------------------------------


def _victim(tmp_path: Path) -> Path:
    """A folder outside the output folder with six entry-like sub-folders: what a prune through a link deleted."""
    victim = tmp_path / "victim"
    for i in range(6):
        (victim / f"{i:064x}").mkdir(parents=True)
        (victim / f"{i:064x}" / "keep.txt").write_text("precious")
    (victim / "keep.txt").write_text("precious")
    return victim


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("where", ["cache", "plans", "stack", "quick", "entry"])
def test_a_link_planted_in_the_plan_cache_is_never_followed(tmp_path, where):
    """`build/.cache/plans/<digest> -> victim` made the prune step delete the victim's folders (and the
    store write into it). Wherever the link is planted, the victim keeps every file, the link is
    replaced by a real folder, and the cache still serves the entry it stored."""
    victim = _victim(tmp_path)
    before = _snapshot(victim)
    out = tmp_path / "out"
    cache = PlanCache(out, FP)
    stack_dir = cache._stack_dir("t")
    link = {"cache": out / ".cache", "plans": cache.root, "stack": stack_dir, "quick": stack_dir / "quick",
            "entry": stack_dir / "key-1"}[where]
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim, target_is_directory=True)
    assert cache.load("t", "key-1", "default") is None and cache.key_for_quick("t", "q") is None  # a read finds nothing
    files = {"plan.json": b"{}"}
    for i in range(plan_cache.ENTRIES_PER_STACK + 2):  # enough entries that the prune runs
        entry = plan_cache.Entry("t", 0, {"default": []}, [])
        cache.store("t", f"key-{i}", files, entry, quick=f"q{i}")
    assert _snapshot(victim) == before
    assert not link.is_symlink() and stack_dir.is_dir() and not stack_dir.is_symlink()
    last = f"key-{plan_cache.ENTRIES_PER_STACK + 1}"
    assert cache.key_for_quick("t", f"q{plan_cache.ENTRIES_PER_STACK + 1}") == last
    assert cache.load("t", last, "default") is not None


def test_a_link_in_a_cache_entry_is_neither_read_nor_pruned_through(tmp_path):
    victim = _victim(tmp_path)
    before = _snapshot(victim)
    cache = PlanCache(tmp_path / "out", FP)
    cache.store("t", "key-0", {"plan.json": b"{}"}, plan_cache.Entry("t", 0, {"default": []}, []), quick="q0")
    folder = cache._stack_dir("t") / "key-0"
    (folder / "entry.pickle").unlink()
    (folder / "entry.pickle").symlink_to(victim / "keep.txt")
    (cache._stack_dir("t") / "quick" / "q1").symlink_to(victim / "keep.txt")
    (cache._stack_dir("t") / "old").symlink_to(victim, target_is_directory=True)
    assert cache.load("t", "key-0", "default") is None and cache.key_for_quick("t", "q1") is None
    for i in range(1, plan_cache.ENTRIES_PER_STACK + 3):
        cache.store("t", f"key-{i}", {"plan.json": b"{}"}, plan_cache.Entry("t", 0, {"default": []}, []), quick=f"q{i}")
    assert _snapshot(victim) == before


def test_the_content_caches_never_write_or_read_through_a_link(tmp_path):
    """A link planted as the temporary file of a content cache write (`.<file>.<pid>`) was written through."""
    from agent_iam.guardrails import content_cache

    victim = _victim(tmp_path)
    before = _snapshot(victim)
    cache_dir = tmp_path / "out" / ".cache"
    cache_dir.mkdir(parents=True)
    cache_file = cache_dir / "peer-findings.t.json"
    (cache_dir / f".{cache_file.name}.{os.getpid()}").symlink_to(victim / "keep.txt")
    content_cache.write(cache_file, "v1", {"k": [1]})
    assert content_cache.read(cache_file, "v1") == {"k": [1]}
    cache_file.unlink()
    (victim / "cache.json").write_text(json.dumps({"version": "v1", "entries": {"planted": []}}))
    before = _snapshot(victim)
    cache_file.symlink_to(victim / "cache.json")
    assert content_cache.read(cache_file, "v1") == {}  # a link is never read
    content_cache.write(cache_file, "v1", {"k": [2]})  # and a write replaces it
    assert not cache_file.is_symlink() and content_cache.read(cache_file, "v1") == {"k": [2]}
    shutil.rmtree(cache_dir)
    cache_dir.symlink_to(victim, target_is_directory=True)
    assert content_cache.read(cache_file, "v1") == {}
    content_cache.write(cache_file, "v1", {"k": [3]})
    assert _snapshot(victim) == before and not cache_dir.is_symlink()


def test_no_cache_reads_and_writes_no_cache_at_all(tmp_path, capsys, monkeypatch):
    """`--no-cache` bypassed the plan cache only: the IAM, peer and manifest findings were still read
    from `<out>/.cache/` and written there. Now the plan touches no cache: every checker is handed none."""
    from agent_iam.guardrails import content_cache

    seen: list[Any] = []
    real_read, real_update = content_cache.read, content_cache.update
    monkeypatch.setattr(content_cache, "read", lambda path, *a: seen.append(path) or real_read(path, *a))
    monkeypatch.setattr(content_cache, "update", lambda path, *a: seen.append(path) or real_update(path, *a))
    _write(tmp_path / "stacks", AGENTS)
    code, _, err = _plan(tmp_path, capsys, "--no-cache")
    assert code == 0, err
    assert seen and all(path is None for path in seen), seen
    assert not (tmp_path / "out" / ".cache").exists()
    seen.clear()
    assert _plan(tmp_path, capsys)[0] == 0  # without the flag every cache is used again
    assert {Path(p).name for p in seen} >= {"iam-findings.t.json", "peer-findings.t.json"}


def test_the_environment_key_covers_the_installed_files_by_their_record(tmp_path):
    """Two installs of the same version with other files (a patched package) have other RECORDs."""
    from agent_iam.plan.cache import distribution_records

    site = tmp_path / "site-packages"
    (site / "pulumi-3.272.0.dist-info").mkdir(parents=True)
    record = site / "pulumi-3.272.0.dist-info" / "RECORD"
    record.write_text("pulumi/__init__.py,sha256=AAAA,10\n")
    dists = installed_distributions([str(site)])
    before = environment_digest(dists, {}, distribution_records([str(site)]))
    record.write_text("pulumi/__init__.py,sha256=AAAB,10\n")
    assert distribution_records([str(site)]) != distribution_records([str(tmp_path)])
    assert environment_digest(dists, {}, distribution_records([str(site)])) != before
    assert environment_digest(dists, {}, distribution_records([str(site)])) == environment_digest(
        dists, {}, distribution_records([str(site)]))
    # sys.path's records: read once per process, and they hold the SDK's own
    assert distribution_records() is distribution_records()
    assert any(r.startswith("pulumi-") and not r.endswith(":-") for r in distribution_records())
