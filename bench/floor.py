"""The floor: a plain pulumi-aws program that registers exactly the plan's AWS resources.

No components, no config validation, no recording: it reads a replay file (every custom
resource of a plan, providers included, with its inputs) and instantiates the matching
pulumi-aws / pulumi-kubernetes classes under the same `PlanMocks`, with the SDK's own
`set_mocks` monitor. Inputs that the plan took from another resource's output (a role's
name, a policy's ARN) are passed as that resource's output here too, so the dependency
graph is the one a hand-written program would have.

    python -m bench.floor build/bench/replay/bench100.json
    python -m bench.floor --components build/bench/replay/bench100.json

`--components` puts each resource under a bare component standing for the plan's
component it belonged to: what a program with this component layout costs at least.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi._types import input_type_py_to_pulumi_names

from agent_iam.patches import ShortcutMonitor
from agent_iam.plan.mocks import AccountInfo, PlanMocks, Registration
from agent_iam.plan.runtime import exit_process, plan_runtime

# type token -> (resource class, its Args class for exact camelCase -> snake_case names)
RESOURCE_CLASSES: dict[str, tuple[Callable[..., pulumi.CustomResource], type]] = {
    "pulumi:providers:aws": (aws.Provider, aws.ProviderArgs),
    "aws:iam/role:Role": (aws.iam.Role, aws.iam.RoleArgs),
    "aws:iam/rolePolicy:RolePolicy": (aws.iam.RolePolicy, aws.iam.RolePolicyArgs),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (
        aws.iam.RolePolicyAttachment,
        aws.iam.RolePolicyAttachmentArgs,
    ),
    "aws:iam/policy:Policy": (aws.iam.Policy, aws.iam.PolicyArgs),
    "aws:iam/instanceProfile:InstanceProfile": (aws.iam.InstanceProfile, aws.iam.InstanceProfileArgs),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (
        aws.iam.OpenIdConnectProvider,
        aws.iam.OpenIdConnectProviderArgs,
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        aws.eks.PodIdentityAssociation,
        aws.eks.PodIdentityAssociationArgs,
    ),
}


# Nested input objects: (type token, input key) -> the Args class the SDK translates.
NESTED_CLASSES: dict[tuple[str, str], type] = {
    ("pulumi:providers:aws", "assumeRoles"): aws.ProviderAssumeRoleArgs,
}


def _kubernetes_classes() -> None:
    """pulumi-kubernetes is imported only when a replay has Kubernetes resources (it is slow to import)."""
    import pulumi_kubernetes as k8s

    RESOURCE_CLASSES.update(
        {
            "pulumi:providers:kubernetes": (k8s.Provider, k8s.ProviderArgs),
            "kubernetes:core/v1:ServiceAccount": (k8s.core.v1.ServiceAccount, k8s.core.v1.ServiceAccountArgs),
            "kubernetes:core/v1:Namespace": (k8s.core.v1.Namespace, k8s.core.v1.NamespaceArgs),
            "kubernetes:core/v1:Secret": (k8s.core.v1.Secret, k8s.core.v1.SecretArgs),
        }
    )
    NESTED_CLASSES.update(
        {
            ("kubernetes:core/v1:ServiceAccount", "metadata"): k8s.meta.v1.ObjectMetaArgs,
            ("kubernetes:core/v1:Namespace", "metadata"): k8s.meta.v1.ObjectMetaArgs,
            ("kubernetes:core/v1:Secret", "metadata"): k8s.meta.v1.ObjectMetaArgs,
        }
    )


# Inputs that reference another resource's output: (input key, referent type, referent output key).
REFERENCES = (
    ("role", "aws:iam/role:Role", "name"),
    ("policyArn", "aws:iam/policy:Policy", "arn"),
    ("roleArn", "aws:iam/role:Role", "arn"),
)


def replay_of(resources: list[Registration]) -> list[dict[str, Any]]:
    """The plan's custom resources as a replay: referents first, references by index."""
    custom = [r for r in resources if r.custom]
    referents: dict[tuple[str | None, str, str, Any], int] = {}
    for index, r in enumerate(custom):
        for _, typ, key in REFERENCES:
            if r.type == typ and key in r.outputs:
                referents[(r.provider, typ, key, r.outputs[key])] = index
    components = {r.urn: r for r in resources if not r.custom and r.type != "pulumi:pulumi:Stack"}
    rows = []
    for r in custom:
        refs = {}
        for key, typ, out_key in REFERENCES:
            target = referents.get((r.provider, typ, out_key, r.inputs.get(key)))
            if key in r.inputs and target is not None:
                refs[key] = [typ, custom[target].name, out_key]
        rows.append(
            {
                "type": r.type,
                "name": r.name,
                "provider": r.provider.rsplit("::", 1)[-1] if r.provider else None,
                "protect": r.protect,
                "inputs": r.inputs,
                "secretInputs": r.secret_inputs,
                "refs": refs,
                # only used by the `--components` variant: the component this resource belongs to
                "component": [components[r.parent].type, components[r.parent].name] if r.parent in components else None,
            }
        )
    def rank(row: dict[str, Any]) -> int:  # providers, then referents, then what refers to them
        return 0 if row["type"].startswith("pulumi:providers:") else 2 if row["refs"] else 1

    return sorted(rows, key=rank)


def write_replay(path: Path, resources: list[Registration], account: AccountInfo) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"account": [account.account_id, account.region], "resources": replay_of(resources)}
    path.write_text(json.dumps(data))


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@functools.cache
def _python_names(args_cls: type) -> dict[str, str]:
    """Pulumi (camelCase) input name -> Python argument name, once per class (the floor's own cost stays nil)."""
    return {pulumi_name: py for py, pulumi_name in input_type_py_to_pulumi_names(args_cls).items()}


def _nested(value: Any, cls: type) -> Any:
    """A nested input object (or a list of them) as an instance of its Args class."""
    if isinstance(value, list):
        return [_nested(v, cls) for v in value]
    names = _python_names(cls)
    return cls(**{names.get(k, _snake(k)): v for k, v in value.items()})


def _provider_value(value: Any) -> Any:
    """Provider inputs arrive JSON-encoded when not strings (lists, objects, booleans)."""
    if isinstance(value, str) and (value[:1] in ("[", "{") or value in ("true", "false")):
        try:
            return json.loads(value)
        except ValueError:  # a plain string that starts like JSON, e.g. a redacted kubeconfig "[secret]"
            return value
    return value


def resource_args(row: Mapping[str, Any], created: Mapping[tuple[str, str], pulumi.CustomResource]) -> dict[str, Any]:
    """The row's inputs as keyword arguments of its class; references become the referent's output."""
    cls, args_cls = RESOURCE_CLASSES[row["type"]]
    names = _python_names(args_cls)
    provider = row["type"].startswith("pulumi:providers:")
    kwargs: dict[str, Any] = {}
    for key, value in row["inputs"].items():
        if key in row["refs"]:
            typ, target, out_key = row["refs"][key]
            value = getattr(created[(typ, target)], _snake(out_key))
        elif provider:
            value = _provider_value(value)
        nested = NESTED_CLASSES.get((row["type"], key))
        if nested is not None and not isinstance(value, pulumi.Output):
            value = _nested(value, nested)
        if key in row["secretInputs"]:
            value = pulumi.Output.secret(value)
        kwargs[names.get(key, _snake(key))] = value
    return kwargs


def register(rows: list[Mapping[str, Any]], components: bool = False) -> dict[tuple[str, str], pulumi.CustomResource]:
    """Instantiate every resource of the replay; returns them by (type, logical name).

    With `components`, each resource is created under a bare `ComponentResource` standing for
    the plan's component it belonged to (registered, outputs registered empty): the floor of a
    program built from components, which the plan's component design cannot go below.
    """
    if any(row["type"].startswith(("kubernetes:", "pulumi:providers:kubernetes")) for row in rows):
        _kubernetes_classes()
    created: dict[tuple[str, str], pulumi.CustomResource] = {}
    providers: dict[str, pulumi.ProviderResource] = {}
    parents: dict[tuple[str, str], pulumi.ComponentResource] = {}
    for row in rows:
        cls, _ = RESOURCE_CLASSES[row["type"]]
        parent = None
        if components and row.get("component"):
            key = tuple(row["component"])
            if key not in parents:
                provider = [providers[row["provider"]]] if row["provider"] else None
                opts = pulumi.ResourceOptions(providers=provider)
                parents[key] = pulumi.ComponentResource(key[0], key[1], None, opts)
            parent = parents[key]
        opts = pulumi.ResourceOptions(
            parent=parent,
            provider=providers[row["provider"]] if row["provider"] else None,
            protect=row["protect"] or None,
        )
        resource = cls(row["name"], opts=opts, **resource_args(row, created))
        if isinstance(resource, pulumi.ProviderResource):
            providers[row["name"]] = resource
        else:
            created[(row["type"], row["name"])] = resource
    for component in parents.values():
        component.register_outputs({})
    return created


def run_floor(replay: Mapping[str, Any], stack: str, monitor: Any = None, components: bool = False) -> None:
    """Register the replay under `PlanMocks` and wait for every registration, as the plan does.

    Under the plan's process settings and SDK shortcuts (`plan_runtime`, `ShortcutMonitor`, with the
    same toggles), so plan/floor
    compares what agent-iam's own code costs.
    """
    from pulumi.runtime.settings import set_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    account_id, region = replay["account"]
    mocks = PlanMocks(default=AccountInfo(account_id, region))
    # The SDK's MockMonitor with the plan's state shortcut (no recording: that is the plan's cost);
    # tests pass a recording monitor instead.
    monitor = (monitor or ShortcutMonitor)(mocks)
    set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project="agent-iam", stack=stack, preview=False, monitor=monitor)
    with plan_runtime():
        _sync_await(run_pulumi_func(lambda: register(replay["resources"], components)))


def record(stacks_dir: Path, stack: str, out: Path) -> None:
    """Plan `stack` in this process and write its replay file (untimed: the benchmark's warm-up)."""
    from agent_iam.plan.run import run_program
    from agent_iam.plan.stackfile import read_stack_file

    config, secret_keys = read_stack_file(stacks_dir, stack)
    run = run_program(stack, config, secret_keys)
    account = AccountInfo(str(config["agent-iam:accountId"]), str(config["aws:region"]))
    write_replay(out, run.resources, account)


def main(argv: list[str]) -> int:
    """`python -m bench.floor [--components] REPLAY.json` runs the floor;
    `... record STACKS_DIR STACK OUT.json` writes a replay."""
    if argv[:1] == ["record"]:
        record(Path(argv[1]), argv[2], Path(argv[3]))
        return 0
    components = "--components" in argv
    path = Path([a for a in argv if a != "--components"][0])
    run_floor(json.loads(path.read_text()), stack=path.stem, components=components)
    return 0


if __name__ == "__main__":
    exit_process(main(sys.argv[1:]))  # the plan's exit too, so plan/floor stays like for like
