"""The solver agrees with the concrete evaluator on generated requests over every role of the
repository's stacks and examples (with the AWS managed policies they attach).

Requests come from a seeded generator biased towards each role's own literals: actions its
statements name (in other cases), resources that instantiate its patterns (and near misses), its
principals and others, and for every condition key a present value from the document, a near miss
(one character off, one more or less, an address just outside the range) or no value at all.
The suite runs a few hundred; `MODEL_AGREEMENT_REQUESTS=10000` runs as many as asked (CI's deeper
pass). Every answer (allowed, denied, unknown) must be the same.
"""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Iterator
from fractions import Fraction

import pytest
from conftest import ROOT

from agent_iam.guardrails.rules import Context
from agent_iam.model import Principal, Request, RoleModel, can_assume, evaluate, roles_from_views
from agent_iam.model import documents as docs
from agent_iam.model import solver
from agent_iam.model import values as typed
from agent_iam.model.documents import Pattern, Var, Wild

REQUESTS = int(os.environ.get("MODEL_AGREEMENT_REQUESTS", "300"))
SEED = int(os.environ.get("MODEL_AGREEMENT_SEED", "20"))


def _plans() -> Iterator[tuple[str, object, str]]:
    from agent_iam.plan.run import run_program
    from agent_iam.plan.stackfile import read_stack_file

    for folder, stack in (("stacks", "dev"), ("stacks", "staging"), ("stacks", "prod"),
                          ("examples/guardrails", "databricks"), ("examples/guardrails", "karpenter")):
        config, secret_keys = read_stack_file(ROOT / folder, stack)
        yield stack, run_program(stack, config, secret_keys), str(config.get("agent-iam:accountId", ""))


@pytest.fixture(scope="module")
def roles() -> list[RoleModel]:
    """Every role of the repository's stacks and examples, as the plan's judge sees them."""
    import runpy

    from conftest import run_components

    from agent_iam.plan.guardrails import resource_views

    found: list[RoleModel] = []
    for _, run, account in _plans():
        found += roles_from_views(resource_views(run, account or None), Context(account_id=account or None))
    own, _ = run_components(lambda: runpy.run_path(str(ROOT / "examples" / "python-own-program" / "__main__.py"),
                                                   run_name="__main__"))
    found += roles_from_views(resource_views(own, None), Context())
    return found


# --- the generator ---------------------------------------------------------------------------------

_NOISE = ["", "x", "a/b", "A", "0", ":", "*", "prod", "-"]


def _instance(rng: random.Random, pattern: Pattern, context: dict[str, list[str]]) -> str:
    """A value the pattern matches (wildcards filled at random, variables from the context or made
    up), sometimes bent one character off."""
    out = []
    for token in pattern.tokens:
        if isinstance(token, str):
            out.append(token)
        elif isinstance(token, Wild):
            out.append(rng.choice(_NOISE) if token.char == "*" else rng.choice("ab:/Z"))
        else:
            assert isinstance(token, Var)
            value = context.get(token.key)
            if value and len(value) == 1:
                out.append(value[0])
            elif token.default is not None and rng.random() < 0.5:
                out.append(token.default)
            else:
                made = rng.choice(["alice", "111111111111", "eu-west-1", "x"])
                context[token.key] = [made]
                out.append(made)
    text = "".join(out)
    return _bend(rng, text) if rng.random() < 0.15 else text


def _bend(rng: random.Random, text: str) -> str:
    if not text:
        return "x"
    index = rng.randrange(len(text))
    choice = rng.random()
    if choice < 0.33:
        return text[:index] + text[index + 1:]
    if choice < 0.66:
        return text[:index] + rng.choice("xZ:/9") + text[index + 1:]
    return text.upper() if rng.random() < 0.5 else text + rng.choice(["/", "x", ":"])


def _near(rng: random.Random, condition: docs.Condition, index: int, context: dict[str, list[str]]) -> str:
    """A value near the condition's `index`th value: itself, or just off it."""
    value = condition.values[index]
    if isinstance(value, docs.Unknown):
        return rng.choice(["xyz", "[secret]", "abc"])
    family = condition.family
    if family == docs.NUMERIC:
        number = typed.number(value)
        assert number is not None
        return typed.render_number(number + Fraction(rng.choice([-1, 0, 0, 1, 1, -5]), rng.choice([1, 1, 2])))
    if family == docs.DATE:
        moment = typed.date(value)
        assert moment is not None
        return typed.render_date(moment + rng.choice([-1000, 0, 1000, -86_400_000]))
    if family == docs.IP:
        network = typed.network(value)
        assert network is not None
        offset = rng.choice([0, 1, -1, network.num_addresses, network.num_addresses - 1])
        try:
            return str(network.network_address + offset)
        except (ipaddress.AddressValueError, ValueError):
            return str(network.network_address)
    if family == docs.BOOL:
        return rng.choice([value, value.upper(), "1", "false" if value.lower() == "true" else "true"])
    if family == docs.NULL:
        return rng.choice(["x", "true"])
    pattern = condition.patterns[index] if condition.patterns else None
    if isinstance(pattern, Pattern):
        text = _instance(rng, pattern, context)
        return text.swapcase() if condition.positive == "StringEqualsIgnoreCase" and rng.random() < 0.3 else text
    return value


def _keys(documents: list[docs.Document]) -> dict[str, list[docs.Condition]]:
    found: dict[str, list[docs.Condition]] = {}
    for document in documents:
        for statement in document.statements:
            for condition in statement.conditions:
                found.setdefault(condition.key, []).append(condition)
    return found


def _context(rng: random.Random, documents: list[docs.Document]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for key, conditions in _keys(documents).items():
        if key in context or key in ("aws:principalarn", "aws:principalaccount") or rng.random() < 0.3:
            continue
        many = any(c.set_operator for c in conditions)
        count = rng.choice([1, 1, 2, 3]) if many else 1
        values = []
        for _ in range(count):
            condition = rng.choice(conditions)
            values.append(_near(rng, condition, rng.randrange(len(condition.values)), context))
        context[key] = values
    return context


def _action(rng: random.Random, documents: list[docs.Document]) -> str:
    from agent_iam.iam import actions as iam_actions

    patterns = [a for d in documents for s in d.statements for a in s.action if isinstance(a, str)]
    if not patterns or rng.random() < 0.1:
        return rng.choice(["ec2:RunInstances", "iam:PassRole", "sts:AssumeRole", "s3:GetObject"])
    pattern = rng.choice(patterns)
    expanded = iam_actions.expand(pattern)
    action = rng.choice(expanded) if expanded and rng.random() < 0.8 else pattern.replace("*", rng.choice(["", "Get", "x"]))
    action = action.replace("?", "a")
    return action.upper() if rng.random() < 0.1 else action


def _resource(rng: random.Random, documents: list[docs.Document], context: dict[str, list[str]]) -> str:
    patterns = [p for d in documents for s in d.statements for p in s.resource or () if isinstance(p, Pattern)]
    if not patterns or rng.random() < 0.1:
        return rng.choice(["arn:aws:s3:::other/k", "arn:aws:iam::222222222222:role/x", "*", ""])
    return _instance(rng, rng.choice(patterns), context)


def _principal(rng: random.Random, role: RoleModel) -> Principal:
    listed = [p for s in (role.trust.statements if role.trust else ()) for p in s.principal or ()]
    pick = rng.choice(listed) if listed and rng.random() < 0.85 else None
    if pick is None or pick.kind == docs.ANY or isinstance(pick.value, docs.Unknown) or pick.value == "*":
        return Principal("AWS", f"arn:aws:iam::{rng.choice(['222222222222', '333333333333'])}:role/someone")
    if pick.kind == docs.AWS and pick.value.endswith(":root"):
        account = pick.value.split(":")[4]
        name = rng.choice(["someone", "qwak-eks-base-1", "eksctl-Qwak-EKS-Cluster-nodegroup-x", "vendor"])
        return Principal("AWS", f"arn:aws:iam::{account}:role/{name}")
    if rng.random() < 0.1:
        return Principal(rng.choice([k for k in docs.PRINCIPAL_KINDS if k != pick.kind]), pick.value)
    return pick


def _request(rng: random.Random, role: RoleModel, trust: bool) -> Request:
    documents = [d for d in ((role.trust,) if trust else role.permission_documents) if d is not None and d.known]
    context = _context(rng, documents)
    action = _action(rng, documents)
    resource = (role.arn if isinstance(role.arn, str) else "") if trust else _resource(rng, documents, context)
    principal = _principal(rng, role) if trust else None
    return Request(principal, action, resource, context)


def _size(role: RoleModel, trust: bool) -> int:
    documents = (role.trust,) if trust and role.trust else role.permission_documents
    return sum(len(s.action) for d in documents for s in d.statements)


def test_the_solver_agrees_with_the_evaluator_on_generated_requests(roles: list[RoleModel]):
    rng = random.Random(SEED)
    assert len(roles) >= 20
    disagreements: list[tuple] = []
    undecided: list[tuple] = []
    answers = {True: 0, False: 0, None: 0}
    for index in range(REQUESTS):
        role = roles[index % len(roles)]
        trust = index % 3 == 0
        try:
            request = _request(rng, role, trust)
        except ValueError:  # a made-up principal the request refuses (not an IAM/STS ARN)
            continue
        if trust:
            expected, got = can_assume(role, request).allowed, solver.assumes(role, request)
        else:
            expected, got = evaluate(role, request).allowed, solver.allows(role, request)
        answers[expected] += 1
        if expected != got:
            disagreements.append((role.key, trust, request.to_dict(), expected, got))
        # the encoding compare searches (unions of patterns), asked without simplification: every tenth
        # request of a small role; in the deeper pass also every hundredth of a large one (an AWS managed
        # policy of hundreds of patterns takes the solver seconds). An answer out of budget is counted.
        if index % 10 == 0 and (_size(role, trust) <= 40 or (REQUESTS > 300 and index % 100 == 0)):
            searched = solver.decide_by_search(role, request, trust, budget_ms=20_000)
            if searched is None and expected is not None:
                undecided.append((role.key, trust, request.to_dict()))
            elif searched != expected:
                disagreements.append((role.key, trust, request.to_dict(), expected, f"search: {searched}"))
    assert disagreements == []
    assert len(undecided) <= REQUESTS // 1000, undecided  # the search's budget, never a different answer
    # the generator reaches all three answers, so agreement is not agreement on "no"
    assert answers[True] >= REQUESTS // 20 and answers[False] >= REQUESTS // 5, answers


def test_the_plans_questions_on_the_repositorys_roles_need_no_solver_and_are_all_decided(roles, monkeypatch):
    """What a plan asks of every role of the stacks and examples (its sensitive grants on every resource,
    who outside its account can assume it) is answered without an SMT query, so no budget, clock or
    resource count can change a verdict there, and nothing is left undecided."""
    from agent_iam.model import solver

    asked: list[object] = []
    real = solver._solve
    monkeypatch.setattr(solver, "_solve", lambda *a, **k: asked.append(a) or real(*a, **k))
    solver._WIDE.clear()
    solver._WIDE_CLASSES.clear()
    for role in roles:
        assert all(g.decided for g in solver.wide_grants(role)), role.describe()
        for assumer in solver.external_assumers(role):
            assert assumer.witness is not None, (role.describe(), assumer.principal)
    assert asked == []
