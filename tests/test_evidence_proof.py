"""The proof behind `agent-iam tighten`, on role models built directly (no plan: fast): the reasoner
finds the proposal narrower or equal, and every observed request the role was allowed is still
allowed, conditions evaluated (not compared as text), and decided for every value of what the event
does not record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from agent_iam.evidence.proof import KEPT, LOST, NOT_GRANTED, prove
from agent_iam.evidence.records import read_file
from agent_iam.evidence.requests import ObservedRequest, request_context
from agent_iam.evidence.roles import StackRole
from agent_iam.evidence.tighten import proof_problems
from agent_iam.model import role_from_documents
from agent_iam.plan.diff import StackDiff

DATA = Path(__file__).parent / "data" / "cloudtrail"
ACCOUNT = "111122223333"
ARN = f"arn:aws:iam::{ACCOUNT}:role/r"
OBJECT = "arn:aws:s3:::acme-reports/2026/10/report.csv"
(EVENT,), _ = read_file(DATA / "s3-putobject-data-event.json")
NO_CHANGE = StackDiff("vendor", "planned", "planned")


def model(*statements: dict):
    return role_from_documents("r", ACCOUNT, identity=[{"Version": "2012-10-17", "Statement": list(statements)}])


def stack_role(current, *requests: ObservedRequest) -> StackRole:
    role = StackRole(ARN, ACCOUNT, "r", "agent-iam:saasRoles[0]", "r", "role", current)
    role.requests = list(requests)
    return role


def listing(prefix: str) -> ObservedRequest:
    event = dataclasses.replace(EVENT, name="ListObjects", request={"bucketName": "acme-reports", "prefix": prefix})
    return ObservedRequest("s3:ListBucket", ("arn:aws:s3:::acme-reports",), event)


READ = {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reports/*"}


def test_the_request_a_proposal_no_longer_allows_is_named_with_the_evaluators_reason():
    get, put = (ObservedRequest(a, (OBJECT,), EVENT) for a in ("s3:GetObject", "s3:PutObject"))
    role = stack_role(model(READ), get, put)
    (kept,) = prove([role], {(ACCOUNT, "r"): model(READ)}, NO_CHANGE)
    assert kept.proven and kept.verdict == "equal" and kept.trust == "equal"
    assert [(c.request.action, c.verdict) for c in kept.checks] == [("s3:GetObject", KEPT), ("s3:PutObject", NOT_GRANTED)]
    older = {**READ, "Resource": "arn:aws:s3:::acme-reports/2025/*"}
    (lost,) = prove([role], {(ACCOUNT, "r"): model(older)}, NO_CHANGE)
    assert lost.verdict == "narrower" and not lost.widening and not lost.proven
    assert proof_problems(lost) == [
        f"{ARN}: the proposal no longer allows s3:GetObject on {OBJECT} {EVENT.where} (s3.amazonaws.com PutObject): "
        "no statement allows it: inline policy 'policy-1' statement 'Read': the resource does not match"]


def test_conditions_are_evaluated_not_compared_as_text():
    lists = {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::acme-reports",
             "Condition": {"StringLike": {"s3:prefix": ["raw/*", "curated/*"]}}}
    role = stack_role(model(lists), listing("raw/2026/"), listing("curated/x/"))
    # Written differently (another operator, one value), the proposal keeps raw/ and loses curated/.
    rewritten = {**lists, "Condition": {"StringLike": {"s3:Prefix": "raw/*"}}}
    (proof,) = prove([role], {(ACCOUNT, "r"): model(rewritten)}, NO_CHANGE)
    assert proof.verdict == "narrower"
    assert [(c.request.event.request["prefix"], c.verdict) for c in proof.checks] == [("raw/2026/", KEPT), ("curated/x/", LOST)]
    (lost,) = proof.failed
    assert lost.detail == ("no statement allows it: inline policy 'policy-1' statement 'List': condition "
                           "StringLike s3:Prefix ['raw/*'] (the request had curated/x/) failed")
    # The same prefix condition as StringEquals on the literal: equal, every request kept.
    same = {**lists, "Condition": {"StringLike": {"s3:prefix": ["curated/*", "raw/*"]}}}
    (equal,) = prove([role], {(ACCOUNT, "r"): model(same)}, NO_CHANGE)
    assert equal.proven and equal.verdict == "equal" and {c.verdict for c in equal.checks} == {KEPT}


def test_a_key_the_event_does_not_record_is_decided_for_every_value():
    tagged = {"Sid": "Tagged", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reports/*",
              "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}}}
    get = ObservedRequest("s3:GetObject", (OBJECT,), EVENT)
    assert not request_context(EVENT, "s3:GetObject").records("aws:resourcetag/team")
    role = stack_role(model(tagged), get)
    (kept,) = prove([role], {(ACCOUNT, "r"): model({**tagged, "Sid": "Renamed"})}, NO_CHANGE)
    (check,) = kept.checks
    assert kept.proven and check.verdict == KEPT and check.open_keys == ("aws:resourcetag/team",)
    assert check.detail == "the same statements apply to it"  # decided without the solver
    # Narrowed to the objects of 2026: the reasoner shows the request kept whatever the object's tag.
    (narrowed,) = prove([role], {(ACCOUNT, "r"): model({**tagged, "Resource": "arn:aws:s3:::acme-reports/2026/*"})},
                        NO_CHANGE)
    (check,) = narrowed.checks
    assert narrowed.proven and check.verdict == KEPT and check.detail == "for every value of aws:resourcetag/team"
    other = {**tagged, "Condition": {"StringEquals": {"aws:ResourceTag/team": "web"}}}
    (lost,) = prove([role], {(ACCOUNT, "r"): model(other)}, NO_CHANGE)
    (check,) = lost.failed
    assert check.detail.startswith("e.g. aws:resourcetag/team = data; no statement allows it")
    assert lost.verdict == "wider-and-narrower" and lost.widening  # and web-tagged objects are new


def test_a_proposal_that_widens_is_refused_with_the_reasoners_witness():
    get = ObservedRequest("s3:GetObject", (OBJECT,), EVENT)
    role = stack_role(model(READ), get)
    wider = {**READ, "Action": ["s3:GetObject", "s3:DeleteObject"]}
    (proof,) = prove([role], {(ACCOUNT, "r"): model(wider)}, NO_CHANGE)
    assert proof.verdict == "wider" and not proof.proven and not proof.failed
    (line,) = proof.widening
    assert line.startswith(f"its permissions are wider: the proposal allows {ARN} to call s3:DeleteObject on "
                           "arn:aws:s3:::acme-reports/")


def test_a_request_naming_no_resource_is_kept_for_every_resource_the_role_allowed():
    lists = {"Sid": "Buckets", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": ["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-exports"]}
    unnamed = ObservedRequest("s3:ListBucket", (), EVENT)
    role = stack_role(model(lists), unnamed)
    (one,) = prove([role], {(ACCOUNT, "r"): model({**lists, "Resource": "arn:aws:s3:::acme-reports"})}, NO_CHANGE)
    (check,) = one.failed
    assert check.resource == "" and check.detail.startswith("e.g. on arn:aws:s3:::acme-exports")
    (both,) = prove([role], {(ACCOUNT, "r"): model(lists)}, NO_CHANGE)
    assert both.proven
