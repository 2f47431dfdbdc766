"""The plan's mock engine behaves like the real one where a plan could otherwise lie."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from agent_iam.plan.mocks import DuplicateUrnError
from conftest import config_with, run_components


def test_a_duplicate_urn_is_refused_like_the_real_engine_does():
    def program():
        aws.iam.Role("same", assume_role_policy="{}")
        aws.iam.Role("same", assume_role_policy="{}")

    with pytest.raises(DuplicateUrnError, match=r"Duplicate resource URN '.*::same'; try giving it a unique name"):
        run_components(program)


def test_a_child_name_reused_under_two_components_of_one_type_is_a_duplicate_too():
    """URNs carry the parent's type, not its name: why every child is named from its component's name."""

    def program():
        for parent in ("a", "b"):
            component = pulumi.ComponentResource("agent-iam:test:Parent", parent)
            aws.iam.Role("same", assume_role_policy="{}", opts=pulumi.ResourceOptions(parent=component))

    with pytest.raises(Exception, match=r"Duplicate resource URN '.*agent-iam:test:Parent\$aws:iam/role:Role::same'"):
        run_components(program)


def test_an_irsa_role_waits_for_the_oidc_provider_registration_its_trust_names(plan_stack):
    """The trust names a provider agent-iam registers in the role's account: the role depends on it."""
    config = config_with(
        accounts={"data": {"roleArn": "arn:aws:iam::222222222222:role/deployer", "region": "eu-west-1"}},
        clusters={"prod": {"oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123"}},
        serviceAccounts=[{"name": "reader", "account": "data", "mode": "irsa", "cluster": "prod",
                          "namespace": "apps", "serviceAccount": "reader", "createServiceAccount": False}],
    )
    run = plan_stack(config)
    [provider] = run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    role = run.named("aws:iam/role:Role", "reader-role")
    assert provider.urn.rsplit("::", 1)[-1] == "prod-oidc-222222222222-provider"
    assert [urn.rsplit("::", 1)[-1] for urn in role.dependencies] == ["prod-oidc-222222222222-provider"]
