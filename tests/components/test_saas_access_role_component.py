"""SaasAccessRole built from its Args under Pulumi's mocks, as a library user would: known and
`Output` inputs, defaults applied inside, and bad Args refused before anything registers."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from agent_iam import ArgsError, SaasAccessRole, SaasAccessRoleArgs
from conftest import ACCOUNT, REGION, run_components

VENDOR_ROLE = "arn:aws:iam::949275490180:role/upsolver-org-acme"
ROLE = "aws:iam/role:Role"
INLINE = "aws:iam/rolePolicy:RolePolicy"


def trust(run, name: str) -> dict:
    return json.loads(run.named(ROLE, name).inputs["assumeRolePolicy"])


def test_known_args_give_the_trust_permissions_and_defaults():
    args = SaasAccessRoleArgs(
        principal_arn=VENDOR_ROLE, external_id="acme-7f3c", account_id=ACCOUNT, s3_read=["acme-lake/raw"]
    )
    run, outputs = run_components(lambda: SaasAccessRole("upsolver", args).outputs())
    role = run.named(ROLE, "upsolver-role")
    assert role.inputs["name"] == "upsolver" and role.inputs["path"] == "/"  # defaults from the component's name
    assert role.inputs["tags"] == {"managed-by": "agent-iam"}
    assert trust(run, "upsolver-role")["Statement"] == [
        {
            "Sid": "VendorAssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": VENDOR_ROLE},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "acme-7f3c"}},
        }
    ]
    policy = json.loads(run.named(INLINE, "upsolver-role-vendor-access").inputs["policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["ListPrefixesOfAcmeLake", "ReadObjects"]
    assert outputs["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/upsolver"
    assert outputs["externalId"] == "[secret]" and outputs["handoff"]["externalId"] == "[secret]"


def test_an_output_principal_arn_is_carried_into_the_trust():
    """The vendor's principal comes from another resource: the trust waits for it and names it."""

    def program():
        vendor = aws.iam.Role("vendor", name="vendor-control-plane", assume_role_policy="{}")
        bucket = aws.s3.Bucket("lake", bucket="acme-lake")
        SaasAccessRole(
            "vendor-access",
            SaasAccessRoleArgs(
                principal_arn=vendor.arn,
                external_id="ext-1234",
                account_id=ACCOUNT,
                s3_read=[bucket.bucket.apply(lambda b: f"{b}/exports")],
            ),
        )

    run, _ = run_components(program)
    [statement] = trust(run, "vendor-access-role")["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/vendor-control-plane"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-1234"}}
    policy = json.loads(run.named(INLINE, "vendor-access-role-vendor-access").inputs["policy"])
    assert policy["Statement"][-1]["Resource"] == "arn:aws:s3:::acme-lake/exports/*"


def test_an_output_resolving_to_a_wildcard_is_refused_when_it_resolves():
    def program():
        SaasAccessRole("v", SaasAccessRoleArgs(principal_arn=pulumi.Output.from_input("*"), external_id="ext-1234"))

    with pytest.raises(Exception, match=r"args\.principal_arn: a wildcard principal"):
        run_components(program)


def registers_nothing(args: dict, match: str) -> None:
    with pytest.raises(ArgsError, match=match) as caught:
        run_components(lambda: SaasAccessRole("vendor", args))
    assert caught.value.registered_resources == []  # not even the component itself
    assert caught.value.component == "SaasAccessRole" and caught.value.name == "vendor"


@pytest.mark.parametrize(
    "args,match",
    [
        ({"principal_arn": "*"}, r"SaasAccessRole 'vendor': args\.principal_arn: a wildcard principal .*: '\*'"),
        ({"principal_arn": "arn:aws:iam::*:root"}, r"args\.principal_arn: a wildcard principal"),
        ({"principal_arn": "arn:aws:iam::222222222222:root"}, r"args\.principal_arn: trusts every principal in account"),
        ({"principal_arn": VENDOR_ROLE, "account_id": ACCOUNT}, r"args\.external_id: required: the vendor role"),
        ({"principal_arn": VENDOR_ROLE, "external_id": "x"}, r"args\.external_id: not a valid sts:ExternalId"),
        ({"principal_arn": VENDOR_ROLE, "principle_arn": "x"}, r"args\.principle_arn: unknown field; did you mean 'principal_arn'"),
        ({}, r"args\.principal_arn: required, but not set"),
        (
            {"principal_arn": VENDOR_ROLE, "external_id": "ext-1", "s3_read": ["arn:aws:s3:::b"]},
            r"args\.s3_read\[0\]: give the bucket name",
        ),
        (
            {
                "principal_arn": VENDOR_ROLE,
                "external_id": "ext-1",
                "policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            },
            r"args\.policy\.Statement\[0\]\.Resource: '\*' covers every resource of its kind; .* allow_wildcard_resources: true",
        ),
        (
            {"principal_arn": VENDOR_ROLE, "external_id": "ext-1", "role_name": "r" * 65},
            r"args\.role_name: IAM role names are at most 64 characters",
        ),
        (
            {"principal_arn": VENDOR_ROLE, "external_id": "ext-1", "iam_limits": {"trust_policy_size": 50}},
            r"role 'vendor': trust policy is \d+ characters, over the 50 IAM allows .*iam_limits\.trust_policy_size",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_bad_args_raise_naming_the_field_and_register_nothing(args, match):
    registers_nothing(args, match)


def test_region_sets_the_partition_of_s3_resources():
    args = SaasAccessRoleArgs(
        principal_arn="arn:aws-cn:iam::222222222222:role/v", external_id="ext-1", region="cn-north-1", s3_read=["b-1"]
    )
    run, _ = run_components(lambda: SaasAccessRole("v", args), config={"aws:region": REGION})
    policy = json.loads(run.named(INLINE, "v-role-vendor-access").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == "arn:aws-cn:s3:::b-1"


def test_a_field_that_names_resources_must_be_known():
    """`role_name` becomes the role's and its policy's names: an output there is refused up front."""

    def program():
        other = aws.iam.Role("other", assume_role_policy="{}")
        SaasAccessRole("v", SaasAccessRoleArgs(principal_arn=VENDOR_ROLE, external_id="ext-1", role_name=other.name))

    with pytest.raises(ArgsError, match=r"args\.role_name: must be known when the program runs"):
        run_components(program)


def test_a_managed_policy_named_like_the_customer_managed_policy_is_refused_not_a_duplicate_urn():
    args = {"principal_arn": "arn:aws:iam::949275490180:role/x", "external_id": "abcdef1234", "s3_read": ["acme-bucket"],
            "customer_managed_policy": True, "policy_arns": ["arn:aws:iam::aws:policy/v-vendor-access"]}
    with pytest.raises(ArgsError, match=r"SaasAccessRole 'v': args\.policy_arns\[0\]: is named like the customer managed") as caught:
        run_components(lambda: SaasAccessRole("v", args))
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]


def test_a_vendor_preset_from_a_program_is_the_stack_files_preset(monkeypatch):
    """`presets.args` gives the component the preset: the vendor's trust and statements, its tag, and the
    advisory for its documented `Resource: "*"`, said by the component as it registers."""
    from agent_iam import presets

    said: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: said.append(message))
    args = presets.args("datadog", external_id="ext-123456", account_id=ACCOUNT)
    run, outputs = run_components(lambda: SaasAccessRole("datadog", args).outputs())
    role = run.named("aws:iam/role:Role", "datadog-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::464622532012:root"}
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-123456"}}
    assert role.inputs["tags"]["agent-iam:preset"] == presets.load("datadog").label
    sids = [s["Sid"] for s in json.loads(run.named(INLINE, "datadog-role-vendor-access").inputs["policy"])["Statement"]]
    assert sids == ["DatadogIntegrationReads", "DatadogIntegrationWrites"]
    (advisory,) = said
    assert advisory.startswith("agent-iam: SaasAccessRole 'datadog': the role may call the actions of "
                               "DatadogIntegrationReads, DatadogIntegrationWrites on Resource '*', as preset datadog@")
    with pytest.raises(KeyError, match="unknown preset 'datdog'; did you mean 'datadog'"):
        presets.args("datdog")


def test_a_policy_and_managed_policies_from_other_resources_are_checked_when_they_resolve():
    """`policy` and `policy_arns` take Inputs: the document waits for them, and is checked as the Args are."""
    import pulumi

    def program(statement_resource, arn):
        bucket = aws.s3.Bucket("lake", bucket="acme-lake")
        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "Lake", "Effect": "Allow", "Action": "s3:GetObject", "Resource": statement_resource(bucket)}]}
        managed = pulumi.Output.from_input(arn)
        reviewed = {"check": "sensitive-actions-scoped", "document": "ReadOnlyAccess", "reason": "vendor audit, reviewed"}
        return SaasAccessRole("vendor", {"principal_arn": VENDOR_ROLE, "external_id": "ext-1", "policy": policy,
                                         "policy_arns": [managed], "accepted_findings": [reviewed]}).outputs()

    run, _ = run_components(
        lambda: program(lambda b: b.bucket.apply(lambda n: f"arn:aws:s3:::{n}/*"), "arn:aws:iam::aws:policy/ReadOnlyAccess")
    )
    policy = json.loads(run.named(INLINE, "vendor-role-vendor-access").inputs["policy"])
    assert policy["Statement"] == [{"Sid": "Lake", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-lake/*"}]
    attachment = run.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "vendor-role-attachment-0")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    with pytest.raises(Exception, match=r"args\.policy\.Statement\[0\]\.Resource: '\*' covers every resource of its kind"):
        run_components(lambda: program(lambda b: b.bucket.apply(lambda n: "*"), "arn:aws:iam::aws:policy/ReadOnlyAccess"))
    with pytest.raises(Exception, match=r"SaasAccessRole 'vendor': args\.policy_arns\[0\]: "):
        run_components(lambda: program(lambda b: b.bucket.apply(lambda n: f"arn:aws:s3:::{n}"), "arn:aws:s3:::not-a-policy"))
