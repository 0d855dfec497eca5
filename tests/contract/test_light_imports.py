"""Reading specs needs none of the runtime's heavy dependencies.

The generator reads the runtime's registries (statuses, error kinds, sign step kinds,
callback verification and token steps) from ``dlr_core``; the runtime imports pydantic,
httpx and anyio only where a receipt is built, a request sent or a push served. Loading,
checking, parsing and viewing every spec of this repository (a changed spec's whole path
before Jinja and black) then starts in a fraction of the time: this keeps it so. And the
names ``dlr_core`` imports on first use are still all there, to users and to type checkers.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import dlr_core
from generator.python import names
from tests.conftest import ROOT

HEAVY = ("anyio", "httpx", "pydantic", "pydantic_core", "sniffio")

PROBE = f"""
import json, sys
from pathlib import Path

import dlr_core, dlr_core.callbacks, dlr_core.certificates, dlr_core.tokens
from generator.pipeline import load_provider
from generator.render import provider_context

def fetches_tokens(provider):
    return any(
        "oauth2_client_credentials" in step
        for scheme in provider.auth.schemes
        for step in scheme.definition.get("sign", [])
    )


parsed, later = [], []
for path in sorted(Path("specs").glob("*.yaml")):
    provider, problems = load_provider(path)
    assert provider is not None, (path, problems)
    if fetches_tokens(provider):  # viewed after the check (see the test)
        later.append(provider)
        continue
    provider_context(provider)
    parsed.append(provider.id)
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
for provider in later:
    provider_context(provider)
    parsed.append(provider.id)
print(json.dumps({{"parsed": parsed, "heavy": heavy}}))
"""


def test_specs_are_read_parsed_and_viewed_without_pydantic_httpx_or_anyio() -> None:
    """Every spec is read and parsed, and viewed, without them; a spec whose scheme fetches an
    OAuth2 token is viewed after the check: its README names the mock's token URL as a client
    sends it, percent-encoded by httpx itself (``dlr_core.tokens.sent_path``), so that the
    mock serves the path clients ask for."""
    # The runtime's reserved names are read by importing its client (pydantic and httpx with
    # it) once per runtime source, then kept in the generation cache: warm it here, as any
    # earlier run would have, in this session's cache (tests/conftest.py), which the
    # subprocess shares through the environment.
    names._runtime_names()
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(found["parsed"]) == len(list((ROOT / "specs").glob("*.yaml"))) > 30
    assert found["heavy"] == []


@pytest.mark.parametrize("name", sorted(dlr_core.__all__))
def test_every_public_name_of_dlr_core_is_there(name: str) -> None:
    value = getattr(dlr_core, name)
    assert name in dir(dlr_core)
    if name != "__version__":
        assert getattr(value, "__name__", name) == name  # the class or function itself


def test_names_imported_on_first_use_are_the_modules_own() -> None:
    from dlr_core import PollingHints, PollResult, Receipt, RetryPolicy
    from dlr_core.polling import PollingHints as polling_hints, PollResult as poll_result
    from dlr_core.receipt import Receipt as receipt
    from dlr_core.retry import RetryPolicy as retry_policy

    assert (PollingHints, PollResult, Receipt, RetryPolicy) == (
        polling_hints,
        poll_result,
        receipt,
        retry_policy,
    )
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        dlr_core.NoSuchName  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        from dlr_core import NoSuchName  # type: ignore[attr-defined]  # noqa: F401
