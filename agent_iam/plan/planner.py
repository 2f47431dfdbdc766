"""Plan one stack: read its file, run the program under mocks, judge it, write `<out>/<stack>/`.

`plan_stack` is the single step every command builds on (`agent-iam plan`, each process of
`plan-all`, both sides of `diff`), so whatever speeds it up or caches it applies to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent_iam.guardrails.pulumi_policy_adapter import pack_config

from .guardrails import Judgement, accepted_section, judge, judgement_document, pack_acceptances, stack_settings
from .render import remove_plan, write_plan, written_entries
from .run import PlanRun, run_program
from .stackfile import load_stack_file, located


@dataclass
class StackPlan:
    """A written plan: what the program registered, what the judge found, and the files written."""

    stack: str
    target: Path
    run: PlanRun
    judgement: Judgement
    written: list[str] = field(default_factory=list)  # top-level entries of `target`: files, and folders with `/`

    @property
    def blocked(self) -> bool:
        return self.judgement.blocked


def plan_stack(stacks_dir: Path, stack: str, out: Path) -> StackPlan:
    """Plan `stacks_dir/Pulumi.<stack>.yaml` into `out/<stack>/`.

    Raises ConfigError for bad config (with the stack file's line numbers), after removing any
    earlier plan of the stack, so nothing left behind can pass for a current plan.
    """
    from agent_iam.stack_config import ConfigError

    loaded = None
    try:
        loaded = load_stack_file(stacks_dir, stack)
        config, secret_keys = loaded.config, loaded.secret_keys
        run = run_program(stack, config, secret_keys)
        run.warnings[:0] = loaded.advisories  # what the plan cannot see (ESC environments) comes first
        # IAM findings and manifest results are kept by content beside the plans, so the next plan
        # of this stack checks only the documents and manifests that changed.
        settings = run.settings if run.settings is not None else stack_settings(stack, config, secret_keys)
        judgement = judge(run, settings, cache_dir=out / ".cache")
    except ConfigError as exc:
        remove_plan(out, stack)
        raise located(loaded, exc) from None
    target = write_plan(
        run, out, judgement_document(judgement), accepted_section(judgement),
        pack_config=pack_config(settings.guardrail_context(), pack_acceptances(settings)),
    )
    return StackPlan(stack, target, run, judgement, written_entries(target))
