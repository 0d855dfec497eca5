"""Debugging a signature mismatch, and what real accounts need beyond the spec: ``prepare``
(the exact signed request, not sent), separate clocks for signatures and for deadlines,
client-level ``defaults`` for per-call parameters, and ``extra_params`` the spec does not
declare. Run against the mock provider, which checks every signature from the spec."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime, timezone
from typing import Any

import httpx
import pytest

import dlr_core
from dlr_core import DeliveryStatus, ParameterError, RetryPolicy
from dlr_core.client import SyncClientBase
from dlr_core.mock import MockProvider

from tests.conftest import call_client as call

CREDENTIALS: dict[str, dict[str, str]] = {
    "aliyun_dysms": {"access_key_id": "LTAI-debug", "access_key_secret": "aliyun-secret-value"},
    "ucloud_usms": {"public_key": "ucloud-public", "private_key": "ucloud-private-value"},
    "itnio_voice": {"api_key": "itnio-key", "api_secret": "itnio-secret-value"},
    "tencent_sms": {"secret_id": "AKID-debug", "secret_key": "tencent-secret-value"},
    "twilio_messaging": {"account_sid": "AC" + "0" * 32, "auth_token": "twilio-token-value"},
}
# (provider, client options, operation, arguments): every place a signature can cover.
CALLS = [
    (
        "aliyun_dysms",
        {},
        "query_send_details",
        {"phone_number": "15298356881", "send_date": date(2019, 1, 8)},
    ),
    (
        "aliyun_dysms",
        {"auth_scheme": "rpc_v1"},
        "query_send_details",
        {"phone_number": "15298356881", "send_date": date(2019, 1, 8), "page_size": 5},
    ),
    ("ucloud_usms", {}, "get_usms_send_receipt", {"session_nos": ["BmThtoRB", "nAQDODtO"]}),
    ("itnio_voice", {}, "query_recall_flow_detail", {"key_id": 12}),
    ("tencent_sms", {}, "pull_sms_send_status", {"sms_sdk_app_id": "1400006666", "limit": 10}),
    ("twilio_messaging", {}, "list_messages", {"to": "+15558675310"}),
]
CALL_IDS = [
    f"{provider}{'-' + options['auth_scheme'] if options else ''}" for provider, options, _, _ in CALLS
]
NOW = datetime.now(timezone.utc).replace(microsecond=0)  # the mock checks timestamps against real time


def package(provider: str) -> Any:
    return __import__(f"dlr_{provider}")


def fixed_clock() -> datetime:
    return NOW


def fixed_nonce() -> str:
    return "3f1c7b0e-5d7a-4e2b-9c61-8a0f2d4b6e11"


class Recorder:
    """An httpx transport that records what reaches it and answers 500 (nothing should)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500, json={"error": "nothing should have been sent"})

    def sync(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def async_(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def wire(request: httpx.Request) -> tuple[str, str, list[tuple[str, str]], bytes]:
    return request.method, str(request.url), list(request.headers.multi_items()), request.content


# -- prepare ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "options", "operation", "arguments"), CALLS, ids=CALL_IDS)
def test_prepare_is_exactly_the_signed_request_the_method_sends(
    provider: str, options: dict[str, Any], operation: str, arguments: dict[str, Any]
) -> None:
    pkg = package(provider)
    sent: list[httpx.Request] = []
    with MockProvider(pkg.API, CREDENTIALS[provider]) as mock:
        http = httpx.Client(event_hooks={"request": [sent.append]})
        with pkg.Client(
            **CREDENTIALS[provider],
            **options,
            base_url=mock.base_url,
            http_client=http,
            clock=fixed_clock,
            nonce=fixed_nonce,
            retries=0,
        ) as client:
            prepared = client.prepare(operation, **arguments)
            assert sent == [] and len(mock.requests) == 0  # prepared, not sent
            getattr(client, operation)(**arguments)
        [actual] = sent
        assert isinstance(prepared, httpx.Request)
        assert wire(prepared) == wire(actual)
        # The prepared request itself passes the provider's signature check as it is.
        response = http.send(prepared)
        http.close()
    assert response.status_code == 200, response.text
    assert [r.authenticated for r in mock.requests] == [True, True]


@pytest.mark.parametrize(("provider", "options", "operation", "arguments"), CALLS, ids=CALL_IDS)
def test_the_async_client_prepares_the_same_request_without_sending(
    provider: str, options: dict[str, Any], operation: str, arguments: dict[str, Any]
) -> None:
    pkg = package(provider)
    recorder = Recorder()
    common = dict(
        **CREDENTIALS[provider],
        **options,
        base_url="https://provider.test",
        clock=fixed_clock,
        nonce=fixed_nonce,
    )
    with pkg.Client(**common, http_client=recorder.sync()) as client:
        synchronous = client.prepare(operation, **arguments)

    async def main() -> httpx.Request:
        async with pkg.AsyncClient(**common, http_client=recorder.async_()) as client:
            return client.prepare(operation, **arguments)  # plain work: no await

    asynchronous = asyncio.run(main())
    assert wire(asynchronous) == wire(synchronous)
    assert recorder.requests == []


def test_every_prepare_signs_afresh_with_the_clients_clock_and_nonce() -> None:
    import dlr_aliyun_dysms

    moments = iter([datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 2, tzinfo=timezone.utc)])
    nonces = iter(["nonce-1", "nonce-2"])
    recorder = Recorder()
    with dlr_aliyun_dysms.Client(
        **CREDENTIALS["aliyun_dysms"],
        http_client=recorder.sync(),
        clock=lambda: next(moments),
        nonce=lambda: next(nonces),
    ) as client:
        first = client.prepare("query_send_details", phone_number="1", send_date=date(2024, 1, 1))
        second = client.prepare("query_send_details", phone_number="1", send_date=date(2024, 1, 1))
    assert (first.headers["x-acs-date"], first.headers["x-acs-signature-nonce"]) == (
        "2024-01-01T00:00:00Z",
        "nonce-1",
    )
    assert (second.headers["x-acs-date"], second.headers["x-acs-signature-nonce"]) == (
        "2024-01-02T00:00:00Z",
        "nonce-2",
    )
    assert first.headers["authorization"] != second.headers["authorization"]
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"session_nos": [f"s{i}" for i in range(101)]}, "session_nos"),  # at most 100
        ({"session_nos": []}, "session_nos"),  # at least 1
        ({"session_nos": ["a"], "region": 5}, "region"),  # not text
    ],
)
def test_prepare_refuses_what_the_method_refuses(arguments: dict[str, Any], parameter: str) -> None:
    import dlr_ucloud_usms

    recorder = Recorder()
    with dlr_ucloud_usms.Client(**CREDENTIALS["ucloud_usms"], http_client=recorder.sync()) as client:
        with pytest.raises(ParameterError) as by_method:
            client.get_usms_send_receipt(**arguments)
        with pytest.raises(ParameterError) as by_prepare:
            client.prepare("get_usms_send_receipt", **arguments)
    assert by_prepare.value.parameter == by_method.value.parameter == parameter
    assert str(by_prepare.value) == str(by_method.value)
    assert recorder.requests == []


def test_prepare_refuses_unknown_operations_and_arguments() -> None:
    import dlr_ucloud_usms

    recorder = Recorder()
    with dlr_ucloud_usms.Client(**CREDENTIALS["ucloud_usms"], http_client=recorder.sync()) as client:
        with pytest.raises(ParameterError, match="get_usms_send_receipt") as caught:
            client.prepare("send_sms", session_nos=["a"])
        assert caught.value.parameter == "operation"
        with pytest.raises(ParameterError) as caught:
            client.prepare("get_usms_send_receipt", session_nos=["a"], SessionNoSet=["b"])
        assert caught.value.parameter == "SessionNoSet"
        with pytest.raises(ParameterError) as caught:
            client.prepare("get_usms_send_receipt", session_nos=["a"], action="Other")  # fixed by the spec
        assert caught.value.parameter == "action"
        with pytest.raises(ParameterError) as caught:
            client.prepare("get_usms_send_receipt", region="cn-zj")  # a required one missing
        assert caught.value.parameter == "session_nos"
    assert recorder.requests == []


def test_a_prepared_requests_repr_never_shows_a_secret_even_in_its_url() -> None:
    import dlr_aliyun_dysms

    # A scheme that puts a secret in the URL: the repr (method and URL) scrubs it.
    schemes = dict(dlr_aliyun_dysms.API.auth_schemes)
    rpc = dict(schemes["rpc_v1"])
    rpc["attach"] = {"query": {**rpc["attach"]["query"], "Key": "{access_key_secret}"}}
    api = dataclasses.replace(dlr_aliyun_dysms.API, auth_schemes={**schemes, "rpc_v1": rpc})

    class Leaky(SyncClientBase):
        dlr_operations = dlr_aliyun_dysms.Client.dlr_operations

    recorder = Recorder()
    client = Leaky(
        api,
        CREDENTIALS["aliyun_dysms"],
        http_client=recorder.sync(),
        server=None,
        base_url=None,
        auth_scheme="rpc_v1",
        timeout=5.0,
        retries=0,
        clock=None,
        nonce=None,
    )
    prepared = client.prepare("query_send_details", phone_number="1", send_date=date(2024, 1, 1))
    secret = CREDENTIALS["aliyun_dysms"]["access_key_secret"]
    assert ("Key", secret) in prepared.url.params.multi_items()  # it is sent, as the scheme says
    assert secret not in repr(prepared) and "<redacted>" in repr(prepared)
    assert repr(prepared).startswith(f"<SignedRequest({prepared.method!r}, ")
    assert recorder.requests == []


# -- separate clocks ---------------------------------------------------------------------------


class Monotonic:
    """A monotonic counter that moves only when the client sleeps; too many sleeps fail the
    test rather than let it wait forever."""

    def __init__(self, limit: int = 50) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.limit = limit

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert len(self.sleeps) < self.limit, "the wait never ended"
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def itnio(mode: str, mock: MockProvider, time: Monotonic, **options: Any) -> Any:
    import dlr_itnio_voice

    cls = dlr_itnio_voice.Client if mode == "sync" else dlr_itnio_voice.AsyncClient
    return cls(
        **CREDENTIALS["itnio_voice"],
        base_url=mock.base_url,
        clock=fixed_clock,
        monotonic=time,
        sleep=time.sleep if mode == "sync" else time.async_sleep,
        **options,
    )


def test_a_fixed_clock_signs_reproducibly_and_wait_for_final_still_times_out(mode: str) -> None:
    import dlr_itnio_voice

    time = Monotonic()
    scenario = {"query_recall_flow_detail": [{"data": {"keyId": 5, "status": 1}}]}  # never final
    with MockProvider(dlr_itnio_voice.API, CREDENTIALS["itnio_voice"], scenario=scenario) as mock:
        result = call(mode, itnio(mode, mock, time), "wait_for_final", key_id=5, interval=60, timeout=300)
    assert not result.complete and [r.status for r in result.open] == [DeliveryStatus.SENDING]
    assert time.sleeps == [60] * 5  # a sixth wait would end past the 300 s
    assert len(mock.requests) == 6 and all(r.authenticated for r in mock.requests)
    assert len({r.headers["timestamp"] for r in mock.requests}) == 1  # all signed at the fixed moment


def test_the_retry_deadline_is_measured_on_the_monotonic_source(mode: str) -> None:
    import dlr_itnio_voice

    time = Monotonic()
    policy = RetryPolicy(max_attempts=40, initial_backoff=4.0, max_backoff=4.0, deadline=20.0)
    scenario = {"query_recall_flow_detail": [{"status": 503}]}
    with MockProvider(dlr_itnio_voice.API, CREDENTIALS["itnio_voice"], scenario=scenario) as mock:
        with pytest.raises(dlr_core.ProviderError) as caught:
            call(mode, itnio(mode, mock, time, retries=policy), "query_recall_flow_detail", key_id=5)
    assert caught.value.http_status == 503
    assert sum(time.sleeps) <= 20.0
    assert 1 < len(mock.requests) < 40  # stopped by the deadline, not by the attempts


# -- defaults ------------------------------------------------------------------------------------


def ucloud(mode: str, mock: MockProvider, **options: Any) -> Any:
    import dlr_ucloud_usms

    cls = dlr_ucloud_usms.Client if mode == "sync" else dlr_ucloud_usms.AsyncClient
    return cls(**CREDENTIALS["ucloud_usms"], base_url=mock.base_url, retries=0, **options)


def ucloud_mock() -> MockProvider:
    import dlr_ucloud_usms

    return MockProvider(dlr_ucloud_usms.API, CREDENTIALS["ucloud_usms"])


def sent_form(mock: MockProvider) -> list[dict[str, str]]:
    return [dict(r.form) for r in mock.requests]


def test_client_defaults_reach_the_wire_and_the_callers_value_wins(mode: str) -> None:
    defaults = {"region": "cn-zj", "project_id": "org-42"}
    with ucloud_mock() as mock:
        call(mode, ucloud(mode, mock, defaults=defaults), "get_usms_send_receipt", session_nos=["a"])
        call(mode, ucloud(mode, mock, defaults=defaults), "fetch_receipts", session_nos=["a"], region="cn-sh")
        call(mode, ucloud(mode, mock), "get_usms_send_receipt", session_nos=["a"])
    first, second, without = sent_form(mock)
    assert (first["Region"], first["ProjectId"]) == ("cn-zj", "org-42")
    assert (second["Region"], second["ProjectId"]) == ("cn-sh", "org-42")
    assert "Region" not in without and "ProjectId" not in without
    assert all(r.authenticated for r in mock.requests)


def test_prepare_applies_the_client_defaults_too() -> None:
    import dlr_ucloud_usms

    with dlr_ucloud_usms.Client(
        **CREDENTIALS["ucloud_usms"], http_client=Recorder().sync(), defaults={"region": "cn-zj"}
    ) as client:
        body = client.prepare("get_usms_send_receipt", session_nos=["a"]).content.decode()
        overridden = client.prepare("get_usms_send_receipt", session_nos=["a"], region="hk").content.decode()
    assert "Region=cn-zj" in body.split("&")
    assert "Region=hk" in overridden.split("&") and "cn-zj" not in overridden


@pytest.mark.parametrize(
    ("provider", "defaults", "parameter", "message"),
    [
        ("ucloud_usms", {"region": "cn-zj", "regoin": "cn-zj"}, "regoin", "no ucloud_usms operation"),
        ("ucloud_usms", {"Region": "cn-zj"}, "Region", "no ucloud_usms operation"),  # a wire name
        ("ucloud_usms", {"action": "Other"}, "action", "no ucloud_usms operation"),  # fixed by the spec
        ("aliyun_dysms", {"page_size": 50}, "page_size", "default of its own"),  # the spec's default
    ],
)
def test_defaults_nobody_can_use_are_refused_when_the_client_is_made(
    provider: str, defaults: dict[str, object], parameter: str, message: str
) -> None:
    pkg = package(provider)
    for cls in (pkg.Client, pkg.AsyncClient):
        with pytest.raises(ParameterError, match=message) as caught:
            cls(**CREDENTIALS[provider], defaults=defaults)
        assert caught.value.parameter == parameter


def test_a_default_is_checked_like_an_argument_when_used() -> None:
    with ucloud_mock() as mock:
        with pytest.raises(ParameterError) as caught:
            call(
                "sync",
                ucloud("sync", mock, defaults={"region": 7}),
                "get_usms_send_receipt",
                session_nos=["a"],
            )
    assert caught.value.parameter == "region"
    assert len(mock.requests) == 0


# -- extra parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "options", "operation", "arguments"), CALLS, ids=CALL_IDS)
def test_extra_params_reach_the_wire_where_the_operation_puts_its_own_and_are_signed(
    provider: str, options: dict[str, Any], operation: str, arguments: dict[str, Any]
) -> None:
    pkg = package(provider)
    extra = {"Tag": "debug run", "Z-Last": "ü&="}
    with MockProvider(pkg.API, CREDENTIALS[provider]) as mock:
        with pkg.Client(**CREDENTIALS[provider], **options, base_url=mock.base_url, retries=0) as client:
            getattr(client, operation)(**arguments, extra_params=extra)
            prepared = client.prepare(operation, **arguments, extra_params=extra)
    [request] = mock.requests
    # The mock re-signs what it received: extras added after signing would not pass.
    assert request.authenticated and request.status == 200
    operation_spec = next(op for op in pkg.API.operations if op.name == operation)
    locations = {p.location for p in operation_spec.params}
    if "json" in locations:
        found = [(k, request.json.get(k)) for k in extra]
    elif "form" in locations:
        found = [(k, v) for k, v in request.form if k in extra]
    else:
        found = [(k, v) for k, v in request.query if k in extra]
    assert found == list(extra.items())
    assert request.value("header", "Tag") is None
    assert "Tag" in (prepared.url.params if not ({"json", "form"} & locations) else prepared.content.decode())


def test_extra_params_go_to_a_json_body_even_when_no_declared_parameter_has_a_value() -> None:
    import dlr_tencent_sms

    with dlr_tencent_sms.Client(**CREDENTIALS["tencent_sms"], http_client=Recorder().sync()) as client:
        prepared = client.prepare(
            "pull_sms_send_status", sms_sdk_app_id="1400006666", extra_params={"SubAppId": "x"}
        )
    assert prepared.headers["content-type"].startswith("application/json")
    assert b'"SubAppId":"x"' in prepared.content and b'"SmsSdkAppId":"1400006666"' in prepared.content


def test_extra_params_on_every_generated_method(mode: str) -> None:
    extra = {"Tag": "x"}
    with ucloud_mock() as mock:
        call(
            mode,
            ucloud(mode, mock),
            "fetch_receipts",
            session_nos=[f"s{i}" for i in range(150)],
            extra_params=extra,
        )
        call(mode, ucloud(mode, mock), "wait_for_final", session_nos=["s"], timeout=0, extra_params=extra)
    assert len(mock.requests) == 3  # two batches, then one query
    assert all(form.get("Tag") == "x" for form in sent_form(mock))
    assert all(r.authenticated for r in mock.requests)


def test_iterating_pages_sends_the_extra_params_on_every_page(mode: str) -> None:
    import dlr_aliyun_dysms

    page = {
        "Code": "OK",
        "TotalCount": 3,
        "SmsSendDetailDTOs": {"SmsSendDetailDTO": [{"PhoneNum": "1", "SendStatus": 3}]},
    }
    scenario = {"query_send_details": [{"body": page}]}
    with MockProvider(dlr_aliyun_dysms.API, CREDENTIALS["aliyun_dysms"], scenario=scenario) as mock:
        cls = dlr_aliyun_dysms.Client if mode == "sync" else dlr_aliyun_dysms.AsyncClient
        client = cls(**CREDENTIALS["aliyun_dysms"], base_url=mock.base_url, retries=0)

        async def collect() -> list[Any]:
            async with client:
                return [
                    item
                    async for item in client.iter_query_send_details(
                        phone_number="1", send_date=date(2024, 1, 1), page_size=1, extra_params={"Tag": "x"}
                    )
                ]

        if mode == "sync":
            with client:
                items = list(
                    client.iter_query_send_details(
                        phone_number="1", send_date=date(2024, 1, 1), page_size=1, extra_params={"Tag": "x"}
                    )
                )
        else:
            items = asyncio.run(collect())
    assert len(items) == 3 and len(mock.requests) == 3
    assert [dict(r.query).get("CurrentPage") for r in mock.requests] == ["1", "2", "3"]
    assert all(dict(r.query).get("Tag") == "x" and r.authenticated for r in mock.requests)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"Region": "cn-zj"}, "pass region="),  # a declared parameter
        ({"SessionNoSet": "x"}, "session_nos"),
        ({"SessionNoSet.3": "x"}, "session_nos"),  # an item of an indexed array
        ({"Action": "Other"}, "it is set for you"),  # fixed by the spec
        ({"Signature": "forged"}, "signature"),  # set by the auth scheme
        ({"PublicKey": "other"}, "signature"),
        ({"Tag": 5}, "expected text"),
        ({"": "x"}, "not a parameter name"),
    ],
)
def test_extra_params_never_replace_a_declared_or_signed_parameter(
    mode: str, extra: dict[str, Any], message: str
) -> None:
    recorder = Recorder()
    import dlr_ucloud_usms

    cls = dlr_ucloud_usms.Client if mode == "sync" else dlr_ucloud_usms.AsyncClient
    http = recorder.sync() if mode == "sync" else recorder.async_()
    client = cls(**CREDENTIALS["ucloud_usms"], http_client=http, retries=0)
    with pytest.raises(ParameterError, match=message) as caught:
        call(mode, client, "get_usms_send_receipt", session_nos=["a"], extra_params=extra)
    assert caught.value.parameter == "extra_params"
    with pytest.raises(ParameterError, match=message):
        client.prepare("get_usms_send_receipt", session_nos=["a"], extra_params=extra)
    assert recorder.requests == []


def test_reserved_names_cover_the_new_arguments() -> None:
    from generator.python import names

    assert names.reserved("credential", "defaults") and names.reserved("credential", "monotonic")
    assert not names.reserved("argument", "extra_params")  # an option gives way: extra_params_
    assert names.reserved("client_method", "prepare")
