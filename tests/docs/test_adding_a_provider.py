"""Adding a provider is a spec file and one command: in a copy of the project, new specs
(among them an OAuth2 scheme, a WS-Security scheme and a provider that only pushes its
reports) are dropped into specs/, `dlrgen generate` is run, and the whole fast test suite
stays green without a line of Python edited (no test lists the providers)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_a_new_spec_keeps_the_suite_green(tmp_path: Path) -> None:
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".hypothesis", "build", "dist")
    for name in ("specs", "generated", "docs", "tests", "runtime", "generator", "templates", ".ci"):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    spec = (ROOT / "specs" / "itnio_voice.yaml").read_text(encoding="utf-8")
    (project / "specs" / "zenith_voice.yaml").write_text(
        spec.replace("provider: itnio_voice", "provider: zenith_voice").replace(
            "title: ITNIO TECH voice", "title: Zenith"
        ),
        encoding="utf-8",
    )

    # Specs whose auth the mock must serve by construction: an OAuth2 client-credentials
    # token flow, and a composite header (WS-Security UsernameToken: nonce, timestamp and
    # digest inside one value); and a provider that only pushes its reports (callbacks, no
    # operations: a package with no client). The golden cases' specs, as new providers.
    new = ("zenith_voice", "quasar_sms", "umbra_sms", "nadir_push")
    for case, provider in (
        ("sign_oauth2_client_credentials", "quasar_sms"),
        ("sign_wsse_username_token", "umbra_sms"),
        ("callbacks_push_only", "nadir_push"),
    ):
        text = (ROOT / "tests" / "cases" / case / "specs" / "demo.yaml").read_text(encoding="utf-8")
        (project / "specs" / f"{provider}.yaml").write_text(
            # the schema comment every spec under specs/ starts with (`dlrgen new` writes it)
            "# yaml-language-server: $schema=../generator/spec.schema.json\n"
            + text.replace("provider: demo\n", f"provider: {provider}\n", 1),
            encoding="utf-8",
        )

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=project, capture_output=True, text=True)

    generated = run(sys.executable, "-m", "generator", "generate")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "docs/providers.md" in generated.stdout  # the status matrix follows the specs
    for provider in new:
        package = project / "generated" / f"dlr_{provider}" / f"dlr_{provider}"
        assert (package / "client.py").is_file() == (provider != "nadir_push")
        assert (package / "__init__.py").is_file()
    assert (project / "generated" / "dlr_nadir_push" / "dlr_nadir_push" / "callbacks.py").is_file()
    # The fast tier (but this test's own long neighbours), in the copy, with the new provider.
    suite = run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-m",
        "not slow",
        "--deselect",
        "tests/generator/test_hostile_specs.py::test_mutated_specs_are_refused_with_locations_or_generate_inert_packages",
    )
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout
