"""The component provider that serves agent-iam's components to programs in any language.

It is Pulumi's `ComponentProvider` (the schema from the analyzer, inputs mapped to each component's
Args) with what a program in another language needs on top, done here, before a component runs:

- the schema served is the readable one (`agent_iam.provider.readable`);
- numbers arrive as floats (JSON and protobuf have one number type): a whole number (7200.0) is
  an integer for an integer field, any other (7200.5) is refused by name;
- an input the schema does not have (`s3Reads`) is refused by name, with the one it most resembles;
- a component's `ArgsError` comes back as `pulumi.InputPropertiesError` (gRPC INVALID_ARGUMENT), one
  entry per property, named and worded as in the schema (`principalArn`), without a traceback.

`serve()` runs it as a plugin: `python provider <engine address>` (the language host's way of
starting the plugin folder `provider/`) and `python -m pulumi.run.plugin agent-iam <engine address>`.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from agent_iam.components._contract import ArgsError
from agent_iam.provider import PACKAGE, components, version, with_inherited_descriptions
from agent_iam.provider.readable import package_metadata, readable_schema

_INDEX = re.compile(r"(\[[^\]]*\])")


class AgentIamProvider(ComponentProvider):
    """agent-iam's components as a Pulumi component provider (see the module docstring)."""

    def __init__(self) -> None:
        hosted = components()
        super().__init__(hosted, PACKAGE, version=version())
        fields = {py for d in self._component_defs.values() for py in d.inputs_mapping.values()}
        fields |= {py for t in self._type_defs.values() for py in t.properties_mapping.values()}
        self._fields = frozenset(fields)
        schema = with_inherited_descriptions(json.loads(self.schema), hosted)
        self.schema = json.dumps(readable_schema(schema, hosted, fields, package_metadata(PACKAGE)))

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        self.validate_resource_type(self._name, resource_type)
        component = resource_type.rsplit(":", 1)[-1]
        definition = self._component_defs.get(component)
        if definition is None:
            raise InputPropertiesError(f"{PACKAGE} has no component {component!r} (it has {', '.join(self._component_defs)})")
        problems: list[InputPropertyErrorDetails] = []
        converted = _properties(inputs, definition.inputs, "", problems, self)
        if problems:
            raise InputPropertiesError(f"{component} {name!r}: invalid inputs", problems)
        try:
            return super().construct(name, resource_type, converted, options)
        except ComponentInitError as error:
            if isinstance(error.inner, ArgsError):
                raise self.refusal(error.inner) from None
            raise

    def schema_path(self, field: str) -> str:
        """An Args field path (`iam_limits.trust_policy_size`, `s3_read[0]`) in the schema's spelling."""
        parts = []
        for part in field.split("."):
            head, *indexes = _INDEX.split(part)
            parts.append((camel_case(head) if head in self._fields else head) + "".join(indexes))
        return ".".join(parts)

    def refusal(self, error: ArgsError) -> InputPropertiesError:
        """An `ArgsError` as the engine shows a provider's refusal: one entry per property, in schema names."""
        details: list[InputPropertyErrorDetails] = [
            {"property_path": self.schema_path(p.field), "reason": p.render(self.schema_path)}
            for p in error.problems
            if p.field
        ]
        whole = [p.render(self.schema_path) for p in error.problems if not p.field]
        return InputPropertiesError(f"{error.component} {error.name!r}: " + ("; ".join(whole) or "invalid inputs"), details)


def _properties(
    values: Any,
    definitions: dict[str, PropertyDefinition],
    path: str,
    problems: list[InputPropertyErrorDetails],
    provider: AgentIamProvider,
) -> Any:
    """A mapping of schema-named values checked against their definitions: unknown names refused,
    numbers converted; the values that are not mappings are left to the component's checks."""
    if not isinstance(values, dict):
        return values
    result = {}
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        prop = definitions.get(key)
        if prop is None:
            hint = difflib.get_close_matches(key, sorted(definitions), n=1)
            problems.append(
                {
                    "property_path": where,
                    "reason": "unknown input"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + f" (inputs: {', '.join(sorted(definitions))})",
                }
            )
            continue
        result[key] = _value(value, prop, where, problems, provider)
    return result


def _value(
    value: Any,
    prop: PropertyDefinition,
    path: str,
    problems: list[InputPropertyErrorDetails],
    provider: AgentIamProvider,
) -> Any:
    if value is None or isinstance(value, pulumi.Output):
        return value  # an Output's value is checked by the component when it resolves
    if prop.ref is not None:
        type_def = provider.get_type_definition(prop)
        if type_def is None or type_def.enum:
            return value
        return _properties(value, type_def.properties, path, problems, provider)
    if prop.type == PropertyType.INTEGER:
        return _integer(value, path, problems)
    if prop.type == PropertyType.ARRAY and prop.items is not None and isinstance(value, list):
        return [_value(item, prop.items, f"{path}[{i}]", problems, provider) for i, item in enumerate(value)]
    if prop.type == PropertyType.OBJECT and prop.additional_properties is not None and isinstance(value, dict):
        return {k: _value(v, prop.additional_properties, f"{path}.{k}", problems, provider) for k, v in value.items()}
    return value


def _integer(value: Any, path: str, problems: list[InputPropertyErrorDetails]) -> Any:
    """A whole number sent as a float (7200.0) is that integer; another float is refused."""
    if type(value) is not float:
        return value  # an int, or another type the component refuses with its own words
    if value.is_integer():
        return int(value)
    problems.append({"property_path": path, "reason": f"must be a whole number, got {value!r}"})
    return value


def serve() -> None:
    """Serve the components over Pulumi's provider protocol; the engine address is the first
    positional argument (`python provider <address>`), the port is printed on stdout."""
    from pulumi.provider.experimental import host
    from pulumi.provider.server import main

    host.is_hosting = True  # components register with the package's `agent-iam:index:<Name>` tokens
    main(AgentIamProvider(), sys.argv[1:])


def package_schema() -> dict[str, Any]:
    """The package schema exactly as the component provider serves it (`GetSchema`)."""
    return json.loads(AgentIamProvider().schema)
