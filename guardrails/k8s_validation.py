"""Validate the plan's Kubernetes manifests against the Kubernetes schemas, offline and strict.

Strict mode refuses fields the schema does not know, so a typo'd key fails the plan instead of
being dropped by the API server at `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The Kubernetes version the manifests are checked against: the oldest EKS version still in
# standard support when this was pinned; ServiceAccount and Secret are stable v1 in all of them.
KUBERNETES_VERSION = "1.31"


def validate_manifests(manifests: Mapping[str, Mapping[str, Any]], version: str = KUBERNETES_VERSION) -> list[str]:
    """One problem line per invalid manifest: `k8s/<file>: <field path>: <what is wrong>`."""
    import kubernetes_validate as kv  # schema data loads lazily: only when there are manifests

    problems = []
    for file_name, manifest in sorted(manifests.items()):
        try:
            kv.validate(dict(manifest), version, strict=True)
        except kv.ValidationError as error:
            where = ".".join(str(part) for part in error.path) or "(manifest)"
            problems.append(f"k8s/{file_name}: {where}: {error.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as error:
            problems.append(f"k8s/{file_name}: no Kubernetes {version} schema for this object: {error}")
    return problems
