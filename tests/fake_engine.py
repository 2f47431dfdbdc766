"""A fake Pulumi engine and resource monitor over real gRPC, standing in for the CLI when a test starts
the component provider as the language host does (`python provider <engine address>`).

The monitor answers registrations as the engine would (URNs, IDs, computed outputs unknown in a
preview), answers `aws:index/getCallerIdentity:getCallerIdentity` and, per provider,
`aws:index/getRegion:getRegion`, and records every request.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2, resource_pb2, resource_pb2_grpc

PROJECT, STACK = "consumer", "dev"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
ACCOUNT = "111111111111"
# Each explicit AWS provider's region, by name; the program's own (its aws:region) for any other.
REGIONS = {"aws-eu": "eu-west-1", "aws-cn": "cn-north-1"}
DEFAULT_REGION = "us-east-1"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the wire's unknown value
SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
FEATURES = {"secrets", "resourceReferences", "outputValues", "deletedWith", "aliasSpecs"}
# Outputs a real provider computes (unknown in a preview), by resource type.
COMPUTED = {"arn", "id", "uniqueId", "associationArn", "associationId", "externalId"}


def provider_ref(name: str, package: str = "aws") -> str:
    """An explicit provider's reference as the engine sends it (`<urn>::<id>`)."""
    return f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:{package}::{name}::{name}-id"


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct, preserving_proto_field_name=True)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG[0]) == SECRET_SIG[1]


def holds_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secret(v) for v in value)
    return False


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]


@dataclass
class FakeEngine:
    """The engine and monitor on one gRPC server; `address` serves both."""

    dry_run: bool = False
    registrations: list[Registration] = field(default_factory=list)
    invokes: list[resource_pb2.ResourceInvokeRequest] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    address: str = ""
    _server: Any = None

    def start(self) -> FakeEngine:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        engine_pb2_grpc.add_EngineServicer_to_server(_Engine(self), self._server)
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_Monitor(self), self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.address = f"127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def named(self, name: str) -> Registration:
        [found] = [r for r in self.registrations if r.name == name]
        return found

    def under(self, urn: str) -> list[Registration]:
        """Every resource registered below `urn` (children, their children, ...)."""
        below: list[Registration] = []
        parents = {urn}
        for registration in self.registrations:
            if registration.parent in parents:
                below.append(registration)
                parents.add(registration.urn)
        return below


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self, fake: FakeEngine):
        self.fake = fake

    def Log(self, request, context):  # noqa: N802 (gRPC method names)
        with self.fake.lock:
            self.fake.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request, context):  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=STACK_URN)

    def SetRootResource(self, request, context):  # noqa: N802
        return engine_pb2.SetRootResourceResponse()


class _Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, fake: FakeEngine):
        self.fake = fake

    def GetDeploymentInfo(self, request, context):  # noqa: N802
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "an older monitor: the SDK asks SupportsFeature instead")

    def SupportsFeature(self, request, context):  # noqa: N802
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in FEATURES)

    def RegisterResource(self, request, context):  # noqa: N802
        parent_type = request.parent.split("::")[-2] if request.parent and request.parent != STACK_URN else ""
        qualified = f"{parent_type}${request.type}" if parent_type and parent_type != "pulumi:pulumi:Stack" else request.type
        urn = f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{request.name}"
        inputs = from_struct(request.object)
        with self.fake.lock:
            self.fake.registrations.append(
                Registration(request.type, request.name, urn, request.parent, request.custom, request.provider, inputs)
            )
        if not request.custom:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        state = dict(inputs)
        for key in COMPUTED - set(state):
            state[key] = UNKNOWN if self.fake.dry_run else _computed(key, request.type, inputs, request.name)
        if "name" not in inputs and not self.fake.dry_run:
            state["name"] = request.name
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id="" if self.fake.dry_run else f"{request.name}-id", object=to_struct(state)
        )

    def RegisterResourceOutputs(self, request, context):  # noqa: N802
        with self.fake.lock:
            self.fake.outputs[request.urn] = from_struct(request.outputs)
        return empty_pb2.Empty()

    def Invoke(self, request, context):  # noqa: N802
        with self.fake.lock:
            self.fake.invokes.append(request)
        if request.tok == "pulumi:pulumi:getResource":  # the SDK reading back a resource it was handed by reference
            urn = from_struct(request.args)["urn"]
            result = {"urn": urn, "id": f"{urn.rsplit('::', 1)[-1]}-id", "state": {}}
            return provider_pb2.InvokeResponse(**{"return": to_struct(result)})
        if request.tok == "aws:index/getCallerIdentity:getCallerIdentity":
            result = {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDA", "id": ACCOUNT}
            return provider_pb2.InvokeResponse(**{"return": to_struct(result)})
        if request.tok == "aws:index/getRegion:getRegion":  # the region of the provider asked (the program's default)
            region = REGIONS.get(request.provider.rsplit("::", 1)[-1].removesuffix("-id"), DEFAULT_REGION)
            result = {"region": region, "name": region, "id": region, "description": region}
            return provider_pb2.InvokeResponse(**{"return": to_struct(result)})
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"fake monitor: no invoke {request.tok}")


def _computed(key: str, typ: str, inputs: dict[str, Any], name: str) -> str:
    resource_name = inputs.get("name") or name
    if key == "arn" and typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        return f"arn:aws:iam::{ACCOUNT}:oidc-provider/{inputs.get('url', '').removeprefix('https://')}"
    if key == "arn" and typ.startswith("aws:iam/"):
        kind = {"role": "role", "instanceProfile": "instance-profile", "policy": "policy"}.get(typ.split("/")[1].split(":")[0], "x")
        return f"arn:aws:iam::{ACCOUNT}:{kind}/{resource_name}"
    return f"{name}-{key}"
