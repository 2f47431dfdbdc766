"""Shared fixtures: run the real program under Pulumi's mocks with a stack config.

How to keep a test fast here (tests/README.md says more): plan a repository stack through the
`planned` fixture (once per session, shared: read it, never change it), share a plan several tests
read through a module fixture, plan in-process rather than through a subprocess unless the process
itself is what is tested, and give a hypothesis test `fuzz_examples(...)` examples.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_iam.plan.run import PlanRun, run_program  # noqa: E402

# --- the soaks -------------------------------------------------------------------------------
# Every hypothesis test runs `fuzz_examples(weight)` examples: FUZZ_EXAMPLES (default 100) times a
# weight for a property much dearer or cheaper than most. FUZZ_EXAMPLES=500 runs the counts the
# suite ran by default until it ran in parallel; a soak raises it (`.ci/run` runs `-m soak` deeper).
FUZZ_EXAMPLES_DEFAULT = 100


def _fuzz_examples() -> int:
    text = os.environ.get("FUZZ_EXAMPLES", "").strip() or str(FUZZ_EXAMPLES_DEFAULT)
    if not text.isdigit() or int(text) < 1:
        raise pytest.UsageError(f"FUZZ_EXAMPLES={text!r}: give a whole number of examples (default {FUZZ_EXAMPLES_DEFAULT})")
    return int(text)


def fuzz_examples(weight: float = 1.0) -> int:
    """Examples for one hypothesis test: FUZZ_EXAMPLES scaled by `weight`, at least one."""
    return max(1, round(_fuzz_examples() * weight))


def pytest_configure(config: pytest.Config) -> None:
    _fuzz_examples()  # a bad FUZZ_EXAMPLES is a usage error before any test module is imported


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every hypothesis test is a soak (`-m soak` selects them all, `-m "not soak"` leaves them out)."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.soak)


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session):
    """Keep the test modules pytest rewrites (their asserts) in tests/__pycache__ (git-ignored), so a
    worker loads them instead of rewriting all of them on every run: where PYTHONDONTWRITEBYTECODE is
    set it would, as `make bytecode` explains for the package. Only while the modules are collected."""
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        yield
    finally:
        sys.dont_write_bytecode = saved


# The collector's thresholds while the tests run: a young collection every 50,000 allocations rather
# than 700. The tests build and drop plans, models and solver terms by the hundred thousand objects;
# at CPython's default the collector runs thousands of times per file and scans the live plans shared
# through fixtures again each time, for garbage that reference counting frees anyway.
TEST_GC_THRESHOLD = (50_000, 20, 100)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what collection built (Pulumi, the providers, hypothesis, AWS's service data: most of
    the heap) out of the garbage collector's reach, so a later full collection scans only what the
    tests made, and collect less often (TEST_GC_THRESHOLD)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*TEST_GC_THRESHOLD)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject): a worker per usable core, none when only single tests are named
    (`pytest tests/test_x.py::test_y`: starting workers would cost more than the test);
    PYTEST_XDIST_AUTO_NUM_WORKERS, as xdist itself reads it, wins."""
    from agent_iam.forked import usable_cores

    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "").strip().isdigit():
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    named = [arg for arg in config.args if not arg.startswith("-")]
    if named and all("::" in arg for arg in named):
        return 0
    return usable_cores()


ACCOUNT = "111111111111"
REGION = "eu-west-1"
# `ssm: true` attaches AmazonSSMManagedInstanceCore, which reads every SSM parameter: the guardrails want it accepted.
SSM_REVIEWED = {"check": "sensitive-actions-scoped", "document": "AmazonSSMManagedInstanceCore",
                "reason": "Session Manager on the runner, reviewed"}

BASE_CONFIG: dict[str, Any] = {
    "aws:region": REGION,
    "agent-iam:accountId": ACCOUNT,
}


def config_with(**keys: Any) -> dict[str, Any]:
    """The base stack config plus `agent-iam:<key>` values (camelCase keys)."""
    config = copy.deepcopy(BASE_CONFIG)
    for key, value in keys.items():
        config[key if ":" in key else f"agent-iam:{key}"] = value
    return config


def trust_of(run: PlanRun, role_logical_name: str) -> dict[str, Any]:
    return json.loads(run.named("aws:iam/role:Role", role_logical_name).inputs["assumeRolePolicy"])


def inline_policy_of(run: PlanRun, policy_logical_name: str) -> dict[str, Any]:
    return json.loads(run.named("aws:iam/rolePolicy:RolePolicy", policy_logical_name).inputs["policy"])


def provider_name(resource: Any) -> str | None:
    """The name of the explicit provider a resource was registered through (`aws`, `aws-<account>`, `k8s-<cluster>`)."""
    return resource.provider.rsplit("::", 1)[-1] if resource.provider else None


def kubernetes_manifests(run: PlanRun) -> dict[str, dict[str, Any]]:
    """The Kubernetes objects of a plan as `make plan` writes them under `k8s/`."""
    from agent_iam.plan.render import kubernetes_manifest_files

    return kubernetes_manifest_files(run)


def copy_project(dest: Path) -> Path:
    """The project's program, Pulumi.yaml, pyproject.toml and `agent_iam` package in `dest` (for a
    git repository a test commits), the package compiled to checked-hash bytecode: every process that
    plans from the copy, or from a commit of it, then loads it instead of compiling the package again
    (PYTHONDONTWRITEBYTECODE keeps each from saving its own). Checked-hash files stay valid whatever
    the copy's times, so no process rewrites them and a repository of the copy stays clean."""
    import compileall
    import py_compile
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "agent_iam", dest / "agent_iam", ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(dest / "agent_iam", quiet=1, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    return dest


def plan_stack_file(stack: str) -> PlanRun:
    """Plan `stacks/Pulumi.<stack>.yaml` as `make plan` does (secure values redacted in place)."""
    from agent_iam.plan.stackfile import read_stack_file

    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    return run_program(stack, config, secret_keys)


@pytest.fixture(scope="session")
def planned() -> Callable[[str], PlanRun]:
    """`planned("prod")`: a repository stack (`stacks/`) planned once per session (once per xdist
    worker) as `plan_stack_file` plans it. The run is shared between tests: read it, never change it
    (a test that changes a plan calls `plan_stack_file` for its own)."""
    runs: dict[str, PlanRun] = {}

    def get(stack: str) -> PlanRun:
        if stack not in runs:
            runs[stack] = plan_stack_file(stack)
        return runs[stack]

    return get


def assert_config_error(values: dict[str, Any], expected: str, stack: str = "prod") -> None:
    """Loading `agent-iam:*` values fails with a line `stacks/Pulumi.<stack>.yaml: <expected>...`."""
    from agent_iam import stack_config

    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load_settings({"accountId": ACCOUNT, **values}, stack=stack, region=REGION)
    assert f"stacks/Pulumi.{stack}.yaml: {expected}" in str(caught.value), str(caught.value)


@pytest.fixture
def plan_stack() -> Callable[..., PlanRun]:
    """`plan_stack(config, stack="test", secret_keys=None)` -> the registered resources and outputs."""

    def run(config: dict[str, Any], stack: str = "test", secret_keys: list[str] | None = None) -> PlanRun:
        return run_program(stack, config, secret_keys)

    return run


@pytest.fixture(scope="session")
def iam_services() -> Path:
    """AWS's service data as the IAM validator reads it, built once (cached under build/ by version)."""
    from agent_iam.guardrails.iam_validation import build_services_dir

    return build_services_dir()


def run_components(build: Callable[[], Any], config: dict[str, Any] | None = None, stack: str = "unit") -> tuple[PlanRun, Any]:
    """Run `build()` as a Pulumi program under the plan's mocks (Pulumi's unit-testing approach):
    what it registered, and what it returned with its outputs resolved.

    Raises what `build` raises, with `registered_resources` set on the exception."""
    import pulumi
    from pulumi.runtime.settings import set_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from agent_iam.plan.mocks import AccountInfo, PlanMocks, RecordingMonitor
    from agent_iam.plan.run import _resolve, config_strings

    config = {**BASE_CONFIG, **(config or {})}
    mocks = PlanMocks(default=AccountInfo(ACCOUNT, config["aws:region"]))  # the default provider reads aws:region
    monitor = RecordingMonitor(mocks)
    set_root_resource(None)
    pulumi.runtime.set_all_config(config_strings(config), [])
    pulumi.runtime.set_mocks(mocks, project="agent-iam", stack=stack, preview=False, monitor=monitor)
    result: dict[str, Any] = {}

    def main() -> None:
        result["value"] = build()

    try:
        _sync_await(run_pulumi_func(main))
    except Exception as exc:
        exc.registered_resources = list(monitor.registrations)  # type: ignore[attr-defined]
        _cancel_leftover_tasks()  # registrations still waiting on the failed output must not fail the next run
        raise
    value = _sync_await(_resolve(result.get("value")))
    return PlanRun(stack=stack, resources=sorted(monitor.registrations, key=lambda r: r.urn), outputs={}), value


def _cancel_leftover_tasks() -> None:
    """The SDK's mock settings keep the failed run's pending outputs (`SETTINGS.outputs` is not reset by
    `set_mocks`); the next run would await them and raise this run's error again."""
    from pulumi.runtime import settings

    settings.SETTINGS.outputs.clear()
    # The failed run's futures are never awaited again: their "exception was never retrieved" report
    # would format a traceback (an `ast.parse` on CPython 3.11) from inside whatever collects them next,
    # itself perhaps an `ast.parse`, which then fails with SystemError. The loop they belong to reports
    # them to a handler that formats nothing, whenever the collector gets to them: no full collection
    # here (one per refused build, over a heap of plans and service data, cost more than the tests).
    # The test asserts the error itself.
    import asyncio

    asyncio.get_event_loop().set_exception_handler(_quiet_unretrieved)


def _quiet_unretrieved(loop, context) -> None:
    if "never retrieved" not in context.get("message", ""):
        loop.default_exception_handler(context)
