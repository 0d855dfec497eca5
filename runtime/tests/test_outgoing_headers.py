"""dlr_core.wire.headers: a request's headers are those ``httpx.Client.build_request``
writes (the http_client's, the request's replacing them, and httpx's automatic ``Host`` and
``Content-Length``), in the same order and spelling, whatever the case of the names, the
method and the body; the http_client's headers are read on every call."""

from __future__ import annotations

import httpx
import pytest

from dlr_core.wire.headers import OutgoingHeaders

URL = httpx.URL("http://api.example.test:8080/v1/receipts")


def as_httpx_writes_it(
    client: httpx.Headers, own: dict[str, str], method: str, body: bytes
) -> list[tuple[bytes, bytes]]:
    """The oracle: the headers ``httpx.Client.build_request`` merges (the client's, the
    request's replacing them) and its request's automatic headers."""
    merged = httpx.Headers(client)
    merged.update(own)
    return httpx.Request(method, URL, headers=merged, content=body).headers.raw


CLIENT = httpx.Headers(
    {"Accept": "*/*", "User-Agent": "python-httpx/0", "X-Team": "a", "Accept-Encoding": "br"}
)
CASES = [
    ("POST", {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "sig"}, b"a=1&b=2"),
    ("POST", {"authorization": "sig"}, b""),  # a POST without a body: Content-Length: 0 first
    ("PUT", {}, b""),
    ("GET", {"x-team": "b", "ACCEPT-ENCODING": "gzip"}, b""),  # replaced whatever the case
    ("GET", {"Host": "other.example.test"}, b""),  # a Host of the request's own is kept
    ("DELETE", {"Content-Length": "3"}, b"abc"),  # a length given is not given twice
    ("PATCH", {"X-Team": "b"}, b'{"a": 1}'),
]


@pytest.mark.parametrize(("method", "own", "body"), CASES)
def test_the_headers_httpx_would_write(method: str, own: dict[str, str], body: bytes) -> None:
    headers = OutgoingHeaders()
    expected = as_httpx_writes_it(CLIENT, own, method, body)
    for _ in range(2):  # worked out, then from what was kept
        assert headers.merged(CLIENT, own, method, URL.netloc, body) == expected


def test_the_client_s_headers_are_read_on_every_call() -> None:
    headers = OutgoingHeaders()
    client = httpx.Headers({"X-Team": "a"})
    headers.merged(client, {"Authorization": "sig"}, "GET", URL.netloc, b"")
    client["X-Team"] = "changed"
    client["X-New"] = "new"
    assert headers.merged(client, {"Authorization": "sig"}, "GET", URL.netloc, b"") == as_httpx_writes_it(
        client, {"Authorization": "sig"}, "GET", b""
    )


def test_what_is_kept_is_bounded() -> None:
    headers = OutgoingHeaders()
    for index in range(200):
        own = {f"X-Name-{index}": "v"}
        assert headers.merged(CLIENT, own, "GET", URL.netloc, b"") == as_httpx_writes_it(
            CLIENT, own, "GET", b""
        )
    assert len(headers._bases) <= 64


def test_a_header_httpx_cannot_encode_fails_as_in_httpx() -> None:
    with pytest.raises(UnicodeEncodeError):
        as_httpx_writes_it(CLIENT, {"X-Note": "café"}, "GET", b"")
    with pytest.raises(UnicodeEncodeError):
        OutgoingHeaders().merged(CLIENT, {"X-Note": "café"}, "GET", URL.netloc, b"")
