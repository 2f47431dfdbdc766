"""What every component's contract shares: the Args error, the field checks, and building
documents from `pulumi.Input`s only when something is unknown.

A component checks its Args before it registers anything (not even itself): unknown or missing
fields, each known value (with the checks of `agent_iam.iam.checks`), and the rules between
fields. A value that is not known yet (another resource's output) is checked when it resolves,
inside the same `apply` that builds the document it goes into.

Problems name the Args field they belong to, and refer to other fields as `{field}`, so the
stack config reports the same rule in the same words with its own key names.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ForwardRef, Required, TypeVar, Union, get_args, get_origin, is_typeddict

import pulumi

T = TypeVar("T")

_FIELD_REF = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


@dataclass(frozen=True)
class Problem:
    """One broken rule: the Args field it is about ("" for the component as a whole) and a sentence.

    The sentence refers to fields as `{field}`; `render` spells them for the reader."""

    field: str
    message: str

    def render(self, spell: Callable[[str], str] = lambda field: field) -> str:
        return _FIELD_REF.sub(lambda m: spell(m.group(1)), self.message)


class ArgsError(pulumi.RunError, ValueError):
    """Bad Args for a component, found before it registered anything.

    A `pulumi.RunError`, so `pulumi up` prints the message, not a traceback. The message names
    the component, its name, each Args field and the value received."""

    def __init__(self, component: str, name: str, problems: Iterable[Problem]):
        self.component = component
        self.name = name
        self.problems = list(problems)
        super().__init__(
            "\n".join(
                f"{component} {name!r}: " + (f"args.{p.field}: " if p.field else "") + p.render()
                for p in self.problems
            )
        )


def raise_problems(component: str, name: str, problems: list[Problem]) -> None:
    if problems:
        raise ArgsError(component, name, problems)


@dataclass(frozen=True)
class Voice:
    """How a component's problems and advisories read to whoever wrote its Args: from a program, the
    component, its name and its Args fields (the default); from a stack file, the entry's key and the
    stack keys (the stack config hands its own voice to `check`)."""

    where: str  # `SaasAccessRole 'vendor'`, or `agent-iam:saasRoles[0] (vendor)`
    spell: Callable[[str], str] = lambda field: field

    def advisory(self, advisory: Problem) -> str:
        """The advisory as `pulumi up`, `pulumi preview` and the plan print it."""
        return f"agent-iam: {self.where}: {advisory.render(self.spell)}"


@functools.cache
def fields_of(args_type: type) -> tuple[frozenset[str], frozenset[str]]:
    """All fields and the required ones of a TypedDict Args type."""
    return frozenset(args_type.__annotations__), frozenset(args_type.__required_keys__)  # type: ignore[attr-defined]


@functools.cache
def plain_fields(args_type: type) -> frozenset[str]:
    """The fields that must be known when the program runs: not `pulumi.Input` anywhere in their type."""
    return frozenset(
        name for name, annotation in args_type.__annotations__.items() if "Awaitable" not in repr(annotation)
    )


@functools.cache
def _field_rules(args_type: type) -> dict[str, tuple[Any, ...]]:
    """Each field's `type_problems` rule (see `_rule_of`), worked out once per Args type."""
    return {name: _type_rule(annotation) for name, annotation in args_type.__annotations__.items()}


def check_fields(args_type: type, args: Any) -> list[Problem]:
    """Args is a mapping (the TypedDict) with only known fields, and every required one set."""
    if not isinstance(args, Mapping):
        return [Problem("", f"args must be a {args_type.__name__} (a mapping of fields), got {type(args).__name__}")]
    known, required = fields_of(args_type)
    problems = []
    for key in args:
        if key not in known:
            hint = difflib.get_close_matches(str(key), sorted(known), n=1)
            problems.append(
                Problem(
                    str(key),
                    "unknown field" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" (fields: {', '.join(sorted(known))})",
                )
            )
    for key in sorted(required):
        if args.get(key) is None:
            problems.append(Problem(key, "required, but not set"))
    rules = _field_rules(args_type)
    for key in args:
        if key in known and args[key] is not None:
            problems += _check_type(rules[key], key, args[key], True)
    for key in sorted(plain_fields(args_type) & set(args)):
        value = args[key]
        if type(value) in _PLAIN_TYPES:
            continue  # a string, number, bool or None holds no output
        items = value.values() if isinstance(value, Mapping) else value if isinstance(value, (list, tuple)) else ()
        if isinstance(value, pulumi.Output) or any(isinstance(item, pulumi.Output) for item in items):
            problems.append(
                Problem(key, "must be known when the program runs, not another resource's output (it names resources)")
            )
    return problems


_TYPE_NAMES = {str: "a string", bool: "true or false", int: "a whole number"}
# Values that are known by their type alone: `is_known` answers for them without looking further.
_PLAIN_TYPES = frozenset({str, int, bool, float, type(None)})


def type_problems(field: str, value: Any, annotation: Any, *, top: bool = True) -> list[Problem]:
    """A known value against its Args field's annotation: a string (a field's own never empty: leaving it
    out gives its default), a bool, a whole number, a list or a mapping of those; an unknown value (an
    `Output`) is checked where it resolves. Items' own checks say more about their content."""
    return _check_type(_type_rule(annotation), field, value, top)


def _type_rule(annotation: Any) -> tuple[Any, ...]:
    """`_rule_of(annotation)`, worked out once per (hashable) annotation."""
    try:
        return _cached_rule(annotation)
    except TypeError:  # an unhashable annotation
        return _rule_of(annotation)


def _rule_of(annotation: Any) -> tuple[Any, ...]:
    """What `type_problems` checks for an annotation, worked out once per annotation: `Required[T]` and
    `pulumi.Input[T]` (T, Awaitable[T] or Output[T]: a known value must be a T) stand for T; a Union of
    several plain types is not checked. One of ("scalar", T), ("list", item rule), ("dict", key rule,
    value rule), ("mapping",) or ("any",)."""
    origin = get_origin(annotation)
    if origin is Required:
        return _type_rule(get_args(annotation)[0])
    if origin is Union:
        plain = [arm for arm in get_args(annotation) if not isinstance(arm, ForwardRef) and get_origin(arm) is None]
        return _type_rule(plain[0]) if len(plain) == 1 else ("any",)
    if annotation in _TYPE_NAMES:
        return ("scalar", annotation)
    if origin is list:
        (item,) = get_args(annotation)
        return ("list", _type_rule(item))
    if origin is dict:
        key_type, value_type = get_args(annotation)
        return ("dict", _type_rule(key_type), _type_rule(value_type))
    if is_typeddict(annotation):
        return ("mapping",)
    return ("any",)


_cached_rule = functools.cache(_rule_of)


def _check_type(rule: tuple[Any, ...], field: str, value: Any, top: bool) -> list[Problem]:
    kind = rule[0]
    if kind == "any":
        return []
    if type(value) not in _PLAIN_TYPES and not is_known(value) and not isinstance(value, (list, tuple, Mapping)):
        return []  # an Output: checked when it resolves (or refused where the field must be known)
    if kind == "scalar":
        annotation = rule[1]
        wrong = not isinstance(value, annotation) or (annotation is int and isinstance(value, bool))
        if wrong:
            return [Problem(field, f"must be {_TYPE_NAMES[annotation]}, got {type(value).__name__}: {value!r}")]
        if annotation is str and top and not value.strip():
            return [Problem(field, f"is empty: {value!r}")]
        return []
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            return [Problem(field, f"must be a list, got {type(value).__name__}: {value!r}")]
        item = rule[1]
        return [p for index, v in enumerate(value) for p in _check_type(item, f"{field}[{index}]", v, False)]
    if not isinstance(value, Mapping):  # "dict" or "mapping"
        return [Problem(field, f"must be a mapping, got {type(value).__name__}: {value!r}")]
    if kind == "dict":
        key_rule, value_rule = rule[1], rule[2]
        return [
            p
            for k, v in value.items()
            for p in _check_type(key_rule, f"{field}.{k}", k, False) + _check_type(value_rule, f"{field}.{k}", v, False)
        ]
    return []


def is_known(value: Any) -> bool:
    """True when the value holds no `pulumi.Output` (or awaitable) anywhere: it can be checked and used now."""
    if type(value) in _PLAIN_TYPES:
        return True
    if isinstance(value, pulumi.Output) or hasattr(value, "__await__"):
        return False
    if isinstance(value, Mapping):
        items: Iterable[Any] = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return True
    for item in items:  # a loop, not all(...): plain items (most of them) cost one type lookup
        if type(item) not in _PLAIN_TYPES and not is_known(item):
            return False
    return True


def check_value(field: str, value: Any, check: Callable[[Any], Any]) -> list[Problem]:
    """A single-value check (one of `agent_iam.iam.checks`) as problems; unknown values pass for now."""
    if not is_known(value):
        return []
    try:
        check(value)
    except ValueError as exc:
        return [Problem(field, str(exc))]
    except (TypeError, AttributeError):  # an Output that resolved to a value of another type (None, a number)
        return [Problem(field, f"has the wrong type ({type(value).__name__}): {value!r}")]
    return []


def check_list(field: str, values: Any, check: Callable[[Any], Any]) -> list[Problem]:
    """Each known item of a list field, named `field[index]`."""
    if values is None or isinstance(values, pulumi.Output):
        return []
    if not isinstance(values, (list, tuple)):
        return [Problem(field, f"must be a list, got {type(values).__name__}: {values!r}")]
    problems: list[Problem] = []
    seen: set[Any] = set()
    for index, value in enumerate(values):
        problems += check_value(f"{field}[{index}]", value, check)
        if is_known(value) and isinstance(value, str):
            if value in seen:
                problems.append(Problem(f"{field}[{index}]", f"listed twice: {value!r}"))
            seen.add(value)
    return problems


def when_known(values: Mapping[str, Any], build: Callable[[dict[str, Any]], T]) -> T | pulumi.Output[T]:
    """`build(values)` now when every value is known (a plan of known values pays nothing for
    Inputs); otherwise one `Output.all(...).apply(build)` over the resolved values."""
    if is_known(values):
        return build(dict(values))
    return pulumi.Output.all(**{k: pulumi.Output.from_input(v) for k, v in values.items()}).apply(build)


def type_token(module: str, name: str) -> str:
    """`agent-iam:<module>:<Name>`; hosted as a component provider, the package's `agent-iam:index:<Name>`
    (a provider's components live in its `index` module; a program's state keeps the first form)."""
    import sys

    host = sys.modules.get("pulumi.provider.experimental.host")
    if host is not None and getattr(host, "is_hosting", False):
        return f"agent-iam:index:{name}"
    return f"agent-iam:{module}:{name}"
