"""The benchmark's floor registers exactly the plan's AWS resources, so the ratio compares like with like."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from bench.floor import replay_of, run_floor
from bench.generate import ACCOUNT, REGION, stack_config
from conftest import plan_stack_file
from agent_iam.plan.mocks import RecordingMonitor
from agent_iam.plan.run import PlanRun, run_program


def floor_registrations(run: PlanRun, components: bool = False) -> list[Any]:
    """Run the floor in this process with a recording monitor (the timed floor records nothing)."""
    monitors: list[RecordingMonitor] = []

    def recording(mocks):
        monitors.append(RecordingMonitor(mocks))
        return monitors[0]

    replay = {"account": [ACCOUNT, REGION], "resources": replay_of(run.resources)}
    run_floor(replay, stack=run.stack, monitor=recording, components=components)
    return monitors[0].registrations


def signature(registrations) -> Counter:
    """What must match: type, logical name, inputs, secret inputs and protect, for every custom resource."""
    import json

    return Counter(
        (r.type, r.name, json.dumps(r.inputs, sort_keys=True), tuple(sorted(r.secret_inputs)), r.protect)
        for r in registrations
        if r.custom
    )


def with_second_account(config: dict[str, Any]) -> dict[str, Any]:
    """Move the first SaaS role into another account, so a provider with assumeRoles is replayed too."""
    config = dict(config)
    deployer = "arn:aws:iam::222222222222:role/deployer"
    config["agent-iam:accounts"] = {"data": {"roleArn": deployer, "region": "eu-west-1"}}
    saas = [dict(e) for e in config["agent-iam:saasRoles"]]
    saas[0]["account"] = "data"
    config["agent-iam:saasRoles"] = saas
    return config


@pytest.mark.parametrize("accounts", [False, True], ids=["one-account", "two-accounts"])
def test_floor_matches_the_bench_plan(accounts):
    config = stack_config(2)
    if accounts:
        config = with_second_account(config)
    run = run_program("bench2", config)
    plan = signature(run.resources)
    assert sum(plan.values()) >= 2 * 6, plan
    assert signature(floor_registrations(run)) == plan


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_floor_matches_the_environment_plans(stack):
    """Instance profiles, customer managed policies, protected roles and secret external IDs replay too."""
    run = plan_stack_file(stack)
    assert signature(floor_registrations(run)) == signature(run.resources)


def test_floor_with_components_adds_only_the_plans_components():
    run = run_program("bench2", stack_config(2))
    registered = floor_registrations(run, components=True)
    assert signature(registered) == signature(run.resources)
    components = Counter((r.type, r.name) for r in registered if not r.custom)
    assert components == Counter((r.type, r.name) for r in run.resources if not r.custom)

    def parents(registrations):
        return {(r.type, r.name): (r.parent or "").rsplit("::", 1)[-1] for r in registrations if r.custom}

    assert parents(registered) == parents(run.resources)
