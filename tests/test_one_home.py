"""One home for each fact: every fact below is defined, spelled or computed in its home module only.

Each check scans the package's source (AST; docstrings are prose and not scanned) for a second copy:
the same function body under any name, the same constant, a fact's literal value, or a fact computed
by hand (an ARN field split out with `split(":")`, an issuer normalised with `removeprefix("https://")`).
`test_a_planted_copy_is_found` shows each check failing on a copy added to the package.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT
from agent_iam.iam.resource_types import UNKNOWN_SENTINELS
from agent_iam.iam import actions, issuers, limits, partitions, policy_document, resource_types, tags, trusts

PACKAGE = ROOT / "agent_iam"

Sources = dict[str, str]  # path relative to the repository -> source text


def package_sources(root: Path = PACKAGE) -> Sources:
    return {str(p.relative_to(root.parent)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))}


@dataclass(frozen=True)
class Found:
    where: str  # file:line
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@functools.lru_cache(maxsize=None)
def _tree(path: str, text: str) -> ast.Module:
    """A module's syntax tree, parsed once for every check (the checks only read it)."""
    return ast.parse(text, path)


@functools.lru_cache(maxsize=None)
def _nodes(path: str, text: str) -> tuple[ast.AST, ...]:
    return tuple(ast.walk(_tree(path, text)))


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings or bare string statements (prose, not code)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    }


def constants(sources: Sources) -> Iterator[tuple[str, ast.Constant]]:
    """(file:line, node) for every literal of the code (f-string parts included, docstrings left out)."""
    for path, text in sources.items():
        yield from _constants(path, text)


@functools.lru_cache(maxsize=None)
def _constants(path: str, text: str) -> tuple[tuple[str, ast.Constant], ...]:
    prose = _docstrings(_tree(path, text))
    return tuple(
        (f"{path}:{node.lineno}", node)
        for node in _nodes(path, text)
        if isinstance(node, ast.Constant) and id(node) not in prose
    )


# --- the facts and their homes ----------------------------------------------------------------

QUOTA_NUMBERS = frozenset(
    {
        limits.DEFAULT_TRUST_POLICY_SIZE,
        limits.MAX_TRUST_POLICY_SIZE,
        limits.DEFAULT_ROLE_POLICIES_SIZE,
        limits.MANAGED_POLICY_SIZE,
        limits.MIN_SESSION_DURATION,
        limits.MAX_SESSION_DURATION,
    }
)
# Field limits that are also common numbers: a copy is a length compared with, or a text cut at, one
# (the limits that are everyday numbers, 10, 20 and 1000, are left out: too many lengths are compared with them).
FIELD_LIMITS = frozenset(
    {
        limits.ROLE_NAME_MAX,
        limits.POLICY_NAME_MAX,
        limits.PATH_MAX,
        limits.TAG_KEY_MAX,
        limits.TAG_VALUE_MAX,
        limits.TAGS_PER_RESOURCE,
    }
)


def quota_literals(sources: Sources) -> Iterator[Found]:
    """IAM's quotas as numbers: any of the distinctive ones (but as a call's first argument, a count
    such as a buffer's size: `read(8192)`); a field limit where a length is compared with it or a text
    is cut at it."""
    for path, text in sources.items():
        arguments = {id(node.args[0]) for node in _nodes(path, text) if isinstance(node, ast.Call) and node.args}
        for where, node in _constants(path, text):
            if type(node.value) is int and node.value in QUOTA_NUMBERS and id(node) not in arguments:
                yield Found(where, f"IAM quota {node.value} written as a number")
    for path, text in sources.items():
        for node in _nodes(path, text):
            numbers: list[ast.expr] = []
            if isinstance(node, ast.Compare) and any(_is_len(x) for x in (node.left, *node.comparators)):
                numbers = [node.left, *node.comparators]
            elif isinstance(node, ast.Slice):
                numbers = [x for x in (node.lower, node.upper) if x is not None]
            for number in numbers:
                if isinstance(number, ast.Constant) and type(number.value) is int and number.value in FIELD_LIMITS:
                    yield Found(f"{path}:{node.lineno}", f"IAM field limit {number.value} written as a number")


def _is_len(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"


def literal_values(values: Callable[[], set[str]], what: str, *, contains: bool = False) -> Callable[[Sources], Iterator[Found]]:
    """A check for string literals equal to (or containing) one of `values`."""

    def find(sources: Sources) -> Iterator[Found]:
        wanted = values()
        for where, node in constants(sources):
            if not isinstance(node.value, str):
                continue
            if node.value in wanted or (contains and any(v in node.value for v in wanted)):
                yield Found(where, f"{what} written out: {node.value!r}")

    return find


def hand_written_arn_fields(sources: Sources) -> Iterator[Found]:
    """An ARN's fields taken apart by hand (`value.split(":")[4]`) instead of with `arns.parse`."""
    for path, text in sources.items():
        for node in _nodes(path, text):
            if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call)):
                continue
            call = node.value
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "split" and call.args):
                continue
            separator = call.args[0]
            index = node.slice
            limit = call.args[1] if len(call.args) > 1 else None
            if (
                isinstance(separator, ast.Constant) and separator.value == ":"
                and isinstance(index, ast.Constant) and type(index.value) is int and index.value >= 2
                and (limit is None or (isinstance(limit, ast.Constant) and type(limit.value) is int and limit.value >= 2))
            ):
                yield Found(f"{path}:{node.lineno}", "an ARN field split out by hand (use agent_iam.iam.arns)")


def issuer_normalised_by_hand(sources: Sources) -> Iterator[Found]:
    """An issuer URL stripped of its scheme by hand instead of with `issuers.issuer_host_path`."""
    for path, text in sources.items():
        for node in _nodes(path, text):
            if (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("removeprefix", "lstrip", "replace") and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == "https://"
            ):
                yield Found(f"{path}:{node.lineno}", "an issuer's scheme removed by hand")


def provider_arn_by_hand(sources: Sources) -> Iterator[Found]:
    for where, node in constants(sources):
        if isinstance(node.value, str) and node.value.endswith(issuers.PROVIDER_ARN_TYPE):
            yield Found(where, f"an OIDC provider ARN built by hand ({node.value!r})")


def _tag_values() -> set[str]:
    found = {tags.PRESET_TAG, tags.TRUST_EXEMPTION_TAG, tags.OIDC_SUB_WILDCARD_TAG, tags.OIDC_ISSUER_TAG}
    return found | set(tags.MANAGED_BY_TAGS)


def _type_tokens() -> set[str]:
    return {v for k, v in vars(resource_types).items() if k.isupper() and isinstance(v, str)}


def _issuer_hosts() -> set[str]:
    return {issuers.issuer_host_path(spec.issuer_url) for spec in issuers.SPECS.values() if spec.issuer_url}


# (the fact, its home, the check that finds a copy)
FACTS: dict[str, tuple[str, Callable[[Sources], Iterator[Found]]]] = {
    "IAM quotas and field limits": ("agent_iam/iam/limits.py", quota_literals),
    "an ARN's fields": ("agent_iam/iam/arns.py", hand_written_arn_fields),
    "the issuer normaliser": ("agent_iam/iam/issuers.py", issuer_normalised_by_hand),
    "the OIDC provider ARN": ("agent_iam/iam/issuers.py", provider_arn_by_hand),
    "the shared issuers' hosts": ("agent_iam/iam/issuers.py", literal_values(_issuer_hosts, "a shared issuer", contains=True)),
    "the STS audience": ("agent_iam/iam/issuers.py", literal_values(lambda: {issuers.STS_AUDIENCE}, "the STS audience")),
    "the service-account subject prefix": (
        "agent_iam/iam/issuers.py",
        literal_values(lambda: {issuers.SERVICE_ACCOUNT_SUBJECT_PREFIX}, "the service-account subject prefix"),
    ),
    "resource type tokens": ("agent_iam/iam/resource_types.py", literal_values(_type_tokens, "a Pulumi type token")),
    "agent-iam's tag keys": ("agent_iam/iam/tags.py", literal_values(_tag_values, "an agent-iam tag key")),
    "the unknown sentinels": (
        "agent_iam/iam/resource_types.py",
        literal_values(lambda: set(UNKNOWN_SENTINELS), "a Pulumi unknown-value sentinel"),
    ),
    "partitions": ("agent_iam/iam/partitions.py", literal_values(lambda: set(partitions.partition_ids()) - {"aws"}, "a partition")),
    "the policy language version": (
        "agent_iam/iam/policy_document.py",
        literal_values(lambda: {policy_document.VERSION}, "the policy language version"),
    ),
    "service principals of the documented trusts": (
        "agent_iam/iam/trusts.py",
        literal_values(lambda: {t.service for t in (trusts.EC2, trusts.ECS_TASK_EXECUTION, trusts.POD_IDENTITY)},
                       "a service principal"),
    ),
    "named actions": (
        "agent_iam/iam/actions.py",
        literal_values(lambda: {actions.PASS_ROLE, actions.ASSUME_ROLE_WITH_WEB_IDENTITY}, "a named action"),
    ),
}


def copies(fact: str, sources: Sources) -> list[str]:
    home, find = FACTS[fact]
    return [str(found) for found in find(sources) if not found.where.startswith(home + ":")]


@pytest.fixture(scope="module")
def sources() -> Sources:
    return package_sources()


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_each_fact_is_written_in_its_home_only(fact, sources):
    home, find = FACTS[fact]
    assert home in sources
    assert copies(fact, sources) == []


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_each_fact_is_in_its_home(fact, sources):
    """The check finds the fact where it lives: it looks for the right thing (not for nothing)."""
    home, find = FACTS[fact]
    if fact in ("an ARN's fields", "the issuer normaliser", "the OIDC provider ARN"):
        pytest.skip("its home uses a parser, not the hand-written form the check looks for")
    if fact == "partitions":
        pytest.skip("its home reads them from botocore's data")
    assert [f for f in find({home: sources[home]})], f"no {fact} found in {home}"


PLANTED = {
    "IAM quotas and field limits": "MAX_TRUST = 8192\n\ndef ok(name):\n    return len(name) <= 64\n",
    "an ARN's fields": "def account(arn):\n    return arn.split(':')[4]\n",
    "the issuer normaliser": "def host(url):\n    return url.removeprefix('https://').rstrip('/')\n",
    "the OIDC provider ARN": "def arn(p, a, i):\n    return f'arn:{p}:iam::{a}:oidc-provider/{i}'\n",
    "the shared issuers' hosts": "GITHUB = 'https://token.actions.githubusercontent.com'\n",
    "the STS audience": "AUDIENCE = 'sts.amazonaws.com'\n",
    "the service-account subject prefix": "PREFIX = 'system:serviceaccount:'\n",
    "resource type tokens": "ROLE = 'aws:iam/role:Role'\n",
    "agent-iam's tag keys": "TAGS = {'managed-by': 'agent-iam'}\n",
    "the unknown sentinels": "UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9'\n",
    "partitions": "CHINA = 'aws-cn'\n",
    "the policy language version": "def doc(s):\n    return {'Version': '2012-10-17', 'Statement': s}\n",
    "named actions": "ACTION = 'sts:AssumeRoleWithWebIdentity'\n",
    "service principals of the documented trusts": "PRINCIPAL = {'Service': 'ecs-tasks.amazonaws.com'}\n",
}


@pytest.mark.parametrize("fact", sorted(FACTS))
def test_a_planted_copy_is_found(fact, sources):
    planted = {**sources, "agent_iam/plan/copy.py": '"""A module with a copy (its docstring says 8192, 2012-10-17)."""\n' + PLANTED[fact]}
    assert copies(fact, planted) and all(c.startswith("agent_iam/plan/copy.py:") for c in copies(fact, planted))


# --- the same function or constant twice ------------------------------------------------------

# Copies that other work of this round removes (issue 21 item 2: no copied blocks between component
# files); a new copy anywhere else fails the test.
KNOWN_COPIES = frozenset(
    {
        frozenset({"agent_iam/components/ec2_agent_instance_profile.py:_checked_build",
                   "agent_iam/components/ecs_agent_roles.py:_checked_build"}),
        frozenset({"agent_iam/components/oidc_role.py:_role_problems",
                   "agent_iam/components/saas_access_role.py:_role_problems"}),
        frozenset({"agent_iam/components/oidc_role.py:roles", "agent_iam/components/saas_access_role.py:roles"}),
        frozenset({"agent_iam/components/ec2_agent_instance_profile.py:POLICY_NAME",
                   "agent_iam/components/ecs_agent_roles.py:TASK_POLICY_NAME"}),
        # the Pulumi package name is the config namespace (provider/, stack_config/)
        frozenset({"agent_iam/provider/__init__.py:PACKAGE", "agent_iam/stack_config/settings.py:NAMESPACE"}),
        # EvidenceError repeats ConfigError's constructor (issue 24's evidence package)
        frozenset({"agent_iam/evidence/records.py:__init__", "agent_iam/stack_config/errors.py:__init__"}),
    }
)
MIN_BODY_NODES = 10  # smaller bodies (`return []`, one f-string) are alike by chance, not copies


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return body[1:]
    return body


def repeated_definitions(sources: Sources) -> list[frozenset[str]]:
    """Groups of functions with the same arguments and body (whatever their names), and of module
    constants with the same literal value (text of 6 characters or more, or a container)."""
    by_body: dict[str, set[str]] = {}
    by_value: dict[str, set[str]] = {}
    for path, text in sources.items():
        bodies, values = _definitions(path, text)
        for key, name in bodies:
            by_body.setdefault(key, set()).add(f"{path}:{name}")
        for key, name in values:
            by_value.setdefault(key, set()).add(f"{path}:{name}")
    return [frozenset(group) for group in [*by_body.values(), *by_value.values()] if len(group) > 1]


@functools.lru_cache(maxsize=None)
def _definitions(path: str, text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(function body key, name) and (constant value, name) of one module."""
    bodies, values = [], []
    for node in _nodes(path, text):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = ast.Module(body=_without_docstring(node.body), type_ignores=[])
            if sum(1 for _ in ast.walk(body)) >= MIN_BODY_NODES:
                bodies.append((ast.dump(node.args) + ast.dump(body), node.name))
    for node in _tree(path, text).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else (
            node.target if isinstance(node, ast.AnnAssign) else None)
        if not isinstance(target, ast.Name) or node.value is None:
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            continue
        if (isinstance(value, str) and len(value) >= 6) or (isinstance(value, (tuple, list, dict, set, frozenset)) and value):
            values.append((repr(value), target.id))
    return bodies, values


def test_no_function_body_or_constant_is_defined_twice(sources):
    assert [sorted(group) for group in repeated_definitions(sources) if group not in KNOWN_COPIES] == []


def test_a_copied_function_is_found_under_another_name(sources):
    home = sources["agent_iam/iam/issuers.py"]
    start = home.index("def issuer_host_path(")
    copied = home[start:home.index("\n\n\n", start)].replace("def issuer_host_path(", "def host_of(")
    planted = {**sources, "agent_iam/plan/copy.py": copied + "\n\nPARTS = ('repo:', 'project_path:')\nOWNERS = ('repo:', 'project_path:')\n"}
    new = [sorted(g) for g in repeated_definitions(planted) if g not in KNOWN_COPIES]
    assert ["agent_iam/iam/issuers.py:issuer_host_path", "agent_iam/plan/copy.py:host_of"] in new
    assert ["agent_iam/plan/copy.py:OWNERS", "agent_iam/plan/copy.py:PARTS"] in new
