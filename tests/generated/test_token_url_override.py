"""``token_url=``: a client whose spec fetches its OAuth2 token from another host than the
API's (``https://auth.example.com/oauth2/token`` beside ``https://api.example.com``) can be
pointed at a mock or a proxy for its token too, explicitly, and never on its own.

The spec is the golden case ``sign_oauth2_cross_host_token_url``: its default scheme
fetches one token from auth.example.com, its ``partner`` scheme two, from two hosts. Here:

- with ``token_url=`` the token request goes to the URL given (one for every token step, or
  one per step by name), sync and async, ``prepare()`` included, and no request ever goes
  to the spec's token hosts; without it, ``base_url`` does not move the token request;
- the option is checked: an absolute http(s) URL without credentials, query or fragment,
  only for a scheme that fetches a token, and a mapping names only token steps;
- ``dlrgen mock`` prints the ``token_url=`` to give (``MockProvider.token_url``), which is
  what the generated README shows, and the mock serves the token path on its own port;
- slow: the generated README example runs against ``dlrgen mock`` on a real port, with the
  ``base_url`` and ``token_url`` the mock printed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from dlr_core.mock import MockProvider
from dlr_core.testing import MockTransport
from dlr_core.tokens import TokenError
from generator.python import names
from generator.commands.mock import _token_url_lines
from generator.pipeline import load_providers, provider_files
from generator.emit.writer import apply

CASE = ROOT / "tests" / "cases" / "sign_oauth2_cross_host_token_url"
CREDENTIALS = {"client_id": "id-1", "client_secret": "s3cret"}
SPEC_HOSTS = {"auth.example.com", "partner-auth.example.net"}
MOCK_TOKEN_URL = "http://mock.test/oauth2/token"  # where a test serves the token, by hand
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _generate(out: Path, provider_id: str) -> ModuleType:
    """The golden case's package, generated as ``dlr_<provider_id>``, imported."""
    text = (CASE / "specs" / "demo.yaml").read_text(encoding="utf-8")
    spec = out / "specs" / f"{provider_id}.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(text.replace("provider: demo\n", f"provider: {provider_id}\n", 1), encoding="utf-8")
    [provider], problems = load_providers([spec])
    assert not problems, problems
    apply(out / "generated", provider_files(provider))
    sys.path.insert(0, str(out / "generated" / provider.package))
    try:
        return importlib.import_module(provider.package)
    finally:
        sys.path.remove(str(out / "generated" / provider.package))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    generated = _generate(tmp_path_factory.mktemp("token_url"), "token_demo")
    yield generated
    # Only the generated package goes: a library it imported first (httpcore, a runtime module
    # imported lazily) stays, or a second copy's classes would fail other tests' isinstance checks.
    prefix = generated.__name__
    for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
        del sys.modules[name]


class Recorder:
    """An httpx transport that hands each request to the mock (in process) and keeps every
    URL asked for: what left the client, wherever it was going."""

    def __init__(self, mock: MockTransport) -> None:
        self.mock = mock
        self.urls: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        if request.url.host in SPEC_HOSTS:  # must never happen: answer so the test can say so
            return httpx.Response(599, json={"error": "reached the spec's token host"})
        request.read()
        return self.mock.handle_request(request)

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        return self(request)

    def hosts(self) -> list[str]:
        return [url.host for url in self.urls]


def _client(package: ModuleType, mode: str, recorder: Recorder, **options: Any) -> Any:
    if mode == "sync":
        return package.Client(
            **CREDENTIALS, http_client=httpx.Client(transport=httpx.MockTransport(recorder)), **options
        )
    transport = httpx.MockTransport(recorder.handle_async)
    return package.AsyncClient(**CREDENTIALS, http_client=httpx.AsyncClient(transport=transport), **options)


def _run(mode: str, client: Any, action: Callable[[Any], Any]) -> Any:
    if mode == "sync":
        with client:
            return action(client)

    async def main() -> Any:
        async with client:
            return await action(client)

    return asyncio.run(main())


# -- the client ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_with_token_url_the_token_comes_from_there_and_never_from_the_spec_host(
    package: ModuleType, mode: str
) -> None:
    recorder = Recorder(MockTransport(package.API, CREDENTIALS))
    client = _client(package, mode, recorder, base_url="http://mock.test", token_url=MOCK_TOKEN_URL)
    receipts = _run(mode, client, lambda c: c.fetch_receipts(message_id="m-1"))
    assert len(receipts) == 1  # the mock answers the get_message it authenticated
    assert [str(url) for url in recorder.urls] == [MOCK_TOKEN_URL, "http://mock.test/messages?id=m-1"]
    token_request, operation = recorder.mock.requests
    assert (token_request.method, token_request.path, token_request.status) == ("POST", "/oauth2/token", 200)
    assert operation.authenticated and operation.status == 200  # signed with the token it got


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_token_url_base_url_does_not_move_the_token_request(package: ModuleType, mode: str) -> None:
    """The spec's absolute token URL stays where it is: a base_url alone never sends the
    client secret to the host of the base_url."""
    recorder = Recorder(MockTransport(package.API, CREDENTIALS))
    client = _client(package, mode, recorder, base_url="http://mock.test", retries=0)
    with pytest.raises(TokenError, match="https://auth.example.com/oauth2/token answered HTTP 599"):
        _run(mode, client, lambda c: c.fetch_receipts(message_id="m-1"))
    assert recorder.hosts() == ["auth.example.com"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_token_url_per_step_sends_each_token_request_to_its_own(package: ModuleType, mode: str) -> None:
    recorder = Recorder(MockTransport(package.API, CREDENTIALS))
    urls = {"access_token": "http://mock.test/oauth2/token", "partner_token": "https://proxy.test/v2/token"}
    client = _client(
        package, mode, recorder, base_url="http://mock.test", auth_scheme="partner", token_url=urls
    )
    _run(mode, client, lambda c: c.get_message(message_id="m-1"))
    assert [str(url) for url in recorder.urls] == [*urls.values(), "http://mock.test/messages?id=m-1"]
    assert recorder.mock.requests[-1].authenticated  # both tokens, as the mock issued them


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_one_token_url_serves_every_token_step_of_the_scheme(package: ModuleType, mode: str) -> None:
    recorder = Recorder(MockTransport(package.API, CREDENTIALS))
    client = _client(
        package, mode, recorder, base_url="http://mock.test", auth_scheme="partner", token_url=MOCK_TOKEN_URL
    )
    with pytest.raises(TokenError, match="http://mock.test/oauth2/token answered HTTP 401"):
        # The mock serves partner_token at /v2/token: at /oauth2/token its form credentials
        # are refused, but the request went where it was told, not to the spec's host.
        _run(mode, client, lambda c: c.get_message(message_id="m-1", retries=0))
    assert recorder.hosts() == ["mock.test", "mock.test"]


def test_prepare_fetches_the_token_from_token_url_sync(package: ModuleType) -> None:
    recorder = Recorder(MockTransport(package.API, CREDENTIALS))
    client = _client(package, "sync", recorder, base_url="http://mock.test", token_url=MOCK_TOKEN_URL)
    with client:
        request = client.prepare("get_message", message_id="m-1")
    assert recorder.hosts() == ["mock.test"]  # the token request only: prepare() sends nothing else
    assert request.url == "http://mock.test/messages?id=m-1"
    token = request.headers["Authorization"].removeprefix("Bearer ")
    assert recorder.mock._mock._tokens.valid(_step(package, "oauth2", "access_token"), token)


def test_prepare_uses_the_token_an_async_client_fetched_from_token_url(package: ModuleType) -> None:
    recorder = Recorder(MockTransport(package.API, CREDENTIALS))
    client = _client(package, "async", recorder, base_url="http://mock.test", token_url=MOCK_TOKEN_URL)

    async def main() -> tuple[httpx.Request, str]:
        async with client:
            await client.get_message(message_id="m-1")
            return (
                client.prepare("get_message", message_id="m-2"),
                recorder.mock.requests[-1].headers["authorization"],
            )

    request, sent = asyncio.run(main())
    assert request.headers["Authorization"] == sent  # the token fetched from token_url
    assert recorder.hosts() == ["mock.test", "mock.test"]


def _step(package: ModuleType, scheme: str, name: str) -> Any:
    from dlr_core.signing import Scheme

    read = Scheme.from_data(package.API.auth_schemes[scheme])
    return next(bound.step for bound in read.sign if bound.name == name)


@pytest.mark.parametrize(
    ("token_url", "message"),
    [
        ("127.0.0.1:8080/oauth2/token", "token_url: an absolute http:// or https:// URL"),
        ("/oauth2/token", "token_url: an absolute http:// or https:// URL"),
        ("ftp://mock.test/token", "token_url: an absolute http:// or https:// URL"),
        ("http:///token", "token_url: an absolute http:// or https:// URL"),
        ("http://mock.test/token?x=1", "token_url: a URL without a query or fragment"),
        ("http://mock.test/token#x", "token_url: a URL without a query or fragment"),
        (b"http://mock.test/token", "token_url: a URL, or a URL per token step .*not a bytes"),
        ({"access_token": 8080}, r"token_url\[.access_token.\]: an absolute http.*not a int"),
        (["http://mock.test/token"], "token_url: a URL, or a URL per token step .*not a list"),
        ({}, "token_url: an empty mapping"),
        ({"acess_token": MOCK_TOKEN_URL}, "'acess_token' is not a token step .*it has: access_token"),
        ({"access_token": "mock.test/token"}, r"token_url\['access_token'\]: an absolute http"),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_token_url_is_checked(package: ModuleType, mode: str, token_url: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _client(package, mode, Recorder(MockTransport(package.API, CREDENTIALS)), token_url=token_url)


def test_a_token_url_holding_a_password_is_refused_without_showing_it(package: ModuleType) -> None:
    with pytest.raises(ValueError, match="without a user name or password") as caught:
        package.Client(**CREDENTIALS, token_url="http://user:hunter2@mock.test/oauth2/token")
    assert "hunter2" not in str(caught.value)


def test_token_url_is_refused_where_no_token_is_fetched(package: ModuleType) -> None:
    class Signer:
        def sign(self, request: Any, variables: Any) -> None:
            pass

    with pytest.raises(ValueError, match=r"token_url: the client fetches no token \(a signer= replaces"):
        package.Client(**CREDENTIALS, signer=Signer(), token_url=MOCK_TOKEN_URL)


def test_no_credential_can_be_named_like_a_constructor_argument(package: ModuleType) -> None:
    """Every argument of both generated constructors (but the credentials) is reserved."""
    import inspect

    for client in (package.Client, package.AsyncClient):
        arguments = set(inspect.signature(client.__init__).parameters) - set(CREDENTIALS)
        assert arguments <= names.CLIENT_ARGUMENTS, arguments - names.CLIENT_ARGUMENTS
    assert names.reserved("credential", "token_url") == "an argument of the client constructor"


# -- the mock and the README ---------------------------------------------------------------


def test_the_mock_serves_a_cross_host_token_path_and_says_which_token_url_to_give(
    package: ModuleType,
) -> None:
    with MockProvider(package.API, CREDENTIALS) as mock:
        origin = mock.base_url
        assert mock.token_url() == f"{origin}/oauth2/token"
        assert mock.token_url("partner") == {
            "access_token": f"{origin}/oauth2/token",
            "partner_token": f"{origin}/v2/token",
        }
        assert _token_url_lines(mock, package.API) == [
            f"  token_url (auth_scheme oauth2) = {origin}/oauth2/token",
            f'  token_url (auth_scheme partner) = {{"access_token": "{origin}/oauth2/token", '
            f'"partner_token": "{origin}/v2/token"}}',
        ]
        for scheme, options in [("oauth2", {}), ("partner", {"auth_scheme": "partner"})]:
            with package.Client(
                **CREDENTIALS, base_url=mock.base_url, token_url=mock.token_url(scheme), **options
            ) as client:
                assert client.fetch_receipts(message_id="m-1")
        assert [(r.path, r.status) for r in mock.requests] == [
            ("/oauth2/token", 200),
            ("/messages", 200),
            ("/oauth2/token", 200),
            ("/v2/token", 200),
            ("/messages", 200),
        ]


@pytest.mark.parametrize("token_url", ["https://auth.example.com/o auth/t%C3%B6k én", "/o auth/t%C3%B6k én"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_token_path_with_spaces_and_escapes_is_served_where_the_client_asks(
    package: ModuleType, mode: str, token_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mock serves the path as a client sends it (percent-encoded as httpx does, an
    escape kept), absolute or relative; a relative one is no longer sent unencoded."""
    scheme = package.API.auth_schemes["oauth2"]
    [bound] = scheme.sign
    moved = dataclasses.replace(bound, step=dataclasses.replace(bound.step, token_url=token_url))
    schemes = {**package.API.auth_schemes, "oauth2": dataclasses.replace(scheme, sign=(moved,))}
    api = dataclasses.replace(package.API, auth_schemes=schemes)
    monkeypatch.setattr(sys.modules[f"{package.__name__}.client"], "API", api)
    with MockProvider(api, CREDENTIALS) as mock:
        assert mock.token_url() == f"{mock.base_url}/o%20auth/t%C3%B6k%20%C3%A9n"
        options = {"token_url": mock.token_url()} if token_url.startswith("https:") else {}
        client = (package.Client if mode == "sync" else package.AsyncClient)(
            **CREDENTIALS, base_url=mock.base_url, **options
        )
        _run(mode, client, lambda c: c.get_message(message_id="m-1"))
        assert [(r.path, r.status) for r in mock.requests] == [
            ("/o%20auth/t%C3%B6k%20%C3%A9n", 200),
            ("/messages", 200),
        ]


def test_the_readme_shows_the_token_url_the_mock_prints(package: ModuleType) -> None:
    readme = (Path(package.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    with MockProvider(package.API, CREDENTIALS, port=0) as mock:
        served = mock.base_url
        shown = {
            "oauth2": str(mock.token_url()).replace(served, "http://127.0.0.1:8080"),
            "partner": '{"access_token": "http://127.0.0.1:8080/oauth2/token", '
            '"partner_token": "http://127.0.0.1:8080/v2/token"}',
        }
    assert f'`token_url="{shown["oauth2"]}"`' in readme
    assert f'`token_url={shown["partner"]}` (with `auth_scheme="partner"`)' in readme


@pytest.mark.slow
def test_the_readme_example_runs_against_dlrgen_mock_with_the_token_url_it_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = set(sys.modules)
    try:
        package = _generate(tmp_path, "token_slow")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "generator",
                "mock",
                "token_slow",
                "--port",
                "0",
                "--out",
                str(tmp_path / "generated"),
                "--specs",
                str(tmp_path / "specs"),
                *(f"--credential={name}={value}" for name, value in CREDENTIALS.items()),
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert server.stdout is not None
            printed = [server.stdout.readline() for _ in range(5)]
            banner = re.search(r"token_slow on (http://127\.0\.0\.1:\d+)", printed[0])
            assert banner, "".join(printed) + (server.stderr.read() if server.poll() is not None else "")
            base_url = banner.group(1)
            token_url = re.search(r"^  token_url \(auth_scheme oauth2\) = (\S+)$", "".join(printed), re.M)
            assert token_url, printed
            assert token_url.group(1) == f"{base_url}/oauth2/token"
            readme = (Path(package.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
            example = next(c for c in FENCE.findall(readme) if "fetch_receipts(" in c)
            code = example.replace(
                ".from_env()", f'.from_env(base_url="{base_url}", token_url="{token_url.group(1)}")'
            )
            assert base_url in code
            for name, value in CREDENTIALS.items():
                monkeypatch.setenv(f"DEMO_{name.upper()}", value)
            printed_receipts: list[str] = []
            namespace: dict[str, Any] = {
                "__name__": "example",
                "print": lambda *a: printed_receipts.append(a),
            }
            exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - generated documentation
            assert printed_receipts
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=20)
    finally:
        for name in [n for n in sys.modules if n not in saved and n.split(".")[0] == "dlr_token_slow"]:
            del sys.modules[name]
