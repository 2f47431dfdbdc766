"""OIDC issuers: the one home of what agent-iam knows about each issuer of workload identity
tokens (GitHub Actions, GitLab, HCP Terraform, EKS clusters): its issuer URL and default audience,
its subject formats, the claim that fixes the owner, how an issuer is written in provider ARNs and
condition keys, and how a subject reads in words. Pure data and small pure functions, no Pulumi.

An issuer is labelled by what it is only when it is exactly that issuer (`family_of`: compared
without scheme, case or trailing slash): a look-alike host (`token.actions.githubusercontent.com.evil.example`)
or another instance (a GitHub Enterprise Server, a self-managed GitLab) is not called GitHub
Actions or GitLab, however its subjects are shaped.

Sources (checked 2026-11-29):
- GitHub Actions: https://docs.github.com/en/actions/reference/security/oidc ("Example subject
  claims") and https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws
  (issuer `https://token.actions.githubusercontent.com`, audience `sts.amazonaws.com`).
- GitLab CI: https://docs.gitlab.com/ci/cloud_services/aws/ (provider URL and audience are the
  instance URL; `sub` is `project_path:<group>/<project>:ref_type:<branch|tag>:ref:<ref>`).
- HCP Terraform: https://developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/aws-configuration
  (issuer `https://app.terraform.io`, audience `aws.workload.identity`, `sub`
  `organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>`).
- AWS STS provider-specific claim keys for GitHub (`repository_id`, `job_workflow_ref`, ...):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
  and https://aws.amazon.com/about-aws/whats-new/2026/01/aws-sts-supports-validation-identity-provider-claims/
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent_iam.iam.arns import has_wildcard

GITHUB, GITLAB, TERRAFORM_CLOUD, GENERIC = "github", "gitlab", "terraform-cloud", "generic"
PROVIDERS = (GITHUB, GITLAB, TERRAFORM_CLOUD, GENERIC)
EKS = "eks"  # an EKS cluster's issuer (IRSA): a family of its own, never a `provider` of an OIDC role

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
TERRAFORM_CLOUD_ISSUER = "https://app.terraform.io"
STS_AUDIENCE = "sts.amazonaws.com"
TERRAFORM_CLOUD_AUDIENCE = "aws.workload.identity"
RUN_PHASES = ("plan", "apply")
# The resource type of IAM's OIDC identity providers, in their ARNs:
# `arn:<partition>:iam::<account>:oidc-provider/<issuer host and path>`.
PROVIDER_ARN_TYPE = "oidc-provider/"
# Kubernetes service account tokens: `system:serviceaccount:<namespace>:<name>`.
SERVICE_ACCOUNT_SUBJECT_PREFIX = "system:serviceaccount:"

# EKS cluster issuers: `oidc.eks.<region>.amazonaws.com[.cn]/id/<ID>` (IRSA, not this family).
EKS_ISSUER_RE = re.compile(r"^oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/id/[A-Za-z0-9]+$", re.IGNORECASE)

# GitHub: owner 1-39 of [A-Za-z0-9-], repository [A-Za-z0-9._-]; refs without whitespace or ':'.
_GH_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_GH_REPO = r"[A-Za-z0-9._-]{1,100}"
GITHUB_REPOSITORY_RE = re.compile(rf"^(?P<owner>{_GH_OWNER})/(?P<repo>{_GH_REPO})$")
_GIT_REF = r"[^\s:~^\\]+"
_GH_ENVIRONMENT = r"[^:'\"`,;/\\]{1,255}"
GITHUB_SUBJECT_RE = re.compile(
    rf"^repo:(?P<repository>{_GH_OWNER}/{_GH_REPO}):"
    rf"(?:ref:refs/(?P<kind>heads|tags)/(?P<ref>{_GIT_REF})|environment:(?P<environment>{_GH_ENVIRONMENT})"
    r"|(?P<pull_request>pull_request))$"
)
GITHUB_PATTERN_RE = re.compile(rf"^repo:(?P<owner>{_GH_OWNER})/(?P<rest>\S+)$")
GITHUB_REPOSITORY_ID_RE = re.compile(r"^[0-9]{1,20}$")
# job_workflow_ref: <owner>/<repo>/<path to the workflow file>@<ref>
GITHUB_WORKFLOW_REF_RE = re.compile(rf"^{_GH_OWNER}/{_GH_REPO}/\.github/workflows/[^@\s]+\.ya?ml@{_GIT_REF}$")
GITHUB_WORKFLOW_FILE_RE = re.compile(r"^\.github/workflows/[^@\s*?]+\.ya?ml$")

# GitLab: project paths are group[/subgroup...]/project of [A-Za-z0-9_.-].
_GL_PATH = r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+"
GITLAB_PROJECT_PATH_RE = re.compile(rf"^{_GL_PATH}$")
GITLAB_SUBJECT_RE = re.compile(
    rf"^project_path:(?P<project>{_GL_PATH}):ref_type:(?P<kind>branch|tag):ref:(?P<ref>{_GIT_REF})$"
)
GITLAB_PATTERN_RE = re.compile(r"^project_path:(?P<group>[A-Za-z0-9_.-]+)/(?P<rest>\S+)$")

# HCP Terraform: organization and workspace names are [A-Za-z0-9_-]; project names may hold spaces.
_TFC_NAME = r"[A-Za-z0-9_-]{1,90}"
_TFC_PROJECT = r"[A-Za-z0-9_ -]{1,40}"
TFC_NAME_RE = re.compile(rf"^{_TFC_NAME}$")
TFC_PROJECT_RE = re.compile(rf"^{_TFC_PROJECT}$")
TFC_SUBJECT_RE = re.compile(
    rf"^organization:(?P<organization>{_TFC_NAME}):project:(?P<project>{_TFC_PROJECT}):"
    rf"workspace:(?P<workspace>{_TFC_NAME}):run_phase:(?P<phase>plan|apply)$"
)
TFC_PATTERN_RE = re.compile(rf"^organization:(?P<organization>{_TFC_NAME}):(?P<rest>.+)$")


@dataclass(frozen=True)
class ProviderSpec:
    """What agent-iam knows about one issuer family."""

    name: str
    title: str  # as a reviewer reads it ("GitHub Actions")
    issuer_url: str | None  # the default issuer (None: generic, the entry gives it)
    audience: str | None  # the default audience (None: the issuer URL, or the entry gives it)
    subject_format: str  # documented shape, for error messages
    runs: str  # what presents the tokens ("GitHub Actions runs")


SPECS: dict[str, ProviderSpec] = {
    GITHUB: ProviderSpec(
        GITHUB,
        "GitHub Actions",
        GITHUB_ISSUER,
        STS_AUDIENCE,
        "repo:<owner>/<repo>:ref:refs/heads/<branch> | :ref:refs/tags/<tag> | :environment:<name> | :pull_request",
        "GitHub Actions runs",
    ),
    GITLAB: ProviderSpec(
        GITLAB,
        "GitLab CI/CD",
        GITLAB_ISSUER,
        None,  # GitLab's AWS guide: the audience is the instance URL
        "project_path:<group>/<project>:ref_type:<branch|tag>:ref:<ref>",
        "GitLab CI jobs",
    ),
    TERRAFORM_CLOUD: ProviderSpec(
        TERRAFORM_CLOUD,
        "HCP Terraform",
        TERRAFORM_CLOUD_ISSUER,
        TERRAFORM_CLOUD_AUDIENCE,
        "organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>",
        "HCP Terraform runs",
    ),
    GENERIC: ProviderSpec(GENERIC, "OIDC", None, None, "the exact `sub` claim your issuer sets", "tokens"),
}


def issuer_host_path(url: str) -> str:
    """`https://gitlab.example.com/` -> `gitlab.example.com`: the form used in provider ARNs and
    in the `<issuer>:sub` / `<issuer>:aud` condition keys."""
    return url.removeprefix("https://").rstrip("/")


def normalised(url: str) -> str:
    """An issuer as compared with a known one: host and path, without scheme, case or trailing slash."""
    return issuer_host_path(url.strip().lower()).rstrip("/")


def provider_arn(partition: str, account_id: str, issuer: str) -> str:
    """The ARN of an account's IAM OIDC provider for `issuer` (a URL or its host and path)."""
    return f"arn:{partition}:iam::{account_id}:{PROVIDER_ARN_TYPE}{issuer_host_path(issuer)}"


def issuer_of(value: str) -> str:
    """The issuer a Federated principal names, as the condition keys spell it:
    `arn:aws:iam::1:oidc-provider/oidc.eks.x/id/AB` -> `oidc.eks.x/id/AB`; a bare issuer
    (`accounts.google.com`) stays as it is."""
    marker = ":" + PROVIDER_ARN_TYPE
    return value.split(marker, 1)[1] if marker in value else value


def is_eks_issuer(url: str) -> bool:
    return bool(EKS_ISSUER_RE.match(normalised(url)))


def family_of(issuer: str | None) -> str | None:
    """What an issuer is: GITHUB, GITLAB or TERRAFORM_CLOUD when it is exactly that service's shared
    issuer, EKS for an EKS cluster's issuer; None for any other (a look-alike host, a GitHub
    Enterprise Server, a self-managed GitLab, Terraform Enterprise, a generic issuer)."""
    if not issuer:
        return None
    host = normalised(issuer)
    for name, spec in SPECS.items():
        if spec.issuer_url and issuer_host_path(spec.issuer_url) == host:
            return name
    return EKS if EKS_ISSUER_RE.match(host) else None


def default_issuer(provider: str) -> str | None:
    return SPECS[provider].issuer_url


def default_audience(provider: str, issuer_url: str) -> str:
    """The audience a provider's tokens carry by default (GitLab: the instance URL)."""
    return SPECS[provider].audience or issuer_url.rstrip("/")


def github_issuer_problem(url: str) -> str | None:
    """GitHub's issuers: github.com (optionally an enterprise's unique issuer
    `.../<enterprise>`), or GitHub Enterprise Server's `https://<host>/_services/token`."""
    url = url.rstrip("/")
    if url == GITHUB_ISSUER or re.fullmatch(re.escape(GITHUB_ISSUER) + r"/[A-Za-z0-9-]+", url):
        return None
    if re.fullmatch(r"https://[A-Za-z0-9.-]+/_services/token", url):
        return None
    return (
        f"is not a GitHub Actions issuer ({GITHUB_ISSUER}, {GITHUB_ISSUER}/<enterprise> or "
        "https://<GHES host>/_services/token); use provider: generic for another issuer"
    )


# --- subjects ----------------------------------------------------------------------


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a Kubernetes service account's token: `system:serviceaccount:<namespace>:<name>`."""
    return f"{SERVICE_ACCOUNT_SUBJECT_PREFIX}{namespace}:{service_account}"


def github_subjects(
    repository: str, branches: Sequence[str] = (), environments: Sequence[str] = (), pull_requests: bool = False
) -> list[str]:
    """The `sub` claims GitHub sets for runs of `repository` on these branches, in these
    environments, and for pull requests (GitHub's default subject template)."""
    subjects = [f"repo:{repository}:ref:refs/heads/{b}" for b in branches]
    subjects += [f"repo:{repository}:environment:{e}" for e in environments]
    if pull_requests:
        subjects.append(f"repo:{repository}:pull_request")
    return subjects


def gitlab_subjects(project_path: str, branches: Sequence[str] = (), tags: Sequence[str] = ()) -> list[str]:
    """The `sub` claims GitLab sets for jobs of `project_path` on these branches and tags."""
    subjects = [f"project_path:{project_path}:ref_type:branch:ref:{b}" for b in branches]
    subjects += [f"project_path:{project_path}:ref_type:tag:ref:{t}" for t in tags]
    return subjects


def terraform_cloud_subjects(
    organization: str, project: str, workspaces: Sequence[str], run_phases: Sequence[str] = RUN_PHASES
) -> list[str]:
    """The `sub` claims HCP Terraform sets for runs of these workspaces in these phases."""
    return [
        f"organization:{organization}:project:{project}:workspace:{w}:run_phase:{p}"
        for w in workspaces
        for p in run_phases
    ]


def issuer_family(provider: str, issuer_url: str) -> str:
    """The family whose subject patterns a role's tokens follow: the provider, or for
    `generic` on a shared issuer (github.com's, gitlab.com, app.terraform.io; host compared
    case-insensitively, trailing slash ignored) that issuer's family, so naming the issuer under
    `generic` does not loosen the owner-fixed rule for patterns."""
    if provider != GENERIC:
        return provider
    family = family_of(issuer_url)
    return family if family in OWNER_PREFIXES else provider


def subject_problem(provider: str, subject: str, *, allow_wildcard: bool, issuer_url: str = "") -> str | None:
    """Why `subject` cannot pin a trust of `provider`'s tokens (None when it can).

    Exact subjects must have the provider's documented shape. Patterns (`*`, `?`) need the
    opt-in, and must keep the owner part fixed (a GitHub owner, a GitLab top-level group, a
    Terraform organization; for other issuers a fixed start), so no pattern reaches every
    repository, project or organization of a shared issuer; what follows the owner must name
    something (`repo:acme/*:*` is `repo:acme/*` spelled otherwise). A generic role on a shared
    issuer (`issuer_url`) gets that issuer's pattern rule.
    """
    if not subject or subject != subject.strip() or any(ord(c) < 32 for c in subject):
        return "is empty or has leading/trailing white space or control characters"
    spec = SPECS[provider]
    if has_wildcard(subject):
        if not allow_wildcard:
            return (
                "holds a wildcard: the role would trust every matching token; name the exact subject, "
                "or set allowWildcardSubject: true to accept that"
            )
        family = issuer_family(provider, issuer_url)
        fixed = {
            GITHUB: GITHUB_PATTERN_RE,
            GITLAB: GITLAB_PATTERN_RE,
            TERRAFORM_CLOUD: TFC_PATTERN_RE,
        }.get(family)
        if fixed is not None:
            family_spec = SPECS[family]
            match = fixed.match(subject)
            if not match or has_wildcard(subject[: match.start("rest")]) or not _names_something(match.group("rest")):
                return (
                    f"a {family_spec.title} pattern keeps the owner fixed and names something under it "
                    f"({family_spec.subject_format}, with * only after the owner)"
                )
        elif has_wildcard(subject[:1]) or len(subject.split("*")[0].split("?")[0]) < 3:
            return "a pattern must start with at least 3 fixed characters"
        return None
    exact = {GITHUB: GITHUB_SUBJECT_RE, GITLAB: GITLAB_SUBJECT_RE, TERRAFORM_CLOUD: TFC_SUBJECT_RE}.get(provider)
    if exact is not None and not exact.match(subject):
        return f"does not have the shape of a {spec.title} subject ({spec.subject_format})"
    return None


# The claim that starts each shared issuer's default subject, followed by the owner.
OWNER_PREFIXES = {GITHUB: "repo:", GITLAB: "project_path:", TERRAFORM_CLOUD: "organization:"}


def pattern_reaches_any_owner(pattern: str) -> bool:
    """Whether a `:sub` pattern (StringLike) matches the subjects of owners nobody chose: its fixed
    start stops before a GitHub owner, GitLab top-level group or Terraform organization is named
    (`*:ref:refs/heads/main`, `rep*`, `repo:*/app:...`, `repo:ac*`). On a shared issuer anyone
    can create such an owner and mint a token that matches. Judged by the subject's shape, so it
    holds for roles agent-iam did not make and whatever the issuer is called."""
    if not has_wildcard(pattern):
        return False
    head = re.split(r"[*?]", pattern, maxsplit=1)[0]
    for family, prefix in OWNER_PREFIXES.items():
        if len(head) < len(prefix) and prefix.startswith(head):
            return True
        if head.startswith(prefix):
            fixed = {GITHUB: GITHUB_PATTERN_RE, GITLAB: GITLAB_PATTERN_RE, TERRAFORM_CLOUD: TFC_PATTERN_RE}[family]
            match = fixed.match(pattern)
            return not match or has_wildcard(pattern[: match.start("rest")])
    return False


def _names_something(rest: str) -> bool:
    """Whether the part of a pattern after its owner holds more than wildcards and the claim's
    separators (`*`, `*:*`, `*/*` all match every subject of the owner)."""
    return bool(re.sub(r"[*?:/]", "", rest))


def describe_subjects(issuer: str, subjects: Sequence[str]) -> str:
    """Who presents an issuer's tokens with these subjects, as a reviewer reads it: "GitHub Actions
    runs of `acme/app` on branch `main`" (GitHub's issuer), "pods running as the Kubernetes service
    account `ns/name` or `ns/other`" (an EKS cluster's issuer). Only the issuer itself earns its
    name (`family_of`): the same subjects from any other issuer are quoted with the issuer."""
    family = family_of(issuer)
    if family == EKS and subjects and all(s.startswith(SERVICE_ACCOUNT_SUBJECT_PREFIX) for s in subjects):
        accounts = " or ".join(
            f"`{s.removeprefix(SERVICE_ACCOUNT_SUBJECT_PREFIX).replace(':', '/', 1)}`" for s in subjects
        )
        return f"pods running as the Kubernetes service account {accounts}"
    return " or ".join(describe_subject(s, issuer) for s in subjects)


def describe_subject(subject: str, issuer: str) -> str:
    """One subject of `issuer`'s tokens in words (see `describe_subjects`)."""
    words = _family_words(family_of(issuer), subject)
    if words:
        return words
    how = "matching" if has_wildcard(subject) else "with subject"
    return f"tokens of `{issuer_host_path(issuer)}` {how} `{subject}`"


def _family_words(family: str | None, subject: str) -> str | None:
    """`subject` in words as an issuer of `family` sets it; None when it does not have that family's shape."""
    if family == GITHUB and (m := GITHUB_SUBJECT_RE.match(subject)):
        where = (
            f"on branch `{m['ref']}`" if m["kind"] == "heads"
            else f"on tag `{m['ref']}`" if m["kind"] == "tags"
            else f"in environment `{m['environment']}`" if m["environment"]
            else "for pull requests"
        )
        return f"GitHub Actions runs of `{m['repository']}` {where}"
    if family == GITLAB and (m := GITLAB_SUBJECT_RE.match(subject)):
        return f"GitLab CI jobs of `{m['project']}` on {m['kind']} `{m['ref']}`"
    if family == TERRAFORM_CLOUD and (m := TFC_SUBJECT_RE.match(subject)):
        return (
            f"HCP Terraform {m['phase']} runs of workspace `{m['workspace']}` "
            f"(project `{m['project']}`, organization `{m['organization']}`)"
        )
    pattern = {GITHUB: GITHUB_PATTERN_RE, GITLAB: GITLAB_PATTERN_RE, TERRAFORM_CLOUD: TFC_PATTERN_RE}.get(family)
    if pattern is not None and has_wildcard(subject) and pattern.match(subject):
        return f"{SPECS[family].runs} matching `{subject}`"
    return None
