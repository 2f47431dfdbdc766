"""The component provider: its schema comes from the Pulumi SDK's analyzer and names every component
with documented inputs and its outputs; the provider constructs a component from schema inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pulumi
import pytest
import yaml

from agent_iam.provider import PACKAGE, components
from agent_iam.provider.host import package_schema
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


def test_the_plugin_folder_is_what_the_language_host_runs_and_the_root_is_no_plugin():
    """`pulumi package add <repo>/provider`: the CLI reads `runtime` (no `main`: it has none) from the folder's
    PulumiPlugin.yaml, pip installs its requirements.txt into `venv` there, then the Python host runs
    `python <folder> <engine>` because the folder has a `__main__.py` (tests/test_provider_protocol.py runs it)."""
    import tomllib

    assert not (ROOT / "PulumiPlugin.yaml").exists()  # the root is the stack program (Pulumi.yaml)
    folder = ROOT / "provider"
    manifest = yaml.safe_load((folder / "PulumiPlugin.yaml").read_text())
    assert set(manifest) == {"runtime", "requiredPulumiVersion"}
    assert manifest["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert (folder / "__main__.py").is_file() and not (folder / "pyproject.toml").exists()
    requirements = [line for line in (folder / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert requirements == ["-c ../constraints.txt", "..[eks]"]  # relative to the folder: pip runs there
    project = tomllib.loads((folder / ".." / "pyproject.toml").read_text())["project"]
    assert project["name"] == PACKAGE and "eks" in project["optional-dependencies"]


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


def _described(schema: dict) -> list[tuple[str, str]]:
    """(where, description) of every resource, input, output and type property of the schema, and of the items
    and values of a list or map property that carry one (the analyzer copies the property's there)."""

    def of(where: str, prop: dict) -> list[tuple[str, str]]:
        inner = [(f"{where}.{key}", prop[key]) for key in ("items", "additionalProperties") if "description" in prop.get(key, {})]
        return [(where, prop.get("description", ""))] + [found for w, p in inner for found in of(w, p)]

    found = []
    for token, resource in schema["resources"].items():
        found.append((token, resource["description"]))
        for group in ("inputProperties", "properties"):
            found += [d for name, prop in resource[group].items() for d in of(f"{token}.{group}.{name}", prop)]
    for token, typ in schema["types"].items():
        found.append((token, typ.get("description", "")))
        found += [d for name, prop in typ.get("properties", {}).items() for d in of(f"{token}.{name}", prop)]
    return found


def test_every_input_and_output_is_described_as_the_schema_spells_it_without_python_indentation():
    from agent_iam.provider.host import AgentIamProvider

    provider = AgentIamProvider()
    python_names = {n for n in provider._fields if "_" in n}  # what a TypeScript user never types
    for where, description in _described(SCHEMA):
        assert description.strip(), f"{where} has no description"
        assert "\n " not in description and not description.startswith(" "), (where, description)
        words = set(re.findall(r"[a-z0-9_]+", description))
        assert not words & python_names, (where, words & python_names)
    outputs = SCHEMA["resources"][f"{PACKAGE}:index:SaasAccessRole"]["properties"]
    assert outputs["roleArn"]["description"] == "The role's ARN, to give to the vendor."
    accounts = SCHEMA["resources"][f"{PACKAGE}:index:OidcRole"]["inputProperties"]["accountId"]["description"]
    assert accounts == "The 12-digit account the role is created in. Default: none (then `oidcProviderArn` is required)."


def test_fields_that_take_a_closed_set_of_values_are_enums_of_the_values_the_components_check():
    from agent_iam.iam import issuers
    from agent_iam.components.service_account_role import MODES

    def values(token: str) -> list[str]:
        return [value["value"] for value in SCHEMA["types"][token.removeprefix("#/types/")]["enum"]]

    oidc = SCHEMA["resources"][f"{PACKAGE}:index:OidcRole"]["inputProperties"]
    assert values(oidc["provider"]["$ref"]) == list(issuers.PROVIDERS) == [
        "github", "gitlab", "terraform-cloud", "circleci", "bitbucket", "buildkite", "spacelift", "generic"
    ]
    assert oidc["provider"]["plain"] is True and "type" not in oidc["provider"]
    assert oidc["runPhases"]["type"] == "array" and values(oidc["runPhases"]["items"]["$ref"]) == ["plan", "apply"]
    service_account = SCHEMA["resources"][f"{PACKAGE}:index:ServiceAccountRole"]
    assert values(service_account["inputProperties"]["mode"]["$ref"]) == list(MODES) == ["irsa", "pod-identity"]
    assert service_account["properties"]["mode"]["$ref"] == service_account["inputProperties"]["mode"]["$ref"]
    from agent_iam.guardrails import rules

    guardrails = SCHEMA["types"][f"{PACKAGE}:index:GuardrailsArgs"]["properties"]
    assert values(guardrails["enforcement"]["$ref"]) == ["mandatory", "advisory", "disabled"]
    assert guardrails["rules"]["type"] == "object" and values(guardrails["rules"]["additionalProperties"]["$ref"]) == list(rules.LEVELS)
    accepted = SCHEMA["types"][f"{PACKAGE}:index:AcceptedFindingArgs"]
    assert values(accepted["properties"]["check"]["$ref"]) == list(rules.RULE_NAMES) and accepted["required"] == ["check", "reason"]
    for component in ("SaasAccessRole", "EcsAgentRoles", "IrsaRole", "PodIdentityRole", "OidcRole", "Ec2AgentInstanceProfile"):
        inputs = SCHEMA["resources"][f"{PACKAGE}:index:{component}"]["inputProperties"]
        assert inputs["guardrails"]["$ref"] == f"#/types/{PACKAGE}:index:GuardrailsArgs"
        assert inputs["acceptedFindings"]["items"]["$ref"] == f"#/types/{PACKAGE}:index:AcceptedFindingArgs"


def test_secret_outputs_are_marked_secret():
    secret = {
        (token.rsplit(":", 1)[-1], name)
        for token, resource in SCHEMA["resources"].items()
        for name, prop in resource["properties"].items()
        if prop.get("secret")
    }
    assert secret == {("SaasAccessRole", "externalId"), ("SaasAccessRole", "handoff")}  # the protocol test checks the wire


def test_the_package_is_described_licensed_and_versioned_from_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert SCHEMA["description"] == project["description"]
    assert SCHEMA["license"] == project["license"] == "Apache-2.0"
    urls = project.get("urls", {})  # none until the project has a public address: never a made-up one
    assert SCHEMA.get("repository") == urls.get("Repository") and SCHEMA.get("homepage") == urls.get("Homepage")
    assert SCHEMA["version"] == project["version"]
    assert "kind/component" in SCHEMA["keywords"]


def test_public_names_are_real_imports_for_type_checkers_and_load_lazily_at_run_time():
    """One list of public names: `__all__`, the TYPE_CHECKING imports and the lazy table agree."""
    import ast

    import agent_iam

    tree = ast.parse((ROOT / "agent_iam" / "__init__.py").read_text())
    [guard] = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    imported = {
        alias.name: node.module.rsplit(".", 1)[-1]
        for node in guard.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    assert imported == agent_iam._EXPORTS
    assert sorted(agent_iam.__all__) == agent_iam.__all__ == sorted(imported)
    assert (ROOT / "agent_iam" / "py.typed").is_file()
    assert agent_iam.SaasAccessRole.__module__ == "agent_iam.components.saas_access_role"


def test_the_plugin_runner_finds_no_component_classes_so_it_runs_agent_iams_own_provider():
    """`python -m pulumi.run.plugin agent-iam` hosts the component classes it finds in the package's namespace
    with the SDK's plain ComponentProvider (no readable schema, no whole numbers, refusals with a traceback);
    finding none, it runs `python -m agent_iam`, which serves agent-iam's own. The lazy exports are what make it
    find none (tests/test_provider_protocol.py checks the runner serves the folder's schema)."""
    import importlib.util

    from pulumi.provider.experimental.host import components_from_module

    spec = importlib.util.spec_from_file_location("agent_iam_fresh", ROOT / "agent_iam" / "__init__.py")
    fresh = importlib.util.module_from_spec(spec)  # the package as the runner imports it: nothing used yet
    spec.loader.exec_module(fresh)  # type: ignore[union-attr]
    assert components_from_module(fresh) == []
    assert "pulumi.run.plugin" in (ROOT / "agent_iam" / "__main__.py").read_text()
