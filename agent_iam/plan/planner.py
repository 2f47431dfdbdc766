"""Plan one stack: read its file, run the program under mocks, judge it, write `<out>/<stack>/`.

`plan_stack` is the single step every command builds on (`agent-iam plan`, each process of
`plan-all`, both sides of `diff`), so whatever speeds it up or caches it applies to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent_iam.guardrails.pulumi_policy_adapter import pack_config

from .basis import plan_basis
from .cache import PlanCache, restore_unchanged, stack_file_path
from .guardrails import Judgement, accepted_section, judge, judgement_document, pack_acceptances, stack_settings
from .paths import plan_folder
from .render import plan_files, remove_plan, write_files, written_entries
from .run import PlanRun
from .shard import run_plan
from .stackfile import load_stack_file, located


@dataclass
class StackPlan:
    """A written plan: what the program registered, what the judge found, and the files written."""

    stack: str
    target: Path
    run: PlanRun
    judgement: Judgement
    written: list[str] = field(default_factory=list)  # top-level entries of `target`: files, and folders with `/`
    # For the plan cache (plan/cache.py): the files written, the config key and the stack file's quick key.
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    cache_key: str | None = None
    quick_key: str | None = None
    placements: list[dict] = field(default_factory=list)  # where each policy document went (plan.json policyDocuments)

    @property
    def blocked(self) -> bool:
        return self.judgement.blocked


def plan_stack(
    stacks_dir: Path,
    stack: str,
    out: Path,
    *,
    shards: int | None = None,
    cache: PlanCache | None = None,
    mode: str = "default",
    use_cache: bool = True,
) -> StackPlan | int:
    """Plan `stacks_dir/Pulumi.<stack>.yaml` into `out/<stack>/`.

    Raises ConfigError for bad config (with the stack file's line numbers), after removing any
    earlier plan of the stack, so nothing left behind can pass for a current plan.
    With `cache` (and `use_cache`), a stack file whose config is unchanged but for its bytes (a
    comment) is restored and printed from the plan cache: its exit code is returned instead.
    Without `use_cache` (`--no-cache`) no cache is read or written: the plan cache, and the
    checkers' content caches under `<out>/.cache/`.
    A large stack is registered by `shards` processes (plan/shard.py; default: by its size).
    """
    from agent_iam.stack_config import ConfigError, policy_files

    stack_file = stack_file_path(stacks_dir, stack)
    quick = cache.quick_key(stack, stack_file) if cache and use_cache else None
    loaded = None
    try:
        loaded = load_stack_file(stacks_dir, stack)
        key = cache.config_key(stack, loaded) if cache and use_cache else None
        if cache and quick and cache.quick_key(stack, stack_file) != quick:
            quick = None  # the file changed while it was read: remember nothing for it
        if loaded.policy_files:
            quick = None  # the plan depends on other files' bytes too: only the config key (which has them) finds it
        if cache and key and use_cache:
            code = restore_unchanged(stack, stacks_dir, cache, mode, key=key)
            if code is not None:
                if quick:
                    cache.remember_quick(stack, quick, key)
                return code
        config, secret_keys = loaded.config, loaded.secret_keys
        with policy_files.using(loaded.policy_source()):  # the policy files' bytes read with the stack file
            run = run_plan(stack, config, secret_keys, shards=shards)
            run.warnings[:0] = loaded.advisories  # what the plan cannot see (ESC environments) comes first
            # IAM findings and manifest results are kept by content beside the plans, so the next plan
            # of this stack checks only the documents and manifests that changed.
            settings = run.settings if run.settings is not None else stack_settings(stack, config, secret_keys)
            judgement = judge(run, settings, cache_dir=out / ".cache" if use_cache else None)
    except ConfigError as exc:
        remove_plan(out, stack)
        raise located(loaded, exc) from None
    basis = plan_basis(run.resources, settings.units(), loaded.secure_values)
    placements = [{"entry": unit.key, **p} for unit in settings.units() for p in unit.plan.placements()]
    files = plan_files(
        run, {**judgement_document(judgement), **basis}, accepted_section(judgement),
        pack_config=pack_config(settings.guardrail_context(), pack_acceptances(settings)), placements=placements,
    )
    target = plan_folder(out, stack)
    write_files(target, files)
    return StackPlan(stack, target, run, judgement, written_entries(target), files, key, quick, placements)
