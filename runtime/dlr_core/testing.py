"""Testing code that uses a generated client, without a network or a server thread.

``MockTransport`` is an ``httpx`` transport (sync and async) that answers every request the
way ``dlr_core.mock.MockProvider`` does, from the provider's spec: the same signature and
parameter checks, the same scenarios, the same request log. Nothing listens on a socket.

    import dlr_acme_sms
    from dlr_core.testing import MockTransport

    def test_delivered() -> None:
        mock = MockTransport(dlr_acme_sms.API, {"api_key": "k", "api_secret": "s"})
        with mock.client(dlr_acme_sms.Client) as client:
            [receipt] = client.fetch_receipts(message_id="m-1")
        assert receipt.status.is_final and mock.requests[0].authenticated

``mock.client`` makes a client of either kind: given a generated ``AsyncClient`` class, it
sends through an ``httpx.AsyncClient`` (``mock.async_client`` does the same):

    async def test_delivered_async() -> None:
        mock = MockTransport(dlr_acme_sms.API, {"api_key": "k", "api_secret": "s"})
        async with mock.client(dlr_acme_sms.AsyncClient) as client:
            [receipt] = await client.fetch_receipts(message_id="m-1")

With pytest, the ``dlr_mock`` fixture (this module is a pytest plugin: add
``pytest_plugins = ["dlr_core.testing"]`` to a ``conftest.py``) makes one per test:
``dlr_mock(dlr_acme_sms.API, credentials, scenario=...)``.

Needs dlr-core's ``mock`` extra (the mock's HTTP parser, h11, is imported with it).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx

from dlr_core.async_client import AsyncClientBase
from dlr_core.spec import ApiSpec
from dlr_core.sync_client import SyncClientBase

if TYPE_CHECKING:  # the mock (and h11) load when a transport is made: this module is a
    # pytest plugin, imported by every test run of a project with dlr-core installed
    from dlr_core.mock import MockRequest, Step

__all__ = ["MockTransport"]

ClientType = TypeVar("ClientType")


class MockTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves a provider's API from its spec, in process (see the module's documentation)."""

    def __init__(
        self,
        api: ApiSpec,
        credentials: Mapping[str, str],
        *,
        scenario: Mapping[str, Sequence[Step]] | None = None,
        max_clock_skew: float | None = 900.0,
    ) -> None:
        from dlr_core.mock import MockProvider

        self.api = api
        self.credentials: dict[str, str] = dict(credentials)
        self._mock = MockProvider(api, credentials, scenario=scenario, max_clock_skew=max_clock_skew)

    @property
    def requests(self) -> deque[MockRequest]:
        """The requests received, oldest first, with what the mock made of them."""
        return self._mock.requests

    def client(self, client_class: Callable[..., ClientType], **options: Any) -> ClientType:
        """A client of ``client_class`` (a generated ``Client`` or ``AsyncClient``) with the
        transport's credentials, sending through this transport with the ``http_client``
        its kind takes. ``options`` go to the constructor."""
        make_async = _is_async(client_class, default=False)
        return self._client(client_class, make_async, options)

    def async_client(self, client_class: Callable[..., ClientType], **options: Any) -> ClientType:
        """The same as ``client`` (made for a generated ``AsyncClient``; a ``Client`` works too)."""
        make_async = _is_async(client_class, default=True)
        return self._client(client_class, make_async, options)

    def _client(self, client_class: Callable[..., ClientType], make_async: bool, options: Any) -> ClientType:
        http = self.async_http_client() if make_async else self.http_client()
        return client_class(**{**self.credentials, "http_client": http, **options})

    def http_client(self) -> httpx.Client:
        """An ``httpx.Client`` sending through this transport (``Client(http_client=...)``)."""
        return httpx.Client(transport=self)

    def async_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._mock.answer(_received(request, request.read()))
        if answer.delay:
            time.sleep(answer.delay)
        return _response(answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._mock.answer(_received(request, await request.aread()))
        if answer.delay:
            await anyio.sleep(answer.delay)
        return _response(answer)


def _is_async(client_class: object, *, default: bool) -> bool:
    """Whether ``client_class`` is an async client; ``default`` for a factory that is not a
    client class (a function, a ``functools.partial``)."""
    if isinstance(client_class, type):
        if issubclass(client_class, AsyncClientBase):
            return True
        if issubclass(client_class, SyncClientBase):
            return False
    return default


def _received(request: httpx.Request, body: bytes) -> MockRequest:
    """The request as the mock's server would have read it off the wire."""
    from dlr_core.mock import MockRequest

    target = request.url.raw_path.decode("ascii", "replace")
    return MockRequest.received(request.method, target, list(request.headers.items()), body)


def _response(answer: Any) -> httpx.Response:
    headers = {"Content-Type": f"{answer.content_type}; charset=utf-8", **answer.headers}
    return httpx.Response(answer.status, headers=headers, content=answer.body)


try:  # the fixture, when pytest is there to use it
    import pytest
except ImportError:  # pragma: no cover - pytest is a test-time dependency only
    pass
else:

    @pytest.fixture
    def dlr_mock() -> Iterator[Callable[..., MockTransport]]:
        """Makes in-process provider mocks: ``dlr_mock(API, credentials, scenario=...)``."""
        yield MockTransport
