"""Generated clients, sync and async, against a loopback server that checks signatures
independently (tests/loopback.py) and answers with the docs' examples."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import dlr_core
from dlr_core import DeliveryStatus
from tests.loopback import LoopbackServer, providers, serve

SGATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SGATE_PEM = SGATE_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
OTHER_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)
PROVIDERS = providers(SGATE_KEY.public_key())

CREDENTIALS: dict[str, dict[str, str]] = {
    "aliyun_dysms": {"access_key_id": "LTAI-test", "access_key_secret": "aliyun-secret-123"},
    "ucloud_usms": {"public_key": "ucloud-public", "private_key": "ucloud-private-456"},
    "itnio_voice": {"api_key": "bDqJFiq9", "api_secret": "itnio-secret-789"},
    "sgate_otp": {"api_key": "sgate-key", "private_key_pem": SGATE_PEM},
}
WRONG_SECRET: dict[str, dict[str, str]] = {
    "aliyun_dysms": {"access_key_secret": "wrong-secret"},
    "ucloud_usms": {"private_key": "wrong-private"},
    "itnio_voice": {"api_secret": "wrong-secret"},
    "sgate_otp": {"private_key_pem": OTHER_PEM},
}
QUERIES: dict[str, dict[str, Any]] = {
    "aliyun_dysms": {
        "phone_number": "15298356881",
        "send_date": date(2019, 1, 8),
        "biz_id": "134523^4351232",
    },
    "ucloud_usms": {"session_nos": ["BmThtoRB", "nAQDODtO"]},
    "itnio_voice": {"key_id": 1},  # the id the docs' example answers
    "sgate_otp": {"mobile": "966580310251", "session_id": "800558b1fb8327742f17d63a3202093e"},
}
# What a reader of each doc expects the example to mean.
EXPECTED_STATUS = {
    "aliyun_dysms": DeliveryStatus.DELIVERED,
    "ucloud_usms": DeliveryStatus.DELIVERED,
    "itnio_voice": DeliveryStatus.SENDING,
    "sgate_otp": DeliveryStatus.FAILED,
}
ENVELOPE_ERROR = {
    "aliyun_dysms": (dlr_core.InvalidRequest, "isv.MOBILE_NUMBER_ILLEGAL"),
    "ucloud_usms": (dlr_core.InvalidRequest, "18003"),
    "itnio_voice": (dlr_core.InvalidRequest, "-22"),
    "sgate_otp": (dlr_core.ProviderError, "500"),
}
BASE_PATH = {"sgate_otp": "/openApi/v1"}  # SGATE signs the full path, base path included
PROVIDER_IDS = sorted(CREDENTIALS)


def package(provider: str) -> Any:
    return __import__(f"dlr_{provider}")


MODES = ["sync", "async", "aiohttp"]
"""The sync client; the async one over httpx's transport, and over aiohttp's."""


def query_itnio(mode: str, **options: Any) -> Any:
    """ITNIO's query_recall_flow_detail(key_id=1), with the client made with ``options``."""
    return run(mode, "itnio_voice", lambda c: c.query_recall_flow_detail(key_id=1), **options)


def run(mode: str, provider: str, call: Callable[[Any], Any], **options: Any) -> Any:
    """Make one call with the sync client, or the async one when mode is 'async' (over
    aiohttp when mode is 'aiohttp')."""
    pkg = package(provider)
    if mode == "sync":
        with pkg.Client(**{**CREDENTIALS[provider], **options}) as client:
            return call(client)
    if mode == "aiohttp":
        options = {**options, "transport": "aiohttp"}

    async def main() -> Any:
        async with pkg.AsyncClient(**{**CREDENTIALS[provider], **options}) as client:
            result = call(client)
            return await result if isinstance(result, Awaitable) else result

    return asyncio.run(main())


@pytest.fixture(params=PROVIDER_IDS)
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(provider: str) -> Iterator[LoopbackServer]:
    with serve(PROVIDERS[provider], BASE_PATH.get(provider, "")) as state:
        yield state


def secrets_of(provider: str) -> list[str]:
    pkg = package(provider)
    return [CREDENTIALS[provider][name] for name in pkg.API.secret_credentials]


def test_query_is_signed_and_parsed(provider: str, mode: str, server: LoopbackServer) -> None:
    operation = package(provider).API  # noqa: F841 - imported to show the package is generated
    receipts = run(mode, provider, lambda c: c.fetch_receipts(**QUERIES[provider]), base_url=server.base_url)
    assert server.verified == [True], "the server's independent check refused the signature"
    # The docs' example answers the first session of each query; UCloud's second session
    # (left out, as UCloud leaves out sessions with no receipt yet) stays open.
    assert [r.status for r in receipts if r.details.get("answered", True)] == [EXPECTED_STATUS[provider]]
    unanswered = [r for r in receipts if not r.details.get("answered", True)]
    assert all(r.status is DeliveryStatus.UNKNOWN for r in unanswered)
    assert len(receipts) == 1 + len(unanswered) and receipts[0].provider == provider


@pytest.mark.parametrize("scheme", ["v3", "rpc_v1"])
def test_alibaba_both_schemes(mode: str, scheme: str) -> None:
    with serve(PROVIDERS["aliyun_dysms"]) as server:
        result = run(
            mode,
            "aliyun_dysms",
            lambda c: c.query_send_details(**QUERIES["aliyun_dysms"]),
            base_url=server.base_url,
            auth_scheme=scheme,
        )
    assert server.verified == [True]
    assert result.total_count == 1
    [received] = server.received
    query = dict(received.query)
    assert query["PhoneNumber"] == "15298356881"
    assert query["SendDate"] == "20190108"  # a datetime.date, sent as yyyyMMdd
    assert query["PageSize"] == "10" and query["CurrentPage"] == "1"  # spec defaults
    if scheme == "rpc_v1":
        assert query["Action"] == "QuerySendDetails" and query["Version"] == "2017-05-25"
        assert query["Format"] == "JSON"
    else:
        assert received.headers["x-acs-action"] == "QuerySendDetails"
        assert received.headers["x-acs-version"] == "2017-05-25"


def test_wire_format_of_each_provider(mode: str) -> None:
    with serve(PROVIDERS["ucloud_usms"]) as server:
        run(
            mode,
            "ucloud_usms",
            lambda c: c.get_usms_send_receipt(session_nos=["a", "b", "c"], region="cn-zj"),
            base_url=server.base_url,
        )
    [received] = server.received
    assert received.method == "POST"
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(received.form)
    assert [form[f"SessionNoSet.{i}"] for i in range(3)] == ["a", "b", "c"]
    assert "SessionNoSet.3" not in form
    assert form["Action"] == "GetUSMSSendReceipt" and form["Region"] == "cn-zj"

    with serve(PROVIDERS["itnio_voice"]) as server:
        run(mode, "itnio_voice", lambda c: c.query_recall_flow_detail(key_id=12), base_url=server.base_url)
    [received] = server.received
    assert (received.method, received.path, received.body) == (
        "POST",
        "/voice/recallFlow/queryDetail",
        b'{"keyId":12}',
    )
    assert received.headers["content-type"] == "application/json;charset=UTF-8"

    with serve(PROVIDERS["sgate_otp"], "/openApi/v1") as server:
        run(
            mode,
            "sgate_otp",
            lambda c: c.otp_detail(mobile="966 580", session_id="abc"),
            base_url=server.base_url,
        )
    [received] = server.received
    assert (received.method, received.path) == ("GET", "/openApi/v1/otp/otpDetail")
    assert received.query == [("mobile", "966 580"), ("sessionid", "abc")]
    assert received.body == b""


def test_wrong_secret_is_an_authentication_error_without_secrets(
    provider: str, mode: str, server: LoopbackServer
) -> None:
    with pytest.raises(dlr_core.AuthenticationError) as caught:
        run(
            mode,
            provider,
            lambda c: c.fetch_receipts(**QUERIES[provider]),
            base_url=server.base_url,
            **WRONG_SECRET[provider],
        )
    assert server.verified == [False]
    error = caught.value
    assert error.provider == provider and not error.retryable
    text = str(error) + repr(error)
    for secret in secrets_of(provider) + list(WRONG_SECRET[provider].values()):
        assert secret not in text


def test_non_success_envelope_is_typed_by_the_spec(provider: str, mode: str, server: LoopbackServer) -> None:
    server.mode = "envelope_error"
    cls, code = ENVELOPE_ERROR[provider]
    with pytest.raises(cls) as caught:
        run(mode, provider, lambda c: c.fetch_receipts(**QUERIES[provider]), base_url=server.base_url)
    assert type(caught.value) is cls
    assert caught.value.code == code
    assert caught.value.raw_body  # the provider's answer is kept


def no_sleep(mode: str) -> Any:
    """A client's ``sleep`` that returns at once: retries still happen, without the backoff."""
    if mode == "sync":
        return lambda delay: None

    async def sleep(delay: float) -> None:
        return None

    return sleep


def test_html_error_pages_and_500s(provider: str, mode: str, server: LoopbackServer) -> None:
    fast = {"base_url": server.base_url, "sleep": no_sleep(mode)}
    server.mode = "html_502"
    with pytest.raises(dlr_core.ProviderError) as caught:
        run(mode, provider, lambda c: c.fetch_receipts(**QUERIES[provider]), **fast)
    assert caught.value.http_status == 502 and caught.value.retryable
    assert len(server.received) > 1  # retried (without waiting out the backoff)
    assert b"502 Bad Gateway" in caught.value.raw_body

    server.mode = "html_200"
    with pytest.raises(dlr_core.ProviderResponseError) as unexpected:
        run(mode, provider, lambda c: c.fetch_receipts(**QUERIES[provider]), **fast)
    assert "not JSON" in str(unexpected.value)
    assert unexpected.value.raw_body == b"<html><body>Maintenance</body></html>"

    server.mode = "status_500"
    with pytest.raises(dlr_core.ProviderError) as failed:
        run(mode, provider, lambda c: c.fetch_receipts(**QUERIES[provider]), **fast)
    assert failed.value.http_status == 500 and failed.value.retryable


def test_timeout_is_a_typed_error(mode: str) -> None:
    with serve(PROVIDERS["itnio_voice"]) as server:
        server.mode = "slow"
        with pytest.raises(dlr_core.RequestTimeout) as caught:
            query_itnio(
                mode,
                base_url=server.base_url,
                timeout=0.2,
                sleep=no_sleep(mode),
            )
    assert "itnio-secret-789" not in str(caught.value)
    assert caught.value.retryable


def test_connection_refused_is_a_transport_error(mode: str) -> None:
    with pytest.raises(dlr_core.TransportError) as caught:
        query_itnio(
            mode,
            base_url="http://127.0.0.1:9",
            sleep=no_sleep(mode),
        )
    assert type(caught.value) is dlr_core.TransportError
    assert caught.value.request_sent is False  # no connection: the request never left


def test_a_dropped_connection_may_have_reached_the_provider(mode: str) -> None:
    with serve(PROVIDERS["itnio_voice"]) as server:
        server.mode = "drop"
        with pytest.raises(dlr_core.TransportError) as caught:
            query_itnio(
                mode,
                base_url=server.base_url,
                retries=0,
            )
    assert type(caught.value) is dlr_core.TransportError  # not a timeout
    assert caught.value.request_sent is True
    assert len(server.received) == 1


def test_a_cookie_the_server_sets_goes_back_once(mode: str) -> None:
    with serve(PROVIDERS["itnio_voice"]) as server:
        server.mode = "set_cookie"

        def twice(client: Any) -> Any:
            if mode == "sync":
                return [client.query_recall_flow_detail(key_id=1) for _ in range(2)]

            async def calls() -> list[Any]:
                return [await client.query_recall_flow_detail(key_id=1) for _ in range(2)]

            return calls()

        run(mode, "itnio_voice", twice, base_url=server.base_url)
    assert [r.headers.get("cookie") for r in server.received] == [None, "route=b7"]
    assert server.verified == [True, True]


def test_redirects_are_never_followed(mode: str) -> None:
    with serve(PROVIDERS["itnio_voice"]) as server:
        server.mode = "redirect"
        with pytest.raises(dlr_core.UnexpectedRedirect) as caught:
            query_itnio(
                mode,
                base_url=server.base_url,
                retries=0,
            )
    assert caught.value.http_status == 302
    assert caught.value.location == "http://elsewhere.invalid/collect"
    assert len(server.received) == 1  # the signed request went nowhere else


def test_answers_are_bounded_after_decompression(mode: str) -> None:
    with serve(PROVIDERS["itnio_voice"]) as server:
        server.mode = "gzip_bomb"
        with pytest.raises(dlr_core.ResponseTooLarge) as caught:
            query_itnio(
                mode,
                base_url=server.base_url,
                max_response_bytes=1_000_000,
                retries=0,
            )
    assert caught.value.limit == 1_000_000
    assert 1_000_000 < caught.value.raw_body_length <= 1_000_000 + 64 * 1024
    assert caught.value.raw_body.startswith(b"000")


def test_parameters_are_checked_before_sending(mode: str) -> None:
    with serve(PROVIDERS["aliyun_dysms"]) as server:
        with pytest.raises(dlr_core.ParameterError, match="^page_size: ") as caught:
            run(
                mode,
                "aliyun_dysms",
                lambda c: c.query_send_details(phone_number="1", send_date=date.today(), page_size=51),
                base_url=server.base_url,
            )
        assert caught.value.parameter == "page_size"
        with pytest.raises(
            dlr_core.ParameterError, match="send_date: '2019-01-08' is not a date in the format"
        ):
            run(
                mode,
                "aliyun_dysms",
                lambda c: c.query_send_details(phone_number="1", send_date="2019-01-08"),
                base_url=server.base_url,
            )
        # The wire format is accepted as text too.
        run(
            mode,
            "aliyun_dysms",
            lambda c: c.query_send_details(phone_number="1", send_date="20190108"),
            base_url=server.base_url,
        )
    assert len(server.received) == 1  # nothing was sent for the invalid calls
    assert dict(server.received[0].query)["SendDate"] == "20190108"

    with serve(PROVIDERS["ucloud_usms"]) as server:
        with pytest.raises(dlr_core.ParameterError, match="^session_nos: "):
            run(
                mode,
                "ucloud_usms",
                lambda c: c.get_usms_send_receipt(session_nos=[str(i) for i in range(101)]),
                base_url=server.base_url,
            )
    assert server.received == []


def test_credentials_never_show_in_reprs(provider: str) -> None:
    pkg = package(provider)
    with pkg.Client(**CREDENTIALS[provider]) as client:
        text = repr(client) + str(client) + repr(vars(client))
    for secret in secrets_of(provider):
        assert secret not in text
    assert provider in repr(client)


def test_caller_supplied_http_client_is_used_and_left_open() -> None:
    import httpx

    from dlr_itnio_voice import Client

    with serve(PROVIDERS["itnio_voice"]) as server:
        http = httpx.Client(headers={"X-Trace": "t-1"})
        with Client(**CREDENTIALS["itnio_voice"], base_url=server.base_url, http_client=http) as client:
            client.query_recall_flow_detail(key_id=12)
        assert not http.is_closed
        http.close()
    assert server.received[0].headers["x-trace"] == "t-1"


def test_unknown_server_or_scheme_is_refused_clearly() -> None:
    from dlr_aliyun_dysms import Client

    with pytest.raises(ValueError, match="unknown server 'mars'; choose one of: default, ap_southeast_1"):
        Client(access_key_id="a", access_key_secret="b", server="mars")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown auth scheme 'v9'"):
        Client(access_key_id="a", access_key_secret="b", auth_scheme="v9")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="credential access_key_secret required"):
        Client(access_key_id="a", access_key_secret="")
    assert Client(access_key_id="a", access_key_secret="b", server="ap_southeast_1").base_url == (
        "https://dysmsapi.ap-southeast-1.aliyuncs.com"
    )


def test_logs_carry_no_secrets(
    provider: str, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG"):
        run("sync", provider, lambda c: c.fetch_receipts(**QUERIES[provider]), base_url=server.base_url)
        with pytest.raises(dlr_core.AuthenticationError):
            run(
                "sync",
                provider,
                lambda c: c.fetch_receipts(**QUERIES[provider]),
                base_url=server.base_url,
                **WRONG_SECRET[provider],
            )
    assert any(record.name == "dlr_core" for record in caplog.records)
    text = caplog.text
    for secret in secrets_of(provider) + list(WRONG_SECRET[provider].values()):
        assert secret not in text


def test_a_proxy_from_the_environment_is_used(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The async client sends through its transport directly only when no proxy is set:
    with one set (here a closed port), the request goes to the proxy, as with httpx; the
    aiohttp transport's session goes to it too."""
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with serve(PROVIDERS["itnio_voice"]) as server:
        with pytest.raises(dlr_core.TransportError):
            query_itnio(mode, base_url=server.base_url, retries=0)
        assert server.received == []  # never reached the provider directly
        monkeypatch.delenv("HTTP_PROXY")
        monkeypatch.delenv("http_proxy")
        query_itnio(mode, base_url=server.base_url, retries=0)
    assert len(server.received) == 1


def test_the_aiohttp_transport_sends_what_httpx_sends_without_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """transport="aiohttp" puts the same request on the wire as httpx's transport (method,
    path, body, headers), and builds no httpx request or response to do it."""
    import httpx

    def call(mode: str, server: LoopbackServer) -> tuple[Any, ...]:
        run(
            mode,
            "ucloud_usms",
            lambda c: c.get_usms_send_receipt(session_nos=["a", "b"], region="cn-zj"),
            base_url=server.base_url,
        )
        request = server.received[-1]
        return request.method, request.path, request.body, request.headers

    built: list[str] = []
    with serve(PROVIDERS["ucloud_usms"]) as server:
        over_httpx = call("async", server)
        for model in (httpx.Request, httpx.Response):
            original = model.__init__

            def counted(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
                built.append(type(self).__name__)
                __original(self, *args, **kwargs)

            monkeypatch.setattr(model, "__init__", counted)
        over_aiohttp = call("aiohttp", server)
    assert server.verified == [True, True]
    assert built == []
    assert over_aiohttp == over_httpx
    assert over_aiohttp[3]["user-agent"].startswith("python-httpx/")  # httpx's headers, as before


def test_a_clients_own_http_client_sends_through_its_transport(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a proxy in the environment, the http_client a client makes for itself is
    used through its one transport (chosen when the client is made), never through
    httpx's per-request ``send``; the answer, and a cookie it sets, are read as before."""
    import httpx

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("sent through httpx's Client.send")

    monkeypatch.setattr(httpx.Client, "send", refused)
    monkeypatch.setattr(httpx.AsyncClient, "send", refused)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    test_a_cookie_the_server_sets_goes_back_once(mode)
