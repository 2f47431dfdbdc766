"""IAM's field limits, checked once (agent_iam.iam.limits) on the values the plan sends, after merging."""

from __future__ import annotations

import pytest

from agent_iam.iam import limits
from conftest import ACCOUNT, assert_config_error, config_with

FILE = "stacks/Pulumi.prod.yaml"


def tags(prefix: str, count: int) -> dict[str, str]:
    return {f"{prefix}{i}": "x" for i in range(count)}


def test_tag_count_is_checked_across_defaults_entry_and_agent_iam_tags():
    """30 default tags and 30 entry tags each pass alone; merged with agent-iam's two they are 62."""
    assert_config_error(
        {"defaults": {"tags": tags("d", 30)}, "ecsAgents": [{"name": "a", "tags": tags("e", 30)}]},
        "agent-iam:ecsAgents[0].tags: 62 tags, over the 50 IAM allows on a resource",
    )


def test_an_entry_overriding_a_default_tag_does_not_count_it_twice():
    from agent_iam import stack_config

    settings = stack_config.load_settings(
        {"accountId": ACCOUNT, "defaults": {"tags": tags("t", 48)}, "ecsAgents": [{"name": "a", "tags": tags("t", 48)}]},
        stack="prod",
        region="eu-west-1",
    )
    (unit,) = settings.ecs_agents
    assert [len(role.spec.tags) for role in unit.roles] == [50, 50]


@pytest.mark.parametrize(
    "value, bad",
    [
        ("no external ID; reviewed", "';'"),
        ("see (SEC-1)", "'(' ')'"),
        ("a, b", "','"),
        ("ticket #42", "'#'"),
        ("line\nbreak", "'\\n'"),
    ],
)
def test_tag_values_follow_iams_pattern(value, bad):
    assert_config_error(
        {"defaults": {"tags": {"note": value}}},
        f"agent-iam:defaults.tags: tag 'note': the value holds {bad}; IAM allows letters, numbers, spaces and _.:/=+-@",
    )


@pytest.mark.parametrize("value", ["Équipe données", "チーム", "a b_c.d:e/f=g+h-i@j", "", "１２３"])
def test_tag_values_in_iams_pattern_pass(value):
    assert limits.check_tag("team", value) == []


def test_ascii_tag_text_is_judged_as_each_character_is():
    """The one-match path for ASCII text accepts exactly the characters the per-character rule accepts."""
    for code in range(128):
        char = chr(code)
        assert limits._tag_text(char) == limits._tag_char(char), repr(char)
        assert limits._tag_text(f"a{char}b") == limits._tag_char(char), repr(char)
    assert limits._tag_text("Équipe\u2028") == all(limits._tag_char(c) for c in "Équipe\u2028")


def test_tag_keys_reserved_prefix_length_and_case():
    assert "reserved by AWS" in " ".join(limits.check_tag("AWS:x", "v"))
    assert "keys are 1 to 128" in " ".join(limits.check_tag("k" * 129, "v"))
    assert "differ only in case" in " ".join(limits.check_tags({"Team": "a", "team": "b"}))


def test_names_are_ascii_and_fullmatched():
    assert limits.check_name("agent-1_+=,.@") == []
    for bad in ("agént", "ＡＢ", "agent\n", "a b", ""):
        assert limits.check_name(bad), bad
    assert "at most 64" in " ".join(limits.check_name("r" * 65))
    assert limits.check_name("p" * 128, what="policy name", maximum=limits.POLICY_NAME_MAX) == []
    assert limits.check_name("p" * 129, what="policy name", maximum=limits.POLICY_NAME_MAX)


def test_path_description_and_session_duration():
    assert limits.check_path("/agents/team-a/") == []
    for bad in ("agents/", "/agents", "/a b/", "/é/", "/" + "a" * 511 + "/"):
        assert limits.check_path(bad), bad
    assert limits.check_description("ECS task role of agent x (agent-iam)") == []
    assert "1001 characters, over the 1000" in " ".join(limits.check_description("d" * 1001))
    assert "characters IAM refuses" in " ".join(limits.check_description("emoji \U0001f600"))
    assert limits.check_session_duration(3600) == [] and limits.check_session_duration(None) == []
    for bad in (3599, 43201, True, "3600"):
        assert limits.check_session_duration(bad), bad


def test_an_entry_name_long_enough_to_overflow_the_description_is_refused():
    assert_config_error(
        {"ecsAgents": [{"name": "a" * 1000, "taskRoleName": "t", "executionRoleName": "e"}]},
        "agent-iam:ecsAgents[0].name: names are at most 128 characters; this one has 1000",
    )


def test_merged_field_checks_name_the_role_and_the_field():
    from agent_iam.components.role import Policy, RoleDocuments, RoleSpec, role_problems

    spec = RoleSpec(name="r", path="/x/", description="d" * 1001, tags={"k": "v;", **tags("t", 50)})
    docs = RoleDocuments(trust={}, policies=(Policy("p" * 129, {"Statement": []}),))
    problems = [(p.field, p.message) for p in role_problems("task role", spec, docs, limits.IamLimits(), ACCOUNT,
                                                             policy_field="policy")]
    assert problems == [
        ("description", "task role 'r': the description is 1001 characters, over the 1000 IAM allows"),
        ("tags", "task role 'r': tag 'k': the value holds ';'; IAM allows letters, numbers, spaces and _.:/=+-@"),
        ("tags", "task role 'r': 51 tags, over the 50 IAM allows on a resource"),
        ("name", "task role 'r': IAM policy names are at most 128 characters; " + repr("p" * 129) + " has 129"),
    ]


def test_an_over_long_description_in_component_args_is_refused():
    from agent_iam.components._contract import ArgsError
    from agent_iam.components.ec2_agent_instance_profile import Ec2AgentInstanceProfile

    with pytest.raises(ArgsError, match="args.description: instance role 'a': the description is 1039 characters"):
        Ec2AgentInstanceProfile.check("a", {"account_id": ACCOUNT, "region": "eu-west-1", "description": "d" * 1039})


def test_the_oidc_provider_gets_the_merged_tag_check(plan_stack):
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
    clusters = {"c": {"name": "acme", "oidcIssuerUrl": f"https://{issuer}", "registerOidcProvider": True}}
    entry = {"name": "sa", "mode": "irsa", "cluster": "c", "namespace": "n", "serviceAccount": "s",
             "createServiceAccount": False}
    assert_config_error(
        {"defaults": {"tags": tags("d", 48)}, "clusters": clusters, "serviceAccounts": [entry]},
        "agent-iam:serviceAccounts[0]: the OIDC provider of cluster 'c': 51 tags, over the 50 IAM allows",
    )
    run = plan_stack(config_with(clusters=clusters, serviceAccounts=[entry]))
    assert run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
