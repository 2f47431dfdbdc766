"""The access report: who can assume each role, under which conditions, and what it may do.

Built from the plan's registered resources only (the same documents `pulumi up` would send),
so it is exact by construction; written as `build/<stack>/access.md` for pull-request review.
"""

from __future__ import annotations

import functools

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from .mocks import Registration

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY = "aws:iam/policy:Policy"

OPERATOR_WORDS = {
    "StringEquals": "equals",
    "StringLike": "matches",
    "StringNotEquals": "does not equal",
    "ArnEquals": "equals",
    "ArnLike": "matches",
    "Bool": "is",
    "NumericLessThanEquals": "is at most",
    "IpAddress": "is in",
}
SUBJECT_PREFIX = "system:serviceaccount:"
NODE_SHAPES = {"principal": ("([", "])"), "role": ("[", "]"), "resource": ("[(", ")]")}


@dataclass(frozen=True)
class Grant:
    """One allowed (or denied) set of actions of one service on a set of resources."""

    effect: str
    service: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[str, ...]
    source: str


@dataclass
class RoleAccess:
    arn: str
    name: str
    trust: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    aws_managed: list[str] = field(default_factory=list)
    boundary: str | None = None
    protected: bool = False


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    return json.loads(raw) if isinstance(raw, str) and raw else {"Statement": []}


def _code(value: str) -> str:
    return f"`{value}`"


def _value_words(key: str, values: list[Any]) -> str:
    if key == "sts:ExternalId":
        shown = "the configured secret value" if values == ["[secret]"] else _code(str(values[0]))
        return shown if len(values) == 1 else "one of the configured values"
    if len(values) == 1:
        return _code(str(values[0]))
    return "one of " + ", ".join(_code(str(v)) for v in values)


def condition_phrases(condition: dict[str, Any] | None) -> list[str]:
    """`{"StringEquals": {"aws:SourceAccount": "1"}}` -> ["`aws:SourceAccount` equals `1`"]."""
    phrases = []
    for operator, pairs in (condition or {}).items():
        base = operator.removeprefix("ForAnyValue:").removeprefix("ForAllValues:").removesuffix("IfExists")
        verb = OPERATOR_WORDS.get(base, f"satisfies {operator}")
        for key, value in pairs.items():
            phrases.append(f"{_code(key)} {verb} {_value_words(key, _as_list(value))}")
    return phrases


def _subjects(condition: dict[str, Any] | None) -> list[str]:
    """Kubernetes service accounts (`ns/name`) named by an OIDC `:sub` condition."""
    found = []
    for pairs in (condition or {}).values():
        for key, value in pairs.items():
            if key.endswith(":sub"):
                found += [v.removeprefix(SUBJECT_PREFIX).replace(":", "/", 1) for v in _as_list(value)]
    return found


def principal_phrases(principal: Any, own_account: str) -> list[str]:
    """Who a trust statement's principal is, in words."""
    if principal == "*":
        return ["ANYONE (wildcard principal)"]
    phrases = []
    for kind, values in (principal or {}).items():
        for value in _as_list(values):
            if kind == "Service":
                phrases.append(f"the AWS service {_code(value)}")
            elif kind == "Federated":
                phrases.append(f"tokens from the identity provider {_code(value)}")
            elif value == "*":
                phrases.append("ANYONE (wildcard principal)")
            else:
                account = value.split(":")[4] if value.count(":") >= 5 else value
                where = "this account" if account == own_account else f"account {account}"
                if value.endswith(":root") or re.fullmatch(r"\d{12}", value):
                    phrases.append(f"any principal of {where} that its IAM policies allow")
                else:
                    kind_word = value.split(":")[5].split("/")[0] if value.count(":") >= 5 else "principal"
                    phrases.append(f"the {kind_word} {_code(value)} ({where})")
    return phrases


def trust_sentence(role_arn: str, statement: dict[str, Any], own_account: str) -> str:
    who = " or ".join(principal_phrases(statement.get("Principal"), own_account))
    actions = ", ".join(_code(a) for a in _as_list(statement.get("Action")))
    subjects = _subjects(statement.get("Condition"))
    if subjects:
        accounts = " or ".join(_code(s) for s in subjects)
        who = f"pods running as the Kubernetes service account {accounts}, with {who},"
    conditions = condition_phrases(statement.get("Condition"))
    when = " when " + " and ".join(conditions) if conditions else " with NO condition"
    verb = "can" if statement.get("Effect", "Allow") == "Allow" else "is DENIED to"
    return f"{who} {verb} call {actions}{when}."


def grants_of(document: dict[str, Any], source: str) -> list[Grant]:
    """Each statement split by service, so a reviewer reads 's3: GetObject on ...'."""
    grants = []
    for statement in _as_list(document.get("Statement")):
        by_service: dict[str, list[str]] = defaultdict(list)
        for action in _as_list(statement.get("Action")) or _as_list(statement.get("NotAction")):
            service, _, verb = action.partition(":")
            by_service[service if verb else "*"].append(verb or action)
        for service, verbs in sorted(by_service.items()):
            grants.append(
                Grant(
                    effect=statement.get("Effect", "Allow"),
                    service=service,
                    actions=tuple(sorted(verbs)),
                    resources=tuple(_as_list(statement.get("Resource"))),
                    conditions=tuple(condition_phrases(statement.get("Condition"))),
                    source=source,
                )
            )
    return grants


def access_model(resources: Iterable[Registration]) -> list[RoleAccess]:
    """One entry per role, with its trust in words and its grants from every policy it has."""
    resources = list(resources)
    managed = {str(r.outputs.get("arn")): r for r in resources if r.type == MANAGED_POLICY}
    roles: dict[tuple[str, str], RoleAccess] = {}
    for resource in resources:
        if resource.type != ROLE:
            continue
        arn = str(resource.outputs.get("arn", ""))
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        name = str(resource.inputs.get("name") or resource.name)
        access = RoleAccess(
            arn=arn, name=name, boundary=resource.inputs.get("permissionsBoundary"), protected=resource.protect
        )
        for statement in _as_list(_document(resource.inputs.get("assumeRolePolicy")).get("Statement")):
            access.trust.append(trust_sentence(arn, statement, account))
            access.principals += principal_phrases(statement.get("Principal"), account)
        roles[(resource.provider or "", name)] = access
    for resource in resources:
        role = roles.get((resource.provider or "", str(resource.inputs.get("role"))))
        if role is None:
            continue
        if resource.type == ROLE_POLICY:
            source = f"inline policy {_code(str(resource.inputs.get('name')))}"
            role.grants += grants_of(_document(resource.inputs.get("policy")), source)
        elif resource.type == ATTACHMENT:
            policy_arn = str(resource.inputs.get("policyArn"))
            if policy_arn in managed:
                policy = managed[policy_arn]
                source = f"managed policy {_code(str(policy.inputs.get('name')))}"
                role.grants += grants_of(_document(policy.inputs.get("policy")), source)
            else:
                role.aws_managed.append(policy_arn)
    return sorted(roles.values(), key=lambda r: r.arn)


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("`", "") + '"'


def mermaid(model: list[RoleAccess]) -> str:
    """principal -> role -> resources, one node per distinct principal and resource."""
    lines = ["flowchart LR"]
    ids: dict[str, str] = {}

    def node(kind: str, label: str) -> str:
        key = f"{kind}:{label}"
        if key not in ids:
            ids[key] = f"n{len(ids)}"
            opening, closing = NODE_SHAPES[kind]
            lines.append(f"  {ids[key]}{opening}{_mermaid_label(label)}{closing}")
        return ids[key]

    for role in model:
        role_id = node("role", role.name)
        for principal in dict.fromkeys(role.principals):
            lines.append(f"  {node('principal', principal)} -->|assume| {role_id}")
        edges: dict[str, set[str]] = defaultdict(set)
        for grant in role.grants:
            if grant.effect != "Allow":
                continue
            for resource in grant.resources:
                edges[resource].update(f"{grant.service}:{action}" for action in grant.actions)
        for policy_arn in role.aws_managed:
            edges[policy_arn.rsplit("/", 1)[-1] + " (AWS managed policy)"].add("attached")
        for resource, services in sorted(edges.items()):
            lines.append(f"  {role_id} -->|{', '.join(sorted(services))}| {node('resource', resource)}")
    return "\n".join(lines)


@functools.cache
def _managed_summary(policy_arn: str) -> str:
    """What an AWS managed policy's current document grants on every resource (credential reads,
    PassRole, changes), from the managed-policy dataset; "" when nothing or unknown."""
    from agent_iam.guardrails.rules import describe_wide_grants
    from agent_iam.iam import managed_policies

    document = managed_policies.document(policy_arn)
    summary = describe_wide_grants(document) if document else ""
    return f": **{summary}**" if summary else ""


def render_access_report(stack: str, model: list[RoleAccess]) -> str:
    """Markdown for reviewers: trust in words, a grants table per role, and the diagram."""
    out = [f"# Access report: stack `{stack}`", ""]
    out.append(f"{len(model)} roles. Generated by `make plan` from the documents `pulumi up` would create.")
    out.append("")
    for role in model:
        facts = [f"Role {_code(role.arn)}."]
        if role.boundary:
            facts.append(f"Permissions boundary {_code(role.boundary)} caps everything below.")
        if role.protected:
            facts.append("Protected: Pulumi will not delete or replace it.")
        out += [f"## `{role.name}`", "", " ".join(facts), "", "**Who can assume it**", ""]
        out += [f"- {sentence}" for sentence in role.trust] or ["- nobody (empty trust policy)"]
        out += ["", "**What it can do**", ""]
        if role.grants:
            out += ["| effect | service | actions | resources | conditions | from |", "| --- | --- | --- | --- | --- | --- |"]
            for g in role.grants:
                resources = "<br>".join(_code(r) for r in g.resources)
                if "*" in g.resources:
                    resources += " **(every resource)**"
                out.append(
                    f"| {g.effect} | {g.service} | {', '.join(g.actions)} | {resources} | "
                    f"{'<br>'.join(g.conditions) or '-'} | {g.source} |"
                )
            out.append("")
        for policy_arn in role.aws_managed:
            out.append(f"- AWS managed policy {_code(policy_arn)} (contents maintained by AWS){_managed_summary(policy_arn)}")
        if not role.grants and not role.aws_managed:
            out.append("- nothing: no policy attached")
        if out[-1]:
            out.append("")
    out += ["## Diagram", "", "```mermaid", mermaid(model), "```", ""]
    return "\n".join(out)
