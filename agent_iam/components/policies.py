"""IAM policy documents as plain dicts: small pure functions, no Pulumi, no cloud calls.

Every trust and permission document the components register is built here, so the
offline plan, the limit checks and the tests all see exactly what `pulumi up` sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_iam.iam import actions, arns, issuers, trusts
from agent_iam.iam.policy_document import VERSION
from agent_iam.iam.partitions import partition_for_region, service_endpoint

__all__ = ["partition_for_region"]  # re-exported: the one home is agent_iam.iam.partitions


Document = dict[str, Any]
Statement = dict[str, Any]


def document(statements: Iterable[Statement]) -> Document:
    return {"Version": VERSION, "Statement": list(statements)}


def one_or_many(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _conditions(**by_operator: Mapping[str, Any] | None) -> dict[str, Any]:
    return {op: dict(keys) for op, keys in by_operator.items() if keys}


# --- trust documents ---------------------------------------------------------------


def service_trust_statement(
    service: str,
    *,
    sid: str,
    actions: Sequence[str] = ("sts:AssumeRole",),
    source_account: str | None = None,
    source_arn_like: str | None = None,
    string_equals: Mapping[str, str] | None = None,
) -> Statement:
    """Trust a service principal, pinned with AWS's confused-deputy keys when given."""
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": one_or_many(actions),
    }
    equals = dict(string_equals or {})
    if source_account:
        equals = {"aws:SourceAccount": source_account, **equals}
    condition = _conditions(
        StringEquals=equals,
        ArnLike={"aws:SourceArn": source_arn_like} if source_arn_like else None,
    )
    if condition:
        statement["Condition"] = condition
    return statement


# Service trusts. A condition on a key the service does not send fails closed: the instance, task
# or pod would never get credentials, after a green plan. AWS keeps no list of the services that
# send `aws:SourceAccount`/`aws:SourceArn` when they assume a role, so each trust below carries a
# condition only where an AWS page documents it for that service (cited next to the code); the
# others use the trust AWS documents, and `aws:SourceAccount` is an explicit opt-in
# (`source_account=True`, `sourceAccountCondition: true` in stack config). For roles passed to
# EC2 and ECS, the control AWS documents is `iam:PassRole` on who may launch with the role.


def ecs_task_trust(
    account_id: str,
    region: str,
    *,
    confused_deputy: bool = True,
    trust_ec2: bool = False,
    ec2_source_account: bool = False,
) -> Document:
    """Task role trust: ECS tasks of this account and region (and EC2, the Matillion pattern).

    The `aws:SourceAccount` + `aws:SourceArn` (`arn:<partition>:ecs:<region>:<account>:*`) pair is
    the one AWS documents for task roles:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
    ("Task IAM role": the trust policy with the confused-deputy conditions). The EC2 statement
    follows `ec2_trust_statement`.
    """
    partition = partition_for_region(region)
    statements = [
        service_trust_statement(
            trusts.ECS_TASKS_SERVICE,
            sid="EcsTasksAssumeRole",
            source_account=account_id if confused_deputy else None,
            source_arn_like=f"arn:{partition}:ecs:{region}:{account_id}:*" if confused_deputy else None,
        )
    ]
    if trust_ec2:
        statements.append(ec2_trust_statement(account_id, source_account=ec2_source_account))
    return document(statements)


def ecs_execution_trust(account_id: str, *, source_account: bool = False) -> Document:
    """Execution role trust: ECS (the container and Fargate agents).

    AWS documents this trust with no condition:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    ("Creating the task execution role"); `source_account` adds `aws:SourceAccount` (opt-in).
    """
    return document(
        [
            service_trust_statement(
                trusts.ECS_TASK_EXECUTION.service,
                sid=trusts.ECS_TASK_EXECUTION.sid,
                actions=trusts.ECS_TASK_EXECUTION.actions,
                source_account=account_id if source_account else None,
            )
        ]
    )


def ec2_trust_statement(account_id: str, *, source_account: bool = False) -> Statement:
    """EC2 may assume the role for instances launched with its instance profile.

    AWS documents this trust with no condition:
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html
    (the instance profile's role trusts `ec2.amazonaws.com`; `iam:PassRole` controls who may launch
    instances with it); `source_account` adds `aws:SourceAccount` (opt-in).
    """
    return service_trust_statement(
        trusts.EC2.service,
        sid=trusts.EC2.sid,
        actions=trusts.EC2.actions,
        source_account=account_id if source_account else None,
    )


def ec2_trust(account_id: str, *, source_account: bool = False) -> Document:
    """Instance role trust: EC2 (`aws:SourceAccount` only when opted in)."""
    return document([ec2_trust_statement(account_id, source_account=source_account)])


def account_root_arn(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def vendor_trust(
    principal_arn: str,
    *,
    external_id: str | None = None,
    principal_arn_patterns: Sequence[str] = (),
    source_ips: Sequence[str] = (),
    principal_org_ids: Sequence[str] = (),
) -> Document:
    """A vendor's principal may assume the role, with `sts:ExternalId` when given.

    With `principal_arn_patterns` (the Qwak guide's shape) there is one statement per
    pattern, each trusting the vendor account root only for callers whose
    `aws:PrincipalArn` is `ArnLike` that pattern. `source_ips` (`aws:SourceIp`, IpAddress) and
    `principal_org_ids` (`aws:PrincipalOrgID`, StringEquals) are conditions on top, as vendors
    document them.
    """
    equals: dict[str, Any] = {"sts:ExternalId": external_id} if external_id else {}
    if principal_org_ids:
        equals["aws:PrincipalOrgID"] = one_or_many(list(principal_org_ids))

    def statement(sid: str, arn_like: str | None) -> Statement:
        condition = _conditions(
            StringEquals=equals,
            ArnLike={"aws:PrincipalArn": arn_like} if arn_like else None,
            IpAddress={"aws:SourceIp": one_or_many(list(source_ips))} if source_ips else None,
        )
        result: Statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"AWS": principal_arn},
            "Action": "sts:AssumeRole",
        }
        if condition:
            result["Condition"] = condition
        return result

    if not principal_arn_patterns:
        return document([statement("VendorAssumeRole", None)])
    return document(
        statement(f"VendorAssumeRolePattern{index}", pattern)
        for index, pattern in enumerate(principal_arn_patterns, start=1)
    )


# --- EKS: IAM roles for service accounts (IRSA) and EKS Pod Identity ---------------



def role_arn(partition: str, account_id: str, path: str, name: str) -> str:
    """A role's ARN, known before the role exists (names and paths are deterministic)."""
    return f"arn:{partition}:iam::{account_id}:role{path}{name}"


def irsa_trust_statement(
    sid: str, provider_arn: str, issuer: str, subjects: Sequence[str], *, wildcard: bool = False
) -> Statement:
    """Tokens of one cluster's OIDC provider, for these service accounts, with audience STS.

    `:sub` is `StringEquals` (a list when several service accounts share the role), or
    `StringLike` when the subjects hold wildcards; `:aud` is always `StringEquals`.
    """
    issuer = issuers.issuer_host_path(issuer)
    subs = one_or_many(list(dict.fromkeys(subjects)))
    aud = {f"{issuer}:aud": issuers.STS_AUDIENCE}
    condition = (
        {"StringEquals": aud, "StringLike": {f"{issuer}:sub": subs}}
        if wildcard
        else {"StringEquals": {f"{issuer}:sub": subs, **aud}}
    )
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": actions.ASSUME_ROLE_WITH_WEB_IDENTITY,
        "Condition": condition,
    }


@dataclass(frozen=True)
class IrsaTrust:
    """One cluster's part of an IRSA trust: its OIDC provider in the role's account, its issuer
    (host/path), and the service account subjects it vouches for."""

    cluster: str
    provider_arn: str
    issuer: str
    subjects: Sequence[str]
    wildcard: bool = False


def irsa_trust(clusters: Sequence[IrsaTrust]) -> Document:
    """One statement per cluster, Sid `Irsa<Cluster>`."""
    statements: list[Statement] = []
    sids: set[str] = set()
    for index, c in enumerate(clusters):
        sid = f"Irsa{sid_part(c.cluster)}"
        sid = sid if sid not in sids else f"{sid}{index}"
        sids.add(sid)
        statements.append(irsa_trust_statement(sid, c.provider_arn, c.issuer, c.subjects, wildcard=c.wildcard))
    return document(statements)


def pod_identity_trust(
    cluster_account_id: str,
    *,
    cluster_name: str | None = None,
    namespace: str | None = None,
    service_account: str | None = None,
    source_account: bool = False,
) -> Document:
    """EKS Pod Identity (`pods.eks.amazonaws.com`, `sts:AssumeRole` + `sts:TagSession`), narrowed to
    one cluster, namespace and service account through the session tags Pod Identity sets
    (`aws:RequestTag/eks-cluster-name`, `.../kubernetes-namespace`, `.../kubernetes-service-account`)
    when they are given.

    This is the trust AWS documents, with exactly these request-tag conditions as its narrowing:
    https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html ("Setting Conditions"), and
    the session tags in https://docs.aws.amazon.com/eks/latest/userguide/pod-id-abac.html. The page
    shows no `aws:SourceAccount`; `source_account` adds it for the cluster's account (opt-in).
    """
    tags = {
        "aws:RequestTag/eks-cluster-name": cluster_name,
        "aws:RequestTag/kubernetes-namespace": namespace,
        "aws:RequestTag/kubernetes-service-account": service_account,
    }
    return document(
        [
            service_trust_statement(
                trusts.POD_IDENTITY.service,
                sid=trusts.POD_IDENTITY.sid,
                actions=trusts.POD_IDENTITY.actions,
                source_account=cluster_account_id if source_account else None,
                string_equals={k: v for k, v in tags.items() if v},
            )
        ]
    )


def pod_identity_target_trust(source_role_arn: str, external_id: str) -> Document:
    """The target role of a cross-account Pod Identity association: the association's own role
    may assume it (and tag the session), only with the association's `sts:ExternalId`."""
    return document(
        [
            {
                "Sid": "PodIdentityRoleChaining",
                "Effect": "Allow",
                "Principal": {"AWS": source_role_arn},
                "Action": list(trusts.POD_IDENTITY.actions),
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ]
    )


def assume_target_role_policy(target_role_arn: str) -> Document:
    """The Pod Identity role's only permission in cross-account mode: chain to its target role."""
    return document(
        [
            {
                "Sid": "AssumeTargetRole",
                "Effect": "Allow",
                "Action": list(trusts.POD_IDENTITY.actions),
                "Resource": target_role_arn,
            }
        ]
    )


# --- permission statements ---------------------------------------------------------


def secrets_read_statements(
    secret_arns: Sequence[str], kms_key_arns: Sequence[str] = ()
) -> list[Statement]:
    """`secretsmanager:GetSecretValue` on exactly these secrets, and `kms:Decrypt` through
    Secrets Manager only, for secrets encrypted with a customer managed key."""
    statements: list[Statement] = []
    if secret_arns:
        statements.append(
            {
                "Sid": "ReadAgentSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": one_or_many(sorted(secret_arns)) if "*" not in secret_arns else "*",
            }
        )
    if kms_key_arns:
        statements.append(kms_via_service_statement("DecryptAgentSecrets", ["kms:Decrypt"], kms_key_arns, "secretsmanager"))
    return statements


def kms_via_service_statement(sid: str, actions: Sequence[str], key_arns: Sequence[str], service: str) -> Statement:
    """KMS actions on these keys, only when `service` calls KMS on the caller's behalf
    (`kms:ViaService` = `<service>.<region>.<DNS suffix>` for each key's region: `amazonaws.com`,
    `amazonaws.com.cn` in China, the partition's own suffix elsewhere)."""
    regions = sorted({arns.parse(arn).region for arn in key_arns})
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": one_or_many(actions),
        "Resource": one_or_many(sorted(key_arns)),
        "Condition": {"StringEquals": {"kms:ViaService": one_or_many([service_endpoint(service, r) for r in regions])}},
    }


def s3_statements(
    partition: str,
    read: Sequence[tuple[str, str | None]],
    write: Sequence[tuple[str, str | None]] = (),
    kms_key_arns: Sequence[str] = (),
) -> list[Statement]:
    """S3 access to `(bucket, prefix or None)` locations; `write` locations are readable too.

    Read is `s3:GetObject` on the objects and `s3:ListBucket` on the bucket, narrowed with
    `s3:prefix` (`<prefix>/*`) when a prefix is given; write adds `s3:PutObject`,
    `s3:DeleteObject`, `s3:AbortMultipartUpload`. `kms_key_arns` (SSE-KMS buckets) get
    `kms:Decrypt` (and `kms:GenerateDataKey` for writes) through S3 only.
    """
    readable = list(dict.fromkeys([*read, *write]))
    if not readable:
        return []
    whole = sorted({b for b, p in readable if p is None})
    readable = [(b, p) for b, p in readable if p is None or b not in whole]  # a whole bucket covers its prefixes

    def objects(locations: Sequence[tuple[str, str | None]]) -> str | list[str]:
        return one_or_many([f"arn:{partition}:s3:::{b}/{p + '/' if p else ''}*" for b, p in locations])

    statements: list[Statement] = []
    if whole:
        statements.append(
            {
                "Sid": "ListBuckets",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": one_or_many([f"arn:{partition}:s3:::{b}" for b in whole]),
            }
        )
    prefixes: dict[str, list[str]] = {}
    for bucket, prefix in readable:
        if prefix is not None:
            prefixes.setdefault(bucket, []).append(f"{prefix}/*")
    sids: set[str] = set()
    for index, bucket in enumerate(sorted(prefixes)):
        sid = f"ListPrefixesOf{sid_part(bucket)}"
        sid = sid if sid not in sids else f"{sid}{index}"  # `a-b` and `a.b` read alike
        sids.add(sid)
        statements.append(
            {
                "Sid": sid,
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": one_or_many(prefixes[bucket])}},
            }
        )
    statements.append({"Sid": "ReadObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects(readable)})
    if write:
        statements.append(
            {
                "Sid": "WriteObjects",
                "Effect": "Allow",
                "Action": list(trusts.S3_WRITE_OBJECT_ACTIONS),
                "Resource": objects(list(dict.fromkeys(write))),
            }
        )
    if kms_key_arns:
        actions = ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"]
        statements.append(kms_via_service_statement("UseBucketKeysThroughS3", actions, kms_key_arns, "s3"))
    return statements


def permissions_document(
    partition: str,
    policy: Mapping[str, Any] | None,
    s3_read: Sequence[tuple[str, str | None]] = (),
    s3_write: Sequence[tuple[str, str | None]] = (),
    kms_key_arns: Sequence[str] = (),
) -> Document | None:
    """A role's one permissions document: the user's `policy` statements first, then the S3/KMS ones."""
    return with_statements(policy, s3_statements(partition, s3_read, s3_write, kms_key_arns))


def sid_part(name: str) -> str:
    """`acme-dev.data_lake` -> `AcmeDevDataLake`: a name as the letters and digits a Sid allows."""
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", name) if word)


def with_statements(base: Mapping[str, Any] | None, extra: Sequence[Statement]) -> Document | None:
    """One inline document from a user policy plus generated statements (None when empty)."""
    statements = list(base["Statement"]) if base else []
    statements.extend(extra)
    return document(statements) if statements else None


def statements_of(doc: Mapping[str, Any] | None) -> list[Statement]:
    if not doc:
        return []
    statement = doc.get("Statement", [])
    return [statement] if isinstance(statement, dict) else list(statement)


def as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
