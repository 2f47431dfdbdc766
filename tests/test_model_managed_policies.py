"""Same grant, same verdict: attaching an AWS managed policy and inlining its document give the same
model and the same wide-grant answer, for every policy of the shipped dataset.

Every policy's two roles are compared document for document; the wide grants are computed for each
of the two roles separately (the content cache emptied in between, so the second answer is computed,
not looked up) for one policy in `MODEL_MANAGED_POLICIES_EVERY` (40 in the suite, 1 for all of them
in CI's deeper pass).
"""

from __future__ import annotations

import json
import os

import pytest

from agent_iam.guardrails.rules import ResourceView
from agent_iam.iam import managed_policies
from agent_iam.model import roles_from_views
from agent_iam.model import solver

ACCOUNT = "111111111111"
EVERY = int(os.environ.get("MODEL_MANAGED_POLICIES_EVERY", "40"))
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _role(arn: str, inline: bool):
    views = [ResourceView("aws:iam/role:Role", "agent", {"name": "agent", "assumeRolePolicy": TRUST}, ACCOUNT)]
    if inline:
        document = managed_policies.document(arn)
        views.append(ResourceView("aws:iam/rolePolicy:RolePolicy", "copy",
                                  {"role": "agent", "name": "copy", "policy": json.dumps(document)}, ACCOUNT))
    else:
        views.append(ResourceView("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach",
                                  {"role": "agent", "policyArn": arn}, ACCOUNT))
    [role] = roles_from_views(views)
    return role


def _answer(role) -> list[tuple[str, str, bool, tuple[int, ...]]]:
    return sorted((g.action, g.template, g.decided, tuple(r.number for r in g.granted_by)) for g in solver.wide_grants(role))


@pytest.fixture(scope="module")
def pairs():
    arns = [f"arn:aws:iam::aws:policy/{name}" for name in managed_policies.names()]
    return [(arn, _role(arn, inline=False), _role(arn, inline=True)) for arn in arns]


def test_every_managed_policy_attached_or_inlined_is_the_same_model(pairs):
    assert len(pairs) > 1500
    for arn, by_arn, by_text in pairs:
        [attached], [inlined] = by_arn.identity, by_text.identity
        assert (attached.source.kind, inlined.source.kind) == ("aws-managed", "inline")
        assert attached.digest == inlined.digest and attached.statements == inlined.statements, arn


def test_attached_or_inlined_the_wide_grants_are_the_same(pairs):
    wide = 0
    for arn, by_arn, by_text in pairs[::EVERY]:
        solver._WIDE.clear()
        first = _answer(by_arn)
        solver._WIDE.clear()
        assert _answer(by_text) == first, arn
        wide += bool(first)
        grants = solver.wide_grants(by_arn)
        assert all(r.source.kind == "aws-managed" and r.source.arn == arn for g in grants for r in g.granted_by)
    assert wide >= len(pairs[::EVERY]) // 4  # a good share of AWS's policies grant something sensitive widely


def test_known_grants_of_known_policies():
    def actions(name: str) -> set[str]:
        return {g.action for g in solver.wide_grants(_role(f"arn:aws:iam::aws:policy/{name}", inline=False))}

    assert {"iam:PassRole", "iam:CreateUser"} <= actions("IAMFullAccess")
    power = actions("PowerUserAccess")
    assert "s3:PutObject" in power and "iam:CreateUser" not in power  # NotAction iam:* (but a few)
    assert actions("ReadOnlyAccess") & {"secretsmanager:GetSecretValue", "s3:PutObject"} == set()
    assert "ssm:GetParameter" in actions("AmazonSSMReadOnlyAccess")  # a credential read on every parameter
    assert not actions("job-function/ViewOnlyAccess") & {"iam:PassRole", "ssm:GetParameter", "s3:PutObject"}
