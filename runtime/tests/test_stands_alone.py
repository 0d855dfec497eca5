"""runtime/tests runs with dlr-core and its extras alone (``pip install
'./runtime[crypto,mock,aiohttp,postgres]' pytest``): it imports neither the generator, nor a generated
package, nor tests/'s conftest. tests/contract/test_runtime_alone.py proves it in a fresh venv; this
catches an offending import in the fast tier."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# What `pip install './runtime[crypto,mock,aiohttp,postgres]' pytest` brings, by import name.
INSTALLED = {
    "dlr_core", "httpx", "httpcore", "pydantic", "anyio", "sniffio", "typing_extensions",
    "cryptography", "h11", "aiohttp", "httpx_aiohttp", "psycopg", "psycopg_pool", "pytest", "_pytest",
}  # fmt: skip
LOCAL = {path.stem for path in HERE.glob("*.py")} - {"conftest"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level module)`` for each import in ``path``, and for each module named
    as text to ``import_module`` or ``__import__`` (``pytest.importorskip`` skips a test
    when its module is missing: not counted)."""
    source = path.read_text(encoding="utf-8")
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, (ast.Name, ast.Attribute))
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return sorted(found)


def test_runtime_tests_import_only_the_runtime_its_dependencies_and_each_other() -> None:
    offenders = [
        f"{path.name}:{line}: imports {module}"
        for path in sorted(HERE.glob("*.py"))
        for line, module in imported_modules(path)
        if module not in sys.stdlib_module_names | INSTALLED | LOCAL
    ]
    assert not offenders, "\n".join(offenders)


def test_no_runtime_test_names_a_generated_package_or_the_checkouts_other_folders() -> None:
    # Text, not only imports: a dlr_<provider> name or a path into the checkout's other
    # folders, in a string, would tie these tests to the checkout as surely as an import. (A
    # docstring naming the repository's test of the same thing, tests/generated/..., is prose.)
    pattern = re.compile(
        r"\bdlr_(?!core\b)[a-z0-9]+_[a-z0-9_]+\b|(?<!tests)[\"'/](generator|generated|specs|templates)[\"'/]|\.parents\["
    )
    allowed = re.compile(
        r"\bdlr_(call|params|arguments|with_extra|operations|api|pages|wait_for_final|mock)\w*"
    )
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(allowed.sub("", line))
    ]
    assert not offenders, "\n".join(offenders)


def test_the_checks_see_an_offending_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import generator.load\nfrom conftest import ROOT\nimport importlib\n"
        "importlib.import_module('dlr_acme_sms')\nfrom dlr_core import Receipt\n",
        encoding="utf-8",
    )
    assert imported_modules(sample) == [
        (1, "generator"),
        (2, "conftest"),
        (3, "importlib"),
        (4, "dlr_acme_sms"),
        (5, "dlr_core"),
    ]
