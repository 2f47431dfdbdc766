"""OidcRole built from its Args under Pulumi's mocks, as a library user would: a provider ARN
from another resource, defaults applied inside, bad Args refused before anything registers."""

from __future__ import annotations

import json

import pytest

from agent_iam import ArgsError, OidcProviderRegistration, OidcProviderRegistrationArgs, OidcRole, OidcRoleArgs
from conftest import ACCOUNT, run_components

GH = "token.actions.githubusercontent.com"
ROLE = "aws:iam/role:Role"
PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"


def test_known_args_give_the_trust_defaults_and_outputs():
    args = OidcRoleArgs(provider="github", repository="acme/app", branches=["main"], account_id=ACCOUNT)
    run, outputs = run_components(lambda: OidcRole("deploy", args).outputs())
    role = run.named(ROLE, "deploy-role")
    assert role.inputs["name"] == "deploy" and role.inputs["path"] == "/"
    assert role.inputs["tags"] == {"managed-by": "agent-iam"}
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GH}"  # derived: the account's provider
    }
    assert outputs == {
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/deploy",
        "roleName": "deploy",
        "issuer": f"https://{GH}",
        "audience": "sts.amazonaws.com",
        "subjects": ["repo:acme/app:ref:refs/heads/main"],
    }


def test_the_provider_arn_can_come_from_a_registration_in_the_same_program():
    def program():
        gitlab = OidcProviderRegistration(
            "gitlab", OidcProviderRegistrationArgs(url="https://gitlab.example.com", client_ids=["https://gitlab.example.com"])
        )
        return OidcRole(
            "ci",
            OidcRoleArgs(
                provider="gitlab",
                issuer_url="https://gitlab.example.com",
                project_path="ops/deploy",
                branches=["main"],
                oidc_provider_arn=gitlab.arn,
            ),
        ).outputs()

    run, outputs = run_components(program)
    provider = run.named(PROVIDER, "gitlab-provider")
    assert provider.inputs["clientIdLists"] == ["https://gitlab.example.com"]
    statement = json.loads(run.named(ROLE, "ci-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
    assert statement["Condition"] == {
        "StringEquals": {
            "gitlab.example.com:aud": "https://gitlab.example.com",
            "gitlab.example.com:sub": "project_path:ops/deploy:ref_type:branch:ref:main",
        }
    }
    assert outputs["audience"] == "https://gitlab.example.com"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"provider": "github", "account_id": ACCOUNT}, r"OidcRole 'r': args\.subjects: no subject: a trust without"),
        ({"provider": "github", "repository": "acme/app", "branches": ["main"]}, r"args\.oidc_provider_arn: required when account_id"),
        ({"provider": "github", "account_id": ACCOUNT, "subjects": ["system:serviceaccount:github:deploy"]},
         r"args\.subjects\[0\]: 'system:serviceaccount:github:deploy' does not have the shape"),
        ({"provider": "github", "account_id": ACCOUNT, "repository": "acme/app", "branch": ["main"]},
         r"args\.branch: unknown field; did you mean 'branches'\?"),
        ({"account_id": ACCOUNT, "subjects": ["abc"]}, r"args\.provider: required, but not set"),
    ],
)
def test_bad_args_raise_naming_the_field_and_register_nothing(args, match):
    with pytest.raises(ArgsError, match=match) as caught:
        run_components(lambda: OidcRole("r", args))
    assert caught.value.registered_resources == []


def test_a_registration_accepts_the_audiences_it_is_given():
    run, _ = run_components(
        lambda: OidcProviderRegistration("tfc", {"url": "https://app.terraform.io", "client_ids": ["aws.workload.identity"]})
    )
    assert run.named(PROVIDER, "tfc-provider").inputs["clientIdLists"] == ["aws.workload.identity"]
    with pytest.raises(ArgsError, match=r"args\.client_ids\[0\]: a client ID \(audience\) is 1 to 255 characters"):
        run_components(lambda: OidcProviderRegistration("tfc", {"url": "https://app.terraform.io", "client_ids": [" "]}))


def test_a_provider_arn_output_that_resolves_to_another_type_is_refused_not_trusted():
    import pulumi

    args = OidcRoleArgs(provider="github", repository="acme/app", branches=["main"],
                        oidc_provider_arn=pulumi.Output.from_input(7))
    with pytest.raises(Exception, match=r"OidcRole 'deploy': args\.oidc_provider_arn: ") as caught:
        run_components(lambda: OidcRole("deploy", args))
    assert ROLE not in {r.type for r in caught.value.registered_resources}  # type: ignore[attr-defined]
