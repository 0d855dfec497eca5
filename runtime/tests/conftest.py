"""Fixtures of the runtime's own tests. The API descriptions and the hand-written client
they use are in apis_in_code.py (see there why that is not this file)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Each test that takes ``mode`` runs with the sync client and with the async one."""
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


def _give_back_the_name_conftest(config: pytest.Config) -> None:
    # pytest imports every conftest.py outside a package as the module "conftest", the one
    # loaded last replacing the others in sys.modules. tests/ imports helpers from its
    # conftest ("from conftest import ..."), at the top of its modules and inside tests; this
    # folder's tests never do. So when `pytest` (or `pytest tests/... runtime/tests/...`)
    # loads this one last, the name goes back to the other.
    here = Path(__file__).resolve()
    if Path(getattr(sys.modules.get("conftest"), "__file__", None) or "").resolve() != here:
        return
    for plugin in config.pluginmanager.get_plugins():
        if (
            isinstance(plugin, ModuleType)
            and plugin.__name__ == "conftest"
            and Path(plugin.__file__ or "").resolve() != here
        ):
            sys.modules["conftest"] = plugin
            return


def pytest_configure(config: pytest.Config) -> None:
    """After the conftest.py files of the command line's folders are loaded, before any
    test module is imported."""
    # Declared here too for a run of this folder alone (the repository's pyproject.toml
    # declares it for the root run, and deselects it by default).
    config.addinivalue_line("markers", "slow: memory and load tests (pytest -m slow)")
    _give_back_the_name_conftest(config)


def pytest_collection_finish(session: pytest.Session) -> None:
    """When this file was loaded while collecting, after tests/'s conftest."""
    _give_back_the_name_conftest(session.config)
