"""The components judge the roles they build with the guardrail rules the plan and the policy pack run: a
mandatory violation is an `ArgsError` naming the field (before anything registers when the documents are
known, when they resolve otherwise), an advisory one a warning, at the level the program chooses (Args,
else its `agent-iam:guardrails` config, else mandatory), with the reviewed exceptions it accepts."""

from __future__ import annotations

import json
import logging

import pulumi
import pytest

from agent_iam import ArgsError, EcsAgentRoles, SaasAccessRole, presets
from agent_iam.guardrails import rules
from conftest import ACCOUNT, BASE_CONFIG, run_components

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
VENDOR = {"principal_arn": "arn:aws:iam::222222222222:role/v", "external_id": "ext-1234", "account_id": ACCOUNT}
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ACCEPT_ADMIN = {"check": "managed-policy-privileges", "document": "AdministratorAccess", "reason": "break-glass role, reviewed"}
# AdministratorAccess attached is judged as what it grants: every rule that reads a role's grants finds it.
ADMIN_RULES = ("sensitive-actions-scoped", "no-wildcard-action", "managed-policy-privileges")
ACCEPT_ADMIN_ALL = [{**ACCEPT_ADMIN, "check": rule} for rule in ADMIN_RULES]
# ReadOnlyAccess reads secrets and credentials on every resource (ssm:GetParameter, ec2:GetPasswordData, ...).
READ_ONLY_REVIEWED = {"check": "sensitive-actions-scoped", "document": "ReadOnlyAccess", "reason": "vendor audit role, reviewed"}


@pytest.fixture(autouse=True)
def _base_program_config() -> None:
    """`check` reads the program's config (agent-iam:guardrails, aws:region): the base one, whatever ran before
    in this process (run_components sets its own)."""
    from agent_iam.plan.run import config_strings

    pulumi.runtime.set_all_config(config_strings(BASE_CONFIG), [])


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "guardrail" in r.getMessage()]


def test_administrator_access_from_a_program_is_refused_before_anything_registers():
    with pytest.raises(ArgsError) as caught:
        run_components(lambda: SaasAccessRole("admin", {**VENDOR, "policy_arns": [ADMIN]}))
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]
    problems = caught.value.problems
    assert [p.field for p in problems] == ["policy_arns[0]"] * 3
    assert sorted(p.message.split(":")[0] for p in problems) == sorted(f"guardrail {rule}" for rule in ADMIN_RULES)
    assert (
        "SaasAccessRole 'admin': args.policy_arns[0]: guardrail managed-policy-privileges: role 'admin' attaches AWS "
        "managed policy AdministratorAccess, which grants"
    ) in str(caught.value)
    assert str(caught.value).endswith("(after review, accept it in accepted_findings, or set the rule's level in guardrails)")
    with pytest.raises(ArgsError, match=r"args\.task_role_policy_arns\[0\]: guardrail managed-policy-privileges: role 'agent-task'"):
        EcsAgentRoles.check("agent", {"account_id": ACCOUNT, "region": "eu-west-1", "task_role_policy_arns": [ADMIN]})


@pytest.mark.parametrize("guardrails", [{"enforcement": "advisory"}, {"rules": {rule: "advisory" for rule in ADMIN_RULES}}])
def test_at_the_advisory_level_a_violation_is_a_warning(guardrails, caplog):
    with caplog.at_level(logging.WARNING):
        run, _ = run_components(lambda: SaasAccessRole("admin", {**VENDOR, "policy_arns": [ADMIN], "guardrails": guardrails}))
    assert run.named(ATTACHMENT, "admin-role-AdministratorAccess").inputs["policyArn"] == ADMIN
    warnings = _warnings(caplog)
    assert sorted(w.split(" (advisory)")[0] for w in warnings) == sorted(
        f"agent-iam: SaasAccessRole 'admin': guardrail {rule}" for rule in ADMIN_RULES
    )
    assert any(w.startswith(
        "agent-iam: SaasAccessRole 'admin': guardrail managed-policy-privileges (advisory): role 'admin' attaches AWS "
        "managed policy AdministratorAccess"
    ) for w in warnings)


def test_an_accepted_finding_or_a_disabled_rule_is_silent(caplog):
    with caplog.at_level(logging.WARNING):
        run_components(lambda: SaasAccessRole("a", {**VENDOR, "policy_arns": [ADMIN], "accepted_findings": ACCEPT_ADMIN_ALL}))
        run_components(lambda: SaasAccessRole("b", {**VENDOR, "policy_arns": [ADMIN], "guardrails": {"enforcement": "disabled"}}))
        # Disabled as a whole, one rule still judged at its own level.
        with pytest.raises(ArgsError, match="guardrail managed-policy-privileges"):
            SaasAccessRole.check("c", {**VENDOR, "policy_arns": [ADMIN], "guardrails": {
                "enforcement": "disabled", "rules": {"managed-policy-privileges": "mandatory"}}})
    assert _warnings(caplog) == []
    # An acceptance names its place: another document is still refused.
    elsewhere = [{**accept, "document": "PowerUserAccess"} for accept in ACCEPT_ADMIN_ALL]
    with pytest.raises(ArgsError, match="guardrail managed-policy-privileges"):
        SaasAccessRole.check("d", {**VENDOR, "policy_arns": [ADMIN], "accepted_findings": elsewhere})


def test_a_presets_reviewed_acceptances_apply_to_its_own_statements():
    """Datadog's documented writes on Resource "*" are accepted by the preset's review; the same statement in
    the program's own policy is not."""
    plan = SaasAccessRole.check("datadog", presets.args("datadog", external_id="ext-12345678", account_id=ACCOUNT))
    assert plan.guardrail_advice == []
    writes = next(s for s in plan.roles()[0].documents.policy("vendor-access")["Statement"] if s["Sid"] == "DatadogIntegrationWrites")
    policy = {"Version": "2012-10-17", "Statement": [{**writes, "Sid": "OwnWrites"}]}
    with pytest.raises(ArgsError, match=r"args\.policy: guardrail sensitive-actions-scoped: inline policy 'vendor-access': "
                                        r"statement 'OwnWrites'"):
        SaasAccessRole.check("own", {**VENDOR, "policy": policy, "allow_wildcard_resources": True})


def test_a_managed_policy_from_another_resource_is_judged_when_it_resolves(caplog):
    def program(guardrails=None):
        arn = pulumi.Output.from_input(ADMIN)
        SaasAccessRole("admin", {**VENDOR, "policy_arns": [arn], **({"guardrails": guardrails} if guardrails else {})})

    with pytest.raises(Exception, match=r"SaasAccessRole 'admin': args\.policy_arns\[0\]: guardrail managed-policy-privileges") as caught:
        run_components(program)
    assert ATTACHMENT not in [r.type for r in caught.value.registered_resources]  # never sent unchecked
    with caplog.at_level(logging.WARNING):
        run, _ = run_components(lambda: program({"enforcement": "advisory"}))
    assert run.named(ATTACHMENT, "admin-role-attachment-0").inputs["policyArn"] == ADMIN
    warnings = _warnings(caplog)
    assert len(warnings) == 3
    assert any(w.startswith("agent-iam: SaasAccessRole 'admin': guardrail managed-policy-privileges (advisory): ") for w in warnings)


def test_the_programs_config_sets_the_level_of_every_component(caplog):
    stack_file_style = {"enforcement": "advisory", "permissionsBoundaries": [], "allowAcceptedFindings": False}
    with caplog.at_level(logging.WARNING):  # the stack-config project's own keys mean nothing to a component
        run_components(lambda: SaasAccessRole("admin", {**VENDOR, "policy_arns": [ADMIN]}),
                       config={"agent-iam:guardrails": stack_file_style})
    assert len(_warnings(caplog)) == len(ADMIN_RULES)
    with pytest.raises(ArgsError, match=r"args\.guardrails: the program's agent-iam:guardrails config: enforcement: one of "
                                        r"mandatory, advisory, disabled, got 'lenient'"):
        run_components(lambda: SaasAccessRole("v", dict(VENDOR)), config={"agent-iam:guardrails": {"enforcement": "lenient"}})
    # The Args win over the program's config.
    with pytest.raises(ArgsError, match="guardrail managed-policy-privileges"):
        run_components(lambda: SaasAccessRole("admin", {**VENDOR, "policy_arns": [ADMIN], "guardrails": {"enforcement": "mandatory"}}),
                       config={"agent-iam:guardrails": {"enforcement": "advisory"}})


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"guardrails": {"rules": {"managed-policy-privilege": "advisory"}}},
         "args.guardrails.rules.managed-policy-privilege: unknown rule; did you mean 'managed-policy-privileges'?"),
        ({"guardrails": {"enforcement": "warn"}}, "args.guardrails.enforcement: one of mandatory, advisory, disabled, got 'warn'"),
        ({"guardrails": {"rules": {"no-wildcard-action": "off"}}},
         "args.guardrails.rules.no-wildcard-action: one of advisory, mandatory, disabled, got 'off'"),
        ({"guardrails": {"level": "advisory"}}, "args.guardrails.level: unknown field"),
        ({"accepted_findings": [{**ACCEPT_ADMIN, "check": "managed-policy"}]},
         "args.accepted_findings[0].check: 'managed-policy' is not a guardrail rule; did you mean 'managed-policy-privileges'?"),
        ({"accepted_findings": [{**ACCEPT_ADMIN, "reason": "ok"}]},
         "args.accepted_findings[0].reason: say why the finding is accepted (at least 10 characters)"),
        ({"accepted_findings": [{**ACCEPT_ADMIN, "sid": "S", "statement": 2}]},
         "args.accepted_findings[0]: name the statement once: sid, statement or statements"),
        ({"accepted_findings": [ACCEPT_ADMIN, ACCEPT_ADMIN]},
         "args.accepted_findings[1]: accepts {check: managed-policy-privileges, document: AdministratorAccess} twice"),
        ({"accepted_findings": [{"check": "no-wildcard-action"}]}, "args.accepted_findings[0].reason: required, but not set"),
    ],
)
def test_bad_guardrails_args_are_refused_naming_the_field(extra, message):
    with pytest.raises(ArgsError) as caught:
        run_components(lambda: SaasAccessRole("v", {**VENDOR, **extra}))
    assert f"SaasAccessRole 'v': {message}" in str(caught.value)
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]


def test_without_the_smt_solver_a_rule_that_needs_it_says_it_did_not_judge(monkeypatch, caplog):
    """z3-solver is in the `plan` extra only: a rule that needs it (one that reads effective access) does not
    judge the roles when it is missing, and says so loudly; the others judge as ever."""
    needs_solver = rules.RULES["managed-policy-privileges"]

    def check(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'z3'", name="z3")

    monkeypatch.setitem(rules.RULES, "managed-policy-privileges", rules.Rule(needs_solver.name, needs_solver.description, check, needs_solver.scope))
    others = [accept for accept in ACCEPT_ADMIN_ALL if accept["check"] != "managed-policy-privileges"]
    with caplog.at_level(logging.WARNING):
        run_components(lambda: SaasAccessRole("admin", {**VENDOR, "policy_arns": [ADMIN], "accepted_findings": others}))
    [warning] = _warnings(caplog)
    assert warning == (
        "agent-iam: SaasAccessRole 'admin': the guardrails managed-policy-privileges did NOT judge the roles: they need "
        "the SMT solver (z3-solver), which is not installed; install agent-iam with its plan extra (pip install "
        "'agent-iam[plan]')"
    )
    with pytest.raises(ArgsError, match=r"args\.policy: guardrail sensitive-actions-scoped: "):  # the others still judge
        SaasAccessRole.check("writes", {**VENDOR, "allow_wildcard_resources": True, "policy": {
            "Version": "2012-10-17", "Statement": [{"Sid": "Writes", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}})


def test_the_views_the_rules_judge_are_the_resources_registered():
    """The component judges what it registers: the same types, names and inputs the plan's guardrails read."""
    from agent_iam.components.role import role_views

    args = {**VENDOR, "s3_read": ["lake"], "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "customer_managed_policy": True, "accepted_findings": [READ_ONLY_REVIEWED]}
    run, _ = run_components(lambda: SaasAccessRole("v", dict(args)))
    plan = SaasAccessRole.check("v", dict(args))
    [slot], [docs] = plan.slots, [plan.roles()[0].documents]
    for view, _ in role_views(slot.resource_name("v"), slot.spec, docs, ACCOUNT, "aws"):
        registered = run.named(view.type, view.name)
        props = {**registered.outputs, **registered.inputs}
        for key, value in view.props.items():
            expected = props[key]
            assert (json.loads(value) if key in ("assumeRolePolicy", "policy") else value) == (
                json.loads(expected) if key in ("assumeRolePolicy", "policy") else expected
            ), (view.type, key)


def test_administrator_access_never_passes_silently_without_the_smt_solver(monkeypatch, caplog):
    """Installed without the `plan` extra (no z3-solver): the rules judge what they can without it, and a rule that
    needs it says so; either way AdministratorAccess is refused or named, never attached in silence."""
    import sys

    monkeypatch.setitem(sys.modules, "z3", None)  # `import z3` fails as where it is not installed
    for module in [name for name in sys.modules if name == "agent_iam.model.solver"]:
        monkeypatch.delitem(sys.modules, module)
    with caplog.at_level(logging.WARNING):
        try:
            run_components(lambda: SaasAccessRole("admin", {**VENDOR, "policy_arns": [ADMIN]}))
        except ArgsError as error:
            assert "guardrail managed-policy-privileges" in str(error)
            return
    [warning] = _warnings(caplog)
    assert "managed-policy-privileges" in warning and "did NOT judge the roles" in warning


def test_a_wildcard_subject_the_args_allow_still_needs_the_guardrails_reviewed_exemption():
    """`allow_wildcard_subject` lets the component build the trust; the oidc-trust-conditions rule, as in a stack,
    wants the reviewed exemption tag (or an acceptance, or its level lowered)."""
    from agent_iam import OidcRole

    args = {"provider": "generic", "issuer_url": "https://oidc.circleci.com/org/0f1e", "audience": "0f1e", "account_id": ACCOUNT,
            "subjects": ["org/0f1e/project/9a8b/user/*"], "allow_wildcard_subject": True}
    with pytest.raises(ArgsError, match=r"OidcRole 'ci': guardrail oidc-trust-conditions: role 'ci': OIDC trust statement"):
        OidcRole.check("ci", args)
    OidcRole.check("ci", {**args, "tags": {"agent-iam:oidc-sub-wildcard": "every user of one project - reviewed"}})
    OidcRole.check("ci", {**args, "guardrails": {"rules": {"oidc-trust-conditions": "advisory"}}})

