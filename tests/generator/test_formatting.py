"""Generated code is formatted in chunks (cut at definitions, spread over workers, kept in a
cache): the result must be black's formatting of the whole file, byte for byte."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import client_specs, provider_specs
from generator.emit import cache
from generator.emit import formatting
from generator.pipeline import load_providers
from generator.render import render_provider

ROOT = Path(__file__).resolve().parent.parent.parent


def _rendered(spec: Path) -> dict[str, str]:
    providers, problems = load_providers([spec])
    assert not problems
    return {path: text for path, text in render_provider(providers[0]).items() if path.endswith(".py")}


# Providers with a client first: the fast tier's one provider must have a client.py to cut
# (a push-only spec, such as africastalking_sms, sorts first by name but has none).
SPECS = sorted(client_specs()) + sorted(set(provider_specs()) - set(client_specs()))


# One provider with a client in the fast tier, and one that only pushes in the slow one.
# Cut at every definition, the golden cases (every key and choice of the format has one)
# are checked in the slow tier below; every provider's generated code, cut as generation
# cuts it, is checked against black by test_generate's test_generated_python_is_black_formatted.
PUSH_ONLY = sorted(set(provider_specs()) - set(client_specs()))[:1]


@pytest.mark.parametrize(
    "spec", [SPECS[0], *(pytest.param(s, marks=pytest.mark.slow) for s in PUSH_ONLY)], ids=lambda p: p.stem
)
def test_chunked_formatting_is_black_on_the_whole_file(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRGEN_NO_CACHE", "1")
    monkeypatch.setattr(formatting, "_CHUNK_BYTES", 1)  # every definition a chunk of its own
    rendered = _rendered(spec)
    chunked = formatting.format_files(rendered)
    # The client is cut into many definitions; a push-only provider (no client) has its
    # callbacks' functions, fewer but still several.
    client = next((p for p in rendered if p.endswith("client.py")), None)
    if client is not None:
        assert len(formatting.chunks(rendered[client])) > 10
    else:
        assert len(formatting.chunks(rendered[next(p for p in rendered if p.endswith("callbacks.py"))])) > 5
    for path, text in rendered.items():
        assert chunked[path] == formatting.format_python(path, text), path


def test_a_cut_inside_a_docstring_sends_the_file_through_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formatting, "_CHUNK_BYTES", 1)
    text = 'def f():\n    """A text.\n\nclass X: not code.\n"""\n\n\nclass Y:\n    pass\n'
    assert len(formatting.chunks(text)) == 3  # a cut inside the docstring, and one after it
    assert formatting.format_files({"m.py": text})["m.py"] == formatting.format_python("m.py", text)


def test_methods_are_formatted_apart_and_joined_as_black_spaces_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formatting, "_CHUNK_BYTES", 1)
    text = "class A:\n    x = 1\n\n    def f(self):  return 1\n\n    @property\n    def g(self): return 2\n"
    cut = formatting.chunks(text)
    assert [chunk.method for chunk in cut] == [False, True, True]
    assert formatting.format_files({"m.py": text})["m.py"] == formatting.format_python("m.py", text)


def test_a_second_run_takes_every_chunk_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(tmp_path / "cache"))
    rendered = _rendered(ROOT / "specs" / "ucloud_usms.yaml")
    first = formatting.format_files(rendered)
    calls = []
    monkeypatch.setattr(formatting, "format_chunk", lambda chunk: calls.append(chunk))
    assert formatting.format_files(rendered) == first
    assert calls == []
    assert any((tmp_path / "cache").rglob("*"))


def test_no_cache_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DLRGEN_NO_CACHE", "1")
    formatting.format_files({"m.py": "x  =  1\n"})
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("mode", [0o770, 0o707])
def test_a_folder_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    folder.chmod(mode)
    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(folder))
    assert cache.directory() is None
    cache.put("black", "ab" * 32, "x = 1\n")
    assert cache.get("black", "ab" * 32) is None
    assert not any(folder.iterdir())


def test_the_cache_folder_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(tmp_path / "cache"))
    cache.put("black", "cd" * 32, "x = 1\n")
    folder = cache.directory()
    assert folder is not None and cache.get("black", "cd" * 32) == "x = 1\n"
    assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0


def test_models_come_from_the_cache_when_the_schema_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.python import models as codegen

    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(tmp_path / "cache"))
    providers, _ = load_providers([SPECS[0]])
    first = codegen.render_models(providers[0], "# header")
    monkeypatch.setattr(codegen, "_generate", lambda *args: pytest.fail("the library ran again"))
    assert codegen.render_models(providers[0], "# header") == first
    with pytest.raises(pytest.fail.Exception):  # another header is another module
        codegen.render_models(providers[0], "# another header")


def test_templates_are_compiled_once_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import render

    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(tmp_path / "cache"))
    render.environment.cache_clear()
    try:
        render.environment().get_template("provider/package/errors.py.jinja")
        assert list((tmp_path / "cache").rglob("*.cache"))
    finally:
        render.environment.cache_clear()


CASE_SPECS = sorted(
    p
    for p in (ROOT / "tests" / "cases").glob("*/specs/[!_]*.yaml")
    if (p.parent.parent / "expected").is_dir()
)


@pytest.mark.slow
def test_chunked_formatting_is_black_on_the_whole_file_for_every_golden_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DLRGEN_NO_CACHE", "1")
    monkeypatch.setattr(formatting, "_CHUNK_BYTES", 1)
    for spec in CASE_SPECS:
        providers, problems = load_providers([spec])
        if problems:  # a case about a base that others extend, or the like
            continue
        rendered = {p: t for p, t in render_provider(providers[0]).items() if p.endswith(".py")}
        chunked = formatting.format_files(rendered)
        for path, text in rendered.items():
            assert chunked[path] == formatting.format_python(path, text), f"{spec}: {path}"


def test_no_cut_right_after_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formatting, "_CHUNK_BYTES", 1)
    text = "from a import (\n    b,\n)\n\n\nX = 1\n\n\nY = 2\n"
    assert [c.text for c in formatting.chunks(text)] == ["from a import (\n    b,\n)\n\n\nX = 1", "Y = 2\n"]
    assert formatting.format_files({"m.py": text})["m.py"] == formatting.format_python("m.py", text)


def test_the_runtime_names_come_from_the_cache_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.python import names

    monkeypatch.setenv("DLRGEN_CACHE_DIR", str(tmp_path / "cache"))
    names._runtime_names.cache_clear()
    try:
        computed = names._runtime_names()
        assert "SyncClientBase" in computed["module"] and "wire_data" in computed["model"]
        names._runtime_names.cache_clear()
        monkeypatch.setattr(names.generation_cache, "put", lambda *args: pytest.fail("computed again"))
        assert names._runtime_names() == computed
    finally:
        names._runtime_names.cache_clear()
