"""Work kept in the cache so that specs which did not change are not read again: the JSON
Schema's verdict on a spec (a run over specs that did not change never imports jsonschema; a
spec with problems is checked afresh every time, and any change to a spec's data, however
small, is checked again) and each provider's part of docs/providers.md."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator import pipeline
from generator.load import schema
from generator.pipeline import build_docs, load_providers
from tests.conftest import ROOT, SPECS

DEMO = ROOT / "tests" / "cases" / "minimal" / "specs" / "demo.yaml"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of this test's own, empty."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    return Path(shutil.copy(DEMO, tmp_path / "specs" / "demo.yaml"))


def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every time the schema's validator is asked for (once per spec checked)."""
    calls: list[int] = []
    real = schema._validator

    def counted() -> object:
        calls.append(1)
        return real()

    monkeypatch.setattr(schema, "_validator", counted)
    return calls


def test_a_valid_spec_is_checked_once(spec: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = validations(monkeypatch)
    assert load_providers([spec])[1] == []
    assert len(calls) == 1
    assert load_providers([spec])[1] == []
    assert len(calls) == 1  # the second read found the verdict in the cache
    assert [p.name for p in (cache_dir / "v1" / "valid").rglob("*") if p.is_file()] != []


def test_a_spec_with_problems_is_checked_every_time(
    spec: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec.write_text(spec.read_text(encoding="utf-8").replace("title: ", "titel: ", 1), encoding="utf-8")
    calls = validations(monkeypatch)
    first = load_providers([spec])[1]
    assert [(p.line, p.message) for p in first] == [
        (3, "the spec is missing the required key 'title'"),
        (5, "unknown key 'titel' in the spec; did you mean 'title'?"),
    ]
    assert load_providers([spec])[1] == first
    assert len(calls) == 2


def test_a_value_that_only_changes_its_type_is_checked_again(
    spec: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `title: "123"` is text, as the schema wants; `title: 123` is a number, which it refuses.
    text = spec.read_text(encoding="utf-8")
    title = next(line for line in text.splitlines() if line.startswith("title: "))
    spec.write_text(text.replace(title, 'title: "123"'), encoding="utf-8")
    assert load_providers([spec])[1] == []
    spec.write_text(text.replace(title, "title: 123"), encoding="utf-8")
    problems = load_providers([spec])[1]
    assert [str(p).split(": ", 1)[1] for p in problems] == ["title: expected string, got integer 123"]


def test_without_the_cache_every_spec_is_checked(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRGEN_NO_CACHE", "1")
    calls = validations(monkeypatch)
    load_providers([spec])
    load_providers([spec])
    assert len(calls) == 2


def test_the_status_matrix_reads_only_the_specs_that_changed(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("itnio_voice", "sgate_otp", "ucloud_usms"):
        shutil.copy(SPECS / f"{name}.yaml", specs)
    read: list[str] = []
    real = pipeline.load_provider
    monkeypatch.setattr(pipeline, "load_provider", lambda path: (read.append(path.stem), real(path))[1])

    first = build_docs(specs)
    assert read == ["itnio_voice", "sgate_otp", "ucloud_usms"]
    assert build_docs(specs) == first
    assert read == ["itnio_voice", "sgate_otp", "ucloud_usms"]  # nothing read again

    spec = specs / "sgate_otp.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("title: ", "title: Renamed ", 1), encoding="utf-8"
    )
    changed = build_docs(specs)
    assert read[3:] == ["sgate_otp"]
    assert "## Renamed " in changed and changed.count("## Renamed ") == 1
    # What the cache gave is what reading every spec gives.
    monkeypatch.setenv("DLRGEN_NO_CACHE", "1")
    assert build_docs(specs) == changed
    assert read[4:] == ["itnio_voice", "sgate_otp", "ucloud_usms"]
