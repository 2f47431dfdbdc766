"""OIDC issuers: the one home of what agent-iam knows about each issuer of workload identity
tokens (GitHub Actions, GitLab, HCP Terraform, CircleCI, Bitbucket Pipelines, Buildkite, Spacelift,
EKS clusters): its issuer URL and default audience, its subject formats, the claims that fix the
owner on an issuer every customer shares (`owner_problem`, which the components' checks and the
guardrail rule both call), how an issuer is written in provider ARNs and condition keys, and how a
subject reads in words. Pure data and small pure functions, no Pulumi.

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
- GitHub's customized subject templates (`repository_owner:<owner>:environment:<env>`, `:` in values
  escaped as `%3A`) and the advice to require `repository_owner_id`:
  https://docs.github.com/en/actions/reference/security/oidc ("Customizing the token claims").
- CircleCI (checked 2026-12-08): https://circleci.com/docs/openid-connect-tokens/ (issuer
  `https://oidc.circleci.com/org/<organization ID>`, one per organization; audience the organization
  ID; `sub` `org/<organization ID>/project/<project ID>/user/<user ID>`, with `/vcs-origin/<origin>/vcs-ref/<ref>`
  in `$CIRCLE_OIDC_TOKEN_V2`; the AWS trust pins a project with StringLike `.../user/*`).
- Bitbucket Pipelines (checked 2026-12-08): https://support.atlassian.com/bitbucket-cloud/docs/integrate-pipelines-with-resource-servers-using-oidc/
  and .../deploy-on-aws-using-bitbucket-pipelines-openid-connect/ (issuer, one per workspace,
  `https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc`; audience
  `ari:cloud:bitbucket::workspace/<workspace UUID>`; `sub` `{<repository UUID>}:{<step UUID>}`, or with a
  deployment environment `{<repository UUID>}:{<environment UUID>}:{<step UUID>}`).
- Buildkite (checked 2026-12-08): https://buildkite.com/docs/pipelines/security/oidc/aws (issuer
  `https://agent.buildkite.com`, shared; audience `sts.amazonaws.com`; the trust allows `sts:TagSession`
  and pins `aws:RequestTag/organization_slug`, `organization_id`, `pipeline_slug` and optionally
  `aws:SourceIp`; `sub` `organization:<org>:pipeline:<pipeline>:ref:<ref>:commit:<commit>:step:<step>`).
- Spacelift (checked 2026-12-08): https://docs.spacelift.io/integrations/cloud-providers/oidc/aws-oidc
  (issuer `https://<account>.app.spacelift.io`, one per account; audience `<account>.app.spacelift.io`;
  `sub` `space:<space>:stack:<stack>:run_type:<type>:scope:<read|write>`, `module:` for modules).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_iam.iam.actions import ASSUME_ROLE_WITH_WEB_IDENTITY
from agent_iam.iam.arns import has_wildcard

GITHUB, GITLAB, TERRAFORM_CLOUD, GENERIC = "github", "gitlab", "terraform-cloud", "generic"
CIRCLECI, BITBUCKET, BUILDKITE, SPACELIFT = "circleci", "bitbucket", "buildkite", "spacelift"
PROVIDERS = (GITHUB, GITLAB, TERRAFORM_CLOUD, CIRCLECI, BITBUCKET, BUILDKITE, SPACELIFT, GENERIC)
EKS = "eks"  # an EKS cluster's issuer (IRSA): a family of its own, never a `provider` of an OIDC role

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
TERRAFORM_CLOUD_ISSUER = "https://app.terraform.io"
BUILDKITE_ISSUER = "https://agent.buildkite.com"
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

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# CircleCI: an issuer per organization; `sub` names it again, then the project and the user.
CIRCLECI_ISSUER_RE = re.compile(rf"^oidc\.circleci\.com/org/(?P<tenant>{_UUID})$")
CIRCLECI_SUBJECT_RE = re.compile(
    rf"^org/(?P<organization>{_UUID})/project/(?P<project>{_UUID})/user/(?P<user>{_UUID})"
    r"(?:/vcs-origin/[^\s*?]+/vcs-ref/[^\s*?]+)?$"
)
CIRCLECI_PATTERN_RE = re.compile(rf"^org/(?P<organization>{_UUID})/(?P<rest>.+)$")
# Bitbucket Pipelines: an issuer per workspace; `sub` is the repository, [the environment,] the step.
BITBUCKET_ISSUER_RE = re.compile(
    r"^api\.bitbucket\.org/2\.0/workspaces/(?P<tenant>[A-Za-z0-9_.-]+)/pipelines-config/identity/oidc$"
)
BITBUCKET_AUDIENCE_RE = re.compile(rf"^ari:cloud:bitbucket::workspace/{_UUID}$")
BITBUCKET_SUBJECT_RE = re.compile(rf"^\{{(?P<repository>{_UUID})\}}(?::\{{{_UUID}\}}){{1,2}}$")
# The workspace (the owner) is the issuer's, so a pattern's repository is already something under it:
# `{<repository UUID>}:*` (every step of one repository) names it, as Atlassian's AWS page pins it.
BITBUCKET_PATTERN_RE = re.compile(rf"^(?P<rest>\{{(?P<repository>{_UUID})\}}:.+)$")
# Buildkite: one issuer for every organization; `sub` starts with the organization's slug.
_BK_SLUG = r"[a-z0-9](?:[a-z0-9-]{0,99})"
BUILDKITE_SLUG_RE = re.compile(rf"^{_BK_SLUG}$")
BUILDKITE_SUBJECT_RE = re.compile(
    rf"^organization:(?P<organization>{_BK_SLUG}):pipeline:(?P<pipeline>{_BK_SLUG}):ref:(?P<ref>[^\s:]*)"
    r":commit:(?P<commit>[0-9a-fA-F]{0,40}|HEAD):step:(?P<step>[^\s:]*)$"
)
BUILDKITE_PATTERN_RE = re.compile(rf"^organization:(?P<organization>{_BK_SLUG}):(?P<rest>.+)$")
# Spacelift: an issuer per account (`<account>.app.spacelift.io`); `sub` names the space and the stack or module.
SPACELIFT_ISSUER_RE = re.compile(r"^(?P<tenant>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.app\.spacelift\.io$")
SPACELIFT_SUBJECT_RE = re.compile(
    r"^space:(?P<space>[A-Za-z0-9_-]+):(?P<kind>stack|module):(?P<stack>[A-Za-z0-9_-]+)"
    r":run_type:(?P<run_type>[A-Z_]+):scope:(?P<scope>read|write)$"
)
SPACELIFT_PATTERN_RE = re.compile(r"^space:(?P<space>[A-Za-z0-9_-]+):(?P<rest>.+)$")

# Session tags the token carries (`https://aws.amazon.com/tags`) are request tags of the call: the
# trust allows `sts:TagSession` and pins `aws:RequestTag/<tag>` (Buildkite's documented trust).
REQUEST_TAG_PREFIX = "aws:RequestTag/"
TAG_SESSION = "sts:TagSession"
WEB_IDENTITY = ASSUME_ROLE_WITH_WEB_IDENTITY


@dataclass(frozen=True)
class ProviderSpec:
    """What agent-iam knows about one issuer family."""

    name: str
    title: str  # as a reviewer reads it ("GitHub Actions")
    issuer_url: str | None  # the default issuer (None: generic, the entry gives it)
    audience: str | None  # the default audience (None: the issuer URL, or the entry gives it)
    subject_format: str  # documented shape, for error messages
    runs: str  # what presents the tokens ("GitHub Actions runs")
    subject_re: re.Pattern[str] | None = None  # the documented shape of an exact subject
    pattern_re: re.Pattern[str] | None = None  # a pattern keeps the owner fixed: its `rest` follows the owner
    # An issuer of its own per customer (CircleCI organization, Bitbucket workspace, Spacelift account):
    # the issuer itself fixes the owner. Its host and path, `tenant` naming the customer.
    tenant_issuer_re: re.Pattern[str] | None = None
    issuer_format: str = ""  # the tenant issuer's documented shape, for error messages
    # One issuer every customer shares (github.com, gitlab.com, app.terraform.io, Buildkite): a trust must
    # pin the owner, by a claim (`<issuer>:<claim>`), a session tag (`aws:RequestTag/<tag>`), or `:sub`.
    shared: bool = False
    owner: str = ""  # the owner in words ("repository owner")
    owner_claims: tuple[str, ...] = ()  # claims STS takes as condition keys that fix the owner
    claims: tuple[str, ...] = ()  # every claim STS takes as a condition key for the issuer (`claims` Args)
    owner_tags: tuple[str, ...] = ()  # session tags that fix the owner
    run_tags: tuple[str, ...] = ()  # session tags that name the runs, as a `:sub` pin would


SPECS: dict[str, ProviderSpec] = {
    GITHUB: ProviderSpec(
        GITHUB,
        "GitHub Actions",
        GITHUB_ISSUER,
        STS_AUDIENCE,
        "repo:<owner>/<repo>:ref:refs/heads/<branch> | :ref:refs/tags/<tag> | :environment:<name> | :pull_request",
        "GitHub Actions runs",
        subject_re=GITHUB_SUBJECT_RE,
        pattern_re=GITHUB_PATTERN_RE,
        shared=True,
        owner="repository owner",
        owner_claims=("repository_owner", "repository_owner_id", "repository", "repository_id"),
        claims=("repository_owner", "repository_owner_id", "repository", "repository_id", "job_workflow_ref"),
    ),
    GITLAB: ProviderSpec(
        GITLAB,
        "GitLab CI/CD",
        GITLAB_ISSUER,
        None,  # GitLab's AWS guide: the audience is the instance URL
        "project_path:<group>/<project>:ref_type:<branch|tag>:ref:<ref>",
        "GitLab CI jobs",
        subject_re=GITLAB_SUBJECT_RE,
        pattern_re=GITLAB_PATTERN_RE,
        shared=True,
        owner="top-level group",
        owner_claims=("namespace_path", "namespace_id", "project_path", "project_id"),
        claims=("namespace_path", "namespace_id", "project_path", "project_id"),
    ),
    TERRAFORM_CLOUD: ProviderSpec(
        TERRAFORM_CLOUD,
        "HCP Terraform",
        TERRAFORM_CLOUD_ISSUER,
        TERRAFORM_CLOUD_AUDIENCE,
        "organization:<org>:project:<project>:workspace:<workspace>:run_phase:<plan|apply>",
        "HCP Terraform runs",
        subject_re=TFC_SUBJECT_RE,
        pattern_re=TFC_PATTERN_RE,
        shared=True,
        owner="organization",
    ),
    CIRCLECI: ProviderSpec(
        CIRCLECI,
        "CircleCI",
        None,  # one issuer per organization: https://oidc.circleci.com/org/<organization ID>
        None,  # the organization ID (the issuer's)
        "org/<organization ID>/project/<project ID>/user/<user ID>[/vcs-origin/<origin>/vcs-ref/<ref>]",
        "CircleCI jobs",
        subject_re=CIRCLECI_SUBJECT_RE,
        pattern_re=CIRCLECI_PATTERN_RE,
        tenant_issuer_re=CIRCLECI_ISSUER_RE,
        issuer_format="https://oidc.circleci.com/org/<organization ID>",
    ),
    BITBUCKET: ProviderSpec(
        BITBUCKET,
        "Bitbucket Pipelines",
        None,  # one issuer per workspace
        None,  # ari:cloud:bitbucket::workspace/<workspace UUID>, shown with the issuer in Bitbucket
        "{<repository UUID>}:{<step UUID>} | {<repository UUID>}:{<environment UUID>}:{<step UUID>}",
        "Bitbucket Pipelines steps",
        subject_re=BITBUCKET_SUBJECT_RE,
        pattern_re=BITBUCKET_PATTERN_RE,
        tenant_issuer_re=BITBUCKET_ISSUER_RE,
        issuer_format="https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc",
    ),
    BUILDKITE: ProviderSpec(
        BUILDKITE,
        "Buildkite",
        BUILDKITE_ISSUER,
        STS_AUDIENCE,
        "organization:<org>:pipeline:<pipeline>:ref:<ref>:commit:<commit>:step:<step>",
        "Buildkite jobs",
        subject_re=BUILDKITE_SUBJECT_RE,
        pattern_re=BUILDKITE_PATTERN_RE,
        shared=True,
        owner="organization",
        owner_tags=("organization_slug", "organization_id"),
        run_tags=("pipeline_slug",),
    ),
    SPACELIFT: ProviderSpec(
        SPACELIFT,
        "Spacelift",
        None,  # one issuer per account: https://<account>.app.spacelift.io
        None,  # the issuer's host
        "space:<space>:stack:<stack>:run_type:<type>:scope:<read|write> (module:<module> for modules)",
        "Spacelift runs",
        subject_re=SPACELIFT_SUBJECT_RE,
        pattern_re=SPACELIFT_PATTERN_RE,
        tenant_issuer_re=SPACELIFT_ISSUER_RE,
        issuer_format="https://<account>.app.spacelift.io",
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
    """What an issuer is: GITHUB, GITLAB, TERRAFORM_CLOUD or BUILDKITE when it is exactly that
    service's shared issuer, CIRCLECI, BITBUCKET or SPACELIFT when it has the shape of one
    customer's issuer of that service, EKS for an EKS cluster's issuer; None for any other (a
    look-alike host, a GitHub Enterprise Server, a self-managed GitLab, Terraform Enterprise, a
    generic issuer)."""
    if not issuer:
        return None
    host = normalised(issuer)
    for name, spec in SPECS.items():
        if spec.issuer_url and issuer_host_path(spec.issuer_url) == host:
            return name
        if spec.tenant_issuer_re is not None and spec.tenant_issuer_re.match(host):
            return name
    return EKS if EKS_ISSUER_RE.match(host) else None


def tenant_of(provider: str, issuer: str) -> str | None:
    """The customer a per-customer issuer names (CircleCI organization ID, Bitbucket workspace,
    Spacelift account), lower-cased; None when `issuer` is not one of `provider`'s."""
    pattern = SPECS[provider].tenant_issuer_re if provider in SPECS else None
    match = pattern.match(normalised(issuer)) if pattern is not None and issuer else None
    return match.group("tenant") if match else None


def default_issuer(provider: str) -> str | None:
    return SPECS[provider].issuer_url


def default_audience(provider: str, issuer_url: str) -> str | None:
    """The audience a provider's tokens carry by default: GitLab's the instance URL, CircleCI's the
    organization ID, Spacelift's the issuer's host; Bitbucket's is the workspace's UUID, which only
    Bitbucket shows (None: the entry gives it)."""
    if SPECS[provider].audience:
        return SPECS[provider].audience
    if provider == CIRCLECI:
        return tenant_of(provider, issuer_url)
    if provider == SPACELIFT:
        return issuer_host_path(issuer_url.rstrip("/")) if tenant_of(provider, issuer_url) else None
    if provider == BITBUCKET:
        return None
    return issuer_url.rstrip("/")


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
    `generic` on a known issuer (github.com's, gitlab.com, app.terraform.io, Buildkite's, a
    CircleCI, Bitbucket or Spacelift customer's; host compared case-insensitively, trailing slash
    ignored) that issuer's family, so naming the issuer under `generic` does not loosen the
    owner-fixed rule for patterns."""
    if provider != GENERIC:
        return provider
    family = family_of(issuer_url)
    return family if family in SPECS and SPECS[family].pattern_re is not None else provider


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
        fixed = SPECS[family].pattern_re if family in SPECS else None
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
        return _tenant_problem(family, subject, issuer_url)
    exact = spec.subject_re
    if exact is not None and not exact.match(subject):
        return f"does not have the shape of a {spec.title} subject ({spec.subject_format})"
    return _tenant_problem(provider, subject, issuer_url)


def _tenant_problem(family: str, subject: str, issuer_url: str) -> str | None:
    """A CircleCI subject names its organization: the issuer's, or no token of the issuer ever matches."""
    tenant = tenant_of(family, issuer_url) if family == CIRCLECI else None
    match = CIRCLECI_PATTERN_RE.match(subject) if tenant else None
    if match and match.group("organization").lower() != tenant:
        return f"names organization {match.group('organization')}, but the issuer is organization {tenant}'s"
    return None


# The claim that starts each shared issuer's default subject, followed by the owner.
OWNER_PREFIXES = {GITHUB: "repo:", GITLAB: "project_path:", TERRAFORM_CLOUD: "organization:", BUILDKITE: "organization:"}


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
            fixed = SPECS[family].pattern_re
            assert fixed is not None
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
    if family == CIRCLECI and (m := CIRCLECI_SUBJECT_RE.match(subject)):
        return f"CircleCI jobs of project `{m['project']}` (organization `{m['organization']}`) started by user `{m['user']}`"
    if family == BITBUCKET and (m := BITBUCKET_SUBJECT_RE.match(subject)):
        return f"a Bitbucket Pipelines step of repository `{{{m['repository']}}}`"
    if family == BUILDKITE and (m := BUILDKITE_SUBJECT_RE.match(subject)):
        return f"Buildkite jobs of pipeline `{m['pipeline']}` (organization `{m['organization']}`)"
    if family == SPACELIFT and (m := SPACELIFT_SUBJECT_RE.match(subject)):
        return (f"Spacelift {m['run_type']} runs of {m['kind']} `{m['stack']}` in space `{m['space']}` "
                f"({m['scope']} scope)")
    pattern = SPECS[family].pattern_re if family in SPECS else None
    if pattern is not None and has_wildcard(subject) and pattern.match(subject):
        return f"{SPECS[family].runs} matching `{subject}`"
    return None


# --- the owner on a shared issuer ------------------------------------------------------------

# Operators that require a key and match it against the values given: a key under one of these is pinned
# (no `IfExists`, under which an absent key passes; no `Not...`; no set operator).
PINNING_OPERATORS = frozenset({"stringequals", "stringequalsignorecase", "stringlike"})
# A GitHub subject (its default template or a customized one) names the owner with one of these claims:
# `repo:<owner>/<repo>`, `repository:<owner>/<repo>`, or `<claim>:<value>` for the owner's and repository's IDs.
_GITHUB_OWNER_SLASH = ("repo", "repository")
_GITHUB_OWNER_VALUE = ("repository_owner", "repository_owner_id", "repository_id")


def pins_of(condition: Any) -> dict[str, list[list[str]]]:
    """A statement's Condition as what it pins: lower-cased key -> the value lists it must match, one
    per pinning operator (IAM ANDs operators, ORs a list's values). Other operators pin nothing."""
    pins: dict[str, list[list[str]]] = {}
    if not isinstance(condition, Mapping):
        return pins
    for operator, keys in condition.items():
        if str(operator).lower() not in PINNING_OPERATORS or not isinstance(keys, Mapping):
            continue
        for key, values in keys.items():
            listed = [values] if isinstance(values, str) else list(values) if isinstance(values, list) else []
            if listed and all(isinstance(v, str) for v in listed):
                pins.setdefault(str(key).lower(), []).append(listed)
    return pins


def subject_fixes_owner(family: str, subject: str) -> bool:
    """Whether a `:sub` value (exact, or a pattern up to its first wildcard) names the owner of a shared
    issuer completely: a GitHub repository owner (`repo:acme/...`, or `repository_owner:acme:...` in a
    customized subject), a GitLab top-level group (`project_path:acme/...`), an HCP Terraform or Buildkite
    organization (`organization:acme:...`)."""
    head = re.split(r"[*?]", subject, maxsplit=1)[0]
    exact = head == subject
    if family == GITHUB:
        parts = head.split(":")
        for index in range(0, len(parts) - 1, 2):
            claim, value = parts[index], parts[index + 1]
            complete = exact or index + 2 < len(parts)  # a value followed by `:` (or the whole subject) is complete
            if claim in _GITHUB_OWNER_SLASH and re.match(rf"^{_GH_OWNER}/", value):
                return True
            if claim in _GITHUB_OWNER_VALUE and value and complete:
                return True
        return False
    if family == GITLAB:
        return bool(re.match(r"^project_path:[A-Za-z0-9_.-]+/", head))
    if family in (TERRAFORM_CLOUD, BUILDKITE):
        match = re.match(r"^organization:([^:]+)(:|$)", head)
        return bool(match) and (exact or match.group(2) == ":")
    return False


def owner_problem(issuer: str, pins: Mapping[str, list[list[str]]]) -> str | None:
    """Why a web-identity trust on `issuer` does not fix the owner (None when it does, or when the issuer
    is not shared): on github.com's, gitlab.com's, app.terraform.io's or Buildkite's issuer anyone can
    create an owner (a GitHub organization, a GitLab group, an HCP Terraform or Buildkite organization) and
    mint tokens whose other claims (`environment:prod`, a branch) match, so the trust must pin the claim
    that fixes the owner: every `:sub` value naming it, or an owner claim (`<issuer>:repository_owner_id`)
    or session tag (`aws:RequestTag/organization_slug`) pinned next to them. An issuer of one customer's
    own (CircleCI, Bitbucket, Spacelift) fixes the owner itself. `pins` is `pins_of` the statement's Condition."""
    family = family_of(issuer)
    spec = SPECS.get(family) if family else None
    if spec is None or not spec.shared:
        return None
    host = normalised(issuer)
    claims = [f"{host}:{claim}" for claim in spec.owner_claims]
    claims += [f"{REQUEST_TAG_PREFIX}{tag}".lower() for tag in spec.owner_tags]
    if any(values and not any(has_wildcard(v) for v in values) for key in claims for values in pins.get(key, [])):
        return None
    subjects = pins.get(f"{host}:sub", [])
    if any(values and all(subject_fixes_owner(family, v) for v in values) for values in subjects):
        return None
    loose = [v for values in subjects for v in values if not subject_fixes_owner(family, v)]
    named = (
        "its subject " + ", ".join(repr(v) for v in loose[:3]) + (" does" if len(loose) == 1 else " do") + " not name the " + spec.owner
        if loose else "it pins no subject"
    )
    pins_text = " or ".join(
        [f"a subject that names the {spec.owner} ({OWNER_PREFIXES[family]}<{spec.owner.split()[-1]}>...)"]
        + [f"{host}:{claim}" for claim in spec.owner_claims[:2]]
        + [f"{REQUEST_TAG_PREFIX}{tag}" for tag in spec.owner_tags[:1]]
    )
    article = "an" if spec.owner[:1] in "aeiou" else "a"
    return (
        f"trusts the {spec.title} issuer every {spec.title} customer shares, and {named}: anyone can create "
        f"{article} {spec.owner} and mint tokens that match; pin {pins_text}"
    )


def runs_pinned_by_tags(issuer: str, pins: Mapping[str, list[list[str]]]) -> bool:
    """Whether a trust on `issuer` names the runs by the session tags its tokens carry, as a `:sub` pin
    would (Buildkite's `aws:RequestTag/pipeline_slug`, pinned exactly), with the owner fixed too."""
    spec = SPECS.get(family_of(issuer) or "")
    if spec is None or not spec.run_tags or owner_problem(issuer, pins) is not None:
        return False
    return all(
        any(values and not any(has_wildcard(v) for v in values) for values in pins.get(f"{REQUEST_TAG_PREFIX}{tag}".lower(), []))
        for tag in spec.run_tags
    )
