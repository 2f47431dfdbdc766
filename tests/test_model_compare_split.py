"""`solver.compare` on large documents: asked one service at a time, with budgets in solver steps.

Two big AWS managed policies compared as one question took the solver over a minute (and then ran
out of budget); asked per service, with the services whose statements are the same on both sides
skipped, it is decided in well under a second. These tests check that the split answers what the
whole question answers, and that budgets counted in steps give the same answer every time.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent_iam.iam import managed_policies
from agent_iam.model import evaluate, role_from_documents
from agent_iam.model import solver

ACCOUNT = "111111111111"


def managed(name: str) -> dict[str, Any]:
    document = managed_policies.document(f"arn:aws:iam::aws:policy/{name}")
    assert document is not None
    return document


def role(*identity: Any, boundary: Any = None):
    return role_from_documents("agent", ACCOUNT, identity=identity, boundary=boundary)


def confirmed(comparison: solver.Comparison, base, head) -> None:
    if comparison.wider is not None:
        assert evaluate(head, comparison.wider).allowed is True and evaluate(base, comparison.wider).allowed is False
    if comparison.narrower is not None:
        assert evaluate(base, comparison.narrower).allowed is True and evaluate(head, comparison.narrower).allowed is False


@pytest.fixture(autouse=True)
def fresh_verdicts(monkeypatch):
    """Each test asks the solver itself (compare keeps verdicts by content)."""
    monkeypatch.setattr(solver, "_VERDICTS", {})


def test_two_large_managed_policies_are_compared_service_by_service():
    view_only = role(managed("job-function/ViewOnlyAccess"))
    audit = role(managed("SecurityAudit"))
    both = role(managed("job-function/ViewOnlyAccess"), managed("SecurityAudit"))
    assert len(solver._slices([*view_only.identity, *audit.identity])) > 100  # one question per service
    swapped = solver.compare(view_only, audit).permissions
    assert swapped.verdict == solver.MIXED
    confirmed(swapped, view_only, audit)
    added = solver.compare(view_only, both).permissions
    assert added.verdict == solver.WIDER and added.narrower is None
    confirmed(added, view_only, both)
    removed = solver.compare(both, view_only).permissions
    assert removed.verdict == solver.NARROWER and removed.wider is None
    confirmed(removed, both, view_only)


SERVICES = ("s3", "sqs", "sns", "dynamodb")


def _statements(shift: int) -> list[dict[str, Any]]:
    """Enough Action values over a few services for the split (the whole question stays quick)."""
    out = []
    for i, service in enumerate(SERVICES):
        verbs = ["Get*", "List*", "Describe*", "Put*", "Delete*", "Tag*", "Untag*", "Create*", "Update*", "Send*", "Receive*"]
        chosen = verbs[(i + shift) % 3:]
        out.append({"Effect": "Allow", "Action": [f"{service}:{v}" for v in chosen], "Resource": "*"})
    out.append({"Effect": "Allow", "Action": "*:Get*", "Resource": "arn:aws:s3:::b/*"})  # a wildcard service: every slice
    if shift:
        out.append({"Effect": "Deny", "NotAction": ["s3:*", "sqs:*"], "Resource": "arn:aws:sns:*:*:secret"})
    return out


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_the_split_answers_what_the_whole_question_answers(monkeypatch, shift):
    base = role({"Version": "2012-10-17", "Statement": _statements(0)})
    head = role({"Version": "2012-10-17", "Statement": _statements(shift)})
    assert len(solver._slices([*base.identity, *head.identity])) == len(SERVICES) + 1
    split = solver.compare(base, head).permissions
    monkeypatch.setattr(solver, "_VERDICTS", {})
    monkeypatch.setattr(solver, "SPLIT_ACTIONS", 10_000)
    assert solver._slices([*base.identity, *head.identity]) == [None]
    whole = solver.compare(base, head).permissions
    assert split.verdict == whole.verdict != solver.UNKNOWN
    assert split.verdict == (solver.EQUAL if shift == 0 else solver.MIXED)
    confirmed(split, base, head)


def test_a_slice_whose_statements_are_within_the_other_sides_is_not_asked(monkeypatch):
    asked: list[Any] = []
    real = solver._solve_nicely

    def counting(encoding, constraints, budget_ms):
        asked.append(encoding.slice)
        return real(encoding, constraints, budget_ms)

    monkeypatch.setattr(solver, "_solve_nicely", counting)
    base = role(managed("AmazonS3ReadOnlyAccess"), managed("job-function/ViewOnlyAccess"))
    head = role(managed("AmazonS3FullAccess"), managed("job-function/ViewOnlyAccess"))
    comparison = solver.compare(base, head).permissions
    assert comparison.verdict == solver.WIDER
    assert comparison.wider is not None and comparison.wider.action.lower().startswith(("s3:", "s3-object-lambda:"))
    # Only the slices of the services whose statements differ are asked, and only the wider way
    # (ReadOnly's statements restricted to S3 are within FullAccess's s3:* only by meaning, so the
    # narrower way is asked there too).
    services = {part.service for part in asked}
    assert services <= {"s3", "s3-object-lambda"}, services


def test_budgets_are_solver_steps_so_an_answer_does_not_depend_on_the_clock(monkeypatch):
    base = role(managed("job-function/ViewOnlyAccess"))
    head = role(managed("SecurityAudit"))
    first = solver.compare(base, head).permissions
    monkeypatch.setattr(solver, "_VERDICTS", {})
    monkeypatch.setattr(solver, "BACKSTOP", 1_000)  # the wall clock is only a backstop
    again = solver.compare(base, head).permissions
    assert first.verdict == again.verdict == solver.MIXED
    confirmed(again, base, head)
    def prefixed(prefix: str):
        return role({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                                                             "Condition": {"StringLike": {"s3:prefix": prefix}}}]})

    small_base, small_head = prefixed("a*"), prefixed("ab*")  # narrower: proving "not wider" takes the solver
    assert solver.compare(small_base, small_head).permissions.verdict == solver.NARROWER
    monkeypatch.setattr(solver, "_VERDICTS", {})
    monkeypatch.setattr(solver, "STEPS_PER_MS", 0.001)  # a budget of a few steps decides nothing
    starved = solver.compare(small_base, small_head).permissions
    assert starved.verdict == solver.UNKNOWN and starved.widens is None


def test_a_boundary_with_nothing_in_a_slice_still_bounds_it():
    """A slice the boundary says nothing about is one the boundary allows nothing in: a role bounded to
    S3 and the same role unbounded differ in every other service's slice."""
    statements = _statements(0)  # s3, sqs, sns and dynamodb actions: split by service
    s3_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    bounded = role({"Version": "2012-10-17", "Statement": statements}, boundary=s3_only)
    free = role({"Version": "2012-10-17", "Statement": statements})
    assert len(solver._slices([*free.identity, *bounded.permission_documents])) > 1
    unbounded = solver.compare(bounded, free).permissions
    assert unbounded.verdict == solver.WIDER and not unbounded.wider.action.lower().startswith("s3:")
    confirmed(unbounded, bounded, free)
    assert solver.compare(free, bounded).permissions.verdict == solver.NARROWER


def test_a_narrower_boundary_is_shown_within_the_other_without_the_solver(monkeypatch):
    monkeypatch.setattr(solver, "_solve_nicely", lambda *a: pytest.fail("asked the solver"))
    identity = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                                        "Resource": "arn:aws:s3:::b/*"}]}
    full, read = role(identity, boundary=managed("AmazonS3FullAccess")), role(identity, boundary=managed("AmazonS3ReadOnlyAccess"))
    assert solver._contents(read.permission_documents, [None])[0].within(solver._contents(full.permission_documents, [None])[0])
    assert not solver._contents(full.permission_documents, [None])[0].within(solver._contents(read.permission_documents, [None])[0])
    # Narrower: the witness is the evaluator's to confirm (PutObject), "not wider" the statements' to show.
    comparison = solver.compare(full, read).permissions
    assert comparison.verdict == solver.NARROWER and comparison.narrower.action == "s3:PutObject"
    power = role(identity, boundary=managed("PowerUserAccess"))  # NotAction iam:*, ...: S3 is within it
    assert solver.compare(power, read).permissions.verdict == solver.NARROWER
