"""Every Python example in the README, the docs, the runtime's README and every generated
README runs against the provider mock (in process, through ``dlr_core.testing``) and passes
``mypy --strict``: an example a user copies works as written."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    GENERATED,
    ROOT,
    RUNTIME,
    catalog_providers,
    credential_test_value,
    serve_every_client_from,
)
from dlr_core.mock import MockProvider
from dlr_core.testing import MockTransport
from dlr_core.wire import xml_body

SOURCES = [ROOT / "README.md", ROOT / "runtime" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SOURCES += sorted(GENERATED.glob("dlr_*/README.md"))
# Where the README says `dlrgen mock` listens; an example using it is run against a real mock.
MOCK_URL = "http://127.0.0.1:8080"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _examples() -> Iterator[tuple[str, str]]:
    for source in SOURCES:
        for number, match in enumerate(FENCE.finditer(source.read_text(encoding="utf-8")), 1):
            yield f"{source.relative_to(ROOT)}#{number}", match.group(1)


EXAMPLES = list(_examples())
PROVIDERS = {p.package: p for p in catalog_providers()}


def test_the_examples_are_found() -> None:
    assert len(EXAMPLES) >= 2 * len(PROVIDERS) + 4


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_the_example_runs_against_the_mock(
    where: str, code: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with contextlib.ExitStack() as stack:
        _run_example(where, code, monkeypatch, capsys, stack)


def test_the_readme_points_every_kind_of_client_at_dlrgen_mock() -> None:
    """The mock section shows base_url= for the sync client, the async one and the aiohttp
    transport, in one example that runs against a real mock (above)."""
    pointed = [code for where, code in EXAMPLES if where.startswith("README.md#") and MOCK_URL in code]
    assert len(pointed) == 1
    [code] = pointed
    assert "Client(" in code and "async with AsyncClient(" in code and 'transport="aiohttp"' in code
    assert code.count("base_url=MOCK_URL") == 3


def _run_example(
    where: str,
    code: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stack: contextlib.ExitStack,
) -> None:
    packages = sorted(set(re.findall(r"\b(dlr_(?!core\b)[a-z0-9_]+)", code)) & set(PROVIDERS))
    assert len(packages) <= 1, f"{where}: one provider per example"
    pulls = bool(packages) and bool(PROVIDERS[packages[0]].operations)  # push-only: no API to mock
    if pulls:
        provider = PROVIDERS[packages[0]]
        api = importlib.import_module(provider.package).API
        from_env = "from_env(" in code
        credentials: dict[str, str] = {}
        for credential in provider.auth.credentials:
            value = credential_test_value(credential.name, credential.format)
            credentials[credential.name] = value if from_env else "..."
            monkeypatch.setenv(credential.env[0], value)
        if from_env:  # only the default scheme's credentials, as a deployment sets them
            default = next(s for s in provider.auth.schemes if s.name == provider.auth.default_scheme)
            for credential in provider.auth.credentials:
                if credential.name not in default.credentials and credential.name not in api.credentials:
                    monkeypatch.delenv(credential.env[0])
        if MOCK_URL in code:  # pointed at `dlrgen mock`: a real mock, on a free port, takes its place
            for name in credentials:
                given = re.search(rf'\b{name}="([^"]*)"', code)
                credentials[name] = given.group(1) if given else credentials[name]
            served = MockProvider(api, credentials, max_clock_skew=None)
            stack.enter_context(served)
            code = code.replace(MOCK_URL, served.base_url)
            mock = served
        else:
            mock = MockTransport(api, credentials, max_clock_skew=None)
            serve_every_client_from(mock, monkeypatch)
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(code, where, "exec"), namespace)  # noqa: S102 - our own documentation
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value(MockTransport)  # what the dlr_mock fixture gives
        elif name in ("receipts_from", "answer_from") and pulls:
            provider = PROVIDERS[packages[0]]
            operation = provider.receipts_operation or provider.operations[0]
            spec = next(o for o in api.operations if o.name == operation.name)
            # A spec need not document an example answer: then what the mock answers.
            answer = spec.example if spec.example is not None else mock._mock._success({})
            if spec.format == "xml":  # the answer as the provider writes it: XML
                result = value(xml_body.encode_document(spec.xml_root, answer).decode("utf-8"))
            else:
                result = value(json.dumps(answer))
            assert result is not None
    if pulls and "fetch_receipts(" in code and "dlr_mock" not in code:
        assert mock.requests and all(r.authenticated and r.status == 200 for r in mock.requests), where
        assert capsys.readouterr().out.strip(), f"{where} printed nothing"


@pytest.mark.slow  # a mypy --strict subprocess over the runtime and packages
def test_every_example_passes_mypy_strict(tmp_path: Path) -> None:
    for index, (where, code) in enumerate(EXAMPLES):
        (tmp_path / f"example_{index:03d}.py").write_text(f"# {where}\n{code}", encoding="utf-8")
    distributions = sorted(p for p in GENERATED.glob("dlr_*") if (p / "pyproject.toml").is_file())
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(RUNTIME), *map(str, distributions)])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--explicit-package-bases",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    shown = []
    for line in errors:
        file = tmp_path / line.split(":", 1)[0]
        header = file.read_text(encoding="utf-8").splitlines()[0] if file.is_file() else ""
        shown.append(f"{header[2:]}: {line}")
    assert not errors, "\n".join(shown)
