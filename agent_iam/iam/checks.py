"""The checks of single values (ARNs, IAM names and paths, account IDs, Kubernetes names): one home.

Each check returns the value or raises ValueError quoting the value it received. The components
run them on their Args; the stack config runs the same functions while it parses a stack file
(`agent_iam.stack_config.types`), so both report the same rule in the same words.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from agent_iam.iam import limits, partitions, tags
from agent_iam.iam.arns import ACCOUNT_ID_RE, has_wildcard


# The value the offline plan puts in place of a `secure:` config value it cannot decrypt.
REDACTED = "[secret]"

# Partitions and their region names come from botocore's partition data (agent_iam.iam.partitions).
PARTITIONS = partitions.partition_ids()
_PARTITION = "(?:" + "|".join(re.escape(p) for p in sorted(PARTITIONS, key=len, reverse=True)) + ")"
_REGION = "(?:" + "|".join(p.region_regex.pattern for p in partitions.partitions()) + ")"

# Every pattern is matched whole (fullmatch) and ASCII: `\d` is 0-9 and `\w` is [A-Za-z0-9_] only, and
# no `$` matches before a trailing newline.
REGION_RE = re.compile(_REGION, re.ASCII)
IAM_NAME_RE = limits.IAM_NAME_RE
IAM_PATH_RE = limits.IAM_PATH_RE
SECRET_ARN_RE = re.compile(
    rf"arn:{_PARTITION}:secretsmanager:{_REGION}:\d{{12}}:secret:(?P<name>[\w/+=.@*?-]+)", re.ASCII
)
KMS_KEY_ARN_RE = re.compile(rf"arn:{_PARTITION}:kms:{_REGION}:\d{{12}}:key/[A-Za-z0-9-]+", re.ASCII)
POLICY_ARN_RE = re.compile(rf"arn:{_PARTITION}:iam::(?:aws|\d{{12}}):policy/(?:[\x21-\x7E]*/)?[\w+=,.@-]+", re.ASCII)
ROLE_ARN_RE = re.compile(rf"arn:{_PARTITION}:iam::\d{{12}}:role/(?:[\x21-\x7E]*/)?[\w+=,.@-]+", re.ASCII)
ROOT_ARN_RE = re.compile(rf"arn:{_PARTITION}:iam::\d{{12}}:root", re.ASCII)
USER_ARN_RE = re.compile(rf"arn:{_PARTITION}:iam::\d{{12}}:user/(?:[\x21-\x7E]*/)?[\w+=,.@-]+", re.ASCII)
EXTERNAL_ID_RE = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
# aws:PrincipalArn patterns: a role or user of one account, wildcards only in the name part.
PRINCIPAL_PATTERN_RE = re.compile(
    rf"arn:{_PARTITION}:iam::(?P<account>\d{{12}}):(?P<kind>role|user)/(?P<name>[\x21-\x7E]+)", re.ASCII
)
# S3 general purpose bucket names (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)
BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
IP_ADDRESS_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}", re.ASCII)
S3_PREFIX_MAX = 1024

ROLE_NAME_MAX = limits.ROLE_NAME_MAX
INSTANCE_PROFILE_NAME_MAX = limits.INSTANCE_PROFILE_NAME_MAX
PATH_MAX = limits.PATH_MAX
# The one hint for a number, date or true/false where text is expected: YAML typed it.
QUOTE_HINT = "quote it in YAML"


def _quoted(value: object) -> str:
    return repr(value)


def check_account_id(value: str) -> str:
    if not ACCOUNT_ID_RE.fullmatch(value):
        hint = f"; {QUOTE_HINT} so leading zeros are kept" if value.isascii() and value.isdigit() else ""
        raise ValueError(f"not a 12-digit AWS account ID: {_quoted(value)}{hint}")
    return value


def check_region(value: str) -> str:
    """A region botocore knows (`did you mean` otherwise)."""
    return partitions.check_region(value)


def _raise_first(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


def check_role_name(value: str) -> str:
    _raise_first(limits.check_name(value, what="role name", maximum=limits.ROLE_NAME_MAX))
    return value


def check_entry_name(value: str) -> str:
    """An entry's `name`: the stem of its logical and physical names (a role name's characters)."""
    if not IAM_NAME_RE.fullmatch(value):
        raise ValueError(f"not a valid name (ASCII letters, digits and +=,.@_- only): {_quoted(value)}")
    if len(value) > limits.POLICY_NAME_MAX:
        raise ValueError(f"names are at most {limits.POLICY_NAME_MAX} characters; this one has {len(value)}")
    return value


def check_path(value: str) -> str:
    _raise_first(limits.check_path(value))
    return value


def check_secret_arn(value: str) -> str:
    if value == "*":
        return value  # accepted only with allowAllSecrets: checked by the entry model
    match = SECRET_ARN_RE.fullmatch(value)
    if not match:
        raise ValueError(f"not a Secrets Manager ARN: {_quoted(value)}")
    if not match.group("name").strip("*?"):
        raise ValueError(f"a secret ARN must name a secret, not match every secret: {_quoted(value)}")
    return value


def check_kms_key_arn(value: str) -> str:
    if not KMS_KEY_ARN_RE.fullmatch(value):
        raise ValueError(f"not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): {_quoted(value)}")
    return value


def check_policy_arn(value: str) -> str:
    if not POLICY_ARN_RE.fullmatch(value):
        raise ValueError(f"not an IAM managed policy ARN: {_quoted(value)}")
    return value


def check_role_arn(value: str) -> str:
    if not ROLE_ARN_RE.fullmatch(value):
        raise ValueError(f"not an IAM role ARN: {_quoted(value)}")
    return value


def check_external_id(value: str) -> str:
    if value == REDACTED:
        return value  # a secure value the offline plan cannot decrypt
    if not EXTERNAL_ID_RE.fullmatch(value):
        raise ValueError(
            "not a valid sts:ExternalId (2 to 1,224 characters of letters, digits and +=,.@:/_-): "
            f"{len(value)} characters"  # never echo a secret
        )
    return value


def check_principal_arn(value: str) -> str:
    """A vendor principal: one role, one IAM user (Snowflake's storage integrations), or one
    account's root; never a wildcard."""
    if "*" in value or "?" in value:
        raise ValueError(
            "a wildcard principal lets any AWS principal assume the role; name the vendor's role, user or account: "
            f"{_quoted(value)}"
        )
    if not (ROLE_ARN_RE.fullmatch(value) or USER_ARN_RE.fullmatch(value) or ROOT_ARN_RE.fullmatch(value)):
        raise ValueError(
            "not an IAM role ARN, IAM user ARN (arn:aws:iam::<account>:user/<name>) or account root ARN "
            f"(arn:aws:iam::<account>:root): {_quoted(value)}"
        )
    return value


def check_principal_pattern(value: str) -> str:
    """An `aws:PrincipalArn` ArnLike pattern; the account is checked against the vendor's by the entry."""
    match = PRINCIPAL_PATTERN_RE.fullmatch(value)
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
    elif not BUCKET_RE.fullmatch(bucket):
        problem = "holds lowercase letters, digits, dots and hyphens, and begins and ends with a letter or digit"
    elif ".." in bucket:
        problem = "has no two adjacent dots"
    elif IP_ADDRESS_RE.fullmatch(bucket):
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
EKS_CLUSTER_NAME_RE = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", re.ASCII)
DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?", re.ASCII)
DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*", re.ASCII)
K8S_PATTERN_RE = re.compile(r"[a-z0-9.*?-]+", re.ASCII)
ANNOTATION_NAME_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?", re.ASCII)
OIDC_PROVIDER_ARN_RE = re.compile(
    rf"arn:{_PARTITION}:iam::\d{{12}}:oidc-provider/(?P<issuer>[A-Za-z0-9.-]+(?:/[\x21-\x7E]+)?)", re.ASCII
)


PRINCIPAL_ORG_ID_RE = re.compile(r"o-[a-z0-9]{10,32}", re.ASCII)


def check_source_ip(value: str) -> str:
    """An `aws:SourceIp` value: an IPv4 or IPv6 address or CIDR range (host bits allowed, as IAM takes them)."""
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"not an IP address or CIDR range (203.0.113.0/24, 2001:db8::/32): {_quoted(value)}") from None
    return value


def check_principal_org_id(value: str) -> str:
    """An AWS Organizations ID as `aws:PrincipalOrgID` takes it (`o-` and 10 to 32 letters or digits)."""
    if not PRINCIPAL_ORG_ID_RE.fullmatch(value):
        raise ValueError(f"not an AWS Organizations ID (o-exampleorgid, from `aws organizations describe-organization`): {_quoted(value)}")
    return value


def check_eks_cluster_name(value: str) -> str:
    if not EKS_CLUSTER_NAME_RE.fullmatch(value):
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
    if not value.startswith("https://"):
        # urlsplit reads `HTTPS://` as https, but the provider ARN and the `<issuer>:sub`/`:aud` keys are
        # the issuer after `https://` (`oidc-provider/HTTPS://...` names no provider), and tokens say `https://`.
        raise ValueError(f"write the scheme as the tokens' iss claim does, https:// in lower case: {_quoted(value)}")
    return value.rstrip("/")


def check_oidc_provider_arn(value: str) -> str:
    if not OIDC_PROVIDER_ARN_RE.fullmatch(value):
        raise ValueError(
            f"not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>): {_quoted(value)}"
        )
    return value.rstrip("/")


def _check_k8s_name(value: str, *, label: bool, what: str) -> str:
    if has_wildcard(value):
        if not K8S_PATTERN_RE.fullmatch(value):
            raise ValueError(
                f"not a {what} pattern (lowercase letters, digits, . - and the wildcards * ?): {_quoted(value)}"
            )
        return value  # accepted only with allowWildcardSubject: checked by the entry
    limit, regex = (63, DNS_LABEL_RE) if label else (253, DNS_SUBDOMAIN_RE)
    chars = "'-'" if label else "'-' or '.'"
    if len(value) > limit or not regex.fullmatch(value):
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
        if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN_RE.fullmatch(prefix))) or not (
            len(name) <= 63 and ANNOTATION_NAME_RE.fullmatch(name)
        ):
            raise ValueError(f"not a Kubernetes annotation key ([prefix/]name): {_quoted(key)}")
    return annotations


def s3_location(value: str) -> tuple[str, str | None]:
    """`bucket/prefix/` -> (`bucket`, `prefix`); `bucket` -> (`bucket`, None)."""
    bucket, _, prefix = value.partition("/")
    return bucket, (prefix.strip("/") or None)


MIN_SESSION, MAX_SESSION = limits.MIN_SESSION_DURATION, limits.MAX_SESSION_DURATION
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = limits.TAGS_PER_RESOURCE, limits.TAG_KEY_MAX, limits.TAG_VALUE_MAX
# The tag every component adds to what it creates (when the Args do not set it); it counts against IAM's 50.
AGENT_IAM_TAG_KEYS = tuple(tags.MANAGED_BY_TAGS)


def check_max_session_duration(value: int) -> int:
    _raise_first(limits.check_session_duration(value))
    return value


def check_tags(tags: dict[str, str], reserved: int | None = None) -> dict[str, str]:
    """IAM tags (agent_iam.iam.limits): keys and values in IAM's patterns, and room left for the tags
    agent-iam adds (`reserved`; default: those of AGENT_IAM_TAG_KEYS the map does not set). The merged
    tags of each role are checked again where the role is built."""
    if not isinstance(tags, dict):
        raise ValueError(f"tags are a mapping of keys to values: {_quoted(tags)}")
    for key in tags:
        if not isinstance(key, str):
            raise ValueError(f"tag keys are text: {_quoted(key)}")
    if reserved is None:
        reserved = len(set(AGENT_IAM_TAG_KEYS) - set(tags))
    _raise_first(limits.check_tags(tags, reserved=reserved))
    return tags
