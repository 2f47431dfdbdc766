"""The package's import graph, read from the source (AST, every import including those inside
functions): no cycle between modules, and every import points down the layering below.

Layers, lowest first; a module may import its own layer and the layers below it:

    base          agent_iam.exit_codes, agent_iam.forked, agent_iam.patches, agent_iam.safe_io (no agent-iam imports)
    iam           agent_iam.iam: IAM facts and checks, importable without Pulumi
    model         agent_iam.model: typed documents and the reasoner (imports iam only)
    guardrails    agent_iam.guardrails: rules over plain data (the policy pack ships it)
    presets       agent_iam.presets: the vendor presets' data and pure functions (the components apply them)
    components    agent_iam.components, and the package root (its lazy exports are components)
    stack_config  agent_iam.stack_config
    provider      agent_iam.provider
    plan          agent_iam.plan
    evidence      agent_iam.evidence: tighten and explain, on top of plans and diffs
    adopt         agent_iam.adopt: import, on top of plans and the model
    cli           agent_iam.cli

Entry points (`__main__` modules) may import anything; nothing imports them. Imports under
`if TYPE_CHECKING:` (annotations only, never run) must follow the layers but make no cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "agent_iam"

LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("base", frozenset({"agent_iam.exit_codes", "agent_iam.forked", "agent_iam.patches", "agent_iam.safe_io"})),
    ("iam", frozenset({"agent_iam.iam"})),
    ("model", frozenset({"agent_iam.model"})),
    ("guardrails", frozenset({"agent_iam.guardrails"})),
    ("presets", frozenset({"agent_iam.presets"})),
    ("components", frozenset({"agent_iam.components", "agent_iam"})),
    ("stack_config", frozenset({"agent_iam.stack_config"})),
    ("provider", frozenset({"agent_iam.provider"})),
    ("plan", frozenset({"agent_iam.plan"})),
    ("evidence", frozenset({"agent_iam.evidence"})),
    ("adopt", frozenset({"agent_iam.adopt"})),
    ("cli", frozenset({"agent_iam.cli"})),
)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    where: str  # file:line
    type_only: bool = False  # under `if TYPE_CHECKING:`: read by type checkers, never run


def modules(root: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package's __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def imports(found: dict[str, tuple[Path, bool]], root: Path = PACKAGE) -> list[Import]:
    """Every import of one agent-iam module by another, resolved to the module it loads."""
    out = []
    for name, (path, is_package) in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        type_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
            for statement in node.body
            for inner in ast.walk(statement)
        }
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    package = package[: len(package) - node.level + 1]
                    base = ".".join([*package, base] if base else package)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in found else base for alias in node.names]
            for target in targets:
                while target not in found and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in found and target != name:
                    out.append(Import(name, target, f"{path.relative_to(root.parent)}:{node.lineno}", id(node) in type_only))
    return out


def layer_of(module: str) -> int | None:
    """The rank of a module's layer; None for an entry point (`__main__`)."""
    if module.rsplit(".", 1)[-1] == "__main__":
        return None
    best: tuple[int, int] | None = None  # (length of the matching prefix, rank): the most specific wins
    for rank, (_, members) in enumerate(LAYERS):
        for member in members:
            # the package root holds only itself: a new package must be placed in a layer of its own
            if module == member or (member != "agent_iam" and module.startswith(member + ".")):
                if best is None or len(member) > best[0]:
                    best = (len(member), rank)
    assert best is not None, f"{module} is in no layer: add it to LAYERS in tests/test_import_graph.py"
    return best[1]


def layering_violations(edges: list[Import]) -> list[str]:
    problems = []
    for edge in edges:
        importer, imported = layer_of(edge.importer), layer_of(edge.imported)
        if imported is None:
            problems.append(f"{edge.where}: {edge.importer} imports the entry point {edge.imported}")
        elif importer is not None and imported > importer:
            problems.append(
                f"{edge.where}: {edge.importer} ({LAYERS[importer][0]}) imports {edge.imported} "
                f"({LAYERS[imported][0]}), a layer above it"
            )
    return problems


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set())
        graph.setdefault(edge.imported, set())
        if not edge.type_only:
            graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return imports(modules())


def test_every_module_is_in_a_layer(edges):
    for name in modules():
        layer_of(name)  # raises for a module no layer holds


def test_no_import_points_up_the_layers(edges):
    assert layering_violations(edges) == []


def test_no_cycle_between_modules(edges):
    assert cycles(edges) == []


def test_guardrails_and_iam_import_nothing_that_needs_pulumi_or_components(edges):
    """What the policy pack ships (guardrails, iam) stays off components, stack_config and plan."""
    for edge in edges:
        if edge.importer.startswith(("agent_iam.guardrails", "agent_iam.iam")):
            assert not edge.imported.startswith(
                ("agent_iam.components", "agent_iam.stack_config", "agent_iam.plan", "agent_iam.cli")
            ), edge


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "agent_iam" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "agent_iam"


def test_the_scan_finds_an_upward_import_inside_a_function_and_a_cycle(tmp_path):
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "iam/__init__.py": "",
            "iam/arns.py": "def f():\n    from agent_iam.components import role\n",
            "components/__init__.py": "",
            "components/role.py": "from agent_iam.iam import arns\n",
            "plan/__init__.py": "",
            "plan/all.py": "from ..cli import main\n",
            "plan/run.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from agent_iam.plan.all import y\n",
            "cli.py": "from agent_iam.plan.all import x\nfrom agent_iam.plan import run\n",
        },
    )
    found = imports(modules(package), package)
    pairs = {(e.importer, e.imported) for e in found}
    assert ("agent_iam.iam.arns", "agent_iam.components.role") in pairs
    assert ("agent_iam.plan.all", "agent_iam.cli") in pairs
    assert any("agent_iam.iam.arns (iam) imports agent_iam.components.role (components)" in p
               for p in layering_violations(found))
    assert sorted(map(sorted, cycles(found))) == [
        ["agent_iam.cli", "agent_iam.plan.all"],
        ["agent_iam.components.role", "agent_iam.iam.arns"],
    ]


def test_the_policy_bundle_holds_every_module_the_pack_imports(edges):
    """`make policy-bundle` copies a list of files into the pack: it must hold everything the pack's
    two modules import, however deep (and each package's __init__)."""
    import re

    recipe = (ROOT / "Makefile").read_text().split("\npolicy-bundle:", 1)[1].split("\n\n", 1)[0]
    bundled = set(re.findall(r"agent_iam/[\w/]+\.py", recipe))
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
    needed, todo = set(), ["agent_iam.guardrails.rules", "agent_iam.guardrails.pulumi_policy_adapter"]
    while todo:
        module = todo.pop()
        if module not in needed:
            needed.add(module)
            todo += graph.get(module, ())
    found = modules()
    paths = {found[m][0] for m in needed}
    paths |= {folder / "__init__.py" for path in paths for folder in path.parents if folder.is_relative_to(PACKAGE)}
    assert {str(path.relative_to(ROOT)) for path in paths} - bundled == set()
