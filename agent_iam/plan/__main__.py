"""`python -m agent_iam.plan --stack dev`: render a stack's plan offline (no cloud, no Pulumi CLI).

Exit codes: 0 the plan is written; 2 config error (nothing written); 3 the plan is written but
a mandatory guardrail rule, the IAM validator (error, critical, high) or the Kubernetes schema
validation of a manifest blocks it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from agent_iam.stack_config import ConfigError

from .guardrails import accepted_section, blocked_summary, judge, judgement_document, print_judgement, stack_settings
from .render import print_plan, remove_plan, write_plan
from .run import PROJECT_DIR, run_program
from .runtime import exit_process, plan_runtime
from .stackfile import load_stack_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plan", description=__doc__)
    parser.add_argument("--stack", default="dev", help="stack name: stacks/Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build", help="output folder (default: build/)")
    parser.add_argument("--stacks-dir", type=Path, default=PROJECT_DIR / "stacks", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="write the plan without printing the tree")
    args = parser.parse_args(argv)
    with plan_runtime():  # the whole command: reading, the program, writing
        return plan(args)


def plan(args: argparse.Namespace) -> int:
    """Read the stack file, run the program, write the plan: each step one call."""
    try:
        loaded = load_stack_file(args.stacks_dir, args.stack)
        config, secret_keys = loaded.config, loaded.secret_keys
        try:
            run = run_program(args.stack, config, secret_keys)
            # IAM findings and manifest results are kept by content beside the plans, so the next plan
            # of this stack checks only the documents and manifests that changed. Judging applies the
            # stack file's acceptances: one that matches no finding is a config error too.
            settings = run.settings if run.settings is not None else stack_settings(args.stack, config, secret_keys)
            judgement = judge(run, settings, cache_dir=args.out / ".cache")
        except ConfigError as exc:
            raise loaded.locate(exc) from None
    except ConfigError as exc:
        from rich.console import Console
        from rich.markup import escape

        remove_plan(args.out, args.stack)
        Console(stderr=True, emoji=False).print(f"[bold red]config error[/bold red]\n{escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    run.warnings[:0] = loaded.advisories  # what the plan cannot see (ESC environments) comes first
    target = write_plan(run, args.out, judgement_document(judgement), accepted_section(judgement))
    if not args.quiet:
        from rich.console import Console  # only when printing: `--quiet` plans skip importing rich

        console = Console(emoji=False)  # ARNs hold `:secret:`, which rich would draw as an emoji
        print_plan(run, target, console)
        print_judgement(judgement, console)
    if judgement.blocked:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True, emoji=False).print(
            f"[bold red]plan blocked[/bold red]: {escape(blocked_summary(judgement))} "
            f"(listed in {escape(str(target / 'plan.json'))})",
            highlight=False,
            soft_wrap=True,
        )
        return 3
    return 0


if __name__ == "__main__":
    exit_process(main())
