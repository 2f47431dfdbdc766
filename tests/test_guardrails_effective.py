"""Same grant, same verdict: the guardrails judge a role by what it can do, whichever document grants it.

Every AWS managed policy of the shipped dataset is attached to a role, and its document inlined into
another: the effective-access rules (`sensitive-actions-scoped`, `no-wildcard-action`) raise the same
rules on the same actions and block alike. `managed-policy-privileges` is the attachment's own rule
(a policy that lets the role grant itself anything, or one that does not exist): it never changes a
verdict on its own. The two roles share the reasoner's answer (cached by content: tests/test_model_
managed_policies.py computes it for each); what differs is how the rules read, name and group it. One
policy in `GUARDRAILS_MANAGED_POLICIES_EVERY` (80 in the suite, 1 for all of them in CI's deeper pass).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from agent_iam.guardrails import rules
from agent_iam.guardrails.rules import ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT, Context, ResourceView
from agent_iam.iam import managed_policies
from agent_iam.model import solver

ACCOUNT = "111111111111"
EVERY = int(os.environ.get("GUARDRAILS_MANAGED_POLICIES_EVERY", "80"))
CONTEXT = Context(account_id=ACCOUNT)
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
GRANT_RULES = ("sensitive-actions-scoped", "no-wildcard-action")


def views(arn: str, inline: bool) -> list[ResourceView]:
    role = ResourceView(ROLE, "agent", {"name": "agent", "path": "/", "assumeRolePolicy": TRUST}, ACCOUNT)
    if inline:
        document = json.dumps(managed_policies.document(arn))
        return [role, ResourceView(ROLE_POLICY, "copy", {"role": "agent", "name": "copy", "policy": document}, ACCOUNT)]
    return [role, ResourceView(ROLE_POLICY_ATTACHMENT, "attach", {"role": "agent", "policyArn": arn}, ACCOUNT)]


def judged(arn: str, inline: bool) -> list[rules.Violation]:
    return rules.evaluate(views(arn, inline), CONTEXT)


def verdict(found: list[rules.Violation]) -> dict[str, Any]:
    """What the rules on grants say: per rule, the actions named (the wide grants) or the statements'
    shape (no-wildcard-action), and whether the role is blocked."""
    out: dict[str, Any] = {}
    for violation in found:
        if violation.rule == "sensitive-actions-scoped":
            out.setdefault(violation.rule, set()).update(violation.actions)
        elif violation.rule == "no-wildcard-action":
            out.setdefault(violation.rule, set()).update(
                part for part in ("NotAction", "every action of every service") if part in violation.message)
    return out


def blocked(found: list[rules.Violation]) -> bool:
    """Whether the rules on what a role can do block it (a big document inlined may also be over IAM's
    inline size limit: a rule on its size, not on what it grants)."""
    return any(v.rule in (*GRANT_RULES, "managed-policy-privileges") for v in rules.blocking(found))


@pytest.fixture(scope="module")
def arns() -> list[str]:
    return [f"arn:aws:iam::aws:policy/{name}" for name in managed_policies.names()]


def test_attaching_or_inlining_any_aws_managed_policy_is_judged_alike(arns):
    assert len(arns) > 1500
    wide = 0
    for arn in arns[::EVERY]:
        attached, inlined = judged(arn, inline=False), judged(arn, inline=True)
        assert verdict(attached) == verdict(inlined), arn
        assert blocked(attached) == blocked(inlined), arn
        own = [v for v in attached if v.rule == "managed-policy-privileges"]
        assert not own or verdict(attached), arn  # the attachment's own rule never decides alone
        assert not [v for v in inlined if v.rule == "managed-policy-privileges"], arn
        for violation in attached:  # named as the plan names an AWS managed policy: the whole document
            if violation.rule in GRANT_RULES:
                name = managed_policies.name_of(arn)
                assert (violation.document, violation.sid, violation.whole, violation.statement) == (name, name, True, None)
                assert (violation.resource_type, violation.resource_name) == (ROLE_POLICY_ATTACHMENT, "attach")
        for violation in inlined:
            if violation.rule in GRANT_RULES:
                assert violation.document == "copy" and violation.statement is not None
        wide += "sensitive-actions-scoped" in verdict(attached)
    # the issue counted 708 of 1,594 policies granting changes or credential reads on every resource of a
    # kind without tripping the managed-policy rule: each of them is now refused when attached
    assert wide >= len(arns[::EVERY]) * 2 // 5, wide


def test_the_issues_case_s3_full_access_on_an_ecs_task_role():
    """AmazonS3FullAccess attached to a role was planned green while `s3:*` on every bucket written
    inline was refused: both are refused now, for the same actions."""
    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    attached, inlined = judged(arn, inline=False), judged(arn, inline=True)
    [by_arn] = [v for v in attached if v.rule == "sensitive-actions-scoped"]
    [by_text] = [v for v in inlined if v.rule == "sensitive-actions-scoped"]
    assert by_arn.actions == by_text.actions and {"s3:PutBucketPolicy", "s3:DeleteObject"} <= set(by_arn.actions)
    assert by_arn.message.startswith("role 'agent': AWS managed policy 'AmazonS3FullAccess' allows s3")
    assert "accept it in the entry with acceptedFindings: [{check: sensitive-actions-scoped, document: " \
           "AmazonS3FullAccess, reason: <why>}]" in by_arn.message
    assert by_arn.blocking and by_text.blocking


def test_a_deny_or_a_boundary_takes_the_grant_away_whichever_document_holds_it():
    """The verdict is on effective access: a Deny in another document, or a boundary, that removes the
    grant removes the finding; one that leaves some of it leaves those actions."""
    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"}]})
    denied = [*views(arn, inline=False),
              ResourceView(ROLE_POLICY, "deny", {"role": "agent", "name": "deny", "policy": deny}, ACCOUNT)]
    solver._WIDE.clear()
    assert [v for v in rules.evaluate(denied, CONTEXT) if v.rule == "sensitive-actions-scoped"] == []
    bounded = views(arn, inline=True)
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    bounded[0] = ResourceView(ROLE, "agent", {**bounded[0].props, "permissionsBoundary": boundary}, ACCOUNT)
    solver._WIDE.clear()
    assert [v for v in rules.evaluate(bounded, CONTEXT) if v.rule == "sensitive-actions-scoped"] == []


def test_agent_iams_own_exception_is_narrow_and_by_content():
    """The ECS task execution role's logs writes pass on a role only ECS tasks assume; the same policy on
    another role, or the same writes in another document, are refused."""
    arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    ecs_trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

    def with_trust(found: list[ResourceView], trust: str) -> list[ResourceView]:
        return [ResourceView(ROLE, "agent", {**found[0].props, "assumeRolePolicy": trust}, ACCOUNT), *found[1:]]

    assert [v for v in rules.evaluate(with_trust(views(arn, inline=False), ecs_trust), CONTEXT)] == []
    [ec2] = rules.evaluate(views(arn, inline=False), CONTEXT)  # the same policy on an EC2 role
    assert set(ec2.actions) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    [copied] = rules.evaluate(with_trust(views(arn, inline=True), ecs_trust), CONTEXT)  # the writes inline
    assert copied.rule == "sensitive-actions-scoped" and copied.document == "copy"


def test_the_plans_solver_questions_are_limited_by_work_not_by_the_clock(monkeypatch):
    """A question the plan asks the solver (a grant a Deny with a condition may take away) is bounded by
    z3's resource count, so its answer does not depend on how busy the machine is."""
    import z3

    limits: list[tuple[str, int]] = []
    real = z3.Solver.set
    monkeypatch.setattr(z3.Solver, "set", lambda self, *a, **k: limits.append(a) or real(self, *a, **k))
    allow = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringLike": {"kms:EncryptionContext:team": ["a*b", "*c?"]}}}
    role = [views("arn:aws:iam::aws:policy/ReadOnlyAccess", inline=False)[0],
            ResourceView(ROLE_POLICY, "p", {"role": "agent", "name": "p", "policy": json.dumps(
                {"Version": "2012-10-17", "Statement": [allow, deny]})}, ACCOUNT)]
    solver._WIDE.clear()
    [found] = [v for v in rules.evaluate(role, CONTEXT) if v.rule == "sensitive-actions-scoped"]
    assert found.actions == ("kms:Decrypt",)
    assert ("rlimit", solver.WIDE_BUDGET_MS * solver.STEPS_PER_MS) in limits
