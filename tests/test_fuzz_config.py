"""Generated stack configs, valid and invalid: a clear keyed error, or documents no wider than asked.

Each generated entry mixes well-formed values with the malformed ones users really type
(wrong service ARNs, wildcards, typo'd keys, names over IAM's limits). The properties:
- invalid config raises one ConfigError whose every line names the stack file and a key;
- valid config yields documents with no wildcard principal, no `Action: "*"`, no
  `Resource: "*"` unless the entry opted in, and no resource the entry did not name;
- under the real program, a config error registers nothing, nothing else ever escapes, and the
  registered resources pass every guardrail rule unless the entry explicitly opted in to width.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent_iam import stack_config
from agent_iam.components.role import RoleDocuments
from agent_iam.iam.limits import IamLimits
from conftest import ACCOUNT, REGION, config_with, fuzz_examples
from agent_iam.guardrails import rules as guardrail_rules
from agent_iam.plan.guardrails import resource_views, stack_settings
from agent_iam.plan.run import run_program

STACK = "fuzz"
# Examples per run (tests/conftest.py); a soak run raises them: FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/test_fuzz_config.py
EXAMPLES = fuzz_examples()
ERROR_LINE = re.compile(r"^stacks/Pulumi\.fuzz\.yaml: agent-iam:[A-Za-z]+[\w\[\].-]*: \S")
VENDOR_ACCOUNT = "377488441568"

TYPOS = [{"secretArn": ["x"]}, {"Principal": "*"}, {"policyArn": "x"}]
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
CLUSTERS = {"platform": {"name": "acme-platform", "oidcIssuerUrl": f"https://{ISSUER}"}}


def config_strategy(clean: bool) -> st.SearchStrategy:
    """Stack configs: `clean` draws only well-formed values (what is left to fail is how they
    combine); otherwise about one value in five is a malformed one users really type."""

    def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
        """Four parts good to one part bad, so valid configs are common enough to test; only good when clean."""
        return good if clean else st.one_of(good, good, good, good, bad)

    junk = st.sampled_from(
        ["", "*", " ", "not-an-arn", "arn:aws:s3:::bucket", "arn:aws:iam::*:root", "arn:aws:iam::12345:role/x", "x" * 300]
    )
    secret_arn = mostly(
        st.from_regex(rf"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:[a-z]{{1,8}}/[a-z]{{1,8}}-[A-Za-z0-9]{{6}}", fullmatch=True),
        junk,
    )
    kms_arn = mostly(
        st.from_regex(rf"arn:aws:kms:{REGION}:{ACCOUNT}:key/[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}", fullmatch=True),
        junk,
    )
    policy_arn = mostly(
        st.sampled_from(["arn:aws:iam::aws:policy/ReadOnlyAccess", f"arn:aws:iam::{ACCOUNT}:policy/team/agent-extra"]),
        junk,
    )
    entry_name = mostly(st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True), st.sampled_from(["", "has space", "n" * 70]))
    bucket = st.from_regex(r"[a-z0-9][a-z0-9-]{2,20}[a-z0-9]", fullmatch=True)
    s3_location = mostly(
        st.one_of(bucket, st.builds(lambda b, p: f"{b}/{p}", bucket, st.from_regex(r"[a-z]{1,8}", fullmatch=True))), junk
    )
    resource = mostly(
        st.one_of(
            st.just("*"),
            st.builds(lambda b: f"arn:aws:s3:::{b}/*", bucket),
            st.builds(lambda b: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{b}", bucket),
        ),
        junk,
    )
    action = mostly(
        st.sampled_from(["s3:GetObject", "s3:ListBucket", "dynamodb:GetItem", "s3:Get*", "s3:*", "iam:PassRole", "kms:Decrypt"]),
        st.sampled_from(["*", "not an action", "s3:"]),
    )

    def with_typo(entry: st.SearchStrategy, typos: list[dict[str, Any]]) -> st.SearchStrategy:
        """Now and then, a key the model does not have."""
        if clean:
            return entry
        return st.builds(lambda e, t: {**e, **t}, entry, mostly(st.just({}), st.sampled_from(typos)))


    statement = with_typo(
        st.fixed_dictionaries(
            {
                "Effect": mostly(st.sampled_from(["Allow", "Deny"]), st.just("Maybe")),
                "Action": st.one_of(action, st.lists(action, min_size=1, max_size=3)),
            },
            optional={
                "Resource": st.one_of(resource, st.lists(resource, min_size=1, max_size=3)),
                "Sid": mostly(st.just("Extra"), st.just("bad sid!")),
            },
        ),
        [{"Principal": "*"}, {"NotResource": "arn:aws:s3:::x"}, {"Resources": "*"}],
    )
    policy_doc = st.fixed_dictionaries(
        {"Version": mostly(st.just("2012-10-17"), st.sampled_from(["2008-10-17", "yesterday"])),
         "Statement": st.lists(statement, min_size=1, max_size=3)}
    )
    role_options = {
        "path": mostly(st.sampled_from(["/", "/agents/"]), st.sampled_from(["agents", "/a//b/"])),
        "maxSessionDuration": mostly(st.sampled_from([3600, 43200]), st.sampled_from([60, 50000])),
        "permissionsBoundaryArn": policy_arn,
        "protect": st.booleans(),
        "policy": policy_doc,
        "allowWildcardResources": st.booleans(),
    }

    ecs_agent = with_typo(st.fixed_dictionaries(
        {"name": entry_name},
        optional={
            **role_options,
            "secretArns": st.lists(secret_arn, max_size=3),
            "allowAllSecrets": st.booleans(),
            "kmsKeyArns": st.lists(kms_arn, max_size=2),
            "trustEc2": st.booleans(),
            "confusedDeputyConditions": st.booleans(),
            "taskRolePolicyArns": st.lists(policy_arn, max_size=2),
        },
    ), TYPOS)
    ec2_agent = with_typo(st.fixed_dictionaries(
        {"name": entry_name},
        optional={
            **role_options,
            "secretArns": st.lists(secret_arn, max_size=3),
            "allowAllSecrets": st.booleans(),
            "ssm": st.booleans(),
            "policyArns": st.lists(policy_arn, max_size=2),
        },
    ), TYPOS)
    vendor_pattern = mostly(
        st.just(f"arn:aws:iam::{VENDOR_ACCOUNT}:role/qwak-*"),
        st.sampled_from([f"arn:aws:iam::{VENDOR_ACCOUNT}:role/*", "arn:aws:iam::999999999999:role/x*"]),
    )
    vendor = st.one_of(
        st.fixed_dictionaries(
            {
                "principalArn": mostly(
                    st.sampled_from([f"arn:aws:iam::{VENDOR_ACCOUNT}:role/vendor-role", f"arn:aws:iam::{VENDOR_ACCOUNT}:root"]), junk
                )
            }
        ),
        st.fixed_dictionaries(
            {"accountId": mostly(st.just(VENDOR_ACCOUNT), st.sampled_from(["12345", "*"]))},
            optional={"principalArnPatterns": st.lists(vendor_pattern, max_size=2)},
        ),
    )
    saas_role = with_typo(st.fixed_dictionaries(
        {"name": entry_name, "vendor": vendor},
        optional={
            **role_options,
            "externalId": mostly(
                st.from_regex(r"[\w+=,.@:/-]{2,40}", fullmatch=True), st.sampled_from(["a", "has space", "x" * 1300])
            ),
            "allowUnconditionedAccountTrust": st.booleans(),
            "s3Read": st.lists(s3_location, max_size=3),
            "s3Write": st.lists(s3_location, max_size=2),
            "kmsKeyArns": st.lists(kms_arn, max_size=1),
            "customerManagedPolicy": st.booleans(),
        },
    ), TYPOS)
    k8s_name = mostly(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), st.sampled_from(["*", "team-*", "Bad_Name", ""]))
    service_account = with_typo(st.fixed_dictionaries(
        {
            "name": entry_name,
            "mode": mostly(st.sampled_from(["irsa", "pod-identity"]), st.just("kiam")),
            "cluster": mostly(st.just("platform"), st.just("unknown-cluster")),
            "namespace": k8s_name,
            "serviceAccount": k8s_name,
        },
        optional={
            **role_options,
            "allowWildcardSubject": st.booleans(),
            "createServiceAccount": st.booleans(),
            "s3Read": st.lists(s3_location, max_size=2),
            "s3Write": st.lists(s3_location, max_size=1),
            "policyArns": st.lists(policy_arn, max_size=2),
        },
    ), TYPOS)
    agent_config = st.fixed_dictionaries(
        {},
        optional={
            "ecsAgents": st.lists(ecs_agent, min_size=1, max_size=2),
            "ec2Agents": st.lists(ec2_agent, min_size=1, max_size=2),
            "saasRoles": st.lists(saas_role, min_size=1, max_size=2),
            "serviceAccounts": st.lists(service_account, min_size=1, max_size=2),
        },
    ).map(lambda config: {**config, "clusters": CLUSTERS} if "serviceAccounts" in config else config)
    return agent_config


mixed_configs = config_strategy(clean=False)
clean_configs = config_strategy(clean=True)

FAMILIES = ("ecsAgents", "ec2Agents", "saasRoles", "serviceAccounts")
# Guardrail rules an entry may trip only by saying so: Resource "*" (allowWildcardResources or
# allowAllSecrets) on a sensitive action, an unconditioned vendor account, or a permissions
# boundary of its own (allowed only when agent-iam:guardrails.permissionsBoundaries lists it).
OPT_IN_RULES = {"sensitive-actions-scoped", "cross-account-trust-condition", "permissions-boundary"}


def _documents(docs: RoleDocuments) -> list[dict[str, Any]]:
    """Every identity policy document a role gets (inline or customer managed)."""
    return [p.document for p in docs.policies if isinstance(p.document, dict) and "Statement" in p.document]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _asked_resources(entry: dict[str, Any]) -> set[str]:
    """Every resource ARN the entry names, and what its S3 locations expand to."""
    asked = {r for s in entry.get("policy", {}).get("Statement", []) for r in _listed(s.get("Resource", []))}
    asked |= set(entry.get("secretArns", [])) | set(entry.get("kmsKeyArns", []))
    for location in entry.get("s3Read", []) + entry.get("s3Write", []):
        bucket, _, prefix = location.partition("/")
        asked |= {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"}
    return asked


def _check_trust(trust: dict[str, Any], entry: dict[str, Any]) -> None:
    for s in trust["Statement"]:
        assert s["Principal"] != "*"
        for kind, values in s["Principal"].items():
            for value in _listed(values):
                assert "*" not in value, value
                if kind == "Federated":
                    assert value == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
                    conditions = s["Condition"]
                    assert conditions["StringEquals"][f"{ISSUER}:aud"] == "sts.amazonaws.com"
                    sub_operator = "StringLike" if entry.get("allowWildcardSubject") else "StringEquals"
                    subject = f"system:serviceaccount:{entry['namespace']}:{entry['serviceAccount']}"
                    assert _listed(conditions[sub_operator][f"{ISSUER}:sub"]) == [subject]
                if kind == "AWS" and value.split(":")[4] != ACCOUNT and not entry.get("allowUnconditionedAccountTrust"):
                    keys = {k for pairs in s.get("Condition", {}).values() for k in pairs}
                    assert keys & {"sts:ExternalId", "aws:PrincipalArn"} or ":role/" in value, s


def _check_unit(unit, entry: dict[str, Any]) -> None:
    asked = _asked_resources(entry)
    for role in unit.roles:
        docs = role.documents
        assert docs.limit_problems(IamLimits()) == []
        _check_trust(docs.trust, entry)
        for document in _documents(docs):
            for s in document["Statement"]:
                assert "*" not in _listed(s.get("Action")), s
                for r in _listed(s.get("Resource", [])):
                    if r == "*" and s["Effect"] == "Allow":  # a Deny on everything narrows: no opt-in needed
                        assert entry.get("allowWildcardResources") or entry.get("allowAllSecrets"), s
                    elif r != "*":
                        assert r in asked, (r, asked)


def _entries(config: dict[str, Any], settings_: stack_config.StackSettings):
    units_by_family = {
        "ecsAgents": settings_.ecs_agents,
        "ec2Agents": settings_.ec2_agents,
        "saasRoles": settings_.saas_roles,
        "serviceAccounts": settings_.service_accounts,
    }
    for key in FAMILIES:
        yield from zip(units_by_family[key], config.get(key, []), strict=True)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mixed_configs, clean_configs))
def test_generated_config_is_a_keyed_error_or_no_wider_than_asked(config):
    try:
        result = stack_config.load_settings({"accountId": ACCOUNT, **config}, stack=STACK, region=REGION)
    except stack_config.ConfigError as error:
        lines = str(error).splitlines()
        assert lines and all(ERROR_LINE.match(line) for line in lines), lines
        event("config error")
        return
    event("valid config" if config else "empty config")
    for unit, entry in _entries(config, result):
        _check_unit(unit, entry)


def _opted_in(config: dict[str, Any]) -> bool:
    keys = ("allowWildcardResources", "allowAllSecrets", "allowUnconditionedAccountTrust", "permissionsBoundaryArn")
    return any(entry.get(key) for family in FAMILIES for entry in config.get(family, []) for key in keys)


@settings(max_examples=fuzz_examples(1 / 6), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mixed_configs, clean_configs))
def test_the_program_registers_nothing_on_error_and_passes_the_guardrails_otherwise(config):
    try:
        run = run_program(STACK, config_with(**config))
    except stack_config.ConfigError as error:
        assert getattr(error, "registered_resources", None) == [], "a config error must stop before any resource"
        event("config error")
        return
    event("planned")
    roles = run.of_type("aws:iam/role:Role")
    expected = sum(len(config.get(key, [])) * (2 if key == "ecsAgents" else 1) for key in FAMILIES)
    assert len(roles) == expected
    settings_ = stack_settings(STACK, config_with(**config))
    violations = guardrail_rules.evaluate(resource_views(run, ACCOUNT), settings_.guardrail_context())
    # An attached AWS managed policy is judged by what it grants (ReadOnlyAccess reads secrets on every
    # resource): refused on that document until accepted, like the same grant written inline. One this stack
    # does not create cannot be judged: said as an advisory on it, never blocking.
    attached = [arn for family in FAMILIES for entry in config.get(family, [])
                for key in ("policyArns", "taskRolePolicyArns") for arn in entry.get(key) or []]
    aws_managed = {arn.rsplit("/", 1)[-1] for arn in attached if arn.startswith("arn:aws:iam::aws:policy/")}
    unseen = {arn for arn in attached if not arn.startswith("arn:aws:iam::aws:policy/")}
    violations = [v for v in violations if not (v.rule == "sensitive-actions-scoped" and (
        v.document in aws_managed or (v.document in unseen and not v.blocking)))]
    tripped = {v.rule for v in violations}
    assert tripped <= OPT_IN_RULES, violations
    assert not tripped or _opted_in(config), violations
