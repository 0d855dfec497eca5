"""The runtime's contract with generated code (``dlr_core.contract``): every runtime name a
generated module uses is listed there, public and documented, and packages generated
before the contract was named still run on today's runtime."""

from __future__ import annotations

import ast
import functools
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import dlr_core
from tests.conftest import GENERATED, ROOT
from dlr_core import contract
from dlr_core.client import AsyncClientBase, SyncClientBase

BEFORE_CONTRACT = ROOT / "tests" / "fixtures" / "generated_before_contract"
CLIENT_BASE_ATTRIBUTES = frozenset(dir(SyncClientBase)) | frozenset(dir(AsyncClientBase))


def _generated_modules() -> list[Path]:
    modules = sorted(GENERATED.glob("dlr_*/dlr_*/*.py"))
    modules += sorted((ROOT / "tests" / "cases").glob("*/expected/**/*.py"))
    return modules


def _runtime_uses(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """``(where, name)`` for every runtime name the module uses: ``("dlr_core.client",
    "ApiSpec")`` for an import, ``("signing", "Scheme")`` for a name reached through an
    imported runtime module, ``("self", "dlr_call")`` for an attribute of the clients' bases
    used on ``self`` or set in a client's class body."""
    modules: dict[str, str] = {}  # local name -> runtime module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "dlr_core":
            for alias in node.names:
                yield node.module, alias.name
                qualified = f"{node.module}.{alias.name}"
                if _is_module(qualified):
                    modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert not alias.name.startswith(
                    "dlr_core"
                ), "generated code imports dlr_core names with from"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in modules:
                yield modules[node.value.id], node.attr
            elif node.value.id == "self" and node.attr in CLIENT_BASE_ATTRIBUTES:
                yield "self", node.attr
        elif isinstance(node, ast.ClassDef) and any(
            isinstance(base, ast.Name) and base.id in ("SyncClientBase", "AsyncClientBase")
            for base in node.bases
        ):
            for statement in node.body:
                targets: list[ast.expr] = (
                    statement.targets
                    if isinstance(statement, ast.Assign)
                    else [statement.target] if isinstance(statement, ast.AnnAssign) else []
                )
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in CLIENT_BASE_ATTRIBUTES:
                        yield "self", target.id


def _is_module(qualified: str) -> bool:
    try:
        importlib.import_module(qualified)
    except ImportError:
        return False
    return True


@functools.cache
def _uses() -> dict[tuple[str, str], list[str]]:
    """Every runtime name used by generated code and the golden cases' expected code, and
    where: read when a test first asks (a few thousand modules: not at collection, in every
    worker)."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in _generated_modules():
        for use in _runtime_uses(ast.parse(path.read_text(encoding="utf-8"))):
            found.setdefault(use, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_scan_sees_every_kind_of_use() -> None:
    """The collector finds imports, module attributes and client attributes (it cannot
    pass by finding nothing)."""
    assert ("dlr_core.client", "ApiSpec") in _uses()
    assert ("signing", "Scheme") in _uses() and ("steps", "Hmac") in _uses()
    assert ("self", "dlr_call") in _uses() and ("self", "dlr_operations") in _uses()
    assert len(_generated_modules()) > 100


def test_every_runtime_name_generated_code_uses_is_in_the_contract() -> None:
    outside = []
    for (where, name), files in sorted(_uses().items()):
        if where == "self":
            listed = name in contract.CLIENT_ATTRIBUTES
        elif where in contract.MODULE_ATTRIBUTES:
            listed = name in contract.MODULE_ATTRIBUTES[where]
        else:
            listed = name in contract.__all__ and getattr(contract, name) is getattr(
                importlib.import_module(where), name
            )
        if not listed:
            outside.append(f"{where}.{name} (in {files[0]} and {len(files) - 1} more)")
    assert not outside, "runtime names outside dlr_core.contract:\n" + "\n".join(outside)


def test_the_contract_is_public_existing_and_documented() -> None:
    readme = (ROOT / "runtime" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The contract with generated code", 1)[1]
    names = [*contract.__all__, *contract.CLIENT_ATTRIBUTES]
    names += [name for listed in contract.MODULE_ATTRIBUTES.values() for name in listed]
    for name in names:
        assert not name.startswith("_"), name
        assert f"`{name}" in section, f"{name} is not documented in runtime/README.md's contract section"
    for name in contract.__all__:
        assert hasattr(contract, name), name
    for module, listed in contract.MODULE_ATTRIBUTES.items():
        for name in listed:
            assert hasattr(getattr(contract, module), name), f"{module}.{name}"
    for name in contract.CLIENT_ATTRIBUTES:
        bases = [base for base in (SyncClientBase, AsyncClientBase) if hasattr(base, name)]
        assert bases == [SyncClientBase, AsyncClientBase] or name == "dlr_call_each", name


def test_the_old_names_are_aliases_of_the_contracts() -> None:
    for old, new in contract.DEPRECATED_CLIENT_ALIASES.items():
        assert new in contract.CLIENT_ATTRIBUTES
        for base in (SyncClientBase, AsyncClientBase):
            if old in ("_api", "_operations") or not hasattr(base, new):
                continue
            assert getattr(base, old) is getattr(base, new), f"{base.__name__}.{old}"


def test_the_contract_names_are_reserved_for_operations() -> None:
    """A spec's operation cannot take a contract attribute's name: the generator reads the
    clients' attributes (the refusal itself is tested with the reserved names)."""
    from generator.python.names import reserved

    for name in contract.CLIENT_ATTRIBUTES:
        assert reserved("client_method", name), name


BEFORE = sorted(path.name for path in BEFORE_CONTRACT.glob("dlr_*"))


def test_the_packages_generated_before_the_contract_are_old() -> None:
    """The fixture really uses the old names (a regeneration would make the next test moot)."""
    assert BEFORE == ["dlr_sgate_otp", "dlr_ucloud_usms"]
    for name in BEFORE:
        client = (BEFORE_CONTRACT / name / name / "client.py").read_text(encoding="utf-8")
        assert "self._call(" in client and "_operations = {" in client and "dlr_call" not in client


# One package in the fast tier (each is a package generated and run); the other in the slow one.
@pytest.mark.parametrize(
    "package", [p if i == 0 else pytest.param(p, marks=pytest.mark.slow) for i, p in enumerate(BEFORE)]
)
def test_a_package_generated_before_the_contract_runs_its_readme_example(package: str) -> None:
    """Imported from tests/fixtures (in a subprocess: today's package has the same name),
    its README examples run against the in-process mock, sync and async, with deprecation
    warnings turned into errors (old packages must not become noisy)."""
    readme = (BEFORE_CONTRACT / package / "README.md").read_text(encoding="utf-8")
    assert re.search(r"fetch_receipts\(", readme)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BEFORE_CONTRACT / package), str(ROOT / "tests")])}
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", _RUN_README, package],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "ran: sync" in result.stdout
        and "ran: async" in result.stdout
        and "receipts from the mock" in result.stdout
    ), result.stdout


_RUN_README = r"""
import asyncio, importlib, os, re, sys, textwrap
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dlr_core.testing import MockTransport

name = sys.argv[1]
package = importlib.import_module(name)
assert "generated_before_contract" in package.__file__, package.__file__
readme = (Path(package.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
[code] = [c for c in re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M) if "fetch_receipts(" in c]

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
credentials = {}
for credential, variables in package.API.credential_env.items():
    credentials[credential] = pem if credential in package.API.pem_credentials else credential + "-value"
    os.environ[variables[0]] = credentials[credential]
mock = MockTransport(package.API, credentials, max_clock_skew=None)


# Every httpx client goes to the mock (a sync client's own transport too: it sends each
# request in one write, dlr_core.wire.one_send).
class Client(httpx.Client):
    def __init__(self, **options):
        super().__init__(**{**options, "transport": mock})


class AsyncClient(httpx.AsyncClient):
    def __init__(self, **options):
        super().__init__(**{**options, "transport": mock})


httpx.Client, httpx.AsyncClient = Client, AsyncClient
exec(compile(code, "README.md", "exec"), {"__name__": "example"})
print("ran: sync", len(mock.requests))
# The same example with the package's AsyncClient.
asynchronous = (
    code.replace("import Client", "import AsyncClient")
    .replace("with Client.from_env()", "async with AsyncClient.from_env(http_client=mocked)")
    .replace("client.fetch_receipts(", "await client.fetch_receipts(")
)
assert asynchronous != code
namespace = {"__name__": "example", "mocked": AsyncClient()}
exec(compile("async def main():\n" + textwrap.indent(asynchronous, "    "), "README.md", "exec"), namespace)
asyncio.run(namespace["main"]())
print("ran: async", len(mock.requests))
assert len(mock.requests) >= 2, mock.requests
assert all(r.authenticated and r.status == 200 for r in mock.requests), mock.requests
print(len(mock.requests), "receipts from the mock")
"""
