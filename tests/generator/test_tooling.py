"""The spec author's tools and the build integration: new, docs, watch, schema,
pre-commit hooks, and the build backend's generation hook."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import zipfile
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, SMALL_TREE, SPECS, catalog_providers, dlrgen_here


def dlrgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd)


def test_new_scaffolds_a_spec_that_validates_and_generates(tmp_path: Path) -> None:
    result = dlrgen_here("new", "acme_sms", "--title", "Acme SMS", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = tmp_path / "specs" / "acme_sms.yaml"
    assert spec.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")
    assert dlrgen_here("validate", cwd=tmp_path).returncode == 0
    generated = dlrgen_here("generate", cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "generated" / "dlr_acme_sms" / "dlr_acme_sms" / "client.py").is_file()
    # It refuses to overwrite, and refuses ids that are not snake_case.
    assert dlrgen_here("new", "acme_sms", cwd=tmp_path).returncode == 2
    assert "not a snake_case provider id" in dlrgen_here("new", "Acme-SMS", cwd=tmp_path).stderr


def test_schema_command_prints_the_spec_schema() -> None:
    result = dlrgen("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema == json.loads((ROOT / "generator" / "spec.schema.json").read_text(encoding="utf-8"))
    for spec in SPECS.glob("*.yaml"):
        assert spec.read_text(encoding="utf-8").startswith(
            "# yaml-language-server: $schema=../generator/spec.schema.json"
        )


def test_providers_doc_is_current_and_shows_every_raw_value() -> None:
    """docs/providers.md is what the specs render (``dlrgen docs --check`` renders the same
    text), and it shows every raw status value of every provider."""
    from generator.render import render_docs

    doc = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    assert render_docs(list(catalog_providers())) == doc, "docs/providers.md is stale: run `dlrgen docs`"
    for provider in catalog_providers():
        assert f"(`{provider.id}`)" in doc
        for enum in provider.statuses:
            for value in enum.values:
                for raw in value.raw_values:
                    # inside a Markdown table a pipe is written \\| (Termii's "DELIVERED | ...")
                    assert f"`{raw}`".replace("|", "\\|") in doc, (provider.id, raw)


def test_docs_check_fails_when_stale(tmp_path: Path) -> None:
    specs = tmp_path / "specs"  # two providers: the command's paths, at a fraction of the catalog's cost
    specs.mkdir()
    for name in SMALL_TREE:
        shutil.copy(SPECS / f"{name}.yaml", specs)
    output = tmp_path / "providers.md"
    output.write_text("old\n", encoding="utf-8")
    docs = ("docs", "--specs", str(specs), "--output", str(output))
    assert dlrgen_here(*docs, "--check").returncode == 1
    assert dlrgen_here(*docs).returncode == 0
    assert dlrgen_here(*docs, "--check").returncode == 0


@pytest.mark.slow
def test_pre_commit_hooks_run_dlrgen_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    by_id = {hook["id"]: hook for hook in hooks}
    assert set(by_id) == {"dlrgen-check", "dlrgen-validate"}
    for hook in hooks:
        command = hook["entry"].split()
        assert command[0] == "dlrgen" and hook["language"] == "python"
        args = command[1:] + (
            [] if hook.get("pass_filenames") is False else [str(p) for p in SPECS.glob("*.yaml")]
        )
        assert dlrgen(*args).returncode == 0, hook["id"]


def read_until(process: subprocess.Popen[str], needle: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"never saw {needle!r}; got:\n{''.join(seen)}")


@pytest.mark.slow
@pytest.mark.serial  # waits on file events: run alone
def test_watch_regenerates_on_save_and_survives_spec_errors(tmp_path: Path) -> None:
    specs, out = tmp_path / "specs", tmp_path / "generated"
    shutil.copytree(SPECS, specs)
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "watch", "--specs", str(specs), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        read_until(process, "dlrgen: watching")
        spec = specs / "itnio_voice.yaml"
        text = spec.read_text(encoding="utf-8")
        spec.write_text(text.replace("Calls are being made.", "Calls are going out."), encoding="utf-8")
        read_until(process, "(rendered: itnio_voice)")
        assert (
            "Calls are going out."
            in (out / "dlr_itnio_voice" / "dlr_itnio_voice" / "statuses.py").read_text()
        )

        spec.write_text(text.replace("canonical: sending", "canonical: sendin"), encoding="utf-8")
        output = read_until(process, "left as it was")
        assert "itnio_voice.yaml:" in output and "did you mean 'sending'?" in output

        spec.write_text(text, encoding="utf-8")
        read_until(process, "(rendered: itnio_voice)")
        assert process.poll() is None  # still watching
    finally:
        process.send_signal(signal.SIGTERM)
        remaining, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "stopped watching" in remaining


@pytest.mark.slow
def test_building_dlrgen_packages_the_generator_and_never_touches_generated(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name in ("generator", "templates", "specs", "generated"):
        shutil.copytree(
            ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    # A stale tree (the spec changed, generated/ did not) must stay exactly as it is.
    spec = project / "specs" / "sgate_otp.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("Task created.", "Task created by the build."))
    before = {p: p.read_bytes() for p in sorted((project / "generated").rglob("*")) if p.is_file()}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path / "dist"),
            str(project),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    after = {p: p.read_bytes() for p in sorted((project / "generated").rglob("*")) if p.is_file()}
    assert after == before
    [wheel] = (tmp_path / "dist").glob("dlrgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # Every module of every stage folder ships (a subpackage left out of pyproject.toml's
    # packages would leave an installed dlrgen that cannot import it).
    modules = {
        "generator/" + path.relative_to(ROOT / "generator").as_posix()
        for path in (ROOT / "generator").rglob("*.py")
    }
    assert modules <= set(names), sorted(modules - set(names))
    assert "generator/commands/cli.py" in names and "generator/spec.schema.json" in names
    assert "generator/templates/provider/package/client.py.jinja" in names
    assert not [name for name in names if name.startswith(("dlr_", "generated/", "specs/"))]
