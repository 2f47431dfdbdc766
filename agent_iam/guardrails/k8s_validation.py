"""Validate the plan's Kubernetes manifests against the Kubernetes schemas, offline and strict.

Strict mode refuses fields the schema does not know, so a typo'd key fails the plan instead of
being dropped by the API server at `pulumi up`.

The schemas are kubernetes-validate's own (its strict, locally-resolved JSON schemas). Its
`validate()` re-reads and re-parses the schema and the ~2 MB `_definitions.json` for every
manifest (6 s for 1,000 ServiceAccounts); here one validator is built per (version, kind,
apiVersion) and reused, with the same schema files, draft and registry as `validate()` uses,
and results are cached by manifest content between plans (`content_cache`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from . import content_cache

# The Kubernetes version the manifests are checked against: the oldest EKS version still in
# standard support when this was pinned; ServiceAccount and Secret are stable v1 in all of them.
KUBERNETES_VERSION = "1.31"


class _NoSchema(Exception):
    """No schema for this kind and apiVersion in the pinned Kubernetes version."""


def validate_manifests(
    manifests: Mapping[str, Mapping[str, Any]],
    version: str = KUBERNETES_VERSION,
    cache_file: Path | None = None,
) -> list[str]:
    """One problem line per invalid manifest: `k8s/<file>: <field path>: <what is wrong>`.

    With `cache_file`, results are kept by manifest content for the next plan, which then
    checks (and imports the schema validator for) only the manifests that changed.
    """
    cache_version = _cache_version(version)
    cached = content_cache.read(cache_file, cache_version)
    keys = {name: content_cache.content_key(version, manifest) for name, manifest in manifests.items()}
    results = {key: cached[key] for key in keys.values() if key in cached}
    for name, manifest in manifests.items():
        if keys[name] not in results:
            results[keys[name]] = _problem(manifest, version)
    content_cache.update(cache_file, cache_version, cached, results)
    return [f"k8s/{name}: {results[keys[name]]}" for name in sorted(manifests) if results[keys[name]] is not None]


def _problem(manifest: Mapping[str, Any], version: str) -> str | None:
    """`<field path>: <what is wrong>` for an invalid manifest, None for a valid one."""
    import jsonschema

    try:
        validator = _validator(_schema_version(version), str(manifest.get("kind")), str(manifest.get("apiVersion")))
    except _NoSchema as error:
        return f"no Kubernetes {version} schema for this object: {error}"
    error = jsonschema.exceptions.best_match(validator.iter_errors(dict(manifest)))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.path) or "(manifest)"
    return f"{where}: {error.message}"


def _cache_version(version: str) -> str:
    """Results stay valid while kubernetes-validate (its schemas), the Kubernetes version and this module are the same."""
    return (
        f"kubernetes-validate {installed_version('kubernetes-validate')}; Kubernetes {version}; "
        f"{content_cache.module_fingerprint(__file__)}"
    )


@functools.lru_cache(maxsize=None)
def _schema_version(desired: str) -> str:
    """The newest schema set kubernetes-validate ships that is not newer than `desired`."""
    from kubernetes_validate.utils import all_versions, major_minor

    wanted = major_minor(desired.removeprefix("v"))
    candidates = [v for v in all_versions() if major_minor(v) <= wanted]
    if not candidates:
        raise _NoSchema(f"kubernetes-validate has no schemas for Kubernetes {desired}")
    return candidates[-1]


@functools.lru_cache(maxsize=None)
def _validator(schema_version: str, kind: str, api_version: str) -> Any:
    """A strict Draft 2020-12 validator for one kind, its `$ref`s resolved from `_definitions.json`."""
    import jsonschema
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    schema_dir = f"kubernetes-json-schema/v{schema_version}-local-strict"
    # rbac.authorization.k8s.io/v1 -> rbac-v1, as kubernetes-validate names its files
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"{schema_dir}/{kind.lower()}-{group_version}.json", schema_version)
    except FileNotFoundError:
        raise _NoSchema(f"kind {kind!r} with apiVersion {api_version!r}") from None
    definitions = schema_contents(f"{schema_dir}/_definitions.json", schema_version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)
