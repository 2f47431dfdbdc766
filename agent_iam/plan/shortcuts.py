"""Shortcuts past work the Pulumi SDK does for nothing under mocks, checked against given SDK versions.

- `create_urn` with plain strings: `do_register` computes a mock URN for every registration
  (`Output.from_input`, two `apply`s and an `Output.all`, each a task on the event loop) that it
  only uses when no monitor exists; under mocks one always does. The shortcut computes the same
  string directly and returns it as one resolved Output. Any other argument (a Resource, an
  Output) takes the SDK's path.
- The mock monitor's answer: `MockMonitor.RegisterResource` turns the mocks' state back into a
  protobuf Struct with `serialize_properties`, a coroutine run on a fresh event loop per call.
  A state of plain JSON values (strings, numbers, booleans, None, lists, str-keyed dicts) is the
  Struct `Struct.update` builds; anything else (a Resource, an Output, an asset) still goes
  through the SDK.

Each is applied only on the SDK versions in CHECKED_SDK_VERSIONS, where tests/test_sdk_shortcuts.py
shows the plan of every stack and benchmark config byte-identical with and without it; on any
other version the SDK's own path runs and that test fails, naming the version to check.
`AGENT_IAM_PLAN_SDK_URN=1` / `AGENT_IAM_PLAN_SDK_STATE=1` keep the SDK's path (to measure or compare).
"""

from __future__ import annotations

import os
from typing import Any

from pulumi._version import _VERSION as SDK_VERSION
from pulumi.output import Output
from pulumi.runtime import rpc, settings
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, _resolve_callbacks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await
from google.protobuf import struct_pb2

# The pulumi (Python SDK) versions the shortcuts were checked against, byte for byte.
CHECKED_SDK_VERSIONS = frozenset({"3.272.0"})
KEEP_SDK_URN = "AGENT_IAM_PLAN_SDK_URN"
KEEP_SDK_STATE = "AGENT_IAM_PLAN_SDK_STATE"
SDK_CREATE_URN = sdk_resource.create_urn


def sdk_checked() -> bool:
    return SDK_VERSION in CHECKED_SDK_VERSIONS


def urn_shortcut_on() -> bool:
    return sdk_checked() and os.environ.get(KEEP_SDK_URN) != "1"


def state_shortcut_on() -> bool:
    return sdk_checked() and os.environ.get(KEEP_SDK_STATE) != "1"


def create_urn(name: Any, type_: Any, parent: Any = None, project: Any = None, stack: Any = None) -> Output:
    """`pulumi.runtime.resource.create_urn`, computed directly when every argument is a plain string."""
    if (
        type(name) is str
        and type(type_) is str
        and (parent is None or type(parent) is str)
        and (project is None or type(project) is str)
        and (stack is None or type(stack) is str)
    ):
        if parent is not None:
            prefix = parent[0 : parent.rfind("::")] + "$"
        else:
            prefix = (
                "urn:pulumi:"
                + (stack if stack is not None else settings.get_stack())
                + "::"
                + (project if project is not None else settings.get_project())
                + "::"
            )
        return Output.from_input(prefix + type_ + "::" + name)
    return SDK_CREATE_URN(name, type_, parent, project, stack)


def _plain(value: Any) -> bool:
    """A JSON value `serialize_property` would return unchanged (so Struct.update builds the same Struct)."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or kind is float or value is None:
        return True
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def state_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """The Struct `rpc.serialize_properties(state, {})` returns, for a plain state (top-level None dropped)."""
    struct = struct_pb2.Struct()
    struct.update({k: v for k, v in state.items() if v is not None})
    return struct


def is_plain_state(state: Any) -> bool:
    return type(state) is dict and all(type(k) is str and _plain(v) for k, v in state.items())


class ShortcutMonitor(MockMonitor):
    """The SDK's mock monitor (3.272.0), answering a plain state without the serializer's event loop."""

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type == "pulumi:pulumi:Stack" or not state_shortcut_on():
            return super().RegisterResource(request)
        # MockMonitor.RegisterResource, step for step, but for the state's serialization.
        urn = self.make_urn(request.parent, request.type, request.name)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        resource_args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=_resolve_callbacks(request.transforms),
        )
        id_, state = self.mocks.new_resource(resource_args)
        if is_plain_state(state):
            obj_proto = state_struct(state)
        else:
            obj_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)
