"""The async client's concurrency: ``max_concurrency`` bounds the requests in flight, and
``fetch_receipts`` sends its batches concurrently under that bound, in order; the transport
option; how requests are built over a caller's ``http_client``."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import httpx
import pytest

import dlr_core
from apis_in_code import CREDENTIALS, AsyncReportClient, ReportClient
from dlr_core.client import DEFAULT_MAX_CONCURRENCY


def _sessions(request: httpx.Request) -> list[str]:
    """The ids a request asks for: ``get_reports``' form ids, or ``get_report``'s one."""
    form = urllib.parse.parse_qsl(request.content.decode(), keep_blank_values=True)
    return [value for key, value in form if key.startswith("MsgIds.")] or [request.url.params["msgId"]]


def _answer(sessions: list[str], code: int = 0) -> httpx.Response:
    if code:
        return httpx.Response(200, json={"code": code, "message": f"refused {sessions[0]}"})
    data = {"reports": [{"msgId": s, "status": "DELIVRD"} for s in sessions]}
    if len(sessions) == 1:
        data.update(data["reports"][0])  # get_report's answer: one report
    return httpx.Response(200, json={"code": 0, "data": data})


class Gate(httpx.AsyncBaseTransport):
    """Holds every request until the test lets it through; counts those in flight."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.in_flight = 0
        self.peak = 0
        self.arrived: list[list[str]] = []
        self.waiting: list[asyncio.Event] = []
        self.fail = fail or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sessions = _sessions(request)
        self.arrived.append(sessions)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        release = asyncio.Event()
        self.waiting.append(release)
        try:
            await release.wait()
        finally:
            self.in_flight -= 1
        return _answer(sessions, self.fail.get(sessions[0], 0))

    async def settle(self, count: int) -> None:
        """Let the event loop run until ``count`` requests wait here (or it cannot move)."""
        for _ in range(1000):
            if len([e for e in self.waiting if not e.is_set()]) >= count:
                return
            await asyncio.sleep(0)

    def release_newest_first(self) -> None:
        for event in reversed(self.waiting):
            event.set()


def _client(gate: Gate, **options: Any) -> Any:
    return AsyncReportClient(**CREDENTIALS, http_client=httpx.AsyncClient(transport=gate), **options)


def test_max_concurrency_bounds_the_requests_in_flight() -> None:
    async def main() -> tuple[int, int]:
        gate = Gate()
        client = _client(gate, max_concurrency=3, retries=0)
        calls = [asyncio.ensure_future(client.get_report(message_id=f"s{i}")) for i in range(10)]
        finished = 0
        while finished < 10:
            await gate.settle(3)
            assert gate.in_flight <= 3
            gate.release_newest_first()
            done, _ = await asyncio.wait(calls, timeout=None, return_when=asyncio.FIRST_COMPLETED)
            finished = len(done)
        results = await asyncio.gather(*calls)
        assert [r.message_id for r in results] == [f"s{i}" for i in range(10)]
        return gate.peak, len(gate.arrived)

    peak, sent = asyncio.run(main())
    assert (peak, sent) == (3, 10)


def test_without_a_bound_every_request_goes_at_once() -> None:
    async def main() -> int:
        gate = Gate()
        client = _client(gate, max_concurrency=None, retries=0)
        calls = [asyncio.ensure_future(client.get_report(message_id=f"s{i}")) for i in range(30)]
        await gate.settle(30)
        peak = gate.peak
        gate.release_newest_first()
        await asyncio.gather(*calls)
        return peak

    assert asyncio.run(main()) == 30


def test_fetch_receipts_sends_batches_concurrently_and_keeps_the_input_order() -> None:
    ids = [f"s{i:03d}" for i in range(450)]  # 5 batches of at most 100

    async def main() -> tuple[list[dlr_core.Receipt], Gate]:
        gate = Gate()
        client = _client(gate, max_concurrency=3)
        task = asyncio.ensure_future(client.fetch_receipts(message_ids=ids))
        while not task.done():
            await gate.settle(3)
            gate.release_newest_first()  # later batches answer first
            await asyncio.sleep(0)
        return task.result(), gate

    receipts, gate = asyncio.run(main())
    assert gate.peak == 3
    assert sorted(len(batch) for batch in gate.arrived) == [50, 100, 100, 100, 100]
    assert [r.message_id for r in receipts] == ids
    assert all(r.status is dlr_core.DeliveryStatus.DELIVERED for r in receipts)


def test_a_failed_batch_cancels_the_others_and_its_error_is_raised() -> None:
    ids = [f"s{i:03d}" for i in range(500)]

    async def main() -> tuple[BaseException, Gate]:
        # Batches 1 and 3 are refused; 1 comes first in the input, whatever answers first.
        gate = Gate(fail={"s100": 400, "s300": 400})
        client = _client(gate, max_concurrency=5, retries=0)
        task = asyncio.ensure_future(client.fetch_receipts(message_ids=ids))
        await gate.settle(5)
        gate.release_newest_first()
        with pytest.raises(dlr_core.ProviderError) as caught:
            await task
        return caught.value, gate

    error, gate = asyncio.run(main())
    assert isinstance(error, dlr_core.InvalidRequest)
    assert error.code == "400" and "s100" in str(error)
    assert gate.in_flight == 0


def test_a_failed_batch_stops_the_batches_not_sent_yet() -> None:
    ids = [f"s{i:03d}" for i in range(500)]

    async def main() -> Gate:
        gate = Gate(fail={"s000": 400})
        client = _client(gate, max_concurrency=2, retries=0)
        task = asyncio.ensure_future(client.fetch_receipts(message_ids=ids))
        await gate.settle(2)
        gate.waiting[0].set()  # only the first batch answers: refused
        with pytest.raises(dlr_core.InvalidRequest):
            await task
        return gate

    gate = asyncio.run(main())
    assert [batch[0] for batch in gate.arrived] == ["s000", "s100"]  # nothing more was sent
    assert gate.in_flight == 0  # the second was cancelled


def test_every_batch_is_checked_before_any_is_sent() -> None:
    gate = Gate()
    client = _client(gate)
    ids: list[Any] = [f"s{i:03d}" for i in range(250)]
    ids[230] = {"not": "a session"}
    with pytest.raises(dlr_core.ParameterError):
        asyncio.run(client.fetch_receipts(message_ids=ids))
    assert gate.arrived == []


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3"])
def test_max_concurrency_is_a_positive_number_or_none(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        AsyncReportClient(**CREDENTIALS, max_concurrency=bad)


def test_the_default_bound_and_pool() -> None:
    client = AsyncReportClient(**CREDENTIALS)
    assert client.max_concurrency == DEFAULT_MAX_CONCURRENCY and client.transport == "httpx"
    pool = client._http._transport._pool  # the pool has one connection per slot
    assert pool._max_connections == DEFAULT_MAX_CONCURRENCY


def test_transport_choices() -> None:
    import aiohttp

    from dlr_core.transports import AiohttpSender

    client = AsyncReportClient(**CREDENTIALS, transport="aiohttp", max_concurrency=7)
    assert isinstance(client._sender, AiohttpSender)

    async def pool_then_close() -> tuple[int, aiohttp.ClientSession]:
        session = client._sender.session()  # made in the running loop, on first use
        assert session.connector is not None
        limit = session.connector.limit
        await client.aclose()
        return limit, session

    limit, session = asyncio.run(pool_then_close())
    assert limit == 7  # a connection per slot
    assert session.closed and client._http.is_closed
    with pytest.raises(ValueError, match="unknown transport"):
        AsyncReportClient(**CREDENTIALS, transport="curl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="http_client"):
        AsyncReportClient(**CREDENTIALS, transport="aiohttp", http_client=httpx.AsyncClient())


def test_requests_keep_the_http_clients_headers_and_cookies() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _answer(_sessions(request))

    for extra in ({}, {"cookies": {"route": "b7"}}):
        http = httpx.Client(
            transport=httpx.MockTransport(answer),
            headers={"X-Trace": "t-1", "Accept-Encoding": "br", "User-Agent": "mine/1"},
            **extra,
        )
        with ReportClient(**CREDENTIALS, http_client=http) as client:
            client.fetch_receipts(message_ids=["a"])
        request = seen.pop()
        assert request.headers["X-Trace"] == "t-1" and request.headers["User-Agent"] == "mine/1"
        # The client's own headers win: it decodes only what it asks for.
        assert request.headers.get_list("Accept-Encoding") == ["gzip, deflate"]
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert request.headers.get("Cookie") == ("route=b7" if extra else None)
        assert request.extensions["timeout"]["connect"] == 10.0  # the client's timeout


def test_cancelling_fetch_receipts_cancels_its_batches() -> None:
    ids = [f"s{i:03d}" for i in range(300)]

    async def main() -> Gate:
        gate = Gate()
        client = _client(gate, max_concurrency=3)
        task = asyncio.ensure_future(client.fetch_receipts(message_ids=ids))
        await gate.settle(3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return gate

    gate = asyncio.run(main())
    assert len(gate.arrived) == 3 and gate.in_flight == 0  # none left running, none sent after


@pytest.mark.parametrize(
    ("environment", "base_url", "proxy"),
    [
        ({}, "https://api.example.com/v1", None),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "https://api.example.com/v1", "http://proxy:3128"),
        ({"HTTPS_PROXY": "proxy:3128"}, "https://api.example.com", "http://proxy:3128"),  # as httpx reads it
        ({"HTTP_PROXY": "http://proxy:3128"}, "https://api.example.com", None),  # not for https
        ({"ALL_PROXY": "http://proxy:3128"}, "https://api.example.com", "http://proxy:3128"),
        ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "example.com"}, "https://api.example.com", None),
        (
            {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "other.org"},
            "https://api.example.com",
            "http://proxy:3128",
        ),
    ],
)
def test_the_aiohttp_transport_takes_the_environments_proxy_for_the_clients_origin(
    environment: dict[str, str], base_url: str, proxy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlr_core.transports import environment_proxy

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert environment_proxy(base_url) == proxy


def test_a_proxy_aiohttp_cannot_use_is_refused_when_the_client_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "socks5://proxy:1080")
    with pytest.raises(ValueError, match="not an http\\(s\\) proxy"):
        AsyncReportClient(**CREDENTIALS, transport="aiohttp")


def test_proxy_credentials_go_in_a_proxy_authorization_header() -> None:
    import ssl

    from dlr_core.transports import AiohttpSender

    sender = AiohttpSender(
        limit=1, timeout=1.0, tls=ssl.create_default_context(), proxy="http://me:s3cret@proxy:3128"
    )
    assert str(sender._proxy) == "http://proxy:3128"
    assert sender._proxy_headers == {"Proxy-Authorization": "Basic bWU6czNjcmV0"}  # base64 of me:s3cret


def test_without_the_extra_the_aiohttp_transport_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "dlr_core.transports", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'dlr-core\[aiohttp\]'"):
        AsyncReportClient(**CREDENTIALS, transport="aiohttp")


@pytest.mark.parametrize("deadline", ["asyncio", "anyio"])
def test_an_attempt_past_its_budget_is_a_timeout(deadline: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import dlr_core.async_client

    if deadline == "anyio":  # as on Python 3.10, which has no asyncio.timeout
        monkeypatch.setattr(dlr_core.async_client, "_ASYNCIO_TIMEOUT", None)
    gate = Gate()  # never lets the request through
    client = _client(gate, timeout=0.05, retries=0)
    with pytest.raises(dlr_core.RequestTimeout):
        asyncio.run(client.get_report(message_id="a"))
    assert len(gate.arrived) == 1 and gate.in_flight == 0


def test_over_aiohttp_a_requests_own_headers_replace_the_clients_whatever_their_case() -> None:
    """The client's headers without a request's names are worked out once per set of names;
    each request still gets its own values, and the client's headers are never changed."""
    pytest.importorskip("aiohttp")
    client = AsyncReportClient(**CREDENTIALS, transport="aiohttp")
    client._raw_headers = {"User-Agent": "ua/1", "accept": "*/*", "Accept-Encoding": "gzip"}
    kept = dict(client._raw_headers)
    first = client._raw_headers_with({"Accept": "application/json", "X-Sign": "one"})
    second = client._raw_headers_with({"Accept": "text/xml", "X-Sign": "two"})
    assert first == {
        "User-Agent": "ua/1",
        "Accept-Encoding": "gzip",
        "Accept": "application/json",
        "X-Sign": "one",
    }
    assert second == {"User-Agent": "ua/1", "Accept-Encoding": "gzip", "Accept": "text/xml", "X-Sign": "two"}
    assert client._raw_headers == kept and client._raw_headers_with({}) == kept
    other = client._raw_headers_with({"USER-AGENT": "mine/2"})
    assert other == {"accept": "*/*", "Accept-Encoding": "gzip", "USER-AGENT": "mine/2"}
