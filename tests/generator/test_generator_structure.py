"""The generator's layout stays one a newcomer can follow: its stages are folders whose
modules import each other without a circle, no module reaches into another's private names,
and no module grows past 500 lines (read from the source with ast: nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "generator"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The generator module ``name`` is, or is inside (``generator.load.JsonPath`` is in
    ``generator.load``); None outside the generator."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(module imported, name taken from it or "", line) for every import of ``name``, those
    inside functions and ``if TYPE_CHECKING`` blocks included: a circle through a lazy import
    is still a circle a reader has to untangle."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, "", node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:  # from generator.python import layout
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((base, alias.name, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for imported, _, _ in _imports(name):
            target = _resolve(imported)
            if target is not None and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_stages_are_folders() -> None:
    for stage in ("load", "python", "emit", "commands"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
    for module in ("model.py", "render.py", "pipeline.py"):
        assert (PACKAGE / module).is_file(), module


def test_no_generator_module_imports_in_a_circle() -> None:
    assert _cycles(_graph()) == []


def test_no_generator_module_imports_another_modules_private_name() -> None:
    private = [
        f"{MODULES[name].relative_to(ROOT)}:{line}: {imported}.{taken}"
        for name in MODULES
        for imported, taken, line in _imports(name)
        if taken.startswith("_") and not taken.endswith("__") and _resolve(imported) not in (None, name)
    ]
    assert private == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_generator_module_is_over_500_lines(name: str) -> None:
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"


def test_the_checks_see_what_they_are_meant_to() -> None:
    """The checks can fail: a circle is found, and lazy and package imports are in the graph."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert ("generator.emit.writer", "stage") in [
        (imported, taken) for imported, taken, _ in _imports("generator.emit.cache")
    ]
    graph = _graph()
    assert "generator.load" in graph["generator.pipeline"]  # imported inside a function
    assert "generator.python.layout" in graph["generator.python.client_view"]  # from package import module
