"""The package schema as a TypeScript, Go, C# or YAML user reads it: the analyzer's schema, post-processed.

Pulumi's analyzer gives the shape (types, plainness, required inputs) and each field's docstring as
written in Python. This adds what it leaves out, without changing the shape:

- descriptions without Python's indentation, paragraphs on one line, and the Python field names
  inside them spelled as the schema spells them (`oidc_provider_arn` -> `oidcProviderArn`);
- output descriptions, from the docstrings of each component's outputs class (the analyzer reads
  docstrings only from a class's own source, and the outputs are annotated on a mixin);
- enums for the fields that take a closed set of values, from the constants the components check;
- `secret` on the outputs that carry a secret;
- the package's description, keywords and license from its metadata (its homepage and repository once
  pyproject.toml has them).
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.provider.experimental.util import camel_case

from agent_iam.iam import issuers

# Outputs that carry a secret (the component wraps them, or a value inside them, in `Output.secret`).
SECRET_OUTPUTS: dict[str, tuple[str, ...]] = {"SaasAccessRole": ("externalId", "handoff")}
KEYWORDS = ["pulumi", "aws", "iam", "category/cloud", "kind/component"]


def enums() -> dict[tuple[str, str], tuple[str, tuple[str, ...], str]]:
    """The fields that take one of a closed set of values: (component or Args type, schema name) -> (enum type,
    values, description). The values are the constants the components check the field against."""
    from agent_iam.components._guardrails import ENFORCEMENTS
    from agent_iam.components.service_account_role import MODES
    from agent_iam.guardrails import rules

    return {
        ("GuardrailsArgs", "enforcement"): (
            "GuardrailEnforcement", ENFORCEMENTS, "How a guardrail violation is said: an error, a warning, or not at all.",
        ),
        ("GuardrailsArgs", "rules"): ("GuardrailLevel", rules.LEVELS, "One guardrail rule's level."),
        ("AcceptedFindingArgs", "check"): ("GuardrailRule", rules.RULE_NAMES, "A guardrail rule (docs/guardrails.md)."),
        ("OidcRole", "provider"): (
            "OidcProviderFamily",
            issuers.PROVIDERS,
            "An OIDC issuer family: its default issuer, audience and subject shape.",
        ),
        ("OidcRole", "runPhases"): ("TerraformRunPhase", issuers.RUN_PHASES, "A phase of an HCP Terraform run."),
        ("ServiceAccountRole", "mode"): (
            "ServiceAccountMode",
            MODES,
            "How pods get the role: `irsa` (the cluster's OIDC provider) or `pod-identity` (an EKS Pod Identity "
            "association).",
        ),
    }


def readable_schema(
    schema: Mapping[str, Any],
    components: Iterable[type],
    field_names: Iterable[str],
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """The analyzer's `schema` with descriptions, enums, secrets and package metadata added.

    `field_names` are the Python names of every Args and nested type field (spelled in camelCase
    inside descriptions); `metadata` holds the package's description, homepage, license and
    repository (`package_metadata`)."""
    result = copy.deepcopy(dict(schema))
    renames = {name: camel_case(name) for name in field_names if "_" in name}
    package = result["name"]
    for key in ("description", "homepage", "license", "repository"):
        if metadata.get(key):
            result[key] = metadata[key]
    result["keywords"] = list(KEYWORDS)
    types = result.setdefault("types", {})
    for (component, field), (type_name, values, description) in enums().items():
        token = f"{package}:index:{type_name}"
        types[token] = {
            "type": "string",
            "description": description,
            "enum": [{"value": value} for value in values],
        }
        owner = result["resources"].get(f"{package}:index:{component}") or types[f"{package}:index:{component}"]
        for group in ("inputProperties", "properties"):
            prop = owner.get(group, {}).get(field)
            if prop is None:
                continue
            kind = prop.get("type")
            target = prop["items"] if kind == "array" else prop["additionalProperties"] if kind == "object" else prop
            target.pop("type", None)
            target["$ref"] = f"#/types/{token}"
    for component in components:
        resource = result["resources"][f"{package}:index:{component.__name__}"]
        resource["description"] = clean(resource.get("description") or component.__doc__ or "", renames)
        docs = output_docs(component)
        for name, prop in resource["properties"].items():
            prop["description"] = clean(prop.get("description") or docs.get(name, ""), renames)
            if name in SECRET_OUTPUTS.get(component.__name__, ()):
                prop["secret"] = True
        for prop in resource["inputProperties"].values():
            _clean_property(prop, renames)
    for typ in types.values():
        if typ.get("description"):
            typ["description"] = clean(typ["description"], renames)
        for prop in typ.get("properties", {}).values():
            _clean_property(prop, renames)
    return result


def _clean_property(prop: dict[str, Any], renames: Mapping[str, str]) -> None:
    """A property's description cleaned, and those of its items and values (the analyzer copies them there)."""
    prop["description"] = clean(prop.get("description", ""), renames)
    for inner in (prop.get("items"), prop.get("additionalProperties")):
        if isinstance(inner, dict) and "description" in inner:
            _clean_property(inner, renames)


def clean(text: str, renames: Mapping[str, str]) -> str:
    """A docstring as a description: no indentation, each paragraph (and list item) on one line, Python
    field names in their schema spelling."""
    lines = inspect.cleandoc(text).splitlines()
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        stripped = line.strip()
        if not stripped:
            if paragraphs[-1]:
                paragraphs.append([])
        elif stripped.startswith(("- ", "* ")) or not paragraphs[-1]:
            paragraphs[-1].append(stripped)
        else:
            paragraphs[-1][-1] += " " + stripped
    text = "\n\n".join("\n".join(p) for p in paragraphs if p)
    if renames:
        pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(renames, key=len, reverse=True))) + r")(?![A-Za-z0-9_])")
        text = pattern.sub(lambda m: renames[m.group(1)], text)
    return text


def output_docs(component: type) -> dict[str, str]:
    """Each output's docstring by its schema name, from the outputs class(es) the component inherits."""
    docs: dict[str, str] = {}
    for cls in reversed(component.__mro__):
        if "__annotations__" not in vars(cls) or cls.__module__.startswith("pulumi"):
            continue
        try:
            tree = ast.parse(inspect.getsource(cls))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                    docs[camel_case(node.target.id)] = str(following.value.value)
    return docs


def package_metadata(distribution: str) -> dict[str, str]:
    """Description, homepage, license and repository of the installed distribution (pyproject.toml);
    empty when it is not installed (a bare checkout on `sys.path`)."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata(distribution)
    except PackageNotFoundError:
        return {}
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL") or [])
    return {
        "description": meta.get("Summary") or "",
        "license": meta.get("License-Expression") or meta.get("License") or "",
        "homepage": urls.get("Homepage") or urls.get("Documentation") or "",
        "repository": urls.get("Repository") or urls.get("Source") or "",
    }
