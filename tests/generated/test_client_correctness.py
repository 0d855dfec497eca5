"""What a generated client does where getting it wrong is silent: a refused OAuth2 token is
replaced and the call repeated once (when that is safe); ``fetch_receipts`` answers the ids
asked for and no others; a Retry-After past the deadline ends the call at once; and the
``dlr_mock`` fixture makes a client of either kind.

The in-process mock (``dlr_core.testing``) serves the committed packages; an OAuth2 spec
written here is generated into ``tmp_path`` and answered by an ``httpx.MockTransport``
written from RFC 6749 (4.4, 5.1) and RFC 6750 (3.1).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import dlr_core
from dlr_core import DeliveryStatus, Receipt
from dlr_core.client import answered_in_order
from dlr_core.retry import RetryPolicy, next_delay, parse_retry_after
from dlr_core.testing import MockTransport

from tests.conftest import run_client
from tests.generator.test_spec_features import cleanup_modules, generate_package  # noqa: F401 - a fixture

ITNIO = {"api_key": "test-key", "api_secret": "test-secret-value"}
UCLOUD = {"public_key": "ucloud-public", "private_key": "ucloud-private-value"}


class FakeTime:
    """Monotonic time that moves only when the client sleeps (no real waiting)."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def options(self, mode: str) -> dict[str, Any]:
        return {"monotonic": self.monotonic, "sleep": self.sleep if mode == "sync" else self.async_sleep}


def client_class(package: ModuleType, mode: str) -> Any:
    return package.Client if mode == "sync" else package.AsyncClient


# -- 1. Retry-After past the deadline -----------------------------------------------------


def itnio_rate_limited(dlr_mock: Any, retry_after: str) -> MockTransport:
    """An itnio mock that refuses once with HTTP 429 and ``retry_after``, then answers: a
    retry would succeed, so only a call that ended at once raises."""
    import dlr_itnio_voice

    steps = [{"status": 429, "headers": {"Retry-After": retry_after}}, {"data": {"keyId": 7, "status": 2}}]
    mock: MockTransport = dlr_mock(dlr_itnio_voice.API, ITNIO, scenario={"query_recall_flow_detail": steps})
    return mock


def test_a_huge_retry_after_ends_the_call_at_once_carrying_it(dlr_mock: Any, mode: str) -> None:
    import dlr_itnio_voice

    mock = itnio_rate_limited(dlr_mock, "99999999999999999999")
    fake = FakeTime()
    client = mock.client(client_class(dlr_itnio_voice, mode), **fake.options(mode))
    with pytest.raises(dlr_core.RateLimited) as caught:
        run_client(mode, client, lambda c: c.fetch_receipts(key_id=7))
    assert caught.value.retry_after == 99999999999999999999.0
    assert caught.value.attempts == 1 and len(mock.requests) == 1 and fake.sleeps == []


def test_a_retry_after_past_the_remaining_deadline_ends_the_call(dlr_mock: Any, mode: str) -> None:
    """Deadline 30 s: a first Retry-After of 20 s is waited for; a second one of 20 s would
    end 40 s after the first attempt, so the call ends there, with it."""
    import dlr_itnio_voice

    steps = [
        {"status": 429, "headers": {"Retry-After": "20"}},
        {"status": 429, "headers": {"Retry-After": "20"}},
        {"data": {"keyId": 7, "status": 2}},
    ]
    mock = dlr_mock(dlr_itnio_voice.API, ITNIO, scenario={"query_recall_flow_detail": steps})
    fake = FakeTime()
    policy = RetryPolicy(max_attempts=5, deadline=30.0)
    client = mock.client(client_class(dlr_itnio_voice, mode), retries=policy, **fake.options(mode))
    with pytest.raises(dlr_core.RateLimited) as caught:
        run_client(mode, client, lambda c: c.fetch_receipts(key_id=7))
    assert fake.sleeps == [20.0]
    assert caught.value.retry_after == 20.0 and caught.value.attempts == 2 and len(mock.requests) == 2


def test_an_http_date_retry_after_past_the_deadline_ends_the_call(dlr_mock: Any, mode: str) -> None:
    import dlr_itnio_voice

    now = datetime.now(timezone.utc).replace(microsecond=0)  # the mock checks signed times
    mock = itnio_rate_limited(dlr_mock, format_datetime(now + timedelta(hours=2), usegmt=True))
    fake = FakeTime()
    client = mock.client(client_class(dlr_itnio_voice, mode), clock=lambda: now, **fake.options(mode))
    with pytest.raises(dlr_core.RateLimited) as caught:
        run_client(mode, client, lambda c: c.fetch_receipts(key_id=7))
    assert caught.value.retry_after == 7200.0
    assert caught.value.attempts == 1 and len(mock.requests) == 1 and fake.sleeps == []


def test_a_retry_after_within_the_deadline_is_still_waited_for(dlr_mock: Any, mode: str) -> None:
    import dlr_itnio_voice

    mock = itnio_rate_limited(dlr_mock, "3")
    fake = FakeTime()
    client = mock.client(client_class(dlr_itnio_voice, mode), **fake.options(mode))
    [receipt] = run_client(mode, client, lambda c: c.fetch_receipts(key_id=7))
    assert receipt.status is DeliveryStatus.DELIVERED
    assert len(fake.sleeps) == 1 and fake.sleeps[0] >= 3.0 and len(mock.requests) == 2


def test_retry_after_of_any_length_is_a_wait_and_one_too_long_is_never_waited() -> None:
    now = datetime.now(timezone.utc)
    assert parse_retry_after("99999999999999999999", now) == 1e20
    assert parse_retry_after("9" * 400, now) == math.inf  # past float's range
    rate_limited = dlr_core.RateLimited("slow down", provider="p", http_status=429, retry_after=math.inf)
    assert next_delay(RetryPolicy(deadline=None), rate_limited, 1, 0.0) is None
    rate_limited.retry_after = 2 * 24 * 3600.0  # two days, with no deadline: not waited
    assert next_delay(RetryPolicy(deadline=None), rate_limited, 1, 0.0) is None
    rate_limited.retry_after = 120.0  # two minutes, with no deadline: waited
    assert next_delay(RetryPolicy(deadline=None), rate_limited, 1, 0.0) == 120.0


# -- 2. fetch_receipts answers the ids asked for ---------------------------------------------


def test_one_session_asked_gives_one_receipt(dlr_mock: Any, mode: str) -> None:
    """The mock's default answer is the docs' example, for session BmThtoRB: asked for
    another session, the client returns that session, unanswered, and not BmThtoRB."""
    import dlr_ucloud_usms

    mock = dlr_mock(dlr_ucloud_usms.API, UCLOUD)
    client = mock.client(client_class(dlr_ucloud_usms, mode))
    receipts = run_client(mode, client, lambda c: c.fetch_receipts(session_nos=["asked-1"]))
    assert [r.message_id for r in receipts] == ["asked-1"]
    assert receipts[0].status is DeliveryStatus.UNKNOWN and receipts[0].details == {"answered": False}


def test_250_sessions_asked_give_250_receipts_in_input_order(
    dlr_mock: Any, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    import dlr_ucloud_usms

    asked = [f"s-{index:03d}" for index in reversed(range(250))]
    asked[100] = "BmThtoRB"  # the one session the mock's example answers
    mock = dlr_mock(dlr_ucloud_usms.API, UCLOUD)
    client = mock.client(client_class(dlr_ucloud_usms, mode))
    caplog.set_level(logging.DEBUG, logger="dlr_core")
    receipts = run_client(mode, client, lambda c: c.fetch_receipts(session_nos=asked))
    assert [r.message_id for r in receipts] == asked
    assert len(mock.requests) == 3  # 100 a call
    assert receipts[100].status is DeliveryStatus.DELIVERED and receipts[100].recipient == "QbPtKJPa"
    assert all(r.details == {"answered": False} for i, r in enumerate(receipts) if i != 100)
    # The two calls without BmThtoRB were answered with it all the same: dropped, and said.
    dropped = [r.getMessage() for r in caplog.records if "not asked for dropped" in r.getMessage()]
    assert dropped == ["ucloud_usms: 1 receipt(s) for ids not asked for dropped (0 naming no id)"] * 2


def test_a_single_id_lookup_answered_for_another_id_returns_only_the_id_asked(
    dlr_mock: Any, mode: str
) -> None:
    import dlr_itnio_voice

    scenario = {"query_recall_flow_detail": [{"data": {"keyId": 8, "status": 2}}]}
    mock = dlr_mock(dlr_itnio_voice.API, ITNIO, scenario=scenario)
    client = mock.client(client_class(dlr_itnio_voice, mode))
    [receipt] = run_client(mode, client, lambda c: c.fetch_receipts(key_id=7))
    assert receipt.message_id == "7" and receipt.status is DeliveryStatus.UNKNOWN  # never key 8's DELIVERED


def _receipt(message_id: str | None, status: DeliveryStatus = DeliveryStatus.DELIVERED) -> Receipt:
    return Receipt(provider="p", status=status, raw_status={}, message_id=message_id, raw={})


def test_answered_in_order_keeps_each_ids_receipts_and_drops_the_rest() -> None:
    answer = [_receipt("b"), _receipt("x"), _receipt(None), _receipt("a"), _receipt("b")]
    receipts = answered_in_order(answer, ["a", "b", "c"], "message_id", "p")
    assert [r.message_id for r in receipts] == ["a", "b", "b", "c"]  # b: one per recipient
    assert [r.details.get("answered", True) for r in receipts] == [True, True, True, False]
    # Not an id lookup (no ids: a time window, a queue): nothing to filter.
    assert answered_in_order(answer, [], "message_id", "p") == answer


# -- 3. the dlr_mock fixture makes a client of either kind ---------------------------------


@pytest.mark.parametrize("form", ["client", "async_client"])
def test_the_mock_makes_a_client_of_either_kind(dlr_mock: Any, mode: str, form: str) -> None:
    import dlr_itnio_voice

    mock = dlr_mock(
        dlr_itnio_voice.API,
        ITNIO,
        scenario={"query_recall_flow_detail": [{"data": {"keyId": 7, "status": 2}}]},
    )
    client = getattr(mock, form)(client_class(dlr_itnio_voice, mode))
    [receipt] = run_client(mode, client, lambda c: c.fetch_receipts(key_id=7))
    assert receipt.status is DeliveryStatus.DELIVERED and mock.requests[0].authenticated


def test_an_http_client_of_the_other_kind_says_which_to_use() -> None:
    import dlr_itnio_voice

    with pytest.raises(
        TypeError, match=r"AsyncClient sends with an httpx\.AsyncClient.*the package's Client"
    ):
        dlr_itnio_voice.AsyncClient(**ITNIO, http_client=httpx.Client())
    with pytest.raises(TypeError, match=r"Client sends with an httpx\.Client.*the package's AsyncClient"):
        dlr_itnio_voice.Client(**ITNIO, http_client=httpx.AsyncClient())


# -- 4. a refused OAuth2 token is replaced, and the call repeated once --------------------

OAUTH2_SPEC = """\
dlrgen: 1
provider: oauth2_renewal
title: OAuth2 token renewal
docs: https://www.rfc-editor.org/rfc/rfc6750#section-3.1
servers:
  default: api
  choices:
    api: {url: https://api.example.com}
auth:
  credentials:
    client_id: {description: The OAuth2 client id.}
    client_secret: {description: The OAuth2 client secret., secret: true}
  default_scheme: oauth2
  schemes:
    oauth2:
      description: "Authorization: Bearer <access token>."
      sign:
        - as: access_token
          oauth2_client_credentials:
            token_url: /oauth2/token
            client_id: "{client_id}"
            client_secret: "{client_secret}"
            client_auth: form
      attach:
        header: {Authorization: "Bearer {access_token}"}
envelope:
  success: {http: 2xx}
  code: code
  message: message
operations:
  get_message:
    summary: Get a message (an idempotent GET).
    method: GET
    path: /messages
    params:
      message_id: {wire: id, in: query, type: string, required: true}
    response: {title: MessageAnswer, type: object, properties: {state: {status: state}}}
  read_reports:
    summary: Read the queue of reports (each handed out once).
    method: GET
    path: /reports
    consuming: true
    response: {title: ReportsAnswer, type: object, properties: {state: {status: state}}}
  query_messages:
    summary: Query messages (a POST).
    method: POST
    path: /messages/query
    params:
      message_id: {wire: id, in: json, type: string, required: true}
    response: {title: QueryAnswer, type: object, properties: {state: {status: state}}}
statuses:
  state:
    class: State
    type: string
    description: The message's state.
    values:
      - {value: ok, member: OK, canonical: delivered, description: Delivered.}
errors:
  - {code: 4001, kind: authentication, http_status: 400, description: The token has expired.}
"""

CLIENT_ID, CLIENT_SECRET = "sms-reader", "client-secret-value"


@dataclass
class OAuthServer:
    """A token endpoint (client credentials in the form) and an API that accepts only the
    latest token; ``refusals`` are how the API refuses the next requests, one each."""

    issued: list[str] = field(default_factory=list)
    api_requests: list[tuple[str, str]] = field(default_factory=list)  # (path, token)
    refusals: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            assert form == {
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
            self.issued.append(f"access-token-number-{len(self.issued) + 1}")
            return httpx.Response(200, json={"access_token": self.issued[-1], "token_type": "Bearer"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.api_requests.append((request.url.path, token))
        if self.refusals:
            status, body = self.refusals.pop(0)
            return httpx.Response(
                status, json=body, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        if token != self.issued[-1]:
            return httpx.Response(401, json={"code": 401, "message": "invalid token"})
        return httpx.Response(200, json={"state": "ok"})


UNAUTHORIZED = (401, {"code": 401, "message": "the access token expired"})
EXPIRED_IN_400 = (400, {"code": 4001, "message": "the access token expired"})


@pytest.fixture
def oauth2_package(tmp_path: Path, cleanup_modules: None) -> ModuleType:
    return generate_package(tmp_path, "oauth2_renewal", OAUTH2_SPEC)


def oauth2_client(package: ModuleType, mode: str, server: OAuthServer, **options: Any) -> Any:
    http: Any = (httpx.Client if mode == "sync" else httpx.AsyncClient)(
        transport=httpx.MockTransport(server.handle)
    )
    return client_class(package, mode)(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, http_client=http, **options
    )


def calls(mode: str, *steps: tuple[str, dict[str, Any]]) -> Any:
    """Run ``steps`` (method name, arguments) on a client, one after another; the results
    (or the exception raised, in its place)."""

    def sync(c: Any) -> list[Any]:
        results: list[Any] = []
        for name, arguments in steps:
            try:
                results.append(getattr(c, name)(**arguments))
            except dlr_core.DlrError as error:
                results.append(error)
        return results

    async def run_async(c: Any) -> list[Any]:
        results: list[Any] = []
        for name, arguments in steps:
            try:
                results.append(await getattr(c, name)(**arguments))
            except dlr_core.DlrError as error:
                results.append(error)
        return results

    return sync if mode == "sync" else run_async


GET = ("get_message", {"message_id": "m1"})
QUEUE = ("read_reports", {})
POST = ("query_messages", {"message_id": "m1"})


@pytest.mark.parametrize("operation", [GET, QUEUE, POST], ids=["get", "consuming", "post"])
def test_an_oauth2_401_fetches_a_new_token_and_repeats_the_call_once(
    oauth2_package: ModuleType, mode: str, operation: tuple[str, dict[str, Any]]
) -> None:
    """HTTP 401 says the request was not carried out (RFC 9110 15.5.2): repeating it is
    safe for any operation, a queue read or a POST included."""
    server = OAuthServer(refusals=[UNAUTHORIZED])
    fake = FakeTime()
    client = oauth2_client(oauth2_package, mode, server, retries=0, **fake.options(mode))
    [result] = run_client(mode, client, calls(mode, operation))
    assert str(result.state) == "ok"
    assert server.issued == ["access-token-number-1", "access-token-number-2"]
    assert [token for _, token in server.api_requests] == server.issued
    assert fake.sleeps == []  # repeated at once, not a retry (retries=0)


def test_a_second_401_is_an_authentication_error(oauth2_package: ModuleType, mode: str) -> None:
    server = OAuthServer(refusals=[UNAUTHORIZED, UNAUTHORIZED])
    fake = FakeTime()
    client = oauth2_client(oauth2_package, mode, server, **fake.options(mode))  # retries on
    first, then = run_client(mode, client, calls(mode, GET, GET))
    assert isinstance(first, dlr_core.AuthenticationError) and first.http_status == 401
    assert first.attempts == 2 and fake.sleeps == []
    # Two requests, each with its own token; the refused one is not kept for the next call.
    assert str(then.state) == "ok"
    assert server.issued == [f"access-token-number-{n}" for n in (1, 2, 3)]
    assert [token for _, token in server.api_requests] == server.issued


@pytest.mark.parametrize("operation", [QUEUE, POST], ids=["consuming", "post"])
def test_an_authentication_error_without_401_repeats_only_idempotent_calls(
    oauth2_package: ModuleType, mode: str, operation: tuple[str, dict[str, Any]]
) -> None:
    """An authentication error in an answer other than 401 does not say the provider did
    nothing: a queue read or a POST is not repeated (its token is still dropped); a GET is."""
    server = OAuthServer(refusals=[EXPIRED_IN_400, EXPIRED_IN_400])
    client = oauth2_client(oauth2_package, mode, server)
    refused, repeated = run_client(mode, client, calls(mode, operation, GET))
    assert isinstance(refused, dlr_core.AuthenticationError) and refused.code == "4001"
    assert refused.attempts == 1
    assert str(repeated.state) == "ok"  # the GET: refused with token 2, repeated with token 3
    assert server.api_requests == [
        (
            "/" + {"read_reports": "reports", "query_messages": "messages/query"}[operation[0]],
            "access-token-number-1",
        ),
        ("/messages", "access-token-number-2"),
        ("/messages", "access-token-number-3"),
    ]


def test_calls_refused_together_fetch_one_new_token(oauth2_package: ModuleType) -> None:
    """Three threads' calls are all refused with token 1 (none is answered before all were
    sent): each drops token 1 only while it is still the one cached, so one new token is
    fetched between them, and every call is repeated with it."""
    barrier = threading.Barrier(3, timeout=10)
    server = OAuthServer()
    answer = server.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") == "Bearer access-token-number-1":
            barrier.wait()
            server.api_requests.append((request.url.path, "access-token-number-1"))
            return httpx.Response(401, json={"code": 401, "message": "revoked"})
        return answer(request)

    server.handle = handle  # type: ignore[method-assign]
    client = oauth2_client(oauth2_package, "sync", server)
    results: list[Any] = []
    with client:
        threads = [
            threading.Thread(target=lambda: results.append(client.get_message(message_id="m")))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [str(r.state) for r in results] == ["ok"] * 3
    assert server.issued == ["access-token-number-1", "access-token-number-2"]
    assert sorted(token for _, token in server.api_requests) == [
        *["access-token-number-1"] * 3,
        *["access-token-number-2"] * 3,
    ]
