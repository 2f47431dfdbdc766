"""Generate docs/reference.md: every component's Args and outputs, from the code.

The text comes from the package schema, which the Pulumi SDK's analyzer reads from the Args
TypedDicts (field, type, docstring with its default) and the outputs mixins, so the reference
is never written twice. `make docs` rewrites it; a test fails when it is stale.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from agent_iam.provider import PACKAGE, components
from agent_iam.provider.host import package_schema

HEADER = """# Component reference

Generated from the code by `make docs` (`python -m agent_iam.provider.reference`); do not edit.
Python programs pass the snake_case field names in the component's Args
(`agent_iam.SaasAccessRoleArgs(principal_arn=...)`); other languages and YAML use the camelCase
names of the package schema (`principalArn`). **Input** marks a field that takes another
resource's output; the others must be known when the program runs.
"""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        ref = prop["$ref"]
        return "any" if ref.endswith("/Any") else ref.rsplit(":", 1)[-1]
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop['items'])}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {_type(prop['additionalProperties'])}"
    return kind


def _text(description: str) -> tuple[str, str]:
    """(meaning, default) of a field's docstring: the default is what follows `Default:`."""
    text = " ".join(description.split())
    meaning, _, default = text.partition(" Default: ")
    if not default and meaning.endswith(" Required."):
        return meaning.removesuffix(" Required."), "required"
    return meaning, default.rstrip(".") if default else ""


def _properties(props: dict[str, Any], required: set[str]) -> list[str]:
    rows = ["| Field | Type | Default | Meaning |", "|---|---|---|---|"]
    for name in props:
        prop = props[name]
        meaning, default = _text(prop.get("description", ""))
        kind = _type(prop) + ("" if prop.get("plain") or "$ref" in prop else " (Input)")
        if prop.get("type") == "array" and "plain" not in prop["items"] and "$ref" not in prop["items"]:
            kind = f"list of {_type(prop['items'])} (Inputs)"
        default = "required" if name in required else default
        meaning = meaning.replace("|", "\\|")
        rows.append(f"| `{_snake(name)}` / `{name}` | {kind} | {default} | {meaning} |")
    return rows


def render() -> str:
    data = package_schema()
    lines = [HEADER]
    for component in components():
        token = f"{PACKAGE}:index:{component.__name__}"
        resource = data["resources"][token]
        args = component.__init__.__annotations__["args"].__name__
        lines += [f"## {component.__name__}", "", f"`agent_iam.{component.__name__}(name, agent_iam.{args}(...), opts)`"]
        lines += [f"(schema token `{token}`)", "", " ".join(resource.get("description", "").split()), ""]
        lines += [f"### {args}", ""]
        lines += _properties(resource["inputProperties"], set(resource.get("requiredInputs", [])))
        lines += ["", "### Outputs", "", "| Output | Type | Meaning |", "|---|---|---|"]
        for name, prop in resource["properties"].items():
            meaning = " ".join(prop.get("description", "").split()) + (" Secret." if prop.get("secret") else "")
            lines.append(f"| `{_snake(name)}` / `{name}` | {_type(prop)} | {meaning} |")
        lines.append("")
    for token, typ in sorted(data["types"].items()):
        lines += [f"## {token.rsplit(':', 1)[-1]}", "", " ".join((typ.get("description") or "").split()), ""]
        if "enum" in typ:
            lines.append("One of: " + ", ".join(f"`{value['value']}`" for value in typ["enum"]) + ".")
        else:
            lines += _properties(typ["properties"], set(typ.get("required", [])))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent_iam.provider.reference", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/reference.md"))
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
