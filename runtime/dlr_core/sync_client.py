"""The base of every generated synchronous client: ``ClientCore`` sending with an
``httpx.Client``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any
import httpx
from pydantic import BaseModel
from typing_extensions import Self
from dlr_core.errors import ProviderError, TransportError
from dlr_core.polling import PollResult
from dlr_core.receipt import Receipt
from dlr_core.retry import resolve
from dlr_core.core import ClientCore, keep_cookies, poll_result
from dlr_core.spec import ApiSpec, Model, OperationSpec, Paging, Params, Retries, Sleep
from dlr_core.wire.one_send import own_http_client
from dlr_core.wire.read import Unreadable


class SyncClientBase(ClientCore):
    """Base of every generated synchronous client."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str | None],
        *,
        http_client: httpx.Client | None,
        sleep: Sleep | None = None,
        **options: Any,
    ) -> None:
        if isinstance(http_client, httpx.AsyncClient):
            raise TypeError(
                f"{type(self).__name__} sends with an httpx.Client, not an httpx.AsyncClient: "
                "give it an httpx.Client, or use the package's AsyncClient"
            )
        super().__init__(api, credentials, **options)
        self._owns_http = http_client is None
        # The client's own http_client sends each request through its one transport directly
        # (chosen once, here, not per request): httpx's Client.send (auth and redirect flows,
        # event hooks, transport lookup: none of them used here) is about a tenth of a call.
        # With a proxy from the environment, httpx mounts a transport per scheme: it chooses.
        # Its own transport writes each request in one send (wire/one_send.py).
        self._http = http_client if http_client is not None else own_http_client()
        transport = getattr(self._http, "_transport", None)
        self._direct: httpx.BaseTransport | None = (
            transport
            if http_client is None
            and getattr(self._http, "_mounts", None) == {}
            and isinstance(transport, httpx.BaseTransport)
            else None
        )
        self._sleep = sleep or time.sleep

    def _http_client(self) -> httpx.Client:
        return self._http

    def dlr_call(
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
                    used = self._tokens.ensure(self._http)
                return self._attempt(operation, params, model, url)
            except (ProviderError, TransportError) as error:
                if self._renew_token(error, operation, used, renewed):
                    renewed = True
                    continue
                delay = self._retry_delay(policy, error, attempt, started, operation, renewed)
                if delay is None:
                    raise
            self._sleep(delay)
            attempt += 1

    def _attempt(
        self,
        operation: OperationSpec,
        params: BaseModel,
        model: type[Model],
        url: str | None,
    ) -> Model:
        # Signed afresh for every attempt: a new timestamp and nonce (the token is fetched
        # by dlr_call).
        request = self._prepare(operation, params, url)
        outgoing = self._outgoing(self._http, request)
        started = time.monotonic()
        try:
            response = self._send(outgoing)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from self._cause(exc)
        try:
            body = self._open_body(response, started)
            for chunk in self._read_already(response) or response.iter_raw():
                body.feed(chunk)
            content = body.finish()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, request) from self._cause(exc)
        except Unreadable as problem:
            raise self._unreadable(problem, request, response.status_code) from None
        finally:
            response.close()
        self._log(request, response.status_code, started)
        return self._parse(response.status_code, response.headers, content, model, operation)

    def _send(self, outgoing: httpx.Request) -> httpx.Response:
        """The response's headers, its body still to read. Never redirected, whatever the
        http_client says: see _open_body."""
        if self._direct is None or self._http.is_closed:
            return self._http.send(outgoing, stream=True, follow_redirects=False)
        response = self._direct.handle_request(outgoing)
        response.request = outgoing
        keep_cookies(self._http, response)
        return response

    def dlr_pages(
        self,
        operation: OperationSpec,
        params_model: type[Params],
        model: type[Model],
        values: Mapping[str, object],
        paging: Paging[Model],
        retries: Retries,
    ) -> Iterator[tuple[Params, Model]]:
        """For generated code: each page of a paged operation, with the parameters that
        fetched it, fetched only when the caller gets to it."""
        position: dict[str, int] | None = paging.first()
        seen, url = 0, None
        while position is not None:
            params = self.dlr_params(operation, params_model, {**values, **position})
            result = self.dlr_call(operation, params, model, retries, url)
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

    def dlr_wait_for_final(
        self,
        fetch: Callable[[], list[Receipt]],
        timeout: float | None,
        interval: float | None,
        sent_at: datetime | None,
    ) -> PollResult:
        """For generated code: ``fetch`` until every receipt is final or ``timeout`` passes."""
        first, every, limit = self._poll_plan(timeout, interval, sent_at)
        started = self._monotonic()
        if first:
            self._sleep(first)
        while True:
            result = poll_result(fetch())
            if result.complete or self._elapsed(started) + every > limit:
                return result
            self._sleep(every)

    # Deprecated aliases, for packages generated before dlr-core 1.3 (kept for 1.x).
    _call = dlr_call
    _pages = dlr_pages
    _wait_for_final = dlr_wait_for_final

    def close(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
