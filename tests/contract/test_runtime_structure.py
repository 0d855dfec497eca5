"""The runtime's plan: modules by concern, small enough to read, importing each other
without a circle and without reaching for another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import RUNTIME

PACKAGE = RUNTIME / "dlr_core"
MAX_LINES = 700


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(RUNTIME).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, names, line)`` for each runtime import of ``name``, ``TYPE_CHECKING``
    blocks included (a circle through type hints is still a circle to a reader)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + [base]
                ).strip(".")
            if base.split(".")[0] != "dlr_core":
                continue
            names = [alias.name for alias in node.names]
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            if submodules:
                found += [(module, [], node.lineno) for module in submodules]
            found.append((base, [n for n in names if f"{base}.{n}" not in MODULES], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "dlr_core"]
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, _, _ in _imports(name, path):
            if module != name and module in MODULES and module != "dlr_core":
                graph[name].add(module)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_walk_sees_the_runtime() -> None:
    graph = _graph()
    assert {"dlr_core.core", "dlr_core.spec", "dlr_core.wire.read"} <= set(graph)
    assert "dlr_core.spec" in graph["dlr_core.core"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle() -> None:
    assert _cycles(_graph()) == []


def test_no_private_name_is_imported_across_modules() -> None:
    crossing = [
        f"{path.relative_to(RUNTIME)}:{line}: from {module} import {name}"
        for importer, path in MODULES.items()
        for module, names, line in _imports(importer, path)
        for name in names
        if name.startswith("_") and not name.startswith("__") and module != importer
    ]
    assert crossing == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_700_lines(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(RUNTIME)}: {lines} lines"
