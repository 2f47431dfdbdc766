"""Ec2AgentInstanceProfile and OidcProviderRegistration built from their Args under Pulumi's mocks."""

from __future__ import annotations

import json

import pytest

from agent_iam import ArgsError, Ec2AgentInstanceProfile, Ec2AgentInstanceProfileArgs, OidcProviderRegistration
from conftest import ACCOUNT, REGION, SSM_REVIEWED, run_components


def test_instance_profile_from_args():
    run, outputs = run_components(
        lambda: Ec2AgentInstanceProfile(
            "runner", Ec2AgentInstanceProfileArgs(account_id=ACCOUNT, region=REGION, ssm=True, accepted_findings=[SSM_REVIEWED])
        ).outputs()
    )
    role = run.named("aws:iam/role:Role", "runner-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attachment = run.named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "runner-role-AmazonSSMManagedInstanceCore")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert outputs["instanceProfileArn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/runner"


def test_managed_policies_with_the_same_name_get_two_attachments():
    """`job-function/ViewOnlyAccess` (AWS) and `<account>:policy/ViewOnlyAccess` (customer) do not collide."""
    arns = ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", f"arn:aws:iam::{ACCOUNT}:policy/ViewOnlyAccess"]
    run, _ = run_components(
        lambda: Ec2AgentInstanceProfile("runner", Ec2AgentInstanceProfileArgs(
            account_id=ACCOUNT, policy_arns=arns, accepted_findings=[
                {"check": "sensitive-actions-scoped", "document": "ViewOnlyAccess", "reason": "what it lists, reviewed"}]))
    )
    attachments = {r.name: r.inputs["policyArn"] for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert attachments == {"runner-role-ViewOnlyAccess": arns[0], f"runner-role-{ACCOUNT}-ViewOnlyAccess": arns[1]}


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: Ec2AgentInstanceProfile("r", {"account_id": ACCOUNT, "ssm": True,
                                               "policy_arns": ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]}),
         r"Ec2AgentInstanceProfile 'r': args\.policy_arns\[0\]: ssm: true already attaches"),
        (lambda: Ec2AgentInstanceProfile("r", {"account_id": ACCOUNT, "max_session_duration": 60}),
         r"args\.max_session_duration: a role's maximum session is 3600 to 43200 seconds: 60"),
        (lambda: OidcProviderRegistration("eks", {"url": "http://oidc.example.com"}),
         r"OidcProviderRegistration 'eks': args\.url: IAM accepts only https:// OIDC issuers"),
        (lambda: OidcProviderRegistration("eks", {"url": "HTTPS://oidc.example.com"}),
         r"OidcProviderRegistration 'eks': args\.url: write the scheme .*https:// in lower case: 'HTTPS://oidc\.example\.com'"),
        (lambda: OidcProviderRegistration("eks", {}), r"args\.url: required, but not set"),
    ],
)
def test_bad_args_raise_naming_the_field_and_register_nothing(build, match):
    with pytest.raises(ArgsError, match=match) as caught:
        run_components(build)
    assert caught.value.registered_resources == []
