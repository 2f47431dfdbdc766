"""Every unit registers the fewest resources that produce its documents, and registers them cheaply."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from collections import Counter

import pulumi
import pytest

from agent_iam import components
from bench.generate import stack_config
from agent_iam.plan.run import run_program

ROLE = "aws:iam/role:Role"
INLINE = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


# Planned when the test runs (the repository's stacks through the session's `planned`), not while
# every worker collects the module.
@pytest.mark.parametrize("name", ["bench2", "dev", "staging", "prod"])
def test_one_inline_policy_per_role_and_no_duplicate_attachments(name, planned):
    run = run_program("bench2", stack_config(2)) if name == "bench2" else planned(name)
    roles = {r.inputs["name"] for r in run.of_type(ROLE)}
    inline = Counter(r.inputs["role"] for r in run.of_type(INLINE))
    assert set(inline) <= roles and max(inline.values(), default=1) == 1, inline
    for policy in run.of_type(INLINE):
        assert json.loads(policy.inputs["policy"])["Statement"], f"{policy.name}: an empty inline policy"
    attachments = Counter((r.inputs["role"], r.inputs["policyArn"]) for r in run.of_type(ATTACHMENT))
    assert max(attachments.values(), default=1) == 1, attachments


def test_bench_units_register_exactly_their_resources():
    """An ECS agent: 2 roles, the execution role's secrets policy and its managed policy; a SaaS role:
    role + policy; an IRSA service account: role + policy + the annotated ServiceAccount."""
    run = run_program("bench2", stack_config(2))
    by_parent = Counter((r.parent.rsplit("::", 1)[-1], r.type) for r in run.resources if r.parent and r.custom)
    assert by_parent[("agent-00000", ROLE)] == 2 and by_parent[("agent-00000", INLINE)] == 1
    assert by_parent[("agent-00000", ATTACHMENT)] == 1
    assert by_parent[("vendor-00000", ROLE)] == 1 and by_parent[("vendor-00000", INLINE)] == 1
    assert by_parent[("sa-00000", ROLE)] == 1 and by_parent[("sa-00000", INLINE)] == 1
    assert by_parent[("sa-00000", "kubernetes:core/v1:ServiceAccount")] == 1
    assert sum(1 for r in run.resources if r.custom) == 2 * 9 + 2  # and the AWS and Kubernetes providers


def component_classes():
    for module in pkgutil.iter_modules(components.__path__):
        loaded = importlib.import_module(f"agent_iam.components.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == loaded.__name__:
                yield cls


@pytest.mark.parametrize("cls", list(component_classes()), ids=lambda c: c.__name__)
def test_components_declare_no_class_annotations(cls):
    """The SDK resolves a component class's own annotations with get_type_hints on every registration
    (a third of a component's registration cost); the outputs the schema analyzer needs are annotated
    on a `<Name>Outputs` mixin instead, which the analyzer reads through the MRO and the SDK never does."""
    from agent_iam.provider import components as hosted

    assert not inspect.get_annotations(cls), inspect.get_annotations(cls)
    if cls not in hosted():
        return  # a base of components (RoleComponent): no outputs of its own
    mixins = [c for c in cls.__mro__ if c.__name__ == f"{cls.__name__}Outputs"]
    annotated = [c for c in mixins[0].__mro__ if inspect.get_annotations(c)] if mixins else []
    assert annotated, f"{cls.__name__} declares its outputs on no mixin"
