"""Golden cases, one folder per spec feature or kind of problem (tests/cases/README.md).

Each ``tests/cases/<case>/`` holds ``specs/`` (the case's spec, plus any base it extends)
and what generating it must give: ``expected/`` (generated files) or ``expected-errors.txt``
(the problems, one ``file:line:col: message`` a line, paths relative to the case folder).
Generation runs in-process through ``generator.pipeline.build``, the same pure function
``dlrgen check`` compares with disk.

``expected/`` of the ``minimal`` case holds every file; every other case stores only the
files that differ from ``minimal``'s (the files its feature affects), and is compared
file by file against ``minimal``'s files overlaid with its own, so a change to any file of
any case fails. Regenerate every expected file for review with::

    .venv/bin/python tests/generator/test_cases.py --update          # or: ... --update <case> ...
"""

from __future__ import annotations

import difflib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
import pytest

CASES = Path(__file__).resolve().parent.parent / "cases"
BASE = "minimal"
ABSENT = ".absent"  # in expected/: paths minimal has that this case does not generate (may be empty)
LIMITS = "limits.txt"  # optional: `NAME = value` lines lowering generator.load.yaml_safe's MAX_* budgets


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "specs").is_dir())


def _limits(case: Path) -> dict[str, int]:
    path = case / LIMITS
    if not path.is_file():
        return {}
    limits = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = (part.strip() for part in line.split("=", 1))
            limits[name] = int(value)
    return limits


_FORMATTED: dict[tuple[str, object], str] = {}


def _format_once(original: Callable[..., str]) -> Callable[..., str]:
    """black.format_str, remembered: most cases share most files with minimal, and black
    gives one input one output, so each distinct file is formatted once per process."""

    def format_str(source: str, *, mode: object) -> str:
        key = (source, mode)
        if key not in _FORMATTED:
            _FORMATTED[key] = original(source, mode=mode)
        return _FORMATTED[key]

    return format_str


def generate(case: Path) -> tuple[dict[str, str] | None, str | None]:
    """The case's generated files (manifest left out: it hashes the generator itself), or the
    problems' text when its specs are refused."""
    import black

    from generator.load import yaml_safe
    from generator.emit.manifest import MANIFEST
    from generator.pipeline import build
    from generator.problems import SpecError

    saved = {name: getattr(yaml_safe, name) for name in _limits(case)}
    format_str = black.format_str
    try:
        for name, value in _limits(case).items():
            assert name.startswith("MAX_") and hasattr(yaml_safe, name), name
            setattr(yaml_safe, name, value)
        black.format_str = _format_once(format_str)
        files = build(case / "specs")
    except SpecError as error:
        return None, "".join(
            f"{_relative(case, p.file)}:{p.line}:{p.column}: {p.message}\n" for p in error.problems
        )
    finally:
        black.format_str = format_str
        for name, value in saved.items():
            setattr(yaml_safe, name, value)
    return {path: text for path, text in files.items() if path != MANIFEST}, None


def _relative(case: Path, file: str) -> str:
    try:
        return Path(file).resolve().relative_to(case.resolve()).as_posix()
    except ValueError:
        return file


def _read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ABSENT
    }


def expected_files(case: Path) -> dict[str, str]:
    """``minimal``'s files overlaid with the case's own, less those it lists as absent."""
    own = _read_tree(case / "expected")
    if case.name == BASE:
        return own
    files = {**_read_tree(CASES / BASE / "expected"), **own}
    absent = case / "expected" / ABSENT
    if absent.is_file():
        for path in absent.read_text(encoding="utf-8").split():
            files.pop(path, None)
    return files


def _diff(expected_name: str, actual_name: str, expected: str, actual: str) -> str:
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True), expected_name, actual_name
        )
    )


def mismatches(case: Path) -> list[str]:
    """What differs from the case's expectation, as unified diffs; empty when it matches."""
    files, errors = generate(case)
    expected_errors = case / "expected-errors.txt"
    if expected_errors.is_file():
        want = expected_errors.read_text(encoding="utf-8")
        if errors is None:
            return ["the specs were accepted, but expected-errors.txt expects problems"]
        return [] if errors == want else [_diff("expected-errors.txt", "reported", want, errors)]
    if files is None:
        return [f"the specs were refused:\n{errors}"]
    want = expected_files(case)
    found = []
    for path in sorted(set(want) | set(files)):
        if path not in files:
            found.append(f"{path}: expected, not generated")
        elif path not in want:
            found.append(f"{path}: generated, not expected")
        elif files[path] != want[path]:
            found.append(_diff(f"expected/{path}", f"generated/{path}", want[path], files[path]))
    return found


@pytest.mark.parametrize("name", case_names())
def test_case(name: str) -> None:
    problems = mismatches(CASES / name)
    if problems:
        pytest.fail(
            f"case {name} differs from its expected files "
            f"(review, then `python tests/generator/test_cases.py --update {name}`):\n" + "\n".join(problems),
            pytrace=False,
        )


def test_every_case_has_one_expectation() -> None:
    for name in case_names():
        case = CASES / name
        kinds = [(case / "expected").is_dir(), (case / "expected-errors.txt").is_file()]
        assert kinds.count(True) == 1, f"{name}: needs expected/ or expected-errors.txt, not both"
    assert BASE in case_names()


def update(case: Path, base_files: dict[str, str] | None) -> str:
    """Rewrite the case's expected files from what generation gives now."""
    files, errors = generate(case)
    shutil.rmtree(case / "expected", ignore_errors=True)
    (case / "expected-errors.txt").unlink(missing_ok=True)
    if files is None:
        assert errors is not None
        (case / "expected-errors.txt").write_text(errors, encoding="utf-8")
        return "errors"
    own = files if base_files is None else {p: t for p, t in files.items() if base_files.get(p) != t}
    out = case / "expected"
    out.mkdir()
    for path, text in own.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text, encoding="utf-8")
    absent = sorted(set(base_files or {}) - set(files))
    if absent or not own:  # an empty expected/ would not be kept by git
        (out / ABSENT).write_text("".join(f"{p}\n" for p in absent), encoding="utf-8")
    return f"{len(own)} file(s)"


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--update":
        print(__doc__)
        return 2
    names = argv[1:] or case_names()
    unknown = sorted(set(names) - set(case_names()))
    if unknown:
        print(f"no such case: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if BASE in names:  # the others are stored relative to it: they follow
        names = case_names()
        print(f"{BASE}: {update(CASES / BASE, None)}")
    base = _read_tree(CASES / BASE / "expected")
    for name in names:
        if name != BASE:
            print(f"{name}: {update(CASES / name, base)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
    raise SystemExit(main(sys.argv[1:]))


def test_a_changed_output_fails_with_a_diff(tmp_path: Path) -> None:
    """The comparison is strict: an edit to a stored file, to a file a case inherits from
    minimal, or to an expected problem is a mismatch shown as a unified diff."""
    for name in (BASE, "sign_hash", "error_unknown_key"):
        shutil.copytree(CASES / name, tmp_path / name)
    client = tmp_path / BASE / "expected" / "dlr_demo" / "dlr_demo" / "client.py"
    client.write_text(client.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    [diff] = mismatches(tmp_path / BASE)
    assert "+++ generated/dlr_demo/dlr_demo/client.py" in diff and "-# edited" in diff

    api = tmp_path / "sign_hash" / "expected" / "dlr_demo" / "dlr_demo" / "api.py"
    api.write_text(api.read_text(encoding="utf-8").replace("md5", "sha1", 1), encoding="utf-8")
    (tmp_path / "sign_hash" / "specs" / "demo.yaml").write_text(
        (CASES / BASE / "specs" / "demo.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )  # now generates minimal's files: every file sign_hash stores differs
    assert len(mismatches(tmp_path / "sign_hash")) == len(_read_tree(CASES / "sign_hash" / "expected"))

    errors = tmp_path / "error_unknown_key" / "expected-errors.txt"
    errors.write_text(errors.read_text(encoding="utf-8").replace("statuse", "status"), encoding="utf-8")
    [diff] = mismatches(tmp_path / "error_unknown_key")
    assert (
        diff.startswith("--- expected-errors.txt\n+++ reported\n")
        and "-specs/demo.yaml:38:1: unknown key 'status'" in diff
    )


def _words(node: object, found: set[str]) -> set[str]:
    """Every key and scalar of a loaded spec."""
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(str(key))
            _words(value, found)
    elif isinstance(node, list):
        for item in node:
            _words(item, found)
    else:
        found.add(str(node))
    return found


def _schema_words(node: object, found: set[str]) -> set[str]:
    """The property names and enumerated values a JSON Schema defines."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            found.update(node["properties"])
        if isinstance(node.get("enum"), list):
            found.update(str(value) for value in node["enum"])
        for value in node.values():
            _schema_words(value, found)
    elif isinstance(node, list):
        for item in node:
            _schema_words(item, found)
    return found


# Words whose absence from the feature cases is no gap: labels, the default style a case uses
# by leaving it out, and JSON Schema's own keywords where the walk cannot tell them apart.
_NOT_FEATURES = {"otp", "mixed", "page_number", "additionalProperties", "minProperties"}


def test_every_key_and_choice_of_the_spec_format_has_a_feature_case() -> None:
    """Each key of generator/spec.schema.json (sections, step kinds, ...) and each of its
    enumerated choices (timestamp styles, array styles, nonce kinds, ...) appears in the spec
    of some case that generates; a new spec feature needs a case here."""
    import json

    import yaml

    schema = json.loads((CASES.parent.parent / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
    wanted = _schema_words(schema, set())
    used: set[str] = set()
    for name in case_names():
        if (CASES / name / "expected").is_dir():
            for spec in (CASES / name / "specs").glob("*.yaml"):
                _words(yaml.safe_load(spec.read_text(encoding="utf-8")), used)
    missing = sorted(wanted - used - _NOT_FEATURES)
    assert not missing, f"spec keys or choices no golden case uses: {missing}"


def test_update_writes_back_what_is_committed(tmp_path: Path) -> None:
    """The regeneration command rewrites a case's expected files exactly as committed."""
    base = _read_tree(CASES / BASE / "expected")
    for name in ("sign_hash", "crlf_line_endings", "error_unknown_key"):
        case = tmp_path / name
        shutil.copytree(CASES / name / "specs", case / "specs")
        update(case, base)
        for kind in ("expected", "expected-errors.txt"):
            committed, written = CASES / name / kind, case / kind
            assert committed.exists() == written.exists(), (name, kind)
            if committed.is_file():
                assert written.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
            elif committed.is_dir():
                files = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
                assert files == {p.relative_to(written) for p in written.rglob("*") if p.is_file()}
                for path in files:
                    assert (written / path).read_bytes() == (committed / path).read_bytes(), path
