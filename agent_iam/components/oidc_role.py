"""OIDC role: a role that CI and deploy pipelines (GitHub Actions, GitLab CI, HCP Terraform, CircleCI,
Bitbucket Pipelines, Buildkite, Spacelift, any OIDC issuer) assume with `sts:AssumeRoleWithWebIdentity`,
without long-term keys.

The trust names the issuer's IAM OIDC provider and pins `<issuer>:aud` (StringEquals) and
`<issuer>:sub` (StringEquals; StringLike only with `allow_wildcard_subject`), or for Buildkite the
session tags its tokens carry (`aws:RequestTag/organization_slug`, `pipeline_slug`, with
`sts:TagSession`, as Buildkite documents the trust). A trust without such a pin is refused: a role
any GitHub workflow anywhere can assume is a well-documented real finding. On an issuer every
customer shares (github.com's, gitlab.com, app.terraform.io, Buildkite's), whatever `provider` says,
the claim that fixes the owner must be pinned (`agent_iam.iam.issuers.owner_problem`). For GitHub, the
immutable `repository_id` and the workflow file (`job_workflow_ref`) can be pinned on top, so a
renamed or re-created repository cannot inherit the role; `source_ips` pins `aws:SourceIp`.

The provider itself is registered once per account and issuer (`OidcProviderRegistration`),
or already exists; this component only references its ARN.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Required

import pulumi

from agent_iam.iam import actions, arns, checks, limits
from agent_iam.iam import issuers as known

from . import policies
from ._contract import Problem, check_list, check_value, is_known
from .base import (
    check_managed_policy_arn,
    OneRoleArgs, RoleComponent, RolePlan, RoleSlot, S3Args, has_permissions, policy_advisory, policy_problems,
    role_name, role_spec, s3_permissions, s3_problems,
)
from .role import Policy, RoleDocuments

POLICY_NAME = "workload-access"
WEB_IDENTITY = actions.ASSUME_ROLE_WITH_WEB_IDENTITY
DEFAULT_PROJECT = "Default Project"

# Keys that build subjects or pin claims, by the provider they belong to (field -> providers).
PROVIDER_FIELDS: dict[str, tuple[str, ...]] = {
    "repository": (known.GITHUB,),
    "environments": (known.GITHUB,),
    "pull_requests": (known.GITHUB,),
    "repository_id": (known.GITHUB,),
    "workflow_refs": (known.GITHUB,),
    "workflow_file": (known.GITHUB,),
    "branches": (known.GITHUB, known.GITLAB),
    "git_tags": (known.GITHUB, known.GITLAB),
    "project_path": (known.GITLAB,),
    "organization": (known.TERRAFORM_CLOUD, known.BUILDKITE),
    "pipelines": (known.BUILDKITE,),
    "project": (known.TERRAFORM_CLOUD,),
    "workspaces": (known.TERRAFORM_CLOUD,),
    "run_phases": (known.TERRAFORM_CLOUD,),
}


class OidcRoleArgs(OneRoleArgs, S3Args, total=False):
    """A role for workloads that present an OIDC token: the issuer, who may assume it (subjects, built
    from the provider's keys or listed), and what it may do."""

    provider: Required[str]
    """The issuer family: `github`, `gitlab`, `terraform-cloud`, `circleci`, `bitbucket`, `buildkite`, `spacelift`
    or `generic`. It sets the default issuer, audience and the subject shape that is accepted. Required."""
    issuer_url: str
    """The issuer, as in the tokens' `iss`. Default: `https://token.actions.githubusercontent.com` (github),
    `https://gitlab.com` (gitlab), `https://app.terraform.io` (terraform-cloud), `https://agent.buildkite.com`
    (buildkite); required for circleci (`https://oidc.circleci.com/org/<organization ID>`), bitbucket
    (`https://api.bitbucket.org/2.0/workspaces/<workspace>/pipelines-config/identity/oidc`), spacelift
    (`https://<account>.app.spacelift.io`) and generic."""
    audience: str
    """The `aud` the pipeline requests, pinned with StringEquals. Default: `sts.amazonaws.com` (github, buildkite),
    the issuer URL (gitlab), `aws.workload.identity` (terraform-cloud), the organization ID (circleci), the
    issuer's host (spacelift); required for bitbucket (`ari:cloud:bitbucket::workspace/<workspace UUID>`) and
    generic."""
    subjects: list[str]
    """Exact `sub` claims that may assume the role, with any provider, on top of what the provider's keys
    build. Default: none (but at least one subject is required)."""
    allow_wildcard_subject: bool
    """Accept `*`/`?` in subjects (then `:sub` is StringLike; the owner part stays fixed). Default: false."""
    repository: str
    """github: the repository (`owner/repo`) whose runs may assume the role. Default: none."""
    branches: list[str]
    """github, gitlab: branches whose runs may assume the role. Default: none."""
    git_tags: list[str]
    """github, gitlab: git tags whose runs may assume the role. Default: none."""
    environments: list[str]
    """github: deployment environments whose jobs may assume the role. Default: none."""
    pull_requests: bool
    """github: runs triggered by pull requests (`repo:<owner>/<repo>:pull_request`). Default: false."""
    repository_id: str
    """github: the repository's numeric ID, pinned as `:repository_id` so a renamed or re-created repository
    cannot inherit the role. Default: none."""
    workflow_refs: list[str]
    """github: `owner/repo/.github/workflows/<file>.yml@<ref>`, pinned as `:job_workflow_ref`. Default: none."""
    workflow_file: str
    """github: the workflow file (`.github/workflows/deploy.yml`) of `repository` that may assume the role, pinned
    as `:job_workflow_ref` at each of `branches`/`git_tags` (StringEquals), or at any ref (`@*`, StringLike) when
    environments or pull requests are named too (`:sub` pins those). Default: none."""
    project_path: str
    """gitlab: the project (`group[/subgroup]/project`) whose jobs may assume the role. Default: none."""
    organization: str
    """terraform-cloud: the organization; buildkite: the organization's slug, pinned as the session tag
    `organization_slug` (with `sts:TagSession`). Default: none."""
    pipelines: list[str]
    """buildkite: the slugs of the pipelines whose jobs may assume the role, pinned as the session tag
    `pipeline_slug`. Default: none."""
    project: str
    """terraform-cloud: the project of the workspaces. Default: `Default Project`."""
    workspaces: list[str]
    """terraform-cloud: the workspaces whose runs may assume the role. Default: none."""
    run_phases: list[str]
    """terraform-cloud: `plan` and/or `apply`. Default: both."""
    claims: dict[str, list[str]]
    """Token claims pinned with StringEquals as `<issuer>:<claim>`, among those STS takes as condition keys for
    the issuer (GitHub: `repository_owner`, `repository_owner_id`, `repository`, `repository_id`,
    `job_workflow_ref`; GitLab: `namespace_path`, `namespace_id`, `project_path`, `project_id`): an owner claim
    next to subjects that do not name the owner. Default: none."""
    session_tags: dict[str, list[str]]
    """Session tags the tokens carry, pinned with StringEquals as `aws:RequestTag/<tag>`; the trust then allows
    `sts:TagSession`. Default: none (buildkite: from `organization` and `pipelines`)."""
    source_ips: list[str]
    """IP addresses or CIDR ranges the token exchange must come from (`aws:SourceIp`, IpAddress): the runners'
    public addresses, as Buildkite suggests. Default: none."""
    oidc_provider_arn: pulumi.Input[str]
    """The issuer's IAM OIDC provider in the role's account (an `OidcProviderRegistration`'s `arn`, or an
    existing provider). Default: derived from `account_id` and the issuer."""
    account_id: pulumi.Input[str]
    """The 12-digit account the role is created in. Default: none (then `oidc_provider_arn` is required)."""


class OidcRoleOutputs:
    """What an OidcRole hands out (annotated here, not on the component class: see SaasAccessRoleOutputs)."""

    role_arn: pulumi.Output[str]
    """The role's ARN: `role-to-assume` of the pipeline."""
    role_name: pulumi.Output[str]
    """The role's name."""
    issuer: str
    """The issuer URL the role trusts."""
    audience: str
    """The audience the pipeline must request."""
    subjects: list[str]
    """The subjects that may assume the role."""


# --- defaults, as pure functions of the Args ----------------------------------------------


def issuer_url(args: Mapping[str, Any]) -> str:
    """The issuer URL, default applied ("" when a generic role, or an unknown provider, gives none)."""
    provider = args.get("provider")
    default = known.default_issuer(provider) if provider in known.SPECS else None
    return (args.get("issuer_url") or default or "").rstrip("/")


def issuer_key(args: Mapping[str, Any]) -> str:
    """The issuer as condition keys and provider ARNs spell it (no scheme)."""
    return known.issuer_host_path(issuer_url(args))


def audience(args: Mapping[str, Any]) -> str:
    if args.get("audience"):
        return args["audience"]
    provider = args.get("provider")
    if provider not in known.SPECS or provider == known.GENERIC:
        return ""
    return known.default_audience(provider, issuer_url(args)) or ""


def session_tags(args: Mapping[str, Any]) -> dict[str, list[str]]:
    """The session tags the trust pins: `session_tags`, then Buildkite's organization and pipelines."""
    tags = {str(k): list(v) if isinstance(v, list) else [v] for k, v in (args.get("session_tags") or {}).items()}
    if args.get("provider") == known.BUILDKITE:
        if args.get("organization"):
            tags["organization_slug"] = [args["organization"]]
        if args.get("pipelines"):
            tags["pipeline_slug"] = list(args["pipelines"])
    return tags


def runs_pinned_by_tags(args: Mapping[str, Any]) -> bool:
    """Whether the session tags name the runs, as `:sub` would (Buildkite's pipelines)."""
    spec = known.SPECS.get(args.get("provider") or "")
    tags = session_tags(args)
    return bool(spec and spec.run_tags) and all(tags.get(tag) for tag in spec.run_tags)


def subject_sources(args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(field, subject)` for every subject: the provider's keys' first, then `subjects`."""
    provider = args.get("provider")
    built: list[tuple[str, str]] = []
    repository, project_path, organization = args.get("repository"), args.get("project_path"), args.get("organization")
    if provider == known.GITHUB and repository:
        for index, branch in enumerate(args.get("branches") or []):
            built.append((f"branches[{index}]", known.github_subjects(repository, branches=[branch])[0]))
        for index, environment in enumerate(args.get("environments") or []):
            built.append((f"environments[{index}]", known.github_subjects(repository, environments=[environment])[0]))
        for index, tag in enumerate(args.get("git_tags") or []):
            built.append((f"git_tags[{index}]", f"repo:{repository}:ref:refs/tags/{tag}"))
        if args.get("pull_requests"):
            built.append(("pull_requests", known.github_subjects(repository, pull_requests=True)[0]))
    elif provider == known.GITLAB and project_path:
        for index, branch in enumerate(args.get("branches") or []):
            built.append((f"branches[{index}]", known.gitlab_subjects(project_path, branches=[branch])[0]))
        for index, tag in enumerate(args.get("git_tags") or []):
            built.append((f"git_tags[{index}]", known.gitlab_subjects(project_path, tags=[tag])[0]))
    elif provider == known.TERRAFORM_CLOUD and organization:
        project = args.get("project") or DEFAULT_PROJECT
        phases = args.get("run_phases") or list(known.RUN_PHASES)
        for index, workspace in enumerate(args.get("workspaces") or []):
            for subject in known.terraform_cloud_subjects(organization, project, [workspace], phases):
                built.append((f"workspaces[{index}]", subject))
    built += [(f"subjects[{index}]", subject) for index, subject in enumerate(args.get("subjects") or [])]
    return built


def all_subjects(args: Mapping[str, Any]) -> list[str]:
    """The subjects that may assume the role, each once."""
    return list(dict.fromkeys(subject for _, subject in subject_sources(args)))


def workflow_refs(args: Mapping[str, Any]) -> list[str]:
    """The `job_workflow_ref` values to pin: `workflow_refs`, then `workflow_file` of `repository`
    at each branch and tag (or at any ref when environments or pull requests may run it)."""
    refs = list(args.get("workflow_refs") or [])
    file, repository = args.get("workflow_file"), args.get("repository")
    if file and repository:
        exact = [f"refs/heads/{b}" for b in args.get("branches") or []] + [
            f"refs/tags/{t}" for t in args.get("git_tags") or []
        ]
        any_ref = bool(args.get("environments") or args.get("pull_requests") or not exact)
        refs += [f"{repository}/{file}@*"] if any_ref else [f"{repository}/{file}@{ref}" for ref in exact]
    return list(dict.fromkeys(refs))


def derived_provider_arn(args: Mapping[str, Any], region: str) -> str:
    partition = policies.partition_for_region(region)
    return known.provider_arn(partition, args.get("account_id"), issuer_key(args))


def trust_sid(provider: str) -> str:
    return {
        known.GITHUB: "GitHubActions",
        known.GITLAB: "GitLabCi",
        known.TERRAFORM_CLOUD: "TerraformCloud",
        known.CIRCLECI: "CircleCi",
        known.BITBUCKET: "BitbucketPipelines",
        known.BUILDKITE: "Buildkite",
        known.SPACELIFT: "Spacelift",
    }.get(provider, "OidcWebIdentity")


def web_identity_condition(
    *,
    issuer: str,
    audience: str,
    subjects: Sequence[str],
    wildcard: bool = False,
    repository_id: Optional[str] = None,
    workflow_refs: Sequence[str] = (),
    claims: Optional[Mapping[str, Sequence[str]]] = None,
    tags: Optional[Mapping[str, Sequence[str]]] = None,
    source_ips: Sequence[str] = (),
) -> dict[str, Any]:
    """The Condition of a web-identity trust: `:aud` StringEquals; `:sub` StringEquals (a list for several
    subjects), or StringLike when a subject is a pattern; GitHub's `:repository_id` and `:job_workflow_ref`
    (accepted by STS since February 2026; StringLike for a workflow ref at any ref, `...@*`), the `claims`,
    and the session tags (`aws:RequestTag/<tag>`) StringEquals; `aws:SourceIp` IpAddress."""
    equals: dict[str, Any] = {f"{issuer}:aud": audience}
    like: dict[str, Any] = {}
    if subjects:
        (like if wildcard else equals)[f"{issuer}:sub"] = policies.one_or_many(subjects)
    if repository_id:
        equals[f"{issuer}:repository_id"] = repository_id
    if workflow_refs:
        refs: Any = policies.one_or_many(workflow_refs)
        (like if any(known.has_wildcard(r) for r in workflow_refs) else equals)[f"{issuer}:job_workflow_ref"] = refs
    for claim, values in (claims or {}).items():
        equals[f"{issuer}:{claim}"] = policies.one_or_many(list(values))
    for tag, values in (tags or {}).items():
        equals[f"{known.REQUEST_TAG_PREFIX}{tag}"] = policies.one_or_many(list(values))
    condition: dict[str, Any] = {"StringEquals": equals}
    if like:
        condition["StringLike"] = like
    if source_ips:
        condition["IpAddress"] = {"aws:SourceIp": policies.one_or_many(list(source_ips))}
    return condition


def trust_condition(args: Mapping[str, Any]) -> dict[str, Any]:
    """The Condition of the role's trust, from its (checked) Args."""
    subjects = all_subjects(args)
    return web_identity_condition(
        issuer=issuer_key(args),
        audience=audience(args),
        subjects=subjects,
        wildcard=any(known.has_wildcard(s) for s in subjects),
        repository_id=args.get("repository_id"),
        workflow_refs=workflow_refs(args),
        claims={k: v if isinstance(v, list) else [v] for k, v in (args.get("claims") or {}).items()},
        tags=session_tags(args),
        source_ips=args.get("source_ips") or (),
    )


def web_identity_trust(*, sid: str, provider_arn: str, condition: Mapping[str, Any], tag_session: bool = False) -> policies.Document:
    """Tokens of one IAM OIDC provider, on `condition` (`web_identity_condition`); with `tag_session` the
    session tags the tokens carry may be set too (`sts:TagSession`, which a trust that pins
    `aws:RequestTag/...` needs)."""
    return policies.document(
        [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": [known.TAG_SESSION, WEB_IDENTITY] if tag_session else WEB_IDENTITY,
                "Condition": dict(condition),
            }
        ]
    )


# --- checks ------------------------------------------------------------------------------


def oidc_problems(args: Mapping[str, Any]) -> list[Problem]:
    """Every problem of the issuer, audience, subjects and provider ARN, naming the Args field.

    The stack config gets the same problems through `OidcRole.check` and names its keys."""
    problems: list[Problem] = []

    def bad(name: str, message: str) -> None:
        problems.append(Problem(name, message))

    provider = args.get("provider")
    if provider not in known.PROVIDERS:
        bad("provider", f"unknown provider {provider!r} (known: {', '.join(known.PROVIDERS)})")
        return problems
    spec = known.SPECS[provider]
    for name, providers in PROVIDER_FIELDS.items():
        if args.get(name) and provider not in providers:
            bad(name, f"applies to provider: {' or '.join(providers)} only (this role's provider is {provider})")
    for name in ("issuer_url", "audience"):
        value = args.get(name)
        if value is not None and not str(value).strip():
            bad(name, "is empty; leave it out for the provider's default")

    # issuer and audience
    url = issuer_url(args)
    if not url and spec.tenant_issuer_re is not None:
        bad("issuer_url", f"required with provider: {provider} ({spec.issuer_format}, as {spec.title} shows it)")
    elif not url:
        bad("issuer_url", "required with provider: generic (the issuer's https:// URL, as in the token's `iss`)")
    elif issuer_checks := check_value("issuer_url", url, checks.check_oidc_issuer_url):
        problems += issuer_checks
    elif known.is_eks_issuer(url):
        bad(
            "issuer_url",
            f"{url!r} is an EKS cluster's issuer: roles for Kubernetes service accounts are "
            "agent-iam:serviceAccounts (IRSA or Pod Identity), with the cluster in agent-iam:clusters",
        )
    elif provider == known.GITHUB and (problem := known.github_issuer_problem(url)):
        bad("issuer_url", f"{url!r} {problem}")
    elif spec.tenant_issuer_re is not None and known.tenant_of(provider, url) is None:
        bad("issuer_url", f"{url!r} is not a {spec.title} issuer ({spec.issuer_format}); use provider: generic for another issuer")
    elif provider == known.BUILDKITE and known.family_of(url) != known.BUILDKITE:
        bad("issuer_url", f"{url!r} is not Buildkite's issuer ({known.BUILDKITE_ISSUER}); use provider: generic for another issuer")
    token_audience = audience(args)
    if not token_audience and provider == known.BITBUCKET:
        bad("audience", "required with provider: bitbucket (ari:cloud:bitbucket::workspace/<workspace UUID>, shown with the "
            "identity provider URL in the repository's settings, Pipelines > OpenID Connect)")
    elif not token_audience:
        bad("audience", "required with provider: generic (the `aud` your issuer puts in the token)")
    elif known.has_wildcard(token_audience) or token_audience != token_audience.strip():
        bad("audience", f"is matched exactly (StringEquals); no wildcards or spaces: {token_audience!r}")

    # the provider's keys
    if provider == known.GITHUB:
        _github_problems(args, bad)
    elif provider == known.GITLAB:
        path = args.get("project_path")
        if path is not None and not known.GITLAB_PROJECT_PATH_RE.match(path):
            bad("project_path", f"not a GitLab project path (group[/subgroup]/project): {path!r}")
        _needs_base(args, bad, "project_path", ("branches", "git_tags"))
    elif provider == known.TERRAFORM_CLOUD:
        organization = args.get("organization")
        if organization is not None and not known.TFC_NAME_RE.match(organization):
            bad("organization", f"not an HCP Terraform organization name: {organization!r}")
        project = args.get("project") or DEFAULT_PROJECT
        if not known.TFC_PROJECT_RE.match(project):
            bad("project", f"not an HCP Terraform project name: {project!r}")
        phases = args.get("run_phases")
        if phases is not None and not phases:
            bad("run_phases", "name at least one of plan, apply")
        for index, phase in enumerate(phases or []):
            if phase not in known.RUN_PHASES:
                bad(f"run_phases[{index}]", f"is plan or apply, not {phase!r}")
        _needs_base(args, bad, "organization", ("workspaces",))
    elif provider == known.BUILDKITE:
        for name, values in (("organization", [args.get("organization")]), ("pipelines", args.get("pipelines") or [])):
            for index, value in enumerate(values):
                where = name if name == "organization" else f"{name}[{index}]"
                if value is not None and not known.BUILDKITE_SLUG_RE.match(str(value)):
                    bad(where, f"not a Buildkite slug (lower-case letters, digits and '-'): {value!r}")
        _needs_base(args, bad, "organization", ("pipelines",), "names pipelines")
    _pin_problems(args, bad, url)

    # subjects: at least one (or the session tags that name the runs), each of the provider's shape,
    # patterns only when accepted
    sources = subject_sources(args)
    if not sources and not problems and not runs_pinned_by_tags(args):
        bad(
            "subjects",
            f"no subject: a trust without a `{issuer_key(args)}:sub` pin lets every token this issuer signs "
            f"({spec.runs} of anyone, anywhere) assume the role; name them ({spec.subject_format})",
        )
    allow_wildcard = bool(args.get("allow_wildcard_subject"))
    for source, subject in sources:
        if problem := known.subject_problem(provider, subject, allow_wildcard=allow_wildcard, issuer_url=url):
            bad(source, f"{subject!r} {problem}")
    if allow_wildcard and sources and not any(known.has_wildcard(s) for _, s in sources):
        bad("allow_wildcard_subject", "is true but no subject holds a wildcard")
    seen: set[str] = set()
    for index, subject in enumerate(args.get("subjects") or []):
        if subject in seen:
            bad(f"subjects[{index}]", f"listed twice: {subject!r}")
        seen.add(subject)
    if not problems and (owner := known.owner_problem(url, known.pins_of(trust_condition(args)))):
        family = known.SPECS[known.family_of(url) or known.GENERIC]
        how = " ({claims} pins a claim)" if family.owner_claims else " ({organization} pins it)" if family.owner_tags else ""
        bad("subjects" if sources else "provider", f"the role {owner}{how}")

    # the provider ARN, when known
    arn = args.get("oidc_provider_arn")
    if arn is None and not args.get("account_id"):
        bad("oidc_provider_arn", "required when {account_id} is not given (the provider's ARN is derived from it)")
    elif arn is not None and is_known(arn) and url:  # a resolved value of another type is refused, never skipped
        parsed = arns.parse(arn) if isinstance(arn, str) else None
        if check_value("oidc_provider_arn", arn, checks.check_oidc_provider_arn) or parsed is None:
            bad("oidc_provider_arn", f"not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>): {arn!r}")
        elif (issuer := parsed.resource.removeprefix(known.PROVIDER_ARN_TYPE).rstrip("/")) != issuer_key(args):
            bad("oidc_provider_arn", f"is the provider of issuer {issuer!r}, not of {issuer_key(args)!r}: {arn!r}")
        elif is_known(args.get("account_id")) and args.get("account_id") and parsed.account != args["account_id"]:
            bad(
                "oidc_provider_arn",
                f"is in account {parsed.account}, but the role is created in {args['account_id']} "
                f"(a role trusts a provider of its own account): {arn!r}",
            )
    return problems


def _pin_problems(args: Mapping[str, Any], bad: Any, url: str) -> None:
    """`claims` the issuer's tokens carry as condition keys, `session_tags` and `source_ips` well formed."""
    family = known.family_of(url) if url else None
    taken = known.SPECS[family].claims if family in known.SPECS else ()
    for claim, values in (args.get("claims") or {}).items():
        if claim not in taken:
            offered = f"the claims STS takes for this issuer: {', '.join(taken)}" if taken else "none for this issuer"
            bad(f"claims.{claim}", f"is not a claim STS takes as a condition key ({offered})")
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or not value or known.has_wildcard(value):
                bad(f"claims.{claim}", f"is matched exactly (StringEquals): a non-empty value without wildcards, got {value!r}")
    own = session_tags({"provider": args.get("provider"), "organization": args.get("organization"), "pipelines": args.get("pipelines")})
    for tag, values in (args.get("session_tags") or {}).items():
        if tag in own:
            bad(f"session_tags.{tag}", f"is set by {{organization}}/{{pipelines}} already ({tag})")
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or not value or known.has_wildcard(value):
                bad(f"session_tags.{tag}", f"is matched exactly (StringEquals): a non-empty value without wildcards, got {value!r}")
            else:
                for problem in limits.check_tag(str(tag), value):
                    bad(f"session_tags.{tag}", f"a session tag is a tag: {problem}")
    problems = check_list("source_ips", args.get("source_ips") or [], checks.check_source_ip)
    for problem in problems:
        bad(problem.field, problem.message)


def _needs_base(args: Mapping[str, Any], bad: Any, base: str, lists: Sequence[str], what: str = "builds subjects") -> None:
    """The provider's lists need their base key, and a base key needs something to build."""
    given = [name for name in lists if args.get(name)]
    if given and not args.get(base):
        bad(given[0], f"{what} of one {base}; set {{{base}}}")
    if args.get(base) and not given:
        bad(base, "names no " + " or ".join(f"{{{name}}}" for name in lists) + ": say which runs may assume the role")


def _github_problems(args: Mapping[str, Any], bad: Any) -> None:
    repository = args.get("repository")
    if repository is not None and not known.GITHUB_REPOSITORY_RE.match(repository):
        bad("repository", f"not a GitHub repository (owner/repo): {repository!r}")
    given = [n for n in ("branches", "git_tags", "environments", "pull_requests") if args.get(n)]
    if given and not repository:
        bad(given[0], "builds subjects of one repository; set {repository}")
    if repository and not given:
        bad(
            "repository",
            "names no {branches}, {git_tags}, {environments} or {pull_requests}: say which runs may assume the role "
            "(every run of a repository is {subjects}: [repo:<owner>/<repo>:*] with {allow_wildcard_subject}: true)",
        )
    repository_id = args.get("repository_id")
    if repository_id is not None and (
        not isinstance(repository_id, str) or not known.GITHUB_REPOSITORY_ID_RE.match(repository_id)
    ):
        bad("repository_id", f"is the repository's numeric ID (`gh api repos/<owner>/<repo> --jq .id`): {repository_id!r}")
    file = args.get("workflow_file")
    if file is not None and not known.GITHUB_WORKFLOW_FILE_RE.match(file):
        bad("workflow_file", f"not a workflow file of the repository (.github/workflows/<file>.yml): {file!r}")
    elif file is not None and not repository:
        bad("workflow_file", "is a file of {repository}; set it")
    for index, ref in enumerate(args.get("workflow_refs") or []):
        if not known.GITHUB_WORKFLOW_REF_RE.match(ref):
            bad(
                f"workflow_refs[{index}]",
                f"not a job_workflow_ref (<owner>/<repo>/.github/workflows/<file>.yml@<ref>, matched exactly): {ref!r}",
            )
        elif known.has_wildcard(ref):
            bad(
                f"workflow_refs[{index}]",
                f"is matched exactly (StringEquals), so '*' and '?' are not patterns here: name the ref ({ref!r}); "
                "{workflow_file} pins a workflow at any ref the subjects allow",
            )


class OidcRolePlan(RolePlan, args=OidcRoleArgs, family="oidcRoles"):
    """The checked Args with their defaults applied: the role, its documents and what IAM would refuse."""

    def problems(self) -> list[Problem]:
        args = self.args
        self.role_name, problems = role_name(self.name, args, "role_name", "")
        problems += super().problems() + oidc_problems(args) + s3_problems(args)
        problems += check_list("policy_arns", args.get("policy_arns") or [], check_managed_policy_arn)
        return problems + policy_problems("policy", args.get("policy"), bool(args.get("allow_wildcard_resources")))

    def setup(self) -> None:
        self.issuer = issuer_url(self.args)
        self.audience = audience(self.args)
        self.subjects = all_subjects(self.args)

    def role_slots(self) -> list[RoleSlot]:
        description = f"Role for {self.args['provider']} OIDC workloads {self.name} (agent-iam)"
        return [RoleSlot("role", role_spec(self.args, self.role_name, description), self.args.get("account_id"))]

    def document_inputs(self, **later: Any) -> Optional[dict[str, Any]]:
        provider_arn = self.args.get("oidc_provider_arn") or derived_provider_arn(self.args, self.region)
        return {**self.args, "oidc_provider_arn": provider_arn, **later}

    def trust(self, provider_arn: str) -> policies.Document:
        return web_identity_trust(
            sid=trust_sid(self.args["provider"]),
            provider_arn=provider_arn,
            condition=trust_condition(self.args),
            tag_session=bool(session_tags(self.args)),
        )

    def build(self, values: dict[str, Any]) -> list[RoleDocuments]:
        document = s3_permissions(values, self.region)
        permissions = (Policy(POLICY_NAME, document),) if document else ()
        return [RoleDocuments(self.trust(values["oidc_provider_arn"]), permissions, tuple(values.get("policy_arns") or ()))]

    def layout(self) -> list[RoleDocuments]:
        permissions = (Policy(POLICY_NAME, None),) if has_permissions(self.args) else ()
        return [RoleDocuments(None, permissions, tuple(self.args.get("policy_arns") or ()))]

    def resolved_problems(self, values: dict[str, Any]) -> list[Problem]:
        return super().resolved_problems(values) + oidc_problems(values) + s3_problems(values)

    def advisories(self) -> list[Problem]:
        who = f"the role {self.role_name!r}"
        advice = policy_advisory(self.args, who)
        wildcards = [s for s in self.subjects if known.has_wildcard(s)]
        if wildcards:
            advice.append(
                Problem(
                    "",
                    f"{who} trusts EVERY token whose subject matches {', '.join(wildcards)} "
                    "({allow_wildcard_subject}: true)",
                )
            )
        pull_requests = [s for s in self.subjects if s.endswith(":pull_request")]
        if pull_requests and (self.args.get("s3_write") or self.args.get("policy") or self.args.get("policy_arns")):
            advice.append(
                Problem(
                    "",
                    f"{who} trusts pull request runs ({', '.join(pull_requests)}) and can do more than read S3: the code "
                    "of any pull request (any branch pushed to the repository) runs with it; keep a pull request role "
                    "read-only",
                )
            )
        return advice


class OidcRole(RoleComponent, OidcRoleOutputs, plan=OidcRolePlan, module="oidc"):
    """A role assumed with web identity tokens of one OIDC issuer (`agent-iam:oidc:OidcRole`).

    Bad Args raise an `ArgsError` naming the field before anything is registered. When
    `oidc_provider_arn` is another resource's output, the trust waits for it; `depends_on` given in
    `opts` is passed to the role too, so a provider registered in the same program exists first."""

    def __init__(self, name: str, args: OidcRoleArgs, opts: Optional[pulumi.ResourceOptions] = None, *,
                 plan: Optional[OidcRolePlan] = None):
        super().__init__(name, args, opts, plan=plan)

    def _register(self, name: str, plan: OidcRolePlan) -> None:
        (role,) = self._register_roles(name, plan)
        self.role_arn, self.role_name = role.arn, role.name
        self.issuer = plan.issuer
        self.audience = plan.audience
        self.subjects = plan.subjects

