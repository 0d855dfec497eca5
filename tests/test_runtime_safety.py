"""The runtime against hostile or broken answers: credentials stay on the client's origin
(next-page links, redirects), answers are read under a size cap and a deadline, errors stay
small and scrubbed, strange JSON and Retry-After values are typed, and queue reads
(``consuming`` operations) are never retried once the provider may have handed them out.

Real servers on 127.0.0.1 where it matters who received what; ``httpx.MockTransport`` for
the rest (it records every request the client makes, with its headers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import dlr_core
from dlr_core.client import MAX_JSON_DEPTH, Credentials
from dlr_core.wire.read import nested_deeper
from dlr_core.errors import EXCERPT_LIMIT
from dlr_core.mock import MockProvider, MockRequest
from dlr_core.retry import parse_retry_after

from conftest import run_client as run

ITNIO = {"api_key": "itnio-key", "api_secret": "itnio-secret-value"}
TWILIO = {"account_sid": "AC" + "a" * 32, "auth_token": "twilio-token-value"}
TENCENT = {"secret_id": "AKID-test-id", "secret_key": "tencent-secret-value"}
INFOBIP = {"api_key": "infobip-key-value"}
MESSAGES = f"/2010-04-01/Accounts/{TWILIO['account_sid']}/Messages.json"


def collect(mode: str, iterator: Any, into: list[Any]) -> Any:
    """Drain a sync iterator into ``into`` (kept when the iteration raises); for an async
    one, the coroutine that does (``run`` awaits it)."""
    if mode == "sync":
        into.extend(iterator)
        return None

    async def main() -> None:
        async for item in iterator:
            into.append(item)

    return main()


def client_for(package: Any, mode: str, credentials: dict[str, str], **options: Any) -> Any:
    cls = package.Client if mode == "sync" else package.AsyncClient
    return cls(**credentials, **options)


# -- servers -------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    host: str
    path: str
    headers: dict[str, str]


@dataclass
class Server:
    url: str
    port: int
    seen: list[Seen] = field(default_factory=list)
    sent: list[int] = field(default_factory=lambda: [0])  # body bytes written


Handler = Callable[[BaseHTTPRequestHandler, Server], None]


class Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is what several tests are about


@contextmanager
def serve(answer: Handler) -> Iterator[Server]:
    """A server on 127.0.0.1 that records every request and answers with ``answer``."""
    state = Server("", 0)

    class Handle(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            state.seen.append(
                Seen(
                    self.command,
                    self.headers.get("Host", ""),
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                )
            )
            try:
                answer(self, state)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what these tests want

        do_GET = do_POST = _any  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = Quiet(("127.0.0.1", 0), Handle)
    state.port = server.server_address[1]
    state.url = f"http://127.0.0.1:{state.port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def record_everything(handler: BaseHTTPRequestHandler, state: Server) -> None:
    body = b'{"stolen": true}'
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Raw(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body as a transport streams it (in chunks, not read yet), unlike ``content=``."""

    def __init__(self, data: bytes, chunk: int = 65536) -> None:
        self._data = data
        self._chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self._data), self._chunk):
            yield self._data[start : start + self._chunk]

    async def __aiter__(self) -> Any:
        for piece in self:
            yield piece


def answer(status: int, content: bytes = b"", headers: Any = None, json_body: Any = None) -> httpx.Response:
    if json_body is not None:
        content = json.dumps(json_body).encode()
    return httpx.Response(status, headers=headers, stream=Raw(content))


@dataclass
class Transport:
    """An httpx.MockTransport that records every request (URL and headers) it is sent."""

    answer: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def http(self, mode: str, **options: Any) -> httpx.Client | httpx.AsyncClient:
        transport = httpx.MockTransport(self)
        if mode == "sync":
            return httpx.Client(transport=transport, **options)
        return httpx.AsyncClient(transport=transport, **options)


def itnio(mode: str, transport: Transport, credentials: dict[str, str] = ITNIO, **options: Any) -> Any:
    import dlr_itnio_voice

    return client_for(
        dlr_itnio_voice,
        mode,
        credentials,
        base_url="https://itnio.test",
        http_client=transport.http(mode),
        **options,
    )


def query(client: Any) -> Any:
    return client.query_recall_flow_detail(key_id=1)


# -- next-page links stay on the client's origin -----------------------------------------


def twilio_page(page: int, next_uri: str | None) -> dict[str, Any]:
    messages = [{"sid": f"SM{page}{i}", "to": "+1", "status": "sent"} for i in range(2)]
    return {"messages": messages, "next_page_uri": next_uri, "page": page, "page_size": 2}


@pytest.mark.parametrize("where", ["another host", "another port"])
def test_next_link_to_another_origin_is_refused_and_that_origin_gets_nothing(mode: str, where: str) -> None:
    import dlr_twilio_messaging

    with serve(record_everything) as elsewhere:
        ports: list[int] = []

        def pages(request: MockRequest) -> dict[str, Any]:
            # "localhost" is this very mock under another host name: it must not be asked.
            host = f"localhost:{ports[0]}" if where == "another host" else f"127.0.0.1:{elsewhere.port}"
            if "Page" in dict(request.query):
                return twilio_page(1, None)  # (were the link followed)
            return twilio_page(0, f"http://{host}{MESSAGES}?Page=1&PageToken=PA1")

        with MockProvider(
            dlr_twilio_messaging.API, TWILIO, scenario={"list_messages": [{"respond": pages}]}
        ) as mock:
            ports.append(int(mock.base_url.rsplit(":", 1)[1]))
            client = client_for(dlr_twilio_messaging, mode, TWILIO, base_url=mock.base_url)
            got: list[Any] = []
            with pytest.raises(dlr_core.UnsafeLinkError) as caught:
                run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), got))
    assert [m.sid for m in got] == ["SM00", "SM01"]  # the first page, then the refusal
    assert len(mock.requests) == 1 and elsewhere.seen == []
    error = caught.value
    expected = (
        f"http://localhost:{ports[0]}" if where == "another host" else f"http://127.0.0.1:{elsewhere.port}"
    )
    assert error.origin == expected and expected in str(error)
    assert TWILIO["auth_token"] not in str(error) + repr(error)
    assert isinstance(error, dlr_core.ProviderResponseError)


@pytest.mark.parametrize(
    "link",
    [
        f"http://api.twilio.test{MESSAGES}?Page=1",  # plain http instead of https
        f"https://api.twilio.test:8443{MESSAGES}?Page=1",  # another port
        f"https://evil.test{MESSAGES}?Page=1",
        f"//evil.test{MESSAGES}?Page=1",  # scheme-relative: another host
        f"https://api.twilio.test@evil.test{MESSAGES}",  # user info: the host is evil.test
        f"https://api.twilio.test.evil.test{MESSAGES}",
        "ftp://api.twilio.test/x",
    ],
)
def test_next_link_off_origin_sends_nothing_anywhere(mode: str, link: str) -> None:
    import dlr_twilio_messaging

    def respond(request: httpx.Request) -> httpx.Response:
        first = len(transport.requests) == 1
        return answer(200, json_body=twilio_page(0 if first else 1, link if first else None))

    transport = Transport(respond)
    client = client_for(
        dlr_twilio_messaging,
        mode,
        TWILIO,
        base_url="https://api.twilio.test",
        http_client=transport.http(mode),
    )
    with pytest.raises(dlr_core.UnsafeLinkError):
        run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), []))
    assert [str(r.url.copy_with(query=None)) for r in transport.requests] == [
        f"https://api.twilio.test{MESSAGES}"
    ]


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        (f"{MESSAGES}?Page=1&PageToken=PA1", f"https://api.twilio.test{MESSAGES}"),  # absolute path
        ("Messages.json?Page=1&PageToken=PA1", f"https://api.twilio.test{MESSAGES}"),  # relative to the page
        (
            "../Calls.json?Page=1",
            "https://api.twilio.test/2010-04-01/Accounts/Calls.json",
        ),  # RFC 3986 resolution
        (
            f"HTTPS://API.TWILIO.TEST:443{MESSAGES}?Page=1",
            f"https://api.twilio.test{MESSAGES}",
        ),  # same origin
    ],
)
def test_next_link_on_the_same_origin_is_followed(mode: str, link: str, followed: str) -> None:
    import dlr_twilio_messaging

    def respond(request: httpx.Request) -> httpx.Response:
        first = "Page" not in request.url.params
        return answer(200, json_body=twilio_page(0 if first else 1, link if first else None))

    transport = Transport(respond)
    client = client_for(
        dlr_twilio_messaging,
        mode,
        TWILIO,
        base_url="https://api.twilio.test",
        http_client=transport.http(mode),
    )
    got: list[Any] = []
    run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), got))
    assert [m.sid for m in got] == ["SM00", "SM01", "SM10", "SM11"]
    second = transport.requests[1]
    assert str(second.url.copy_with(query=None)) == followed
    assert second.headers["authorization"].startswith("Basic ")


def test_twilio_relative_next_page_uri_is_followed_against_the_real_mock(mode: str) -> None:
    import dlr_twilio_messaging

    def pages(request: MockRequest) -> dict[str, Any]:
        page = int(dict(request.query).get("Page", "0"))
        return twilio_page(page, f"{MESSAGES}?PageSize=2&Page={page + 1}" if page < 2 else None)

    with MockProvider(
        dlr_twilio_messaging.API, TWILIO, scenario={"list_messages": [{"respond": pages}]}
    ) as mock:
        client = client_for(dlr_twilio_messaging, mode, TWILIO, base_url=mock.base_url)
        got: list[Any] = []
        run(mode, client, lambda c: collect(mode, c.iter_list_messages(page_size=2), got))
    assert len(got) == 6 and len(mock.requests) == 3 and all(r.authenticated for r in mock.requests)


# -- redirects are never followed ----------------------------------------------------------


def test_redirect_to_another_host_reaches_nothing_even_with_follow_redirects(mode: str) -> None:
    """ITNIO signs with Api-Key and Sign headers (not Authorization, which httpx would drop
    on a cross-origin redirect): a followed redirect would carry them to the target."""
    import dlr_itnio_voice

    with serve(record_everything) as target:
        steps = [{"status": 302, "headers": {"Location": f"{target.url}/steal?x=1"}}]
        with MockProvider(dlr_itnio_voice.API, ITNIO, scenario={"query_recall_flow_detail": steps}) as mock:
            http = (
                httpx.Client(follow_redirects=True)
                if mode == "sync"
                else httpx.AsyncClient(follow_redirects=True)
            )
            client = client_for(dlr_itnio_voice, mode, ITNIO, base_url=mock.base_url, http_client=http)
            with pytest.raises(dlr_core.UnexpectedRedirect) as caught:
                run(mode, client, query)
            if mode == "sync":
                assert isinstance(http, httpx.Client)
                http.close()
            else:
                assert isinstance(http, httpx.AsyncClient)
                asyncio.run(http.aclose())
    assert target.seen == []
    assert len(mock.requests) == 1  # not retried either
    error = caught.value
    assert error.http_status == 302 and error.location == f"{target.url}/steal?x=1"
    assert "302" in str(error) and "/steal" in str(error)
    assert not error.retryable and ITNIO["api_secret"] not in str(error)


def test_same_origin_redirect_is_not_followed_either(mode: str) -> None:
    transport = Transport(lambda request: answer(301, headers={"Location": "/elsewhere"}))
    with pytest.raises(dlr_core.UnexpectedRedirect) as caught:
        run(mode, itnio(mode, transport), query)
    assert len(transport.requests) == 1 and caught.value.http_status == 301
    assert caught.value.location == "/elsewhere"


# -- answers are read under a size cap -----------------------------------------------------


def itnio_ok(key_id: int = 1) -> bytes:
    return json.dumps({"code": 0, "data": {"keyId": key_id, "status": 2}}).encode()


def test_an_answer_over_the_cap_is_a_typed_error_with_a_bounded_excerpt(mode: str) -> None:
    body = b'{"code": 0, "data": "' + b"x" * 300_000 + b'"}'
    transport = Transport(lambda request: answer(200, content=body))
    client = itnio(mode, transport)
    client.max_response_bytes = 100_000
    with pytest.raises(dlr_core.ResponseTooLarge) as caught:
        run(mode, client, query)
    error = caught.value
    assert isinstance(error, dlr_core.ProviderResponseError) and error.http_status == 200
    assert error.limit == 100_000 and "100000 bytes" in error.message
    assert 100_000 < error.raw_body_length < 300_000 and error.raw_body_truncated
    assert (
        error.raw_body.startswith(b'{"code": 0, "data": "xxx') and len(error.raw_body) < EXCERPT_LIMIT + 100
    )
    assert len(transport.requests) == 1  # never retried


def test_the_cap_counts_decompressed_bytes_and_gzip_and_deflate_are_read(mode: str) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # 20 KiB on the wire
    transport = Transport(lambda request: answer(200, headers={"Content-Encoding": "gzip"}, content=bomb))
    client = itnio(mode, transport)
    client.max_response_bytes = 1024 * 1024
    with pytest.raises(dlr_core.ResponseTooLarge) as caught:
        run(mode, client, query)
    assert caught.value.raw_body.startswith(b"\0" * 100) and len(caught.value.raw_body) < EXCERPT_LIMIT + 100
    assert transport.requests[0].headers["accept-encoding"] == "gzip, deflate"

    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    encodings = {
        "gzip": gzip.compress(itnio_ok(5)),
        "deflate": zlib.compress(itnio_ok(5)),
        "Deflate ": raw_deflate.compress(itnio_ok(5)) + raw_deflate.flush(),  # raw deflate, as some send
        "identity": itnio_ok(5),
    }
    for encoding, content in encodings.items():
        transport = Transport(
            lambda r, e=encoding, c=content: answer(200, headers={"Content-Encoding": e}, content=c)
        )
        assert run(mode, itnio(mode, transport), query).key_id == 5


def test_answers_read_already_by_the_transport_are_taken_as_they_are(mode: str) -> None:
    """``httpx.Response(content=...)`` (what a MockTransport handler usually returns) is
    read and decoded before the client sees it: used as it is, still under the cap."""
    transport = Transport(
        lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(itnio_ok(4))
        )
    )
    assert run(mode, itnio(mode, transport), query).key_id == 4
    transport = Transport(lambda request: httpx.Response(200, content=b" " * 5000 + itnio_ok()))
    client = itnio(mode, transport)
    client.max_response_bytes = 1000
    with pytest.raises(dlr_core.ResponseTooLarge):
        run(mode, client, query)


def test_max_response_bytes_is_a_client_option() -> None:
    import dlr_itnio_voice
    from dlr_core.client import DEFAULT_MAX_RESPONSE_BYTES, SyncClientBase

    assert (
        dlr_itnio_voice.Client(**ITNIO).max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 10 * 1024 * 1024
    )
    transport = Transport(lambda request: answer(200, content=itnio_ok() + b" " * 600))
    options = dict(
        server=None,
        base_url="https://itnio.test",
        auth_scheme=None,
        timeout=5.0,
        retries=0,
        clock=None,
        nonce=None,
    )
    client = SyncClientBase(
        dlr_itnio_voice.API,
        ITNIO,
        http_client=transport.http("sync"),  # type: ignore[arg-type]
        max_response_bytes=512,
        **options,
    )
    with pytest.raises(dlr_core.ResponseTooLarge) as caught:
        client.dlr_call(
            dlr_itnio_voice.API.operations[0],
            client.dlr_params(
                dlr_itnio_voice.API.operations[0],
                dlr_itnio_voice.models.QueryRecallFlowDetailParams,
                {"key_id": 1},
            ),
            dlr_itnio_voice.models.RecallFlowDetail,
        )
    assert caught.value.limit == 512
    with pytest.raises(ValueError, match="max_response_bytes must be positive"):
        SyncClientBase(dlr_itnio_voice.API, ITNIO, http_client=None, max_response_bytes=0, **options)


def test_unknown_or_corrupt_encodings_are_typed(mode: str) -> None:
    for headers, content in [
        ({"Content-Encoding": "br"}, b"\x1b\x00"),
        ({"Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(itnio_ok()))),
        ({"Content-Encoding": "gzip"}, b"not gzip at all"),
    ]:
        transport = Transport(lambda r, h=headers, c=content: answer(200, headers=h, content=c))
        with pytest.raises(dlr_core.ProviderResponseError):
            run(mode, itnio(mode, transport), query)


def test_reading_stops_at_the_cap_and_the_connection_is_closed(mode: str) -> None:
    """A server with 1 GiB to send: the client stops soon after its cap, and the server
    finds the connection closed long before the end."""
    total = 1024 * 1024 * 1024

    def endless(handler: BaseHTTPRequestHandler, state: Server) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        chunk = b"a" * 65536
        while state.sent[0] < total:
            handler.wfile.write(chunk)
            state.sent[0] += len(chunk)

    import dlr_itnio_voice

    with serve(endless) as server:
        client = client_for(dlr_itnio_voice, mode, ITNIO, base_url=server.url, timeout=30)
        client.max_response_bytes = 2 * 1024 * 1024
        started = time.monotonic()
        with pytest.raises(dlr_core.ResponseTooLarge):
            run(mode, client, query)
        elapsed = time.monotonic() - started
        time.sleep(0.2)
    assert elapsed < 5
    assert server.sent[0] < 64 * 1024 * 1024  # the write failed: the client closed it


# -- the timeout bounds the whole attempt ----------------------------------------------------


def drip(every: float, headers_too: bool = False) -> Handler:
    def answer(handler: BaseHTTPRequestHandler, state: Server) -> None:
        if headers_too:
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 200:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(every)
            return
        body = itnio_ok() + b" " * 200
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return answer


def test_a_slow_drip_ends_within_the_timeout(mode: str) -> None:
    import dlr_itnio_voice

    with serve(drip(0.3)) as server:
        client = client_for(dlr_itnio_voice, mode, ITNIO, base_url=server.url, timeout=1.0, retries=0)
        started = time.monotonic()
        with pytest.raises(dlr_core.RequestTimeout) as caught:
            run(mode, client, query)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 4  # about 1.3 s; a whole answer would take 66 s
    assert "within 1.0s" in str(caught.value) and caught.value.request_sent
    assert len(server.seen) == 1


def test_async_slow_headers_end_within_the_timeout() -> None:
    """Headers sent a byte at a time: the async client bounds the whole attempt."""
    import dlr_itnio_voice

    with serve(drip(0.2, headers_too=True)) as server:
        client = dlr_itnio_voice.AsyncClient(**ITNIO, base_url=server.url, timeout=1.0, retries=0)
        started = time.monotonic()
        with pytest.raises(dlr_core.RequestTimeout):
            run("async", client, query)
        assert time.monotonic() - started < 4


# -- errors stay bounded --------------------------------------------------------------------


def test_error_message_and_raw_body_are_bounded_and_marked(mode: str) -> None:
    huge = "bad " * 50_000  # 200 KB message in the envelope
    body = json.dumps({"code": -22, "msg": huge}).encode()
    transport = Transport(lambda request: answer(200, content=body))
    with pytest.raises(dlr_core.InvalidRequest) as caught:
        run(mode, itnio(mode, transport), query)
    error = caught.value
    assert len(error.message) <= EXCERPT_LIMIT and error.message.startswith("bad bad")
    assert error.message.endswith(f"[truncated: {len(huge)} characters in all]")
    assert len(str(error)) < EXCERPT_LIMIT + 200
    assert error.raw_body_length == len(body) and error.raw_body_truncated
    assert error.raw_body.startswith(body[:1000])
    assert error.raw_body.endswith(f"[truncated: {len(body)} bytes received]".encode())
    assert len(error.raw_body) < EXCERPT_LIMIT + 100

    html = b"<html>" + b"x" * 100_000 + b"</html>"
    transport = Transport(lambda request: answer(502, content=html))
    with pytest.raises(dlr_core.ProviderError) as failed:
        run(mode, itnio(mode, transport, retries=0), query)
    assert failed.value.http_status == 502 and failed.value.raw_body_length == len(html)
    assert len(failed.value.raw_body) < EXCERPT_LIMIT + 100 and len(failed.value.message) < 400

    small = b'{"code": 0, "da'
    transport = Transport(lambda request: answer(200, content=small))
    with pytest.raises(dlr_core.ProviderResponseError) as exact:
        run(mode, itnio(mode, transport), query)
    assert exact.value.raw_body == small and not exact.value.raw_body_truncated


def test_provider_error_bounds_whatever_builds_it() -> None:
    error = dlr_core.ProviderError("m" * 100_000, provider="p", raw_body=b"b" * 100_000)
    assert len(error.message) <= EXCERPT_LIMIT + 60 and "truncated: 100000 characters" in error.message
    assert error.raw_body_length == 100_000 and error.raw_body_truncated
    assert len(error.raw_body) < EXCERPT_LIMIT + 100


# -- JSON nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # past the interpreter's recursion limit
        b'{"code": 0, "data": ' + b'{"a": ' * 70 + b"1" + b"}" * 70 + b"}",  # past 64
        b'{"code": 0, "data": {"keyId": 1, "x": ' + b"[{}," * 70 + b"1" + b"]" * 70 + b"}}",
        b"[" * 100_000,  # unbalanced
    ],
)
def test_deep_json_is_a_typed_error(mode: str, body: bytes) -> None:
    transport = Transport(lambda request: answer(200, content=body))
    with pytest.raises(dlr_core.ProviderResponseError) as caught:
        run(mode, itnio(mode, transport), query)
    assert type(caught.value.__context__) is not RecursionError or caught.value.__suppress_context__
    if body.count(b"[") == body.count(b"]") and body.count(b"{") == body.count(b"}"):
        assert "deeper than 64" in str(caught.value)


def test_nesting_check_counts_only_structure() -> None:
    deep = lambda n: b"[" * n + b"]" * n  # noqa: E731
    assert not nested_deeper(deep(MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert nested_deeper(deep(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert nested_deeper(b"[{" * 33 + b"[]" + b"}]" * 33, MAX_JSON_DEPTH)  # 67 levels, no long run
    assert not nested_deeper(json.dumps({"s": "[" * 500 + '\\"{' * 100, "a": [[1]] * 100}).encode(), 64)
    assert not nested_deeper(b"[" + b"[1]," * 10_000 + b"[1]]", 64)  # wide is fine


def test_moderately_nested_answers_still_parse(mode: str) -> None:
    extra = "[" * 40 + "1" + "]" * 40
    body = ('{"code": 0, "data": {"keyId": 9, "status": 2, "extra": ' + extra + "}}").encode()
    transport = Transport(lambda request: answer(200, content=body))
    assert run(mode, itnio(mode, transport), query).key_id == 9


# -- Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3".encode(), 3.0),
        (" 7 ".encode(), 7.0),
        ("٣".encode(), None),  # Arabic-Indic three: not an HTTP number
        ("²".encode(), None),
        ("3.5".encode(), None),
        ("-1".encode(), None),
        (b"9" * 40, float("9" * 40)),  # "not for ages", never "absent" (and never waited)
        (b"Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: no wait
        (b"Wed, 99 Oct 2015 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT\u00a0".encode(), None),
    ],
)
def test_retry_after_is_parsed_strictly(mode: str, value: bytes, expected: float | None) -> None:
    transport = Transport(
        lambda request: answer(
            429, headers=[(b"Retry-After", value)], content=b'{"code": 429, "msg": "slow down"}'
        )
    )
    with pytest.raises(dlr_core.ProviderError) as caught:
        run(mode, itnio(mode, transport, retries=0), query)
    assert caught.value.retry_after == expected


def test_retry_after_in_arabic_indic_digits_is_ignored_and_ascii_honoured() -> None:
    now = datetime.now(timezone.utc)
    assert parse_retry_after("٣", now) is None and parse_retry_after("3", now) == 3.0
    sleeps: list[float] = []
    answers = iter(
        [
            answer(429, headers=[(b"Retry-After", "٣".encode())], content=b"{}"),
            answer(429, headers={"Retry-After": "3"}, content=b"{}"),
            answer(200, content=itnio_ok()),
        ]
    )
    transport = Transport(lambda request: next(answers))
    client = itnio("sync", transport, sleep=sleeps.append)
    assert run("sync", client, query).key_id == 1
    assert len(sleeps) == 2 and sleeps[0] <= 0.5 and sleeps[1] >= 3


# -- secrets are scrubbed in every form -----------------------------------------------------

PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)


def leaks(secret: str, *texts: str | bytes) -> list[str]:
    """Every 20-character piece of the secret's lines found in the texts, as it is or
    URL-encoded."""
    pieces = {
        line[i : i + 20]
        for line in secret.splitlines()
        if not line.startswith("-----")
        for i in range(0, max(0, len(line) - 19))
    }
    found = []
    for text in texts:
        blob = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        found += [p for p in pieces if p in blob or quote(p, safe="") in blob]
    return found


def pem_forms() -> dict[str, str]:
    escaped = json.dumps(PEM)[1:-1]
    return {
        "json": escaped,
        "json with \\/": escaped.replace("/", "\\/"),
        "json twice": json.dumps(escaped)[1:-1],
        "json twice with \\/": json.dumps(escaped.replace("/", "\\/"))[1:-1],
        "one line": PEM.replace("\n", ""),
        "crlf json": json.dumps(PEM.replace("\n", "\r\n"))[1:-1],
        "url": quote(PEM, safe=""),
        "url plus": quote_plus(PEM),
        "url lower hex": re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(PEM, safe="")),
    }


@pytest.mark.parametrize("form", sorted(pem_forms()))
def test_an_escaped_private_key_is_scrubbed_from_errors(mode: str, form: str) -> None:
    import dlr_sgate_otp

    text = pem_forms()[form].encode()
    answers = [
        (500, b"oops " + text),  # not JSON: the status decides, the excerpt is kept
        (200, b'{"code": 500, "message": "echo ' + text + b'", "raw": "' + text + b'"}'),
        (400, b'{"code": 400, "message": "' + text + b'"}'),
    ]
    for status, body in answers:
        transport = Transport(lambda r, s=status, b=body: answer(s, content=b))
        client = client_for(
            dlr_sgate_otp,
            mode,
            {"api_key": "sgate-key", "private_key_pem": PEM},
            base_url="https://sgate.test/openApi/v1",
            http_client=transport.http(mode),
            retries=0,
        )
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client, lambda c: c.otp_detail(mobile="966580", session_id="abc"))
        error = caught.value
        assert b"<redacted>" in error.raw_body
        assert not leaks(PEM, str(error), repr(error), error.message, error.raw_body), status


@pytest.mark.parametrize("secret", ["pa/ss+wörd&<k>-1234", "plain-secret-value", "with space/and\\backslash"])
def test_secrets_are_scrubbed_json_escaped_and_url_encoded(mode: str, secret: str) -> None:
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret, safe="").lower(),
        quote(secret),
        json.dumps(secret)[1:-1].replace("\\u00f6", "\\u00F6"),
    }
    credentials = {"api_key": "itnio-key", "api_secret": secret}
    for form in sorted(forms):
        body = b'{"code": -22, "msg": "bad ' + form.encode() + b'", "echo": "' + form.encode() + b'"}'
        transport = Transport(lambda r, b=body: answer(200, content=b))
        with pytest.raises(dlr_core.ProviderError) as caught:  # InvalidRequest, or not JSON
            run(mode, itnio(mode, transport, credentials), query)
        error = caught.value
        shown = error.raw_body.decode() + str(error) + repr(error)
        assert form not in shown and secret not in shown, form
        assert error.raw_body.count(b"<redacted>") == 2, form


def test_a_secret_at_the_excerpt_cut_is_not_half_kept(mode: str) -> None:
    secret = "abcdefghijklmnopqrstuvwxyz0123456789"
    for offset in range(EXCERPT_LIMIT - 30, EXCERPT_LIMIT + 5, 3):
        body = b"x" * offset + secret.encode() + b"y" * 10_000
        transport = Transport(lambda r, b=body: answer(500, content=b))
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, itnio(mode, transport, {"api_key": "k-value", "api_secret": secret}, retries=0), query)
        head = caught.value.raw_body.split(b"\n[truncated")[0]
        assert not any(secret[:n].encode() in head[-n:] for n in range(4, len(secret))), offset


def test_credentials_scrub_is_ordered_longest_first() -> None:
    credentials = Credentials({"pem": PEM, "other": "short-secret"}, ["pem", "other"])
    scrubbed = credentials.scrub(f"key={PEM} and {json.dumps(PEM)} and short-secret")
    assert scrubbed == f'key=<redacted> and "<redacted>" and <redacted>'
    assert "Credentials(pem=<redacted>, other=<redacted>)" == repr(credentials)


# -- queue reads are not retried once they may have been handed out ---------------------------


@pytest.fixture
def consuming() -> None:
    """The queue operations are ``consuming`` as their specs say (the generated api.py
    carries the flag; see test_generated_queue_operations_are_marked_consuming)."""


@pytest.fixture
def not_consuming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Infobip's report read as if it were an ordinary (repeatable) operation."""
    import dlr_infobip_sms.client

    operation = dlr_infobip_sms.client.GET_DELIVERY_REPORTS
    monkeypatch.setattr(
        dlr_infobip_sms.client, "GET_DELIVERY_REPORTS", dataclasses.replace(operation, consuming=False)
    )


def test_generated_queue_operations_are_marked_consuming() -> None:
    import dlr_infobip_sms.api
    import dlr_tencent_sms.api

    assert dlr_tencent_sms.api.PULL_SMS_SEND_STATUS.consuming
    assert dlr_infobip_sms.api.GET_DELIVERY_REPORTS.consuming
    assert not dlr_tencent_sms.api.PULL_SMS_SEND_STATUS_BY_PHONE_NUMBER.consuming


def test_a_queue_read_that_times_out_is_an_error_not_an_empty_list(mode: str, consuming: None) -> None:
    import dlr_infobip_sms

    steps = [{"delay": 1.5}, {"data": {"results": []}}]  # the first answer drained the queue
    with MockProvider(dlr_infobip_sms.API, INFOBIP, scenario={"get_delivery_reports": steps}) as mock:
        client = client_for(dlr_infobip_sms, mode, INFOBIP, base_url=mock.base_url, timeout=0.3)
        with pytest.raises(dlr_core.RequestTimeout) as caught:
            run(mode, client, lambda c: c.fetch_receipts(bulk_id="BULK-1"))
        time.sleep(0.3)  # a retry, if there were one, would have arrived by now
    assert len(mock.requests) == 1
    error = caught.value
    assert error.may_have_consumed and error.request_sent and error.attempts == 1
    assert "may have handed this batch out" in str(error) and "get_delivery_reports" in str(error)


def test_a_queue_read_that_fails_with_5xx_is_not_retried(mode: str, consuming: None) -> None:
    import dlr_tencent_sms

    steps = [{"status": 503}, {}]
    with MockProvider(dlr_tencent_sms.API, TENCENT, scenario={"pull_sms_send_status": steps}) as mock:
        client = client_for(dlr_tencent_sms, mode, TENCENT, base_url=mock.base_url)
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client, lambda c: c.pull_sms_send_status(sms_sdk_app_id="1400006666"))
    assert len(mock.requests) == 1 and caught.value.http_status == 503
    assert caught.value.may_have_consumed and "may have handed this batch out" in str(caught.value)


def test_a_refused_queue_read_is_retried(mode: str, consuming: None) -> None:
    """A rate limit (HTTP 429 with Retry-After, or the provider's rate-limit code) means the
    provider refused the read: nothing was handed out, so it is retried."""
    import dlr_tencent_sms

    sleeps: list[float] = []

    async def async_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    steps = [
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"error": "RequestLimitExceeded.IPLimitExceeded"},
        {},
    ]
    with MockProvider(dlr_tencent_sms.API, TENCENT, scenario={"pull_sms_send_status": steps}) as mock:
        client = client_for(
            dlr_tencent_sms,
            mode,
            TENCENT,
            base_url=mock.base_url,
            sleep=sleeps.append if mode == "sync" else async_sleep,
        )
        result = run(mode, client, lambda c: c.pull_sms_send_status(sms_sdk_app_id="1400006666"))
    assert result.receipts is not None and len(result.receipts) == 1
    assert len(mock.requests) == 3 and sleeps[0] >= 2


def test_a_queue_read_that_never_connected_is_retried(mode: str, consuming: None) -> None:
    import dlr_infobip_sms

    def respond(request: httpx.Request) -> httpx.Response:
        if len(transport.requests) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        op = dlr_infobip_sms.API.operations
        example = next(o for o in op if o.name == "get_delivery_reports").example
        return answer(200, json_body=example)

    transport = Transport(respond)
    client = client_for(
        dlr_infobip_sms,
        mode,
        INFOBIP,
        base_url="https://infobip.test",
        http_client=transport.http(mode),
        sleep=(lambda s: None) if mode == "sync" else _no_sleep,
    )
    receipts = run(mode, client, lambda c: c.fetch_receipts(bulk_id="BULK-1"))
    assert len(transport.requests) == 2 and len(receipts) == 1


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_a_queue_read_that_may_have_been_sent_is_not_retried(
    mode: str, consuming: None, failure: type
) -> None:
    import dlr_infobip_sms

    def respond(request: httpx.Request) -> httpx.Response:
        raise failure("gone", request=request)

    transport = Transport(respond)
    client = client_for(
        dlr_infobip_sms, mode, INFOBIP, base_url="https://infobip.test", http_client=transport.http(mode)
    )
    with pytest.raises(dlr_core.TransportError) as caught:
        run(mode, client, lambda c: c.fetch_receipts(bulk_id="BULK-1"))
    assert len(transport.requests) == 1 and caught.value.may_have_consumed


def test_ordinary_operations_still_retry_timeouts(mode: str, not_consuming: None) -> None:
    import dlr_infobip_sms

    def respond(request: httpx.Request) -> httpx.Response:
        if len(transport.requests) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        op = dlr_infobip_sms.API.operations
        return answer(200, json_body=next(o for o in op if o.name == "get_delivery_reports").example)

    transport = Transport(respond)
    client = client_for(
        dlr_infobip_sms,
        mode,
        INFOBIP,
        base_url="https://infobip.test",
        http_client=transport.http(mode),
        sleep=(lambda s: None) if mode == "sync" else _no_sleep,
    )
    assert len(run(mode, client, lambda c: c.fetch_receipts(bulk_id="BULK-1"))) == 1
    assert len(transport.requests) == 2


async def _no_sleep(seconds: float) -> None:
    pass
