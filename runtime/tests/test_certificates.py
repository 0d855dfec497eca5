"""dlr_core.certificates: where a push's certificate URL may point (checked before any
fetch), the bounded, cached fetch through an injectable fetcher, and the https fetch itself
(redirects not followed, size bounded) against a local server; and dlr_core.callback_app's
bounded confirmation GET."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dlr_core.callbacks import CallbackError, confirm_by_get
from dlr_core.certificates import (
    MAX_CERTIFICATE_BYTES,
    CertificateError,
    CertificateSource,
    CertificateStore,
    StaticCertificates,
    default_store,
    fetch_https,
    make_test_certificate,
)

SOURCE = CertificateSource(r"^certs\.[a-z0-9-]{3,}\.example\.com$", r"\.pem$")
URL = "https://certs.eu-west.example.com/signer.pem"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (URL, None),
        ("https://CERTS.eu-west.example.com/signer.pem", None),  # hosts are case-insensitive
        ("https://certs.eu-west.example.com:443/signer.pem", None),
        ("http://certs.eu-west.example.com/signer.pem", "not https"),
        ("https://certs.eu-west.example.com.evil.test/signer.pem", "not one the spec allows"),
        ("https://evil.test/certs.eu-west.example.com/signer.pem", "not one the spec allows"),
        ("https://certs.eu-west.example.com:8443/signer.pem", "a port"),
        ("https://me:pw@certs.eu-west.example.com/signer.pem", "a user"),
        ("https://certs.eu-west.example.com/signer.txt", "path"),
        ("https://[::1/signer.pem", "not a URL"),
    ],
)
def test_where_a_certificate_may_come_from(url: str, why: str | None) -> None:
    refusal = SOURCE.refusal(url)
    assert (refusal is None) if why is None else (refusal is not None and why in refusal)


@pytest.fixture(scope="module")
def pem() -> str:
    return make_test_certificate()[1]


def test_a_refused_url_is_never_fetched_and_a_fetched_one_is_cached(pem: str) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return pem.encode("ascii")

    store = CertificateStore(fetch, max_entries=2)
    with pytest.raises(CertificateError, match="not https"):
        store.public_key("http://certs.eu-west.example.com/signer.pem", SOURCE)
    assert fetched == []
    first = store.public_key(URL, SOURCE)
    assert store.public_key(URL, SOURCE) is first and fetched == [URL] and store.fetches == 1
    others = [f"https://certs.eu-west.example.com/{n}.pem" for n in ("a", "b")]
    for other in others:  # two more URLs: the least recently used (URL) is dropped
        store.public_key(other, SOURCE)
    store.public_key(URL, SOURCE)
    assert fetched == [URL, *others, URL]


def test_what_is_fetched_is_bounded_and_must_be_a_certificate() -> None:
    with pytest.raises(CertificateError, match="larger than"):
        CertificateStore(lambda url: b"x" * (MAX_CERTIFICATE_BYTES + 1)).public_key(URL, SOURCE)
    with pytest.raises(CertificateError, match="not a PEM X.509 certificate"):
        CertificateStore(lambda url: b"-----BEGIN CERTIFICATE-----\nAAAA\n").public_key(URL, SOURCE)
    with pytest.raises(CertificateError, match="no certificate is known"):
        CertificateStore(StaticCertificates({})).public_key(URL, SOURCE)


def test_the_default_store_is_one_per_process() -> None:
    assert default_store() is default_store()
    assert "cached" in repr(default_store()) and "1 certificates" in repr(StaticCertificates({URL: "x"}))


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cert")
            self.end_headers()
            return
        body = b"y" * (MAX_CERTIFICATE_BYTES + 10) if self.path == "/huge" else b"cert"
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.slow  # a local HTTP server, real connections
def test_fetch_follows_no_redirect_and_reads_no_more_than_the_bound(server: str) -> None:
    """The fetch itself (plain http here: the https rule is the source's, checked before)."""
    assert fetch_https(f"{server}/cert") == b"cert"
    with pytest.raises(CertificateError, match="HTTP 302"):
        fetch_https(f"{server}/redirect")
    with pytest.raises(CertificateError, match="larger than"):
        fetch_https(f"{server}/huge")
    with pytest.raises(CertificateError, match="HTTP 404"):
        fetch_https(f"{server}/missing")
    with pytest.raises(CertificateError, match="cannot be fetched"):
        fetch_https("http://127.0.0.1:9/cert", timeout=1.0)


@pytest.mark.slow
def test_confirming_a_handshake_is_a_bounded_get(server: str) -> None:
    confirm_by_get(f"{server}/cert")
    for path in ("/redirect", "/missing"):
        with pytest.raises(CallbackError, match="answered HTTP"):
            confirm_by_get(f"{server}{path}")
