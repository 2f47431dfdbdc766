"""A stack name is never a path: the plan writes and removes only inside its output folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_iam.plan.__main__ import main
from agent_iam.plan.paths import UnsafePath, check_stack_name, inside, plan_folder
from agent_iam.plan.render import remove_plan, write_plan
from conftest import ROOT

TRAVERSALS = ["..", ".", "../victim", "../../etc", "/etc", "a/b", "a\\b", "", "dev\n", "dev/..", "..\\..", "ｄｅｖ", "dev ", "x" * 101]

STACK_FILE = "config:\n  aws:region: eu-west-1\n  agent-iam:accountId: '111111111111'\n"


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A project folder with stacks/, build/ and a sibling folder, each holding a file to lose."""
    stacks, out, victim = tmp_path / "project" / "stacks", tmp_path / "project" / "build", tmp_path / "victim"
    for folder in (stacks, out / "dev", victim):
        folder.mkdir(parents=True)
    (stacks / "Pulumi.dev.yaml").write_text(STACK_FILE)
    (tmp_path / "project" / "Pulumi.yaml").write_text("name: p\n")
    (victim / "keep.txt").write_text("precious")
    (out / "dev" / "plan.json").write_text("{}")
    return {"root": tmp_path, "stacks": stacks, "out": out, "victim": victim}


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("stack", TRAVERSALS)
def test_a_traversal_name_is_a_config_error_and_deletes_nothing(stack, project, capsys):
    before = snapshot(project["root"])
    code = main(["--stack", stack, "--out", str(project["out"]), "--stacks-dir", str(project["stacks"]), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--stack: not a stack name:" in err and "Traceback" not in err
    assert snapshot(project["root"]) == before


@pytest.mark.parametrize("stack", TRAVERSALS)
def test_check_stack_name_refuses_traversals(stack):
    with pytest.raises(UnsafePath):
        check_stack_name(stack)


@pytest.mark.parametrize("stack", ["dev", "prod", "my_stack.v2", "a-b", "A1", "..a", "a.."])
def test_plain_stack_names_are_accepted(stack):
    assert check_stack_name(stack) == stack


def test_remove_plan_ignores_a_traversal_name(project):
    before = snapshot(project["root"])
    for stack in TRAVERSALS:
        remove_plan(project["out"], stack)
    assert snapshot(project["root"]) == before


def test_a_symlink_where_the_plan_folder_belongs_is_replaced_not_followed(project, plan_stack):
    """`build/dev -> ../../victim`: writing (or removing) the dev plan unlinks the link, the victim keeps its files."""
    link = project["out"] / "dev"
    (link / "plan.json").unlink()
    link.rmdir()
    link.symlink_to(project["victim"], target_is_directory=True)
    remove_plan(project["out"], "dev")
    assert not link.exists() and (project["victim"] / "keep.txt").read_text() == "precious"
    link.symlink_to(project["victim"], target_is_directory=True)
    from conftest import config_with

    target = write_plan(plan_stack(config_with(), stack="dev"), project["out"])
    assert target == link and target.is_dir() and not target.is_symlink()
    assert (target / "plan.json").is_file()
    assert sorted(os.listdir(project["victim"])) == ["keep.txt"]


def test_a_symlinked_plan_subfolder_is_not_followed(project, plan_stack):
    from conftest import config_with

    run = plan_stack(config_with(ecsAgents=[{"name": "a"}]), stack="dev")
    target = write_plan(run, project["out"])
    (target / "iam").rename(target / "iam-old")
    (target / "iam").symlink_to(project["victim"], target_is_directory=True)
    write_plan(run, project["out"])
    assert sorted(os.listdir(project["victim"])) == ["keep.txt"]
    assert (target / "iam").is_dir() and not (target / "iam").is_symlink()


def test_inside_refuses_paths_that_resolve_out_of_the_folder(tmp_path):
    assert inside(tmp_path, tmp_path / "a") == tmp_path / "a"
    for path in (tmp_path / "..", tmp_path / "a" / ".." / "..", tmp_path, Path("/etc/passwd")):
        with pytest.raises(UnsafePath):
            inside(tmp_path, path)
    assert plan_folder(tmp_path, "dev") == tmp_path / "dev"


def test_make_plan_with_a_traversal_stack_deletes_nothing(tmp_path):
    """`make plan STACK=..` runs the same command: exit 2 (make: error), the project and its siblings intact."""
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("make plan needs the project's .venv")
    before = snapshot_names(ROOT)
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "plan", "STACK=..", f"PY={sys.executable}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "not a stack name: '..'" in result.stderr
    assert snapshot_names(ROOT) >= before


def snapshot_names(root: Path) -> set[str]:
    """The project's top-level entries and the files tracked in stacks/ (what `rmtree(build/..)` used to delete)."""
    return {p.name for p in root.iterdir()} | {f"stacks/{p.name}" for p in (root / "stacks").iterdir()}
