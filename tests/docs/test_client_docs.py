"""Every public method of every generated client documents its arguments and what it raises
(the docstring sections IDEs show): nothing a user calls is undocumented."""

from __future__ import annotations

import importlib
import inspect

import pytest

from tests.conftest import client_specs

PACKAGES = [f"dlr_{path.stem}" for path in client_specs()]


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_public_client_method_has_args_and_raises(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for client in (package.Client, package.AsyncClient):
        own = [name for name, value in vars(client).items() if callable(value) and not name.startswith("_")]
        assert own, client
        for name in own:
            if name == "from_env":
                continue
            doc = inspect.getdoc(getattr(client, name)) or ""
            parameters = [
                p for p in inspect.signature(getattr(client, name)).parameters if p not in ("self", "cls")
            ]
            assert "Raises:" in doc, f"{client.__name__}.{name}"
            if parameters:
                assert "Args:" in doc, f"{client.__name__}.{name}"
                for parameter in parameters:
                    assert f"    {parameter}: " in doc, f"{client.__name__}.{name}: {parameter}"
