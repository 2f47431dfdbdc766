"""A component's own judgement of the roles it builds: the guardrail rules the offline plan and the policy
pack run (`agent_iam.guardrails.rules`, through its `evaluate_stack` entry point, rule by rule), at the
level the program chooses, with the reviewed exceptions it accepts.

`guardrails` (Args; else the program's `agent-iam:guardrails` config; else `mandatory`) says how a
violation is said: `mandatory`, an `ArgsError` naming the field it comes from, before anything is
registered when the documents are known (when they resolve otherwise: the role is never sent);
`advisory`, a warning (`pulumi.log.warn`, shown by `pulumi preview` and `pulumi up`); `disabled`,
nothing. `accepted_findings` (and the reviewed acceptances of a vendor preset) accept one finding at one
place, as a stack file's `acceptedFindings` do. A rule that needs the SMT solver (z3-solver, in the
`plan` extra) when it is not installed is said, loudly, not to have judged the role.
"""

# No `from __future__ import annotations`: Pulumi's schema analyzer reads these annotations as types.
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Required, TypedDict

from agent_iam.guardrails import rules
from agent_iam.guardrails.acceptance import Key, reason_problem, role_kind

from ._contract import Problem, check_fields

ENFORCEMENTS = (rules.MANDATORY, rules.ADVISORY, rules.DISABLED)
PROGRAM_CONFIG = "agent-iam:guardrails"  # the program-wide default (`pulumi config set --path agent-iam:guardrails.enforcement advisory`)
SOLVER = "z3"  # the module a rule imports when it needs the SMT solver (`agent_iam.model.solver`)


class GuardrailsArgs(TypedDict, total=False):
    """How the component judges the roles it builds with agent-iam's guardrail rules (docs/guardrails.md), as
    the offline plan and the policy pack judge a stack."""

    enforcement: str
    """`mandatory` (a violation is an error, and nothing is registered), `advisory` (a warning in `pulumi
    preview` and `pulumi up`) or `disabled` (the component does not judge itself; the stack-config project's
    plan and policy pack judge its stacks). Default: the program's `agent-iam:guardrails` config, else
    `mandatory`."""
    rules: dict[str, str]
    """One rule's level, by its name in docs/guardrails.md (`managed-policy-privileges`: `advisory`):
    `mandatory`, `advisory` or `disabled`. Default: the enforcement."""


class AcceptedFindingArgs(TypedDict, total=False):
    """One guardrail finding accepted after review, at one place of the component's roles: the `check` and
    the place a violation's message names (`{check, document}` for an AWS managed policy, `{check, sid}`
    for a statement with a Sid, `{check, document, statement}` for one without)."""

    check: Required[str]
    """The guardrail rule (`managed-policy-privileges`). Required."""
    reason: Required[str]
    """Why it is accepted (at least 10 characters): the review, in words. Required."""
    role: str
    """The role, when the component makes several: its kind (`task`, `execution`, `pod-identity`) or its name.
    Default: any of them."""
    document: str
    """The document: a policy's name, `trust`, or an attached AWS managed policy's name. Default: any."""
    sid: str
    """The statement, by its Sid. Default: none."""
    statement: int
    """The statement, by its 1-based number in `document` (for one without a Sid). Default: none."""


@dataclass(frozen=True)
class Judge:
    """The levels the rules are enforced at, and the reviewed acceptances, for one component."""

    enforcement: str = rules.MANDATORY
    levels: Mapping[str, str] = field(default_factory=dict)  # a rule's own level, by its name
    acceptances: tuple[rules.Acceptance, ...] = ()

    @property
    def judges(self) -> bool:
        """Whether any rule is judged at all."""
        return self.enforcement != rules.DISABLED or any(level != rules.DISABLED for level in dict(self.levels).values())

    def context(self, account: Optional[str], limits: Any) -> rules.Context:
        return rules.Context(account_id=account, limits=limits, enforcement=self.enforcement, rules=dict(self.levels))


def guardrails_problems(value: Any, where: str = "guardrails") -> list[Problem]:
    """`guardrails`: a mapping of `enforcement` and `rules`, each a level, each rule one agent-iam has."""

    def at(key: str) -> str:
        return f"{where}.{key}" if where and key else where or key

    problems = [Problem(at(p.field), p.message) for p in check_fields(GuardrailsArgs, value)]
    if problems:
        return problems
    enforcement = value.get("enforcement")
    if enforcement is not None and enforcement not in ENFORCEMENTS:
        problems.append(Problem(at("enforcement"), f"one of {', '.join(ENFORCEMENTS)}, got {enforcement!r}"))
    for name, level in (value.get("rules") or {}).items():
        if name not in rules.RULE_NAMES:
            hint = difflib.get_close_matches(str(name), rules.RULE_NAMES, n=1)
            problems.append(Problem(
                at(f"rules.{name}"),
                "unknown rule" + (f"; did you mean {hint[0]!r}?" if hint else "") + f" (rules: {', '.join(rules.RULE_NAMES)})",
            ))
        elif level not in rules.LEVELS:
            problems.append(Problem(at(f"rules.{name}"), f"one of {', '.join(rules.LEVELS)}, got {level!r}"))
    return problems


def accepted_findings_problems(value: Any) -> list[Problem]:
    """`accepted_findings`: each a guardrail rule at one place, with a reason; each place once."""
    if not isinstance(value, (list, tuple)):
        return [Problem("accepted_findings", f"must be a list, got {type(value).__name__}: {value!r}")]
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for index, item in enumerate(value):
        where = f"accepted_findings[{index}]"
        shape = check_fields(AcceptedFindingArgs, item)
        if shape:
            problems += [Problem(f"{where}.{p.field}" if p.field else where, p.message) for p in shape]
            continue
        check = item["check"]
        if check not in rules.RULE_NAMES:
            hint = difflib.get_close_matches(str(check), rules.RULE_NAMES, n=1)
            problems.append(Problem(
                f"{where}.check",
                f"{check!r} is not a guardrail rule" + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f" (rules: {', '.join(rules.RULE_NAMES)})",
            ))
        if (why := reason_problem(item["reason"])) is not None:
            problems.append(Problem(f"{where}.reason", why))
        key = Key.of(item)
        if (place := key.problem()) is not None:
            problems.append(Problem(where, place))
        elif key.identity() in seen:
            problems.append(Problem(where, f"accepts {key.text()} twice"))
        seen.add(key.identity())
    return problems


def judge_of(args: Mapping[str, Any], preset_acceptances: Sequence[Any], roles: Sequence[tuple[str, str]]) -> Judge:
    """The judge of a component's Args: `guardrails` (else the program's config, checked as the Args are,
    else `mandatory`), `accepted_findings` and the preset's reviewed acceptances. `roles` are `(label, name)`
    of its roles: an acceptance names one by its kind (`task`) or its name."""
    guardrails = args.get("guardrails")
    if guardrails is None:
        guardrails = program_guardrails()
    kinds = {role_kind(label): name for label, name in roles}
    acceptances = []
    for item in [*(args.get("accepted_findings") or []), *(_as_item(f) for f in preset_acceptances)]:
        key = Key.of(item)
        role = kinds.get(key.role, key.role) if key.role else None
        acceptances.append(rules.Acceptance(
            key.check, key.sid, str(item.get("reason", "")), role, key.document, key.statement, key.statements,
        ))
    return Judge(guardrails.get("enforcement") or rules.MANDATORY, dict(guardrails.get("rules") or {}), tuple(acceptances))


def _as_item(acceptance: Any) -> dict[str, Any]:
    """A preset's reviewed acceptance (`agent_iam.presets.AcceptedFinding`) as an `accepted_findings` item."""
    fields = ("check", "sid", "document", "statement", "statements", "reason")
    return {name: getattr(acceptance, name, None) for name in fields}


def program_guardrails() -> Mapping[str, Any]:
    """The program's `agent-iam:guardrails` config (`{}` when unset): its `enforcement` and `rules`, which mean
    what they mean in a stack file (its other keys are the stack-config project's own), checked as the
    `guardrails` field is: a bad one raises `ValueError` naming the config key."""
    import pulumi

    try:
        value = pulumi.Config("agent-iam").get_object("guardrails")
    except Exception as error:  # not JSON: the SDK's own error says why
        raise ValueError(f"the program's {PROGRAM_CONFIG} config is not an object: {error}") from None
    if value is None:
        return {}
    if isinstance(value, Mapping):
        value = {key: value[key] for key in GuardrailsArgs.__annotations__ if key in value}
    problems = guardrails_problems(value, "")
    if problems:
        raise ValueError(
            f"the program's {PROGRAM_CONFIG} config: " + "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        )
    return value


@dataclass(frozen=True)
class Verdict:
    """What the rules found on a component's roles: the violations (accepted ones marked), and the rules that
    could not judge (they need the SMT solver, which is not installed)."""

    violations: tuple[rules.Violation, ...] = ()
    not_judged: tuple[str, ...] = ()

    @property
    def advisory(self) -> list[rules.Violation]:
        return [v for v in self.violations if not v.blocking and not v.accepted]


def judge(judge: Judge, views: Sequence[rules.ResourceView], account: Optional[str], limits: Any) -> Verdict:
    """Every rule the judge enforces over the views, rule by rule; the acceptances applied."""
    if not judge.judges:
        return Verdict()
    context = judge.context(account, limits)
    violations: list[rules.Violation] = []
    not_judged: list[str] = []
    for name in rules.RULE_NAMES:
        if context.level(name) == rules.DISABLED:
            continue
        try:
            violations += rules.evaluate_stack(name, views, context)
        except ImportError as error:
            if error.name != SOLVER:
                raise
            not_judged.append(name)
    return Verdict(tuple(rules.accept(violations, judge.acceptances)), tuple(not_judged))
