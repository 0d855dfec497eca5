"""aiohttp as an httpx transport, for async clients (``transport="aiohttp"``): the
``dlr-core[aiohttp]`` extra, through the maintained ``httpx-aiohttp`` package.

``AiohttpTransport`` is httpx-aiohttp's transport with its errors told apart the way
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
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx

try:
    import aiohttp
    import httpx_aiohttp
except ImportError:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "the aiohttp transport needs aiohttp and httpx-aiohttp: pip install 'dlr-core[aiohttp]'"
    ) from None

__all__ = ["AiohttpTransport"]


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
