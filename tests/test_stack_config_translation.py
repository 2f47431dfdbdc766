"""The stack config translates each entry one to one into its component's Args (the keys it sets, by the
table, over the stack's defaults), and reports the component's own checks with the stack file and the
config key in place of the Args field."""

from __future__ import annotations

import pytest

from agent_iam import EcsAgentRoles, SaasAccessRole
from agent_iam.stack_config import ConfigError, load_settings
from conftest import ACCOUNT, REGION

SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:agent-key-AbCdEf"


def settings(**values):
    return load_settings({"accountId": ACCOUNT, **values}, stack="prod", region=REGION)


def test_an_entry_becomes_its_components_args_with_the_stack_defaults():
    result = settings(
        defaults={"path": "/agents/", "tags": {"team": "platform"}},
        ecsAgents=[{"name": "sb", "secretArns": [SECRET], "trustEc2": True}],
    )
    [unit] = result.ecs_agents
    assert unit.component is EcsAgentRoles and unit.name == "sb" and unit.key == "agent-iam:ecsAgents[0]"
    assert unit.args == {
        "account_id": ACCOUNT,
        "region": REGION,
        "path": "/agents/",
        "tags": {"team": "platform", "managed-by": "agent-iam", "stack": "prod"},
        "secret_arns": [SECRET],
        "trust_ec2": True,
        "guardrails": {"enforcement": "disabled"},  # the plan and the policy pack judge the stack
    }
    assert unit.plan.given is unit.args  # the plan the component checked, for these Args
    assert [(r.label, r.spec.name, r.account_id) for r in unit.roles] == [
        ("task role", "sb-task", ACCOUNT),
        ("execution role", "sb-execution", ACCOUNT),
    ]


def test_the_stack_judges_its_entries_not_their_components():
    """A stack's levels and acceptedFindings are judged by the plan and the policy pack over the whole stack (a
    mandatory violation is written and exits 3); the component's own judgement would raise and write nothing."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    result = settings(
        guardrails={"rules": {"managed-policy-privileges": "mandatory"}},
        saasRoles=[{"name": "admin", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/v"}, "externalId": "ext-1234",
                    "policyArns": [admin], "acceptedFindings": [
                        {"check": "managed-policy-privileges", "document": "AdministratorAccess", "reason": "reviewed: break-glass"}]}],
    )
    [unit] = result.saas_roles
    assert unit.args["guardrails"] == {"enforcement": "disabled"} and "accepted_findings" not in unit.args
    assert unit.plan.guardrail_advice == [] and [a.reason for a in unit.accepted_findings] == ["reviewed: break-glass"]


def test_nested_and_stack_wide_keys_become_their_fields_by_the_table():
    result = settings(
        defaults={"limits": {"trustPolicySize": 4096}},
        saasRoles=[{"name": "qwak", "vendor": {"accountId": "377488441568"}, "externalId": "ext-1234"}],
    )
    [unit] = result.saas_roles
    assert unit.component is SaasAccessRole
    assert unit.args["vendor_account_id"] == "377488441568" and "principal_arn" not in unit.args
    assert unit.args["iam_limits"] == {"trust_policy_size": 4096, "role_policies_size": 10240, "managed_policies_per_role": 10}
    assert unit.plan.args["principal_arn"] == "arn:aws:iam::377488441568:root"  # the component's decision


@pytest.mark.parametrize(
    "family,field,key",
    [
        ("saasRoles", "vendor_account_id", "vendor.accountId"),
        ("saasRoles", "principal_arn_patterns[1]", "vendor.principalArnPatterns[1]"),
        ("serviceAccounts", "secret_namespace", "secret.namespace"),
        ("serviceAccounts", "subjects[0].service_account", "subjects[0].serviceAccount"),
        ("ecsAgents", "iam_limits.trust_policy_size", ":defaults.limits.trustPolicySize"),
        ("ecsAgents", "policy.Statement[0].Resource", "policy.Statement[0].Resource"),
        ("ec2Agents", "s3_read", "s3Read"),
        ("serviceAccounts", "service_account_annotations.eks.amazonaws.com/role-arn",
         "serviceAccountAnnotations.eks.amazonaws.com/role-arn"),
    ],
)
def test_the_table_spells_every_field_as_its_key(family, field, key):
    from agent_iam.stack_config.settings import config_key

    assert config_key(family, field) == key


@pytest.mark.parametrize(
    "values,line",
    [
        (
            {"saasRoles": [{"name": "v", "vendor": {"accountId": "377488441568"}}]},
            "agent-iam:saasRoles[0].vendor.accountId: trusts every principal in account 377488441568 with no "
            "condition; set externalId or vendor.principalArnPatterns, or set allowUnconditionedAccountTrust: true",
        ),
        (
            {"defaults": {"limits": {"trustPolicySize": 100}},
             "saasRoles": [{"name": "v", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/v"}, "externalId": "ext-1"}]},
            "agent-iam:saasRoles[0]: role 'v': trust policy is",
        ),
        (
            {"ecsAgents": [{"name": "a", "policy": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]},
            "agent-iam:ecsAgents[0].policy.Statement[0].Resource: '*' covers every resource of its kind; scope it "
            "to ARNs, or set allowWildcardResources: true",
        ),
    ],
)
def test_a_components_problem_names_the_stack_file_and_key(values, line):
    with pytest.raises(ConfigError) as caught:
        settings(**values)
    assert f"stacks/Pulumi.prod.yaml: {line}" in str(caught.value), str(caught.value)


def test_every_entrys_problems_are_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        settings(
            ecsAgents=[{"name": "a", "secretArns": ["*"]}],
            saasRoles=[{"name": "v", "vendor": {"principalArn": "arn:aws:iam::222222222222:role/v"}}],
        )
    lines = caught.value.lines
    assert any(line.startswith("stacks/Pulumi.prod.yaml: agent-iam:ecsAgents[0].secretArns[0]: '*'") for line in lines)
    assert any(line.startswith("stacks/Pulumi.prod.yaml: agent-iam:saasRoles[0].externalId: required") for line in lines)


def test_two_entries_whose_resources_would_share_a_urn_are_a_config_error_naming_both():
    """A child's URN is its type, its name and its component's type (not the component's name): `a`'s
    ServiceAccount in cluster `x-sa-y` and `a-sa-x`'s in cluster `y` are both `a-sa-x-sa-y/n/s`."""
    issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/"
    clusters = {"x-sa-y": {"oidcIssuerUrl": issuer + "AAAA"}, "y": {"oidcIssuerUrl": issuer + "BBBB"}}
    entry = {"mode": "irsa", "namespace": "n", "serviceAccount": "s"}
    with pytest.raises(ConfigError) as caught:
        settings(clusters=clusters, serviceAccounts=[{**entry, "name": "a", "cluster": "x-sa-y"},
                                                     {**entry, "name": "a-sa-x", "cluster": "y"}])
    assert caught.value.lines == [
        "stacks/Pulumi.prod.yaml: agent-iam:serviceAccounts[1]: its ServiceAccount 'a-sa-x-sa-y/n/s' would have the "
        "same URN as agent-iam:serviceAccounts[0]'s (the same type and name, both under IrsaRole components); rename "
        "one of the two entries"
    ]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_plan_lists_exactly_the_resources_its_component_registers(stack):
    """`plan.resources(name)`, which the URN check reads, comes from the same names the registration uses."""
    from conftest import plan_stack_file

    run = plan_stack_file(stack)
    for unit in run.settings.units():
        (component,) = [r for r in run.resources if not r.custom and r.name == unit.name and r.type.endswith(unit.component.__name__)]
        children = sorted((r.type, r.name) for r in run.resources if r.parent == component.urn)
        assert children == sorted(unit.plan.resources(unit.name)), unit.key


@pytest.mark.parametrize("family", ["ecsAgents", "ec2Agents", "saasRoles", "serviceAccounts", "oidcRoles"])
def test_the_table_maps_each_key_to_one_field_and_back(family):
    """An entry's keys are its component's Args fields, one to one: every key but the stack's own (names,
    accounts, reviews) is a field, every field is a key or filled by the stack, and each spells back."""
    from pydantic.alias_generators import to_camel

    from agent_iam.stack_config.models import ENTRIES, FILLED
    from agent_iam.stack_config.settings import config_key

    table = ENTRIES[family]
    model = {"ecsAgents": "EcsAgent", "ec2Agents": "Ec2Agent", "saasRoles": "SaasRole", "serviceAccounts": "ServiceAccount",
             "oidcRoles": "OidcRole"}[family]
    import agent_iam.stack_config.models as models

    entry = getattr(models, model)
    own = set(table.base.model_fields) - set(table.args.__annotations__)  # names, accounts, reviews, vendor, secret
    keys = {name for name in entry.model_fields if name not in own}
    fields = set(table.args.__annotations__) - set(FILLED) - set(table.filled) - {f for _, f in table.nested}
    assert keys == fields
    for name in keys:
        assert config_key(family, name) == to_camel(name)
    for key, field in table.nested:
        assert config_key(family, field) == key
