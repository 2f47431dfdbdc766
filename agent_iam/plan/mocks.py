"""Pulumi mocks that answer like AWS would, per account, with no cloud and no CLI.

Each explicit provider's account comes from its `allowedAccountIds`, its region from `region`; every
resource created through it gets that account in its ARN, so the plan shows where things land, and
`aws.get_caller_identity` and `aws.get_region` asked of it answer its account and region.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

from agent_iam.iam import issuers, resource_types
from agent_iam.patches import ShortcutMonitor
from agent_iam.iam.partitions import partition_for_region



@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    region: str

    @property
    def partition(self) -> str:
        return partition_for_region(self.region)


def _maybe_json(value: Any) -> Any:
    """Provider inputs of non-string type arrive JSON-encoded."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def unwrap_secrets(inputs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Inputs with secret markers removed, and the names of the inputs that were secret.

    The plan only ever holds redacted secure values (`[secret]` in place), so the
    readable value is what a reviewer should see; the names say which were secret.
    """
    plain: dict[str, Any] = {}
    secret: list[str] = []
    for key, value in inputs.items():
        if isinstance(value, dict) and value.get(_special_sig_key) == _special_secret_sig:
            plain[key] = value.get("value")
            secret.append(key)
        else:
            plain[key] = value
    return plain, secret


@dataclass
class PlanMocks(Mocks):
    """Mock engine answers: realistic ARNs and IDs, deterministic across runs."""

    default: AccountInfo
    providers: dict[str, AccountInfo] = field(default_factory=dict)
    # inputs by (type, name): RegisterResource runs on several threads at once
    inputs_by_resource: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def account_for(self, provider_ref: str | None) -> AccountInfo:
        if provider_ref:
            provider_id = provider_ref.rsplit("::", 1)[-1]
            if provider_id in self.providers:
                return self.providers[provider_id]
        return self.default

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        self.inputs_by_resource[(args.typ, args.name)] = inputs
        if args.typ.startswith("pulumi:providers:"):
            provider_id = f"{args.name}-id"
            allowed = _maybe_json(inputs.get("allowedAccountIds")) or [self.default.account_id]
            region = inputs.get("region") or self.default.region
            self.providers[provider_id] = AccountInfo(str(allowed[0]), region)
            return provider_id, inputs
        if not args.custom:
            return None, inputs
        account = self.account_for(args.provider)
        resource_id, outputs = self._outputs(args.typ, args.name, inputs, account)
        return resource_id, {**inputs, **outputs}

    def _outputs(self, typ: str, name: str, inputs: dict, account: AccountInfo) -> tuple[str, dict]:
        iam = f"arn:{account.partition}:iam::{account.account_id}"
        physical = inputs.get("name") or name
        path = inputs.get("path") or "/"
        if typ == resource_types.ROLE:
            return physical, {"arn": f"{iam}:role{path}{physical}", "name": physical, "uniqueId": _unique("AROA", name)}
        if typ == resource_types.POLICY:
            arn = f"{iam}:policy{path}{physical}"
            return arn, {"arn": arn, "name": physical, "policyId": _unique("ANPA", name)}
        if typ == resource_types.INSTANCE_PROFILE:
            return physical, {"arn": f"{iam}:instance-profile{path}{physical}", "name": physical}
        if typ == resource_types.OIDC_PROVIDER:
            arn = issuers.provider_arn(account.partition, account.account_id, str(inputs.get("url", "")))
            return arn, {"arn": arn}
        if typ == resource_types.ROLE_POLICY:
            return f"{inputs.get('role')}:{physical}", {"name": physical}
        if typ == resource_types.ROLE_POLICY_ATTACHMENT:
            return f"{inputs.get('role')}/{inputs.get('policyArn')}", {}
        if typ == resource_types.SECRET:  # Secrets Manager appends six random characters
            arn = (
                f"arn:{account.partition}:secretsmanager:{account.region}:{account.account_id}:secret:"
                f"{physical}-{_unique('', name)[:6]}"
            )
            return arn, {"arn": arn}
        if typ == resource_types.POD_IDENTITY_ASSOCIATION:
            association = "a-" + _unique("", name).lower()[:17]
            arn = (
                f"arn:{account.partition}:eks:{account.region}:{account.account_id}:podidentityassociation/"
                f"{inputs.get('clusterName')}/{association}"
            )
            outputs = {"associationArn": arn, "associationId": association}
            if inputs.get("targetRoleArn"):
                outputs["externalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, arn))
            return association, outputs
        return f"{name}-id", {}

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            account = self.account_for(args.provider)
            return {
                "accountId": account.account_id,
                "arn": f"arn:{account.partition}:sts::{account.account_id}:assumed-role/agent-iam-plan/plan",
                "userId": "AROAPLAN:plan",
                "id": account.account_id,
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            region = (args.args or {}).get("region") or self.account_for(args.provider).region
            if not region:  # a provider with no region says none (a component then reads the program's aws:region)
                return {}, []
            return {"region": region, "name": region, "id": region, "description": region}, []
        return {}, []


def _unique(prefix: str, name: str) -> str:
    return prefix + uuid.uuid5(uuid.NAMESPACE_DNS, name).hex[:17].upper()


@dataclass
class Registration:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    protect: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_inputs: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)  # URNs it waits for (depends_on and inputs)


class DuplicateUrnError(Exception):
    """Two resources registered with the same URN (type, name and parent chain)."""


class RecordingMonitor(ShortcutMonitor):
    """The SDK's mock monitor (with agent-iam's shortcuts), also keeping each resource's parent, provider and options."""

    def __init__(self, mocks: PlanMocks):
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.registrations: list[Registration] = []
        self._urns: set[str] = set()
        self._urns_lock = threading.Lock()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._urns_lock:  # registrations arrive on several threads at once
            if urn in self._urns:
                # The real engine refuses a second resource with the same URN; so does the plan.
                raise DuplicateUrnError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            self._urns.add(urn)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = self.plan_mocks.inputs_by_resource.pop((request.type, request.name), {})
            inputs, secret_inputs = unwrap_secrets(inputs)
            state = self.resources[response.urn].state if response.urn in self.resources else inputs
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                    inputs=inputs,
                    outputs=state,
                    secret_inputs=secret_inputs,
                    dependencies=sorted(request.dependencies),  # a set to the engine; its order varies by process
                )
            )
        return response
