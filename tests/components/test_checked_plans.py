"""The constructor taking the plan its `check` worked out (components/_contract.py `CheckedPlans`) leaves
every plan's registrations identical to checking the Args again."""

from __future__ import annotations

import pytest

from agent_iam.components._contract import CheckedPlans
from agent_iam.plan.run import run_program
from agent_iam.plan.stackfile import read_stack_file
from bench.generate import stack_config
from conftest import ROOT

STACKS = ["dev", "staging", "prod"]
BENCH = {"bench7": 7}


def _program(stack: str) -> bytes:
    if stack in BENCH:
        config, secret_keys = stack_config(BENCH[stack]), []
    else:
        config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    run = run_program(stack, config, secret_keys)
    records = [
        (r.urn, r.type, r.name, r.parent, r.provider, r.custom, r.protect, r.inputs, r.outputs, r.secret_inputs,
         r.dependencies)
        for r in run.resources
    ]
    return repr((records, run.outputs, run.warnings)).encode()


@pytest.mark.parametrize("stack", [*STACKS, *BENCH])
def test_taking_checked_plans_leaves_the_program_byte_identical(stack, monkeypatch):
    taken: list[str] = []
    take = CheckedPlans.take

    def counting(self, name, args):
        plan = take(self, name, args)
        if plan is not None:
            taken.append(name)
        return plan

    monkeypatch.setattr(CheckedPlans, "take", counting)
    with_plans = _program(stack)
    assert taken  # the stack config's checks were used by the constructors
    monkeypatch.setattr(CheckedPlans, "take", lambda self, name, args: None)
    checked_again = _program(stack)
    assert with_plans == checked_again
