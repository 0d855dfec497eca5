"""The runtime against hostile or broken answers: redirects are never followed, answers are
read under a size cap and a deadline, errors stay small and scrubbed, strange JSON and
Retry-After values are typed, and queue reads (``consuming`` operations) are never retried
once the provider may have handed them out. (Next-page links staying on the client's
origin: tests/generated/test_paging_safety.py.)

Real servers on 127.0.0.1 where it matters who received what; ``httpx.MockTransport`` for
the rest (it records every request the client makes, with its headers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import re
import time
import zlib
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import dlr_core
from apis_in_code import (
    API,
    CREDENTIALS,
    GET_REPORT,
    AsyncReportClient,
    GetReportParams,
    Report,
    ReportClient,
    api,
    client_class,
)
from apis_in_code import run_client as run
from dlr_core.client import MAX_JSON_DEPTH, Credentials
from dlr_core.errors import EXCERPT_LIMIT
from dlr_core.mock import MockProvider
from dlr_core.retry import parse_retry_after
from dlr_core.wire.read import nested_deeper
from http_doubles import Handler, Server, Transport, answer, record_everything, serve

# A queue read: the provider hands each report out once.
QUEUE_API = api(dataclasses.replace(GET_REPORT, consuming=True))

# The example API signed with an RSA key, a secret credential in PEM.
RSA_API = api(
    auth_schemes={
        "rsa": {
            "description": "X-Signature = base64 RSA-SHA256(private_key_pem, method \\n path \\n unix seconds)",
            "timestamp": "unix_seconds",
            "sign": [
                {
                    "as": "signature",
                    "rsa_sign": {
                        "hash": "sha256",
                        "key": "private_key_pem",
                        "input": "{method}\n{path}\n{timestamp}",
                        "output": "base64",
                    },
                }
            ],
            "attach": {"header": {"X-Api-Key": "{api_key}", "X-Signature": "{signature}"}},
        }
    },
    default_scheme="rsa",
    credentials=("api_key", "private_key_pem"),
    scheme_credentials={"rsa": ("api_key", "private_key_pem")},
    secret_credentials=("private_key_pem",),
    pem_credentials=("private_key_pem",),
    credential_env={},
)


def example(
    mode: str, transport: Transport, credentials: dict[str, str] = CREDENTIALS, **options: Any
) -> Any:
    """The example API's client of kind ``mode`` (``api_spec``: another API's), sending
    through ``transport``."""
    spec = options.pop("api_spec", API)
    return client_class(mode, spec)(
        **credentials, base_url="https://api.example.test", http_client=transport.http(mode), **options
    )


def query(client: Any) -> Any:
    return client.get_report(message_id="m-1")


# -- redirects are never followed ----------------------------------------------------------


def test_redirect_to_another_host_reaches_nothing_even_with_follow_redirects(mode: str) -> None:
    """The example API signs with X-Api-Key and X-Signature headers (not Authorization,
    which httpx would drop on a cross-origin redirect): a followed redirect would carry them
    to the target."""

    with serve(record_everything) as target:
        steps = [{"status": 302, "headers": {"Location": f"{target.url}/steal?x=1"}}]
        with MockProvider(API, CREDENTIALS, scenario={"get_report": steps}) as mock:
            http = (
                httpx.Client(follow_redirects=True)
                if mode == "sync"
                else httpx.AsyncClient(follow_redirects=True)
            )
            client = client_class(mode)(**CREDENTIALS, base_url=mock.base_url, http_client=http)
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
    assert not error.retryable and CREDENTIALS["api_secret"] not in str(error)


def test_same_origin_redirect_is_not_followed_either(mode: str) -> None:
    transport = Transport(lambda request: answer(301, headers={"Location": "/elsewhere"}))
    with pytest.raises(dlr_core.UnexpectedRedirect) as caught:
        run(mode, example(mode, transport), query)
    assert len(transport.requests) == 1 and caught.value.http_status == 301
    assert caught.value.location == "/elsewhere"


# -- answers are read under a size cap -----------------------------------------------------


def ok(number: int = 1) -> bytes:
    return json.dumps({"code": 0, "data": {"msgId": f"m-{number}", "status": "DELIVRD"}}).encode()


def test_an_answer_over_the_cap_is_a_typed_error_with_a_bounded_excerpt(mode: str) -> None:
    body = b'{"code": 0, "data": "' + b"x" * 300_000 + b'"}'
    transport = Transport(lambda request: answer(200, content=body))
    client = example(mode, transport)
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
    client = example(mode, transport)
    client.max_response_bytes = 1024 * 1024
    with pytest.raises(dlr_core.ResponseTooLarge) as caught:
        run(mode, client, query)
    assert caught.value.raw_body.startswith(b"\0" * 100) and len(caught.value.raw_body) < EXCERPT_LIMIT + 100
    assert transport.requests[0].headers["accept-encoding"] == "gzip, deflate"

    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    encodings = {
        "gzip": gzip.compress(ok(5)),
        "deflate": zlib.compress(ok(5)),
        "Deflate ": raw_deflate.compress(ok(5)) + raw_deflate.flush(),  # raw deflate, as some send
        "identity": ok(5),
    }
    for encoding, content in encodings.items():
        transport = Transport(
            lambda r, e=encoding, c=content: answer(200, headers={"Content-Encoding": e}, content=c)
        )
        assert run(mode, example(mode, transport), query).message_id == "m-5"


def test_answers_read_already_by_the_transport_are_taken_as_they_are(mode: str) -> None:
    """``httpx.Response(content=...)`` (what a MockTransport handler usually returns) is
    read and decoded before the client sees it: used as it is, still under the cap."""
    transport = Transport(
        lambda request: httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, content=gzip.compress(ok(4))
        )
    )
    assert run(mode, example(mode, transport), query).message_id == "m-4"
    transport = Transport(lambda request: httpx.Response(200, content=b" " * 5000 + ok()))
    client = example(mode, transport)
    client.max_response_bytes = 1000
    with pytest.raises(dlr_core.ResponseTooLarge):
        run(mode, client, query)


def test_max_response_bytes_is_a_client_option() -> None:
    from dlr_core.client import DEFAULT_MAX_RESPONSE_BYTES, SyncClientBase

    assert ReportClient(**CREDENTIALS).max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 10 * 1024 * 1024
    transport = Transport(lambda request: answer(200, content=ok() + b" " * 600))
    options = dict(
        server=None,
        base_url="https://api.example.test",
        auth_scheme=None,
        timeout=5.0,
        retries=0,
        clock=None,
        nonce=None,
    )
    client = SyncClientBase(
        API,
        CREDENTIALS,
        http_client=transport.http("sync"),  # type: ignore[arg-type]
        max_response_bytes=512,
        **options,
    )
    with pytest.raises(dlr_core.ResponseTooLarge) as caught:
        client.dlr_call(
            GET_REPORT, client.dlr_params(GET_REPORT, GetReportParams, {"message_id": "m-1"}), Report
        )
    assert caught.value.limit == 512
    with pytest.raises(ValueError, match="max_response_bytes must be positive"):
        SyncClientBase(API, CREDENTIALS, http_client=None, max_response_bytes=0, **options)


def test_unknown_or_corrupt_encodings_are_typed(mode: str) -> None:
    for headers, content in [
        ({"Content-Encoding": "br"}, b"\x1b\x00"),
        ({"Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(ok()))),
        ({"Content-Encoding": "gzip"}, b"not gzip at all"),
    ]:
        transport = Transport(lambda r, h=headers, c=content: answer(200, headers=h, content=c))
        with pytest.raises(dlr_core.ProviderResponseError):
            run(mode, example(mode, transport), query)


def test_reading_stops_at_the_cap_and_the_connection_is_closed(wire_mode: str) -> None:
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

    with serve(endless) as server:
        client = client_class(wire_mode)(**CREDENTIALS, base_url=server.url, timeout=30)
        client.max_response_bytes = 2 * 1024 * 1024
        started = time.monotonic()
        with pytest.raises(dlr_core.ResponseTooLarge):
            run(wire_mode, client, query)
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
        body = ok() + b" " * 200
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return answer


def test_a_slow_drip_ends_within_the_timeout(wire_mode: str) -> None:
    with serve(drip(0.1)) as server:
        client = client_class(wire_mode)(**CREDENTIALS, base_url=server.url, timeout=0.4, retries=0)
        started = time.monotonic()
        with pytest.raises(dlr_core.RequestTimeout) as caught:
            run(wire_mode, client, query)
        elapsed = time.monotonic() - started
    # About 0.5 s: each byte comes within the read timeout, so only a bound on the whole
    # attempt ends it; a whole answer would take 22 s.
    assert 0.35 < elapsed < 3
    assert "within 0.4s" in str(caught.value) and caught.value.request_sent
    assert len(server.seen) == 1


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_async_slow_headers_end_within_the_timeout(transport: str) -> None:
    """Headers sent a byte at a time: the async client bounds the whole attempt."""
    with serve(drip(0.1, headers_too=True)) as server:
        client = AsyncReportClient(
            **CREDENTIALS, base_url=server.url, timeout=0.4, retries=0, transport=transport
        )
        started = time.monotonic()
        with pytest.raises(dlr_core.RequestTimeout):
            run("async", client, query)
        assert time.monotonic() - started < 4


# -- errors stay bounded --------------------------------------------------------------------


def test_error_message_and_raw_body_are_bounded_and_marked(mode: str) -> None:
    huge = "bad " * 50_000  # 200 KB message in the envelope
    body = json.dumps({"code": 400, "message": huge}).encode()
    transport = Transport(lambda request: answer(200, content=body))
    with pytest.raises(dlr_core.InvalidRequest) as caught:
        run(mode, example(mode, transport), query)
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
        run(mode, example(mode, transport, retries=0), query)
    assert failed.value.http_status == 502 and failed.value.raw_body_length == len(html)
    assert len(failed.value.raw_body) < EXCERPT_LIMIT + 100 and len(failed.value.message) < 400

    small = b'{"code": 0, "da'
    transport = Transport(lambda request: answer(200, content=small))
    with pytest.raises(dlr_core.ProviderResponseError) as exact:
        run(mode, example(mode, transport), query)
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
        b'{"code": 0, "data": {"msgId": "m-1", "x": ' + b"[{}," * 70 + b"1" + b"]" * 70 + b"}}",
        b"[" * 100_000,  # unbalanced
    ],
)
def test_deep_json_is_a_typed_error(mode: str, body: bytes) -> None:
    transport = Transport(lambda request: answer(200, content=body))
    with pytest.raises(dlr_core.ProviderResponseError) as caught:
        run(mode, example(mode, transport), query)
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
    body = ('{"code": 0, "data": {"msgId": "m-9", "status": "DELIVRD", "extra": ' + extra + "}}").encode()
    transport = Transport(lambda request: answer(200, content=body))
    assert run(mode, example(mode, transport), query).message_id == "m-9"


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
            429, headers=[(b"Retry-After", value)], content=b'{"code": 429, "message": "slow down"}'
        )
    )
    with pytest.raises(dlr_core.ProviderError) as caught:
        run(mode, example(mode, transport, retries=0), query)
    assert caught.value.retry_after == expected


def test_retry_after_in_arabic_indic_digits_is_ignored_and_ascii_honoured() -> None:
    now = datetime.now(timezone.utc)
    assert parse_retry_after("٣", now) is None and parse_retry_after("3", now) == 3.0
    sleeps: list[float] = []
    answers = iter(
        [
            answer(429, headers=[(b"Retry-After", "٣".encode())], content=b"{}"),
            answer(429, headers={"Retry-After": "3"}, content=b"{}"),
            answer(200, content=ok()),
        ]
    )
    transport = Transport(lambda request: next(answers))
    client = example("sync", transport, sleep=sleeps.append)
    assert run("sync", client, query).message_id == "m-1"
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
    text = pem_forms()[form].encode()
    answers = [
        (500, b"oops " + text),  # not JSON: the status decides, the excerpt is kept
        (200, b'{"code": 500, "message": "echo ' + text + b'", "raw": "' + text + b'"}'),
        (400, b'{"code": 400, "message": "' + text + b'"}'),
    ]
    for status, body in answers:
        transport = Transport(lambda r, s=status, b=body: answer(s, content=b))
        client = client_class(mode, RSA_API)(
            api_key="example-key",
            private_key_pem=PEM,
            base_url="https://api.example.test",
            http_client=transport.http(mode),
            retries=0,
        )
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client, query)
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
    credentials = {"api_key": "example-key", "api_secret": secret}
    for form in sorted(forms):
        body = b'{"code": 400, "message": "bad ' + form.encode() + b'", "echo": "' + form.encode() + b'"}'
        transport = Transport(lambda r, b=body: answer(200, content=b))
        with pytest.raises(dlr_core.ProviderError) as caught:  # InvalidRequest, or not JSON
            run(mode, example(mode, transport, credentials), query)
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
            run(
                mode, example(mode, transport, {"api_key": "k-value", "api_secret": secret}, retries=0), query
            )
        head = caught.value.raw_body.split(b"\n[truncated")[0]
        assert not any(secret[:n].encode() in head[-n:] for n in range(4, len(secret))), offset


def test_credentials_scrub_is_ordered_longest_first() -> None:
    credentials = Credentials({"pem": PEM, "other": "short-secret"}, ["pem", "other"])
    scrubbed = credentials.scrub(f"key={PEM} and {json.dumps(PEM)} and short-secret")
    assert scrubbed == f'key=<redacted> and "<redacted>" and <redacted>'
    assert "Credentials(pem=<redacted>, other=<redacted>)" == repr(credentials)


# -- queue reads are not retried once they may have been handed out ---------------------------


def test_a_queue_read_that_times_out_is_an_error_not_an_empty_list(mode: str) -> None:
    steps = [{"delay": 1.5}, {"data": {}}]  # the first answer drained the queue
    with MockProvider(QUEUE_API, CREDENTIALS, scenario={"get_report": steps}) as mock:
        client = client_class(mode, QUEUE_API)(**CREDENTIALS, base_url=mock.base_url, timeout=0.3)
        with pytest.raises(dlr_core.RequestTimeout) as caught:
            run(mode, client, query)
        time.sleep(0.3)  # a retry, if there were one, would have arrived by now
    assert len(mock.requests) == 1
    error = caught.value
    assert error.may_have_consumed and error.request_sent and error.attempts == 1
    assert "may have handed this batch out" in str(error) and "get_report" in str(error)


def test_a_queue_read_that_fails_with_5xx_is_not_retried(mode: str) -> None:
    steps = [{"status": 503}, {}]
    with MockProvider(QUEUE_API, CREDENTIALS, scenario={"get_report": steps}) as mock:
        client = client_class(mode, QUEUE_API)(**CREDENTIALS, base_url=mock.base_url)
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client, query)
    assert len(mock.requests) == 1 and caught.value.http_status == 503
    assert caught.value.may_have_consumed and "may have handed this batch out" in str(caught.value)


def test_a_refused_queue_read_is_retried(mode: str) -> None:
    """A rate limit (HTTP 429 with Retry-After, or the provider's rate-limit code) means the
    provider refused the read: nothing was handed out, so it is retried."""
    sleeps: list[float] = []

    async def async_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    steps = [
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"error": 429},  # the error table's rate-limit code
        {},
    ]
    with MockProvider(QUEUE_API, CREDENTIALS, scenario={"get_report": steps}) as mock:
        client = client_class(mode, QUEUE_API)(
            **CREDENTIALS, base_url=mock.base_url, sleep=sleeps.append if mode == "sync" else async_sleep
        )
        result = run(mode, client, query)
    assert result.message_id == "m-1"
    assert len(mock.requests) == 3 and sleeps[0] >= 2


def test_a_queue_read_that_never_connected_is_retried(mode: str) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if len(transport.requests) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return answer(200, content=ok())

    transport = Transport(respond)
    client = example(
        mode, transport, api_spec=QUEUE_API, sleep=(lambda s: None) if mode == "sync" else _no_sleep
    )
    assert run(mode, client, query).message_id == "m-1"
    assert len(transport.requests) == 2


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_a_queue_read_that_may_have_been_sent_is_not_retried(mode: str, failure: type) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise failure("gone", request=request)

    transport = Transport(respond)
    with pytest.raises(dlr_core.TransportError) as caught:
        run(mode, example(mode, transport, api_spec=QUEUE_API), query)
    assert len(transport.requests) == 1 and caught.value.may_have_consumed


def test_ordinary_operations_still_retry_timeouts(mode: str) -> None:
    """The same read as above, on an operation that is not ``consuming``."""

    def respond(request: httpx.Request) -> httpx.Response:
        if len(transport.requests) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return answer(200, content=ok())

    transport = Transport(respond)
    client = example(mode, transport, sleep=(lambda s: None) if mode == "sync" else _no_sleep)
    assert run(mode, client, query).message_id == "m-1"
    assert len(transport.requests) == 2


async def _no_sleep(seconds: float) -> None:
    pass
