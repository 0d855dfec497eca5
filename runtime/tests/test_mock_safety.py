"""The mock against hostile or broken clients: bounded bodies, headers and log, timeouts,
an answer for every request. (`dlrgen mock` in its own process:
tests/generator/test_mock_command_safety.py.)"""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from apis_in_code import CREDENTIALS, GET_REPORT, api, client_class, operation, param
from dlr_core.mock import MockProvider, MockRequest

QUERY_PATH = "/reports/query"
# The example API on a server without a path, and a JSON operation for the raw requests below.
API = api(
    GET_REPORT,
    operation(
        "query_detail", QUERY_PATH, param("key_id", "keyId", location="json", type="integer"), method="POST"
    ),
    servers={"default": "https://api.example.com"},
)


def example_mock(**options: Any) -> MockProvider:
    return MockProvider(API, CREDENTIALS, **options)


def signed_query(mock: MockProvider) -> Any:
    """A real, signed call through the client: the mock still serves."""
    with client_class("sync", API)(**CREDENTIALS, base_url=mock.base_url, retries=0) as client:
        return client.get_report(message_id="m-1")


@contextmanager
def raw(mock: MockProvider, timeout: float = 10.0) -> Iterator[socket.socket]:
    split = urllib.parse.urlsplit(mock.base_url)
    assert split.hostname is not None and split.port is not None
    sock = socket.create_connection((split.hostname, split.port), timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response: status, headers (lower-case names), body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            raise ConnectionError(f"closed before a whole response: {data!r}")
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            raise ConnectionError("closed in the body")
        body += part
    return int(status_line.split()[1]), headers, body[:length]


def request_bytes(
    method: str, path: str, body: bytes = b"", content_type: str = "application/json", extra: str = ""
) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within ``seconds``."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# -- body size -------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_with_413_and_logged_as_an_excerpt() -> None:
    with example_mock(max_body_bytes=64 * 1024) as mock:
        body = b'{"keyId": 1, "pad": "' + b"x" * 200_000 + b'"}'
        with raw(mock) as sock:
            sock.sendall(request_bytes("POST", QUERY_PATH, body))
            status, headers, answer = read_response(sock)
            assert status == 413 and headers["connection"] == "close"
            assert "limit of 65536 bytes" in json.loads(answer)["message"]
            assert closed_within(sock, 5)
        [logged] = mock.requests
        assert logged.status == 413 and logged.truncated
        assert logged.body_length == len(body) and len(logged.body) <= 4096
        assert logged.form == [] and logged.json == {}

        # Without Content-Length (chunked), the mock stops reading at the cap.
        chunk = b"y" * 16_384
        with raw(mock) as sock:
            sock.sendall(
                f"POST {QUERY_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            for _ in range(10):  # 160 KiB, over the 64 KiB cap
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            status, _, _ = read_response(sock)
        assert status == 413
        logged = mock.requests[-1]
        assert logged.status == 413 and len(logged.body) <= 4096
        assert 64 * 1024 < logged.body_length <= 64 * 1024 + 65536  # read to the cap, not beyond

        # A body within the cap is answered as usual, and so is the next connection.
        assert signed_query(mock).status is not None


def test_a_50_mb_body_gets_413_before_it_is_all_sent() -> None:
    total = 50 * 1024 * 1024
    chunk = b"z" * 65536
    with example_mock() as mock, raw(mock) as sock:  # the default cap, 1 MiB
        sock.sendall(
            f"POST {QUERY_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {total}\r\n\r\n".encode()
        )
        sent = 0
        sock.setblocking(False)
        deadline = time.monotonic() + 20
        while sent < total and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if writable:
                try:
                    sent += sock.send(chunk)
                except (BlockingIOError, InterruptedError):
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
        sock.setblocking(True)
        sock.settimeout(10)
        status, _, _ = read_response(sock)
    assert status == 413
    assert sent < total // 2
    [logged] = mock.requests
    assert logged.body_length == total and logged.body == b"" and logged.truncated


def test_a_header_section_over_the_cap_gets_431() -> None:
    with example_mock(max_header_bytes=4096) as mock:
        with raw(mock) as sock:
            sock.sendall(request_bytes("POST", QUERY_PATH, b"{}", extra=f"X-Pad: {'p' * 8000}\r\n"))
            status, headers, body = read_response(sock)
            assert status == 431 and headers["connection"] == "close" and json.loads(body)["message"]
        assert signed_query(mock).status is not None


# -- the log ---------------------------------------------------------------------------------


def test_the_log_keeps_the_latest_requests_only() -> None:
    with example_mock(keep_requests=5) as mock, httpx.Client(base_url=mock.base_url) as client:
        for number in range(12):
            assert client.get(f"/nowhere/{number}").status_code == 404
    assert [r.path for r in mock.requests] == [f"/nowhere/{n}" for n in range(7, 12)]
    assert all(r.status == 404 for r in mock.requests)


def test_the_log_keeps_a_body_excerpt_and_bounded_parameters() -> None:
    with example_mock() as mock, httpx.Client(base_url=mock.base_url) as client:
        form = [(f"field{i:04d}", "v" * 20) for i in range(1000)]
        form_body = urllib.parse.urlencode(form)
        client.post(
            "/anywhere", content=form_body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        big = {"keyId": 12, "note": "n" * 2000, "blob": "b" * 50_000}
        client.post(QUERY_PATH, json=big)
        small = b'{"keyId": 3}'
        client.post(QUERY_PATH, content=small, headers={"Content-Type": "application/json"})
    [as_form, as_json, as_small] = mock.requests
    assert as_form.body_length == len(form_body) and len(as_form.body) == 4096 and as_form.truncated
    assert as_form.form == form[:128]  # the first parameters, bounded
    assert as_json.body_length > 52_000 and len(as_json.body) == 4096 and as_json.truncated
    assert as_json.json == {"keyId": 12, "note": "n" * 2000}  # the blob is over the bound
    assert as_json.value("body", "keyId") == "12" and as_json.has_param("json", "note")
    assert as_small.json == {"keyId": 3} and not as_small.truncated and as_small.body == small

    # The request being answered (what a respond function receives) stays whole.
    whole = MockRequest(
        "POST", QUERY_PATH, [], {"content-type": "application/json"}, json.dumps(big).encode()
    )
    mock.answer(whole)
    assert whole.json == big and whole.body_length == len(whole.body) > 52_000
    assert len(mock.requests[-1].body) == 4096 and mock.requests[-1].json == {"keyId": 12, "note": "n" * 2000}


# -- timeouts --------------------------------------------------------------------------------


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    with example_mock(idle_timeout=0.25) as mock:
        with raw(mock) as sock:
            started = time.monotonic()
            assert closed_within(sock, 5)  # connected, sent nothing
            assert 0.2 < time.monotonic() - started < 4
        with raw(mock) as sock:  # after an answer, kept alive, then idle
            sock.sendall(request_bytes("GET", "/nowhere"))
            assert read_response(sock)[0] == 404
            assert closed_within(sock, 5)
        assert [r.status for r in mock.requests] == [404]


def test_a_request_that_does_not_arrive_in_time_gets_408() -> None:
    with example_mock(idle_timeout=5, request_timeout=0.25) as mock:
        with raw(mock) as sock:  # a slow client: a byte at a time, never finishing
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            sock.settimeout(0.1)
            answer = b""
            while time.monotonic() - started < 5 and not answer:
                try:
                    sock.send(b"X")
                    answer = sock.recv(65536)
                except socket.timeout:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    break
            assert answer.startswith(b"HTTP/1.1 408 "), answer
        with raw(mock) as sock:  # headers arrived, the body does not
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            assert read_response(sock)[0] == 408
            assert closed_within(sock, 5)
        assert mock.requests[-1].status == 408 and mock.requests[-1].body_length == 1


# -- an answer for every request ---------------------------------------------------------------


def test_a_deeply_nested_json_body_gets_400_and_the_mock_goes_on() -> None:
    with example_mock() as mock:
        with raw(mock) as sock:
            sock.sendall(request_bytes("POST", QUERY_PATH, b"[" * 100_000))
            status, _, body = read_response(sock)
            assert status == 400 and "nested too deeply" in json.loads(body)["message"]
            sock.sendall(request_bytes("GET", "/nowhere"))  # the same connection still serves
            assert read_response(sock)[0] == 404
        assert signed_query(mock).status is not None
    assert [r.status for r in mock.requests] == [400, 404, 200]
    assert mock.requests[0].json == {} and len(mock.requests[0].body) == 4096


def test_a_form_body_with_too_many_fields_gets_400() -> None:
    with example_mock() as mock, raw(mock) as sock:
        sock.sendall(request_bytes("POST", QUERY_PATH, b"a=1&" * 20_000, "application/x-www-form-urlencoded"))
        status, _, body = read_response(sock)
    assert status == 400 and "more than 10000 fields" in json.loads(body)["message"]


def test_a_failing_respond_function_gets_500_and_the_mock_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def respond(request: MockRequest) -> dict[str, Any]:
        raise ZeroDivisionError("scenario bug")

    steps = [{"respond": respond}, {"data": {"msgId": "m-1", "status": "1"}}]
    with MockProvider(API, CREDENTIALS, scenario={"get_report": steps}) as mock:
        with pytest.raises(Exception):
            signed_query(mock)
        assert signed_query(mock).status == "1"
    assert [r.status for r in mock.requests] == [500, 200]
    assert "ZeroDivisionError: scenario bug" in caplog.text


def test_an_answer_h11_refuses_and_a_head_request_are_answered() -> None:
    steps = [{"data": {}, "headers": {"X-Bad": "line\r\nbreak"}}, {"data": {"msgId": "m-1", "status": "1"}}]
    with MockProvider(API, CREDENTIALS, scenario={"get_report": steps}) as mock:
        with pytest.raises(Exception):
            signed_query(mock)
        assert signed_query(mock).status == "1"
        with raw(mock) as sock:
            sock.sendall(b"HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            data = sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 404 ")
            sock.sendall(request_bytes("GET", "/nowhere"))
            assert read_response(sock)[0] == 404
    assert [r.status for r in mock.requests][:2] == [200, 200]  # both were answered by the scenario


def test_malformed_http_gets_400() -> None:
    with example_mock() as mock:
        with raw(mock) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            status, headers, _ = read_response(sock)
            assert status == 400 and headers["connection"] == "close"
        assert signed_query(mock).status is not None


def test_limits_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="max_body_bytes"):
        example_mock(max_body_bytes=-1)
