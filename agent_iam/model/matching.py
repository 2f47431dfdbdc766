"""How IAM matches a pattern against a value: the one definition the evaluator and the solver share.

* Actions: the whole text, case-insensitive; `*` any run of characters, `?` one character.
* Resources and `ArnEquals`/`ArnLike`: case-sensitive; a pattern that starts with `arn:` is matched
  part by part: a wildcard before the fifth colon of the pattern stays within its part (it matches
  no `:`), after it (the resource part) it matches anything. A `*` that is the last character of its
  part (`arn:aws:iam::*`, `arn:*`) may match past the colons, as IAM documents ("IAM JSON policy
  elements: Resource"). Any other pattern (`*`) is matched whole.
* `StringLike`: the whole text, case-sensitive, `*` and `?` match anything.
* Policy variables stand for the request's value of their key, matched literally; a pattern whose
  variable the request lacks (and that gives no default) matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache

from agent_iam.model.documents import Pattern, Var, Wild, parse_pattern

ARN_PARTS = 6


def segments(pattern: Pattern) -> Iterator[tuple[str | Wild | Var, bool]]:
    """(token, bounded) for each token, a literal split at its colons; `bounded` is True for a wildcard
    that may not match `:` (before the fifth colon of an ARN pattern, but a `*` that ends its part)."""
    colons = 0
    tokens = pattern.tokens
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            yield token, False
            colons += token.count(":")
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        ends_part = isinstance(token, Wild) and token.char == "*" and (
            following is None or (isinstance(following, str) and following.startswith(":")))
        yield token, pattern.arn and colons < ARN_PARTS - 1 and not ends_part


def regex_of(pattern: Pattern, lookup: Callable[[str], str | None] | None = None) -> str | None:
    """The Python regular expression of a pattern, its variables read with `lookup(key)` (None: the
    request lacks the key); None when the pattern matches nothing for that reason."""
    out: list[str] = []
    for token, bounded in segments(pattern):
        if isinstance(token, str):
            out.append(re.escape(token))
        elif isinstance(token, Wild):
            out.append(("[^:]" if bounded else "(?s:.)") + ("*" if token.char == "*" else ""))
        else:
            value = lookup(token.key) if lookup else None
            if value is None:
                value = token.default
            if value is None:
                return None
            out.append(re.escape(value))
    return "".join(out)


def literal_of(pattern: Pattern) -> str:
    """The text a pattern without wildcards or variables stands for (`${*}` read as `*`)."""
    return "".join(t for t in pattern.tokens if isinstance(t, str))


def resolve(pattern: Pattern, lookup: Callable[[str], str | None] | None = None) -> str | None:
    """The text of a pattern read without wildcards (`StringEquals`), variables filled in; None when
    the request lacks a variable's key."""
    out: list[str] = []
    for token in pattern.tokens:
        if isinstance(token, str):
            out.append(token)
        elif isinstance(token, Wild):
            out.append(token.char)
        else:
            value = lookup(token.key) if lookup else None
            value = token.default if value is None else value
            if value is None:
                return None
            out.append(value)
    return "".join(out)


@cache
def _compiled(expression: str) -> re.Pattern[str]:
    return re.compile(expression, re.S)


def matches(pattern: Pattern, value: str, lookup: Callable[[str], str | None] | None = None) -> bool:
    """Whether `value` matches `pattern` (case-sensitive), variables read with `lookup`."""
    if not pattern.variables:
        return _ground(pattern)(value)
    expression = regex_of(pattern, lookup)
    return expression is not None and _compiled(expression).fullmatch(value) is not None


@cache
def _ground(pattern: Pattern) -> Callable[[str], bool]:
    """The test of a pattern without variables: equality, or its compiled expression."""
    if not pattern.has_wildcard:
        literal = literal_of(pattern)
        return lambda value: value == literal
    compiled = _compiled(regex_of(pattern) or "")
    return lambda value: compiled.fullmatch(value) is not None


@cache
def action_pattern(text: str) -> Pattern:
    """An Action element's value as a pattern over lower-cased actions."""
    return parse_pattern(text.lower(), wildcards=True, variables=False)


def action_matches(pattern: str, action: str) -> bool:
    """IAM's matching of an Action value: case-insensitive, `*` and `?` wildcards."""
    return matches(action_pattern(pattern), action.lower())


@cache
def _action_tests(patterns: tuple[str, ...]) -> tuple[frozenset[str], tuple[Callable[[str], bool], ...]]:
    """An Action element's values as (lower-cased literal actions, tests of the wildcard ones)."""
    literals = frozenset(p.lower() for p in patterns if not any(c in p for c in "*?"))
    wild = tuple(_ground(action_pattern(p)) for p in patterns if any(c in p for c in "*?"))
    return literals, wild


def any_action_matches(patterns: tuple[str, ...], action: str) -> bool:
    """Whether any of an Action element's values matches `action`."""
    literals, wild = _action_tests(patterns)
    lowered = action.lower()
    return lowered in literals or any(test(lowered) for test in wild)


def covers(outer: Pattern, inner: Pattern) -> bool:
    """Whether every value `inner` matches is matched by `outer` too (IAM's pattern rules above). A
    sufficient test, exact for the shapes policies use: `inner`'s wildcards must be absorbed by
    `outer`'s (`*` by `*`, `?` by `?` or `*`), its literal text matched as `matches` would. Patterns
    with policy variables cover only their own text."""
    if outer.variables or inner.variables:
        return outer.text == inner.text
    parts = []
    for token, bounded in segments(outer):
        if isinstance(token, str):
            parts.append(re.escape(token))
        elif isinstance(token, Wild) and token.char == "*":
            parts.append("[^:]*" if bounded else "(?s:.)*")
        else:
            parts.append("[^:\x00]" if bounded else "[^\x00]")
    # inner's `*` and `?` as characters no literal holds: only outer's wildcards can absorb them
    text = "".join(t if isinstance(t, str) else "\x00" if t.char == "*" else "\x01" for t in inner.tokens
                   if isinstance(t, (str, Wild)))
    return _compiled("".join(parts)).fullmatch(text) is not None
