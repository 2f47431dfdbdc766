"""A corpus of base/head stack changes with known verdicts, for `agent-iam diff` (tests/test_diff_corpus.py).

Each case edits a copy of a base stack (`BASE`, or `BLOCKING` for the cases about blocked plans)
into a head, or edits the base's plan.json (a managed-policy dataset refresh, which no stack file
can express), and says what the diff must answer: `W` (exit 4, naming `role`, or a stack-level
widening: `risk` accepted, an `opt-in` newly set) or `N` (no widening: narrowing, neutral, or not
comparable offline; exit 0). Every family of config entries is here, and every kind of change the
issue's corpus had: boundaries, AWS managed policies, `:sub` wildcards, presets, reordering,
renames (`formerNames`), `secure:` values, acceptances, Denies, conditions, principals, NotAction.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

ACCOUNT = "111111111111"
VENDOR = "222222222222"
W, N = "widening", "no widening"

SECRET_1 = {"secure": "v1:Q29ycHVzU2VjcmV0T25l:ZXh0LWlkLW9uZS0xMjM0NTY3ODkw"}
SECRET_2 = {"secure": "v1:Q29ycHVzU2VjcmV0VHdv:ZXh0LWlkLXR3by0xMjM0NTY3ODkw"}
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/AgentBoundary"
REPORTS = "arn:aws:s3:::acme-reports"

ETL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Reports", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"],
         "Resource": f"{REPORTS}/*"},
        {"Sid": "ListReports", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": REPORTS},
        {"Sid": "KeepLocked", "Effect": "Deny", "Action": "s3:PutObjectTagging", "Resource": f"{REPORTS}/locked/*"},
        {"Sid": "Events", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:etl-events",
         "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}},
        {"Sid": "Network", "Effect": "Allow", "Action": "sns:Publish", "Resource": f"arn:aws:sns:eu-west-1:{ACCOUNT}:etl-done",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.1.0.0/16"}, "Bool": {"aws:SecureTransport": "true"}}},
    ],
}

BASE: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "agent-iam:accountId": ACCOUNT,
    "agent-iam:guardrails": {"enforcement": "advisory"},
    "agent-iam:defaults": {"path": "/agents/", "permissionsBoundaryArn": BOUNDARY, "tags": {"team": "platform"}},
    "agent-iam:ecsAgents": [
        {"name": "etl", "secretArns": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:etl/key-AbCdEf"],
         "policy": ETL_POLICY},
    ],
    "agent-iam:ec2Agents": [
        {"name": "runner", "secretArns": [f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:runner/key-GhIjKl"]},
    ],
    "agent-iam:saasRoles": [
        {"name": "vendor-a", "vendor": {"principalArn": f"arn:aws:iam::{VENDOR}:role/vendor-a"},
         "externalId": "ext-a-1234567890", "s3Read": ["acme-lake/raw"], "s3Write": ["acme-lake/vendor-a"]},
        {"name": "vendor-b", "vendor": {"accountId": "333333333333",
                                        "principalArnPatterns": ["arn:aws:iam::333333333333:role/vendor-b-nodes-*"]},
         "s3Read": ["acme-ml/exports"]},
        {"name": "datadog", "preset": "datadog", "externalId": SECRET_1},
    ],
    "agent-iam:oidcRoles": [
        {"name": "deploy", "provider": "github", "repository": "acme/app", "branches": ["main"],
         "s3Write": ["acme-artifacts/app"]},
        {"name": "tfc-net", "provider": "terraform-cloud", "organization": "acme", "project": "Platform",
         "workspaces": ["net"], "runPhases": ["apply"], "s3Write": ["acme-tfstate/net"]},
    ],
    "agent-iam:clusters": {
        "c1": {"name": "acme-c1", "oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789",
               "kubeContext": f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/acme-c1"},
    },
    "agent-iam:serviceAccounts": [
        {"name": "reader", "mode": "irsa", "cluster": "c1", "namespace": "apps", "serviceAccount": "reader",
         "policyArns": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]},
    ],
}

# A stack whose guardrails block: an agent's own policy allows writes on every resource of a kind.
WIDE_WRITES = {"Version": "2012-10-17", "Statement": [
    {"Sid": "TagEverything", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"], "Resource": "*"},
]}
BLOCKING: dict[str, Any] = {
    "aws:region": "eu-west-1",
    "agent-iam:accountId": ACCOUNT,
    "agent-iam:guardrails": {"enforcement": "mandatory"},
    "agent-iam:ec2Agents": [
        {"name": "tagger", "policy": WIDE_WRITES, "allowWildcardResources": True},
    ],
}
ACCEPT_TAGS = {"check": "sensitive-actions-scoped", "sid": "TagEverything", "reason": "the tagger tags every instance (SEC-12)"}


Edit = Callable[[dict[str, Any]], None]
FAMILIES = ("ecsAgents", "ec2Agents", "saasRoles", "serviceAccounts", "oidcRoles")


@dataclass(frozen=True)
class Case:
    """One change: `edit` turns the base's config into the head's (`base_edit` first edits both
    sides' base, for changes that need another starting point), or `plan_edit` turns the base's
    plan.json into the base actually compared (what an older managed-policy dataset recorded)."""

    name: str
    expect: str  # W or N
    role: str | None  # the role a widening must name (None: a stack-level widening, or N)
    edit: Edit | None = None
    base_edit: Edit | None = None
    start: str = "base"  # "base" or "blocking"
    plan_edit: Callable[[dict[str, Any]], None] | None = None
    family: str = ""  # the one family of entries the base keeps (a small stack plans fast); "" keeps all

    def configs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        base = copy.deepcopy(BLOCKING if self.start == "blocking" else BASE)
        if self.family and self.start == "base":
            for family in FAMILIES:
                if family != self.family:
                    base.pop(f"agent-iam:{family}", None)
            if self.family != "serviceAccounts":
                base.pop("agent-iam:clusters", None)
        if self.base_edit:
            self.base_edit(base)
        head = copy.deepcopy(base)
        if self.edit:
            self.edit(head)
        return base, head


def entry(config: dict[str, Any], family: str, name: str) -> dict[str, Any]:
    return next(e for e in config[f"agent-iam:{family}"] if e["name"] == name)


def etl(config: dict[str, Any]) -> dict[str, Any]:
    return entry(config, "ecsAgents", "etl")


def statement(config: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in etl(config)["policy"]["Statement"] if s.get("Sid") == sid)


def etl_statements(config: dict[str, Any]) -> list[dict[str, Any]]:
    return etl(config)["policy"]["Statement"]


def saas(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda config: entry(config, "saasRoles", name)


def oidc(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda config: entry(config, "oidcRoles", name)


def sa(config: dict[str, Any]) -> dict[str, Any]:
    return entry(config, "serviceAccounts", "reader")


def runner(config: dict[str, Any]) -> dict[str, Any]:
    return entry(config, "ec2Agents", "runner")


def setter(get: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        get(config)[key] = copy.deepcopy(value)
    return edit


def dropper(get: Callable[[dict[str, Any]], dict[str, Any]], key: str) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        get(config).pop(key, None)
    return edit


def both(*edits: Edit) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        for e in edits:
            e(config)
    return edit


def st(sid: str, key: str, value: Any) -> Edit:
    """Set a key of an etl statement (None removes it)."""
    def edit(config: dict[str, Any]) -> None:
        found = statement(config, sid)
        if value is None:
            found.pop(key, None)
        else:
            found[key] = copy.deepcopy(value)
    return edit


def drop_statement(sid: str) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        etl(config)["policy"]["Statement"] = [s for s in etl_statements(config) if s.get("Sid") != sid]
    return edit


def add_statement(value: dict[str, Any]) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        etl_statements(config).append(copy.deepcopy(value))
    return edit


def reverse(get: Callable[[dict[str, Any]], list[Any]]) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        get(config).reverse()
    return edit


def rename_saas(old: str, new: str) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        found = entry(config, "saasRoles", old)
        found["name"] = new
        found["formerNames"] = [old]
    return edit


def stack_key(key: str, value: Any) -> Edit:
    def edit(config: dict[str, Any]) -> None:
        config[key] = copy.deepcopy(value)
    return edit


def accept(item: dict[str, Any], family: str = "ec2Agents", name: str = "tagger") -> Edit:
    def edit(config: dict[str, Any]) -> None:
        entry(config, family, name).setdefault("acceptedFindings", []).append(copy.deepcopy(item))
    return edit


S3_READ = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
S3_FULL = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
SQS_READ = "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"


def managed_was(arn: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """The base plan as a plan made with another version of the managed-policy dataset recorded it:
    `change` edits its recorded document of `arn`."""
    def edit(plan: dict[str, Any]) -> None:
        change(plan["managedPolicies"][arn])
    return edit


def drop_action(pattern: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        for s in document["Statement"]:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            s["Action"] = [a for a in actions if a != pattern]
    return change


def add_action(pattern: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        s = document["Statement"][0]
        s["Action"] = [*(s["Action"] if isinstance(s["Action"], list) else [s["Action"]]), pattern]
    return change


def reorder_statements(document: dict[str, Any]) -> None:
    document["Statement"] = list(reversed(document["Statement"])) + [copy.deepcopy(document["Statement"][0])]


ETL_TASK, ETL_EXEC = "etl-task", "etl-execution"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
ONLY_TMP_TAGGING = {"Sid": "OnlyTmpTagging", "Effect": "Deny", "Action": "s3:PutObjectTagging", "NotResource": f"{REPORTS}/tmp/*"}
UNCONDITIONED = {"check": "sensitive_action", "document": "trust", "statement": 1,
                 "reason": "vendor-a's connector cannot send an external ID (SEC-30)"}
ONLY_READS_LOCKED = {"Sid": "OnlyReadsLocked", "Effect": "Deny", "NotAction": "s3:GetObject", "Resource": f"{REPORTS}/locked/*"}
WILDCARD_SUB = both(dropper(oidc("deploy"), "repository"), setter(oidc("deploy"), "branches", []),
                    setter(oidc("deploy"), "allowWildcardSubject", True),
                    setter(oidc("deploy"), "subjects", ["repo:acme/app:ref:refs/heads/*"]))

def section(family: str, *cases: Case) -> list[Case]:
    """Cases whose base keeps only `family`'s entries (and what they need)."""
    return [replace(case, family=family) for case in cases]


CASES: list[Case] = [
    # --- ECS agent: the task role's own policy, statement by statement
    *section("ecsAgents",
    Case("action added", W, ETL_TASK, st("ListReports", "Action", ["s3:ListBucket", "s3:GetBucketPolicy"])),
    Case("action removed", N, None, st("Reports", "Action", ["s3:GetObject", "s3:PutObject"])),
    Case("action wildcard", W, ETL_TASK, st("Reports", "Action", ["s3:GetObject*", "s3:PutObject", "s3:PutObjectTagging"])),
    Case("action wildcard narrowed", N, None, st("Reports", "Action", ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"]),
         base_edit=st("Reports", "Action", ["s3:GetObject*", "s3:PutObject", "s3:PutObjectTagging"])),
    Case("action case changed", N, None, st("Reports", "Action", ["s3:getobject", "s3:PUTOBJECT", "s3:putObjectTagging"])),
    Case("resource widened", W, ETL_TASK, st("Reports", "Resource", "arn:aws:s3:::acme-*/*")),
    Case("resource narrowed", N, None, st("Reports", "Resource", f"{REPORTS}/daily/*")),
    Case("statements reordered", N, None, reverse(etl_statements)),
    Case("sid renamed", N, None, st("Reports", "Sid", "ReportObjects")),
    Case("statement split in two", N, None, both(
        st("Reports", "Action", ["s3:GetObject", "s3:PutObject"]),
        add_statement({"Sid": "Tagging", "Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource": f"{REPORTS}/*"}))),
    Case("deny removed", W, ETL_TASK, drop_statement("KeepLocked")),
    Case("deny added", N, None, add_statement(
        {"Sid": "NoTagging", "Effect": "Deny", "Action": "s3:PutObjectTagging", "Resource": f"{REPORTS}/*"})),
    Case("deny narrowed", W, ETL_TASK, st("KeepLocked", "Resource", f"{REPORTS}/locked/2024/*")),
    Case("condition loosened StringEquals to StringLike", W, ETL_TASK,
         st("Events", "Condition", {"StringLike": {"aws:SourceVpce": "vpce-*"}})),
    Case("condition tightened StringLike to StringEquals", N, None,
         st("Events", "Condition", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}),
         base_edit=st("Events", "Condition", {"StringLike": {"aws:SourceVpce": "vpce-*"}})),
    Case("condition removed", W, ETL_TASK, st("Events", "Condition", None)),
    Case("condition added", N, None, st("Events", "Condition", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}),
         base_edit=st("Events", "Condition", None)),
    Case("statement duplicated", N, None, add_statement({**ETL_POLICY["Statement"][1], "Sid": "ListReportsAgain"})),
    Case("condition IfExists added", W, ETL_TASK,
         st("Events", "Condition", {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
    Case("ip range widened", W, ETL_TASK,
         st("Network", "Condition", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"}})),
    Case("ip range narrowed", N, None,
         st("Network", "Condition", {"IpAddress": {"aws:SourceIp": "10.1.2.0/24"}, "Bool": {"aws:SecureTransport": "true"}})),
    Case("bool condition dropped", W, ETL_TASK, st("Network", "Condition", {"IpAddress": {"aws:SourceIp": "10.1.0.0/16"}})),
    # The config refuses an Allow with NotAction/NotResource in its own policies; AWS's managed policies have them.
    Case("NotAction deny added", N, None, add_statement(ONLY_READS_LOCKED)),
    Case("NotAction deny removed", W, ETL_TASK, drop_statement("OnlyReadsLocked"), base_edit=add_statement(ONLY_READS_LOCKED)),
    Case("NotResource deny removed", W, ETL_TASK, drop_statement("OnlyTmpTagging"), base_edit=add_statement(ONLY_TMP_TAGGING)),
    Case("NotResource deny added", N, None, add_statement(ONLY_TMP_TAGGING)),
    Case("statement removed", N, None, drop_statement("Network")),
    Case("trust also EC2", W, ETL_TASK, setter(etl, "trustEc2", True)),
    Case("trust EC2 dropped", N, None, setter(etl, "trustEc2", False), base_edit=setter(etl, "trustEc2", True)),
    Case("secret added", W, ETL_EXEC, setter(etl, "secretArns", [
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:etl/key-AbCdEf",
        f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:etl/db-MnOpQr"])),
    Case("secret removed", N, None, setter(etl, "secretArns", [])),
    Case("longer sessions", W, ETL_TASK, setter(etl, "maxSessionDuration", 14400)),
    Case("shorter sessions", N, None, setter(etl, "maxSessionDuration", 3600), base_edit=setter(etl, "maxSessionDuration", 7200)),
    Case("tags changed", N, None, stack_key("agent-iam:defaults", {"path": "/agents/", "permissionsBoundaryArn": BOUNDARY,
                                                                    "tags": {"team": "data"}})),
    Case("task managed policy attached", W, ETL_TASK, setter(etl, "taskRolePolicyArns", [SQS_READ])),
    ),
    # --- SaaS roles: trust, S3, KMS, presets
    *section("saasRoles",
    Case("s3 read location added", W, "vendor-a", setter(saas("vendor-a"), "s3Read", ["acme-lake/raw", "acme-lake/curated"])),
    Case("s3 write location removed", N, None, setter(saas("vendor-a"), "s3Write", [])),
    Case("s3 read became write", W, "vendor-a", both(setter(saas("vendor-a"), "s3Read", []),
                                                     setter(saas("vendor-a"), "s3Write", ["acme-lake/vendor-a", "acme-lake/raw"]))),
    Case("s3 write became read", N, None, both(setter(saas("vendor-a"), "s3Write", []),
                                               setter(saas("vendor-a"), "s3Read", ["acme-lake/raw", "acme-lake/vendor-a"]))),
    Case("kms key added", W, "vendor-a", setter(saas("vendor-a"), "kmsKeyArns", [
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/5f0c9a4e-2b1d-4c7e-9a8f-3d6e1b2c4a90"])),
    Case("customer managed policy instead of inline", N, None, setter(saas("vendor-a"), "customerManagedPolicy", True)),
    Case("customer managed policy grows", W, "vendor-a", setter(saas("vendor-a"), "s3Read", ["acme-lake/raw", "acme-ml"]),
         base_edit=setter(saas("vendor-a"), "customerManagedPolicy", True)),
    Case("external id dropped", W, "vendor-a", both(dropper(saas("vendor-a"), "externalId"),
                                                    setter(saas("vendor-a"), "allowUnconditionedAccountTrust", True),
                                                    accept(UNCONDITIONED, "saasRoles", "vendor-a"))),
    Case("secure external id dropped", W, "vendor-a", both(dropper(saas("vendor-a"), "externalId"),
                                                           setter(saas("vendor-a"), "allowUnconditionedAccountTrust", True),
                                                           accept(UNCONDITIONED, "saasRoles", "vendor-a")),
         base_edit=setter(saas("vendor-a"), "externalId", SECRET_2)),
    Case("external id changed (plain)", W, "vendor-a", setter(saas("vendor-a"), "externalId", "ext-a-0987654321")),
    Case("external id moved to secure", N, None, setter(saas("vendor-a"), "externalId", SECRET_2)),
    Case("external id moved out of secure", N, None, setter(saas("vendor-a"), "externalId", "ext-a-1234567890"),
         base_edit=setter(saas("vendor-a"), "externalId", SECRET_2)),
    Case("secure external id changed", N, None, setter(saas("datadog"), "externalId", SECRET_2)),
    Case("secure external id changed and a write added", W, "vendor-a", both(
        setter(saas("vendor-a"), "externalId", SECRET_1), setter(saas("vendor-a"), "s3Write", ["acme-lake/vendor-a", "acme-lake/x"])),
        base_edit=setter(saas("vendor-a"), "externalId", SECRET_2)),
    Case("principal pattern loosened", W, "vendor-b", setter(lambda c: saas("vendor-b")(c)["vendor"], "principalArnPatterns",
                                                              ["arn:aws:iam::333333333333:role/vendor-b-*"])),
    Case("principal pattern added", W, "vendor-b", setter(lambda c: saas("vendor-b")(c)["vendor"], "principalArnPatterns",
                                                           ["arn:aws:iam::333333333333:role/vendor-b-nodes-*",
                                                            "arn:aws:iam::333333333333:role/vendor-b-batch"])),
    Case("principal pattern narrowed", N, None, setter(lambda c: saas("vendor-b")(c)["vendor"], "principalArnPatterns",
                                                        ["arn:aws:iam::333333333333:role/vendor-b-nodes-eu-*"])),
    Case("vendor principal replaced", W, "vendor-a", setter(lambda c: saas("vendor-a")(c)["vendor"], "principalArn",
                                                             f"arn:aws:iam::{VENDOR}:role/vendor-a-v2")),
    Case("entries reordered", N, None, reverse(lambda c: c["agent-iam:saasRoles"])),
    Case("entry renamed with formerNames", N, None, rename_saas("vendor-b", "vendor-bee")),
    Case("secure entry renamed with formerNames", N, None, rename_saas("datadog", "datadog-prod")),
    Case("entry renamed and widened", W, "vendor-bee", both(rename_saas("vendor-b", "vendor-bee"),
                                                           setter(saas("vendor-bee"), "s3Read", ["acme-ml/exports", "acme-ml/raw"]))),
    Case("entry added", W, "vendor-c", lambda c: c["agent-iam:saasRoles"].append(
        {"name": "vendor-c", "vendor": {"principalArn": "arn:aws:iam::444444444444:role/c"}, "externalId": "ext-c-12345678",
         "s3Read": ["acme-lake/c"]})),
    Case("entry removed", N, None, lambda c: c["agent-iam:saasRoles"].pop(1)),
    Case("preset statement dropped", N, None, setter(saas("datadog"), "withoutStatements", ["DatadogIntegrationWrites"])),
    Case("preset action dropped", N, None, setter(saas("datadog"), "withoutActions", ["sns:Publish"])),
    Case("opt-in wildcard resources newly set", W, "vendor-a", both(
        setter(saas("vendor-a"), "allowWildcardResources", True),
        setter(saas("vendor-a"), "policy", {"Version": "2012-10-17", "Statement": [
            {"Sid": "Inventory", "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}))),
    ),
    # --- boundaries and AWS managed policies, by content
    *section("saasRoles",
    Case("boundary removed", W, "vendor-a", dropper(saas("vendor-a"), "permissionsBoundaryArn"), base_edit=both(
        stack_key("agent-iam:defaults", {"path": "/agents/", "tags": {"team": "platform"}}),
        setter(saas("vendor-a"), "permissionsBoundaryArn", S3_READ))),
    Case("NotAction introduced (boundary)", W, "vendor-a", setter(saas("vendor-a"), "permissionsBoundaryArn", POWER_USER),
         base_edit=setter(saas("vendor-a"), "permissionsBoundaryArn", S3_READ)),
    Case("boundary swapped for a narrower one", N, None, setter(saas("vendor-a"), "permissionsBoundaryArn", S3_READ),
         base_edit=setter(saas("vendor-a"), "permissionsBoundaryArn", S3_FULL)),
    Case("boundary swapped for a wider one", W, "vendor-a", setter(saas("vendor-a"), "permissionsBoundaryArn", S3_FULL),
         base_edit=setter(saas("vendor-a"), "permissionsBoundaryArn", S3_READ)),
    ),
    *section("serviceAccounts",
    Case("S3FullAccess replaced by S3ReadOnlyAccess", N, None, setter(sa, "policyArns", [S3_READ]),
         base_edit=setter(sa, "policyArns", [S3_FULL])),
    Case("S3ReadOnlyAccess replaced by S3FullAccess", W, "reader", setter(sa, "policyArns", [S3_FULL])),
    Case("new managed policy", W, "reader", setter(sa, "policyArns", [S3_READ, SQS_READ])),
    Case("managed policy removed", N, None, setter(sa, "policyArns", [])),
    Case("dataset refresh widens an attached policy", W, "reader", plan_edit=managed_was(S3_READ, drop_action("s3:Describe*"))),
    Case("dataset refresh narrows an attached policy", N, None, plan_edit=managed_was(S3_READ, add_action("sqs:ListQueues"))),
    Case("dataset refresh rewrites an attached policy", N, None, plan_edit=managed_was(S3_READ, reorder_statements)),
    ),
    # --- service accounts
    *section("serviceAccounts",
    Case("service account changed", W, "reader", setter(sa, "serviceAccount", "writer")),
    Case("service account subject added", W, "reader", setter(sa, "subjects", [
        {"cluster": "c1", "namespace": "batch", "serviceAccount": "reader"}])),
    Case("service account s3 write", W, "reader", setter(sa, "s3Write", ["acme-reports-sa"])),
    ),
    # --- OIDC roles
    *section("oidcRoles",
    Case("branch added", W, "deploy", setter(oidc("deploy"), "branches", ["main", "dev"])),
    Case("branch removed", N, None, setter(oidc("deploy"), "branches", ["main"]), base_edit=setter(oidc("deploy"), "branches", ["main", "dev"])),
    Case(":sub wildcard", W, "deploy", WILDCARD_SUB),
    Case(":sub wildcard narrowed to main", N, None, both(setter(oidc("deploy"), "repository", "acme/app"),
                                                         setter(oidc("deploy"), "branches", ["main"]),
                                                         dropper(oidc("deploy"), "allowWildcardSubject"), dropper(oidc("deploy"), "subjects")),
         base_edit=WILDCARD_SUB),
    Case("environment added", W, "deploy", setter(oidc("deploy"), "environments", ["prod"])),
    Case("pull requests trusted", W, "deploy", setter(oidc("deploy"), "pullRequests", True)),
    Case("repository id pinned", N, None, setter(oidc("deploy"), "repositoryId", 702146185)),
    Case("workflow pinned", N, None, setter(oidc("deploy"), "workflowRefs", ["acme/app/.github/workflows/deploy.yml@refs/heads/main"])),
    Case("oidc write location added", W, "deploy", setter(oidc("deploy"), "s3Write", ["acme-artifacts/app", "acme-artifacts/site"])),
    Case("workspace added", W, "tfc-net", setter(oidc("tfc-net"), "workspaces", ["net", "dns"])),
    Case("run phase added", W, "tfc-net", setter(oidc("tfc-net"), "runPhases", ["plan", "apply"])),
    Case("run phase removed", N, None, setter(oidc("tfc-net"), "runPhases", ["apply"]),
         base_edit=setter(oidc("tfc-net"), "runPhases", ["plan", "apply"])),
    ),
    # --- EC2 agents
    *section("ec2Agents",
    Case("session manager added", W, "runner", setter(runner, "ssm", True)),
    Case("session manager removed", N, None, setter(runner, "ssm", False), base_edit=setter(runner, "ssm", True)),
    Case("instance policy added", W, "runner", setter(runner, "policy", {"Version": "2012-10-17", "Statement": [
        {"Sid": "Cache", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/cache"}]})),
    Case("instance path changed", N, None, setter(runner, "path", "/hosts/")),
    ),
    # --- decisions: acceptances, blocked plans
    *section("saasRoles",
    Case("acceptance added: blocked base made deployable", W, None, accept(ACCEPT_TAGS), start="blocking"),
    Case("acceptance added to an advisory finding", W, None,
         accept({"check": "sensitive-actions-scoped", "sid": "Inventory", "reason": "inventory of every instance (SEC-7)"},
                "saasRoles", "vendor-a"),
         base_edit=both(setter(saas("vendor-a"), "allowWildcardResources", True),
                        setter(saas("vendor-a"), "policy", {"Version": "2012-10-17", "Statement": [
                            {"Sid": "Inventory", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": "*"}]}))),
    Case("acceptance reason reworded", N, None, setter(lambda c: entry(c, "ec2Agents", "tagger"), "acceptedFindings",
                                                        [{**ACCEPT_TAGS, "reason": "the tagger tags every instance (SEC-12, renewed)"}]),
         base_edit=accept(ACCEPT_TAGS), start="blocking"),
    Case("blocked base narrowed to deployable", W, None,
         setter(lambda c: entry(c, "ec2Agents", "tagger"), "policy", {"Version": "2012-10-17", "Statement": [
             {"Sid": "TagEverything", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
              "Resource": f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0123456789abcdef0"}]}), start="blocking"),
    ),
]
