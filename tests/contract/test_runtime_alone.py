"""The runtime's own tests run on the runtime alone: in a fresh venv with only
``pip install './runtime[crypto,mock,aiohttp,postgres]' pytest``, ``pytest runtime/tests`` passes,
from a folder where neither the generator nor a generated package can be imported.
(runtime/tests/test_stands_alone.py checks the same imports in the fast tier.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from tests.conftest import RUNTIME

COPY_IGNORE = shutil.ignore_patterns("*.egg-info", "__pycache__", "build", ".pytest_cache")


@pytest.mark.slow
def test_runtime_tests_pass_with_the_runtime_and_its_extras_alone(tmp_path: Path) -> None:
    # A copy: pip builds in (and may write into) the folder it installs, and the checkout is not ours.
    runtime = tmp_path / "runtime"
    shutil.copytree(RUNTIME, runtime, ignore=COPY_IGNORE)
    venv.create(tmp_path / "venv", with_pip=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    # Nothing of this process's environment leaks in: no PYTHONPATH, no active venv.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + [f"{runtime}[crypto,mock,aiohttp,postgres]", "pytest"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    # The runtime from the venv, not the copy: the tests see dlr-core as an installed user would.
    (runtime / "dlr_core").rename(tmp_path / "dlr_core-source")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import importlib.util, dlr_core\n"
        "missing = [m for m in ('generator', 'dlr_itnio_voice', 'dlr_sgate_otp')"
        " if importlib.util.find_spec(m) is not None]\n"
        "assert not missing, missing\n"
        "print(dlr_core.__file__)\n"
    )
    found = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=elsewhere, env=env)
    assert found.returncode == 0, found.stdout + found.stderr
    assert found.stdout.strip().startswith(str(tmp_path / "venv")), found.stdout

    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(runtime / "tests")],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "error" not in summary and "failed" not in summary, summary
    # Only the tests that need hypothesis (the repository's test dependency) may skip.
    skipped = re.search(r"(\d+) skipped", summary)
    reasons = re.findall(r"^SKIPPED \[(\d+)\] [^\n]*?: (.*)$", run.stdout, re.M)
    assert sum(int(count) for count, _ in reasons) == (int(skipped.group(1)) if skipped else 0), run.stdout
    assert all("hypothesis" in reason for _, reason in reasons), run.stdout[-4000:]
    assert sum(int(count) for count, _ in reasons) <= 3, run.stdout[-4000:]
