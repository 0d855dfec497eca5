"""aiohttp for async clients (``transport="aiohttp"``): the ``dlr-core[aiohttp]`` extra.

An async client made with ``transport="aiohttp"`` sends its calls straight to an aiohttp
``ClientSession`` of its own (``AiohttpSender``): the signed request's method, URL, headers
and body go to aiohttp, and the answer's status, headers and raw (still compressed) body
come back to the client's bounded reader, with no httpx request or response built on the
way (they cost about as much as aiohttp itself). Its token requests and ``prepare()`` use
an ``httpx.AsyncClient`` as before.

``AiohttpTransport``, for an ``http_client`` of your own, is httpx-aiohttp's transport with its errors told apart the way
httpx's own transport tells them, which the clients rely on: only a connection that could
not be made (``httpx.ConnectError``, ``httpx.ConnectTimeout``) means the request was not
sent; a connection lost or a read that timed out afterwards (``httpx.ReadError``,
``httpx.RemoteProtocolError``, ``httpx.ReadTimeout``) means it may have reached the provider
(a queue read is then never retried). Redirects are never followed and bodies arrive as
sent (compressed), for the client to decode within its size bound, as with httpx.

To give it to an ``http_client`` of your own::

    from dlr_core.transports import AiohttpTransport

    http = httpx.AsyncClient(transport=AiohttpTransport(limits=httpx.Limits(max_connections=20)))
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ssl
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

try:
    import aiohttp
    import httpx_aiohttp
    import yarl
except ImportError:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "the aiohttp transport needs aiohttp and httpx-aiohttp: pip install 'dlr-core[aiohttp]'"
    ) from None

__all__ = ["AiohttpSender", "AiohttpTransport", "environment_proxy"]


def _httpx_error(error: BaseException) -> type[httpx.TransportError]:
    """The httpx error an aiohttp one stands for (the most specific first)."""
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout
    if isinstance(error, aiohttp.ClientConnectorError):
        return httpx.ConnectError
    if isinstance(error, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout
    if isinstance(error, aiohttp.ClientProxyConnectionError):
        return httpx.ProxyError
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError
    if isinstance(error, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol
    return httpx.ReadError


@contextmanager
def _mapped() -> Iterator[None]:
    """aiohttp's errors (as raised, or as httpx-aiohttp mapped them) as httpx's."""
    try:
        yield
    except httpx.HTTPError as error:
        cause = error.__cause__
        if isinstance(cause, (aiohttp.ClientError, asyncio.TimeoutError)):
            raise _httpx_error(cause)(str(cause) or type(cause).__name__) from cause
        raise
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        raise _httpx_error(error)(str(error) or type(error).__name__) from error


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _mapped():
            await self._stream.aclose()


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """httpx-aiohttp's transport, its errors mapped as httpx's own transport maps them."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with _mapped():
            response = await super().handle_async_request(request)
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _Body(response.stream)
        return response


def _mapped_error(error: BaseException) -> httpx.TransportError:
    """The httpx error (raised from ``error``) an aiohttp one stands for: the client tells
    "not sent" from "may have been sent" by its class, as with httpx's own transport."""
    mapped = _httpx_error(error)(str(error) or type(error).__name__)
    mapped.__cause__ = error
    return mapped


def environment_proxy(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url`` (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, unless ``NO_PROXY`` excludes its host), as httpx reads them; None for
    none. Read once per client: every request of a client goes to its own origin."""
    proxies = urllib.request.getproxies()
    parts = urlsplit(base_url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    if "://" not in proxy:
        proxy = f"http://{proxy}"  # as httpx reads a bare host:port
    if urlsplit(proxy).scheme not in ("http", "https"):
        raise ValueError(
            f"the environment's proxy for {parts.scheme} is not an http(s) proxy, which is all the "
            "aiohttp transport can use: give the client an http_client of your own"
        )
    return proxy


@functools.lru_cache(maxsize=256)
def _encoded_url(url: str) -> yarl.URL:
    """``url`` (absolute, percent-encoded) as aiohttp takes it, made once: without a
    query, an operation's URL is the same on every call (a ``yarl.URL`` never changes)."""
    return yarl.URL(url, encoded=True)


class AiohttpSender:
    """What an async client with ``transport="aiohttp"`` sends with: one aiohttp
    ``ClientSession`` (made on first use, in the running event loop; a new one for a new
    loop), a connection per slot of the client, redirects never followed, bodies left as
    sent (compressed), TLS checked against the same certificates as httpx (``tls``), the
    environment's proxy for the client's origin (``proxy``) and the client's ``timeout``
    for connecting (a free connection included); the reads are bounded by the client's
    deadline on the whole attempt. aiohttp's errors are raised as the httpx errors
    ``AiohttpTransport`` maps them to."""

    def __init__(self, *, limit: int | None, timeout: float, tls: ssl.SSLContext, proxy: str | None) -> None:
        self._limit = limit if limit is not None else 100  # httpx's own default pool
        self._tls = tls
        # No timer per read (sock_read): the client bounds each attempt as a whole, reads
        # included (its deadline), and a timer rescheduled for every chunk cost as much as
        # a tenth of the client's own work per call.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=None
        )
        self._proxy: yarl.URL | None = None
        self._proxy_headers: dict[str, str] | None = None
        if proxy is not None:
            url = yarl.URL(proxy)
            if url.user is not None:  # credentials in the URL: sent as httpx sends them
                pair = f"{url.user}:{url.password or ''}".encode()
                self._proxy_headers = {
                    "Proxy-Authorization": f"Basic {base64.b64encode(pair).decode('ascii')}"
                }
                url = url.with_user(None)
            self._proxy = url
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed: bool = False
        """Whether ``aclose`` was called (the client then falls back to its http_client)."""

    def session(self) -> aiohttp.ClientSession:
        """The session, for the running event loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            self._loop = loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limit,
                    limit_per_host=0,
                    ssl=self._tls,
                    keepalive_timeout=5.0,  # httpx's expiry
                ),
                # Cookies a server sets go back to it, on IP addresses too, as httpx sends them.
                cookie_jar=aiohttp.CookieJar(unsafe=True),
                auto_decompress=False,  # the client decodes, within its size bound
                timeout=self._timeout,
            )
        return self._session

    async def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> aiohttp.ClientResponse:
        """The answer's status line and headers, its body still to read (``read``); ``url``
        absolute and already percent-encoded (sent as it is)."""
        try:
            return await self.session().request(
                method,
                _encoded_url(url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise _mapped_error(error) from error

    @staticmethod
    async def read(response: aiohttp.ClientResponse, feed: Callable[[bytes], None]) -> None:
        """The body, as it arrives, to ``feed`` (which may stop it by raising)."""
        try:
            async for chunk in response.content.iter_any():
                feed(chunk)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise _mapped_error(error) from error

    async def aclose(self) -> None:
        self.closed = True
        if self._session is not None:
            await self._session.close()
