"""Shared fixtures: run the real program under Pulumi's mocks with a stack config."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_iam.plan.run import PlanRun, run_program  # noqa: E402

ACCOUNT = "111111111111"
REGION = "eu-west-1"

BASE_CONFIG: dict[str, Any] = {
    "aws:region": REGION,
    "agent-iam:accountId": ACCOUNT,
}


def config_with(**keys: Any) -> dict[str, Any]:
    """The base stack config plus `agent-iam:<key>` values (camelCase keys)."""
    config = copy.deepcopy(BASE_CONFIG)
    for key, value in keys.items():
        config[key if ":" in key else f"agent-iam:{key}"] = value
    return config


def trust_of(run: PlanRun, role_logical_name: str) -> dict[str, Any]:
    return json.loads(run.named("aws:iam/role:Role", role_logical_name).inputs["assumeRolePolicy"])


def inline_policy_of(run: PlanRun, policy_logical_name: str) -> dict[str, Any]:
    return json.loads(run.named("aws:iam/rolePolicy:RolePolicy", policy_logical_name).inputs["policy"])


def provider_name(resource: Any) -> str | None:
    """The name of the explicit provider a resource was registered through (`aws`, `aws-<account>`, `k8s-<cluster>`)."""
    return resource.provider.rsplit("::", 1)[-1] if resource.provider else None


def kubernetes_manifests(run: PlanRun) -> dict[str, dict[str, Any]]:
    """The Kubernetes objects of a plan as `make plan` writes them under `k8s/`."""
    from agent_iam.plan.render import kubernetes_manifest_files

    return kubernetes_manifest_files(run)


def plan_stack_file(stack: str) -> PlanRun:
    """Plan `stacks/Pulumi.<stack>.yaml` as `make plan` does (secure values redacted in place)."""
    from agent_iam.plan.stackfile import read_stack_file

    config, secret_keys = read_stack_file(ROOT / "stacks", stack)
    return run_program(stack, config, secret_keys)


def assert_config_error(values: dict[str, Any], expected: str, stack: str = "prod") -> None:
    """Loading `agent-iam:*` values fails with a line `stacks/Pulumi.<stack>.yaml: <expected>...`."""
    from agent_iam import stack_config

    with pytest.raises(stack_config.ConfigError) as caught:
        stack_config.load_settings({"accountId": ACCOUNT, **values}, stack=stack, region=REGION)
    assert f"stacks/Pulumi.{stack}.yaml: {expected}" in str(caught.value), str(caught.value)


@pytest.fixture
def plan_stack() -> Callable[..., PlanRun]:
    """`plan_stack(config, stack="test", secret_keys=None)` -> the registered resources and outputs."""

    def run(config: dict[str, Any], stack: str = "test", secret_keys: list[str] | None = None) -> PlanRun:
        return run_program(stack, config, secret_keys)

    return run


@pytest.fixture(scope="session")
def iam_services() -> Path:
    """AWS's service data as the IAM validator reads it, built once (cached under build/ by version)."""
    from agent_iam.guardrails.iam_validation import build_services_dir

    return build_services_dir()
