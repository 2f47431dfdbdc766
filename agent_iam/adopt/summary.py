"""`import.md`: what `agent-iam import` did with every role of the export, for the reviewer who runs
`pulumi import` next: the entries written and how they reproduce each role, what `pulumi up`
changes after the import, the roles not imported (and why), the roles left out (and why).
"""

from __future__ import annotations

from .entries import provenance
from .outcome import IMPORTED, LEFT, REFUSED, Imported


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def summary(result: Imported) -> str:
    export = result.export
    lines = [
        f"# Import of account {export.account} as stack `{result.stack}`",
        "",
        f"From `{export.source.name}` (sha256 `{export.digest[:16]}`): {len(export.roles)} roles, "
        f"{len(export.policies)} managed policies listed, {export.users} users and {export.groups} groups (not imported).",
        f"Stack file: `{result.stack_file}`; `aws:region` {result.region} ({result.region_reason}).",
        "",
        f"- imported: {result.count(IMPORTED)}",
        f"- not imported (no entry can write them as they are): {result.count(REFUSED)}",
        f"- left out (not roles third parties or pipelines use): {result.count(LEFT)}",
        "",
    ]
    if result.policy_files:
        folder = result.stack_file.parent
        shown = sorted({str(p.relative_to(folder).parent.parent) for p in result.policy_files})
        lines += [f"Policy files: {len(result.policy_files)} documents, each as IAM reports it, in "
                  f"{', '.join(_code(s + '/') for s in shown)} beside the stack file. `policyFiles` paths are relative to "
                  "the stack file's folder: move or copy that folder with the stack file (into `stacks/` when it goes "
                  "there), keeping where it is beside it.", ""]
    if result.blocked:
        from agent_iam.plan.guardrails import blocked_summary

        lines += [f"**The imported stack's plan is blocked**: {blocked_summary(result.plan.judgement)}. Each finding is "
                  "in `plan.json` with its `acceptAs` key: review it, then narrow the entry or accept it with a reason "
                  "(docs/guardrails.md).", ""]
    lines += ["## Imported", ""]
    for outcome in result.outcomes:
        if outcome.status != IMPORTED or outcome.choice is None or outcome.choice.chosen is None:
            continue
        chosen = outcome.choice.chosen
        role = outcome.role
        report = result.imports.roles.get(role.name)
        lines += [f"### {_code(role.name)}: `agent-iam:{chosen.family}`" + (f", preset `{chosen.preset}`" if chosen.preset else ""), ""]
        lines.append(f"- {provenance(role)}")
        lines += [f"- {note}" for note in [*chosen.notes, *outcome.considered(), *outcome.proven()]]
        if report is not None:
            lines += [f"- `pulumi import` adopts: {', '.join(_code(i) for i in report.imported) or 'nothing'}"]
            lines += [f"- `pulumi up` then creates: {c}" for c in report.created]
            lines += [f"- `pulumi up` then changes: {c}" for c in report.changes]
            lines += [f"- stays in the account, unmanaged: {c}" for c in report.left]
        lines.append("")
    refused = [o for o in result.outcomes if o.status == REFUSED]
    if refused:
        lines += ["## Not imported", "", "Written commented out at the end of the stack file, each with its reason; "
                  "nothing was widened or narrowed to make them fit.", ""]
        lines += [f"- {_code(o.role.arn)}: {o.reason}" for o in refused]
        lines.append("")
    left = [o for o in result.outcomes if o.status == LEFT]
    if left:
        lines += ["## Left out", ""]
        lines += [f"- {_code(o.role.arn)}: {o.reason}" for o in left]
        lines.append("")
    if result.imports.providers:
        lines += ["## OIDC providers", "", "Registered by the stack (one per issuer and account) and adopted by the "
                  "import: `pulumi up` sets their client IDs to the audiences the stack's roles pin, and their tags.", ""]
        lines += [f"- {_code(arn)}" for arn in result.imports.providers]
        lines.append("")
    provider = next(iter(result.imports.document.get("nameTable", {}).values()), None)
    lines += [
        "## Next",
        "",
        "```sh",
        f"pulumi stack init {result.stack}" + "                 # once; the stack file exists already",
    ]
    if provider:
        lines.append(f"pulumi up --target '{provider}' --yes   # the stack's AWS provider, nothing else")
    lines += [
        f"pulumi import --file {result.import_file} --protect=false",
        "pulumi preview --diff                # the in-place changes listed above, nothing replaced",
        "pulumi up",
        "```",
        "",
    ]
    return "\n".join(lines)
