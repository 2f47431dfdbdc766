"""`python -m agent_iam.plan --stack dev`: render a stack's plan offline (no cloud, no Pulumi CLI).

Exit codes: 0 the plan is written; 2 config error (nothing written); 3 the plan is written but
a mandatory guardrail rule, the IAM validator (error, critical, high) or the Kubernetes schema
validation of a manifest blocks it.

An unchanged stack (same stack file config, code and installed dependencies) is restored from
the plan cache under the output folder instead of planned again; `--no-cache` plans it anyway.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .cache import PlanCache, Recorder, restore_unchanged, stack_file_path
from .project import PROJECT_DIR
from .runtime import exit_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plan", description=__doc__)
    parser.add_argument("--stack", default="dev", help="stack name: stacks/Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build", help="output folder (default: build/)")
    parser.add_argument("--stacks-dir", type=Path, default=PROJECT_DIR / "stacks", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="write the plan without printing the tree")
    parser.add_argument("--tree", action="store_true", help="print every resource, however large the plan")
    parser.add_argument("--no-cache", action="store_true", help="plan even when the plan cache holds this plan")
    parser.add_argument(
        "--shards", type=int, default=None,
        help="processes registering a share of the entries each (default: the cores, for a large stack; 1: one process)",
    )
    args = parser.parse_args(argv)
    cache = PlanCache(args.out)
    mode = "quiet" if args.quiet else "tree" if args.tree else "default"
    if not args.no_cache:
        code = restore_unchanged(args.stack, args.stacks_dir, cache, mode)
        if code is not None:
            return code
    from .runtime import plan_runtime

    with plan_runtime():  # the whole command: reading, the program, writing
        return plan(args, cache, mode)


def plan(args: argparse.Namespace, cache: PlanCache | None = None, mode: str | None = None) -> int:
    """Read the stack file, run the program, write the plan: each step one call."""
    from rich.console import Console

    from agent_iam.stack_config import ConfigError

    from .cache import Entry
    from .guardrails import accepted_section, blocked_summary, judge, judgement_document, print_judgement, stack_settings
    from .paths import plan_folder
    from .render import TREE_LIMIT, plan_files, print_plan, remove_plan, write_files
    from .shard import run_plan
    from .stackfile import load_stack_file

    mode = mode or ("quiet" if args.quiet else "tree" if getattr(args, "tree", False) else "default")
    stack_file = stack_file_path(args.stacks_dir, args.stack)
    quick = cache.quick_key(args.stack, stack_file) if cache else None
    try:
        loaded = load_stack_file(args.stacks_dir, args.stack)
        key = cache.config_key(args.stack, loaded) if cache else None
        if cache and quick and cache.quick_key(args.stack, stack_file) != quick:
            quick = None  # the file changed while it was read: remember nothing for it
        if cache and key and not getattr(args, "no_cache", False):
            # the stack file changed but not its config (a comment, the order of keys)
            code = restore_unchanged(args.stack, args.stacks_dir, cache, mode, key=key)
            if code is not None:
                if quick:
                    cache.remember_quick(args.stack, quick, key)
                return code
        config, secret_keys = loaded.config, loaded.secret_keys
        try:
            run = run_plan(args.stack, config, secret_keys, shards=getattr(args, "shards", None))
            # IAM findings and manifest results are kept by content beside the plans, so the next plan
            # of this stack checks only the documents and manifests that changed. Judging applies the
            # stack file's acceptances: one that matches no finding is a config error too.
            settings = run.settings if run.settings is not None else stack_settings(args.stack, config, secret_keys)
            judgement = judge(run, settings, cache_dir=args.out / ".cache")
        except ConfigError as exc:
            raise loaded.locate(exc) from None
    except ConfigError as exc:
        from rich.markup import escape

        remove_plan(args.out, args.stack)
        Console(stderr=True, emoji=False).print(f"[bold red]config error[/bold red]\n{escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    run.warnings[:0] = loaded.advisories  # what the plan cannot see (ESC environments) comes first
    files = plan_files(run, judgement_document(judgement), accepted_section(judgement))
    target = plan_folder(args.out, run.stack)
    write_files(target, files)

    # What the terminal shows is recorded as it is printed, so a cached re-plan shows it again.
    large = len(run.resources) > TREE_LIMIT
    limit = 5 if large else None
    shown = Recorder(None if mode == "quiet" else Console(emoji=False))  # ARNs hold `:secret:`, no emoji
    print_plan(run, target, shown, tree=mode == "tree" or not large)
    print_judgement(judgement, shown, limit=None if mode == "tree" else limit)
    printouts: dict[str, list[Any]] = {"tree" if mode == "tree" else "default": shown.records}
    if not large:
        printouts["tree"] = printouts["default"] = shown.records
    elif mode == "tree":  # the summary too; the full tree of a large plan is built only when asked for
        summary = Recorder()
        print_plan(run, target, summary, tree=False)
        print_judgement(judgement, summary, limit=limit)
        printouts["default"] = summary.records
    errors = Recorder(Console(stderr=True, emoji=False))
    if judgement.blocked:
        from rich.markup import escape

        errors.print(
            f"[bold red]plan blocked[/bold red]: {escape(blocked_summary(judgement))} "
            f"(listed in {escape(str(target / 'plan.json'))})",
            highlight=False,
            soft_wrap=True,
        )
    code = 3 if judgement.blocked else 0
    if cache is not None and key is not None:
        cache.store(args.stack, key, files, Entry(args.stack, code, printouts, errors.records), quick)
    return code


if __name__ == "__main__":
    exit_process(main())
