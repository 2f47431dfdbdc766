"""OIDC role: a role that CI and deploy pipelines (GitHub Actions, GitLab CI, HCP Terraform, any
OIDC issuer) assume with `sts:AssumeRoleWithWebIdentity`, without long-term keys.

The trust names the issuer's IAM OIDC provider and pins `<issuer>:aud` (StringEquals) and
`<issuer>:sub` (StringEquals; StringLike only with `allow_wildcard_subject`). A trust without a
`:sub` pin is refused: a role any GitHub workflow anywhere can assume is a well-documented real
finding. For GitHub, the immutable `repository_id` and the workflow file (`job_workflow_ref`)
can be pinned on top, so a renamed or re-created repository cannot inherit the role.

The provider itself is registered once per account and issuer (`OidcProviderRegistration`),
or already exists; this component only references its ARN.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from agent_iam.iam import arns

from . import oidc_providers as known
from . import policies
from .role import RoleDocuments, RoleSpec, create_role, policy_json

TYPE = "agent-iam:oidc:OidcRole"
POLICY_NAME = "workload-access"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
OIDC_PROVIDER_PREFIX = "oidc-provider/"

# Keys that build subjects or pin claims, by the provider they belong to (field -> providers).
PROVIDER_FIELDS: dict[str, tuple[str, ...]] = {
    "repository": (known.GITHUB,),
    "environments": (known.GITHUB,),
    "pull_requests": (known.GITHUB,),
    "repository_id": (known.GITHUB,),
    "workflow_refs": (known.GITHUB,),
    "branches": (known.GITHUB, known.GITLAB),
    "git_tags": (known.GITHUB, known.GITLAB),
    "project_path": (known.GITLAB,),
    "organization": (known.TERRAFORM_CLOUD,),
    "workspaces": (known.TERRAFORM_CLOUD,),
}


class OidcRoleArgsError(ValueError):
    """Bad `OidcRoleArgs`: every problem, each naming the component, the field and the value."""

    def __init__(self, component: str, problems: Sequence[tuple[str, str]]):
        self.problems = list(problems)
        lines = [f"OidcRole {component!r}: {name}: {message}" for name, message in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class OidcRoleArgs:
    """A role for workloads that present an OIDC token. Every field but `role`, `account_id` and
    `region` has a default; the provider's keys build the subjects, `subjects` adds exact ones."""

    role: RoleSpec  # physical name, path, boundary, tags, session length of the role
    account_id: str  # the role's account: the provider's ARN is derived in it
    region: str  # the role's region: its partition (aws, aws-cn, aws-us-gov)
    provider: str = known.GENERIC  # github | gitlab | terraform-cloud | generic
    issuer_url: str | None = None  # default: the provider's (github, gitlab.com, app.terraform.io); generic: required
    audience: str | None = None  # default: sts.amazonaws.com (github), the issuer URL (gitlab), aws.workload.identity (terraform-cloud); generic: required
    subjects: Sequence[str] = ()  # exact `sub` claims, with any provider
    allow_wildcard_subject: bool = False  # accept `*`/`?` in subjects (then `:sub` is StringLike)
    # github: runs of `repository` (owner/repo) on `branches`/`git_tags`, in `environments`, for pull requests
    repository: str | None = None
    branches: Sequence[str] = ()  # github and gitlab
    git_tags: Sequence[str] = ()  # github and gitlab: git tags (not the role's resource tags)
    environments: Sequence[str] = ()
    pull_requests: bool = False
    repository_id: str | None = None  # github: pins `:repository_id`, the repository's immutable ID
    workflow_refs: Sequence[str] = ()  # github: pins `:job_workflow_ref` (owner/repo/.github/workflows/x.yml@ref)
    # gitlab: jobs of `project_path` (group[/subgroup]/project) on `branches` and `git_tags`
    project_path: str | None = None
    # terraform-cloud: runs of `workspaces` in `project` of `organization`, in `run_phases`
    organization: str | None = None
    project: str = "Default Project"
    workspaces: Sequence[str] = ()
    run_phases: Sequence[str] = known.RUN_PHASES
    # The IAM OIDC provider of the issuer in the role's account; default: its derived ARN
    # (registered by an `OidcProviderRegistration`, or already there).
    oidc_provider_arn: pulumi.Input[str] | None = None
    # What the role may do: one inline policy `workload-access`, as for SaaS roles.
    s3_read: tuple[tuple[str, str | None], ...] = ()
    s3_write: tuple[tuple[str, str | None], ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    policy_arns: tuple[str, ...] = ()
    policy: dict | None = None

    # --- defaults --------------------------------------------------------------------

    @property
    def partition(self) -> str:
        return policies.partition_for_region(self.region)

    @property
    def issuer(self) -> str:
        """The issuer URL, default applied (empty when a generic entry gives none)."""
        url = self.issuer_url or known.default_issuer(self.provider) or ""
        return url.rstrip("/")

    @property
    def issuer_key(self) -> str:
        """The issuer as condition keys and provider ARNs spell it (no scheme)."""
        return known.issuer_host_path(self.issuer)

    @property
    def token_audience(self) -> str:
        if self.audience:
            return self.audience
        return known.default_audience(self.provider, self.issuer) if self.provider != known.GENERIC else ""

    def subject_sources(self) -> list[tuple[str, str]]:
        """`(field, subject)` for every subject: the friendly keys' first, then `subjects`."""
        built: list[tuple[str, str]] = []
        if self.provider == known.GITHUB and self.repository:
            for name, values in (("branches", self.branches), ("environments", self.environments), ("git_tags", self.git_tags)):
                for index, value in enumerate(values):
                    subject = {
                        "branches": known.github_subjects(self.repository, branches=[value]),
                        "environments": known.github_subjects(self.repository, environments=[value]),
                        "git_tags": [f"repo:{self.repository}:ref:refs/tags/{value}"],
                    }[name][0]
                    built.append((f"{name}[{index}]", subject))
            if self.pull_requests:
                built.append(("pull_requests", known.github_subjects(self.repository, pull_requests=True)[0]))
        elif self.provider == known.GITLAB and self.project_path:
            for index, branch in enumerate(self.branches):
                built.append((f"branches[{index}]", known.gitlab_subjects(self.project_path, branches=[branch])[0]))
            for index, tag in enumerate(self.git_tags):
                built.append((f"git_tags[{index}]", known.gitlab_subjects(self.project_path, tags=[tag])[0]))
        elif self.provider == known.TERRAFORM_CLOUD and self.organization:
            for index, workspace in enumerate(self.workspaces):
                for subject in known.terraform_cloud_subjects(self.organization, self.project, [workspace], self.run_phases):
                    built.append((f"workspaces[{index}]", subject))
        built += [(f"subjects[{index}]", subject) for index, subject in enumerate(self.subjects)]
        return built

    def all_subjects(self) -> list[str]:
        """The friendly keys' subjects, then `subjects`, each once."""
        return list(dict.fromkeys(subject for _, subject in self.subject_sources()))

    @property
    def wildcard(self) -> bool:
        return any(known.has_wildcard(s) for s in self.all_subjects())

    def derived_provider_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:oidc-provider/{self.issuer_key}"

    def provider_arn(self) -> pulumi.Input[str]:
        return self.oidc_provider_arn if self.oidc_provider_arn is not None else self.derived_provider_arn()

    # --- documents -------------------------------------------------------------------

    def trust(self, provider_arn: str | None = None) -> policies.Document:
        arn = provider_arn or (self.oidc_provider_arn if isinstance(self.oidc_provider_arn, str) else None)
        return web_identity_trust(
            sid=trust_sid(self.provider),
            provider_arn=arn or self.derived_provider_arn(),
            issuer=self.issuer_key,
            audience=self.token_audience,
            subjects=self.all_subjects(),
            wildcard=self.wildcard,
            repository_id=self.repository_id,
            workflow_refs=self.workflow_refs,
        )

    def permissions(self) -> policies.Document | None:
        return policies.permissions_document(self.partition, self.policy, self.s3_read, self.s3_write, self.kms_key_arns)

    def role_documents(self) -> RoleDocuments:
        return RoleDocuments(
            trust=self.trust(),
            inline_policy_name=POLICY_NAME,
            inline_policy=self.permissions(),
            attached_policy_arns=tuple(self.policy_arns),
        )

    def roles(self) -> dict[str, tuple[RoleSpec, RoleDocuments]]:
        return {"role": (self.role, self.role_documents())}


def trust_sid(provider: str) -> str:
    return {
        known.GITHUB: "GitHubActions",
        known.GITLAB: "GitLabCi",
        known.TERRAFORM_CLOUD: "TerraformCloud",
    }.get(provider, "OidcWebIdentity")


def web_identity_trust(
    *,
    sid: str,
    provider_arn: str,
    issuer: str,
    audience: str,
    subjects: Sequence[str],
    wildcard: bool = False,
    repository_id: str | None = None,
    workflow_refs: Sequence[str] = (),
) -> policies.Document:
    """Tokens of one IAM OIDC provider, for these subjects and this audience.

    `:aud` is always StringEquals; `:sub` StringEquals (a list for several subjects), or
    StringLike when a subject is a pattern. GitHub's `:repository_id` and `:job_workflow_ref`
    (accepted by STS since February 2026) are StringEquals on top when given.
    """
    subs: str | list[str] = subjects[0] if len(subjects) == 1 else list(subjects)
    equals: dict[str, Any] = {f"{issuer}:aud": audience}
    like: dict[str, Any] = {}
    (like if wildcard else equals)[f"{issuer}:sub"] = subs
    if repository_id:
        equals[f"{issuer}:repository_id"] = repository_id
    if workflow_refs:
        equals[f"{issuer}:job_workflow_ref"] = workflow_refs[0] if len(workflow_refs) == 1 else list(workflow_refs)
    condition: dict[str, Any] = {"StringEquals": equals}
    if like:
        condition["StringLike"] = like
    return policies.document(
        [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": WEB_IDENTITY,
                "Condition": condition,
            }
        ]
    )


# --- validation --------------------------------------------------------------------


def check_args(args: OidcRoleArgs) -> list[tuple[str, str]]:
    """Every problem of known values, as `(field, message)`; empty when the Args are sound.

    The stack config calls this too and maps each field to its key, so both paths share
    one set of rules and messages.
    """
    problems: list[tuple[str, str]] = []

    def bad(name: str, message: str) -> None:
        problems.append((name, message))

    if args.provider not in known.PROVIDERS:
        bad("provider", f"unknown provider {args.provider!r} (known: {', '.join(known.PROVIDERS)})")
        return problems
    spec = known.SPECS[args.provider]
    for name, providers in PROVIDER_FIELDS.items():
        value = getattr(args, name)
        if value and args.provider not in providers:
            bad(name, f"applies to provider: {' or '.join(providers)} only (this role's provider is {args.provider})")
    if args.provider != known.TERRAFORM_CLOUD and (args.project != "Default Project" or tuple(args.run_phases) != known.RUN_PHASES):
        bad("project" if args.project != "Default Project" else "run_phases", "applies to provider: terraform-cloud only")

    # issuer and audience
    if not args.issuer:
        bad("issuer_url", "required with provider: generic (the issuer's https:// URL, as in the token's `iss`)")
    elif problem := known.issuer_problem(args.issuer):
        bad("issuer_url", f"{problem}: {args.issuer!r}")
    elif known.is_eks_issuer(args.issuer):
        bad(
            "issuer_url",
            f"{args.issuer!r} is an EKS cluster's issuer: roles for Kubernetes service accounts are "
            "agent-iam:serviceAccounts (IRSA or Pod Identity), with the cluster in agent-iam:clusters",
        )
    elif args.provider == known.GITHUB and (problem := known.github_issuer_problem(args.issuer)):
        bad("issuer_url", f"{args.issuer!r} {problem}")
    for name in ("issuer_url", "audience"):
        value = getattr(args, name)
        if value is not None and not value.strip():
            bad(name, "is empty; leave it out for the provider's default")
    if not args.token_audience:
        bad("audience", "required with provider: generic (the `aud` your issuer puts in the token)")
    elif known.has_wildcard(args.token_audience) or args.token_audience != args.token_audience.strip():
        bad("audience", f"is matched exactly (StringEquals); no wildcards or spaces: {args.token_audience!r}")

    # the provider's keys
    if args.provider == known.GITHUB:
        _check_github(args, bad)
    elif args.provider == known.GITLAB:
        if args.project_path is not None and not known.GITLAB_PROJECT_PATH_RE.match(args.project_path):
            bad("project_path", f"not a GitLab project path (group[/subgroup]/project): {args.project_path!r}")
        _needs_base(args, bad, "project_path", ("branches", "git_tags"))
    elif args.provider == known.TERRAFORM_CLOUD:
        if args.organization is not None and not known.TFC_NAME_RE.match(args.organization):
            bad("organization", f"not an HCP Terraform organization name: {args.organization!r}")
        if not known.TFC_PROJECT_RE.match(args.project):
            bad("project", f"not an HCP Terraform project name: {args.project!r}")
        for index, phase in enumerate(args.run_phases):
            if phase not in known.RUN_PHASES:
                bad(f"run_phases[{index}]", f"is plan or apply, not {phase!r}")
        if not args.run_phases:
            bad("run_phases", "name at least one of plan, apply")
        _needs_base(args, bad, "organization", ("workspaces",))

    # subjects: at least one, each of the provider's shape, patterns only when accepted
    subjects = args.all_subjects()
    if not subjects and not problems:
        bad(
            "subjects",
            f"no subject: a trust without a `{args.issuer_key}:sub` pin lets every token this issuer signs "
            f"({spec.runs} of anyone, anywhere) assume the role; name them ({spec.subject_format})",
        )
    for source, subject in args.subject_sources():
        if problem := known.subject_problem(args.provider, subject, allow_wildcard=args.allow_wildcard_subject):
            bad(source, f"{subject!r} {problem}")
    if args.allow_wildcard_subject and subjects and not args.wildcard:
        bad("allow_wildcard_subject", "is true but no subject holds a wildcard")
    seen: set[str] = set()
    for index, subject in enumerate(args.subjects):
        if subject in seen:
            bad(f"subjects[{index}]", f"listed twice: {subject!r}")
        seen.add(subject)

    # the provider ARN, when known
    arn = args.oidc_provider_arn
    if isinstance(arn, str) and args.issuer:
        parsed = arns.parse(arn)
        if (
            parsed is None
            or parsed.service != "iam"
            or not parsed.resource.startswith(OIDC_PROVIDER_PREFIX)
            or not re.fullmatch(r"\d{12}", parsed.account)
        ):
            bad("oidc_provider_arn", f"not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>): {arn!r}")
        elif (issuer := parsed.resource.removeprefix(OIDC_PROVIDER_PREFIX).rstrip("/")) != args.issuer_key:
            bad("oidc_provider_arn", f"is the provider of issuer {issuer!r}, not of {args.issuer_key!r}: {arn!r}")
        elif parsed.account != args.account_id:
            bad(
                "oidc_provider_arn",
                f"is in account {parsed.account}, but the role is created in {args.account_id} "
                f"(a role trusts a provider of its own account): {arn!r}",
            )
    return problems


def _needs_base(args: OidcRoleArgs, bad: Any, base: str, lists: Sequence[str]) -> None:
    """Friendly lists need their base key, and a base key needs something to build."""
    given = [name for name in lists if getattr(args, name)]
    if given and not getattr(args, base):
        bad(given[0], f"builds subjects of one {base}; set {base}")
    if getattr(args, base) and not given:
        bad(base, f"names no {' or '.join(lists)}: say which runs may assume the role")


def _check_github(args: OidcRoleArgs, bad: Any) -> None:
    if args.repository is not None and not known.GITHUB_REPOSITORY_RE.match(args.repository):
        bad("repository", f"not a GitHub repository (owner/repo): {args.repository!r}")
    given = [n for n in ("branches", "git_tags", "environments", "pull_requests") if getattr(args, n)]
    if given and not args.repository:
        bad(given[0], "builds subjects of one repository; set repository")
    if args.repository and not given:
        bad(
            "repository",
            "names no branches, gitTags, environments or pullRequests: say which runs may assume the role "
            "(every run of a repository is `subjects: [repo:<owner>/<repo>:*]` with allowWildcardSubject: true)",
        )
    if args.repository_id is not None and not known.GITHUB_REPOSITORY_ID_RE.match(args.repository_id):
        bad("repository_id", f"is the repository's numeric ID (`gh api repos/<owner>/<repo> --jq .id`): {args.repository_id!r}")
    for index, ref in enumerate(args.workflow_refs):
        if not known.GITHUB_WORKFLOW_REF_RE.match(ref):
            bad(
                f"workflow_refs[{index}]",
                "not a job_workflow_ref (<owner>/<repo>/.github/workflows/<file>.yml@<ref>, matched exactly): "
                f"{ref!r}",
            )


class OidcRole(pulumi.ComponentResource):
    """A role assumed with web identity tokens of one OIDC issuer (`agent-iam:oidc:OidcRole`).

    Validates its Args before registering anything. When `oidc_provider_arn` is another
    resource's output, the trust waits for it; `depends_on` given in `opts` is passed to the
    role too, so a provider registered in the same program exists before the role names it.
    """

    def __init__(self, name: str, args: OidcRoleArgs, opts: pulumi.ResourceOptions | None = None):
        problems = check_args(args)
        if problems:
            raise OidcRoleArgsError(name, problems)
        super().__init__(TYPE, name, None, opts)
        arn = args.provider_arn()
        trust_json = None
        if not isinstance(arn, str):
            trust_json = pulumi.Output.from_input(arn).apply(lambda resolved: policy_json(args.trust(resolved)))
        role = create_role(
            self,
            f"{name}-role",
            args.role,
            args.role_documents(),
            trust_json=trust_json,
            depends_on=opts.depends_on if opts is not None else None,
        )
        # Attributes, not class annotations (see EcsAgentRoles).
        self.role_arn: pulumi.Output[str] = role.arn
        self.role_name: pulumi.Output[str] = role.name
        self.issuer: str = args.issuer
        self.audience: str = args.token_audience
        self.subjects: list[str] = args.all_subjects()
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, Any]:
        """Stack output: the role, and what the pipeline configures (issuer, audience, subjects)."""
        return {
            "roleArn": self.role_arn,
            "roleName": self.role_name,
            "issuer": self.issuer,
            "audience": self.audience,
            "subjects": self.subjects,
        }
