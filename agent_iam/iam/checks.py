"""The checks of single values (ARNs, IAM names and paths, account IDs, Kubernetes names): one home.

Each check returns the value or raises ValueError quoting the value it received. The components
run them on their Args; the stack config runs the same functions while it parses a stack file
(`agent_iam.stack_config.types`), so both report the same rule in the same words.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from agent_iam.iam.arns import has_wildcard


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
# aws:PrincipalArn patterns: a role or user of one account, wildcards only in the name part.
PRINCIPAL_PATTERN_RE = re.compile(
    rf"^arn:{_PARTITION}:iam::(?P<account>\d{{12}}):(?P<kind>role|user)/(?P<name>[\x21-\x7E]+)$"
)
# S3 general purpose bucket names (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
IP_ADDRESS_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
S3_PREFIX_MAX = 1024

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


def check_principal_arn(value: str) -> str:
    """A vendor principal: one role, or one account's root; never a wildcard."""
    if "*" in value or "?" in value:
        raise ValueError(
            f"a wildcard principal lets any AWS principal assume the role; name the vendor's role or account: {_quoted(value)}"
        )
    if not (ROLE_ARN_RE.match(value) or ROOT_ARN_RE.match(value)):
        raise ValueError(f"not an IAM role ARN or account root ARN (arn:aws:iam::<account>:root): {_quoted(value)}")
    return value


def check_principal_pattern(value: str) -> str:
    """An `aws:PrincipalArn` ArnLike pattern; the account is checked against the vendor's by the entry."""
    match = PRINCIPAL_PATTERN_RE.match(value)
    if not match:
        raise ValueError(
            "not a principal ARN pattern in one account (arn:aws:iam::<account>:role/<name, * allowed>): "
            f"{_quoted(value)}"
        )
    if not match.group("name").replace("/", "").strip("*?"):
        raise ValueError(f"a pattern must name the vendor's roles, not match every {match.group('kind')}: {_quoted(value)}")
    return value


def check_bucket_name(bucket: str) -> str:
    problem = None
    if not 3 <= len(bucket) <= 63:
        problem = "is 3 to 63 characters"
    elif not BUCKET_RE.match(bucket):
        problem = "holds lowercase letters, digits, dots and hyphens, and begins and ends with a letter or digit"
    elif ".." in bucket:
        problem = "has no two adjacent dots"
    elif IP_ADDRESS_RE.match(bucket):
        problem = "is not formatted like an IP address"
    elif bucket.startswith(BUCKET_RESERVED_PREFIXES) or bucket.endswith(BUCKET_RESERVED_SUFFIXES):
        problem = "does not use a prefix or suffix S3 reserves"
    if problem:
        raise ValueError(f"not a valid S3 bucket name (a bucket name {problem}): {_quoted(bucket)}")
    return bucket


def check_s3_location(value: str) -> str:
    """`bucket` or `bucket/prefix`: a bucket name, not an ARN or URL; no wildcards in the prefix."""
    if value.startswith(("arn:", "s3://")):
        raise ValueError(f"give the bucket name (or bucket/prefix), not an ARN or URL: {_quoted(value)}")
    bucket, _, prefix = value.partition("/")
    check_bucket_name(bucket)
    if "/" in value:
        if not prefix.strip("/"):
            raise ValueError(f"an empty prefix; give the bucket name alone for the whole bucket: {_quoted(value)}")
        if "*" in prefix or "?" in prefix or "//" in prefix.strip("/") or prefix.startswith("/"):
            raise ValueError(f"a prefix is a plain key prefix (no wildcards, no empty segments): {_quoted(value)}")
        if len(prefix) > S3_PREFIX_MAX:
            raise ValueError(f"S3 keys are at most {S3_PREFIX_MAX} bytes; this prefix has {len(prefix)}")
    return value


# EKS and Kubernetes names (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).
EKS_CLUSTER_NAME_RE = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$")
K8S_PATTERN_RE = re.compile(r"^[a-z0-9.*?-]+$")
ANNOTATION_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$")
OIDC_PROVIDER_ARN_RE = re.compile(
    rf"^arn:{_PARTITION}:iam::\d{{12}}:oidc-provider/(?P<issuer>[A-Za-z0-9.-]+(?:/[\x21-\x7E]+)?)$"
)


def check_eks_cluster_name(value: str) -> str:
    if not EKS_CLUSTER_NAME_RE.match(value):
        raise ValueError(
            f"not an EKS cluster name (1 to 100 letters, digits, - and _, starting alphanumeric): {_quoted(value)}"
        )
    return value


def check_oidc_issuer_url(value: str) -> str:
    """An OIDC issuer URL as EKS shows it (`https://oidc.eks.<region>.amazonaws.com/id/<ID>`).

    A trailing slash is dropped: the `:sub`/`:aud` condition keys and the provider ARN use the
    issuer without one, and IAM compares them as strings.
    """
    parts = urlsplit(value)
    if parts.scheme == "http":
        raise ValueError(f"IAM accepts only https:// OIDC issuers: {_quoted(value)}")
    if parts.scheme != "https" or not parts.hostname or "." not in parts.hostname:
        raise ValueError(f"not an https URL (e.g. https://oidc.eks.us-east-1.amazonaws.com/id/<ID>): {_quoted(value)}")
    if parts.query or parts.fragment or parts.port or parts.username or " " in value:
        raise ValueError(f"an issuer URL has no port, user, query or fragment: {_quoted(value)}")
    return value.rstrip("/")


def check_oidc_provider_arn(value: str) -> str:
    if not OIDC_PROVIDER_ARN_RE.match(value):
        raise ValueError(
            f"not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>): {_quoted(value)}"
        )
    return value.rstrip("/")


def issuer_of_provider_arn(arn: str) -> str:
    return arn.split(":oidc-provider/", 1)[1]


def _check_k8s_name(value: str, *, label: bool, what: str) -> str:
    if has_wildcard(value):
        if not K8S_PATTERN_RE.match(value):
            raise ValueError(
                f"not a {what} pattern (lowercase letters, digits, . - and the wildcards * ?): {_quoted(value)}"
            )
        return value  # accepted only with allowWildcardSubject: checked by the entry
    limit, regex = (63, DNS_LABEL_RE) if label else (253, DNS_SUBDOMAIN_RE)
    chars = "'-'" if label else "'-' or '.'"
    if len(value) > limit or not regex.match(value):
        raise ValueError(
            f"not a Kubernetes {what} (at most {limit} lowercase letters, digits and {chars}, "
            f"starting and ending alphanumeric): {_quoted(value)}"
        )
    return value


def check_namespace(value: str) -> str:
    return _check_k8s_name(value, label=True, what="namespace")


def check_k8s_object_name(value: str) -> str:
    if has_wildcard(value):
        raise ValueError(f"an object name takes no wildcards: {_quoted(value)}")
    return _check_k8s_name(value, label=False, what="object name")


def check_service_account_name(value: str) -> str:
    return _check_k8s_name(value, label=False, what="service account name")


def check_annotations(annotations: dict[str, str]) -> dict[str, str]:
    """Kubernetes annotation keys: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters."""
    for key in annotations:
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN_RE.match(prefix))) or not (
            len(name) <= 63 and ANNOTATION_NAME_RE.match(name)
        ):
            raise ValueError(f"not a Kubernetes annotation key ([prefix/]name): {_quoted(key)}")
    return annotations


def s3_location(value: str) -> tuple[str, str | None]:
    """`bucket/prefix/` -> (`bucket`, `prefix`); `bucket` -> (`bucket`, None)."""
    bucket, _, prefix = value.partition("/")
    return bucket, (prefix.strip("/") or None)


MIN_SESSION, MAX_SESSION = 3600, 43200
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256


def check_max_session_duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SESSION <= value <= MAX_SESSION:
        raise ValueError(f"a role's maximum session is {MIN_SESSION} to {MAX_SESSION} seconds: {_quoted(value)}")
    return value


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    """IAM tags: keys 1 to 128 characters, not `aws:`; values at most 256; two left for agent-iam's own."""
    if not isinstance(tags, dict):
        raise ValueError(f"tags are a mapping of keys to values: {_quoted(tags)}")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY or key.lower().startswith("aws:"):
            raise ValueError(f"tag keys are 1 to {MAX_TAG_KEY} characters and may not start with 'aws:': {key!r}")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise ValueError(f"tag {key!r}: values are strings of at most {MAX_TAG_VALUE} characters")
    if len(tags) > MAX_TAGS - 2:
        raise ValueError(f"at most {MAX_TAGS - 2} tags (IAM allows {MAX_TAGS}; agent-iam adds two)")
    return tags
