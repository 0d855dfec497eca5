"""``generator.versions.distribution_version`` gives what ``importlib.metadata.version`` gives
(the manifest records black's, so one character of difference would change generated/),
without importing it when the distribution is a plain ``.dist-info`` folder."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from generator import versions
from tests.conftest import ROOT

INSTALLED = [
    "black",
    "jsonschema",
    "datamodel-code-generator",  # its folder: datamodel_code_generator-<version>.dist-info
    "isort",
    "pydantic",
    "PyYAML",  # a name that is not its module's
    "Jinja2",
    "dlr-core",  # an editable install
]


@pytest.mark.parametrize("name", INSTALLED)
def test_the_installed_versions_are_importlib_metadatas(name: str) -> None:
    assert versions._plain_dist_info_version(name) is not None  # read here, not handed on
    assert versions.distribution_version(name) == importlib.metadata.version(name)


def test_a_run_reading_versions_does_not_import_importlib_metadata() -> None:
    script = (
        "import sys\nfrom generator.versions import distribution_version\n"
        "print([distribution_version(n) for n in ('black', 'jsonschema', 'pydantic')])\n"
        "print('importlib.metadata' in sys.modules, 'email' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "False False"


def dist(folder: Path, name: str, metadata: str, kind: str = "dist-info") -> Path:
    info = folder / f"{name}.{kind}"
    info.mkdir(parents=True)
    (info / ("METADATA" if kind == "dist-info" else "PKG-INFO")).write_text(metadata, encoding="utf-8")
    return info


def lookups(monkeypatch: pytest.MonkeyPatch, path: list[Path], name: str) -> tuple[str | None, str]:
    """This module's own reading, and importlib.metadata's, over ``path`` alone."""
    monkeypatch.setattr(sys, "path", [str(each) for each in path])
    return versions._plain_dist_info_version(name), importlib.metadata.version(name)


def test_the_first_entry_holding_the_distribution_wins_as_in_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "Some.Tool-1.0", "Metadata-Version: 2.1\nName: some-tool\nVersion: 1.0 \n\nbody\n")
    dist(second, "some_tool-2.0", "Metadata-Version: 2.1\nName: some-tool\nVersion: 2.0\n")
    mine, theirs = lookups(monkeypatch, [tmp_path / "missing", first, second], "some-tool")
    assert mine == theirs == "1.0 "  # the header's text as the email parser keeps it


@pytest.mark.parametrize(
    "metadata",
    [
        "Metadata-Version: 2.1\nName: some-tool\nVersion: 1.0\n  .post1\n",  # folded
        "Metadata-Version: 2.1\nName: some-tool\n\nVersion: 1.0\n",  # not among the headers
    ],
)
def test_metadata_that_is_not_plain_is_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metadata: str
) -> None:
    dist(tmp_path, "some_tool-1.0", metadata)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    versions.distribution_version.cache_clear()
    try:
        assert versions._plain_dist_info_version("some-tool") is None
        assert versions.distribution_version("some-tool") == importlib.metadata.version("some-tool")
    finally:
        versions.distribution_version.cache_clear()


def test_an_egg_info_or_an_egg_is_left_to_importlib_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist(
        tmp_path / "site",
        "some_tool-3.0",
        "Metadata-Version: 1.1\nName: some-tool\nVersion: 3.0\n",
        "egg-info",
    )
    mine, theirs = lookups(monkeypatch, [tmp_path / "site"], "some-tool")
    assert (mine, theirs) == (None, "3.0")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "a.egg"), str(tmp_path / "site")])
    assert versions._plain_dist_info_version("some-tool") is None
