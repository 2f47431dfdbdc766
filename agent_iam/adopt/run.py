"""`agent-iam import`: an account's existing third-party and pipeline roles as a stack file, planned,
proven to reproduce each role, and an import file that adopts them in place.

Reads the export (`export`), sorts the roles by trust (`trusts`), writes each as the first
candidate entry the stack config accepts (`entries`, `presets`, `select`), writes
`Pulumi.<stack>.yaml` (`stackfile`) and reads it back, plans it in-process (`agent_iam.plan`),
writes `import.json` from the plan (`importfile`) and `import.md`, the summary: what was imported
and how, what `pulumi up` changes after the import, which roles were left out and why.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_iam.iam import limits, partitions
from agent_iam.safe_io import real_folder, replace_file

from .entries import Unexpressible, candidates, provenance, safe_name
from .export import Export, read_export
from .importfile import build_import
from .outcome import IMPORT_FILE, IMPORTED, LEFT, REFUSED, SUMMARY_FILE, Imported, RoleOutcome, refusal
from .select import Choice, choose, place
from .stackfile import Written, stack_text
from .trusts import Cluster, Left, Mapped, Refused, classify


# Plans at most: the first, one after presets that are not their roles give way, one after entries that
# would widen their roles are refused (each round only ever moves a role on, never back).
MAX_ROUNDS = 4
POLICY_FOLDER = "policies"


class ImportRefused(ValueError):
    """The command cannot run as asked (a stack file would be overwritten, a bad stack name or region)."""


def choose_region(export: Export) -> tuple[str, str]:
    """The stack's `aws:region`: where the roles were used most (IAM is global; the region sets the
    partition and the AWS provider's region), else the partition's global region."""
    used = Counter(r.last_used_region for r in export.roles if r.last_used_region)
    for region, count in used.most_common():
        try:
            partitions.check_region(region)
            if partitions.partition_for_region(region) == export.partition:
                return region, f"where the roles were used most ({count} of them)"
        except ValueError:
            continue
    return partitions.global_region(export.partition), f"the {export.partition} partition's global region (IAM is global)"


def policy_folder(stack: str) -> str:
    """Where the imported roles' policy files go, relative to the stack file's folder (and below the
    import's output folder): `policies/<stack>/<role>/<document>.json`."""
    return f"{POLICY_FOLDER}/{stack}"


def _outcomes(export: Export, use_presets: bool, stack: str) -> tuple[list[RoleOutcome], dict[str, Cluster]]:
    clusters: dict[str, Cluster] = {}
    outcomes = []
    folders: set[str] = set()  # one folder per role, case aside
    for role in sorted(export.roles, key=lambda r: (r.path, r.name)):
        verdict = classify(role, clusters)
        if isinstance(verdict, Left):
            outcomes.append(RoleOutcome(role, LEFT, verdict.reason))
            continue
        if isinstance(verdict, Refused):
            outcomes.append(RoleOutcome(role, REFUSED, verdict.reason))
            continue
        assert isinstance(verdict, Mapped)
        folder, _ = safe_name(role.name, limits.ROLE_NAME_MAX, folders)
        try:
            options = candidates(role, verdict, export, f"{policy_folder(stack)}/{folder}")
        except Unexpressible as exc:
            outcomes.append(RoleOutcome(role, REFUSED, str(exc)))
            continue
        if use_presets:
            from .presets import preset_candidates

            options = preset_candidates(verdict, options[0], export.partition) + options
        outcomes.append(RoleOutcome(role, IMPORTED, choice=Choice(role.name, options, verdict.cluster)))
    return outcomes, clusters


def stack_settings(outcomes: Sequence[RoleOutcome]) -> dict[str, Any]:
    """Stack-wide keys the entries need: every boundary they carry listed as reviewed."""
    boundaries = sorted({e["permissionsBoundaryArn"] for o in outcomes if (e := o.entry) and "permissionsBoundaryArn" in e})
    return {"guardrails": {"permissionsBoundaries": boundaries}} if boundaries else {}


def _header(result_counts: tuple[int, int], export: Export, stack: str, region: str, region_reason: str,
            files: bool) -> list[str]:
    imported, total = result_counts
    moved = [f"policyFiles are relative to this file's folder: keep {policy_folder(stack)}/ beside this file when you "
             "move it."] if files else []
    return [
        f"Imported by `agent-iam import` from {export.source.name} (sha256 {export.digest[:16]}): {imported} of the "
        f"{total} roles of account {export.account}.",
        f"aws:region {region}: {region_reason}.",
        f"Each entry says which role it reproduces; build/{stack}/{SUMMARY_FILE} lists every role left out and why, "
        f"and what `pulumi import --file build/{stack}/{IMPORT_FILE}` adopts (docs/adopting.md).",
        "External IDs are written as IAM holds them; to keep one secret, set it with `pulumi config set --secret "
        "--path` (docs/saas-roles.md, The external ID as a secret).",
        *moved,
    ]


def _written(outcomes: Sequence[RoleOutcome]) -> list[Written]:
    written = []
    for outcome in outcomes:
        role = outcome.role
        if outcome.status == IMPORTED and outcome.choice is not None and outcome.choice.chosen is not None:
            chosen = outcome.choice.chosen
            comments = [provenance(role), *chosen.notes, *outcome.considered()]
            if role.description:
                comments.append(f"its description: {role.description}")
            comments += outcome.proven()
            written.append(Written(chosen.family, chosen.entry, comments))
        elif outcome.status == REFUSED:
            # The entry the proof refused, or the first the stack config refused; none when no family fits.
            shown = (outcome.choice.chosen or outcome.choice.candidates[0]) if outcome.choice else None
            family, entry = (shown.family, shown.entry) if shown else ("roles", None)
            written.append(Written(family, entry, [provenance(role), f"not imported: {outcome.reason}"], active=False))
    return written


def _config_of(region: str, account: str, settings: Mapping[str, Any], outcomes: Sequence[RoleOutcome]) -> dict[str, Any]:
    """The stack file's config, full keys: what the written file must read back as."""
    config: dict[str, Any] = {"aws:region": region, "agent-iam:accountId": account}
    config.update({f"agent-iam:{k}": v for k, v in settings.items()})
    clusters: dict[str, Any] = {}
    for outcome in outcomes:
        chosen = outcome.choice.chosen if outcome.status == IMPORTED and outcome.choice else None
        if chosen is None:
            continue
        config.setdefault(f"agent-iam:{chosen.family}", []).append(chosen.entry)
        cluster = outcome.choice.cluster if outcome.choice else None
        if cluster is not None:
            clusters[cluster.key] = {"oidcProviderArn": cluster.provider_arn}
    if clusters:
        config["agent-iam:clusters"] = dict(sorted(clusters.items()))
    return config


def _ordered(config: Mapping[str, Any]) -> dict[str, Any]:
    """Region, account and stack-wide keys first, then the families (the order the file is read in)."""
    first = [k for k in ("aws:region", "agent-iam:accountId", "agent-iam:guardrails", "agent-iam:clusters") if k in config]
    return {k: config[k] for k in first}


def reads_back(text: str, expected: Mapping[str, Any], folder: Path, stack: str) -> str | None:
    """Why `text`, written as `folder/Pulumi.<stack>.yaml` and read by the plan's own reader, is not
    `expected` (None when it is)."""
    from agent_iam.plan.stackfile import read_stack_file
    from agent_iam.stack_config import ConfigError

    target = folder / f"Pulumi.{stack}.yaml"
    try:
        target.write_text(text, encoding="utf-8")
        config, _ = read_stack_file(folder, stack)
    except UnicodeEncodeError as exc:
        return f"it holds text that is not Unicode ({exc.reason})"
    except ConfigError as exc:
        return "; ".join(line.split(": ", 1)[-1] for line in exc.lines)
    return None if config == dict(expected) else "it reads back as another value"


@dataclass
class Prepared:
    """Everything `agent-iam import` writes before it plans: the outcomes and the stack file's text."""

    export: Export
    stack: str
    region: str
    region_reason: str
    outcomes: list[RoleOutcome]
    settings: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    @property
    def files(self) -> dict[str, bytes]:
        """Every policy file a candidate entry may list: its path (relative to the stack file's folder) and bytes."""
        return {f.path: f.data for o in self.outcomes if o.choice is not None for c in o.choice.candidates for f in c.files}

    def listed_files(self) -> list[str]:
        """The policy files the stack file's entries list, those written commented out too."""
        return list(dict.fromkeys(p for w in _written(self.outcomes) if w.entry for p in w.entry.get("policyFiles", [])))

    def settle(self) -> None:
        """Choose each role's entry (the stack config judging); a role none of whose candidates
        passes is refused with the config's words."""
        choices = [o.choice for o in self.outcomes if o.choice is not None and o.status == IMPORTED]
        for _ in range(3):  # the boundaries listed depend on which entries pass, and back
            left = choose(self.export.account, self.settings, choices, self.stack, self.region)
            if left:
                raise RuntimeError("the imported stack's config has problems no entry is named by:\n" + "\n".join(left))
            for outcome in self.outcomes:
                if outcome.choice is not None and outcome.choice.refused and outcome.status == IMPORTED:
                    outcome.status = REFUSED
                    outcome.reason = "the stack config refuses every way to write it: " + refusal(
                        outcome.choice.problems, outcome.choice.candidates[0].family)
            wanted = stack_settings(self.outcomes)
            if wanted == self.settings:
                break
            self.settings = wanted

    def _written(self) -> tuple[dict[str, Any], str]:
        config = _config_of(self.region, self.export.account, self.settings, self.outcomes)
        imported = sum(1 for o in self.outcomes if o.status == IMPORTED)
        header = _header((imported, len(self.outcomes)), self.export, self.stack, self.region, self.region_reason,
                         bool(self.listed_files()))
        return config, stack_text(header, _ordered(config), _written(self.outcomes))

    def refuse_named(self, lines: Sequence[str]) -> bool:
        """Move the roles whose entries `lines` (config errors) name on to their next candidate, and
        write the stack file again; False when the lines name no entry."""
        choices = [o.choice for o in self.outcomes if o.choice is not None and o.status == IMPORTED]
        placed = place(lines, choices)
        for choice, named in placed.items():
            choice.next(named)
        if placed:
            self.settle()
            self.render()
        return bool(placed)

    def render(self) -> None:
        """The stack file's text, read back by the plan's reader: a role whose entry a stack file cannot
        carry as it is (it reads back otherwise, or not at all) is refused."""
        import tempfile

        self.config, self.text = self._written()
        with tempfile.TemporaryDirectory(prefix="agent-iam-import-") as scratch:
            if reads_back(self.text, self.config, Path(scratch), self.stack) is None:
                return
            for outcome in self.outcomes:
                if outcome.status != IMPORTED:
                    continue
                one = _config_of(self.region, self.export.account, self.settings, [outcome])
                problem = reads_back(stack_text([], _ordered(one), _written([outcome])), one, Path(scratch), self.stack)
                if problem is not None:
                    outcome.status = REFUSED
                    outcome.reason = f"a stack file cannot carry its entry as it is: {problem}"
            self.config, self.text = self._written()
            problem = reads_back(self.text, self.config, Path(scratch), self.stack)
            if problem is not None:
                raise RuntimeError(f"the imported stack file does not read back as written: {problem}")


def prepare(export: Export, stack: str, region: str, region_reason: str, *, presets: bool = True) -> Prepared:
    """Sort the roles, choose each one's entry, and write the stack file's text (not yet proven:
    `import_account` plans it and proves each entry)."""
    outcomes, _ = _outcomes(export, use_presets=presets, stack=stack)
    prepared = Prepared(export, stack, region, region_reason, outcomes)
    prepared.settle()
    prepared.render()
    return prepared


def judge_proofs(prepared: Prepared, proofs: Mapping[str, Any]) -> bool:
    """Act on the proofs: a preset that is not the role gives way to the role's own documents; an entry
    that would widen its role is refused. True when an entry changed (plan again)."""
    changed = False
    for outcome in prepared.outcomes:
        proof = proofs.get(outcome.role.name)
        if outcome.status != IMPORTED or outcome.choice is None or proof is None:
            continue
        outcome.proof = proof
        chosen = outcome.choice.chosen
        if chosen is not None and chosen.preset and not proof.equal:
            outcome.choice.next(["not proven equal to this role: " + "; ".join(proof.lines())])
            changed = True
        elif proof.widens:
            outcome.status = REFUSED
            outcome.reason = "the entry agent-iam would write grants more than the role: " + "; ".join(proof.lines())
            changed = True
    if changed:
        prepared.settle()
        prepared.render()
    return changed


def region_of(export: Export, region: str | None, source: Path) -> tuple[str, str]:
    """The stack's region (--region, checked to be of the export's partition) and why."""
    if region is None:
        return choose_region(export)
    try:
        partitions.check_region(region)
        partitions.check_partition(export.partition, region, what=f"the account of {source}")
    except ValueError as exc:
        raise ImportRefused(f"--region: {exc}") from None
    return region, "given with --region"


def import_account(source: Path, stack: str, stacks_dir: Path, build_dir: Path, *, out: Path | None = None,
                   region: str | None = None) -> Imported:
    """Import the export in `source` as stack `stack`. Raises ExportError (the file), ImportRefused
    (the command) before anything is written."""
    from agent_iam.plan.paths import UnsafePath, check_stack_name, plan_folder
    from agent_iam.plan.planner import plan_stack
    from agent_iam.stack_config import ConfigError

    try:
        check_stack_name(stack)
    except UnsafePath as exc:
        raise ImportRefused(f"--stack: {exc}") from None
    folder = Path(out) if out is not None else Path(stacks_dir)
    target = folder / f"Pulumi.{stack}.yaml"
    if target.exists():
        raise ImportRefused(
            f"{target} exists: agent-iam import never overwrites a stack file; choose another --stack, or write the "
            "import elsewhere with --out DIR"
        )
    build = folder / "build" if out is not None else Path(build_dir)
    export = read_export(Path(source))
    region, region_reason = region_of(export, region, Path(source))
    prepared = prepare(export, stack, region, region_reason)
    policies = folder / policy_folder(stack)
    top = folder / POLICY_FOLDER
    if prepared.files and (top.is_symlink() or (top.exists() and not top.is_dir())):
        raise ImportRefused(f"{top} is not a folder: agent-iam import writes the roles' policy files below it")
    if prepared.files and (policies.exists() or policies.is_symlink()):
        raise ImportRefused(
            f"{policies} exists: agent-iam import writes the roles' policy files there and never overwrites; choose "
            "another --stack, or write the import elsewhere with --out DIR"
        )
    folder.mkdir(parents=True, exist_ok=True)
    from .proof import prove

    files: set[str] = set()
    for _ in range(MAX_ROUNDS):
        target.write_text(prepared.text, encoding="utf-8")
        write_policy_files(folder, prepared, files)
        try:
            plan = plan_stack(folder, stack, build)
        except ConfigError as exc:  # what only the program finds: the entries it names move on
            if not prepared.refuse_named(exc.lines):
                raise
            continue
        assert not isinstance(plan, int)  # no plan cache given: always planned
        plan_json = json.loads(plan.files["plan.json"])
        imported = [o.role for o in prepared.outcomes if o.status == IMPORTED]
        presets = frozenset(o.role.name for o in prepared.outcomes
                            if o.status == IMPORTED and o.choice is not None and o.choice.chosen is not None and o.choice.chosen.preset)
        if not judge_proofs(prepared, prove(plan_json, imported, export, quick=presets)):
            break
    else:
        raise RuntimeError(f"the imported entries did not settle in {MAX_ROUNDS} plans")
    planned_config = prepared.config
    prepared.render()  # the same entries, now with their proofs in the comments
    if prepared.config != planned_config:
        raise RuntimeError("the stack file's config changed after it was planned")
    target.write_text(prepared.text, encoding="utf-8")
    write_policy_files(folder, prepared, files)
    outcomes = prepared.outcomes
    imports = build_import(plan_json, export, [o.role for o in outcomes if o.status == IMPORTED])
    target_folder = plan_folder(build, stack)
    written = [target, *(folder / path for path in sorted(files))]
    result = Imported(stack, export, region, region_reason, target, target_folder, outcomes, plan, imports, written,
                      [folder / path for path in sorted(files)])
    (target_folder / IMPORT_FILE).write_text(json.dumps(imports.document, indent=2) + "\n", encoding="utf-8")
    from .summary import summary

    (target_folder / SUMMARY_FILE).write_text(summary(result), encoding="utf-8")
    result.written += [target_folder / IMPORT_FILE, target_folder / SUMMARY_FILE]
    return result


def write_policy_files(folder: Path, prepared: Prepared, written: set[str]) -> None:
    """Write the policy files the stack file lists, below `folder` only (each part of each path made by the
    importer from IAM's name characters; checked again here), and remove the ones an earlier round
    wrote that no entry lists any more. `written` holds the paths written so far (updated)."""
    from agent_iam.plan.paths import inside

    files, listed = prepared.files, prepared.listed_files()
    for path in listed:
        target = inside(folder, folder / path)
        if not path.startswith(f"{POLICY_FOLDER}/") or Path(path).is_absolute() or ".." in Path(path).parts:
            raise RuntimeError(f"a policy file's path {path!r} would leave {folder / POLICY_FOLDER}")  # a bug
        if path in written:
            continue  # a file's bytes are fixed by its role's documents: written once
        real_folder(folder, target.parent, create=True)
        replace_file(target, files[path])
        written.add(path)
    for path in sorted(written - set(listed)):
        (folder / path).unlink(missing_ok=True)
        written.discard(path)
        parent = (folder / path).parent
        while parent != folder / POLICY_FOLDER and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
