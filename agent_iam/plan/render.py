"""Write a plan to `build/<stack>/` and print it as a tree a reviewer can read."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml

from agent_iam.iam import arns, resource_types

from .paths import UnsafePath, inside, plan_folder

if TYPE_CHECKING:  # the cache restores files through this module without importing Pulumi
    from rich.console import Console

    from .mocks import Registration
    from .run import PlanRun

PLAN_FOLDERS = ("iam", "k8s")
PACK_CONFIG_FILE = "policy-pack-config.json"  # `pulumi preview --policy-pack policy --policy-pack-config <this>`
IAM_DOCUMENT_INPUTS = {
    resource_types.ROLE: ("assumeRolePolicy", "trust"),
    resource_types.ROLE_POLICY: ("policy", None),
    resource_types.POLICY: ("policy", None),
}


# `e-` then a digit: a literal prefix, which the regex engine finds by fast search (a pattern that
# starts with a character class is tried at every byte, ten times slower on a large plan.json).
_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9]")
# orjson 3.11.0 writes a large float's exponent without its sign (`1e16`, json `1e+16`; 3.13.0 writes `1e+16`).
_UNSIGNED_EXPONENT = re.compile(rb"[0-9]e[0-9]")
_DIGITS = frozenset(b"0123456789")


def _json_would_differ(fast: bytes) -> bool:
    """Whether orjson's `fast` may differ from json's text: non-ASCII or DEL (json escapes them), a float
    below 1e-4, which json writes `1e-05`..`1e-09` and orjson `0.00001` or `1e-7`, or an exponent without
    its sign (`1e16`: orjson 3.11.0). Text in a string
    that looks so (`"0.00001"`, `"3e-5"`) only sends the document through json, which is never wrong."""
    if not fast.isascii() or b"\x7f" in fast:  # json escapes DEL too (`\u007f`), orjson writes it as is
        return True
    for match in _NEGATIVE_EXPONENT.finditer(fast):
        start = match.start()
        if start and fast[start - 1] in _DIGITS:
            return True
    return b"0.0000" in fast or _UNSIGNED_EXPONENT.search(fast) is not None


def _pretty(data: Any) -> bytes:
    """`json.dumps(data, indent=2)` plus a newline, byte for byte; orjson does it ~20x faster.

    orjson writes non-ASCII characters as UTF-8 where json escapes them, and small floats as
    `1e-7` or `0.00001` where json writes `1e-07` and `1e-05`, so such a document (or anything
    orjson refuses) goes through json.
    """
    try:
        fast = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
        if not _json_would_differ(fast):
            return fast
    except TypeError:  # orjson.JSONEncodeError included: e.g. an int beyond 64 bits
        pass
    return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode()


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC  # what open(path, "wb") asks for


def _write_if_changed(path: str, data: bytes, existed: bool) -> None:
    """Write `data` unless the file already holds exactly that (no rewrite, no new mtime).

    By file descriptor: a plan writes thousands of small files, and `open()`'s buffered file
    objects cost more than the system calls themselves. A short read only means a rewrite."""
    if existed:
        fd = os.open(path, os.O_RDONLY | _CLOEXEC)
        try:
            same = os.read(fd, len(data) + 1) == data
        finally:
            os.close(fd)
        if same:
            return
    fd = os.open(path, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _account_of(resource: Registration) -> str:
    return arns.account_of(resource.outputs.get("arn")) or ""


def iam_document_files(run: PlanRun) -> dict[str, Any]:
    """Every IAM document, keyed by its file name under `iam/`."""
    files: dict[str, Any] = {}
    for resource in run.resources:
        if resource.type not in IAM_DOCUMENT_INPUTS:
            continue
        key, suffix = IAM_DOCUMENT_INPUTS[resource.type]
        raw = resource.inputs.get(key)
        if not isinstance(raw, str):
            continue
        name = resource.inputs.get("name") or resource.name
        if resource.type == resource_types.ROLE:
            stem = f"{name}.{suffix}"
        elif resource.type == resource_types.ROLE_POLICY:
            stem = f"{resource.inputs.get('role')}.{name}"
        else:
            stem = f"policy.{name}"
        if f"{stem}.json" in files:
            stem = f"{_account_of(resource)}.{stem}"
        files[f"{stem}.json"] = orjson.loads(raw)
    return files


KUBERNETES_MANIFEST_KEYS = ("apiVersion", "kind", "metadata", "type", "data", "stringData")
METADATA_KEYS = ("name", "namespace", "labels", "annotations")


def kubernetes_manifest(resource: Registration) -> dict[str, Any]:
    """A Kubernetes object as the program registered it, in manifest key order. Values are shown
    as registered: a value from a `secure:` config key is already `[secret]`; others (a Secret's
    AWS_REGION and AWS_ROLE_ARN) stay readable, though Pulumi stores the Secret's data as secret."""
    manifest = {key: resource.inputs[key] for key in KUBERNETES_MANIFEST_KEYS if resource.inputs.get(key) is not None}
    metadata = manifest.get("metadata") or {}
    ordered = {key: metadata[key] for key in METADATA_KEYS if metadata.get(key)}
    manifest["metadata"] = {**ordered, **{k: v for k, v in metadata.items() if k not in ordered and v}}
    for key in ("data", "stringData"):
        if isinstance(manifest.get(key), dict):
            manifest[key] = dict(sorted(manifest[key].items()))  # the engine does not keep map order
    return manifest


def kubernetes_manifest_files(run: PlanRun) -> dict[str, dict[str, Any]]:
    """Every Kubernetes object, keyed by `<namespace>.<kind>.<name>.yaml` under `k8s/` (prefixed
    with `<cluster>.` when the same object exists in two clusters)."""
    files: dict[str, dict[str, Any]] = {}
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or not resource.custom:
            continue
        manifest = kubernetes_manifest(resource)
        metadata = manifest["metadata"]
        stem = f"{metadata.get('namespace', 'cluster')}.{manifest.get('kind')}.{metadata.get('name')}"
        if f"{stem}.yaml" in files:
            stem = f"{(resource.provider or '').rsplit('::', 1)[-1].removeprefix('k8s-')}.{stem}"
        files[f"{stem}.yaml"] = manifest
    return files


def _sorted_keys(value: Any) -> Any:
    """Mappings with their keys sorted, all the way down. Inputs come back from the SDK's
    protobuf Struct in an order that changes from process to process; sorted, plan.json is
    the same file for the same plan (diffable, and not rewritten)."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def _sorted_value(value: Any, indent: int) -> Any:
    return _sorted_keys(value)


def plan_document(run: PlanRun, extra: dict[str, Any] | None = None, *, arrange: Any = _sorted_value) -> dict[str, Any]:
    """plan.json; `extra` adds keys (the guardrail violations and IAM findings). `arrange(value,
    indent)` gives the inputs and outputs with their keys sorted (see `plan_json`)."""
    return {
        "stack": run.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "provider": r.provider,
                "protect": r.protect,
                "inputs": arrange(r.inputs, 6),
                **({"secretInputs": r.secret_inputs} if r.secret_inputs else {}),
            }
            for r in run.resources
        ],
        "outputs": arrange(run.outputs, 2),
        "advisories": run.warnings,
        **(extra or {}),
    }


_FRAGMENT_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
_NEWLINE_INDENTS = {indent: b"\n" + b" " * indent for indent in (2, 6)}


def _sorted_fragment(value: Any, indent: int) -> orjson.Fragment:
    """`value` with every mapping's keys sorted, as the JSON text `_pretty` writes for it where it
    stands in plan.json: lines after the first indented by `indent` spaces (JSON text holds no newline)."""
    return orjson.Fragment(orjson.dumps(value, option=_FRAGMENT_OPTIONS).replace(b"\n", _NEWLINE_INDENTS[indent]))


def plan_json(run: PlanRun, extra: dict[str, Any] | None = None) -> bytes:
    """`_pretty(plan_document(run, extra))`, byte for byte: each resource's inputs are sorted by orjson
    (in the same order as `sorted`: by code point) instead of copied key by key in Python. Whatever
    orjson refuses or may write differently from json takes the copying way."""
    try:
        fast = orjson.dumps(plan_document(run, extra, arrange=_sorted_fragment),
                            option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
        if not _json_would_differ(fast):
            return fast
    except TypeError:  # orjson.JSONEncodeError included: a key that is not text, an int beyond 64 bits
        pass
    return _pretty(plan_document(run, extra))


# libyaml's safe dumper writes the same YAML as the pure-Python one, ~10x faster (1,000
# manifests: 0.4 s -> 0.04 s); PyYAML wheels ship it, a source build may not.
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Text PyYAML writes plain whatever its context: a letter, then letters, digits and `._/:-`, not
# ending in `:`, and not a word its resolver reads as a boolean or null (`yes`, `on`, `null`);
# as a mapping key also short enough to be a simple key.
_YAML_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9._/:-]*")
_YAML_SIMPLE_KEY = 100
_YAML_SCALARS = {True: "true", False: "false", None: "null"}


def _yaml_plain(text: Any) -> bool:
    if type(text) is not str or not _YAML_PLAIN.fullmatch(text) or text.endswith(":"):
        return False
    resolvers = yaml.resolver.Resolver.yaml_implicit_resolvers
    return not any(regexp.match(text) for _, regexp in [*resolvers.get(text[0], ()), *resolvers.get(None, ())])


def _yaml_lines(value: Any, indent: str, out: list[str], seen: set[int]) -> bool:
    """The block YAML lines of a non-empty mapping (keys plain text; values plain text, true/false/null,
    integers, or non-empty mappings and lists of such), as `yaml.dump` writes them; False for anything else."""
    if type(value) is not dict or not value or id(value) in seen:  # a shared object: PyYAML writes an anchor
        return False
    seen.add(id(value))
    for key, item in value.items():
        if not _yaml_plain(key) or len(key) > _YAML_SIMPLE_KEY:
            return False
        if type(item) is dict:
            out.append(f"{indent}{key}:")
            if not _yaml_lines(item, indent + "  ", out, seen):
                return False
        elif type(item) is list:
            out.append(f"{indent}{key}:")
            if not item or id(item) in seen:
                return False
            seen.add(id(item))
            for element in item:  # PyYAML writes a mapping's lists without indenting them
                if type(element) is dict:
                    first = len(out)
                    if not _yaml_lines(element, indent + "  ", out, seen):
                        return False
                    out[first] = f"{indent}- {out[first][len(indent) + 2:]}"
                elif (scalar := _yaml_scalar(element)) is not None:
                    out.append(f"{indent}- {scalar}")
                else:
                    return False
        elif (scalar := _yaml_scalar(item)) is not None:
            out.append(f"{indent}{key}: {scalar}")
        else:
            return False
    return True


def _yaml_scalar(value: Any) -> str | None:
    if value is None or type(value) is bool:
        return _YAML_SCALARS[value]
    if type(value) is int:
        return str(value)
    return value if _yaml_plain(value) else None


def _yaml(manifest: Any) -> bytes:
    """`yaml.dump(manifest, Dumper=_YAML_DUMPER, sort_keys=False)` encoded, byte for byte. A manifest
    of plain text (most are: names, ARNs, labels) is written here directly; any other goes through PyYAML."""
    lines: list[str] = []
    if _yaml_lines(manifest, "", lines, set()):
        return ("\n".join(lines) + "\n").encode()
    return yaml.dump(manifest, Dumper=_YAML_DUMPER, sort_keys=False).encode()


def plan_files(
    run: PlanRun,
    extra: dict[str, Any] | None = None,
    access_appendix: str = "",
    *,
    pack_config: dict[str, Any] | None = None,
    placements: list[dict[str, Any]] | None = None,
) -> dict[str, bytes]:
    """Every file of a plan, by its path under `build/<stack>/`: plan.json, one file per IAM
    document and per Kubernetes object, the access report (with `access_appendix` after it), and
    (given `pack_config`) the policy pack's config for this stack. `placements` says where each
    policy document (`policyFiles`, a preset's published ones) went: plan.json's `policyDocuments`."""
    from .access import access_model, render_access_report

    if placements:
        extra = {**(extra or {}), "policyDocuments": placements}
    files = {"plan.json": plan_json(run, extra)}
    files.update((f"iam/{name}", _pretty(doc)) for name, doc in iam_document_files(run).items())
    files.update(
        (f"k8s/{name}", _yaml(manifest))
        for name, manifest in kubernetes_manifest_files(run).items()
    )
    judged = extra or {}
    report = render_access_report(run.stack, access_model(run), judged.get("violations"), judged.get("iamFindings"),
                                  placements=placements)
    files["access.md"] = (report + ("\n" + access_appendix if access_appendix else "")).encode()
    if pack_config is not None:
        files[PACK_CONFIG_FILE] = _pretty(pack_config)
    return files


def write_plan(
    run: PlanRun,
    out_dir: Path,
    extra: dict[str, Any] | None = None,
    access_appendix: str = "",
    *,
    pack_config: dict[str, Any] | None = None,
) -> Path:
    """Make `out_dir/<stack>/` hold exactly this plan (see `plan_files`)."""
    target = plan_folder(out_dir, run.stack)
    write_files(target, plan_files(run, extra, access_appendix, pack_config=pack_config))
    return target


def write_files(target: Path, files: dict[str, bytes]) -> None:
    """Make `target` (a checked plan folder) hold exactly `files`.

    Whatever an earlier plan left that this one does not have is removed; files whose content
    is unchanged are not rewritten (creating thousands of files costs, comparing does not).
    """
    for name in files:
        _check_plan_file_name(name)
    existing = _clear_all_but(target, files.keys())
    target.mkdir(parents=True, exist_ok=True)
    for folder in {name.split("/", 1)[0] for name in files if "/" in name}:
        (target / folder).mkdir(parents=True, exist_ok=True)
    root = os.fspath(target)
    for name, data in files.items():  # names checked above: `<file>` or `<plan folder>/<file>`
        _write_if_changed(f"{root}/{name}", data, name in existing)


def written_entries(target: Path) -> list[str]:
    """What a plan folder holds, for the "written" line: files, then folders (with `/`), by name."""
    entries = sorted(os.scandir(target), key=lambda e: (e.is_dir(), e.name)) if target.is_dir() else []
    return [f"{e.name}/" if e.is_dir() else e.name for e in entries if not e.name.startswith(".")]


def _check_plan_file_name(name: str) -> None:
    """A plan file is `<file>` or `<folder>/<file>` with a plan folder: never a path out of the plan."""
    parts = name.split("/")
    if (
        len(parts) > 2
        or (len(parts) == 2 and parts[0] not in PLAN_FOLDERS)
        or any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts)
    ):
        raise UnsafePath(f"refusing to write plan file {name!r}: not a file name inside the plan folder")


def _clear_all_but(target: Path, keep: Iterable[str]) -> set[str]:
    """Remove every entry of `target` (and of its `iam/` and `k8s/` folders) not in `keep`; the kept files that exist."""
    keep = set(keep)
    if target.is_symlink():  # never follow a link planted where the plan folder belongs
        target.unlink()
        return set()
    if not target.is_dir():
        if target.exists() or target.is_symlink():
            target.unlink()
        return set()
    existing = set()
    for entry in os.scandir(target):
        if entry.name in PLAN_FOLDERS and entry.is_dir(follow_symlinks=False):
            entries = [(f"{entry.name}/{f.name}", f) for f in os.scandir(entry.path)]
        else:
            entries = [(entry.name, entry)]
        for name, item in entries:
            if name in keep and item.is_file(follow_symlinks=False):
                existing.add(name)
            elif item.is_dir(follow_symlinks=False):
                shutil.rmtree(item.path)
            else:
                os.unlink(item.path)
    return existing


def remove_plan(out_dir: Path, stack: str) -> None:
    """A failed plan leaves nothing behind that could pass for a current one."""
    try:
        target = plan_folder(out_dir, stack)
    except UnsafePath:
        return  # no such plan could have been written
    if target.is_symlink() or target.is_file():
        inside(out_dir, target).unlink()
    elif target.exists():
        shutil.rmtree(target)


def _label(resource: Registration) -> str:
    label = f"[bold]{resource.name}[/bold] [dim]{resource.type}[/dim]"
    if resource.custom and "arn" in resource.outputs:
        label += f"  [cyan]{resource.outputs['arn']}[/cyan]"
    elif resource.provider and resource.provider.startswith("urn:"):
        label += f"  [dim]via {resource.provider.rsplit('::', 1)[-1]}[/dim]"
    if resource.protect:
        label += "  [yellow]protected[/yellow]"
    return label


def _label_text(resource: Registration) -> Any:
    """`_label` as the rich Text its markup makes, built directly: parsing thousands of labels' markup
    is a fifth of printing a large tree. A label whose parts hold `[` (markup) keeps the markup string."""
    parts = [(str(resource.name), "bold"), (" ", ""), (str(resource.type), "dim")]
    if resource.custom and "arn" in resource.outputs:
        parts += [("  ", ""), (str(resource.outputs["arn"]), "cyan")]
    elif resource.provider and resource.provider.startswith("urn:"):
        parts += [("  ", ""), (f"via {resource.provider.rsplit('::', 1)[-1]}", "dim")]
    if resource.protect:
        parts += [("  ", ""), ("protected", "yellow")]
    if any("[" in text for text, _ in parts):
        return _label(resource)
    return _label_of(tuple(parts))


_LABEL_CLASS: Any = None


def _label_of(parts: tuple[tuple[str, str], ...]) -> Any:
    """A tree label from its (text, style) parts; it pickles as its parts (the plan cache keeps the
    tree printout), which is smaller and quicker both ways than rich's Text with its spans."""
    global _LABEL_CLASS
    if _LABEL_CLASS is None:  # rich is imported only when printing
        from rich.text import Text

        class Label(Text):
            def __reduce__(self) -> Any:
                return _label_of, (self.parts,)

        _LABEL_CLASS = Label
    label = _LABEL_CLASS()
    label.parts = parts
    for part, style in parts:
        label.append(part, style or None)
    return label


# Above this many resources nobody reads a tree: the terminal shows a summary (`--tree` prints it all).
TREE_LIMIT = 200
# In the summary, at most this many lines per group of violations or findings (all are in plan.json).
SUMMARY_EXAMPLES = 5


def print_plan(run: PlanRun, console: Console | None = None, quiet: bool = False, tree: bool | None = None) -> None:
    """The plan as a tree of resources under their components, or (`tree=False`, the default above
    TREE_LIMIT resources) a summary by family, account and type; then the advisories in red.

    `quiet` leaves out the tree or summary only: the advisories (what the config explicitly widened)
    always print; with a summary, the first SUMMARY_EXAMPLES of them and how many more plan.json lists.
    """
    from rich.markup import escape

    from .consoles import console as new_console, panel

    console = console or new_console()
    if tree is None:
        tree = len(run.resources) <= TREE_LIMIT
    if not quiet:
        console.print(_resource_tree(run) if tree else _summary(run))
    shown = run.warnings if tree or len(run.warnings) <= SUMMARY_EXAMPLES else run.warnings[:SUMMARY_EXAMPLES]
    for warning in shown:
        console.print(panel(escape(warning), title="advisory", border_style="red"))
    if len(shown) < len(run.warnings):
        console.print(f"[red]... and {len(run.warnings) - len(shown)} more advisories[/red] "
                      "(plan.json lists them all under `advisories`; --tree prints them all)")


def _resource_tree(run: PlanRun) -> Any:
    from rich.tree import Tree

    children: dict[str | None, list[Registration]] = defaultdict(list)
    urns = {r.urn for r in run.resources}
    for resource in run.resources:
        parent = resource.parent if resource.parent in urns else None
        children[parent].append(resource)

    tree = Tree(f"[bold]agent-iam[/bold] stack [bold]{run.stack}[/bold]: {len(run.resources)} resources")

    def add(node: Tree, parent: str | None) -> None:
        for resource in children.get(parent, []):
            add(node.add(_label_text(resource)), resource.urn)

    add(tree, None)
    return tree


@functools.cache  # a plan has a handful of types and thousands of resources
def _short(typ: str) -> str:
    """`agent-iam:ecs_agent_roles:EcsAgentRoles` -> `EcsAgentRoles`; `aws:iam/role:Role` -> `iam Role`."""
    module, _, name = typ.rpartition(":")
    package, _, family = module.partition(":")
    if package == "pulumi" and family == "providers":
        return f"{name} provider"
    if package in ("agent-iam", "pulumi"):
        return name
    return f"{package} {family.split('/', 1)[0]} {name}" if family else typ


def plan_summary(run: PlanRun) -> dict[str, Any]:
    """Counts a reviewer can take in at a glance: per family (top-level component type) its entries
    and resources, and per account (AWS account or Kubernetes cluster) the resources by type."""
    by_urn = {r.urn: r for r in run.resources}
    targets: dict[str, str] = {}
    for r in run.resources:
        if r.type == "pulumi:providers:aws":
            allowed = r.inputs.get("allowedAccountIds")
            if isinstance(allowed, str):
                try:
                    allowed = json.loads(allowed)
                except ValueError:
                    allowed = [allowed]
            accounts = [str(a) for a in allowed] if isinstance(allowed, list) else []
            region = r.inputs.get("region")
            targets[r.urn] = f"{' '.join(accounts) or 'any account'}" + (f" ({region})" if region else "")
        elif r.type.startswith("pulumi:providers:"):
            targets[r.urn] = f"{r.type.rsplit(':', 1)[-1]} {r.name}"

    def top(r: Registration) -> Registration:
        seen = set()
        while r.parent in by_urn and r.parent not in seen and by_urn[r.parent].type != "pulumi:pulumi:Stack":
            seen.add(r.parent)
            r = by_urn[r.parent]
        return r

    families: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # family -> [entries, resources]
    accounts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in run.resources:
        if r.type == "pulumi:pulumi:Stack":
            continue
        root = top(r)
        family = "providers" if root.type.startswith("pulumi:providers:") else _short(root.type)
        if root is r and not r.custom:
            families[family][0] += 1
        elif root is r and r.type.startswith("pulumi:providers:"):
            families[family][0] += 1
        if r.custom:
            families[family][1] += 1
            if not r.type.startswith("pulumi:providers:"):
                where = targets.get(r.provider or "", "default provider")
                accounts[where][_short(r.type)] += 1
    return {
        "resources": len(run.resources),
        "families": {k: {"entries": v[0], "resources": v[1]} for k, v in sorted(families.items())},
        "accounts": {k: dict(sorted(v.items())) for k, v in sorted(accounts.items())},
    }


def _summary(run: PlanRun) -> Any:
    from rich.console import Group
    from rich.table import Table

    summary = plan_summary(run)
    families = Table(title="by family", title_justify="left")
    families.add_column("family")
    families.add_column("entries", justify="right")
    families.add_column("resources", justify="right")
    for family, counts in summary["families"].items():
        families.add_row(family, str(counts["entries"]), str(counts["resources"]))
    accounts = Table(title="by account and type", title_justify="left")
    accounts.add_column("account or cluster")
    accounts.add_column("type")
    accounts.add_column("resources", justify="right")
    for where, types in summary["accounts"].items():
        for i, (typ, count) in enumerate(types.items()):
            accounts.add_row(where if i == 0 else "", typ, str(count))
    head = (
        f"[bold]agent-iam[/bold] stack [bold]{run.stack}[/bold]: {summary['resources']} resources "
        f"[dim](a summary above {TREE_LIMIT}; --tree lists every resource, plan.json holds them all)[/dim]"
    )
    return Group(head, families, accounts)


def grouped(lines: list[tuple[str, str]], limit: int = SUMMARY_EXAMPLES) -> list[str]:
    """(group, line) pairs as at most `limit` lines per group, then how many more there are."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for group, line in lines:
        by_group[group].append(line)
    out = []
    for group, items in by_group.items():
        out += items[:limit]
        if len(items) > limit:
            out.append(f"... and {len(items) - limit} more {group} (plan.json lists them all)")
    return out


def print_placements(placements: list[dict[str, Any]], console: Console) -> None:
    """Where each policy document went, one line per role: `role 'wiz': WizFullPolicy inline (4,302
    characters); WizScanning in customer managed policy 'wiz-WizScanning' (1,958 characters)`."""
    from rich.markup import escape

    for role, placed in _placements_by_role(placements).items():
        console.print(escape(f"policy documents of role {role!r}: {placed}"), soft_wrap=True)


def _placements_by_role(placements: list[dict[str, Any]]) -> dict[str, str]:
    """Each role's placed documents in words, in order (`access.placement_words`)."""
    from .access import placement_words

    by_role: dict[str, list[str]] = {}
    for p in placements:
        by_role.setdefault(p["role"], []).append(placement_words(p))
    return {role: "; ".join(words) for role, words in by_role.items()}


def print_written(target: Path, console: Console) -> None:
    """The last line of a plan: where it went and what the folder holds."""
    from rich.markup import escape

    written = ", ".join(written_entries(target))
    console.print(f"Plan written to [bold]{escape(str(target))}[/bold] ({escape(written)})", highlight=False, soft_wrap=True)
