"""The component provider over its real gRPC protocol, started exactly as Pulumi's Python language host
starts the plugin folder `provider/` (`python <folder> <engine address>`), against a fake engine and
resource monitor (tests/fake_engine.py): what a TypeScript or YAML program's `pulumi up` sends.

One provider process for the module (it imports Pulumi's AWS SDK and analyzes the components once);
the fake monitor switches between preview and update per call.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2

from pulumi.runtime.proto import errors_pb2, provider_pb2, provider_pb2_grpc, status_pb2

from conftest import ROOT, SSM_REVIEWED
from fake_engine import (
    ACCOUNT,
    PROJECT,
    STACK,
    STACK_URN,
    UNKNOWN,
    FakeEngine,
    from_struct,
    holds_secret,
    provider_ref,
    to_struct,
)

PACKAGE = "agent-iam"
AWS = provider_ref("aws-eu")  # an explicit provider (in another region than the program's)
KUBERNETES = provider_ref("k8s-prod", "kubernetes")
VENDOR = "arn:aws:iam::222222222222:role/vendor"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/E4A17C2B9D5F30864B1E7A2C6D9F0B35"


def _read_port(process: subprocess.Popen, timeout: float = 90) -> int:
    """The port the plugin prints on its first stdout line (how the engine finds it)."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        raise AssertionError(f"the provider printed no port in {timeout} s: {process.stderr.read()}")  # type: ignore[union-attr]
    assert line.strip().isdigit(), (line, process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
    return int(line)


def _start(command: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def served(engine: FakeEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The two ways Pulumi's Python language host starts a plugin, both started at once: the folder
    (`python <folder> <engine>`, in the program's directory) and the package's plugin runner."""
    program_dir = tmp_path_factory.mktemp("program")
    folder = _start([sys.executable, str(ROOT / "provider"), engine.address], program_dir)
    runner = _start([sys.executable, "-m", "pulumi.run.plugin", PACKAGE, engine.address], program_dir)
    try:
        channels = {}
        for key, process in (("folder", folder), ("runner", runner)):
            channels[key] = grpc.insecure_channel(f"127.0.0.1:{_read_port(process)}")
        yield {key: provider_pb2_grpc.ResourceProviderStub(channel) for key, channel in channels.items()}
    finally:
        for process in (folder, runner):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def provider(served: dict[str, Any]) -> Any:
    return served["folder"]


def construct(
    stub: Any,
    engine: FakeEngine,
    component: str,
    name: str,
    inputs: dict[str, Any],
    *,
    providers: dict[str, str] | None = None,
    dependencies: dict[str, list[str]] | None = None,
    preview: bool = False,
) -> provider_pb2.ConstructResponse:
    engine.dry_run = preview
    request = provider_pb2.ConstructRequest(
        project=PROJECT,
        stack=STACK,
        organization="acme",
        config={"aws:region": "us-east-1"},
        dryRun=preview,
        parallel=4,
        monitorEndpoint=engine.address,
        type=f"{PACKAGE}:index:{component}",
        name=name,
        parent=STACK_URN,
        inputs=to_struct(inputs),
        inputDependencies={
            key: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns) for key, urns in (dependencies or {}).items()
        },
        providers=providers if providers is not None else {"aws": AWS},
        accepts_output_values=True,
    )
    return stub.Construct(request, timeout=60)


def refusal(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    """The status code, message and per-property reasons of a refused call, as the engine decodes them."""
    details: dict[str, str] = {}
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for packed in status.details:
                assert isinstance(packed, any_pb2.Any)
                errors = errors_pb2.InputPropertiesError()
                packed.Unpack(errors)
                details.update({e.property_path: e.reason for e in errors.errors})
    return error.code(), error.details() or "", details


def test_the_folder_starts_as_the_language_host_starts_it_and_serves_the_schema_make_schema_writes(
    provider: Any, tmp_path: Path
):
    from agent_iam.provider.schema import main

    assert main(["--out", str(tmp_path / "schema.json")]) == 0  # what `make schema` writes to build/schema.json
    served = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    assert served == json.loads((tmp_path / "schema.json").read_text())
    assert served["name"] == PACKAGE and served["license"] == "Apache-2.0"
    assert set(served["resources"]) == {
        f"{PACKAGE}:index:{name}"
        for name in (
            "EcsAgentRoles", "Ec2AgentInstanceProfile", "SaasAccessRole", "IrsaRole", "PodIdentityRole", "ServiceAccountRole",
            "OidcProviderRegistration", "OidcRole",
        )
    }


def test_the_package_plugin_runner_serves_the_same_provider(served: dict[str, Any]):
    """`python -m pulumi.run.plugin agent-iam <engine>` (the host's way for a package with no `__main__.py`)
    serves the same schema, not the `agent-iam` command."""
    request = provider_pb2.GetSchemaRequest(version=0)
    folder, runner = (json.loads(served[key].GetSchema(request, timeout=30).schema) for key in ("folder", "runner"))
    assert runner == folder


def test_configure_accepts_secrets_resources_and_outputs(provider: Any):
    response = provider.Configure(provider_pb2.ConfigureRequest(acceptSecrets=True, acceptResources=True), timeout=30)
    assert (response.acceptSecrets, response.acceptResources, response.acceptOutputs) == (True, True, True)


# One valid call per component: schema (camelCase) inputs, as a TypeScript or YAML program sends them.
COMPONENTS: dict[str, dict[str, Any]] = {
    "EcsAgentRoles": {"secretArns": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:agent-key-AbCdEf"]},
    "Ec2AgentInstanceProfile": {"accountId": ACCOUNT, "ssm": True, "acceptedFindings": [SSM_REVIEWED]},
    "SaasAccessRole": {"principalArn": VENDOR, "externalId": "ext-1234", "s3Read": ["acme-lake/exports"]},
    "ServiceAccountRole": {
        "namespace": "causely", "serviceAccount": "mediator", "cluster": "prod", "accountId": ACCOUNT,
        "oidcProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}", "oidcIssuer": ISSUER,
    },
    "OidcProviderRegistration": {"url": f"https://{ISSUER}", "clientIds": ["sts.amazonaws.com"]},
    "OidcRole": {"provider": "github", "repository": "acme/app", "branches": ["main"], "accountId": ACCOUNT},
}
OUTPUTS = {
    "EcsAgentRoles": {"taskRoleArn", "executionRoleArn", "taskRoleName", "executionRoleName", "agentEnvironment"},
    "Ec2AgentInstanceProfile": {"roleArn", "roleName", "instanceProfileArn", "instanceProfileName"},
    "SaasAccessRole": {"roleArn", "roleName", "externalId", "handoff"},
    "ServiceAccountRole": {"roleArn", "roleName", "mode", "helmValues"},
    "OidcProviderRegistration": {"arn"},
    "OidcRole": {"roleArn", "roleName", "issuer", "audience", "subjects"},
}


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_construct_registers_every_child_through_the_explicit_providers(provider: Any, engine: FakeEngine, component: str):
    name = f"c-{component.lower()}"
    providers = {"aws": AWS, "kubernetes": KUBERNETES}
    before = len(engine.invokes)
    response = construct(provider, engine, component, name, COMPONENTS[component], providers=providers)
    regions = [i.provider for i in engine.invokes[before:] if i.tok == "aws:index/getRegion:getRegion"]
    assert regions == ([] if component == "OidcProviderRegistration" else [AWS])  # every role component asks its provider
    assert response.urn == f"urn:pulumi:{STACK}::{PROJECT}::{PACKAGE}:index:{component}::{name}"
    state = from_struct(response.state)
    assert set(state) == OUTPUTS[component]
    children = engine.under(response.urn)
    assert children and all(child.custom for child in children)
    for child in children:
        expected = KUBERNETES if child.type.startswith("kubernetes:") else AWS
        assert child.provider == expected, (child.type, child.name, child.provider)
        assert child.name.startswith(name)
    assert engine.outputs[response.urn]  # register_outputs reached the monitor


def test_an_account_looked_up_goes_through_the_components_provider(provider: Any, engine: FakeEngine):
    """EcsAgentRoles without `accountId` asks `getCallerIdentity` of its own provider (an invoke on the parent)."""
    before = len(engine.invokes)
    construct(provider, engine, "EcsAgentRoles", "lookup", COMPONENTS["EcsAgentRoles"], providers={"aws": AWS})
    [invoke] = [i for i in engine.invokes[before:] if i.tok == "aws:index/getCallerIdentity:getCallerIdentity"]
    assert invoke.provider == AWS  # the parent's provider for `aws`, sent with the invoke (its `parent` field is not set)
    trust = json.loads(engine.named("lookup-task").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_the_region_and_partition_come_from_the_components_provider_not_the_programs(provider: Any, engine: FakeEngine):
    """The program's config says us-east-1 (ConstructRequest.config); the component's provider is in eu-west-1,
    or in cn-north-1: an invoke of `getRegion` on the parent asks that provider."""
    before = len(engine.invokes)
    construct(provider, engine, "EcsAgentRoles", "irish", COMPONENTS["EcsAgentRoles"], providers={"aws": AWS})
    [invoke] = [i for i in engine.invokes[before:] if i.tok == "aws:index/getRegion:getRegion"]
    assert invoke.provider == AWS
    [task] = json.loads(engine.named("irish-task").inputs["assumeRolePolicy"])["Statement"]
    assert task["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:ecs:eu-west-1:{ACCOUNT}:*"}
    china = provider_ref("aws-cn")
    inputs = {"vendorAccountId": "222222222222", "externalId": "ext-1234", "s3Read": ["acme-lake"]}
    construct(provider, engine, "SaasAccessRole", "china", inputs, providers={"aws": china})
    [trust] = json.loads(engine.named("china-role").inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"AWS": "arn:aws-cn:iam::222222222222:root"}
    policy = engine.named("china-role-vendor-access").inputs["policy"]
    assert "arn:aws-cn:s3:::acme-lake" in policy and "arn:aws:" not in policy


def test_outputs_that_hold_a_secret_are_the_ones_the_schema_marks_secret(provider: Any, engine: FakeEngine):
    served = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema)
    for component, inputs in COMPONENTS.items():
        state = from_struct(construct(provider, engine, component, f"s-{component.lower()}", inputs).state)
        marked = {k for k, v in served["resources"][f"{PACKAGE}:index:{component}"]["properties"].items() if v.get("secret")}
        assert {key for key, value in state.items() if holds_secret(value)} == marked, component


def test_a_preview_with_an_unknown_principal_registers_the_role_with_an_unknown_trust(provider: Any, engine: FakeEngine):
    vendor_role = f"urn:pulumi:{STACK}::{PROJECT}::aws:iam/role:Role::vendor"
    inputs = {"principalArn": UNKNOWN, "externalId": "ext-1234", "s3Read": ["acme-lake/exports"]}
    response = construct(
        provider, engine, "SaasAccessRole", "unknown", inputs, dependencies={"principalArn": [vendor_role]}, preview=True
    )
    role = engine.named("unknown-role")
    assert role.inputs["name"] == "unknown" and role.inputs["tags"] == {"managed-by": "agent-iam"}
    # The documents are built in one apply once every input is known: both unknown in this preview.
    assert role.inputs["assumeRolePolicy"] == UNKNOWN
    assert engine.named("unknown-role-vendor-access").inputs["policy"] == UNKNOWN
    state = from_struct(response.state)
    assert state["roleArn"] == UNKNOWN and state["roleName"] == "unknown"


def test_two_concurrent_constructs_each_build_their_own_component(provider: Any, engine: FakeEngine):
    def call(name: str) -> provider_pb2.ConstructResponse:
        inputs = {"principalArn": f"arn:aws:iam::222222222222:role/{name}", "externalId": f"ext-{name}"}
        return construct(provider, engine, "SaasAccessRole", name, inputs)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(call, ["twin-a", "twin-b"])
    for response, name in ((first, "twin-a"), (second, "twin-b")):
        [role] = [r for r in engine.under(response.urn) if r.type == "aws:iam/role:Role"]
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::222222222222:role/{name}"}
        assert from_struct(response.state)["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"


def test_whole_numbers_sent_as_floats_are_integers(provider: Any, engine: FakeEngine):
    inputs = {**COMPONENTS["SaasAccessRole"], "maxSessionDuration": 7200.0, "iamLimits": {"trustPolicySize": 4096.0}}
    construct(provider, engine, "SaasAccessRole", "floats", inputs)
    assert engine.named("floats-role").inputs["maxSessionDuration"] == 7200


def _refused(provider: Any, engine: FakeEngine, name: str, inputs: dict[str, Any]) -> tuple[Any, str, dict[str, str]]:
    with pytest.raises(grpc.RpcError) as caught:
        construct(provider, engine, "SaasAccessRole", name, inputs)
    assert not [r for r in engine.registrations if r.name.startswith(name)]  # nothing registered, not even the component
    code, message, details = refusal(caught.value)
    assert "Traceback" not in message + "".join(details.values()) and 'File "' not in message
    return code, message, details


def test_a_fraction_for_an_integer_field_is_refused_by_name(provider: Any, engine: FakeEngine):
    inputs = {**COMPONENTS["SaasAccessRole"], "maxSessionDuration": 7200.5, "iamLimits": {"trustPolicySize": 2048.5}}
    code, _, details = _refused(provider, engine, "fraction", inputs)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == {
        "maxSessionDuration": "must be a whole number, got 7200.5",
        "iamLimits.trustPolicySize": "must be a whole number, got 2048.5",
    }


def test_a_wildcard_principal_is_refused_by_its_schema_name_without_a_traceback(provider: Any, engine: FakeEngine):
    code, message, details = _refused(provider, engine, "wildcard", {"principalArn": "*", "externalId": "ext-1234"})
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == "SaasAccessRole 'wildcard': invalid inputs"
    assert list(details) == ["principalArn"]
    assert details["principalArn"].startswith("a wildcard principal lets any AWS principal assume the role")


def test_rules_between_fields_name_the_other_fields_in_schema_spelling(provider: Any, engine: FakeEngine):
    _, _, details = _refused(provider, engine, "bare", {"principalArn": "arn:aws:iam::222222222222:root"})
    assert list(details) == ["principalArn"]
    assert "set externalId or principalArnPatterns, or set allowUnconditionedAccountTrust: true" in details["principalArn"]


def test_an_unknown_input_is_refused_with_the_one_it_resembles(provider: Any, engine: FakeEngine):
    code, _, details = _refused(provider, engine, "typo", {**COMPONENTS["SaasAccessRole"], "s3Reads": ["acme-lake"]})
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details) == ["s3Reads"]
    assert details["s3Reads"].startswith("unknown input; did you mean 's3Read'? (inputs: acceptedFindings, accountId, ")


def test_a_guardrail_refuses_administrator_access_by_the_property_it_comes_from(provider: Any, engine: FakeEngine):
    admin = {**COMPONENTS["SaasAccessRole"], "policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
    code, message, details = _refused(provider, engine, "admin", admin)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and message == "SaasAccessRole 'admin': invalid inputs"
    assert list(details) == ["policyArns[0]"]
    assert details["policyArns[0]"].startswith("guardrail managed-policy-privileges: role 'admin' attaches AWS managed policy")
    assert details["policyArns[0]"].endswith("(after review, accept it in acceptedFindings, or set the rule's level in guardrails)")


def test_a_program_in_any_language_chooses_the_guardrails_level_or_accepts_the_finding(provider: Any, engine: FakeEngine):
    admin = {**COMPONENTS["SaasAccessRole"], "policyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
    before = len(engine.logs)
    construct(provider, engine, "SaasAccessRole", "warned", {**admin, "guardrails": {"enforcement": "advisory"}})
    warnings = [log for log in engine.logs[before:] if "guardrail" in log]
    assert len(warnings) == 3  # what AdministratorAccess grants, and that it is attached
    assert any(w.startswith("agent-iam: SaasAccessRole 'warned': guardrail managed-policy-privileges (advisory): role 'warned'")
               for w in warnings)
    accepted = [{"check": check, "document": "AdministratorAccess", "reason": "break-glass, reviewed"}
                for check in ("sensitive-actions-scoped", "no-wildcard-action", "managed-policy-privileges")]
    construct(provider, engine, "SaasAccessRole", "accepted", {**admin, "acceptedFindings": accepted})
    assert engine.named("accepted-role-AdministratorAccess").inputs["policyArn"] == admin["policyArns"][0]
    code, _, details = _refused(provider, engine, "levels", {**admin, "guardrails": {"enforcement": "lenient"}})
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == {"guardrails.enforcement": "one of mandatory, advisory, disabled, got 'lenient'"}
