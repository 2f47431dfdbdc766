"""`compare` never misses a widening the evaluator can see: changed copies of the repository's roles
(a statement dropped, resources widened, an effect flipped, a condition value replaced, a statement
added) are compared with the original; every witness is confirmed by the evaluator (compare checks
it), and when compare says equal or narrower, no generated request is allowed by the change and
denied by the original."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

from test_model_agreement import SEED, _request, _size, roles  # noqa: F401  (roles is the shared fixture)

from agent_iam.iam import managed_policies
from agent_iam.model import RoleModel, evaluate, role_from_documents
from agent_iam.model import documents as docs
from agent_iam.model import solver

# changed copies per role: one in the suite, more in CI's deeper pass (MODEL_COMPARE_CHANGES=5)
CHANGES = int(os.environ.get("MODEL_COMPARE_CHANGES", "1"))


def _raw(document: docs.Document) -> dict[str, Any]:
    """A known document back as JSON, the copy a change edits."""
    if document.source and document.source.kind == docs.AWS_MANAGED and document.source.arn:
        return managed_policies.document(document.source.arn)  # type: ignore[return-value]
    statements = []
    for s in document.statements:
        item: dict[str, Any] = {"Effect": s.effect, ("NotAction" if s.not_action else "Action"): [str(a) for a in s.action]}
        if s.resource is not None:
            item["NotResource" if s.not_resource else "Resource"] = [str(p) for p in s.resource]
        conditions: dict[str, dict[str, list[str]]] = {}
        for c in s.conditions:
            conditions.setdefault(c.written, {})[c.key_written] = [str(v) for v in c.values]
        if conditions:
            item["Condition"] = conditions
        statements.append(item)
    return {"Version": "2012-10-17", "Statement": statements}


def _first(value: Any) -> str:
    return value if isinstance(value, str) else str(value[0]) if isinstance(value, list) and value else "*"


def _changes(rng: random.Random, role: RoleModel, same: bool = True) -> Iterator[tuple[str, RoleModel]]:
    def rebuild(documents: list[dict[str, Any]]) -> RoleModel:
        return role_from_documents(role.name, role.account, identity=documents, trust=role.trust,
                                   arn=role.arn if isinstance(role.arn, str) else None)

    raw = [_raw(d) for d in role.identity if d.known]
    if same:
        yield "same", rebuild(raw)
    for _ in range(CHANGES):
        documents = [dict(d, Statement=[dict(s) for s in (d["Statement"] if isinstance(d["Statement"], list) else [d["Statement"]])])
                     for d in raw]
        target = rng.choice(documents)["Statement"]
        index = rng.randrange(len(target))
        kind = rng.choice(["drop", "resource", "effect", "add", "condition"])
        statement = target[index]
        if kind == "drop" and len(target) > 1:
            target.pop(index)
        elif kind == "resource" and "Resource" in statement:
            statement["Resource"] = rng.choice(["*", "arn:aws:s3:::*/*", _first(statement["Resource"]) + "x"])
        elif kind == "effect":
            statement["Effect"] = "Deny" if statement["Effect"] == "Allow" else "Allow"
        elif kind == "condition" and statement.get("Condition"):
            operator = rng.choice(list(statement["Condition"]))
            key = rng.choice(list(statement["Condition"][operator]))
            statement["Condition"] = {**statement["Condition"], operator: {**statement["Condition"][operator], key: "x*"}}
        else:
            kind = "add"
            target.append({"Effect": "Allow", "Action": rng.choice(["s3:GetObject", "iam:PassRole", "ec2:*"]),
                           "Resource": rng.choice(["*", "arn:aws:s3:::b/*"])})
        yield kind, rebuild(documents)


def test_compare_never_misses_a_widening_the_evaluator_sees(roles: list[RoleModel]):  # noqa: F811
    rng = random.Random(SEED)
    unique: dict[tuple[str, ...], RoleModel] = {}
    for r in roles:  # the same entry in several stacks is compared once
        if 0 < _size(r, False) <= 40 and r.boundary is None and all(d.known and not d.unknowns for d in r.identity):
            unique.setdefault(tuple(d.digest for d in r.identity), r)
    small = list(unique.values())
    assert len(small) >= 5
    verdicts: dict[str, int] = {}
    missed = []
    for index, role in enumerate(small):
        for kind, head in _changes(rng, role, same=index < 5):  # the same access written anew: five roles
            comparison = solver.compare(role, head).permissions
            verdicts[comparison.verdict] = verdicts.get(comparison.verdict, 0) + 1
            if kind == "same":
                assert comparison.verdict == solver.EQUAL
            if comparison.verdict not in (solver.EQUAL, solver.NARROWER):
                continue
            for _ in range(20):
                request = _request(rng, rng.choice([role, head]), False)
                if evaluate(head, request).allowed is True and evaluate(role, request).allowed is False:
                    missed.append((role.key, kind, comparison.verdict, request.to_dict()))
    assert missed == []
    assert verdicts.get(solver.WIDER, 0) + verdicts.get(solver.MIXED, 0) + verdicts.get(solver.NARROWER, 0) >= 5, verdicts
    assert verdicts.get(solver.EQUAL, 0) >= 5, verdicts
    # out of budget on a loaded machine is "unknown" (never "no change"); it stays rare
    assert verdicts.get(solver.UNKNOWN, 0) <= 2, verdicts
