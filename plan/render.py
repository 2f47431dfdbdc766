"""Write a plan to `build/<stack>/` and print it as a tree a reviewer can read."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.panel import Panel
from rich.tree import Tree

from .access import access_model, render_access_report
from .mocks import Registration
from .run import PlanRun

IAM_DOCUMENT_INPUTS = {
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:iam/rolePolicy:RolePolicy": ("policy", None),
    "aws:iam/policy:Policy": ("policy", None),
}


def _json_file(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def _account_of(resource: Registration) -> str:
    arn = str(resource.outputs.get("arn", ""))
    return arn.split(":")[4] if arn.count(":") >= 5 else ""


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
        if resource.type == "aws:iam/role:Role":
            stem = f"{name}.{suffix}"
        elif resource.type == "aws:iam/rolePolicy:RolePolicy":
            stem = f"{resource.inputs.get('role')}.{name}"
        else:
            stem = f"policy.{name}"
        if f"{stem}.json" in files:
            stem = f"{_account_of(resource)}.{stem}"
        files[f"{stem}.json"] = json.loads(raw)
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


def plan_document(run: PlanRun, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """plan.json; `extra` adds keys (the guardrail violations and IAM findings)."""
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
                "inputs": r.inputs,
                **({"secretInputs": r.secret_inputs} if r.secret_inputs else {}),
            }
            for r in run.resources
        ],
        "outputs": run.outputs,
        "advisories": run.warnings,
        **(extra or {}),
    }


def write_plan(run: PlanRun, out_dir: Path, extra: dict[str, Any] | None = None) -> Path:
    """Replace `out_dir/<stack>/` with this plan: plan.json, one file per IAM document and per Kubernetes object."""
    target = out_dir / run.stack
    if target.exists():
        shutil.rmtree(target)
    _json_file(target / "plan.json", plan_document(run, extra))
    for file_name, doc in iam_document_files(run).items():
        _json_file(target / "iam" / file_name, doc)
    for file_name, manifest in kubernetes_manifest_files(run).items():
        path = target / "k8s" / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    (target / "access.md").write_text(render_access_report(run.stack, access_model(run.resources)))
    return target


def remove_plan(out_dir: Path, stack: str) -> None:
    """A failed plan leaves nothing behind that could pass for a current one."""
    target = out_dir / stack
    if target.exists():
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


def print_plan(run: PlanRun, target: Path, console: Console | None = None) -> None:
    console = console or Console()
    children: dict[str | None, list[Registration]] = defaultdict(list)
    urns = {r.urn for r in run.resources}
    for resource in run.resources:
        parent = resource.parent if resource.parent in urns else None
        children[parent].append(resource)

    tree = Tree(f"[bold]agent-iam[/bold] stack [bold]{run.stack}[/bold]: {len(run.resources)} resources")

    def add(node: Tree, parent: str | None) -> None:
        for resource in children.get(parent, []):
            add(node.add(_label(resource)), resource.urn)

    add(tree, None)
    console.print(tree)
    for warning in run.warnings:
        console.print(Panel(warning, title="advisory", border_style="red"))
    console.print(f"Plan written to [bold]{target}[/bold] (plan.json, iam/, k8s/, access.md)")
