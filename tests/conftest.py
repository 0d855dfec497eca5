"""Shared test setup. The generated packages are imported straight from ``generated/``
(as checked in), so the tests exercise exactly what users install."""

from __future__ import annotations

import base64
import asyncio
import contextlib
import io
import json
import os
import shutil
import subprocess
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The in-process provider mock's fixture, dlr_mock, as users get it.
pytest_plugins = ["dlr_core.testing"]
GENERATED = ROOT / "generated"
SPECS = ROOT / "specs"
RUNTIME = ROOT / "runtime"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Generation's cache (formatted chunks, models) is the tests' own, never the user's: in
    .pytest_cache/ (ignored by git), kept between runs like pytest's own cache, so a second
    run formats only what changed. Its entries are keyed by the SHA-256 of all they depend
    on, the tools' versions included, and generated code read from it is verified like
    fresh code (generator/emit/cache.py); ``DLRGEN_CACHE_DIR`` chooses another folder.
    xdist's workers inherit it from the controller."""
    if "DLRGEN_CACHE_DIR" not in os.environ:
        folder = ROOT / ".pytest_cache" / "dlrgen"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ["DLRGEN_CACHE_DIR"] = str(folder)


for distribution in sorted(GENERATED.glob("dlr_*")):
    if str(distribution) not in sys.path:
        sys.path.insert(0, str(distribution))
# The runtime's own test helpers (API descriptions built in code, HTTP doubles) serve these
# tests too; runtime/tests itself imports nothing from here (runtime/tests/test_stands_alone.py).
if str(RUNTIME / "tests") not in sys.path:
    sys.path.append(str(RUNTIME / "tests"))


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run a client test with the sync and the async client alike."""
    return str(request.param)


def run_client(mode: str, client: Any, action: Callable[[Any], Any]) -> Any:
    """``action(client)`` in a ``with`` block (sync), or awaited in ``async with`` (async)."""
    if mode == "sync":
        with client:
            return action(client)

    async def main() -> Any:
        async with client:
            return await action(client)

    return asyncio.run(main())


def call_client(mode: str, client: Any, method: str, **kwargs: Any) -> Any:
    """``client.<method>(**kwargs)``, awaited for an async client."""
    return run_client(mode, client, lambda c: getattr(c, method)(**kwargs))


CLIENT_OPTIONS = ("base_url", "retries", "auth_scheme", "sleep")


def call_provider(mode: str, package: Any, credentials: dict[str, str], method: str, **kwargs: Any) -> Any:
    """A fresh client of ``package`` (client options taken from ``kwargs``) calls ``method``."""
    options = {key: kwargs.pop(key) for key in CLIENT_OPTIONS if key in kwargs}
    client = (package.Client if mode == "sync" else package.AsyncClient)(**credentials, **options)
    return call_client(mode, client, method, **kwargs)


def spec_data(path: Path) -> dict[str, Any]:
    """A spec as the generator reads it (its ``extends`` applied), not as raw YAML."""
    from generator.load import load_spec

    spec, problems = load_spec(path)
    assert spec is not None and not problems, problems
    return spec.data


def provider_specs() -> list[Path]:
    """Every provider's spec (``_*.yaml`` files are bases, not providers)."""
    from generator.pipeline import spec_files

    return spec_files(SPECS)


@functools.cache
def catalog_providers() -> tuple[Any, ...]:
    """Every provider of specs/ loaded and parsed once per test process (the model is
    frozen dataclasses, so tests share it): the generic tests over the catalog read it
    instead of parsing 30+ specs each."""
    from generator.pipeline import load_providers

    providers, problems = load_providers(provider_specs())
    assert not problems, problems
    return tuple(providers)


def client_specs() -> list[Path]:
    """The providers' specs whose packages have a client: a provider that only pushes its
    reports (callbacks, no operations) has none."""
    return [
        p for p in provider_specs() if (GENERATED / f"dlr_{p.stem}" / f"dlr_{p.stem}" / "client.py").is_file()
    ]


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def fixture_json() -> Any:
    return load_fixture


# Two providers (one signs with RSA, one with MD5) stand in for specs/ in tests of the CLI's
# generate, check and build: the same code paths at a fifth of the cost of all providers.
SMALL_TREE = ("itnio_voice", "sgate_otp")


@pytest.fixture(scope="session")
def _small_tree_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generator.commands.cli import main

    root = tmp_path_factory.mktemp("small_tree")
    (root / "specs").mkdir()
    for name in SMALL_TREE:
        shutil.copy(SPECS / f"{name}.yaml", root / "specs")
    assert main(["generate", "--specs", str(root / "specs"), "--out", str(root / "generated")]) == 0
    return root


@pytest.fixture
def small_tree(_small_tree_template: Path, tmp_path: Path) -> tuple[Path, Path]:
    """``(specs, generated)`` in ``tmp_path``: two providers' specs and what they generate."""
    specs, out = tmp_path / "specs", tmp_path / "generated"
    shutil.copytree(_small_tree_template / "specs", specs)
    shutil.copytree(_small_tree_template / "generated", out)
    return specs, out


def dlrgen_here(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``dlrgen <args>`` through ``generator.commands.cli.main`` in this process (no interpreter to
    start, nothing to import again), in ``cwd``, its output captured; the slow tier and the
    tests of the command line itself run the real ``dlrgen`` in a subprocess."""
    from generator.commands.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    before = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(list(args))
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["dlrgen", *args], code, stdout.getvalue(), stderr.getvalue())


def mypy_strict_errors(script: Path, *distributions: Path) -> list[str]:
    """The ``error:`` lines of ``mypy --strict`` on a user's script, with the runtime and
    these generated distributions importable."""
    import os
    import subprocess

    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(RUNTIME), *map(str, distributions)])}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    return [line for line in result.stdout.splitlines() if ": error:" in line]


@functools.cache
def credential_test_value(name: str, credential_format: str) -> str:
    """A value a test gives a credential of this ``format``: a PEM key, base64 text (a key
    the scheme decodes), or plain text."""
    if credential_format == "pem_private_key":
        return pem_private_key()
    if credential_format == "base64":
        return base64.b64encode(f"{name}-value".encode()).decode("ascii")
    return f"{name}-value"


def api_credential_format(api: Any, name: str) -> str:
    """A generated package's ``API``'s word on a credential's format."""
    if name in api.pem_credentials:
        return "pem_private_key"
    return "base64" if name in api.base64_credentials else "text"


def pem_private_key() -> str:
    """A test RSA private key (PKCS#8 PEM), for credentials of format pem_private_key; one
    per test process (generating one costs tens of milliseconds)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def sign_steps_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every push's sign steps run both compiled (``dlr_core.sign_plan``) and by the
    interpreter, an ``AssertionError`` unless both give the same values or both fail: the
    tests of a module using it prove the compiled forms equal to the interpreter."""
    from dlr_core import callback_run

    monkeypatch.setattr(callback_run, "SIGN_PATH", "compared")


def serve_every_client_from(transport: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx clients an example makes send through ``transport`` (the mock, in process),
    unless the example gives one of its own; a sync client's own transport (one write a
    request, ``dlr_core.wire.one_send``) is replaced too."""
    import httpx

    from dlr_core.wire.one_send import OneSendTransport

    def served_by(options: dict[str, Any]) -> Any:
        given = options.get("transport")
        return transport if given is None or isinstance(given, OneSendTransport) else given

    class Client(httpx.Client):
        def __init__(self, **options: Any) -> None:
            super().__init__(**{**options, "transport": served_by(options)})

    class AsyncClient(httpx.AsyncClient):
        def __init__(self, **options: Any) -> None:
            super().__init__(**{**options, "transport": served_by(options)})

    monkeypatch.setattr(httpx, "Client", Client)
    monkeypatch.setattr(httpx, "AsyncClient", AsyncClient)
