"""A policy document written in a stack file, read as IAM reads the JSON it was pasted from.

IAM's `Null` condition operator (`"Null": {"aws:RequestTag/x": "false"}`), pasted into YAML unquoted,
is a null key to YAML 1.1 and 1.2 alike. Inside a policy's Condition block, and only there, such a key
can only mean the operator, so agent-iam reads it as `Null`: the offline plan when it reads the stack
file (plan/stackfile.py), and the program, which gets the key as the Pulumi CLI passes it (Go's text
of a null key, `<nil>`). Anywhere else a null key stays an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONDITION = "Condition"
NULL_OPERATOR = "Null"
# A null YAML key as the Pulumi CLI hands it to the program (it formats map keys with Go's `%v`).
PULUMI_NULL_KEY = "<nil>"


def with_null_operator(document: Any) -> Any:
    """`document` with each statement's Condition key `<nil>` read as the `Null` operator (nothing else changed)."""
    if not isinstance(document, Mapping):
        return document
    statements = document.get("Statement")
    listed = statements if isinstance(statements, list) else [statements] if isinstance(statements, Mapping) else None
    if listed is None or not any(_has_null_key(s) for s in listed):
        return document
    fixed = [_statement(s) for s in listed]
    return {**document, "Statement": fixed if isinstance(statements, list) else fixed[0]}


def _has_null_key(statement: Any) -> bool:
    return isinstance(statement, Mapping) and isinstance(statement.get(CONDITION), Mapping) and PULUMI_NULL_KEY in statement[CONDITION]


def _statement(statement: Any) -> Any:
    if not _has_null_key(statement):
        return statement
    condition = {NULL_OPERATOR if key == PULUMI_NULL_KEY else key: value for key, value in statement[CONDITION].items()}
    return {**statement, CONDITION: condition}
