"""Sign steps for SigV4-style, JWT and OAuth2 client-credentials schemes, each proven by a
spec under test (tests/fixtures/auth/*.yaml, generated into a temporary folder) and, where
one is published, by the publication's worked example: expected values are copied from
the publications (named per test), never produced by this code."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from dlr_core import steps
from dlr_core.request import PreparedRequest
from dlr_core.signing import Signer
from dlr_core.tokens import TokenError

from tests.conftest import FIXTURES, run_client
from tests.generator.test_spec_features import cleanup_modules, generate_package  # noqa: F401 - a fixture

AUTH_SPECS = FIXTURES / "auth"


def package_of(tmp_path: Path, name: str) -> ModuleType:
    return generate_package(tmp_path, name, (AUTH_SPECS / f"{name}.yaml").read_text(encoding="utf-8"))


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- SigV4 ------------------------------------------------------------------------------


def test_sigv4_aws_published_example(tmp_path: Path, cleanup_modules: None) -> None:
    """AWS General Reference, "Signature Version 4 signing process" (Tasks 1-4): IAM
    ListUsers, GET https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08,
    Content-Type application/x-www-form-urlencoded; charset=utf-8, 20150830T123600Z,
    us-east-1, iam, AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY."""
    package = package_of(tmp_path, "sigv4_example")
    moment = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)
    client = package.Client(
        access_key_id="AKIDEXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        clock=lambda: moment,
    )
    with client:
        request = client.prepare("list_users")
    assert str(request.url) == "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
    assert request.headers["X-Amz-Date"] == "20150830T123600Z"
    assert request.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_sigv4_published_intermediate_values() -> None:
    """The same example's published canonical-request hash (Task 1) and derived signing
    key (Task 3), from the scheme's steps."""
    import yaml

    scheme = yaml.safe_load((AUTH_SPECS / "sigv4_example.yaml").read_text())["auth"]["schemes"]["sigv4"]
    request = PreparedRequest(
        "GET", "https://iam.amazonaws.com", "/", query=[("Action", "ListUsers"), ("Version", "2010-05-08")]
    )
    values = Signer(
        scheme,
        {
            "access_key_id": "AKIDEXAMPLE",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "region": "us-east-1",
            "service": "iam",
        },
        clock=lambda: datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc),
    ).sign(request)
    canonical = str(values["canonical_request"]).encode()
    assert hashlib.sha256(canonical).hexdigest() == (
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    )
    assert values["scope"] == "20150830/us-east-1/iam/aws4_request"
    assert isinstance(values["signing_key"], bytes)
    assert values["signing_key"].hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


# -- a base64-decoded HMAC key and an HTTP-date header ---------------------------------------

# Azure SDK for Python, azure-communication-identity, tests/test_hmac.py (HMACTest): the
# access key "pw==", x-ms-date "Wed, 13 Apr 2022 18:09:12 GMT", GET requests to
# https://contoso.communicationservices.azure.com and the published Authorization values.
ACS_KEY = "pw=="
ACS_MOMENT = datetime(2022, 4, 13, 18, 9, 12, tzinfo=timezone.utc)
ACS_DATE = "Wed, 13 Apr 2022 18:09:12 GMT"
ACS_VECTORS = [
    ("/", [], "88MDmJhUR3m5QhFxb8ztShsSwlGrg7g/6XPnWf7QEO4="),
    ("/testPath", [], "RoCrHjw7fb9fpHSbqvRUY2xa8RBS0YvI1cxI1x8AS38="),
    ("/testPath", [("testQuery", "yes")], "il99+rd6V5O136roX/zVePCNle78HmvC4B7tu9zRH3I="),
]


@pytest.mark.parametrize(("path", "query", "signature"), ACS_VECTORS)
def test_base64_key_and_http_date_reproduce_the_azure_sdk_vectors(
    path: str, query: list[tuple[str, str]], signature: str
) -> None:
    import yaml

    spec = yaml.safe_load((AUTH_SPECS / "hmac_base64_key_example.yaml").read_text())
    scheme = spec["auth"]["schemes"]["hmac_sha256"]
    request = PreparedRequest("GET", "https://contoso.communicationservices.azure.com", path, query=query)
    values = Signer(scheme, {"access_key": ACS_KEY}, clock=lambda: ACS_MOMENT).sign(request)
    assert values["timestamp"] == ACS_DATE
    assert request.headers["x-ms-date"] == ACS_DATE
    # The base64 SHA-256 of an empty body (the SDKs' "x-ms-content-sha256" of a GET).
    empty_body_hash = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    assert request.headers["x-ms-content-sha256"] == empty_body_hash
    assert request.headers["Authorization"] == (
        f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
    )


def test_base64_key_spec_signs_the_published_request_and_the_mock_accepts_it(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    from dlr_core.testing import MockTransport

    package = package_of(tmp_path, "hmac_base64_key_example")
    client = package.Client(access_key=ACS_KEY, clock=lambda: ACS_MOMENT)
    with client:
        request = client.prepare("get_test_path", test_query="yes")
    assert str(request.url) == "https://contoso.communicationservices.azure.com/testPath?testQuery=yes"
    assert request.headers["x-ms-date"] == ACS_DATE
    assert request.headers["Authorization"].endswith(f"Signature={ACS_VECTORS[2][2]}")

    # The mock re-signs what it receives with the request's own HTTP date and the decoded key.
    from dlr_core import AuthenticationError

    for mock_key, accepted in ((ACS_KEY, True), ("cHc9PQ==", False)):  # the right key, another
        mock = MockTransport(package.API, {"access_key": mock_key})
        if mode == "sync":
            client = mock.client(package.Client, access_key=ACS_KEY, retries=0)
        else:
            client = mock.async_client(package.AsyncClient, access_key=ACS_KEY, retries=0)
        if accepted:
            answer = run_client(mode, client, lambda c: c.get_test_path(test_query="yes"))
            assert str(answer.state) == "ok"
        else:
            with pytest.raises(AuthenticationError):
                run_client(mode, client, lambda c: c.get_test_path(test_query="yes"))
        assert mock.requests[-1].authenticated is accepted


def test_a_key_that_is_not_base64_is_a_signing_error_that_does_not_show_it() -> None:
    from dlr_core.signing import SigningError

    scheme = {
        "description": "x",
        "sign": [
            {
                "as": "signature",
                "hmac": {"algorithm": "sha256", "key": "{key|base64_decode}", "input": "x", "output": "hex"},
            }
        ],
    }
    request = PreparedRequest("GET", "https://api.example.com", "/")
    with pytest.raises(SigningError, match="not base64") as caught:
        Signer(scheme, {"key": "not base64 secret!"}, clock=lambda: ACS_MOMENT).sign(request)
    assert "secret" not in str(caught.value)
    # Unpadded base64 (as some consoles show keys) decodes too.
    values = Signer(
        {
            **scheme,
            "sign": [{**scheme["sign"][0], "hmac": {**scheme["sign"][0]["hmac"], "output": "base64"}}],
        },
        {"key": "pw"},
        clock=lambda: ACS_MOMENT,
    ).sign(request)
    assert values["signature"] == steps.output(
        hmac.new(base64.b64decode("pw=="), b"x", hashlib.sha256).digest(), "base64"
    )


# -- JWT --------------------------------------------------------------------------------

# RFC 7515 Appendix A.1: the JWS Protected Header's octets as published (CRLF and a space
# between the members), the payload's, the HMAC key (a JWK "k") and the signature.
RFC7515_A1_HEADER = bytes(
    [123, 34, 116, 121, 112, 34, 58, 34, 74, 87, 84, 34, 44, 13, 10, 32]
    + [34, 97, 108, 103, 34, 58, 34, 72, 83, 50, 53, 54, 34, 125]
)
RFC7515_A1_PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'
RFC7515_A1_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
RFC7515_A1_SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def test_jws_hs256_rfc7515_appendix_a1() -> None:
    """RFC 7515 A.1 (also RFC 7519 section 3.1's JWT): base64url without padding and the
    HS256 signature of the exact published signing input."""
    header = steps.base64url(RFC7515_A1_HEADER)
    payload = steps.base64url(RFC7515_A1_PAYLOAD)
    assert header == "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    assert payload == (
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    )
    signature = steps.jws_signature("HS256", b64url_decode(RFC7515_A1_KEY), f"{header}.{payload}".encode())
    assert steps.base64url(signature) == RFC7515_A1_SIGNATURE


def test_jwt_spec_sends_a_valid_hs256_token(tmp_path: Path, cleanup_modules: None) -> None:
    package = package_of(tmp_path, "jwt_example")
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    secret = "a-shared-secret-of-some-length"
    client = package.Client(issuer="acme", key_id="k1", jwt_secret=secret, clock=lambda: moment)
    with client:
        request = client.prepare("get_message", message_id="m1")
    scheme, token = request.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    header, claims, signature = token.split(".")
    assert "=" not in token
    assert json.loads(b64url_decode(header)) == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    now = int(moment.timestamp())
    assert json.loads(b64url_decode(claims)) == {
        "iss": "acme",
        "aud": "api.example.com",
        "iat": now,
        "exp": now + 300,
    }
    expected = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert b64url_decode(signature) == expected


def test_jwt_rs256_verifies_with_the_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    scheme = {
        "description": "RS256",
        "sign": [
            {
                "as": "token",
                "jwt": {"algorithm": "RS256", "key": "{pem}", "claims": [{"key": "sub", "value": "x"}]},
            }
        ],
        "attach": {"header": {"Authorization": "Bearer {token}"}},
    }
    request = PreparedRequest("GET", "https://api.example.com", "/")
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    Signer(scheme, {"pem": pem}, clock=lambda: moment).sign(request)
    header, claims, signature = request.headers["Authorization"].removeprefix("Bearer ").split(".")
    assert json.loads(b64url_decode(header)) == {"alg": "RS256", "typ": "JWT"}
    assert json.loads(b64url_decode(claims)) == {"sub": "x", "iat": int(moment.timestamp())}
    key.public_key().verify(
        b64url_decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    with pytest.raises(InvalidSignature):
        key.public_key().verify(
            b64url_decode(signature), f"{header}.{claims}x".encode(), padding.PKCS1v15(), hashes.SHA256()
        )


# -- OAuth2 client credentials ------------------------------------------------------------

CLIENT_ID = "sms-reader"
CLIENT_SECRET = "s3cret-client-secret-value"


class TokenServer:
    """A token endpoint and an API on 127.0.0.1, written from RFC 6749 (4.4, 2.3.1, 5.1)."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.token_requests: list[dict[str, Any]] = []
        self.api_tokens: list[str] = []
        self.token_status = 200
        self.echo_token = False
        self.lock = threading.Lock()
        self.url = ""


@contextmanager
def token_server() -> Iterator[TokenServer]:
    state = TokenServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            if self.path != "/oauth2/token":
                return self._send(404, {})
            from urllib.parse import parse_qs, unquote_plus

            form = {k: v[0] for k, v in parse_qs(body).items()}
            user, _, password = (
                base64.b64decode(self.headers["Authorization"].split(" ")[1]).decode().partition(":")
            )
            with state.lock:
                state.token_requests.append({"form": form, "user": unquote_plus(user)})
                if state.token_status != 200:
                    return self._send(state.token_status, {"error": "invalid_client", "hint": CLIENT_SECRET})
                ok = (
                    form == {"grant_type": "client_credentials", "scope": "sms.read"}
                    and unquote_plus(user) == CLIENT_ID
                    and unquote_plus(password) == CLIENT_SECRET
                )
                if not ok:
                    return self._send(401, {"error": "invalid_client"})
                token = f"access-token-number-{len(state.issued) + 1}"
                state.issued.append(token)
            self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

        def do_GET(self) -> None:  # noqa: N802
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            with state.lock:
                state.api_tokens.append(token)
                valid = bool(state.issued) and token == state.issued[-1]
            if state.echo_token:
                return self._send(400, {"error": f"refused Authorization: Bearer {token}"})
            self._send(200 if valid else 401, {"state": "ok"} if valid else {"error": "bad token"})

        def _send(self, status: int, answer: dict[str, Any]) -> None:
            content = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def oauth2_client(package: ModuleType, mode: str, server: TokenServer, clock: Clock) -> Any:
    cls = package.Client if mode == "sync" else package.AsyncClient
    return cls(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=server.url, clock=clock, retries=0)


def test_oauth2_token_is_fetched_once_cached_and_refreshed_before_expiry(
    tmp_path: Path, cleanup_modules: None, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    package = package_of(tmp_path, "oauth2_example")
    clock = Clock()
    caplog.set_level(logging.DEBUG)
    with token_server() as server:
        client = oauth2_client(package, mode, server, clock)
        shown = [repr(client)]

        async def calls_async(c: Any, times: int) -> list[Any]:
            return [await c.get_message(message_id=f"m{i}") for i in range(times)]

        def calls(c: Any, times: int) -> Any:
            if mode == "sync":
                return [c.get_message(message_id=f"m{i}") for i in range(times)]
            return calls_async(c, times)

        def scenario(c: Any) -> Any:
            if mode == "sync":
                results = calls(c, 3)
                assert len(server.issued) == 1  # fetched once, then reused
                clock.now += timedelta(seconds=3600 - 61)  # still more than the margin left
                results += calls(c, 1)
                assert len(server.issued) == 1
                clock.now += timedelta(seconds=2)  # within refresh_margin (60 s) of expiry
                results += calls(c, 2)
                shown.append(repr(c))
                return results

            async def run() -> Any:
                results = await calls(c, 3)
                assert len(server.issued) == 1
                clock.now += timedelta(seconds=3600 - 61)
                results += await calls(c, 1)
                assert len(server.issued) == 1
                clock.now += timedelta(seconds=2)
                results += await calls(c, 2)
                shown.append(repr(c))
                return results

            return run()

        results = run_client(mode, client, scenario)
    assert [str(r.state) for r in results] == ["ok"] * 6
    assert server.issued == ["access-token-number-1", "access-token-number-2"]
    assert server.api_tokens == ["access-token-number-1"] * 4 + ["access-token-number-2"] * 2
    assert [r["user"] for r in server.token_requests] == [CLIENT_ID, CLIENT_ID]
    everything = caplog.text + "".join(shown)
    for secret in [CLIENT_SECRET, *server.issued]:
        assert secret not in everything


def test_oauth2_token_is_fetched_once_by_concurrent_callers(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    package = package_of(tmp_path, "oauth2_example")
    with token_server() as server:
        client = oauth2_client(package, mode, server, Clock())
        if mode == "sync":
            with client:
                threads = [
                    threading.Thread(target=client.get_message, kwargs={"message_id": str(i)})
                    for i in range(8)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        else:

            async def main() -> None:
                async with client:
                    await asyncio.gather(*(client.get_message(message_id=str(i)) for i in range(8)))

            asyncio.run(main())
    assert len(server.issued) == 1
    assert server.api_tokens == ["access-token-number-1"] * 8


def test_oauth2_token_errors_name_the_endpoint_never_the_secret(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    package = package_of(tmp_path, "oauth2_example")
    with token_server() as server:
        server.token_status = 401
        client = oauth2_client(package, mode, server, Clock())
        with pytest.raises(TokenError) as caught:
            run_client(mode, client, lambda c: c.get_message(message_id="m1"))
    message = str(caught.value) + repr(caught.value)
    assert "HTTP 401 (invalid_client)" in message and "/oauth2/token" in message
    assert CLIENT_SECRET not in message
    assert server.api_tokens == []  # nothing was sent without a token


def test_oauth2_token_request_is_never_redirected() -> None:
    """The token request goes to token_url only: a redirect elsewhere is an error."""
    from dlr_core.signing import Scheme
    from dlr_core.tokens import TokenKeeper

    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/steal"})

    scheme = Scheme.from_data(
        {
            "description": "x",
            "sign": [
                {
                    "as": "token",
                    "oauth2_client_credentials": {
                        "token_url": "https://auth.example.com/oauth2/token",
                        "client_id": "{client_id}",
                        "client_secret": "{client_secret}",
                        "client_auth": "form",
                    },
                }
            ],
        }
    )
    keeper = TokenKeeper(
        scheme,
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        base_url="https://api.example.com",
        clock=Clock(),
    )
    with httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True) as http:
        with pytest.raises(TokenError, match="HTTP 302"):
            keeper.ensure(http)
    assert sent == ["https://auth.example.com/oauth2/token"]
    assert CLIENT_SECRET not in repr(keeper)


def test_a_fetched_token_is_scrubbed_from_errors(tmp_path: Path, cleanup_modules: None, mode: str) -> None:
    from dlr_core import ProviderError

    package = package_of(tmp_path, "oauth2_example")
    with token_server() as server:
        server.echo_token = True
        client = oauth2_client(package, mode, server, Clock())
        with pytest.raises(ProviderError) as caught:
            run_client(mode, client, lambda c: c.get_message(message_id="m1"))
    [token] = server.issued
    shown = str(caught.value) + repr(caught.value) + str(caught.value.raw_body)
    assert "refused Authorization: Bearer" in shown and token not in shown


def test_a_refused_token_is_fetched_anew_and_the_call_repeated(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    """A token the server revoked before its expiry: the 401 drops it, and the call is
    repeated once with a new one (tests/generated/test_client_correctness.py has the rest)."""
    package = package_of(tmp_path, "oauth2_example")
    with token_server() as server:
        client = oauth2_client(package, mode, server, Clock())

        def scenario(c: Any) -> Any:
            async def run() -> Any:
                await c.get_message(message_id="m1")
                server.issued.append("revoked-by-the-server")  # the cached token is no longer valid
                return await c.get_message(message_id="m2")

            if mode == "async":
                return run()
            c.get_message(message_id="m1")
            server.issued.append("revoked-by-the-server")
            return c.get_message(message_id="m2")

        assert str(run_client(mode, client, scenario).state) == "ok"
    assert server.api_tokens == ["access-token-number-1", "access-token-number-1", "access-token-number-3"]


def test_a_token_request_without_answer_is_a_transport_error() -> None:
    from dlr_core import TransportError
    from dlr_core.signing import Scheme
    from dlr_core.tokens import TokenKeeper

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    scheme = Scheme.from_data(
        {
            "sign": [
                {
                    "as": "token",
                    "oauth2_client_credentials": {
                        "token_url": "/oauth2/token",
                        "client_id": "{client_id}",
                        "client_secret": "{client_secret}",
                    },
                }
            ]
        }
    )
    keeper = TokenKeeper(
        scheme,
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        base_url="https://api.example.com/v2",
        clock=Clock(),
    )
    with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(TransportError) as caught:
            keeper.ensure(http)
    assert not caught.value.request_sent
    assert "https://api.example.com/oauth2/token" in str(caught.value) and CLIENT_SECRET not in str(
        caught.value
    )


# -- auth in code: the escape hatch --------------------------------------------------------


class HeaderSigner:
    """A scheme the spec does not express, in code."""

    def __init__(self) -> None:
        self.calls = 0

    def sign(self, request: PreparedRequest, variables: Any) -> None:
        self.calls += 1
        digest = hashlib.sha256(request.method.encode() + request.path_and_query.encode()).hexdigest()
        request.place("header", "X-Custom-Signature", f"{variables['api_key']}:{digest}")


def test_a_signer_in_code_replaces_the_spec_scheme(mode: str) -> None:
    import dlr_itnio_voice

    signer = HeaderSigner()
    cls = dlr_itnio_voice.Client if mode == "sync" else dlr_itnio_voice.AsyncClient
    client = cls(api_key="key-1", api_secret="not-used-by-this-signer", signer=signer)

    def action(c: Any) -> Any:
        return c.prepare("query_recall_flow_detail", key_id=7)

    if mode == "sync":
        request = run_client(mode, client, action)
    else:

        async def wrapped(c: Any) -> Any:
            return action(c)

        request = run_client(mode, client, wrapped)
    expected = hashlib.sha256(b"POST/voice/recallFlow/queryDetail").hexdigest()
    assert request.headers["X-Custom-Signature"] == f"key-1:{expected}"
    assert "Sign" not in request.headers  # the spec's scheme is not applied
    assert signer.calls == 1
