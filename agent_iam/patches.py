"""Every patch of another library's private internals, in one module, each gated on the version of
that library it was checked against: on any other version it is not applied, and the library's own
code runs (a plan is slower, never different).

pulumi (the Python SDK), checked against PULUMI_VERSIONS; each has a variable that keeps the SDK's
own path (to measure, or to compare), and tests/test_sdk_shortcuts.py shows every plan byte-identical
with and without each one:

- Stack traces (`runtime.resource._get_stack_trace`): the SDK captures a Python stack trace for
  every registration (`traceback.extract_stack`); the engine only uses it for source positions in
  the CLI's error messages, which an offline plan never shows. `AGENT_IAM_PLAN_STACK_TRACES=1`.
- `create_urn` with plain strings: `do_register` computes a mock URN for every registration
  (`Output.from_input`, two `apply`s and an `Output.all`, each a task on the event loop) that it
  only uses when no monitor exists; under mocks one always does. The shortcut computes the same
  string directly and returns it as one resolved Output. Any other argument (a Resource, an
  Output) takes the SDK's path. `AGENT_IAM_PLAN_SDK_URN=1`.
- The mock monitor's answer: `MockMonitor.RegisterResource` turns the mocks' state back into a
  protobuf Struct with `serialize_properties`, a coroutine run on a fresh event loop per call.
  A state of plain JSON values (strings, numbers, booleans, None, lists, str-keyed dicts) is the
  Struct `Struct.update` builds; anything else (a Resource, an Output, an asset) still goes
  through the SDK. `AGENT_IAM_PLAN_SDK_STATE=1`.
- Components without inputs: the monitor answers a local component's registration as the generic
  mock path would (URN, no ID, empty state) without its round trip (deserialize, mocks, serialize
  on the thread's own event loop), a quarter of a large plan's registrations.
  `AGENT_IAM_PLAN_SDK_COMPONENTS=1`.
- The executor hop: the SDK sends every monitor call (RegisterResource, Invoke,
  RegisterResourceOutputs...) to a thread pool with `loop.run_in_executor(None, call)`, so that a
  gRPC call to the engine does not block the event loop. The mock monitor answers in-process and
  at once, so the hop only adds a thread switch, the GIL passed back and forth, and a wake-up write
  to the loop's self-pipe per call. `inline_rpc` answers `run_in_executor(None, ...)` on the plan's
  loop by calling the function at once and returning a finished future: the same result or
  exception, the same order of the awaiting coroutines' wake-ups (a done future's callbacks run on
  the next pass of the loop, as a thread's result does), and no thread. A call given its own
  executor still goes to it. The mock monitor's own `_sync_await` (a state, result or resource
  that is not plain JSON) must then not pump the plan's running loop from inside the call: it
  runs, as it did in the SDK's worker thread, on a thread with a loop of its own
  (`sync_await_off_loop`), while the plan's loop waits for it. `AGENT_IAM_PLAN_SDK_EXECUTOR=1`.
- Debug logging: the SDK logs several debug lines per registration through `pulumi.log.debug`,
  each a LogRequest for the engine. The mock engine hands them to the program's logger, which
  drops them unless DEBUG is enabled on it (the plan's logger keeps warnings); `debug` drops them
  before the request is built when the mock engine's logger would. `AGENT_IAM_PLAN_SDK_DEBUG_LOG=1`.

iam-policy-validator, checked against VALIDATOR_VERSIONS:

- The sensitive_action check lists the actions it matched (`check_sensitive_actions`, and the
  policy-level check of actions combined across statements, `check_policy_level_actions`) in the
  order of a set, which follows Python's string hash seed and so changes from process to process:
  two plans of the same stack would word its findings differently. `validator_sorted_matches`
  makes both answer in sorted order.
- Its service client (`AWSServiceClient.__aenter__`) opens an `httpx.AsyncClient` for every
  validation, and httpx builds a TLS context for each (the CA bundle read and parsed again), though
  an offline plan (a services folder) never sends a request. `validator_shared_tls` hands every
  client of the process the one context httpx builds for its defaults, made once.

`tests/test_patches.py` shows each patch left out on a version it was not checked against, and the
plan still made.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from pulumi._version import _VERSION as PULUMI_VERSION
from pulumi import log as pulumi_log
from pulumi.output import Output
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, _resolve_callbacks
from pulumi.runtime.proto import provider_pb2, resource_pb2, source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await
from google.protobuf import struct_pb2

PULUMI, VALIDATOR = "pulumi", "iam-policy-validator"
# The versions each library's patches were checked against, byte for byte.
PULUMI_VERSIONS = frozenset({"3.272.0"})
VALIDATOR_VERSIONS = frozenset({"1.31.4"})
CHECKED_VERSIONS = {PULUMI: PULUMI_VERSIONS, VALIDATOR: VALIDATOR_VERSIONS}

KEEP_STACK_TRACES = "AGENT_IAM_PLAN_STACK_TRACES"
KEEP_SDK_URN = "AGENT_IAM_PLAN_SDK_URN"
KEEP_SDK_STATE = "AGENT_IAM_PLAN_SDK_STATE"
KEEP_SDK_COMPONENTS = "AGENT_IAM_PLAN_SDK_COMPONENTS"
KEEP_SDK_EXECUTOR = "AGENT_IAM_PLAN_SDK_EXECUTOR"
KEEP_SDK_DEBUG_LOG = "AGENT_IAM_PLAN_SDK_DEBUG_LOG"
SDK_LOG_DEBUG = pulumi_log.debug
SDK_CREATE_URN = sdk_resource.create_urn
STACK_TYPE = "pulumi:pulumi:Stack"


def installed_version(library: str) -> str:
    """The version of `library` this process runs, as the library itself states it."""
    if library == PULUMI:
        return PULUMI_VERSION
    if library == VALIDATOR:
        import iam_validator

        return str(iam_validator.__version__)
    raise ValueError(f"no patches of {library!r}")


def checked(library: str) -> bool:
    """Whether the installed `library` is a version its patches were checked against."""
    return installed_version(library) in CHECKED_VERSIONS[library]


def _on(keep: str) -> bool:
    return checked(PULUMI) and os.environ.get(keep) != "1"


def stack_trace_shortcut_on() -> bool:
    return _on(KEEP_STACK_TRACES)


def urn_shortcut_on() -> bool:
    return _on(KEEP_SDK_URN)


def state_shortcut_on() -> bool:
    return _on(KEEP_SDK_STATE)


def component_shortcut_on() -> bool:
    return _on(KEEP_SDK_COMPONENTS)


def executor_shortcut_on() -> bool:
    return _on(KEEP_SDK_EXECUTOR)


def debug_log_shortcut_on() -> bool:
    return _on(KEEP_SDK_DEBUG_LOG)


def _no_stack_trace() -> Any:
    return source_pb2.StackTrace()


@contextmanager
def sdk_shortcuts() -> Iterator[None]:
    """While open, the SDK shortcuts that are on (see the module's docstring); undone on exit (nesting is fine)."""
    saved_trace, saved_create_urn, saved_debug = sdk_resource._get_stack_trace, sdk_resource.create_urn, pulumi_log.debug
    if stack_trace_shortcut_on():
        sdk_resource._get_stack_trace = _no_stack_trace
    if urn_shortcut_on():
        sdk_resource.create_urn = create_urn
    if debug_log_shortcut_on():
        pulumi_log.debug = debug
    try:
        with inline_rpc(_ensure_event_loop()):
            yield
    finally:
        sdk_resource._get_stack_trace = saved_trace
        sdk_resource.create_urn = saved_create_urn
        pulumi_log.debug = saved_debug


@contextmanager
def inline_rpc(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """While open, `loop.run_in_executor(None, fn, *args)` runs `fn` at once (see the module's docstring)."""
    if not executor_shortcut_on():
        yield
        return
    sdk_run_in_executor = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future:
        if executor is not None:
            return sdk_run_in_executor(executor, func, *args)
        future = loop.create_future()
        try:
            result = func(*args)
        except BaseException as exc:  # as concurrent.futures' worker does: the awaiting coroutine gets it
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    had_own = "run_in_executor" in vars(loop)
    loop.run_in_executor = run_in_executor  # type: ignore[method-assign]
    saved_sync_await, sdk_mocks._sync_await = sdk_mocks._sync_await, sync_await_off_loop
    try:
        yield
    finally:
        sdk_mocks._sync_await = saved_sync_await
        if had_own:
            loop.run_in_executor = sdk_run_in_executor  # type: ignore[method-assign]
        else:  # pop, not del: contexts left open until interpreter exit are closed in any order
            vars(loop).pop("run_in_executor", None)


_off_loop_worker: ThreadPoolExecutor | None = None


def sync_await_off_loop(awaitable: Any) -> Any:
    """`_sync_await`, but on a worker thread with its own loop when this thread's loop is running.

    Inside an inline monitor call the plan's loop is running further up this thread's stack, and
    pumping it from here could wait on a coroutine that is itself waiting for this call."""
    global _off_loop_worker
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _sync_await(awaitable)
    if _off_loop_worker is None:  # started on first use only: a plan of plain states never needs it
        _off_loop_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agent-iam-mock")
    return _off_loop_worker.submit(_sync_await, awaitable).result()


def _forget_worker_after_fork() -> None:
    global _off_loop_worker
    _off_loop_worker = None  # a forked shard has none of its parent's threads


os.register_at_fork(after_in_child=_forget_worker_after_fork)


def debug(msg: str, resource: Any = None, stream_id: Any = None, ephemeral: Any = None) -> None:
    """`pulumi.log.debug`, dropping what the mock engine's logger would drop anyway."""
    engine = settings.get_engine()
    if type(engine) is MockEngine and not engine.logger.isEnabledFor(logging.DEBUG):
        return
    SDK_LOG_DEBUG(msg, resource, stream_id, ephemeral)


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
    """The SDK's mock monitor (3.272.0), answering a plain state without the serializer's event loop,
    and a component without inputs without the round trip."""

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if (
            not (request.custom or request.remote or request.type == STACK_TYPE or request.object.fields)
            and component_shortcut_on()
        ):
            return self._register_component(request)
        if request.type == STACK_TYPE or not state_shortcut_on():
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
            obj_proto = sync_await_off_loop(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

    def _register_component(self, request) -> resource_pb2.RegisterResourceResponse:
        """A local component without inputs has no state: the generic mock path's answer (URN, no ID,
        empty state), without its round trip."""
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, None, {})  # type: ignore[arg-type]
        return resource_pb2.RegisterResourceResponse(urn=urn)

    def Invoke(self, request):  # noqa: N802 (gRPC method name)
        """MockMonitor.Invoke (3.272.0), step for step, answering a plain result as `Struct.update`
        builds it (the state shortcut's `state_struct`), with no coroutine and no loop; anything else
        is serialized by the SDK, off the plan's loop (`sync_await_off_loop`)."""
        if request.tok == "pulumi:pulumi:getResource" or not state_shortcut_on():
            return super().Invoke(request)
        _ensure_event_loop()
        args = rpc.deserialize_properties(request.args)
        tup = self.mocks.call(MockCallArgs(token=request.tok, args=args, provider=request.provider))
        if isinstance(tup, dict):
            ret, failures = tup, None
        else:
            ret = tup[0]
            failures = [provider_pb2.CheckFailure(property=failure[0], reason=failure[1]) for failure in tup[1]]
        if is_plain_state(ret):
            ret_proto = state_struct(ret)
        else:
            ret_proto = sync_await_off_loop(rpc.serialize_properties(ret, {}))
        return resource_pb2.ResourceInvokeResponse(failures=failures, **{"return": ret_proto})


# --- iam-policy-validator ---------------------------------------------------------------------


def validator_sorted_matches() -> None:
    """Make the validator's sensitive_action check name the actions it matched in sorted order (see
    the module's docstring), once per process, on the versions it was checked against."""
    if not checked(VALIDATOR):
        return
    from iam_validator.checks import sensitive_action

    matcher = sensitive_action.check_sensitive_actions
    if getattr(matcher, "sorted_by_agent_iam", False):
        return

    def sorted_matches(*args: Any, **kwargs: Any) -> tuple[bool, list[str]]:
        is_sensitive, matched = matcher(*args, **kwargs)
        return is_sensitive, sorted(matched)

    policy_level = sensitive_action.check_policy_level_actions

    def sorted_policy_level(all_actions: Any, statement_map: Any, required: Any, config: Any, *args: Any, **kwargs: Any) -> Any:
        return policy_level(all_actions, statement_map, required, _SortedFilter(config), *args, **kwargs)

    sorted_matches.sorted_by_agent_iam = True  # type: ignore[attr-defined]
    sensitive_action.check_sensitive_actions = sorted_matches
    sensitive_action.check_policy_level_actions = sorted_policy_level


class _SortedFilter:
    """A check's config whose `filter_actions` answers in sorted order instead of a set's: the
    policy-level check (actions combined across statements) lists its actions in that order."""

    def __init__(self, config: Any) -> None:
        self._config = config

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)

    def filter_actions(self, actions: Any) -> list[str]:
        return sorted(self._config.filter_actions(actions))


def validator_shared_tls() -> None:
    """Give the validator's service clients one TLS context per process (see the module's docstring),
    on the versions it was checked against; every other part of httpx is the library's own."""
    if not checked(VALIDATOR):
        return
    from iam_validator.core.aws_service import client

    if isinstance(client.httpx, _SharedTls):
        return
    client.httpx = _SharedTls(client.httpx)


class _SharedTls:
    """httpx as the validator's client module sees it: an `AsyncClient` without its own `verify` gets
    the context httpx would build for `verify=True` (`create_ssl_context()`), built on first use."""

    def __init__(self, httpx: Any) -> None:
        self._httpx = httpx
        self._context: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._httpx, name)

    def AsyncClient(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (httpx's name)
        if "verify" not in kwargs:
            if self._context is None:
                self._context = self._httpx.create_ssl_context()
            kwargs["verify"] = self._context
        return self._httpx.AsyncClient(*args, **kwargs)
