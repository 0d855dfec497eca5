"""Releases: ``dlrgen build`` makes wheels that install alone (no generator, no repository),
provider packages declare only what their spec needs, and packages generated against
different runtime minors install side by side."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
import yaml

import dlr_core
from tests.conftest import GENERATED, ROOT, SPECS, spec_data
from generator.commands import release
from generator.commands.cli import main

# One worker builds every provider (and the two-provider tree) once for all of these tests.
pytestmark = pytest.mark.xdist_group("generation")


def test_provider_packages_declare_only_what_their_spec_needs() -> None:
    major, minor = (int(part) for part in dlr_core.__version__.split(".")[:2])
    for pyproject in sorted(GENERATED.glob("dlr_*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        spec = spec_data(SPECS / f"{pyproject.parent.name.removeprefix('dlr_')}.yaml")
        signs_with_rsa = any(
            "rsa_sign" in step
            for scheme in spec.get("auth", {}).get("schemes", {}).values()  # none when push-only
            for step in scheme.get("sign", ())
        )
        verifies_keys = any("public_key" in c.get("verify", {}) for c in spec.get("callbacks", {}).values())
        extras = "[crypto]" if verifies_keys else "[rsa]" if signs_with_rsa else ""
        assert project["dependencies"] == [
            f"dlr-core{extras}>={major}.{minor},<{major + 1}",
            "httpx>=0.27",
            "pydantic>=2.6",
        ], pyproject
        identity = spec.get("package", {})
        assert project["name"] == identity.get("name", pyproject.parent.name.replace("_", "-"))
        assert project["version"] == identity.get("version", "0.1.0")


def test_the_runtime_core_needs_httpx_and_pydantic_only() -> None:
    project = tomllib.loads((ROOT / "runtime" / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in project["dependencies"]}
    assert names == {"anyio", "httpx", "pydantic", "sniffio", "typing-extensions"}
    assert project["optional-dependencies"] == {
        "rsa": ["cryptography>=41"],
        "crypto": ["cryptography>=41"],
        "mock": ["h11>=0.14"],
        "aiohttp": ["aiohttp>=3.10", "httpx-aiohttp>=0.2"],  # transport="aiohttp"
        "tracking": [],  # SQLite is Python's own
        "postgres": ["psycopg[binary]>=3.1", "psycopg-pool>=3.2"],  # the tracker's PostgreSQL store
    }


def test_build_refuses_a_stale_tree(
    tmp_path: Path, small_tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    specs, out = small_tree
    spec = specs / "itnio_voice.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("Calls are being made.", "Calls go out."), "utf-8"
    )
    assert main(["build", "--specs", str(specs), "--out", str(out), "--dist", str(tmp_path / "dist")]) == 1
    assert "stale for: dlr_itnio_voice" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def _fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=True)
    return path / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_built_wheels_install_alone_and_two_providers_work(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # A copy: a build records its releases next to the packages, and the checkout is not ours.
    generated = tmp_path / "generated"
    shutil.copytree(GENERATED, generated, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    assert main(["build", "--specs", str(SPECS), "--out", str(generated), "--dist", str(dist)]) == 0
    assert not (GENERATED / ".dlrgen-releases.json").exists()
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert any(name.startswith("dlr_core-") for name in wheels)
    assert len([p for p in dist.glob("*.tar.gz")]) == len(wheels)
    python = _fresh_venv(tmp_path / "venv")
    # Only the built wheels (and the public dependencies httpx, pydantic, cryptography).
    _pip(python, "--find-links", str(dist), "dlr-ucloud-usms", "dlr-sgate-otp")
    script = (
        "import importlib.util\n"
        "assert importlib.util.find_spec('generator') is None\n"
        "from dlr_core import DeliveryStatus\n"
        "from dlr_ucloud_usms import GetUSMSSendReceiptResult, get_usms_send_receipt_receipts\n"
        "from dlr_sgate_otp import OtpDetail, otp_detail_receipts\n"
        "r1 = otp_detail_receipts(OtpDetail.model_validate({'status': 'success', 'reportstatus': 'success'}))\n"
        "answer = {'RetCode': 0, 'Action': 'GetUSMSSendReceiptResponse', 'Data': [{'SessionNo': 's1',\n"
        "  'ReceiptSet': [{'Phone': '1', 'ReceiptResult': 'success', 'ReceiptDesc': 'ok', 'CostCount': 1,\n"
        "                  'ReceiptCode': 'DELIVRD', 'ReceiveTime': 1, 'UserId': ''}]}]}\n"
        "r2 = get_usms_send_receipt_receipts(GetUSMSSendReceiptResult.model_validate(answer))\n"
        "assert [r.status for r in r1 + r2] == [DeliveryStatus.DELIVERED] * 2, (r1, r2)\n"
        "print('ok')\n"
    )
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


@pytest.mark.slow
def test_packages_generated_against_two_runtime_minors_install_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A runtime of the next minor, and a provider generated against it...
    major, minor = (int(part) for part in dlr_core.__version__.split(".")[:2])
    later = f"{major}.{minor + 1}.0"
    runtime = tmp_path / "runtime"
    shutil.copytree(
        ROOT / "runtime", runtime, ignore=shutil.ignore_patterns("tests", "*.egg-info", "__pycache__")
    )
    init = runtime / "dlr_core" / "__init__.py"
    init.write_text(
        re.sub(r'__version__ = "[^"]+"', f'__version__ = "{later}"', init.read_text("utf-8")), "utf-8"
    )
    from generator.pipeline import build

    monkeypatch.setattr(dlr_core, "__version__", later)
    newer = build(SPECS)
    monkeypatch.undo()
    assert f'"dlr-core>={major}.{minor + 1},<{major + 1}"' in newer["dlr_ucloud_usms/pyproject.toml"]
    staging = tmp_path / "newer"
    for path, content in newer.items():
        if path.startswith("dlr_ucloud_usms/"):
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            (staging / path).write_text(content, encoding="utf-8")
    # ...installed next to one generated before it (requires the current minor).
    python = _fresh_venv(tmp_path / "venv")
    # Copies: pip writes build metadata next to the sources it is given.
    shutil.copytree(GENERATED / "dlr_itnio_voice", tmp_path / "older" / "dlr_itnio_voice")
    _pip(python, str(runtime), str(staging / "dlr_ucloud_usms"), str(tmp_path / "older" / "dlr_itnio_voice"))
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run(
        [
            str(python),
            "-c",
            "import dlr_core, dlr_ucloud_usms, dlr_itnio_voice; " "print(dlr_core.__version__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0 and run.stdout.strip() == later, run.stderr


@pytest.mark.slow
def test_mock_command_starts_right_after_the_quick_start() -> None:
    """The README's first command installs dlr-core[rsa,mock] with dlrgen: the installed
    console script serves a mock at once (no ModuleNotFoundError for cryptography or h11)."""
    dlrgen = Path(sys.executable).parent / "dlrgen"
    process = subprocess.Popen(
        [str(dlrgen), "mock", "itnio_voice", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "http://127.0.0.1:" in first, first + (
            process.stderr.read() if process.poll() is not None else ""
        )
    finally:
        process.terminate()
        process.communicate(timeout=20)


def _fake_build(source: Path, dist: Path) -> release.Built:
    """``_build_one`` without a PEP 517 backend: what the record binds is the file map built
    from, not the wheels, so the fast tier need not make them."""
    made = dist / f"{source.name}.whl"
    made.write_text("built", encoding="utf-8")
    return release.Built(source.name, (made,))


def test_an_unreleased_package_changes_freely_under_its_version(
    tmp_path: Path, small_tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    specs, out = small_tree
    paths = ["--specs", str(specs), "--out", str(out)]
    (out / release.RECORD).unlink(missing_ok=True)  # never released: no record at all
    spec = specs / "itnio_voice.yaml"
    for old, new in (("Calls are being made.", "Calls go out."), ("Calls go out.", "Calls leave.")):
        spec.write_text(spec.read_text(encoding="utf-8").replace(old, new), "utf-8")
        assert main(["generate", *paths]) == 0
        assert "warning" not in capsys.readouterr().err
        assert main(["check", *paths]) == 0
        assert not (out / release.RECORD).exists()  # generating binds no version


def test_a_package_changed_after_its_release_is_reported(
    tmp_path: Path,
    small_tree: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    specs, out = small_tree
    paths = ["--specs", str(specs), "--out", str(out)]
    (out / release.RECORD).unlink(missing_ok=True)
    monkeypatch.setattr(release, "_build_one", _fake_build)
    assert main(["build", *paths, "--dist", str(tmp_path / "dist"), "--version-suffix", "rc1"]) == 0
    recorded = release.read_record(out)
    spec = specs / "itnio_voice.yaml"
    version = spec_data(spec).get("package", {}).get("version", "0.1.0")
    assert recorded["dlr_itnio_voice"][0] == f"{version}rc1"  # a release candidate binds only itself
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("Calls are being made.", "Calls go out."), "utf-8"
    )
    assert main(["generate", *paths]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["build", *paths, "--dist", str(tmp_path / "dist")]) == 0  # the release binds
    assert release.read_record(out)["dlr_itnio_voice"][0] == version
    capsys.readouterr()
    spec.write_text(spec.read_text(encoding="utf-8").replace("Calls go out.", "Calls leave."), "utf-8")
    assert main(["generate", *paths]) == 0
    assert f"dlr_itnio_voice: its files changed since release {version} was built" in capsys.readouterr().err
    assert main(["check", *paths]) == 1  # the tree is current, but not releasable under that version
    assert "give specs/itnio_voice.yaml a new package.version" in capsys.readouterr().err
    assert main(["build", *paths, "--dist", str(tmp_path / "dist")]) == 1
    capsys.readouterr()
    text = re.sub(r"\npackage: \{[^}]*\}\n", "\n", spec.read_text(encoding="utf-8"))
    spec.write_text(
        text.replace("provider: itnio_voice\n", "provider: itnio_voice\npackage: {version: 9.0.1}\n")
    )
    assert main(["generate", *paths]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["check", *paths]) == 0
    assert 'version = "9.0.1"' in (out / "dlr_itnio_voice" / "pyproject.toml").read_text(encoding="utf-8")
    assert release.read_record(out)["dlr_itnio_voice"][0] == version  # until 9.0.1 is built


def test_check_names_a_black_mismatch_instead_of_only_diffing(
    small_tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    specs, out = small_tree
    manifest = out / ".dlrgen-manifest.json"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["inputs"]["tools"]["black"] = "23.1.0"
    manifest.write_text(__import__("json").dumps(data, indent=2) + "\n", encoding="utf-8")
    client = out / "dlr_itnio_voice" / "dlr_itnio_voice" / "client.py"
    client.write_text(client.read_text(encoding="utf-8").replace("    ", "  "), encoding="utf-8")
    assert main(["check", "--specs", str(specs), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "was formatted by black 23.1.0 and this environment has black" in err
