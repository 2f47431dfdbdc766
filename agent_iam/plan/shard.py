"""A large stack's program on every core: K processes each register a shard of the entries.

Entries are independent once the whole config is validated, so each shard runs the real program
with the stack's full config: it validates everything (a bad key fails every shard the same
way), builds the same providers and OIDC registrations, and then registers only its own slice of
the entries (contiguous slices of `StackSettings.units()` order, so every family keeps its order).
The parent runs the first shard itself and forks the others before it has run anything (no SDK
threads exist yet); each child sends back its recorded resources and exits without teardown.

The merge is strict: a resource recorded by several shards (the stack, providers, OIDC providers)
must be recorded identically, each shard must have logged exactly the advisories of its own entries
(each component says its own as it registers), and each stack output must be the same value or
entry-keyed maps that do not overlap. Anything else, or any failure in a shard, plans the stack
in one process instead, so sharding changes how fast a plan runs, never what it says.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from agent_iam import forked
from agent_iam.forked import SHARDS_ENV

from .run import PlanRun, run_program

# Below this many entries one process is as fast: each shard validates the whole config and
# registers the stack's providers, and the parent unpickles the children's records, a fixed cost
# that a small program's share does not repay (measured by the parent's CPU time, the critical path
# when a core is free: README, Performance). `--shards` overrides it either way; `plan-all`
# planning several stacks at once sets 1.
SHARD_MIN_ENTRIES = 100


class MergeError(Exception):
    """The shards disagree about something a single run decides once: plan in one process."""


def entry_count(config: Mapping[str, Any]) -> int:
    """Entries in a stack-file config: the items of every list-valued `agent-iam:` key."""
    return sum(len(v) for k, v in config.items() if k.startswith("agent-iam:") and isinstance(v, list))


def default_shards(config: Mapping[str, Any], requested: int | None = None) -> int:
    """`requested` (or AGENT_IAM_PLAN_SHARDS), else the machine's cores for a stack of
    SHARD_MIN_ENTRIES entries or more, else 1."""
    if requested is None and os.environ.get(SHARDS_ENV, "").strip():
        value = os.environ[SHARDS_ENV].strip()
        if not value.isdigit():
            from agent_iam.stack_config import ConfigError

            raise ConfigError([f"{SHARDS_ENV}={value!r}: give a whole number of processes (1: one process)"])
        requested = int(value)
    if requested is not None:
        return max(1, requested)
    cores = forked.usable_cores()
    return cores if entry_count(config) >= SHARD_MIN_ENTRIES else 1


def _unit_fields(settings: Any) -> list[str]:
    """The StackSettings fields that hold entries (sequences of Unit), in declaration order."""
    from agent_iam.stack_config import Unit

    return [
        f.name
        for f in dataclasses.fields(settings)
        if isinstance(getattr(settings, f.name), (list, tuple))
        and getattr(settings, f.name)
        and all(isinstance(u, Unit) for u in getattr(settings, f.name))
    ]


def shard_settings(settings: Any, index: int, count: int) -> Any:
    """`settings` keeping only shard `index` of `count` of its entries (everything else whole)."""
    fields = _unit_fields(settings)
    total = sum(len(getattr(settings, name)) for name in fields)
    start, stop = index * total // count, (index + 1) * total // count
    changes, offset = {}, 0
    for name in fields:
        units = list(getattr(settings, name))
        changes[name] = type(getattr(settings, name))(
            u for i, u in enumerate(units, offset) if start <= i < stop
        )
        offset += len(units)
    return dataclasses.replace(settings, **changes)


def _run_shard(stack: str, config: Mapping[str, Any], secret_keys: list[str] | None, index: int, count: int,
               program: Any = None) -> tuple[PlanRun, Any]:
    """Run the program registering shard `index`; the run (settings stripped) and the full settings."""
    import agent_iam.stack_config as stack_config

    original = stack_config.load_from_pulumi
    seen: dict[str, Any] = {}

    def load_shard() -> Any:
        seen["full"] = original()
        seen["shard"] = shard_settings(seen["full"], index, count)
        return seen["shard"]

    stack_config.load_from_pulumi = load_shard
    try:
        run = run_program(stack, config, secret_keys, **({"program": program} if program else {}))
    finally:
        stack_config.load_from_pulumi = original
    if "shard" not in seen or run.settings is not seen["shard"]:
        raise MergeError("the program did not compose from load_from_pulumi's settings; cannot shard it")
    return dataclasses.replace(run, settings=None), seen["full"]


def _collect(child: forked.Child) -> Any:
    ok, value = forked.result(child)
    if not ok:
        raise MergeError(f"a shard failed:\n{value}")
    return value


def merge_outputs(outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack outputs of the shards as one run's: equal values once, entry-keyed maps joined in shard order."""
    merged: dict[str, Any] = {}
    for key in outputs[0]:
        values = [o.get(key) for o in outputs]
        if any(list(o) != list(outputs[0]) for o in outputs):
            raise MergeError("the shards exported different outputs")
        if all(v == values[0] for v in values):
            merged[key] = values[0]
        elif all(isinstance(v, dict) for v in values):
            joined: dict[str, Any] = {}
            for value in values:
                for name, item in value.items():
                    if name in joined and joined[name] != item:
                        raise MergeError(f"output {key}.{name} differs between shards")
                    joined[name] = item
            merged[key] = joined
        else:
            raise MergeError(f"output {key} differs between shards")
    return merged


def merge_runs(runs: Sequence[PlanRun], settings: Any) -> PlanRun:
    """One PlanRun from the shards' runs, as a single process would have recorded it."""
    by_urn: dict[str, Any] = {}
    for run in runs:
        for resource in run.resources:
            known = by_urn.setdefault(resource.urn, resource)
            if known is not resource and known != resource:
                raise MergeError(f"{resource.urn} was recorded differently by two shards")
    warnings = [warning for run in runs for warning in run.warnings]  # shards hold contiguous entries, in order
    if settings is not None and warnings != [text for unit in settings.units() for text in unit.advisory_texts()]:
        raise MergeError("the shards logged other advisories than their entries'")
    return PlanRun(
        stack=runs[0].stack,
        resources=sorted(by_urn.values(), key=lambda r: r.urn),
        outputs=merge_outputs([run.outputs for run in runs]),
        warnings=warnings,
        settings=settings,
    )


def run_sharded(stack: str, config: Mapping[str, Any], secret_keys: list[str] | None, count: int,
                program: Any = None) -> PlanRun:
    """The plan's run from `count` shards (this process runs the first); MergeError when they
    cannot be merged exactly."""
    children = [
        forked.start(lambda i=i: _run_shard(stack, config, secret_keys, i, count, program)[0]) for i in range(1, count)
    ]
    try:
        first, settings = _run_shard(stack, config, secret_keys, 0, count, program)
    except BaseException:
        for child in children:
            forked.result(child)
        raise
    runs = [first] + [_collect(child) for child in children]
    return merge_runs(runs, settings)


def run_plan(stack: str, config: Mapping[str, Any], secret_keys: list[str] | None = None,
             shards: int | None = None) -> PlanRun:
    """The plan's run: sharded across processes for a large stack, else (or when the shards do not
    merge exactly, or fail) the program in this process."""
    count = default_shards(config, shards)
    if count > 1 and hasattr(os, "fork"):
        try:
            return run_sharded(stack, config, secret_keys, count)
        except MergeError as exc:
            if os.environ.get("AGENT_IAM_PLAN_SHARD_DEBUG") == "1":
                print(f"agent-iam: planning in one process: {exc}", file=sys.stderr)
        except Exception:  # the program's own error: raised again, cleanly, by the single run below
            pass
    return run_program(stack, config, secret_keys)
