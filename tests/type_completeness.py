"""pyright's type completeness (``--verifytypes``) of the runtime and every generated
package, as a user's IDE sees them: installed (not editable) in a fresh virtualenv.

    .venv/bin/python tests/type_completeness.py      # prints a table; exit 1 under 100%

Types that come from other packages (httpx, pydantic) are not counted (``--ignoreexternal``):
their completeness is theirs to keep. Run by .ci/run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = 100.0


def completeness(python_env: Path, package: str) -> tuple[float, list[str]]:
    """The score, and the symbols pyright finds incomplete."""
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent)) or "pyright"
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(python_env),
        "PATH": f"{python_env / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    result = subprocess.run(
        [pyright, "--verifytypes", package, "--ignoreexternal", "--outputjson"],
        capture_output=True,
        text=True,
        env=env,
        cwd=python_env,
    )
    report = json.loads(result.stdout)["typeCompleteness"]
    problems = [
        f"{symbol['name']}: {diagnostic['message'].splitlines()[0]}"
        for symbol in report["symbols"]
        for diagnostic in symbol.get("diagnostics", [])
        if diagnostic.get("severity") == "error"
    ]
    return 100.0 * report["completenessScore"], problems


def install(target: Path) -> list[str]:
    """A virtualenv with the runtime and every generated package installed from copies of
    their folders (pip leaves build/ and *.egg-info behind in what it builds); returns the
    import packages."""
    venv.create(target / "venv", with_pip=True)
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests")
    sources = []
    for folder in [ROOT / "runtime", *sorted((ROOT / "generated").glob("dlr_*"))]:
        if (folder / "pyproject.toml").is_file():
            shutil.copytree(folder, target / "src" / folder.name, ignore=ignore)
            sources.append(target / "src" / folder.name)
    python = target / "venv" / "bin" / "python"
    # The runtime with its aiohttp extra: dlr_core.transports builds on httpx-aiohttp's types.
    requirements = [f"{sources[0]}[aiohttp]", *map(str, sources[1:])]
    # One build backend installed once, not an isolated environment per package (41 of them).
    subprocess.run([str(python), "-m", "pip", "install", "-q", "setuptools>=68"], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-build-isolation", *requirements], check=True
    )
    return ["dlr_core", *(p.name for p in sources[1:])]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="dlrgen-types-") as folder:
        packages = install(Path(folder))
        target = Path(folder) / "venv"
        failed = False
        print(f"{'package':32} {'completeness':>12}")
        # pyright runs one package at a time; a process per core keeps CI's minutes down.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(lambda package: completeness(target, package), packages))
        for package, (score, problems) in zip(packages, results):
            print(f"{package:32} {score:11.1f}%")
            if score < REQUIRED:
                failed = True
                for problem in problems[:20]:
                    print(f"    {problem}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
