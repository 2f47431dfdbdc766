"""OidcRole: web identity trust for GitHub Actions, GitLab CI, HCP Terraform and any OIDC
issuer, built from Args under mocks and from `agent-iam:oidcRoles` stack config; the misuse
and the subject-less trust the issue names are refused before anything registers."""

from __future__ import annotations

import json

import pytest

from agent_iam.iam import issuers as known
from agent_iam.components import oidc_role
from agent_iam.plan.access import access_model, render_access_report
from conftest import ACCOUNT, REGION, assert_config_error, config_with, fuzz_examples, inline_policy_of, trust_of

GH = "token.actions.githubusercontent.com"
GH_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GH}"
ROLE = "aws:iam/role:Role"
PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def args(**fields) -> dict:
    return {"account_id": ACCOUNT, "region": REGION, **fields}


def trust(**fields) -> dict:
    """The trust the component would register for these Args (checked as the constructor does)."""
    return oidc_role.OidcRolePlan("deploy", args(**fields)).checked[0].trust


def problems(**fields) -> dict[str, str]:
    return {p.field: p.render() for p in oidc_role.oidc_problems(args(**fields))}


def github_deploy(**extra):
    return {"name": "app-deploy", "provider": "github", "repository": "acme/app", "branches": ["main"], **extra}


# --- documents from Args (pure) -----------------------------------------------------


def test_github_deploy_role_pins_aud_sub_repository_id_and_workflow():
    fields = dict(
        provider="github",
        repository="acme/app",
        branches=["main"],
        environments=["prod"],
        repository_id="123456789",
        workflow_refs=["acme/app/.github/workflows/deploy.yml@refs/heads/main"],
    )
    assert problems(**fields) == {}
    assert trust(**fields)["Statement"] == [
        {
            "Sid": "GitHubActions",
            "Effect": "Allow",
            "Principal": {"Federated": GH_PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GH}:aud": "sts.amazonaws.com",
                    f"{GH}:sub": ["repo:acme/app:ref:refs/heads/main", "repo:acme/app:environment:prod"],
                    f"{GH}:repository_id": "123456789",
                    f"{GH}:job_workflow_ref": "acme/app/.github/workflows/deploy.yml@refs/heads/main",
                }
            },
        }
    ]


@pytest.mark.parametrize(
    ("fields", "issuer", "audience", "subjects"),
    [
        (
            {"provider": "gitlab", "project_path": "acme/platform/infra", "branches": ["main"], "git_tags": ["v1.0"]},
            "gitlab.com",
            "https://gitlab.com",
            [
                "project_path:acme/platform/infra:ref_type:branch:ref:main",
                "project_path:acme/platform/infra:ref_type:tag:ref:v1.0",
            ],
        ),
        (
            {"provider": "gitlab", "issuer_url": "https://gitlab.acme.example/", "project_path": "ops/deploy", "branches": ["main"]},
            "gitlab.acme.example",
            "https://gitlab.acme.example",
            ["project_path:ops/deploy:ref_type:branch:ref:main"],
        ),
        (
            {"provider": "terraform-cloud", "organization": "acme", "project": "Networking", "workspaces": ["prod-vpc"]},
            "app.terraform.io",
            "aws.workload.identity",
            [
                "organization:acme:project:Networking:workspace:prod-vpc:run_phase:plan",
                "organization:acme:project:Networking:workspace:prod-vpc:run_phase:apply",
            ],
        ),
        (
            {"provider": "generic", "issuer_url": "https://oidc.circleci.com/org/0f1e", "audience": "0f1e", "subjects": ["org/0f1e/project/9a8b/user/*"], "allow_wildcard_subject": True,
             "tags": {"agent-iam:oidc-sub-wildcard": "every user of one CircleCI project - reviewed"}},  # the guardrail's exemption
            "oidc.circleci.com/org/0f1e",
            "0f1e",
            ["org/0f1e/project/9a8b/user/*"],
        ),
    ],
)
def test_each_provider_has_its_issuer_audience_and_subject_format(fields, issuer, audience, subjects):
    assert problems(**fields) == {}
    statement = trust(**fields)["Statement"][0]
    assert statement["Principal"] == {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"}
    condition = statement["Condition"]
    assert condition["StringEquals"][f"{issuer}:aud"] == audience
    wildcard = any(known.has_wildcard(s) for s in subjects)
    sub = condition.get("StringLike" if wildcard else "StringEquals")[f"{issuer}:sub"]
    assert (sub if isinstance(sub, list) else [sub]) == subjects
    if wildcard:  # a pattern is matched with StringLike, never StringEquals
        assert f"{issuer}:sub" not in condition["StringEquals"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"provider": "github"}, "subjects", "no subject: a trust without a `token.actions.githubusercontent.com:sub` pin"),
        ({"provider": "generic", "issuer_url": "https://idp.example.com", "audience": "x"}, "subjects", "no subject"),
        ({"provider": "github", "repository": "acme/app"}, "repository", "names no branches, git_tags, environments or pull_requests"),
        ({"provider": "github", "subjects": ["system:serviceaccount:github:deploy"]}, "subjects[0]", "does not have the shape of a GitHub Actions subject"),
        ({"provider": "github", "subjects": ["repo:acme/*"]}, "subjects[0]", "holds a wildcard"),
        ({"provider": "github", "subjects": ["repo:*"], "allow_wildcard_subject": True}, "subjects[0]", "keeps the owner fixed"),
        ({"provider": "github", "subjects": ["repo:*/app:ref:refs/heads/main"], "allow_wildcard_subject": True}, "subjects[0]", "keeps the owner fixed"),
        ({"provider": "terraform-cloud", "subjects": ["organization:*"], "allow_wildcard_subject": True}, "subjects[0]", "keeps the owner fixed"),
        # every subject of the owner, spelled with separators: `repo:acme/*` by another name
        ({"provider": "github", "subjects": ["repo:acme/*:*"], "allow_wildcard_subject": True}, "subjects[0]", "names something under it"),
        ({"provider": "github", "subjects": ["repo:acme/*/*"], "allow_wildcard_subject": True}, "subjects[0]", "names something under it"),
        ({"provider": "gitlab", "subjects": ["project_path:acme/*:*"], "allow_wildcard_subject": True}, "subjects[0]", "names something under it"),
        ({"provider": "terraform-cloud", "subjects": ["organization:acme:*:*"], "allow_wildcard_subject": True}, "subjects[0]", "names something under it"),
        # generic on a shared issuer gets that issuer's owner-fixed rule, however the URL is spelled
        ({"provider": "generic", "issuer_url": "https://token.actions.githubusercontent.com", "audience": "sts.amazonaws.com", "subjects": ["repo:a*"], "allow_wildcard_subject": True}, "subjects[0]", "a GitHub Actions pattern keeps the owner fixed"),
        ({"provider": "generic", "issuer_url": "https://TOKEN.Actions.githubusercontent.com/", "audience": "sts.amazonaws.com", "subjects": ["repo:*:ref:refs/heads/main"], "allow_wildcard_subject": True}, "subjects[0]", "a GitHub Actions pattern keeps the owner fixed"),
        ({"provider": "generic", "issuer_url": "https://gitlab.com", "audience": "https://gitlab.com", "subjects": ["project_path:*"], "allow_wildcard_subject": True}, "subjects[0]", "a GitLab CI/CD pattern keeps the owner fixed"),
        ({"provider": "generic", "issuer_url": "https://app.terraform.io", "audience": "aws.workload.identity", "subjects": ["organization:ac*"], "allow_wildcard_subject": True}, "subjects[0]", "a HCP Terraform pattern keeps the owner fixed"),
        ({"provider": "generic", "issuer_url": "https://idp.example.com", "audience": "x", "subjects": ["*"], "allow_wildcard_subject": True}, "subjects[0]", "at least 3 fixed characters"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "allow_wildcard_subject": True}, "allow_wildcard_subject", "no subject holds a wildcard"),
        ({"provider": "github", "issuer_url": "https://gitlab.com", "repository": "acme/app", "branches": ["main"]}, "issuer_url", "is not a GitHub Actions issuer"),
        ({"provider": "generic", "issuer_url": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789", "audience": "sts.amazonaws.com", "subjects": ["system:serviceaccount:a:b"]}, "issuer_url", "is an EKS cluster's issuer"),
        ({"provider": "generic", "issuer_url": "https://OIDC.EKS.eu-west-1.amazonaws.com/id/ABCDEF0123456789/", "audience": "sts.amazonaws.com", "subjects": ["system:serviceaccount:a:b"]}, "issuer_url", "is an EKS cluster's issuer"),
        # `HTTPS://` would become `oidc-provider/HTTPS://...` and `HTTPS://...:sub` keys that name nothing
        ({"provider": "generic", "issuer_url": "HTTPS://idp.example.com", "audience": "x", "subjects": ["abc"]}, "issuer_url", "https:// in lower case: 'HTTPS://idp.example.com'"),
        ({"provider": "generic", "issuer_url": "Https://token.actions.githubusercontent.com", "audience": "sts.amazonaws.com", "subjects": ["environment:prod"]}, "issuer_url", "https:// in lower case"),
        ({"provider": "generic", "issuer_url": "http://idp.example.com", "audience": "x", "subjects": ["abc"]}, "issuer_url", "IAM accepts only https:// OIDC issuers"),
        ({"provider": "generic", "issuer_url": "https://idp.example.com", "subjects": ["abc"]}, "audience", "required with provider: generic"),
        ({"provider": "gitlab", "repository": "acme/app", "project_path": "acme/app", "branches": ["main"]}, "repository", "applies to provider: github only"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "repository_id": "acme"}, "repository_id", "numeric ID"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "workflow_refs": ["deploy.yml"]}, "workflow_refs[0]", "not a job_workflow_ref"),
        # matched exactly, as the docs say: a pattern is refused, never turned into StringLike
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "workflow_refs": ["acme/app/.github/workflows/deploy.yml@*"]}, "workflow_refs[0]", "is matched exactly (StringEquals)"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "workflow_refs": ["acme/app/.github/workflows/deploy.yml@refs/heads/rel?"]}, "workflow_refs[0]", "is matched exactly (StringEquals)"),
        ({"provider": "terraform-cloud", "organization": "acme", "workspaces": ["w"], "run_phases": ["destroy"]}, "run_phases[0]", "is plan or apply"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "oidc_provider_arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"}, "oidc_provider_arn", "is the provider of issuer 'gitlab.com'"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "oidc_provider_arn": f"arn:aws:iam::222222222222:oidc-provider/{GH}"}, "oidc_provider_arn", "is in account 222222222222"),
        ({"provider": "jenkins"}, "provider", "unknown provider 'jenkins'"),
    ],
)
def test_bad_args_are_named_by_field(fields, field, message):
    found = problems(**fields)
    assert field in found, found
    assert message in found[field], found[field]


# --- stack config -------------------------------------------------------------------------


def test_github_deploy_role_plans_from_a_few_lines(plan_stack):
    run = plan_stack(config_with(oidcRoles=[github_deploy(repositoryId=123456789, s3Write=["acme-artifacts/releases"])]))
    statement = trust_of(run, "app-deploy-role")["Statement"][0]
    assert statement["Principal"] == {"Federated": GH_PROVIDER}
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GH}:aud": "sts.amazonaws.com",
            f"{GH}:sub": "repo:acme/app:ref:refs/heads/main",
            f"{GH}:repository_id": "123456789",
        }
    }
    provider = run.named(PROVIDER, f"oidc-{GH}-{ACCOUNT}-provider")
    assert provider.inputs["url"] == f"https://{GH}"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert [s["Sid"] for s in inline_policy_of(run, "app-deploy-role-workload-access")["Statement"]] == [
        "ListPrefixesOfAcmeArtifacts",
        "ReadObjects",
        "WriteObjects",
    ]
    assert run.outputs["oidcRoles"]["app-deploy"]["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/app-deploy"


def test_gitlab_and_terraform_cloud_roles_plan_from_a_few_lines(plan_stack):
    run = plan_stack(
        config_with(
            oidcRoles=[
                {"name": "gl", "provider": "gitlab", "projectPath": "acme/infra", "branches": ["main"]},
                {"name": "tfc", "provider": "terraform-cloud", "organization": "acme", "workspaces": ["prod"], "runPhases": ["apply"]},
            ]
        )
    )
    assert trust_of(run, "gl-role")["Statement"][0]["Condition"] == {
        "StringEquals": {"gitlab.com:aud": "https://gitlab.com", "gitlab.com:sub": "project_path:acme/infra:ref_type:branch:ref:main"}
    }
    assert trust_of(run, "tfc-role")["Statement"][0]["Condition"] == {
        "StringEquals": {
            "app.terraform.io:aud": "aws.workload.identity",
            "app.terraform.io:sub": "organization:acme:project:Default Project:workspace:prod:run_phase:apply",
        }
    }
    urls = sorted(p.inputs["url"] for p in run.of_type(PROVIDER))
    assert urls == ["https://app.terraform.io", "https://gitlab.com"]


def test_one_provider_per_issuer_and_account_accepting_every_audience(plan_stack):
    run = plan_stack(
        config_with(
            oidcRoles=[
                github_deploy(),
                github_deploy(name="app-plan", branches=[], pullRequests=True),
                github_deploy(name="custom-aud", audience="acme-deploy"),
            ]
        )
    )
    providers = run.of_type(PROVIDER)
    assert len(providers) == 1
    assert providers[0].inputs["clientIdLists"] == ["sts.amazonaws.com", "acme-deploy"]


def test_an_existing_provider_is_used_by_every_role_of_its_issuer_and_nothing_is_registered(plan_stack):
    run = plan_stack(config_with(oidcRoles=[github_deploy(oidcProviderArn=GH_PROVIDER), github_deploy(name="other")]))
    assert run.of_type(PROVIDER) == []
    assert trust_of(run, "other-role")["Statement"][0]["Principal"] == {"Federated": GH_PROVIDER}


def test_wildcard_subject_needs_the_opt_in_and_is_announced(plan_stack):
    assert_config_error(
        {"oidcRoles": [{"name": "any-branch", "provider": "github", "subjects": ["repo:acme/app:*"]}]},
        "agent-iam:oidcRoles[0].subjects[0]: 'repo:acme/app:*' holds a wildcard",
    )
    run = plan_stack(
        config_with(oidcRoles=[{"name": "any-branch", "provider": "github", "subjects": ["repo:acme/app:*"], "allowWildcardSubject": True}])
    )
    condition = trust_of(run, "any-branch-role")["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"}, "StringLike": {f"{GH}:sub": "repo:acme/app:*"}}
    assert any("trusts EVERY token whose subject matches repo:acme/app:*" in w for w in run.warnings)


def test_a_pull_request_role_that_writes_is_announced(plan_stack):
    pr = {"name": "pr", "provider": "github", "repository": "acme/app", "pullRequests": True}
    writes = plan_stack(config_with(oidcRoles=[{**pr, "s3Write": ["acme-artifacts/pr"]}]))
    assert any("trusts pull request runs (repo:acme/app:pull_request) and can do more than read S3" in w for w in writes.warnings)
    reads = plan_stack(config_with(oidcRoles=[{**pr, "s3Read": ["acme-artifacts/pr"]}]))
    assert not any("pull request runs" in w for w in reads.warnings)


def test_the_misuse_of_clusters_for_github_is_refused_and_points_to_oidc_roles():
    """The issue's misuse: GitHub's issuer as an EKS cluster planned a role GitHub can never assume."""
    assert_config_error(
        {
            "clusters": {"github": {"oidcIssuerUrl": "https://token.actions.githubusercontent.com"}},
            "serviceAccounts": [
                {"name": "deploy", "mode": "irsa", "cluster": "github", "namespace": "github", "serviceAccount": "deploy"}
            ],
        },
        "agent-iam:clusters.github.oidcIssuerUrl: 'token.actions.githubusercontent.com' is not an EKS cluster's OIDC "
        "issuer",
    )
    assert_config_error(
        {"clusters": {"github": {"oidcProviderArn": GH_PROVIDER}}},
        "agent-iam:clusters.github.oidcProviderArn: 'token.actions.githubusercontent.com' is not an EKS cluster's",
    )


def test_a_subject_less_oidc_trust_is_refused_with_file_and_key():
    assert_config_error(
        {"oidcRoles": [{"name": "deploy", "provider": "github"}]},
        "agent-iam:oidcRoles[0].subjects: no subject: a trust without a `token.actions.githubusercontent.com:sub` pin",
    )
    assert_config_error(
        {"oidcRoles": [{"name": "deploy", "provider": "generic", "issuerUrl": "https://idp.example.com", "audience": "a"}]},
        "agent-iam:oidcRoles[0].subjects: no subject",
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "runPhases": ["apply"]}, "oidcRoles[0].runPhases: applies to provider: terraform-cloud only"),
        ({"provider": "github", "repository": "acme", "branches": ["main"]}, "oidcRoles[0].repository: not a GitHub repository (owner/repo): 'acme'"),
        ({"provider": "github", "subjects": ["repo:acme/app:ref:refs/heads/main", "repo:acme/app:ref:refs/heads/main"]}, "oidcRoles[0].subjects[1]: listed twice"),
        ({"provider": "gitlab", "projectPath": "acme/app", "branches": ["main"], "workflowRefs": ["acme/app/.github/workflows/x.yml@main"]}, "oidcRoles[0].workflowRefs: applies to provider: github only"),
        ({"provider": "githib", "repository": "acme/app"}, "oidcRoles[0].provider:"),
        ({"provider": "github", "repository": "acme/app", "branches": ["release/*"]}, "oidcRoles[0].branches[0]: 'repo:acme/app:ref:refs/heads/release/*' holds a wildcard"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "repositoryId": True}, "oidcRoles[0].repositoryId: is the repository's numeric ID, not True"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"], "audience": ""}, "oidcRoles[0].audience: is empty"),
        ({"provider": "github", "repository": "acme/app", "branches": "main"}, "oidcRoles[0].branches: must be a list"),
        ({"provider": "terraform-cloud", "organization": "acme", "workspaces": ["prod*"]}, "oidcRoles[0].workspaces[0]: 'organization:acme:project:Default Project:workspace:prod*:run_phase:plan' holds a wildcard"),
        ({"provider": "github", "repository": "acme/app", "branch": ["main"]}, "oidcRoles[0].branch: unknown key; did you mean 'branches'?"),
        ({"provider": "generic", "issuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789", "audience": "sts.amazonaws.com", "subjects": ["system:serviceaccount:a:b"]}, "oidcRoles[0].issuerUrl: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789' is an EKS cluster's issuer"),
    ],
)
def test_config_errors_name_the_stack_file_and_key(entry, expected):
    assert_config_error({"oidcRoles": [{"name": "r", **entry}]}, f"agent-iam:{expected}")


def test_names_are_unique_across_the_family():
    assert_config_error(
        {"oidcRoles": [github_deploy(), github_deploy()]},
        "agent-iam:oidcRoles[1].name: another entry is already named 'app-deploy'",
    )


# --- the access report -----------------------------------------------------------------


GITHUB_URL, GITLAB_URL, TFC_URL = known.GITHUB_ISSUER, known.GITLAB_ISSUER, known.TERRAFORM_CLOUD_ISSUER


@pytest.mark.parametrize(
    ("issuer", "subject", "words"),
    [
        (GITHUB_URL, "repo:acme/app:ref:refs/heads/main", "GitHub Actions runs of `acme/app` on branch `main`"),
        (GITHUB_URL, "repo:acme/app:ref:refs/tags/v1.2", "GitHub Actions runs of `acme/app` on tag `v1.2`"),
        (GITHUB_URL, "repo:acme/app:environment:prod", "GitHub Actions runs of `acme/app` in environment `prod`"),
        (GITHUB_URL, "repo:acme/app:pull_request", "GitHub Actions runs of `acme/app` for pull requests"),
        (GITHUB_URL, "repo:acme/*", "GitHub Actions runs matching `repo:acme/*`"),
        (GITLAB_URL, "project_path:acme/infra:ref_type:branch:ref:main", "GitLab CI jobs of `acme/infra` on branch `main`"),
        (
            TFC_URL,
            "organization:acme:project:Default Project:workspace:prod:run_phase:apply",
            "HCP Terraform apply runs of workspace `prod` (project `Default Project`, organization `acme`)",
        ),
        ("https://id.example.com", "org/0f1e/project/9a8b", "tokens of `id.example.com` with subject `org/0f1e/project/9a8b`"),
        # another issuer's subject shape earns no name: GitLab's issuer does not run GitHub Actions
        (GITLAB_URL, "repo:acme/app:ref:refs/heads/main", "tokens of `gitlab.com` with subject `repo:acme/app:ref:refs/heads/main`"),
    ],
)
def test_subjects_read_as_words(issuer, subject, words):
    assert known.describe_subject(subject, issuer) == words


def test_access_report_says_which_runs_may_assume_the_role(plan_stack):
    run = plan_stack(config_with(oidcRoles=[github_deploy()]))
    report = render_access_report("test", access_model(run.resources))
    assert (
        "- GitHub Actions runs of `acme/app` on branch `main`, with tokens from the identity provider "
        f"`{GH_PROVIDER}`, can call `sts:AssumeRoleWithWebIdentity` when" in report
    )
    assert "Kubernetes service account `repo" not in report


def test_oidc_roles_pass_the_guardrails_in_mandatory_mode(tmp_path, iam_services):
    import yaml

    from agent_iam.plan.__main__ import main

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = config_with(
        oidcRoles=[
            github_deploy(s3Write=["acme-artifacts/releases"]),
            {"name": "gl", "provider": "gitlab", "projectPath": "acme/infra", "branches": ["main"]},
            {"name": "tfc", "provider": "terraform-cloud", "organization": "acme", "workspaces": ["prod"]},
        ]
    )
    (stacks / "Pulumi.ci.yaml").write_text(yaml.safe_dump({"config": config}))
    code = main(["--stack", "ci", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"])
    written = json.loads((tmp_path / "build" / "ci" / "plan.json").read_text())
    assert code == 0, written["violations"]
    assert written["violations"] == []


def test_a_wildcard_subject_is_blocked_by_the_guardrail_until_the_role_carries_the_reviewed_tag(tmp_path, iam_services):
    """Two acceptances, as for IRSA: allowWildcardSubject in config, the oidc-sub-wildcard tag for the rule."""
    import yaml

    from agent_iam.plan.__main__ import main

    def plan(tags):
        stacks = tmp_path / "stacks"
        stacks.mkdir(exist_ok=True)
        role = {"name": "any-branch", "provider": "github", "subjects": ["repo:acme/app:*"], "allowWildcardSubject": True}
        config = config_with(oidcRoles=[{**role, **({"tags": tags} if tags else {})}])
        (stacks / "Pulumi.ci.yaml").write_text(yaml.safe_dump({"config": config}))
        code = main(["--stack", "ci", "--stacks-dir", str(stacks), "--out", str(tmp_path / "build"), "--quiet"])
        return code, json.loads((tmp_path / "build" / "ci" / "plan.json").read_text())["violations"]

    code, violations = plan(None)
    assert code == 3
    assert [v["rule"] for v in violations] == ["oidc-trust-conditions"]
    assert "matches token.actions.githubusercontent.com:sub with StringLike wildcards" in violations[0]["message"]
    code, violations = plan({"agent-iam:oidc-sub-wildcard": "every branch of acme/app deploys to dev: SEC-12"})
    assert (code, violations) == (0, [])


def test_git_tags_build_subjects_and_tags_stay_the_roles_resource_tags(plan_stack):
    run = plan_stack(config_with(oidcRoles=[github_deploy(branches=[], gitTags=["v1.2.0"], tags={"team": "release"})]))
    assert trust_of(run, "app-deploy-role")["Statement"][0]["Condition"]["StringEquals"][f"{GH}:sub"] == (
        "repo:acme/app:ref:refs/tags/v1.2.0"
    )
    assert run.named(ROLE, "app-deploy-role").inputs["tags"]["team"] == "release"


def test_each_account_gets_its_own_provider_through_its_own_aws_provider(plan_stack):
    from conftest import provider_name

    accounts = {"tools": {"roleArn": "arn:aws:iam::222222222222:role/deployer", "region": "us-east-1"}}
    run = plan_stack(config_with(accounts=accounts, oidcRoles=[github_deploy(), github_deploy(name="tools-deploy", account="tools")]))
    providers = {provider_name(p): p.inputs["url"] for p in run.of_type(PROVIDER)}
    assert providers == {"aws": f"https://{GH}", "aws-tools": f"https://{GH}"}
    assert trust_of(run, "tools-deploy-role")["Statement"][0]["Principal"] == {
        "Federated": f"arn:aws:iam::222222222222:oidc-provider/{GH}"
    }


# --- patterns never reach another owner (property test) -------------------------------------

from fnmatch import fnmatchcase  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PIECE = st.text(alphabet="abcXYZ019-_./:*?", min_size=0, max_size=12)
OWNERS = {
    known.GITHUB: ("repo:", "/app:ref:refs/heads/main", "acme", "evil-corp"),
    known.GITLAB: ("project_path:", "/app:ref_type:branch:ref:main", "acme", "evil-corp"),
    known.TERRAFORM_CLOUD: ("organization:", ":project:Default Project:workspace:w:run_phase:apply", "acme", "evilcorp"),
}


@settings(max_examples=fuzz_examples(0.6), deadline=None)
@given(provider=st.sampled_from(sorted(OWNERS)), head=_PIECE, tail=_PIECE)
def test_an_accepted_pattern_never_matches_another_owners_tokens(provider, head, tail):
    """Whatever the spelling, a subject pattern the checks accept with allowWildcardSubject keeps the
    owner (GitHub owner, GitLab top-level group, Terraform organization) fixed: IAM's StringLike
    match of it never accepts a token of another owner."""
    prefix, suffix, owner, other = OWNERS[provider]
    for pattern in (f"{prefix}{head}{tail}", f"{prefix}{owner}{head}*{tail}", f"{prefix}{head}*{owner}{tail}"):
        if known.subject_problem(provider, pattern, allow_wildcard=True) is not None:
            continue
        assert not fnmatchcase(f"{prefix}{other}{suffix}", pattern.replace("[", "[[]")), pattern


@pytest.mark.parametrize(
    ("fields", "operator", "refs"),
    [
        ({"branches": ["main"], "git_tags": ["v1"]}, "StringEquals",
         ["acme/app/.github/workflows/deploy.yml@refs/heads/main", "acme/app/.github/workflows/deploy.yml@refs/tags/v1"]),
        ({"environments": ["prod"]}, "StringLike", "acme/app/.github/workflows/deploy.yml@*"),
    ],
)
def test_the_workflow_file_is_pinned_at_the_refs_sub_allows(fields, operator, refs):
    statement = trust(provider="github", repository="acme/app", workflow_file=".github/workflows/deploy.yml", **fields)
    condition = statement["Statement"][0]["Condition"]
    assert condition[operator][f"{GH}:job_workflow_ref"] == refs
    assert f"{GH}:sub" in condition["StringEquals"]  # :sub stays exact: the ref is pinned there
    assert problems(provider="github", repository="acme/app", branches=["main"], workflow_file="deploy.yml") == {
        "workflow_file": "not a workflow file of the repository (.github/workflows/<file>.yml): 'deploy.yml'"
    }


@pytest.mark.parametrize(
    ("stack", "role", "page"),
    [
        ("prod", "acme-app-deploy", "docs/oidc-roles.md"),
        ("staging", "snowflake-staging-lake", "docs/saas-roles.md"),
    ],
)
def test_the_worked_examples_in_the_docs_are_what_the_stacks_plan(stack, role, page):
    import re

    from conftest import ROOT, plan_stack_file

    shown = re.search(rf"{role}\.trust\.json`:\n\n```json\n(.*?)\n```", (ROOT / page).read_text(), re.S)
    assert shown, f"{page} shows no trust of {role}"
    assert json.loads(shown.group(1)) == trust_of(plan_stack_file(stack), f"{role}-role")
