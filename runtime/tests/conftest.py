"""Fixtures of the runtime's own tests. The API descriptions and the hand-written client
they use are in apis_in_code.py (see there why that is not this file)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

START_POSTGRES = Path(__file__).resolve().parent / "postgres_server.sh"
"""Starts (and stops) a throwaway PostgreSQL server: CI's script, run by the fixture too."""
_schemas = itertools.count()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each test that takes ``mode`` runs with the sync client and with the async one."""
    return str(request.param)


@pytest.fixture(params=["sync", "async", "aiohttp"])
def wire_mode(request: pytest.FixtureRequest) -> str:
    """Each test that takes ``wire_mode`` (a client of its own talking to a real server) runs
    with the sync client, the async one over httpx, and the async one over aiohttp."""
    return str(request.param)


@pytest.fixture(scope="session")
def pem_private_key() -> str:
    """A test RSA private key (PKCS#8 PEM), one per test process (generating one costs
    tens of milliseconds)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pytest_configure(config: pytest.Config) -> None:
    # Declared here too for a run of this folder alone (the repository's pyproject.toml
    # declares it for the root run, and deselects it by default).
    config.addinivalue_line("markers", "slow: memory and load tests (pytest -m slow)")
    config.addinivalue_line("markers", "serial: slow tests that measure the machine: run one at a time")
    config.addinivalue_line("markers", "postgres: tests on a PostgreSQL server (slow tier)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL database for the session: ``DLR_TEST_POSTGRES_DSN`` (a
    ``postgresql://`` URL) when set, else a throwaway server started with the machine's
    binaries by postgres_server.sh (and stopped at the end). No binaries: the test fails (never a
    skip) and says how to install them."""
    given = os.environ.get("DLR_TEST_POSTGRES_DSN")
    if given:
        if urlsplit(given).scheme not in ("postgresql", "postgres"):
            pytest.fail("DLR_TEST_POSTGRES_DSN must be a postgresql:// URL (postgresql://user@host/db)")
        yield given
        return
    # A short path of its own: the server's socket is in it (socket paths are limited to ~100 bytes).
    folder = tempfile.mkdtemp(prefix="dlr-pg-")
    started = subprocess.run(["bash", str(START_POSTGRES), "start", folder], capture_output=True, text=True)
    try:
        if started.returncode == 3:
            pytest.fail(
                f"no PostgreSQL server for the postgres tests: {started.stderr.strip()}", pytrace=False
            )
        if started.returncode != 0:
            pytest.fail(f"{START_POSTGRES} start failed:\n{started.stderr}", pytrace=False)
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(START_POSTGRES), "stop", folder], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """The session's database as seen by one test: a fresh schema of its own first in the
    ``search_path`` (in the URL, so that worker processes given the URL see it too)."""
    import psycopg

    schema = f"test_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if urlsplit(postgres_server).query else "?"
    return f"{postgres_server}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.slow, pytest.mark.postgres])])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each tracker test that takes ``store_url`` runs on SQLite (a file in ``tmp_path``)
    and on PostgreSQL (a schema of its own; slow tier)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dlr.db'}"
    return str(request.getfixturevalue("postgres_url"))
