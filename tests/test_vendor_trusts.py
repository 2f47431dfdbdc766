"""Trusts as vendors document them (issue 22 item 3, issue 20 item 4): Buildkite's session tags with
`sts:TagSession`, the CircleCI, Bitbucket Pipelines, Buildkite and Spacelift providers with their
issuer, audience and subject shapes, `aws:SourceIp` and `aws:PrincipalOrgID` on SaaS roles, and on an
issuer every customer shares the owner pinned whatever `provider:` says: the components and the
guardrail rule judge it with the one function of the issuer home (`issuers.owner_problem`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from agent_iam import ArgsError, OidcRole
from agent_iam.guardrails import rules
from agent_iam.iam import issuers
from agent_iam.plan.planner import plan_stack
from conftest import ACCOUNT, assert_config_error, config_with, trust_of

GITHUB = "token.actions.githubusercontent.com"
CIRCLE_ORG = "0b7c2a3e-1f2d-4c7a-9e8b-3a5d6f7c8e9a"
CIRCLE_PROJECT = "1c8d3b4f-2e3d-4d8b-8f9c-4b6e7f8d9a0b"
CIRCLE_USER = "2d9e4c5a-3f4e-4e9c-9a0d-5c7f8a9e0b1c"
WORKSPACE_UUID = "3e0f5d6b-4a5f-4f0d-8b1e-6d8a9b0f1c2d"
REPO_UUID = "4f1a6e7c-5b6a-4a1e-9c2f-7e9b0c1a2d3e"
STEP_UUID = "5a2b7f8d-6c7b-4b2f-8d3a-8f0c1d2b3e4f"
BITBUCKET_ISSUER = "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"


def buildkite(**extra: Any) -> dict[str, Any]:
    return {"name": "deploy", "provider": "buildkite", "organization": "acme", "pipelines": ["deploy-app"], **extra}


# --- Buildkite, as its AWS page documents the trust --------------------------------------------


def test_buildkite_pins_organization_and_pipeline_with_session_tags(plan_stack):
    run = plan_stack(config_with(oidcRoles=[buildkite(sourceIps=["192.0.2.0", "198.51.100.0/24"])]))
    (statement,) = trust_of(run, "deploy-role")["Statement"]
    assert statement == {
        "Sid": "Buildkite",
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/agent.buildkite.com"},
        "Action": ["sts:TagSession", "sts:AssumeRoleWithWebIdentity"],
        "Condition": {
            "StringEquals": {
                "agent.buildkite.com:aud": "sts.amazonaws.com",
                "aws:RequestTag/organization_slug": "acme",
                "aws:RequestTag/pipeline_slug": "deploy-app",
            },
            "IpAddress": {"aws:SourceIp": ["192.0.2.0", "198.51.100.0/24"]},
        },
    }
    provider = next(r for r in run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"))
    assert provider.inputs["url"] == "https://agent.buildkite.com" and provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_buildkites_documented_trust_plans_green_in_a_mandatory_stack(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    config = config_with(guardrails={"enforcement": "mandatory"}, oidcRoles=[buildkite(sourceIps=["192.0.2.0/24"])])
    (stacks / "Pulumi.ci.yaml").write_text(yaml.safe_dump({"config": config}))
    result = plan_stack(stacks, "ci", tmp_path / "build", use_cache=False)
    plan = json.loads(result.files["plan.json"])
    assert not result.blocked and plan["violations"] == []
    exempted = {f["check"] for f in plan["iamFindings"] if f.get("exemption")}
    assert exempted == {"condition_key_validation", "trust_policy_validation"}  # the validator's data, reviewed


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"pipelines": None}, "agent-iam:oidcRoles[0].organization: names no pipelines: say which runs may assume the role"),
        ({"organization": None}, "agent-iam:oidcRoles[0].pipelines: names pipelines of one organization; set organization"),
        ({"organization": "Acme Corp"}, "agent-iam:oidcRoles[0].organization: not a Buildkite slug"),
        ({"sourceIps": ["192.0.2.300"]}, "agent-iam:oidcRoles[0].sourceIps[0]: not an IP address or CIDR range"),
        ({"sessionTags": {"pipeline_slug": ["other"]}}, "agent-iam:oidcRoles[0].sessionTags.pipeline_slug: is set by"),
        ({"sessionTags": {"team": ["*"]}}, "agent-iam:oidcRoles[0].sessionTags.team: is matched exactly"),
        ({"issuerUrl": "https://agent.buildkite.com.evil.example"}, "agent-iam:oidcRoles[0].issuerUrl: 'https://agent.buildkite.com.evil.example' is not Buildkite's issuer"),
        ({"subjects": ["organization:acme:pipeline:deploy-app:ref:refs/heads/main"]},
         "agent-iam:oidcRoles[0].subjects[0]: 'organization:acme:pipeline:deploy-app:ref:refs/heads/main' does not have the shape of a Buildkite subject"),
    ],
)
def test_buildkite_keys_are_checked(entry, expected):
    assert_config_error({"oidcRoles": [{k: v for k, v in {**buildkite(), **entry}.items() if v is not None}]}, expected)


# --- CircleCI, Bitbucket Pipelines, Spacelift: an issuer per customer --------------------------


def test_circleci_bitbucket_and_spacelift_roles_trust_their_customers_issuer(plan_stack):
    entries = [
        {"name": "circle", "provider": "circleci", "issuerUrl": f"https://oidc.circleci.com/org/{CIRCLE_ORG}",
         "subjects": [f"org/{CIRCLE_ORG}/project/{CIRCLE_PROJECT}/user/*"], "allowWildcardSubject": True,
         "tags": {"agent-iam:oidc-sub-wildcard": "CircleCI names the user who started the job: any user of the project"}},
        {"name": "bitbucket", "provider": "bitbucket", "issuerUrl": BITBUCKET_ISSUER,
         "audience": f"ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}", "subjects": [f"{{{REPO_UUID}}}:{{{STEP_UUID}}}"]},
        {"name": "spacelift", "provider": "spacelift", "issuerUrl": "https://acme.app.spacelift.io",
         "subjects": ["space:root:stack:infra:run_type:TRACKED:scope:write"]},
    ]
    run = plan_stack(config_with(oidcRoles=entries))
    circle = trust_of(run, "circle-role")["Statement"][0]["Condition"]
    key = f"oidc.circleci.com/org/{CIRCLE_ORG}"
    assert circle == {"StringEquals": {f"{key}:aud": CIRCLE_ORG},  # the organization ID, CircleCI's fixed audience
                      "StringLike": {f"{key}:sub": f"org/{CIRCLE_ORG}/project/{CIRCLE_PROJECT}/user/*"}}
    bitbucket = trust_of(run, "bitbucket-role")["Statement"][0]
    assert bitbucket["Sid"] == "BitbucketPipelines"
    assert bitbucket["Principal"]["Federated"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{BITBUCKET_ISSUER.removeprefix('https://')}"
    spacelift = trust_of(run, "spacelift-role")["Statement"][0]["Condition"]["StringEquals"]
    assert spacelift["acme.app.spacelift.io:aud"] == "acme.app.spacelift.io"


def test_a_bitbucket_pattern_that_fixes_the_repository_plans_as_atlassian_pins_it(plan_stack):
    # The workspace is the issuer's: `{<repository UUID>}:*` (every step of one repository) names
    # something under it; a pattern that leaves the repository open names nothing.
    pattern = f"{{{REPO_UUID}}}:*"
    run = plan_stack(config_with(oidcRoles=[
        {"name": "bitbucket", "provider": "bitbucket", "issuerUrl": BITBUCKET_ISSUER,
         "audience": f"ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}", "subjects": [pattern],
         "allowWildcardSubject": True, "tags": {"agent-iam:oidc-sub-wildcard": "every step of the app repository"}}]))
    key = BITBUCKET_ISSUER.removeprefix("https://")
    assert trust_of(run, "bitbucket-role")["Statement"][0]["Condition"] == {
        "StringEquals": {f"{key}:aud": f"ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}"},
        "StringLike": {f"{key}:sub": pattern},
    }
    for loose in ("*", "{*}:*", f"{{{REPO_UUID[:8]}*}}:*", f"{{{REPO_UUID}}}*"):
        problem = issuers.subject_problem("bitbucket", loose, allow_wildcard=True, issuer_url=BITBUCKET_ISSUER)
        assert problem is not None and problem.startswith("a Bitbucket Pipelines pattern keeps the owner fixed"), loose


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"provider": "circleci", "subjects": ["x"]},
         "issuerUrl: required with provider: circleci (https://oidc.circleci.com/org/<organization ID>"),
        ({"provider": "circleci", "issuerUrl": "https://oidc.circleci.com/org/acme", "subjects": ["x"]},
         "issuerUrl: 'https://oidc.circleci.com/org/acme' is not a CircleCI issuer"),
        ({"provider": "circleci", "issuerUrl": f"https://oidc.circleci.com/org/{CIRCLE_ORG}",
          "subjects": [f"org/{CIRCLE_PROJECT}/project/{CIRCLE_PROJECT}/user/{CIRCLE_USER}"]},
         f"subjects[0]: 'org/{CIRCLE_PROJECT}/project/{CIRCLE_PROJECT}/user/{CIRCLE_USER}' names organization {CIRCLE_PROJECT}, but the issuer is organization {CIRCLE_ORG}'s"),
        ({"provider": "circleci", "issuerUrl": f"https://oidc.circleci.com/org/{CIRCLE_ORG}", "subjects": [f"org/{CIRCLE_ORG}/project/x"]},
         f"subjects[0]: 'org/{CIRCLE_ORG}/project/x' does not have the shape of a CircleCI subject"),
        ({"provider": "bitbucket", "issuerUrl": BITBUCKET_ISSUER, "subjects": [f"{{{REPO_UUID}}}:{{{STEP_UUID}}}"]},
         "audience: required with provider: bitbucket (ari:cloud:bitbucket::workspace/<workspace UUID>"),
        ({"provider": "bitbucket", "issuerUrl": BITBUCKET_ISSUER, "audience": f"ari:cloud:bitbucket::workspace/{WORKSPACE_UUID}",
          "subjects": [REPO_UUID]}, f"subjects[0]: '{REPO_UUID}' does not have the shape of a Bitbucket Pipelines subject"),
        ({"provider": "spacelift", "issuerUrl": "https://acme.spacelift.io", "subjects": ["x"]},
         "issuerUrl: 'https://acme.spacelift.io' is not a Spacelift issuer (https://<account>.app.spacelift.io)"),
        ({"provider": "spacelift", "issuerUrl": "https://acme.app.spacelift.io", "subjects": ["space:root:*"], "allowWildcardSubject": True},
         "subjects[0]: 'space:root:*' a Spacelift pattern keeps the owner fixed and names something under it"),
    ],
)
def test_vendor_issuer_audience_and_subject_shapes_are_checked(entry, expected):
    assert_config_error({"oidcRoles": [{"name": "ci", **entry}]}, f"agent-iam:oidcRoles[0].{expected}")


# --- the owner on a shared issuer, whatever `provider:` says ---------------------------------


@pytest.mark.parametrize(
    ("subjects", "claims", "fixed"),
    [
        (["environment:prod"], None, False),
        (["repository_visibility:private"], None, False),
        (["repo:acme/app:environment:prod"], None, True),
        (["repository_owner:acme:environment:prod"], None, True),
        (["environment:prod"], {"repository_owner_id": ["1234567"]}, True),
        (["environment:prod", "repo:acme/app:environment:prod"], None, False),
        (["repository_owner:ac*"], None, False),
    ],
)
def test_generic_on_githubs_issuer_must_pin_the_owner_in_the_component_and_the_rule_alike(subjects, claims, fixed):
    args = {"provider": "generic", "issuer_url": f"https://{GITHUB}", "audience": "sts.amazonaws.com", "subjects": subjects,
            "account_id": ACCOUNT, "allow_wildcard_subject": any("*" in s for s in subjects) or None,
            "claims": claims}
    args = {k: v for k, v in args.items() if v is not None}
    try:
        plan = OidcRole.check("ci", args)
    except ArgsError as error:
        assert not fixed
        owner = "args.subjects: the role trusts the GitHub Actions issuer every GitHub Actions customer shares"
        pattern = "a GitHub Actions pattern keeps the owner fixed"  # a pattern is refused by its shape first
        assert (owner in str(error) and "does not name the repository owner" in str(error)) or pattern in str(error)
        condition = {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}, "StringLike": {f"{GITHUB}:sub": subjects}}
    else:
        assert fixed
        condition = plan.trust(f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}")["Statement"][0]["Condition"]
    statement = {"Sid": "Ci", "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"},
                 "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}
    view = rules.ResourceView(rules.ROLE, "ci", {"name": "ci", "assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                                               "tags": {"agent-iam:oidc-sub-wildcard": "reviewed"}}, ACCOUNT)
    hits = [v.message for v in rules.evaluate_resource("oidc-trust-conditions", view, rules.Context(account_id=ACCOUNT))]
    owner = [h for h in hits if "every GitHub Actions customer shares" in h or "does not fix the repository owner" in h]
    assert bool(owner) is (not fixed), hits


@pytest.mark.parametrize(
    ("issuer", "condition", "fixed"),
    [
        ("gitlab.com", {"StringEquals": {"gitlab.com:sub": "ref_type:branch:ref:main"}}, False),
        ("gitlab.com", {"StringEquals": {"gitlab.com:sub": "project_path:acme/app:ref_type:branch:ref:main"}}, True),
        ("gitlab.com", {"StringEquals": {"gitlab.com:sub": "ref_type:branch:ref:main", "gitlab.com:namespace_path": "acme"}}, True),
        ("app.terraform.io", {"StringEquals": {"app.terraform.io:sub": "run_phase:apply"}}, False),
        ("agent.buildkite.com", {"StringEquals": {"aws:RequestTag/pipeline_slug": "deploy"}}, False),
        ("agent.buildkite.com", {"StringEquals": {"aws:RequestTag/pipeline_slug": "deploy", "aws:RequestTag/organization_slug": "acme"}}, True),
        ("agent.buildkite.com", {"StringLike": {"agent.buildkite.com:sub": "organization:acme:pipeline:deploy:*"}}, True),
        (f"oidc.circleci.com/org/{CIRCLE_ORG}", {"StringEquals": {f"oidc.circleci.com/org/{CIRCLE_ORG}:sub": "anything"}}, True),
        ("gitlab.example.com", {"StringEquals": {"gitlab.example.com:sub": "ref_type:branch:ref:main"}}, True),  # not shared
        (GITHUB, {"StringEqualsIfExists": {f"{GITHUB}:repository_owner_id": "1"}, "StringEquals": {f"{GITHUB}:sub": "environment:prod"}}, False),
    ],
)
def test_the_owner_rule_is_judged_by_the_issuer(issuer, condition, fixed):
    assert (issuers.owner_problem(issuer, issuers.pins_of(condition)) is None) is fixed


def test_a_buildkite_entry_without_its_organization_is_refused_as_the_rule_refuses_it():
    with pytest.raises(ArgsError, match=r"args.provider: the role trusts the Buildkite issuer every Buildkite customer shares, "
                                        r"and it pins no subject.*\(organization pins it\)"):
        OidcRole.check("ci", {"provider": "buildkite", "account_id": ACCOUNT, "session_tags": {"pipeline_slug": ["deploy"]}})


# --- SaaS roles: aws:SourceIp and aws:PrincipalOrgID, on top of the external ID -----------------


def test_saas_role_pins_the_vendors_addresses_and_organization_on_top(plan_stack):
    entry = {"name": "vendor", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/vendor"}, "externalId": "ext-123",
             "sourceIps": ["203.0.113.0/24"], "principalOrgIds": ["o-a1b2c3d4e5"]}
    (statement,) = trust_of(plan_stack(config_with(saasRoles=[entry])), "vendor-role")["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"sts:ExternalId": "ext-123", "aws:PrincipalOrgID": "o-a1b2c3d4e5"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
    }
    assert_config_error({"saasRoles": [{**entry, "principalOrgIds": ["org-1"]}]},
                        "agent-iam:saasRoles[0].principalOrgIds[0]: not an AWS Organizations ID")
    assert_config_error({"saasRoles": [{**entry, "externalId": None, "sourceIps": ["203.0.113.0/24"]}]},
                        "agent-iam:saasRoles[0].externalId: required")  # a condition on top, never instead


def test_the_cli_vendors_read_in_words_in_the_access_report(plan_stack):
    from agent_iam.plan.access import subject_words

    assert subject_words({"agent.buildkite.com": ["organization:acme:pipeline:deploy:ref:refs/heads/main:commit:HEAD:step:build"]}) == (
        "Buildkite jobs of pipeline `deploy` (organization `acme`)"
    )
    assert subject_words({"acme.app.spacelift.io": ["space:root:stack:infra:run_type:TRACKED:scope:write"]}) == (
        "Spacelift TRACKED runs of stack `infra` in space `root` (write scope)"
    )
