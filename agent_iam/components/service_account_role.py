"""Service account role: `IrsaRole` or `PodIdentityRole` behind one `mode` field, as before they were
split; kept so programs that use it keep working, and keep their state (`agent-iam:eks:ServiceAccountRole`).

`check` refuses a field of the other mode (naming `mode`), then the mode's own plan judges the rest;
the stack config checks `serviceAccounts` entries through it and registers the mode's component.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping
from typing import Any, Optional

import pulumi

from ._contract import ArgsError, Problem, Voice, check_fields, raise_problems
from ._service_account import ServiceAccountComponent, ServiceAccountOutputs
from .base import preset_of
from .irsa_role import IrsaRole, IrsaRoleArgs, IrsaRolePlan
from .pod_identity_role import PodIdentityRole, PodIdentityRoleArgs, PodIdentityRolePlan

COMPONENT = "ServiceAccountRole"
MODES = {"irsa": (IrsaRole, IrsaRoleArgs), "pod-identity": (PodIdentityRole, PodIdentityRoleArgs)}
# Why Pod Identity takes no such field, where `applies to mode: irsa only` would not say it.
POD_IDENTITY_REFUSALS = {
    "subjects": "a Pod Identity association is for one service account; add an entry per service account",
    "role_arn_annotation": "Pod Identity service accounts carry no role annotation (EKS injects credentials through "
    "the association); remove it",
    "service_account_annotations": "Pod Identity needs no service account annotations (the association names the "
    "service account); remove them",
}


class ServiceAccountRoleArgs(IrsaRoleArgs, PodIdentityRoleArgs, total=False):
    """A role for service accounts: its trust (IRSA or Pod Identity), permissions and Kubernetes objects;
    the fields of `IrsaRoleArgs` and `PodIdentityRoleArgs`, each for its mode only."""

    mode: str
    """`irsa` (the role trusts the cluster's OIDC provider) or `pod-identity` (an EKS Pod Identity
    association). Default: `irsa`."""
    account_id: str
    """The 12-digit account the role is created in. Required for `pod-identity`; default for `irsa`: read
    from `oidcProviderArn`."""


class ServiceAccountRoleOutputs(ServiceAccountOutputs):
    """What a ServiceAccountRole hands out (the outputs every role for service accounts has)."""


def mode_of(args: Mapping[str, Any]) -> str:
    return args.get("mode") or "irsa"


def check(name: str, args: Any, voice: Optional[Voice] = None) -> Any:
    """The mode's plan (an `IrsaRolePlan` or a `PodIdentityRolePlan`) of Args with a `mode`: a field of the
    other mode is refused naming `mode`; the plan's Args are these without `mode`."""
    _, defaults = preset_of(COMPONENT, name, args, ServiceAccountRoleArgs, "serviceAccounts")
    raise_problems(COMPONENT, name, check_fields(ServiceAccountRoleArgs, {**defaults, **args} if defaults else args))
    mode = mode_of(args)
    if mode not in MODES:
        raise_problems(COMPONENT, name, [Problem("mode", f"one of {', '.join(MODES)}, got {mode!r}")])
    own = MODES[mode][1].__annotations__
    other = next(m for m in MODES if m != mode)
    refusals = POD_IDENTITY_REFUSALS if mode == "pod-identity" else {}
    problems = [
        Problem(key, refusals.get(key, f"applies to {{mode}}: {other} only"))
        for key in ServiceAccountRoleArgs.__annotations__
        if key not in own and key != "mode" and args.get(key) not in (None, [], {})
    ]
    if mode == "pod-identity" and not args.get("account_id"):
        problems.append(Problem("account_id", "required for Pod Identity (the role's ARN is set on the association)"))
    plan_type = IrsaRolePlan if mode == "irsa" else PodIdentityRolePlan
    refused = {p.field for p in problems}
    try:  # the mode's own problems too, all at once
        plan = plan_type(name, {key: value for key, value in args.items() if key != "mode" and key not in refused}, voice)
    except ArgsError as error:
        raise_problems(COMPONENT, name, problems + error.problems)
    raise_problems(COMPONENT, name, problems)
    return plan


def component_of(plan: Any) -> type[pulumi.ComponentResource]:
    """The component that registers a plan `check` worked out: `IrsaRole` or `PodIdentityRole`."""
    return IrsaRole if isinstance(plan, IrsaRolePlan) else PodIdentityRole


class ServiceAccountRole(ServiceAccountComponent, ServiceAccountRoleOutputs, module="eks"):
    """A role for Kubernetes service accounts (IRSA or Pod Identity, by `mode`) and its Kubernetes objects:
    what `IrsaRole` and `PodIdentityRole` register, under this type. New programs use those two.

    `kubernetes` maps cluster keys to their Kubernetes providers (default: the component's own);
    `cluster_provider` is the AWS provider of the cluster's account (Pod Identity association,
    cross-account source role); the role itself is created through the component's own AWS provider.
    Bad Args raise an `ArgsError` naming the field before anything is registered.
    """

    def __init__(
        self,
        name: str,
        args: ServiceAccountRoleArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        kubernetes: Optional[Mapping[str, pulumi.ProviderResource]] = None,
        cluster_provider: Optional[pulumi.ProviderResource] = None,
    ):
        plan = check(name, args)
        self._registers = component_of(plan)._register
        super().__init__(name, plan.args, opts, plan=plan, kubernetes=kubernetes, cluster_provider=cluster_provider)

    @staticmethod
    def check(name: str, args: Any, *, voice: Optional[Voice] = None) -> Any:
        """Check Args as the constructor does (raising `ArgsError`), registering nothing: the mode's plan."""
        return check(name, args, voice)

    def _register(self, name: str, plan: Any) -> None:
        self._registers(self, name, plan)
