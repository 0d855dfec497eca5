"""Shared test setup. The generated packages are imported straight from ``generated/``
(as checked in), so the tests exercise exactly what users install."""

from __future__ import annotations

import asyncio
import json
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

for distribution in sorted(GENERATED.glob("dlr_*")):
    if str(distribution) not in sys.path:
        sys.path.insert(0, str(distribution))


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
    from generator.loader import load_spec

    spec, problems = load_spec(path)
    assert spec is not None and not problems, problems
    return spec.data


def provider_specs() -> list[Path]:
    """Every provider's spec (``_*.yaml`` files are bases, not providers)."""
    from generator.pipeline import spec_files

    return spec_files(SPECS)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def fixture_json() -> Any:
    return load_fixture
