"""dlr_core.wire.one_send: the sync client's own transport writes each request in one
socket send (httpcore alone writes a POST's headers and body in two), and otherwise
behaves as httpx's: the same answers, httpx's errors, TLS, proxies from the environment."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from http_doubles import Server, serve

from dlr_core.wire.one_send import OneSendStream, OneSendTransport, own_http_client


class Recording(httpcore.NetworkStream):
    """A connection's stream that records what is written and read, in order."""

    def __init__(self, fail_writes: bool = False) -> None:
        self.events: list[tuple[str, bytes | float | None]] = []
        self.fail_writes = fail_writes
        self.closed = False

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self.fail_writes:
            raise httpcore.WriteError("the peer closed")
        self.events.append(("write", buffer))
        self.events.append(("write timeout", timeout))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.events.append(("read", None))
        return b"HTTP/1.1 200 OK\r\n"

    def close(self) -> None:
        self.closed = True

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        self.events.append(("start_tls", None))
        return Recording()

    def writes(self) -> list[bytes]:
        return [data for kind, data in self.events if kind == "write" and isinstance(data, bytes)]


def test_headers_wait_for_the_body_and_go_with_it() -> None:
    inner = Recording()
    stream = OneSendStream(inner)
    stream.write(b"POST / HTTP/1.1\r\n\r\n", timeout=3.0)
    assert inner.events == []  # held
    stream.write(b"a=1", timeout=3.0)
    stream.write(b"", timeout=3.0)  # h11's end of a Content-Length body: nothing
    assert inner.writes() == [b"POST / HTTP/1.1\r\n\r\na=1"]
    assert stream.read(100) == b"HTTP/1.1 200 OK\r\n"
    assert inner.writes() == [b"POST / HTTP/1.1\r\n\r\na=1"]  # nothing more was sent


def test_a_request_without_a_body_is_sent_before_the_answer_is_read() -> None:
    inner = Recording()
    stream = OneSendStream(inner)
    stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=2.5)
    stream.read(100)
    # Sent with the write's own timeout, then read.
    assert inner.events == [("write", b"GET / HTTP/1.1\r\n\r\n"), ("write timeout", 2.5), ("read", None)]


def test_a_large_body_is_sent_as_it_comes_not_copied() -> None:
    inner = Recording()
    stream = OneSendStream(inner)
    large = b"x" * (64 * 1024 + 1)
    stream.write(b"headers", timeout=None)
    stream.write(large, timeout=None)
    assert inner.writes() == [b"headers", large]
    stream.write(large, timeout=None)  # nothing held: sent at once
    assert inner.writes() == [b"headers", large, large]


def test_a_body_in_chunks_sends_the_headers_with_the_first() -> None:
    inner = Recording()
    stream = OneSendStream(inner)
    for chunk in (b"headers", b"one", b"two"):
        stream.write(chunk)
    stream.read(100)
    assert inner.writes() == [b"headersone", b"two"]


def test_a_held_request_that_cannot_be_sent_still_lets_the_answer_be_read() -> None:
    """httpcore reads the answer when writing a request fails (a server may answer with an
    error and close before reading it all); a write held until the read does the same."""
    inner = Recording(fail_writes=True)
    stream = OneSendStream(inner)
    stream.write(b"GET / HTTP/1.1\r\n\r\n")
    assert stream.read(100) == b"HTTP/1.1 200 OK\r\n"
    stream.write(b"POST / HTTP/1.1\r\n\r\n")
    with pytest.raises(httpcore.WriteError):  # the headers with the body: fails where it is
        stream.write(b"a=1")


def test_tls_sends_what_was_held_first_and_its_stream_holds_too() -> None:
    inner = Recording()
    stream = OneSendStream(inner)
    stream.write(b"CONNECT example.org:443 HTTP/1.1\r\n\r\n")
    tls = stream.start_tls(ssl.create_default_context(), "example.org")
    assert inner.events[0] == ("write", b"CONNECT example.org:443 HTTP/1.1\r\n\r\n")
    assert inner.events[-1] == ("start_tls", None)
    assert isinstance(tls, OneSendStream)
    stream.close()
    assert inner.closed


# -- through httpx, against a real server ---------------------------------------------------


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every socket write httpcore makes (httpcore's own sync stream, counted)."""
    from httpcore._backends.sync import SyncStream

    seen: list[bytes] = []
    original = SyncStream.write

    def counted(self: SyncStream, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            seen.append(buffer)
        original(self, buffer, timeout)

    monkeypatch.setattr(SyncStream, "write", counted)
    yield seen


def echo(handler: BaseHTTPRequestHandler, state: Server) -> None:
    body = f'{{"method": "{handler.command}"}}'.encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_each_request_is_one_send_where_httpx_alone_makes_two(writes: list[bytes], no_proxy: None) -> None:
    with serve(echo) as server:
        with httpx.Client() as plain:
            assert plain.post(server.url, content=b"a=1").json() == {"method": "POST"}
        assert len(writes) == 2  # httpcore alone: the headers, then the body
        writes.clear()
        with own_http_client() as http:
            for _ in range(3):  # one connection, kept alive
                assert http.post(server.url, content=b"a=1").json() == {"method": "POST"}
                assert http.get(server.url).json() == {"method": "GET"}
    assert len(writes) == 6
    assert all(write.endswith(b"\r\n\r\na=1") for write in writes[0::2])
    assert [request.method for request in server.seen] == ["POST"] + ["POST", "GET"] * 3


def test_with_a_proxy_in_the_environment_httpx_chooses_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx uses the environment's proxies only when it makes the transport itself."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with own_http_client() as http:
        with pytest.raises(httpx.ConnectError):  # to the proxy, on port 9: nobody there
            http.get("http://example.invalid/")


def test_no_server_is_httpx_s_connect_error(no_proxy: None) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with own_http_client() as http, pytest.raises(httpx.ConnectError) as raised:
        http.get(f"http://127.0.0.1:{port}/")
    assert isinstance(raised.value.__cause__, httpcore.ConnectError)


def _one_connection(answer: bytes, wait: threading.Event | None = None) -> tuple[str, threading.Thread]:
    """A server that reads one request, answers ``answer`` (after ``wait``), and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener, listener.accept()[0] as conn:
            conn.recv(65536)
            if wait is not None:
                wait.wait(5)
            conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", thread


def test_an_answer_cut_short_is_httpx_s_error_while_the_body_is_read(no_proxy: None) -> None:
    url, thread = _one_connection(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
    with own_http_client() as http:
        with http.stream("GET", url) as response:
            assert response.status_code == 200
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()
    thread.join(5)


def test_a_server_that_hangs_up_without_answering_is_httpx_s_error(no_proxy: None) -> None:
    url, thread = _one_connection(b"")
    with own_http_client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.post(url, content=b"a=1")
    thread.join(5)


def test_a_slow_answer_is_httpx_s_read_timeout(no_proxy: None) -> None:
    late = threading.Event()
    url, thread = _one_connection(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", late)
    with own_http_client() as http, pytest.raises(httpx.ReadTimeout):
        http.get(url, timeout=0.2)
    late.set()
    thread.join(5)


def test_https_through_the_transport(tmp_path: Path) -> None:
    """TLS: the request is written on the TLS stream in one send, and answered."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener, listener.accept()[0] as raw, server_context.wrap_socket(raw, server_side=True) as conn:
            received.append(conn.recv(65536))  # one TLS record: the whole request
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(cert_file))
    with httpx.Client(transport=OneSendTransport(client_context)) as http:
        response = http.post(f"https://localhost:{listener.getsockname()[1]}/", content=b"a=1")
    thread.join(5)
    assert response.text == "ok"
    assert received[0].startswith(b"POST / HTTP/1.1\r\n") and received[0].endswith(b"\r\n\r\na=1")
