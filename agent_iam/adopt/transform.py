"""The `import` resource option from an import file, for a program of your own (docs/adopting.md).

`pulumi import --file` adopts what `agent-iam import` found by reading the live resources; a program
can instead set each resource's `import` option, so its next `pulumi up` adopts them. Pulumi then
requires the program's inputs to equal the live resource's, so this suits resources whose settings
already match (tags, description, documents); `import_transform` sets the option on exactly the
resources the import file lists, by type and logical name, and on nothing else.

Needs only Pulumi: a program that uses the components imports it without the plan tools.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi


def import_ids(document: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """`(type, logical name) -> id` of the custom resources of an import file (components have no id)."""
    ids = {}
    for resource in document.get("resources", []):
        if resource.get("component") or not resource.get("id"):
            continue
        ids[(resource["type"], resource.get("logicalName") or resource["name"])] = resource["id"]
    return ids


def import_transform(source: str | Path | Mapping[str, Any]) -> Callable[[pulumi.ResourceTransformArgs], pulumi.ResourceTransformResult | None]:
    """A resource transform setting `import` on each resource the import file (a path or its parsed
    JSON) lists: `pulumi.runtime.register_resource_transform(import_transform("build/prod/import.json"))`,
    or `transforms=[...]` on one component's ResourceOptions."""
    document = json.loads(Path(source).read_text(encoding="utf-8")) if isinstance(source, (str, Path)) else source
    ids = import_ids(document)

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        found = ids.get((args.type_, args.name))
        if found is None or not args.custom:
            return None
        return pulumi.ResourceTransformResult(args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(import_=found)))

    return transform
