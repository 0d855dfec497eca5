"""The sync client's own transport: httpx's HTTP/1.1 over httpcore, each request written to
the socket in one send.

httpcore writes a request's headers and its body in two socket sends. On a keep-alive
connection the server wakes for the headers, finds no body yet and waits for it: a POST cost
about a fifth more than a GET of the same answer on loopback (benchmarks/calls.py), where
one send costs as much as the GET. Here each connection's stream holds the first write (the
headers) until the next write or read, and sends the two together. Made through httpcore's
public network-backend interface; nothing of httpx or httpcore is patched.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.request import getproxies

import httpcore
import httpx

# A write this large is sent as it comes (headers first), not copied into one buffer.
_JOINED_AT_MOST = 64 * 1024

# httpcore's errors as httpx's, the most specific first (httpx's own transport maps them so).
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(exc: Exception) -> httpx.HTTPError | None:
    """httpx's error for an httpcore one, None for any other."""
    for theirs, ours in _ERRORS:
        if isinstance(exc, theirs):
            return ours(str(exc))
    return None


class OneSendStream(httpcore.NetworkStream):
    """A connection's stream whose first write waits for the next write (sent with it) or
    for the next read (sent before it): a request's headers and body go in one send."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        self._held = b""
        self._held_timeout: float | None = None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if not self._held:
            if len(buffer) > _JOINED_AT_MOST:
                self._stream.write(buffer, timeout)
            else:
                self._held, self._held_timeout = buffer, timeout
            return
        held, self._held = self._held, b""
        if len(buffer) > _JOINED_AT_MOST:
            self._stream.write(held, timeout)
            self._stream.write(buffer, timeout)
        else:
            self._stream.write(held + buffer, timeout)

    def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, b""
            self._stream.write(held, self._held_timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            self._flush()
        except httpcore.WriteError:
            # As httpcore does when writing a request fails: the server may have answered
            # (an error, before closing) all the same; reading tells.
            pass
        return self._stream.read(max_bytes, timeout)

    def close(self) -> None:
        self._held = b""
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._flush()
        return OneSendStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class OneSendBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, each connection's stream a ``OneSendStream``."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return OneSendStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return OneSendStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _Body(httpx.SyncByteStream):
    """An answer's body as httpcore reads it, its errors as httpx's."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class OneSendTransport(httpx.BaseTransport):
    """What ``httpx.HTTPTransport()`` is with its defaults (certificates verified, the
    environment's SSL settings, HTTP/1.1, httpx's connection limits), sending each request
    in one socket send. For the http_client a sync client makes for itself; proxies from the
    environment are mounted by httpx as before."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,  # httpx's default limits
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=OneSendBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if not isinstance(request.stream, Iterable):
            raise RuntimeError("a sync transport needs a request body it can iterate")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            answer = self._pool.handle_request(core_request)
        except Exception as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc
        if not isinstance(answer.stream, Iterable):
            raise RuntimeError("httpcore's sync pool gave a body it cannot iterate")
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def own_http_client() -> httpx.Client:
    """The http_client a sync client makes for itself: ``httpx.Client()``, its transport a
    ``OneSendTransport`` with httpx's default SSL context. With a proxy in the environment
    (read as httpx reads it), or an httpx without ``create_ssl_context`` in public, it is
    ``httpx.Client()`` as it comes: httpx uses the environment's proxies only when it
    chooses the transport itself."""
    create_ssl_context = getattr(httpx, "create_ssl_context", None)
    proxies = getproxies()
    if create_ssl_context is None or any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return httpx.Client()
    return httpx.Client(transport=OneSendTransport(create_ssl_context()))
