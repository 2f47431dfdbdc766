"""The component provider: its schema comes from the Pulumi SDK's analyzer and names every component
with documented inputs and its outputs; the provider constructs a component from schema inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml

from agent_iam.provider import PACKAGE, components, package_schema
from conftest import ACCOUNT, ROOT, run_components

SCHEMA = package_schema()


@pytest.mark.parametrize("component", components(), ids=lambda c: c.__name__)
def test_every_component_is_in_the_schema_with_documented_inputs_and_its_outputs(component):
    resource = SCHEMA["resources"][f"{PACKAGE}:index:{component.__name__}"]
    assert resource["isComponent"] is True
    assert resource["description"].startswith(component.__doc__.split("\n")[0])
    args_type = component.__init__.__annotations__["args"]
    assert set(resource["inputProperties"]) == {pulumi_name(f) for f in args_type.__annotations__}
    for name, prop in resource["inputProperties"].items():
        assert prop.get("description", "").strip(), f"{component.__name__}.{name} has no description"
        assert "Default" in prop["description"] or "Required" in prop["description"], (name, prop["description"])
    assert set(resource.get("requiredInputs", [])) == {pulumi_name(f) for f in args_type.__required_keys__}
    [mixin] = [c for c in component.__mro__ if c.__name__ == f"{component.__name__}Outputs"]
    outputs = {pulumi_name(f) for c in mixin.__mro__ for f in getattr(c, "__annotations__", {})}
    assert outputs and set(resource["properties"]) == outputs


def test_inherited_args_fields_keep_the_docstring_of_the_base_that_declares_them():
    """The analyzer reads a docstring from the field's own class only; the schema restores inherited ones."""
    from agent_iam.components import base
    from agent_iam.components._service_account import ServiceAccountArgs

    irsa = SCHEMA["resources"][f"{PACKAGE}:index:IrsaRole"]["inputProperties"]
    ecs = SCHEMA["resources"][f"{PACKAGE}:index:EcsAgentRoles"]["inputProperties"]
    import inspect

    def declared(cls, field):
        source = inspect.getsource(cls)
        return " ".join(source.split(f"    {field}:", 1)[1].split('"""')[1].split())

    assert " ".join(irsa["namespace"]["description"].split()) == declared(ServiceAccountArgs, "namespace")
    assert " ".join(irsa["s3Read"]["description"].split()) == declared(base.S3Args, "s3_read")
    assert " ".join(ecs["kmsKeyArns"]["description"].split()) == declared(base.SecretsArgs, "kms_key_arns")  # not S3Args'
    assert " ".join(ecs["iamLimits"]["description"].split()) == declared(base.RoleArgs, "iam_limits")


def pulumi_name(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def test_inputs_from_other_resources_are_inputs_and_the_rest_plain():
    saas = SCHEMA["resources"][f"{PACKAGE}:index:SaasAccessRole"]["inputProperties"]
    assert "plain" not in saas["principalArn"]  # an Input: another resource's output is fine
    assert saas["s3Read"]["items"]["type"] == "string" and "plain" not in saas["s3Read"]["items"]  # items may be outputs
    assert saas["iamLimits"]["$ref"] == f"#/types/{PACKAGE}:index:IamLimitsArgs"
    assert saas["policy"]["additionalProperties"]["$ref"] == "pulumi.json#/Any"  # a policy document, any shape


def test_plugin_manifest_runs_the_provider_entry_point():
    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert (ROOT / manifest["main"] / "__main__.py").is_file()
    assert "component_provider_host" in (ROOT / manifest["main"] / "__main__.py").read_text()


def test_the_provider_constructs_a_component_from_schema_inputs(monkeypatch):
    """What a YAML or TypeScript program sends (camelCase inputs) reaches the component as its Args,
    and the hosted component registers with the package's token."""
    from pulumi.provider.experimental import host
    from pulumi.provider.experimental.component import ComponentProvider

    monkeypatch.setattr(host, "is_hosting", True)

    provider = ComponentProvider(components(), PACKAGE)

    def program():
        result = provider.construct(
            "vendor",
            f"{PACKAGE}:index:SaasAccessRole",
            {"principalArn": "arn:aws:iam::222222222222:role/vendor", "externalId": "ext-1234", "s3Read": ["acme-lake"]},
            pulumi.ResourceOptions(),
        )
        return result.state

    run, state = run_components(program)
    trust = json.loads(run.named("aws:iam/role:Role", "vendor-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::222222222222:role/vendor"}
    assert state["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/vendor"
    assert [r.type for r in run.resources if not r.custom] == [f"{PACKAGE}:index:SaasAccessRole"]


def test_make_schema_writes_the_schema(tmp_path: Path):
    from agent_iam.provider.schema import main

    assert main(["--out", str(tmp_path / "schema.json")]) == 0
    assert json.loads((tmp_path / "schema.json").read_text()) == SCHEMA


def test_the_args_reference_is_generated_from_the_code():
    """docs/reference.md is `make docs` output: the Args reference is never written twice."""
    from agent_iam.provider.reference import render

    assert (ROOT / "docs" / "reference.md").read_text() == render(), "run `make docs`"
