"""Fixtures of the runtime's own tests. The API descriptions and the hand-written client
they use are in apis_in_code.py (see there why that is not this file)."""

from __future__ import annotations

import pytest


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
