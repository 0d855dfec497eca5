"""The base of every generated asynchronous client: ``ClientCore`` sending with an
``httpx.AsyncClient`` (or aiohttp), at most ``max_concurrency`` requests at once, each
attempt under a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
import urllib.request
from typing import TYPE_CHECKING, Any, Literal
import anyio
import httpx
import sniffio
from pydantic import BaseModel
from typing_extensions import Self
from dlr_core.errors import ProviderError, TransportError
from dlr_core.polling import PollResult
from dlr_core.receipt import Receipt
from dlr_core.retry import resolve
from dlr_core.core import ClientCore, keep_cookies, poll_result
from dlr_core.spec import ApiSpec, AsyncSleep, Model, OperationSpec, Paging, Params, Retries
from dlr_core.wire.read import ACCEPT_ENCODING, TooSlow, Unreadable

if TYPE_CHECKING:
    from dlr_core.transports import AiohttpSender

_DEADLINE_GRACE = 0.25  # async: seconds past the budget before the attempt is cancelled
_RAW_BASES_KEPT = 32  # sets of request header names whose merged headers are kept

DEFAULT_MAX_CONCURRENCY = 20
"""Requests an async client has in flight at once, unless told otherwise (``max_concurrency``):
the others wait their turn in front of the HTTP pool, whose own queue then stays empty
(httpx walks every queued request and connection for each request it places)."""
HttpTransport = Literal["httpx", "aiohttp"]
"""What an async client sends with when it makes its own ``http_client``: httpx's own
transport, or aiohttp (the ``dlr-core[aiohttp]`` extra: its calls go straight to an aiohttp
session, see ``dlr_core.transports``)."""


class AsyncClientBase(ClientCore):
    """Base of every generated asynchronous client.

    At most ``max_concurrency`` requests are in flight at once (None: no bound); the others
    wait for a slot, which is not part of an attempt's ``timeout``. Without an
    ``http_client``, the client makes one with a connection per slot, sending with
    ``transport`` (``"httpx"``, or ``"aiohttp"`` with the ``dlr-core[aiohttp]`` extra).
    """

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        http_client: httpx.AsyncClient | None,
        sleep: AsyncSleep | None = None,
        transport: HttpTransport = "httpx",
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        **options: Any,
    ) -> None:
        if max_concurrency is not None and (
            isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1
        ):
            raise ValueError(f"max_concurrency must be a positive number or None, got {max_concurrency!r}")
        if isinstance(http_client, httpx.Client):
            raise TypeError(
                f"{type(self).__name__} sends with an httpx.AsyncClient, not an httpx.Client: "
                "give it an httpx.AsyncClient, or use the package's Client"
            )
        if transport not in ("httpx", "aiohttp"):
            raise ValueError(f"unknown transport {transport!r}; choose httpx or aiohttp")
        if transport != "httpx" and http_client is not None:
            raise ValueError(
                "transport= chooses how the client's own http_client sends: with an http_client given, "
                "give it the transport instead"
            )
        super().__init__(api, credentials, **options)
        self.max_concurrency: int | None = max_concurrency
        """Requests in flight at once (None: no limit but the HTTP pool's)."""
        self.transport: HttpTransport = transport
        self._owns_http = http_client is None
        # The client's own http_client sends each request through its one transport directly:
        # httpx's AsyncClient.send (auth and redirect flows, event hooks: none of them used
        # here) costs about a quarter of a request at high concurrency.
        self._direct: httpx.AsyncBaseTransport | None = None
        # With transport="aiohttp", calls skip httpx altogether (its http_client fetches
        # tokens and builds prepare()'s requests).
        self._sender: AiohttpSender | None = None
        self._raw_headers: dict[str, str] = {}
        self._raw_bases: dict[tuple[str, ...], dict[str, str]] = {}
        if http_client is None and transport == "aiohttp":
            self._http, self._sender = _aiohttp_sender(self.base_url, self.timeout, max_concurrency)
            # httpx's headers (User-Agent...) are sent on either path; the client's own
            # Accept-Encoding replaces httpx's (the encodings the bounded reader decodes).
            self._raw_headers = {
                **{name: value for name, value in self._http.headers.items() if name != "accept-encoding"},
                "Accept-Encoding": ACCEPT_ENCODING,
            }
        elif http_client is None:
            self._http, self._direct = _async_http_client(transport, max_concurrency)
        else:
            self._http = http_client
        self._sleep = sleep or asyncio.sleep
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _http_client(self) -> httpx.AsyncClient:
        return self._http

    async def dlr_call(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        retries: Retries = None,
        url: str | None = None,
    ) -> Model:
        """For generated code: one operation's answer as ``model``, the request signed afresh
        for every attempt, retried per ``retries`` (else the client's policy), a refused
        token renewed once; ``url`` replaces the operation's (a next-page link)."""
        policy = resolve(retries, self.retry_policy)
        started = self._monotonic()
        attempt, renewed = 1, False
        while True:
            used: tuple[str, ...] = ()
            try:
                if self._tokens:
                    used = await self._tokens.aensure(self._http)
                return await self._attempt(operation, params, model, url)
            except (ProviderError, TransportError) as error:
                if self._renew_token(error, operation, used, renewed):
                    renewed = True
                    continue
                delay = self._retry_delay(policy, error, attempt, started, operation, renewed)
                if delay is None:
                    raise
            await self._sleep(delay)
            attempt += 1

    async def _attempt(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        # Signed afresh for every attempt: a new timestamp and nonce (the token is fetched
        # by dlr_call).
        slots = self._semaphore()
        if slots is None:
            return await self._attempt_now(operation, params, model, url)
        async with slots:  # waiting for a slot is not part of the attempt's budget
            return await self._attempt_now(operation, params, model, url)

    def _semaphore(self) -> asyncio.Semaphore | None:
        """The client's ``max_concurrency`` slots, for the running event loop."""
        if self.max_concurrency is None:
            return None
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.max_concurrency))
        return self._slots[1]

    async def _attempt_now(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        if self._sender is not None and not self._sender.closed:
            return await self._attempt_raw(self._sender, operation, params, model, url)
        request = self._prepare(operation, params, url)
        outgoing = self._outgoing(self._http, request)
        started = time.monotonic()
        response: httpx.Response | None = None
        try:
            # The whole attempt, headers included, within the budget (and a little grace
            # for the deadline checks between chunks to speak first).
            async with _deadline(self.timeout + _DEADLINE_GRACE):
                try:
                    response = await self._send(outgoing)
                    body = self._open_body(response, started)
                    read = self._read_already(response)
                    for chunk in read or ():
                        body.feed(chunk)
                    if read is None:
                        async for chunk in response.aiter_raw():
                            body.feed(chunk)
                    content = body.finish()
                except httpx.HTTPError as exc:
                    raise self._transport_error(exc, request) from self._cause(exc)
        except TimeoutError:
            raise self._unreadable(TooSlow(), request, 0) from None
        except Unreadable as problem:
            status = response.status_code if response is not None else 0
            raise self._unreadable(problem, request, status) from None
        finally:
            if response is not None:
                await response.aclose()
        self._log(request, response.status_code, started)
        return self._parse(response.status_code, response.headers, content, model, operation)

    async def _attempt_raw(
        self,
        sender: AiohttpSender,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        """``_attempt_now`` straight through aiohttp: the same request, bounds and errors,
        without httpx's request and response objects."""
        request = self._prepare(operation, params, url)
        target = self._raw_target(request)
        headers = self._raw_headers_with(request.headers)
        started = time.monotonic()
        response = None
        read = False
        try:
            # aiohttp runs on asyncio alone: its own timeout, without asking sniffio. The
            # session sets no timer per read: this deadline bounds every read already.
            async with _asyncio_deadline(self.timeout + _DEADLINE_GRACE):
                try:
                    response = await sender.send(request.method, target, headers, request.body())
                    body = self._open_raw_body(response.status, response.headers, started)
                    await sender.read(response, body.feed)
                    content = body.finish()
                    read = True
                except httpx.HTTPError as exc:
                    raise self._transport_error(exc, request) from self._cause(exc)
        except TimeoutError:
            raise self._unreadable(TooSlow(), request, 0) from None
        except Unreadable as problem:
            status = response.status if response is not None else 0
            raise self._unreadable(problem, request, status) from None
        finally:
            if response is not None:
                # Read to its end, the connection goes back to the pool; else it is closed.
                response.release() if read else response.close()
        self._log(request, response.status, started)
        return self._parse(response.status, response.headers, content, model)

    def _raw_headers_with(self, own: Mapping[str, str]) -> Mapping[str, str]:
        """The headers of a request sent without httpx: the client's, those of the request
        replacing them whatever their case. The client's headers without the request's
        names are worked out once per set of names (an operation's are the same on every
        call)."""
        if not own:
            return self._raw_headers
        names = tuple(own)
        base = self._raw_bases.get(names)
        if base is None:
            lowered = {name.lower() for name in names}
            base = {name: value for name, value in self._raw_headers.items() if name.lower() not in lowered}
            if len(self._raw_bases) < _RAW_BASES_KEPT:
                self._raw_bases[names] = base
        merged = base.copy()
        merged.update(own)
        return merged

    async def _send(self, outgoing: httpx.Request) -> httpx.Response:
        """The response's headers, its body still to read. Never redirected, whatever the
        http_client says: see _open_body."""
        if self._direct is None or self._http.is_closed:
            return await self._http.send(outgoing, stream=True, follow_redirects=False)
        response = await self._direct.handle_async_request(outgoing)
        response.request = outgoing
        keep_cookies(self._http, response)
        return response

    async def dlr_call_each(
        self,
        operation: OperationSpec,
        batches: Sequence[BaseModel],
        model: type[Model],
        retries: Retries = None,
    ) -> list[Model]:
        """For generated code: ``dlr_call`` for each batch's parameters, concurrently (at most ``max_concurrency``
        batches at once; the client's slots bound the requests), the results in the order
        of ``batches``. When a batch fails (after its retries), the others still running
        are cancelled and the error of the first batch, in order, that failed is raised."""
        if len(batches) <= 1:
            return [await self.dlr_call(operation, params, model, retries) for params in batches]
        results: list[Model | None] = [None] * len(batches)
        failures: dict[int, BaseException] = {}
        queue = iter(enumerate(batches))

        async def worker() -> None:
            for index, params in queue:
                try:
                    results[index] = await self.dlr_call(operation, params, model, retries)
                except Exception as error:
                    failures[index] = error
                    raise

        workers = min(len(batches), self.max_concurrency or len(batches))
        tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if failures:
            raise failures[min(failures)]
        return [result for result in results if result is not None]

    async def dlr_pages(
        self,
        operation: OperationSpec,
        params_model: type[Params],
        model: type[Model],
        values: Mapping[str, object],
        paging: Paging[Model],
        retries: Retries,
    ) -> AsyncIterator[tuple[Params, Model]]:
        """For generated code: each page of a paged operation, with the parameters that
        fetched it, fetched only when the caller gets to it."""
        position: dict[str, int] | None = paging.first()
        seen, url = 0, None
        while position is not None:
            params = self.dlr_params(operation, params_model, {**values, **position})
            result = await self.dlr_call(operation, params, model, retries, url)
            yield params, result
            count = len(paging.items(result))
            if paging.next_url is not None:
                link = paging.next_url(result)
                if not link or count == 0:
                    return
                # Followed only on the client's own origin (UnsafeLinkError otherwise).
                url = self._next_link(url or self._build(operation, params).url, link)
                continue
            seen += count
            total = paging.total(result) if paging.total is not None else None
            pages = paging.page_count(result) if paging.page_count is not None else None
            position = paging.after(position, params, count, seen, total, pages)

    async def dlr_wait_for_final(
        self,
        fetch: Callable[[], Awaitable[list[Receipt]]],
        timeout: float | None,
        interval: float | None,
        sent_at: datetime | None,
    ) -> PollResult:
        """For generated code: ``fetch`` until every receipt is final or ``timeout`` passes."""
        first, every, limit = self._poll_plan(timeout, interval, sent_at)
        started = self._monotonic()
        if first:
            await self._sleep(first)
        while True:
            result = poll_result(await fetch())
            if result.complete or self._elapsed(started) + every > limit:
                return result
            await self._sleep(every)

    # Deprecated aliases, for packages generated before dlr-core 1.3 (kept for 1.x).
    _call = dlr_call
    _pages = dlr_pages
    _wait_for_final = dlr_wait_for_final
    _call_each = dlr_call_each

    async def aclose(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            await self._http.aclose()
        if self._sender is not None:
            await self._sender.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _deadline(seconds: float) -> contextlib.AbstractAsyncContextManager[object]:
    """``TimeoutError`` when the block takes longer than ``seconds``: asyncio's own timeout
    where there is one (Python 3.11+; half anyio's cost), else anyio's."""
    if _ASYNCIO_TIMEOUT is not None and sniffio.current_async_library() == "asyncio":
        return _ASYNCIO_TIMEOUT(seconds)
    return _AnyioDeadline(seconds)


_ASYNCIO_TIMEOUT: Callable[[float], contextlib.AbstractAsyncContextManager[object]] | None = getattr(
    asyncio, "timeout", None
)


def _asyncio_deadline(seconds: float) -> contextlib.AbstractAsyncContextManager[object]:
    """``_deadline`` where the event loop is known to be asyncio's (aiohttp's)."""
    if _ASYNCIO_TIMEOUT is not None:
        return _ASYNCIO_TIMEOUT(seconds)
    return _AnyioDeadline(seconds)


class _AnyioDeadline(contextlib.AbstractAsyncContextManager[object]):
    def __init__(self, seconds: float) -> None:
        self._scope = anyio.fail_after(seconds)

    async def __aenter__(self) -> object:
        return self._scope.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return self._scope.__exit__(exc_type, exc, traceback)


def _async_http_client(
    transport: HttpTransport, limit: int | None
) -> tuple[httpx.AsyncClient, httpx.AsyncBaseTransport | None]:
    """The http_client an async client makes for itself, a pool of as many connections as
    the client has slots, over httpx's transport or aiohttp's; and the transport every
    request goes through when there is only one (no proxy from the environment), which the
    client then sends through directly."""
    limits = (
        httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        if limit is not None
        else httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own
    )
    if transport == "httpx":
        if urllib.request.getproxies():  # httpx mounts a proxy per scheme: let it choose
            return httpx.AsyncClient(limits=limits), None
        direct: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(limits=limits, trust_env=True)
    else:
        from dlr_core.transports import AiohttpTransport  # ImportError without the extra

        direct = AiohttpTransport(limits=limits)
    return httpx.AsyncClient(transport=direct), direct


def _aiohttp_sender(
    base_url: str, timeout: float, limit: int | None
) -> tuple[httpx.AsyncClient, AiohttpSender]:
    """What an async client with ``transport="aiohttp"`` makes for itself: the aiohttp
    sender its calls go through, and an httpx client for the rest (token requests,
    ``prepare``), both checking TLS against the same certificates, both using the proxy
    the environment names (httpx as it reads it; aiohttp the one for the client's origin)."""
    from dlr_core.transports import AiohttpSender, environment_proxy  # ImportError without the extra

    tls = httpx.create_ssl_context()
    sender = AiohttpSender(limit=limit, timeout=timeout, tls=tls, proxy=environment_proxy(base_url))
    return httpx.AsyncClient(verify=tls), sender
