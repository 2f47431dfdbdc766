"""Who a role trusts, read as a stack-file entry: the family and the keys that write that trust.

Three outcomes per role:
- `Left`: not a role a third party or pipeline uses (service-linked, trusted only by AWS services,
  trusted only by its own account's principals), left out with the reason;
- `Refused`: a third party's role whose trust no entry can write without widening or narrowing it
  beyond what agent-iam's own pins do (a wildcard principal, a SAML provider, a condition no key
  expresses, no pin at all), named with the reason;
- `Mapped`: the family and its keys, several candidates in order of preference (the stack config's
  own checks pick the first that passes), with notes on what agent-iam writes differently.

Only the shapes agent-iam writes are mapped: an entry writes the trust its component builds, and
the proof compares the two by meaning afterwards. Statements, principals and condition keys are
read with the guardrail rules' helpers; issuers with the OIDC issuer facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_iam.iam import issuers
from agent_iam.guardrails import rules
from agent_iam.iam import actions, arns

from .export import ExportedRole

# Actions and condition keys compare lower-cased (IAM matches both case-insensitively).
ASSUME_ROLE = "sts:assumerole"
WEB_IDENTITY = actions.ASSUME_ROLE_WITH_WEB_IDENTITY.lower()
EXTERNAL_ID = "sts:externalid"
PRINCIPAL_ARN = "aws:principalarn"
# Operators under which a condition value is matched as written; anything else is not what an entry writes.
EXACT, LIKE = "stringequals", "stringlike"
PATTERN_OPERATORS = frozenset({"arnlike", "arnequals", "stringlike", "stringequals"})


@dataclass(frozen=True)
class Left:
    """Not a role third parties or pipelines use; left out of the stack."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """A role third parties or pipelines use, whose trust no entry can write as it is."""

    reason: str


@dataclass(frozen=True)
class Cluster:
    """An EKS cluster an IRSA role trusts, known only by its OIDC issuer."""

    key: str  # the `agent-iam:clusters` key written for it
    issuer: str  # oidc.eks.<region>.amazonaws.com/id/<ID>
    provider_arn: str  # the provider in the role's account


@dataclass(frozen=True)
class Mapped:
    """The family and the trust keys of an entry, candidates in order of preference."""

    family: str
    candidates: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()
    cluster: Cluster | None = None
    oidc_provider_arn: str | None = None  # a CI issuer's provider the stack registers (and imports)
    vendor_account: str | None = None  # saasRoles: whose account it is (preset matching)
    subjects: tuple[str, ...] = field(default_factory=tuple)


Verdict = Left | Refused | Mapped


def _statements(trust: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The trust's statements, or None when it has none or one that is not an object."""
    raw = trust.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else None
    if not items or not all(isinstance(s, Mapping) for s in items):
        return None
    return [dict(s) for s in items]


def _principals(statements: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in statements:
        for kind, values in rules.principal_values(statement).items():
            found.setdefault(kind, []).extend(v for v in values if v not in found.get(kind, []))
    return found


def _actions(statement: Mapping[str, Any]) -> set[str]:
    return {a.lower() for a in rules.strings(statement.get("Action"))}


def _conditions(statement: Mapping[str, Any]) -> dict[str, dict[str, list[str]]] | None:
    """`{key: {operator: values}}` (both lower case), or None when the block is not IAM's shape."""
    condition = statement.get("Condition")
    if condition is None:
        return {}
    if not isinstance(condition, Mapping) or not all(isinstance(b, Mapping) for b in condition.values()):
        return None
    for block in condition.values():
        for values in block.values():
            if not (isinstance(values, (str, bool, int, float)) or (isinstance(values, list) and all(
                    isinstance(v, (str, bool, int, float)) for v in values))):
                return None
    return {key: {op.lower(): [str(v) for v in values] for op, values in ops.items()}
            for key, ops in rules.condition_keys(statement).items()}


def _as_written(statement: Mapping[str, Any], key: str) -> str:
    """`IpAddress aws:SourceIp`: a condition key and its operators as the statement spells them."""
    condition = statement.get("Condition") or {}
    operators = [op for op, block in condition.items() if any(k.lower() == key for k in block)]
    spelled = next((k for block in condition.values() for k in block if k.lower() == key), key)
    return f"{'/'.join(operators)} {spelled}"


def classify(role: ExportedRole, clusters: dict[str, Cluster]) -> Verdict:
    """What the role's trust is, as the importer treats it. `clusters` collects the EKS clusters
    IRSA roles trust (by issuer), so every role of one cluster names the same `clusters` key."""
    if role.service_linked:
        return Left(f"service-linked (path {role.path}): AWS owns its trust and permissions")
    statements = _statements(role.trust)
    if statements is None:
        return Refused("its trust policy has no statement agent-iam can read")
    if any(s.get("Effect") != "Allow" for s in statements):
        return Refused("its trust has a Deny (or an Effect that is not Allow); no entry writes one")
    if any("NotPrincipal" in s or "NotAction" in s for s in statements):
        return Refused("its trust uses NotPrincipal or NotAction (everyone but ...); no entry writes one")
    principals = _principals(statements)
    kinds = set(principals)
    if not kinds:
        return Refused("its trust names no principal")
    aws = principals.get("AWS", [])
    if "*" in kinds or "*" in aws:
        return Refused("its trust names a wildcard principal (any AWS principal); agent-iam never writes one")
    unique_ids = [p for p in aws if re.fullmatch(r"A[A-Z]{3}[A-Z0-9]{12,}", p)]
    if unique_ids:
        return Refused(f"its trust names {', '.join(unique_ids)}: the unique ID IAM leaves in a trust when the principal "
                       "it named was deleted (nobody can assume through it); remove it from the trust, then import")
    others = [p for p in aws if rules.account_of_principal(p) != role.account]
    if kinds == {"Service"}:
        return Left("trusted only by AWS services (" + ", ".join(principals["Service"]) + ")")
    if kinds == {"AWS"} and not others:
        return Left("trusted only by principals of its own account (" + ", ".join(aws) + ")")
    if kinds == {"AWS", "Service"} and not others:
        return Left("trusted only by AWS services (" + ", ".join(principals["Service"]) + ") and principals of its own "
                    "account (" + ", ".join(aws) + ")")
    if len(kinds) > 1:
        return Refused("its trust names " + " and ".join(sorted(kinds)) + " principals; an entry makes one kind of trust")
    if kinds == {"AWS"}:
        return _saas(role, statements, aws, others)
    if kinds == {"Federated"}:
        return _federated(role, statements, principals["Federated"], clusters)
    return Refused("its trust names " + ", ".join(sorted(kinds)) + " principals; no family trusts those")


# --- cross-account: saasRoles ---------------------------------------------------------


def _saas(role: ExportedRole, statements: list[dict[str, Any]], aws: list[str], others: list[str]) -> Verdict:
    if len(others) != len(aws):
        own = [p for p in aws if p not in others]
        return Refused(f"its trust names principals of its own account ({', '.join(own)}) and of another; "
                       "a saasRoles entry trusts one vendor")
    accounts = sorted({rules.account_of_principal(p) or "?" for p in aws})
    if len(accounts) != 1 or accounts[0] == "?":
        return Refused(f"its trust names principals of {len(accounts)} accounts ({', '.join(accounts)}); "
                       "a saasRoles entry trusts one vendor account")
    vendor = accounts[0]
    external_ids: set[tuple[str, ...]] = set()
    patterns: list[str] = []
    pattern_statements = 0
    for index, statement in enumerate(statements, 1):
        actions = _actions(statement)
        if actions != {ASSUME_ROLE}:
            extra = sorted(a for a in rules.strings(statement.get("Action")) if a.lower() != ASSUME_ROLE)
            return Refused(
                f"trust statement {index} allows {', '.join(extra) or 'no sts:AssumeRole'}; a saasRoles entry "
                "allows sts:AssumeRole only, and dropping an action the vendor may call would narrow its access"
            )
        conditions = _conditions(statement)
        if conditions is None:
            return Refused(f"trust statement {index} has a Condition block that is not IAM's shape")
        for key, operators in conditions.items():
            if key == EXTERNAL_ID and set(operators) == {EXACT} and len(operators[EXACT]) == 1:
                external_ids.add(tuple(operators[EXACT]))
            elif key == PRINCIPAL_ARN and set(operators) <= PATTERN_OPERATORS and len(operators) == 1:
                patterns += [v for v in next(iter(operators.values())) if v not in patterns]
                pattern_statements += 1
            else:
                return Refused(
                    f"trust statement {index} has the condition {_as_written(statement, key)}, which no saasRoles key writes "
                    "(agent-iam writes StringEquals sts:ExternalId with one value and ArnLike aws:PrincipalArn "
                    "patterns)"
                )
        if EXTERNAL_ID not in conditions:
            external_ids.add(())
    if len(external_ids) != 1:
        return Refused("its trust statements differ in their external IDs; a saasRoles entry has one externalId")
    external_id = next(iter(external_ids))
    if pattern_statements and pattern_statements != len(statements):
        return Refused("some trust statements pin aws:PrincipalArn and others do not; an entry writes one or the other")
    fields: dict[str, Any] = {}
    notes: list[str] = []
    roots = [p for p in aws if _is_root(p)]
    if patterns:
        if len(aws) != 1 or not roots:
            return Refused("its aws:PrincipalArn patterns narrow named roles, not the vendor's account; an entry "
                           "writes patterns on the account root")
        fields["vendor"] = {"accountId": vendor, "principalArnPatterns": patterns}
    elif len(aws) == 1:
        fields["vendor"] = {"accountId": vendor} if roots else {"principalArn": aws[0]}
    elif roots:
        return Refused("its trust names the vendor's account and some of its principals; an entry names one")
    else:
        # Several roles/users of one vendor: the account root narrowed to exactly them (ArnLike on
        # aws:PrincipalArn) grants the same principals; the proof checks it.
        fields["vendor"] = {"accountId": vendor, "principalArnPatterns": list(aws)}
        notes.append(f"the trust named {len(aws)} principals of account {vendor}; the entry names the account, "
                     "narrowed to exactly those principals by aws:PrincipalArn")
    if external_id:
        fields["externalId"] = external_id[0]
    elif not patterns and "principalArnPatterns" not in fields["vendor"]:
        return Refused(
            f"nothing pins who in account {vendor} may assume it (no sts:ExternalId, no aws:PrincipalArn): agent-iam "
            "writes such a trust only with allowUnconditionedAccountTrust and a reviewed agent-iam:trust-exemption "
            "tag, a decision for a reviewer, not the importer"
        )
    return Mapped("saasRoles", (fields,), tuple(notes), vendor_account=vendor)


def _is_root(principal: str) -> bool:
    return bool(arns.ACCOUNT_ID_RE.fullmatch(principal)) or principal.endswith(":root")


# --- web identity: oidcRoles and IRSA -------------------------------------------------


def _federated(role: ExportedRole, statements: list[dict[str, Any]], federated: list[str],
               clusters: dict[str, Cluster]) -> Verdict:
    if len(federated) != 1:
        return Refused(f"its trust names {len(federated)} identity providers ({', '.join(federated)}); an entry "
                       "trusts one issuer")
    provider_arn = federated[0]
    parsed = arns.parse(provider_arn)
    if parsed is None or not parsed.resource.startswith(issuers.PROVIDER_ARN_TYPE):
        what = "a SAML provider" if parsed is not None and parsed.resource.startswith("saml-provider/") else provider_arn
        return Refused(f"its trust names {what}; agent-iam trusts OIDC providers (oidcRoles, IRSA) only")
    if parsed.account != role.account:
        return Refused(f"its trust names the OIDC provider of account {parsed.account}; a role trusts a provider "
                       "of its own account")
    issuer = issuers.issuer_of(provider_arn).rstrip("/")
    subjects: dict[str, list[str]] = {}  # operator -> subjects
    audiences: set[str] = set()
    extra: dict[str, dict[str, list[str]]] = {}
    for index, statement in enumerate(statements, 1):
        if _actions(statement) != {WEB_IDENTITY}:
            written = ", ".join(rules.strings(statement.get("Action"))) or "no action"
            return Refused(f"trust statement {index} allows {written}; an OIDC entry allows "
                           "sts:AssumeRoleWithWebIdentity only")
        conditions = _conditions(statement)
        if conditions is None:
            return Refused(f"trust statement {index} has a Condition block that is not IAM's shape")
        prefix = issuer.lower() + ":"
        for key, operators in conditions.items():
            claim = key[len(prefix):] if key.startswith(prefix) else None
            if claim == "sub" and len(operators) == 1 and set(operators) <= {EXACT, LIKE}:
                operator, values = next(iter(operators.items()))
                subjects.setdefault(operator, []).extend(v for v in values if v not in subjects.get(operator, []))
            elif claim == "aud" and set(operators) == {EXACT} and len(operators[EXACT]) == 1:
                audiences.add(operators[EXACT][0])
            elif claim in ("repository_id", "job_workflow_ref") and len(operators) == 1 and set(operators) <= {EXACT, LIKE}:
                extra.setdefault(claim, {})
                for operator, values in operators.items():
                    extra[claim].setdefault(operator, []).extend(values)
            else:
                return Refused(f"trust statement {index} has the condition {_as_written(statement, key)}, which no entry "
                               "writes")
        if not any(k.startswith(prefix) and k.endswith(":sub") for k in conditions):
            return Refused(
                f"trust statement {index} pins no {issuer}:sub: every token the issuer signs could assume the role; "
                "agent-iam refuses a trust without a subject"
            )
    if len(subjects) > 1:
        return Refused("its trust statements pin :sub with both StringEquals and StringLike; an entry writes one")
    if len(audiences) > 1:
        return Refused(f"its trust statements pin {len(audiences)} audiences; an entry pins one")
    operator, values = next(iter(subjects.items()))
    if issuers.is_eks_issuer(issuer):
        return _irsa(role, issuer, provider_arn, values, audiences, extra, clusters, statements[0].get("Sid"))
    return _oidc(issuer, provider_arn, operator, values, audiences, extra)


def _oidc(issuer: str, provider_arn: str, operator: str, subjects: list[str], audiences: set[str],
          extra: dict[str, dict[str, list[str]]]) -> Verdict:
    url = f"https://{issuer}"
    family = issuers.issuer_family(issuers.GENERIC, url)
    if family == issuers.GENERIC and issuers.github_issuer_problem(url) is None:
        family = issuers.GITHUB  # a GitHub enterprise's own issuer, or GitHub Enterprise Server's
    notes: list[str] = []
    audience = next(iter(audiences), None)
    wildcard = operator == LIKE and any(arns.has_wildcard(s) for s in subjects)
    common: dict[str, Any] = {"subjects": list(subjects)}
    if wildcard:
        common["allowWildcardSubject"] = True
    if extra and family != issuers.GITHUB:
        return Refused(f"its trust pins {', '.join(sorted(extra))}, GitHub claims, on issuer {issuer}")
    github: dict[str, Any] = {}
    if "repository_id" in extra:
        values = extra["repository_id"]
        if set(values) != {EXACT} or len(values[EXACT]) != 1:
            return Refused("its trust pins :repository_id with a pattern or several values; an entry pins one ID")
        github["repositoryId"] = values[EXACT][0]
    if "job_workflow_ref" in extra:
        values = extra["job_workflow_ref"]
        refs = values.get(EXACT, []) + values.get(LIKE, [])
        if any(arns.has_wildcard(r) for r in refs):
            return Refused("its trust pins :job_workflow_ref with a pattern; workflowRefs are matched exactly")
        github["workflowRefs"] = refs
    candidates: list[dict[str, Any]] = []
    if family != issuers.GENERIC:
        default_url = issuers.default_issuer(family)
        fields = {"provider": family, **common, **github}
        if default_url is None or url.rstrip("/") != default_url:
            fields["issuerUrl"] = url
        default_audience = issuers.default_audience(family, fields.get("issuerUrl", default_url or url))
        if audience is not None and audience != default_audience:
            fields["audience"] = audience
        if audience is None:
            notes.append(f"the trust pinned no {issuer}:aud; agent-iam always pins it (to {default_audience!r}, "
                         f"{issuers.SPECS[family].title}'s default)")
        candidates.append(fields)
    if audience is None and family == issuers.GENERIC:
        return Refused(f"its trust pins no {issuer}:aud, and issuer {issuer} has no default audience agent-iam "
                       "could pin")
    if not github:
        # The customized subject templates of shared issuers are listed exactly under `generic`.
        if audience is None:  # a shared issuer: its default audience, as the first candidate pins
            audience = issuers.default_audience(family, issuers.default_issuer(family) or url)
        candidates.append({"provider": issuers.GENERIC, "issuerUrl": url, "audience": audience, **common})
    return Mapped("oidcRoles", tuple(candidates), tuple(notes), oidc_provider_arn=provider_arn,
                  subjects=tuple(subjects))


def cluster_key(issuer: str, sid: Any = None) -> str:
    """The `clusters` key for a cluster known by its issuer: the one whose trust Sid the role has
    (agent-iam names an IRSA statement `Irsa<Key>`: a role it made keeps its text), else
    `eks-<region>-<first 8 of the ID>`."""
    from agent_iam.components.policies import sid_part

    if isinstance(sid, str) and sid.startswith("Irsa") and len(sid) > 4:
        key = re.sub(r"(?<!^)([A-Z])", r"-\1", sid[4:]).lower()
        if sid_part(key) == sid[4:]:
            return key
    match = re.match(r"oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/id/([A-Za-z0-9]+)", issuer, re.IGNORECASE)
    region, ident = (match.group(1), match.group(2)) if match else ("cluster", issuer)
    return f"eks-{region}-{ident[:8].lower()}"


def _irsa(role: ExportedRole, issuer: str, provider_arn: str, subjects: list[str], audiences: set[str],
          extra: dict[str, dict[str, list[str]]], clusters: dict[str, Cluster], sid: Any) -> Verdict:
    if extra:
        return Refused(f"its trust pins {', '.join(sorted(extra))} on an EKS issuer")
    parsed = []
    for subject in subjects:
        if not subject.startswith(issuers.SERVICE_ACCOUNT_SUBJECT_PREFIX) or subject.count(":") != 3:
            return Refused(f"its trust's subject {subject!r} is not system:serviceaccount:<namespace>:<name>")
        namespace, name = subject[len(issuers.SERVICE_ACCOUNT_SUBJECT_PREFIX):].split(":")
        parsed.append((namespace, name))
    notes = []
    audience = next(iter(audiences), None)
    if audience is None:
        notes.append(f"the trust pinned no {issuer}:aud; agent-iam always pins it to {issuers.STS_AUDIENCE!r}")
    elif audience != issuers.STS_AUDIENCE:
        return Refused(f"its trust pins the audience {audience!r}; IRSA tokens carry {issuers.STS_AUDIENCE!r}")
    cluster = clusters.get(issuer)
    if cluster is None:
        cluster = Cluster(cluster_key(issuer, sid), issuer, provider_arn)
        taken = {c.key for c in clusters.values()}
        while cluster.key in taken:
            cluster = Cluster(cluster.key + "x", issuer, provider_arn)
        clusters[issuer] = cluster
    (namespace, name), rest = parsed[0], parsed[1:]
    fields: dict[str, Any] = {
        "mode": "irsa",
        "cluster": cluster.key,
        "namespace": namespace,
        "serviceAccount": name,
        "createServiceAccount": False,
    }
    if rest:
        fields["subjects"] = [{"cluster": cluster.key, "namespace": n, "serviceAccount": s} for n, s in rest]
    if any(arns.has_wildcard(p) for pair in parsed for p in pair):
        fields["allowWildcardSubject"] = True
    notes.append("createServiceAccount: false: the service account exists already; the import adopts the role only")
    return Mapped("serviceAccounts", (fields,), tuple(notes), cluster=cluster, subjects=tuple(subjects))
