"""The generated packages: mypy --strict, installable on their own, spec text kept inert."""

from __future__ import annotations

import ast
import re
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import GENERATED, ROOT, RUNTIME, SPECS
from generator.pipeline import build


@pytest.mark.slow  # a mypy --strict subprocess over the runtime and packages
def test_mypy_strict_passes_on_generated() -> None:
    packages = sorted(p.parent for p in GENERATED.glob("dlr_*/dlr_*/__init__.py"))
    # The runtime is installed editable (an import hook mypy cannot follow): name its folder.
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(RUNTIME), *(str(p.parent) for p in packages)])}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, packages)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_provider_package_installs_and_works_without_the_generator(tmp_path: Path) -> None:
    # Build from copies: pip writes build metadata next to the sources it is given.
    sources = tmp_path / "src"
    shutil.copytree(RUNTIME, sources / "dlr_core", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    shutil.copytree(GENERATED / "dlr_sgate_otp", sources / "dlr_sgate_otp")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{sources / 'dlr_core'}[rsa]",
            str(sources / "dlr_sgate_otp"),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    script = (
        "import importlib.util, json\n"
        "assert importlib.util.find_spec('generator') is None, 'generator must not be installed'\n"
        "from dlr_sgate_otp import OtpDetail, otp_detail_receipts\n"
        "r = otp_detail_receipts(OtpDetail.model_validate({'status': 'success', 'reportstatus': 'success'}))\n"
        "print(json.dumps([x.status.value for x in r]))\n"
    )
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == '["delivered"]'


HOSTILE = '''ends with a quote" and \\ backslash and """ triple quotes'); import os; os.system("x") #'''


def test_spec_text_never_becomes_code(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    text = (SPECS / "sgate_otp.yaml").read_text(encoding="utf-8")
    escaped = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("description: Task created.}", f'description: "{escaped}"}}')
    text = text.replace("{value: create,", f'{{value: "{escaped}",')
    (specs / "sgate_otp.yaml").write_text(text, encoding="utf-8")
    files = build(specs)
    source = files["dlr_sgate_otp/dlr_sgate_otp/statuses.py"]
    tree = ast.parse(source)
    # The hostile text is only ever data: the member's value and its docstring...
    strings = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert HOSTILE in strings
    assert any(s.startswith(HOSTILE) and s.endswith("Canonical: queued.") for s in strings)
    # ...and never code: the module imports exactly what the template imports.
    imported = sorted(
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    )
    assert imported == ["DeliveryStatus", "Enum", "Final", "annotations", "lookup_raw"]
    namespace: dict[str, object] = {}
    exec(compile(source, "statuses.py", "exec"), namespace)  # noqa: S102 - the point of the test
    gateway = namespace["GatewayStatus"]
    assert gateway.parse(HOSTILE) is gateway.CREATED  # type: ignore[attr-defined]
    assert HOSTILE.replace("|", "\\|") in files["dlr_sgate_otp/README.md"]


@pytest.mark.parametrize("bad_name", ["os.system", "x; import os", "Class-Name"])
def test_names_that_are_not_identifiers_are_refused(tmp_path: Path, bad_name: str) -> None:
    from generator.pipeline import load_providers

    specs = tmp_path / "specs"
    specs.mkdir()
    text = (
        (SPECS / "sgate_otp.yaml")
        .read_text(encoding="utf-8")
        .replace("class: GatewayStatus", f"class: '{bad_name}'")
    )
    (specs / "sgate_otp.yaml").write_text(text, encoding="utf-8")
    _, problems = load_providers([specs / "sgate_otp.yaml"])
    assert any("must be a PascalCase class name" in p.message for p in problems)


def test_readme_examples_are_valid_python() -> None:
    readmes = [ROOT / "README.md", *sorted(GENERATED.glob("dlr_*/README.md"))]
    for readme in readmes:
        blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.DOTALL)
        for block in blocks:
            compile(block, str(readme), "exec")
