"""SaasAccessRole under Pulumi's mocks: vendor trust, S3/KMS permissions, customer managed
policy, the secret external ID and the hand-off, and every config error."""

from __future__ import annotations

import json

import pytest

from agent_iam import stack_config
from agent_iam.components import policies
from conftest import (
    ACCOUNT,
    REGION,
    assert_config_error,
    config_with,
    inline_policy_of,
    plan_stack_file,
    trust_of,
)
from agent_iam.stack_config import ConfigError

QWAK = "377488441568"
QWAK_PATTERNS = [
    f"arn:aws:iam::{QWAK}:role/eksctl-Qwak-EKS-Cluster-nodegroup-*",
    f"arn:aws:iam::{QWAK}:role/qwak-eks-base*",
]
UPSOLVER_ROLE = "arn:aws:iam::949275490180:role/upsolver-org-acme-7f3c2a9e"
EXTERNAL_ID = "acme-4f8b2c1d-93e7-4a6b-b5d2-0c9e8f7a6b51"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/8c1e4b7a-3f2d-4e9a-b6c5-1d0f9e8a7b62"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def upsolver(**extra):
    return {"name": "upsolver", "vendor": {"principalArn": UPSOLVER_ROLE}, "externalId": EXTERNAL_ID, **extra}


def qwak(**extra):
    return {"name": "qwak", "vendor": {"accountId": QWAK, "principalArnPatterns": QWAK_PATTERNS}, **extra}


def vendor_statement(sid, principal, condition):
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole",
            "Condition": condition}


# --- trust -------------------------------------------------------------------------


def test_external_id_trust_names_the_vendor_role(plan_stack):
    run = plan_stack(config_with(saasRoles=[upsolver()]))
    assert trust_of(run, "upsolver-role")["Statement"] == [
        vendor_statement("VendorAssumeRole", UPSOLVER_ROLE, {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}})
    ]


def test_principal_patterns_give_one_statement_each_with_the_account_root(plan_stack):
    """The Qwak guide's trust policy, statement by statement."""
    run = plan_stack(config_with(saasRoles=[qwak(s3Read=["models"])]))
    root = f"arn:aws:iam::{QWAK}:root"
    assert trust_of(run, "qwak-role")["Statement"] == [
        vendor_statement("VendorAssumeRolePattern1", root, {"ArnLike": {"aws:PrincipalArn": QWAK_PATTERNS[0]}}),
        vendor_statement("VendorAssumeRolePattern2", root, {"ArnLike": {"aws:PrincipalArn": QWAK_PATTERNS[1]}}),
    ]


def test_external_id_and_patterns_together_condition_every_statement(plan_stack):
    run = plan_stack(config_with(saasRoles=[qwak(externalId=EXTERNAL_ID)]))
    statements = trust_of(run, "qwak-role")["Statement"]
    assert [s["Condition"] for s in statements] == [
        {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}, "ArnLike": {"aws:PrincipalArn": pattern}}
        for pattern in QWAK_PATTERNS
    ]


def test_account_root_arn_with_external_id(plan_stack):
    root = "arn:aws:iam::222222222222:root"
    run = plan_stack(config_with(saasRoles=[{"name": "v", "vendor": {"principalArn": root}, "externalId": "abc"}]))
    assert trust_of(run, "v-role")["Statement"] == [
        vendor_statement("VendorAssumeRole", root, {"StringEquals": {"sts:ExternalId": "abc"}})
    ]


def test_unconditioned_account_trust_only_with_opt_in_and_flagged(plan_stack):
    run = plan_stack(
        config_with(saasRoles=[{"name": "v", "vendor": {"accountId": "222222222222"},
                                "allowUnconditionedAccountTrust": True}])
    )
    (statement,) = trust_of(run, "v-role")["Statement"]
    assert statement == {"Sid": "VendorAssumeRole", "Effect": "Allow",
                         "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "sts:AssumeRole"}
    assert any("ANY principal in account 222222222222" in w for w in run.warnings), run.warnings


def test_vendor_role_without_external_id_is_refused_unless_accepted(plan_stack):
    assert_config_error(
        {"saasRoles": [{"name": "v", "vendor": {"principalArn": UPSOLVER_ROLE}}]},
        f"agent-iam:saasRoles[0].externalId: required: the vendor role {UPSOLVER_ROLE} is in another account",
    )
    accepted = {"name": "v", "vendor": {"principalArn": UPSOLVER_ROLE}, "allowUnconditionedAccountTrust": True}
    run = plan_stack(config_with(saasRoles=[accepted]))
    assert "Condition" not in trust_of(run, "v-role")["Statement"][0]
    assert any(f"may be assumed by the vendor role {UPSOLVER_ROLE} with no external ID" in w for w in run.warnings)


def test_a_role_trusting_a_role_of_its_own_account_needs_no_external_id(plan_stack):
    own = f"arn:aws:iam::{ACCOUNT}:role/etl"
    run = plan_stack(config_with(saasRoles=[{"name": "v", "vendor": {"principalArn": own}}]))
    assert trust_of(run, "v-role")["Statement"][0]["Principal"] == {"AWS": own}


# --- the external ID: secret in the output always, redacted in place when secure ---


def test_plain_external_id_shows_in_trust_but_the_output_is_secret(plan_stack):
    run = plan_stack(config_with(saasRoles=[upsolver()]))
    role = run.named("aws:iam/role:Role", "upsolver-role")
    assert role.secret_inputs == []
    assert EXTERNAL_ID in role.inputs["assumeRolePolicy"]
    # The external ID is its own secret output: the roles' output holds no secret, so it stays plain.
    assert run.outputs["saasRoles"]["upsolver"] == {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/upsolver", "roleName": "upsolver"}
    assert run.outputs["saasExternalIds"] == {"upsolver": "[secret]"}


def test_secure_external_id_is_redacted_in_place_and_the_trust_is_secret(plan_stack):
    """What `make plan` does with `externalId: {secure: ...}`: `[secret]` in the key, key marked secret."""
    run = plan_stack(config_with(saasRoles=[upsolver(externalId="[secret]")]), secret_keys=["agent-iam:saasRoles"])
    role = run.named("aws:iam/role:Role", "upsolver-role")
    assert role.secret_inputs == ["assumeRolePolicy"]
    assert trust_of(run, "upsolver-role")["Statement"][0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": "[secret]"}
    }
    assert run.outputs["saasExternalIds"]["upsolver"] == "[secret]"


def test_external_id_in_a_secret_key_marks_the_trust_secret():
    settings = stack_config.load_settings(
        {"accountId": ACCOUNT, "saasRoles": [upsolver()]}, stack="prod", region=REGION,
        secret_keys=frozenset({"saasRoles"}),
    )
    assert settings.saas_roles[0].args["external_id_secret"] is True
    plain = stack_config.load_settings({"accountId": ACCOUNT, "saasRoles": [upsolver()]}, stack="prod", region=REGION)
    assert "external_id_secret" not in plain.saas_roles[0].args  # default: false


def test_a_role_without_external_id_has_no_entry_among_the_external_ids(plan_stack):
    run = plan_stack(config_with(saasRoles=[qwak(), upsolver()]))
    assert run.outputs["saasRoles"]["qwak"] == {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/qwak", "roleName": "qwak"}
    assert run.outputs["saasExternalIds"] == {"upsolver": "[secret]"}


# --- permissions -------------------------------------------------------------------


def test_whole_bucket_read_is_the_qwak_guide_policy(plan_stack):
    run = plan_stack(config_with(saasRoles=[qwak(s3Read=["models"])]))
    assert inline_policy_of(run, "qwak-role-vendor-access")["Statement"] == [
        {"Sid": "ListBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::models"},
        {"Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"},
    ]


def test_prefix_read_lists_only_under_the_prefix(plan_stack):
    run = plan_stack(config_with(saasRoles=[qwak(s3Read=["ml-features/exports/", "ml-features/labels", "models"])]))
    assert inline_policy_of(run, "qwak-role-vendor-access")["Statement"] == [
        {"Sid": "ListBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::models"},
        {
            "Sid": "ListPrefixesOfMlFeatures",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::ml-features",
            "Condition": {"StringLike": {"s3:prefix": ["exports/*", "labels/*"]}},
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [
                "arn:aws:s3:::ml-features/exports/*",
                "arn:aws:s3:::ml-features/labels/*",
                "arn:aws:s3:::models/*",
            ],
        },
    ]


def test_write_adds_put_delete_abort_and_kms_generate_data_key(plan_stack):
    run = plan_stack(
        config_with(saasRoles=[upsolver(s3Read=["lake/raw"], s3Write=["lake/upsolver"], kmsKeyArns=[KMS_KEY])])
    )
    assert inline_policy_of(run, "upsolver-role-vendor-access")["Statement"] == [
        {
            "Sid": "ListPrefixesOfLake",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::lake",
            "Condition": {"StringLike": {"s3:prefix": ["raw/*", "upsolver/*"]}},
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::lake/raw/*", "arn:aws:s3:::lake/upsolver/*"],
        },
        {
            "Sid": "WriteObjects",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": "arn:aws:s3:::lake/upsolver/*",
        },
        {
            "Sid": "UseBucketKeysThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KMS_KEY,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
        },
    ]


def test_kms_for_reads_only_decrypts():
    (*_, kms) = policies.s3_statements("aws", [("b", None)], [], [KMS_KEY])
    assert kms["Action"] == "kms:Decrypt"
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}


def test_whole_bucket_covers_a_prefix_of_it_and_partition_follows_region():
    statements = policies.s3_statements("aws-cn", [("b", None)], [("b", "out")])
    assert statements[0] == {"Sid": "ListBuckets", "Effect": "Allow", "Action": "s3:ListBucket",
                             "Resource": "arn:aws-cn:s3:::b"}
    assert statements[1]["Resource"] == "arn:aws-cn:s3:::b/*"
    assert statements[2]["Resource"] == "arn:aws-cn:s3:::b/out/*"
    assert [s["Sid"] for s in statements] == ["ListBuckets", "ReadObjects", "WriteObjects"]


def test_customer_managed_policy_is_attached_instead_of_inline(plan_stack):
    own = {"Sid": "ReadGlue", "Effect": "Allow", "Action": "glue:GetTable",
           "Resource": f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"}
    run = plan_stack(
        config_with(saasRoles=[upsolver(customerManagedPolicy=True, s3Write=["lake"],
                                        policy={"Version": "2012-10-17", "Statement": [own]})])
    )
    assert run.of_type("aws:iam/rolePolicy:RolePolicy") == []
    policy = run.named("aws:iam/policy:Policy", "upsolver-role-upsolver-vendor-access")
    assert policy.inputs["name"] == "upsolver-vendor-access"
    assert [s["Sid"] for s in json.loads(policy.inputs["policy"])["Statement"]] == [
        "ReadGlue", "ListBuckets", "ReadObjects", "WriteObjects"
    ]
    attachment = run.named(ATTACHMENT, "upsolver-role-upsolver-vendor-access")
    assert attachment.inputs == {"role": "upsolver", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/upsolver-vendor-access"}


def test_policy_arns_are_attached_and_options_come_from_defaults(plan_stack):
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/Boundary"
    extra = f"arn:aws:iam::{ACCOUNT}:policy/vendor-extra"
    run = plan_stack(
        config_with(
            defaults={"path": "/vendors/", "permissionsBoundaryArn": boundary, "protect": True},
            saasRoles=[qwak(policyArns=[extra], roleName="QwakAccess", maxSessionDuration=7200)],
        )
    )
    role = run.named("aws:iam/role:Role", "qwak-role")
    assert (role.inputs["name"], role.inputs["path"], role.inputs["permissionsBoundary"]) == (
        "QwakAccess", "/vendors/", boundary
    )
    assert role.inputs["maxSessionDuration"] == 7200
    assert role.protect
    assert run.named(ATTACHMENT, f"qwak-role-{ACCOUNT}-vendor-extra").inputs == {"role": "QwakAccess", "policyArn": extra}
    (component,) = run.of_type("agent-iam:saas:SaasAccessRole")
    assert {r.parent for r in run.resources if r.name.startswith("qwak-role")} == {component.urn}


# --- errors ------------------------------------------------------------------------

ERRORS = {
    "external ID too short": (
        {"saasRoles": [upsolver(externalId="x")]},
        "agent-iam:saasRoles[0].externalId: not a valid sts:ExternalId (2 to 1,224 characters",
    ),
    "external ID with a forbidden character": (
        {"saasRoles": [upsolver(externalId="has space")]},
        "agent-iam:saasRoles[0].externalId: not a valid sts:ExternalId",
    ),
    "external ID too long": (
        {"saasRoles": [upsolver(externalId="a" * 1225)]},
        "agent-iam:saasRoles[0].externalId: not a valid sts:ExternalId (2 to 1,224 characters of letters, "
        "digits and +=,.@:/_-): 1225 characters",
    ),
    "whole account without condition": (
        {"saasRoles": [{"name": "v", "vendor": {"accountId": "222222222222"}}]},
        "agent-iam:saasRoles[0].vendor.accountId: trusts every principal in account 222222222222 with no condition",
    ),
    "account root ARN without condition": (
        {"saasRoles": [{"name": "v", "vendor": {"principalArn": "arn:aws:iam::222222222222:root"}}]},
        "agent-iam:saasRoles[0].vendor.principalArn: trusts every principal in account 222222222222",
    ),
    "opt-in on a conditioned trust": (
        {"saasRoles": [qwak(allowUnconditionedAccountTrust=True)]},
        "agent-iam:saasRoles[0].allowUnconditionedAccountTrust: is true but the trust has a condition",
    ),
    "wildcard principal": (
        {"saasRoles": [{"name": "v", "vendor": {"principalArn": "*"}, "externalId": EXTERNAL_ID}]},
        "agent-iam:saasRoles[0].vendor.principalArn: a wildcard principal lets any AWS principal assume the role",
    ),
    "wildcard account root": (
        {"saasRoles": [{"name": "v", "vendor": {"principalArn": "arn:aws:iam::*:root"}, "externalId": EXTERNAL_ID}]},
        "agent-iam:saasRoles[0].vendor.principalArn: a wildcard principal",
    ),
    "malformed principal ARN": (
        {"saasRoles": [{"name": "v", "vendor": {"principalArn": "arn:aws:iam::2222:role/x"}, "externalId": "ab"}]},
        "agent-iam:saasRoles[0].vendor.principalArn: not an IAM role ARN, IAM user ARN",
    ),
    "malformed vendor account ID": (
        {"saasRoles": [{"name": "v", "vendor": {"accountId": "37748844156"}, "externalId": "ab"}]},
        "agent-iam:saasRoles[0].vendor.accountId: not a 12-digit AWS account ID",
    ),
    "both principalArn and accountId": (
        {"saasRoles": [{"name": "v", "vendor": {"principalArn": UPSOLVER_ROLE, "accountId": QWAK}}]},
        "agent-iam:saasRoles[0].vendor: set exactly one of principalArn",
    ),
    "no vendor principal at all": (
        {"saasRoles": [{"name": "v", "vendor": {}}]},
        "agent-iam:saasRoles[0].vendor: set exactly one of principalArn",
    ),
    "pattern that is a bare wildcard": (
        {"saasRoles": [qwak(vendor={"accountId": QWAK, "principalArnPatterns": ["*"]})]},
        "agent-iam:saasRoles[0].vendor.principalArnPatterns[0]: not a principal ARN pattern in one account",
    ),
    "pattern matching every role": (
        {"saasRoles": [qwak(vendor={"accountId": QWAK, "principalArnPatterns": [f"arn:aws:iam::{QWAK}:role/*"]})]},
        "agent-iam:saasRoles[0].vendor.principalArnPatterns[0]: a pattern must name the vendor's roles",
    ),
    "pattern with a wildcard account": (
        {"saasRoles": [qwak(vendor={"accountId": QWAK, "principalArnPatterns": ["arn:aws:iam::*:role/qwak-*"]})]},
        "agent-iam:saasRoles[0].vendor.principalArnPatterns[0]: not a principal ARN pattern",
    ),
    "pattern in another account": (
        {"saasRoles": [qwak(vendor={"accountId": QWAK,
                                    "principalArnPatterns": ["arn:aws:iam::111122223333:role/qwak-eks-base*"]})]},
        "agent-iam:saasRoles[0].vendor.principalArnPatterns[0]: is in account 111122223333, not the vendor's "
        "account 377488441568",
    ),
    "patterns with a role principal": (
        {"saasRoles": [upsolver(vendor={"principalArn": UPSOLVER_ROLE,
                                        "principalArnPatterns": ["arn:aws:iam::949275490180:role/upsolver-*"]})]},
        "agent-iam:saasRoles[0].vendor.principalArnPatterns: narrow a trust in the vendor's whole account",
    ),
    "bucket name with capitals": (
        {"saasRoles": [qwak(s3Read=["Acme-Data"])]},
        "agent-iam:saasRoles[0].s3Read[0]: not a valid S3 bucket name (a bucket name holds lowercase letters",
    ),
    "bucket name too short": (
        {"saasRoles": [qwak(s3Write=["ab/prefix"])]},
        "agent-iam:saasRoles[0].s3Write[0]: not a valid S3 bucket name (a bucket name is 3 to 63 characters)",
    ),
    "bucket name like an IP address": (
        {"saasRoles": [qwak(s3Read=["192.168.5.4"])]},
        "agent-iam:saasRoles[0].s3Read[0]: not a valid S3 bucket name (a bucket name is not formatted like an IP",
    ),
    "bucket name with adjacent dots": (
        {"saasRoles": [qwak(s3Read=["acme..data"])]},
        "agent-iam:saasRoles[0].s3Read[0]: not a valid S3 bucket name (a bucket name has no two adjacent dots)",
    ),
    "bucket ARN instead of a name": (
        {"saasRoles": [qwak(s3Read=["arn:aws:s3:::acme-data"])]},
        "agent-iam:saasRoles[0].s3Read[0]: give the bucket name (or bucket/prefix), not an ARN or URL",
    ),
    "wildcard in a prefix": (
        {"saasRoles": [qwak(s3Read=["acme-data/exports/*"])]},
        "agent-iam:saasRoles[0].s3Read[0]: a prefix is a plain key prefix (no wildcards",
    ),
    "read already covered by write": (
        {"saasRoles": [qwak(s3Read=["acme-data/raw"], s3Write=["acme-data"])]},
        "agent-iam:saasRoles[0].s3Read[0]: already covered by s3Write[0] ('acme-data')",
    ),
    "prefix under another listed prefix": (
        {"saasRoles": [qwak(s3Read=["acme-data/raw", "acme-data/raw/2024"])]},
        "agent-iam:saasRoles[0].s3Read[1]: already covered by s3Read[0] ('acme-data/raw')",
    ),
    "KMS keys with no bucket": (
        {"saasRoles": [qwak(kmsKeyArns=[KMS_KEY])]},
        "agent-iam:saasRoles[0].kmsKeyArns: are for SSE-KMS buckets",
    ),
    "malformed KMS key ARN": (
        {"saasRoles": [qwak(s3Read=["acme-data"], kmsKeyArns=["alias/aws/s3"])]},
        "agent-iam:saasRoles[0].kmsKeyArns[0]: not a KMS key ARN",
    ),
    "customer managed policy with nothing in it": (
        {"saasRoles": [upsolver(customerManagedPolicy=True)]},
        "agent-iam:saasRoles[0].customerManagedPolicy: is true but there are no permissions",
    ),
    "customer managed policy over 6,144 characters": (
        {"saasRoles": [upsolver(customerManagedPolicy=True, s3Read=[f"acme-data/{'p' * 90}{i}" for i in range(40)])]},
        "agent-iam:saasRoles[0]: role 'upsolver': customer managed policy is",
    ),
    "policy Sid clashing with a generated one": (
        {"saasRoles": [qwak(s3Read=["acme-data"], policy={"Version": "2012-10-17", "Statement": [
            {"Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]})]},
        "agent-iam:saasRoles[0].policy: Sid 'ReadObjects' is used twice in the role's permissions",
    ),
    "Resource * without opt-in": (
        {"saasRoles": [qwak(policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})]},
        "agent-iam:saasRoles[0].policy.Statement[0].Resource: '*' covers every resource of its kind",
    ),
    "unknown vendor key, with a hint": (
        {"saasRoles": [{"name": "v", "vendor": {"principalArns": [UPSOLVER_ROLE]}}]},
        "agent-iam:saasRoles[0].vendor.principalArns: unknown key; did you mean 'principalArn'?",
    ),
    "role name used twice": (
        {"saasRoles": [qwak(roleName="vendor"), upsolver(roleName="vendor")]},
        "agent-iam:saasRoles[1]: role name 'vendor' is already used by agent-iam:saasRoles[0]",
    ),
}


@pytest.mark.parametrize("values, expected", ERRORS.values(), ids=ERRORS.keys())
def test_bad_config_names_file_and_key(values, expected):
    assert_config_error(values, expected)


def test_a_bad_external_id_is_never_echoed():
    secret = "not valid because of spaces"
    with pytest.raises(ConfigError) as caught:
        stack_config.load_settings({"accountId": ACCOUNT, "saasRoles": [upsolver(externalId=secret)]},
                                   stack="prod", region=REGION)
    assert secret not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        stack_config.load_settings({"accountId": ACCOUNT, "saasRoles": [upsolver(externalId=12345)]},
                                   stack="prod", region=REGION)
    assert "12345" not in str(caught.value)


# --- the stack files ---------------------------------------------------------------


def _stack_documents(stack):
    from agent_iam.plan.render import iam_document_files

    run = plan_stack_file(stack)
    return run, iam_document_files(run)


def test_prod_qwak_trust_is_the_guide_with_the_qwak_cloud_account():
    """Guide 003: the vendor account root, one ArnLike aws:PrincipalArn statement per role pattern."""
    _, docs = _stack_documents("prod")
    statements = docs["qwak-access-role.trust.json"]["Statement"]
    assert [(s["Principal"], s["Action"], s["Condition"]) for s in statements] == [
        ({"AWS": f"arn:aws:iam::{QWAK}:root"}, "sts:AssumeRole", {"ArnLike": {"aws:PrincipalArn": p}})
        for p in QWAK_PATTERNS
    ]


def test_prod_upsolver_external_id_is_redacted_and_policy_is_customer_managed():
    """Guide 004: customer managed policy attached to a role trusted by Upsolver's role with an external ID."""
    run, docs = _stack_documents("prod")
    (statement,) = docs["upsolver-connection.trust.json"]["Statement"]
    assert statement["Principal"]["AWS"].startswith("arn:aws:iam::949275490180:role/upsolver-org-")
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "[secret]"}}
    assert "upsolver-connection.vendor-access.json" not in docs
    sids = [s["Sid"] for s in docs["policy.upsolver-connection-vendor-access.json"]["Statement"]]
    assert sids == ["ListPrefixesOfAcmeProdDatalake", "ReadObjects", "WriteObjects", "UseBucketKeysThroughS3"]
    assert run.outputs["saasRoles"]["upsolver-connection"] == {
        "roleArn": "arn:aws:iam::432109876543:role/agents/upsolver-connection",
        "roleName": "upsolver-connection",
    }
    assert run.outputs["saasExternalIds"]["upsolver-connection"] == "[secret]"


def test_dev_upsolver_plain_external_id_shows_in_the_trust():
    run, docs = _stack_documents("dev")
    (statement,) = docs["upsolver-connection.trust.json"]["Statement"]
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"].startswith("acme-dev-")
    assert run.outputs["saasExternalIds"]["upsolver-connection"] == "[secret]"
