"""docs/architecture.md cannot rot silently: every path it names exists, every module of the
generator and of the runtime is in its tables, and its pictures are Mermaid blocks a code
host can render (the README's "How it works" shows two of them and links the page)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOC = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
# The folders a path in the doc is read from: the repository, the two packages (tables and
# diagrams name modules below them), and the generated packages (``dlr_ucloud_usms/client.py``).
ROOTS = [
    ROOT,
    ROOT / "generator",
    ROOT / "runtime",
    ROOT / "runtime" / "dlr_core",
    *sorted(p for p in (ROOT / "generated").iterdir() if p.is_dir()),
]
PACKAGES = {"generator/": ROOT / "generator", "runtime/dlr_core/": ROOT / "runtime" / "dlr_core"}
SUFFIXES = ("py", "jinja", "json", "md", "yaml", "toml")
# A path: segments joined by "/", ending in a known suffix or in "/" (a folder). Globs
# (``specs/*.yaml``) give their folder.
PATH = re.compile(
    r"(?<![\w./-])((?:[A-Za-z_][\w.-]*/)*(?:[A-Za-z_][\w.-]*\.(?:"
    + "|".join(SUFFIXES)
    + r")\b|[A-Za-z_][\w.-]*/))"
)
MERMAID = re.compile(r"^```mermaid\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _paths(text: str) -> set[str]:
    # "e.g.", "1.x" and dotted Python names (``dlr_core.client``) are not paths, nor Mermaid's
    # line break or "I/O".
    text = text.replace("<br/>", " ").replace("I/O", "")
    return {found for found in PATH.findall(text) if "/" in found or found.endswith(SUFFIXES)}


def _exists(path: str) -> bool:
    return any((root / path).exists() for root in ROOTS)


def _tables(text: str) -> dict[str, list[list[str]]]:
    """The rows (their cells) of the module table under each ``### <package>/`` heading."""
    tables: dict[str, list[list[str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        heading = re.fullmatch(r"### (\S+/)", line)
        if heading:
            current = heading.group(1)
            tables[current] = []
        elif line.startswith("#"):
            current = None
        elif current is not None and line.startswith("|") and not line.startswith("|---"):
            tables[current].append([cell.strip() for cell in line.strip("|").split("|")])
    return tables


def _covered(package: Path, cells: list[str]) -> set[Path]:
    """The modules the table's first column names: a ``.py`` path, or a folder for its
    ``__init__.py``."""
    covered = set()
    for cell in cells:
        for name in re.findall(r"`([^`]+)`", cell):
            path = package / name
            covered.add(path / "__init__.py" if name.endswith("/") else path)
    return covered


def _diagrams(text: str) -> list[str]:
    return MERMAID.findall(text)


def test_every_path_the_doc_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = _paths(text)
    assert {"pipeline.py", "core.py", "wire/read.py", "load/yaml_safe.py"} <= named  # the walk sees them
    missing = sorted(path for path in named if not _exists(path))
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


@pytest.mark.parametrize("heading", sorted(PACKAGES))
def test_every_module_is_in_its_table(heading: str) -> None:
    package = PACKAGES[heading]
    tables = _tables(DOC.read_text(encoding="utf-8"))
    assert heading in tables, f"docs/architecture.md has no '### {heading}' table"
    covered = _covered(package, [row[0] for row in tables[heading]])
    modules = set(package.rglob("*.py"))
    missing = sorted(str(path.relative_to(package)) for path in modules - covered)
    assert missing == [], f"modules of {heading} missing from docs/architecture.md's table: {missing}"
    stale = sorted(str(path.relative_to(package)) for path in covered - modules)
    assert stale == [], f"docs/architecture.md's {heading} table names modules that are gone: {stale}"


def test_the_checks_can_fail() -> None:
    found = _paths('see `parse/gone.py` and `emit/` (e.g. 1.x, the I/O, dlr_core.client) a["x<br/>y.py"]')
    assert found == {"parse/gone.py", "emit/", "y.py"}
    assert not _exists("parse/gone.py")
    assert _exists("emit/") and _exists("dlr_ucloud_usms/client.py")
    tables = _tables(
        "### generator/\n\n| module | job |\n|---|---|\n| `load/` `model.py` | x |\n## Next\n| `no.py` |"
    )
    assert tables == {"generator/": [["module", "job"], ["`load/` `model.py`", "x"]]}
    package = ROOT / "generator"
    covered = _covered(package, [row[0] for row in tables["generator/"]])
    assert covered == {package / "load" / "__init__.py", package / "model.py"}


def _generated_imports() -> set[str]:
    """The runtime modules generated code imports: ``from dlr_core.signing import ...`` and
    ``from dlr_core import signing`` both name ``signing.py``; ``from dlr_core import Receipt``
    names ``__init__.py``."""
    runtime = PACKAGES["runtime/dlr_core/"]
    modules: set[str] = set()
    for path in sorted((ROOT / "generated").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue
            top, *inner = node.module.split(".")
            if top != "dlr_core":
                continue
            folder = runtime.joinpath(*inner)
            for alias in node.names:
                if (folder / f"{alias.name}.py").is_file():
                    found = folder / f"{alias.name}.py"
                elif folder.is_dir():
                    found = folder / "__init__.py"
                else:
                    found = folder.with_suffix(".py")
                modules.add(str(found.relative_to(runtime)))
    return modules


def test_the_table_says_which_runtime_modules_generated_code_imports() -> None:
    """The rows saying "generated code (the contract)" are exactly the modules generated
    packages import, so the table's claim about the contract stays true."""
    rows = _tables(DOC.read_text(encoding="utf-8"))["runtime/dlr_core/"]
    claimed = {
        name
        for row in rows
        if "generated code (the contract)" in row[2]
        for name in re.findall(r"`([^`]+\.py)`", row[0])
    }
    imported = _generated_imports()
    assert {"__init__.py", "client.py", "signing.py"} <= imported  # the walk sees them
    assert claimed == imported


def test_the_doc_has_the_three_diagrams() -> None:
    diagrams = _diagrams(DOC.read_text(encoding="utf-8"))
    headers = [diagram.split("\n", 1)[0].split()[0] for diagram in diagrams]
    assert headers == ["flowchart", "sequenceDiagram", "flowchart"]


def _check_mermaid(diagram: str) -> list[str]:
    """A minimal reading of the Mermaid the doc uses: a known header, balanced brackets and
    quotes in every line, subgraphs and loops closed, sequence messages between declared
    participants."""
    lines = [line.strip() for line in diagram.strip().splitlines()]
    header, body = lines[0], [line for line in lines[1:] if line and not line.startswith("%%")]
    problems = []
    if not re.fullmatch(r"flowchart (TD|TB|LR|RL|BT)|sequenceDiagram", header):
        problems.append(f"unknown header {header!r}")
    depth = 0
    participants: set[str] = set()
    for line in body:
        if line.count('"') % 2:
            problems.append(f"unbalanced quote: {line}")
        outside = re.sub(r'"[^"]*"', "", line)
        for opening, closing in ("[]", "()", "{}"):
            if outside.count(opening) != outside.count(closing):
                problems.append(f"unbalanced {opening}{closing}: {line}")
        if re.match(r"(subgraph|loop|alt|opt|par|rect|critical)\b", line):
            depth += 1
        elif line == "end":
            depth -= 1
            if depth < 0:
                problems.append("an 'end' without its block")
        if header == "sequenceDiagram":
            declared = re.match(r"participant (\w+) as \S", line)
            if declared:
                participants.add(declared.group(1))
            message = re.match(r"(\w+)\s*-{1,2}>>\s*(\w+):\s*\S", line)
            if message:
                unknown = {message.group(1), message.group(2)} - participants
                if unknown:
                    problems.append(f"undeclared participant {sorted(unknown)}: {line}")
            elif not re.match(r"(participant|loop|end|Note over|alt|else|opt)\b", line):
                problems.append(f"not a sequence diagram line: {line}")
        elif ";" in outside:
            problems.append(f"';' ends a flowchart statement early: {line}")
    if depth:
        problems.append(f"{depth} block(s) not closed")
    return problems


@pytest.mark.parametrize(
    "path", [DOC, README, ROOT / "docs" / "tracking.md"], ids=["architecture", "readme", "tracking"]
)
def test_the_mermaid_blocks_parse(path: Path) -> None:
    diagrams = _diagrams(path.read_text(encoding="utf-8"))
    assert diagrams, f"{path.name} has no mermaid block"
    for diagram in diagrams:
        assert _check_mermaid(diagram) == []


def test_the_mermaid_check_can_fail() -> None:
    assert _check_mermaid("graph TD\n  a --> b") == ["unknown header 'graph TD'"]
    assert _check_mermaid('flowchart TD\n  a["x] --> b') != []
    assert _check_mermaid("flowchart TD\n  subgraph s\n  a --> b") == ["1 block(s) not closed"]
    assert _check_mermaid("sequenceDiagram\n  participant A as a.py\n  A->>B: hi") != []


def test_the_readme_shows_the_pipeline_and_the_call_and_links_the_doc() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1].split("\n## ", 1)[0]
    assert "docs/architecture.md" in section
    headers = [diagram.split("\n", 1)[0].split()[0] for diagram in _diagrams(section)]
    assert headers == ["flowchart", "sequenceDiagram"]
    # The README's pictures are the doc's, not copies drifting apart.
    doc_diagrams = _diagrams(DOC.read_text(encoding="utf-8"))
    assert _diagrams(section) == doc_diagrams[:2]


def test_the_readme_shows_the_tracking_flow_of_its_doc() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("### Tracking deliveries", 1)[1].split("\n## ", 1)[0]
    assert "docs/tracking.md" in section and "postgresql://" in section
    # The picture is the doc's, not a copy drifting apart.
    assert _diagrams(section) == _diagrams((ROOT / "docs" / "tracking.md").read_text(encoding="utf-8"))
