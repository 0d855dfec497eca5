"""The shell commands the READMEs give, run as written in fresh virtualenvs (slow tier): the
quick start's first step leaves every generated package importable, and a generated
README's ways to install work (from the checkout, and from wheels `dlrgen build` makes) and
leave its example runnable against `dlrgen mock`.

The commands are read from the READMEs, not restated here, so a README that goes wrong
fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import GENERATED, ROOT, SPECS
from generator.pipeline import load_providers, spec_files

# What a checkout holds that a user's copy would not (build output, caches, our venvs).
_NOT_IN_A_CHECKOUT = shutil.ignore_patterns("*.egg-info", "__pycache__", "build", "dist", ".*")
QUICK_START = re.compile(r"## Quick start\n.*?```sh\n(.*?)```", re.S)


def quick_start_commands(readme: str) -> list[str]:
    """The quick start's commands, one per step (comments dropped)."""
    match = QUICK_START.search(readme)
    assert match, "README.md has no quick start shell block"
    return [line for line in match.group(1).splitlines() if line.strip() and not line.startswith("#")]


def installing_blocks(readme: str) -> dict[str, list[str]]:
    """A generated README's install commands: ``{first comment line: commands}`` per block."""
    section = readme[readme.index("## Installing") : readme.index("## Using it")]
    blocks = {}
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        lines = block.splitlines()
        assert lines and lines[0].startswith("# "), block
        blocks[lines[0][2:]] = [line for line in lines if line.strip() and not line.startswith("#")]
    return blocks


def test_the_quick_start_is_two_commands_and_the_first_installs_the_generated_packages() -> None:
    first, second = quick_start_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "dlrgen generate" in first and "generated/dlr_*" in first and "-e " in first
    assert second.endswith(".venv/bin/pytest")


def test_a_generated_readme_shows_each_way_to_install_as_runnable_commands() -> None:
    readme = (GENERATED / "dlr_itnio_voice" / "README.md").read_text(encoding="utf-8")
    blocks = installing_blocks(readme)
    wheels = next(commands for title, commands in blocks.items() if "wheels" in title)
    assert wheels == ["dlrgen build --dist dist/", "pip install --find-links dist/ dlr-itnio-voice"]
    assert not any("--no-index" in command for commands in blocks.values() for command in commands)


def _checkout(tmp_path: Path, *parts: str) -> Path:
    """A copy of the parts of the repository the commands read, as a user's checkout."""
    checkout = tmp_path / "checkout"
    for part in parts:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, checkout / part, ignore=_NOT_IN_A_CHECKOUT)
        else:
            shutil.copy2(source, checkout / part)
    return checkout


def _shell(command: str, cwd: Path, env: dict[str, str]) -> str:
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_NO_INDEX")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
def test_after_the_quick_start_every_generated_package_imports(tmp_path: Path) -> None:
    checkout = _checkout(
        tmp_path, "runtime", "generator", "templates", "specs", "generated", "pyproject.toml", "README.md"
    )
    first, _ = quick_start_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    _shell(first, checkout, _clean_env())
    packages = sorted(p.name for p in (checkout / "generated").glob("dlr_*") if p.is_dir())
    assert packages
    script = "import " + ", ".join(packages) + "; print('ok')"
    run = subprocess.run(
        [str(checkout / ".venv" / "bin" / "python"), "-c", script],
        cwd=tmp_path,  # not the checkout: imported because installed, not because at hand
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


PROVIDER = "itnio_voice"  # the example: a provider with one auth scheme
WAYS = {"checkout": "from a checkout", "wheels": "from wheels"}  # how each block's comment starts


@pytest.mark.slow
@pytest.mark.parametrize("way", ["checkout", "wheels"])
def test_a_generated_readme_installs_as_written_and_its_example_runs_against_the_mock(
    tmp_path: Path, way: str
) -> None:
    readme = (GENERATED / f"dlr_{PROVIDER}" / "README.md").read_text(encoding="utf-8")
    commands = next(c for title, c in installing_blocks(readme).items() if title.startswith(WAYS[way]))
    checkout = _checkout(tmp_path, "runtime", "specs", "generated")
    venv.create(tmp_path / "venv", with_pip=True)
    env = _clean_env()
    # The fresh venv's pip first; dlrgen (for `dlrgen build`) is the checkout's, set up by
    # the quick start; it is not installed in the fresh venv.
    env["PATH"] = os.pathsep.join(
        [str(tmp_path / "venv" / "bin"), str(Path(sys.executable).parent), env["PATH"]]
    )
    for command in commands:
        _shell(command, checkout, env)

    provider = next(p for p in load_providers(spec_files(SPECS))[0] if p.id == PROVIDER)
    values = {credential.name: f"{credential.name}-for-the-mock" for credential in provider.auth.credentials}
    mock = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dlrgen"),
            "mock",
            PROVIDER,
            "--port",
            "0",
            *(f"--credential={name}={value}" for name, value in values.items()),
        ],
        cwd=checkout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert mock.stdout is not None
        first = mock.stdout.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", first)
        assert found, first + (mock.stderr.read() if mock.poll() is not None else "")
        # The README says: pass the mock's URL as base_url=.
        example = re.search(r"## Using it\n+```python\n(.*?)```", readme, re.S)
        assert example
        code, pointed = re.subn(  # the first client made in code (not in a comment)
            r"^([^#\n]*?\bClient(?:\.from_env)?)\(",
            rf'\1(base_url="{found.group(1)}", ',
            example.group(1),
            count=1,
            flags=re.M,
        )
        assert pointed == 1, example.group(1)
        for credential in provider.auth.credentials:
            env[credential.env[0]] = values[credential.name]
        run = subprocess.run(
            [str(tmp_path / "venv" / "bin" / "python"), "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0 and run.stdout.strip(), run.stdout + run.stderr
    finally:
        mock.terminate()
        mock.communicate(timeout=20)
