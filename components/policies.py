"""IAM policy documents as plain dicts: small pure functions, no Pulumi, no cloud calls.

Every trust and permission document the components register is built here, so the
offline plan, the limit checks and the tests all see exactly what `pulumi up` sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

VERSION = "2012-10-17"

Document = dict[str, Any]
Statement = dict[str, Any]


def partition_for_region(region: str) -> str:
    """The ARN partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def document(statements: Iterable[Statement]) -> Document:
    return {"Version": VERSION, "Statement": list(statements)}


def minified_size(doc: Mapping[str, Any]) -> int:
    """Characters IAM counts against its quotas (white space is not counted)."""
    return len(json.dumps(doc, separators=(",", ":")))


def _one_or_many(values: Sequence[str]) -> str | list[str]:
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
        "Action": _one_or_many(actions),
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


def ecs_task_trust(account_id: str, region: str, *, confused_deputy: bool = True, trust_ec2: bool = False) -> Document:
    """Task role trust: ECS tasks of this account and region (and EC2, the Matillion pattern).

    The `aws:SourceAccount` / `aws:SourceArn` pair is the one the ECS task-role guide
    recommends; EC2 gets its own statement with only `aws:SourceAccount`, the key it sends.
    """
    partition = partition_for_region(region)
    statements = [
        service_trust_statement(
            "ecs-tasks.amazonaws.com",
            sid="EcsTasksAssumeRole",
            source_account=account_id if confused_deputy else None,
            source_arn_like=f"arn:{partition}:ecs:{region}:{account_id}:*" if confused_deputy else None,
        )
    ]
    if trust_ec2:
        statements.append(ec2_trust_statement(account_id, confused_deputy=confused_deputy))
    return document(statements)


def ecs_execution_trust(account_id: str, *, confused_deputy: bool = True) -> Document:
    """Execution role trust: ECS (the container and Fargate agents) in this account.

    AWS documents no `aws:SourceArn` for execution roles, so only `aws:SourceAccount` is pinned.
    """
    return document(
        [
            service_trust_statement(
                "ecs-tasks.amazonaws.com",
                sid="EcsTaskExecutionAssumeRole",
                source_account=account_id if confused_deputy else None,
            )
        ]
    )


def ec2_trust_statement(account_id: str, *, confused_deputy: bool = True) -> Statement:
    return service_trust_statement(
        "ec2.amazonaws.com",
        sid="Ec2AssumeRole",
        source_account=account_id if confused_deputy else None,
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
                "Resource": _one_or_many(sorted(secret_arns)) if "*" not in secret_arns else "*",
            }
        )
    if kms_key_arns:
        regions = sorted({arn.split(":")[3] for arn in kms_key_arns})
        via = [f"secretsmanager.{r}.amazonaws.com" for r in regions]
        statements.append(
            {
                "Sid": "DecryptAgentSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": _one_or_many(sorted(kms_key_arns)),
                "Condition": {"StringEquals": {"kms:ViaService": _one_or_many(via)}},
            }
        )
    return statements


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
