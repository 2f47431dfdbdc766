"""Run the real `__main__.py` under Pulumi's mock engine with a stack's config.

This is the one way the project runs its program offline: `make plan`, the tests'
shared fixture and the benchmark all call `run_program`.
"""

from __future__ import annotations

import json
import logging
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from agent_iam.stack_config import NAMESPACE, REDACTED

from .mocks import AccountInfo, PlanMocks, RecordingMonitor, Registration
from .project import PROGRAM, PROJECT_DIR, find_project_dir  # noqa: F401 (re-exported)
from .runtime import plan_runtime


@dataclass
class PlanRun:
    """What `pulumi up` would create, as the program registered it."""

    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    # The StackSettings the program validated and composed from (its module-level `settings`),
    # so the guardrails judge the same settings without validating the config a second time.
    settings: Any = None

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.resources if r.type == typ]

    def named(self, typ: str, name: str) -> Registration:
        matches = [r for r in self.resources if r.type == typ and r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} {typ} named {name!r}")
        return matches[0]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def config_strings(config: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file values as Pulumi hands them to a program: strings, structured values as JSON."""
    out = {}
    for key, value in config.items():
        full = key if ":" in key else f"{NAMESPACE}:{key}"
        out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


async def _resolve(value: Any) -> Any:
    """Resolve outputs for the plan; secret values show as `[secret]`."""
    if isinstance(value, pulumi.Output):
        if await value.is_secret():
            return REDACTED
        return await _resolve(await value.future())
    if isinstance(value, Mapping):
        return {k: await _resolve(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [await _resolve(v) for v in value]
    return value


def run_program(
    stack: str,
    config: Mapping[str, Any],
    secret_keys: list[str] | None = None,
    program: Path = PROGRAM,
) -> PlanRun:
    """Run the program for `stack` with `config` (stack-file style keys and values).

    Raises whatever the program raises (a ConfigError for bad config) after the
    engine has shut down cleanly.
    """
    strings = config_strings(config)
    account = strings.get(f"{NAMESPACE}:accountId", "000000000000")
    region = strings.get("aws:region", "us-east-1")
    mocks = PlanMocks(default=AccountInfo(account, region))
    monitor = RecordingMonitor(mocks)
    handler = _ListHandler()
    logger = logging.getLogger(f"agent-iam.plan.{stack}")
    logger.propagate = False
    logger.handlers = [handler]

    set_root_resource(None)  # a fresh root stack for every run in this process
    pulumi.runtime.set_all_config(strings, list(secret_keys or []))
    pulumi.runtime.set_mocks(mocks, project="agent-iam", stack=stack, preview=False, monitor=monitor, logger=logger)
    root = pulumi.runtime.settings.get_root_resource()

    program_globals: dict[str, Any] = {}

    def main() -> None:
        program_globals.update(runpy.run_path(str(program), run_name="__main__"))

    with plan_runtime():
        try:
            _sync_await(run_pulumi_func(main))
        except Exception as exc:
            exc.registered_resources = list(monitor.registrations)  # type: ignore[attr-defined]
            raise
        outputs = _sync_await(_resolve(dict(getattr(root, "outputs", {}))))  # one pass of the event loop
    resources = sorted(monitor.registrations, key=lambda r: r.urn)  # registration order varies by thread
    return PlanRun(
        stack=stack,
        resources=resources,
        outputs=outputs,
        warnings=handler.messages,
        settings=program_globals.get("settings"),
    )
