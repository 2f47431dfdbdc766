"""Validated scalar types for stack config: ARNs, IAM names and paths, account IDs.

Each type is an ``Annotated[str, AfterValidator(...)]`` so pydantic runs the check
while it parses the stack file, and the error quotes the value it received.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# The value the offline plan puts in place of a `secure:` config value it cannot decrypt.
REDACTED = "[secret]"

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
_PARTITION = r"(?:aws|aws-cn|aws-us-gov)"
_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(rf"^{_REGION}$")
# IAM role/policy/instance-profile names: [\w+=,.@-]
IAM_NAME_RE = re.compile(r"^[\w+=,.@-]+$")
# IAM paths: "/" or "/segment/.../" of printable ASCII without spaces.
IAM_PATH_RE = re.compile(r"^/(?:[\x21-\x7E]*/)?$")
SECRET_ARN_RE = re.compile(
    rf"^arn:{_PARTITION}:secretsmanager:{_REGION}:\d{{12}}:secret:(?P<name>[\w/+=.@*?-]+)$"
)
KMS_KEY_ARN_RE = re.compile(rf"^arn:{_PARTITION}:kms:{_REGION}:\d{{12}}:key/[A-Za-z0-9-]+$")
POLICY_ARN_RE = re.compile(rf"^arn:{_PARTITION}:iam::(?:aws|\d{{12}}):policy/(?:[\x21-\x7E]*/)?[\w+=,.@-]+$")
ROLE_ARN_RE = re.compile(rf"^arn:{_PARTITION}:iam::\d{{12}}:role/(?:[\x21-\x7E]*/)?[\w+=,.@-]+$")
ROOT_ARN_RE = re.compile(rf"^arn:{_PARTITION}:iam::\d{{12}}:root$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")

ROLE_NAME_MAX = 64
INSTANCE_PROFILE_NAME_MAX = 128
PATH_MAX = 512


def _quoted(value: object) -> str:
    return repr(value)


def check_account_id(value: str) -> str:
    if not ACCOUNT_ID_RE.match(value):
        raise ValueError(f"not a 12-digit AWS account ID: {_quoted(value)} (quote it in YAML)")
    return value


def check_region(value: str) -> str:
    if not REGION_RE.match(value):
        raise ValueError(f"not an AWS region name: {_quoted(value)}")
    return value


def check_role_name(value: str) -> str:
    if not IAM_NAME_RE.match(value):
        raise ValueError(f"not a valid IAM role name (letters, digits and +=,.@_- only): {_quoted(value)}")
    if len(value) > ROLE_NAME_MAX:
        raise ValueError(f"IAM role names are at most {ROLE_NAME_MAX} characters; {_quoted(value)} has {len(value)}")
    return value


def check_entry_name(value: str) -> str:
    """An entry's `name`: the stem of its logical and physical names."""
    if not IAM_NAME_RE.match(value):
        raise ValueError(f"not a valid name (letters, digits and +=,.@_- only): {_quoted(value)}")
    return value


def check_path(value: str) -> str:
    if len(value) > PATH_MAX or not IAM_PATH_RE.match(value):
        raise ValueError(
            f"not a valid IAM path (starts and ends with '/', printable ASCII, at most {PATH_MAX} characters): "
            f"{_quoted(value)}"
        )
    return value


def check_secret_arn(value: str) -> str:
    if value == "*":
        return value  # accepted only with allowAllSecrets: checked by the entry model
    match = SECRET_ARN_RE.match(value)
    if not match:
        raise ValueError(f"not a Secrets Manager ARN: {_quoted(value)}")
    if not match.group("name").strip("*?"):
        raise ValueError(f"a secret ARN must name a secret, not match every secret: {_quoted(value)}")
    return value


def check_kms_key_arn(value: str) -> str:
    if not KMS_KEY_ARN_RE.match(value):
        raise ValueError(f"not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): {_quoted(value)}")
    return value


def check_policy_arn(value: str) -> str:
    if not POLICY_ARN_RE.match(value):
        raise ValueError(f"not an IAM managed policy ARN: {_quoted(value)}")
    return value


def check_role_arn(value: str) -> str:
    if not ROLE_ARN_RE.match(value):
        raise ValueError(f"not an IAM role ARN: {_quoted(value)}")
    return value


def check_external_id(value: str) -> str:
    if value == REDACTED:
        return value  # a secure value the offline plan cannot decrypt
    if not EXTERNAL_ID_RE.match(value):
        raise ValueError(
            "not a valid sts:ExternalId (2 to 1,224 characters of letters, digits and +=,.@:/_-): "
            f"{len(value)} characters"  # never echo a secret
        )
    return value


AccountId = Annotated[str, AfterValidator(check_account_id)]
Region = Annotated[str, AfterValidator(check_region)]
RoleName = Annotated[str, AfterValidator(check_role_name)]
EntryName = Annotated[str, AfterValidator(check_entry_name)]
IamPath = Annotated[str, AfterValidator(check_path)]
SecretArn = Annotated[str, AfterValidator(check_secret_arn)]
KmsKeyArn = Annotated[str, AfterValidator(check_kms_key_arn)]
PolicyArn = Annotated[str, AfterValidator(check_policy_arn)]
RoleArn = Annotated[str, AfterValidator(check_role_arn)]
ExternalId = Annotated[str, AfterValidator(check_external_id)]


def account_of_arn(arn: str) -> str:
    """The account ID field of an ARN (`arn:partition:service:region:account:...`)."""
    return arn.split(":")[4]


def partition_of_arn(arn: str) -> str:
    return arn.split(":")[1]
