"""After rendering: prove that spec text stayed data.

Every generated Python file must parse; its module and class bodies may only import from
the modules generated code uses, define, assign and carry docstrings (no statement that
runs anything else on import); every text the spec gives a docstring or a literal must
come out of the file as the same value. Any failure stops generation before anything is
written: it would mean an escaping path let spec text change the code.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from generator import model as m
from generator.problems import UnsafeOutputError

_ALLOWED_IMPORTS = (
    "__future__",
    "typing",
    "typing_extensions",
    "collections.abc",
    "dataclasses",
    "datetime",
    "enum",
    "decimal",
    "uuid",
    "httpx",
    "pydantic",
    "dlr_core",
)
_INERT_STATEMENTS = (
    ast.Import,
    ast.ImportFrom,
    ast.ClassDef,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Assign,
    ast.AnnAssign,
)


@dataclass(frozen=True)
class ModuleFindings:
    """What one generated Python module shows: its problems, its string constants, and the
    annotated fields of its classes. Found apart from the other modules, so a provider's
    modules can be read in several processes."""

    path: str
    problems: tuple[str, ...]
    constants: tuple[str, ...]
    fields: dict[str, frozenset[str]]


def read_module(package: str, path: str, text: str) -> ModuleFindings:
    """Parse one generated module and check what runs on import and what it imports."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return ModuleFindings(
            path, (f"{path}:{exc.lineno}: generated code does not parse ({exc.msg})",), (), {}
        )
    problems: list[str] = []
    import_problems: list[str] = []
    constants: list[str] = []
    allowed = (*_ALLOWED_IMPORTS, package)
    # One walk over the tree finds the class bodies, the imports and the string constants
    # (walking it once per kind took most of this check's time on large modules).
    bodies = [tree.body]  # what runs on import: the module body and every class body
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.append(node.value)
            elif isinstance(node, ast.ClassDef):
                bodies.append(node.body)
            continue
        for module in modules:
            if not any(module == root or module.startswith(root + ".") for root in allowed):
                import_problems.append(
                    f"{path}:{node.lineno}: import of {module!r} is not one generated code makes"
                )
    for body in bodies:
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue  # a docstring
            if not isinstance(statement, _INERT_STATEMENTS):
                problems.append(f"{path}:{statement.lineno}: unexpected {type(statement).__name__} statement")
    problems += import_problems
    fields = {
        node.name: frozenset(
            s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        )
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    return ModuleFindings(path, tuple(problems), tuple(constants), fields)


def verify_provider(
    provider: m.Provider, files: dict[str, str], modules: Iterable[ModuleFindings] | None = None
) -> None:
    """Raise UnsafeOutputError if the rendered files do not keep the spec's text inert.
    ``modules`` are the Python files' findings when they were read already (elsewhere)."""
    if modules is None:
        modules = [read_module(provider.package, p, t) for p, t in sorted(files.items()) if p.endswith(".py")]
    problems: list[str] = []
    constants: list[str] = []
    models_path = f"{provider.package}/{provider.package}/models.py"
    for found in sorted(modules, key=lambda found: found.path):
        problems.extend(found.problems)
        constants.extend(found.constants)
        if found.path == models_path and not found.problems:
            problems.extend(_check_model_fields(provider, found.fields))
    for path, text in sorted(files.items()):
        if path.endswith(".toml"):
            try:
                tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                problems.append(f"{path}: generated TOML does not parse ({exc})")
    joined = "\0".join(" ".join(c.split()) for c in constants)
    exact = set(constants)
    for text in _texts(provider):
        if " ".join(text.split()) not in joined:
            problems.append(f"the text {text[:60]!r} did not reach the generated code unchanged")
    for value in _raw_values(provider):
        if value not in exact:
            problems.append(f"the raw status value {value[:60]!r} is not a literal of the generated code")
    if problems:
        raise UnsafeOutputError(f"{provider.spec_file}: " + "; ".join(problems))


def _check_model_fields(provider: m.Provider, emitted: dict[str, frozenset[str]]) -> Iterator[str]:
    """datamodel-code-generator renames fields it finds unsafe (``dict`` -> ``dict_``); the
    receipts and clients read the names the spec gave, so the emitted names must be those."""
    for class_name, definition in provider.models_schema["$defs"].items():
        fields = emitted.get(class_name)
        if fields is None:
            yield f"models.py: class {class_name} was not generated"
            continue
        for wire in definition.get("properties", {}):
            name = provider.model_aliases.get(f"{class_name}.{wire}", wire)
            if name not in fields:
                yield f"models.py: field {class_name}.{name} came out under another name; rename it in the spec"


def _texts(provider: m.Provider) -> Iterator[str]:
    """Spec texts that must come out as docstrings or literals."""
    yield provider.title
    yield provider.description
    for credential in provider.auth.credentials:
        yield credential.description
    for enum in provider.statuses:
        yield enum.description
        for value in enum.values:
            yield value.description
    for operation in provider.operations:
        yield operation.summary
        yield operation.description
        for param in operation.params:
            yield param.description
    for callback in provider.callbacks:
        yield callback.summary


def _raw_values(provider: m.Provider) -> Iterator[str]:
    for enum in provider.statuses:
        for value in enum.values:
            yield from (raw for raw in value.raw_values if isinstance(raw, str))
