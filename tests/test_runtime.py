"""The production runtime: retries, pagination, batching, polling until final, malformed
answers, and the mock provider (which checks signatures from the spec)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

import dlr_core
from conftest import ROOT
from conftest import call_client as call
from dlr_core import DeliveryStatus, RetryPolicy
from dlr_core.mock import MockProvider, MockRequest

ITNIO = {"api_key": "itnio-key", "api_secret": "itnio-secret-value"}
ALIYUN = {"access_key_id": "LTAI-mock", "access_key_secret": "aliyun-secret-value"}
UCLOUD = {"public_key": "ucloud-public", "private_key": "ucloud-private-value"}


class FakeTime:
    """A clock (and a monotonic counter, for deadlines) that only moves when the client
    sleeps: no real waiting in tests."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        self.elapsed += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def itnio_client(mock: MockProvider, fake: FakeTime, mode: str = "sync", **options: Any) -> Any:
    import dlr_itnio_voice

    cls = dlr_itnio_voice.Client if mode == "sync" else dlr_itnio_voice.AsyncClient
    sleep = fake.sleep if mode == "sync" else fake.async_sleep
    return cls(
        **ITNIO, base_url=mock.base_url, clock=fake.clock, monotonic=fake.monotonic, sleep=sleep, **options
    )


def itnio_mock(steps: list[dict[str, Any]], **options: Any) -> MockProvider:
    import dlr_itnio_voice

    # The mock checks timestamps against the real clock; the fake clock starts at "now".
    return MockProvider(dlr_itnio_voice.API, ITNIO, scenario={"query_recall_flow_detail": steps}, **options)


# -- retries ---------------------------------------------------------------------------------


def test_flaky_provider_is_retried_to_success(mode: str) -> None:
    fake = FakeTime()
    with itnio_mock([{"status": 503, "repeat": 2}, {"data": {"keyId": 7, "status": 2}}]) as mock:
        result = call(mode, itnio_client(mock, fake, mode), "query_recall_flow_detail", key_id=7)
    assert result.key_id == 7
    assert len(mock.requests) == 3  # two failures, then success
    assert all(r.authenticated for r in mock.requests)  # every attempt signed afresh and accepted
    policy = RetryPolicy()
    assert len(fake.sleeps) == 2
    assert 0 <= fake.sleeps[0] <= policy.initial_backoff and 0 <= fake.sleeps[1] <= policy.initial_backoff * 2


def test_permanent_failure_stops_at_the_bound_with_the_last_error(mode: str) -> None:
    fake = FakeTime()
    with itnio_mock([{"status": 503}]) as mock:
        with pytest.raises(dlr_core.ProviderError) as caught:
            call(
                mode,
                itnio_client(mock, fake, mode, retries=RetryPolicy(max_attempts=4)),
                "query_recall_flow_detail",
                key_id=1,
            )
    assert caught.value.http_status == 503
    assert caught.value.attempts == 4
    assert len(mock.requests) == 4


def test_retries_zero_and_per_call_override(mode: str) -> None:
    fake = FakeTime()
    with itnio_mock([{"status": 500}]) as mock:
        with pytest.raises(dlr_core.ProviderError):
            call(mode, itnio_client(mock, fake, mode, retries=0), "query_recall_flow_detail", key_id=1)
        assert len(mock.requests) == 1
        with pytest.raises(dlr_core.ProviderError) as caught:
            call(
                mode,
                itnio_client(mock, fake, mode, retries=0),
                "query_recall_flow_detail",
                key_id=1,
                retries=2,
            )
        assert caught.value.attempts == 3 and len(mock.requests) == 4


def test_retryable_provider_code_is_retried_but_auth_and_parameter_errors_never(mode: str) -> None:
    import dlr_itnio_voice

    fake = FakeTime()
    # ITNIO -18 ("port program unusual") is marked retryable in the spec.
    with itnio_mock([{"error": -18}, {"data": {"keyId": 1, "status": 1}}]) as mock:
        assert call(mode, itnio_client(mock, fake, mode), "query_recall_flow_detail", key_id=1).status == 1
        assert len(mock.requests) == 2
    with itnio_mock([{"error": -22}]) as mock:
        with pytest.raises(dlr_core.InvalidRequest):
            call(mode, itnio_client(mock, fake, mode, retries=5), "query_recall_flow_detail", key_id=1)
        assert len(mock.requests) == 1
    with itnio_mock([]) as mock:
        bad = (dlr_itnio_voice.Client if mode == "sync" else dlr_itnio_voice.AsyncClient)(
            api_key="itnio-key", api_secret="wrong-secret", base_url=mock.base_url, retries=5
        )
        with pytest.raises(dlr_core.AuthenticationError) as caught:
            call(mode, bad, "query_recall_flow_detail", key_id=1)
        assert caught.value.attempts == 1 and len(mock.requests) == 1


def test_retry_after_is_honoured_and_the_deadline_bounds_everything(mode: str) -> None:
    fake = FakeTime()
    with itnio_mock(
        [{"status": 429, "headers": {"Retry-After": "7"}}, {"data": {"keyId": 1, "status": 1}}]
    ) as mock:
        call(mode, itnio_client(mock, fake, mode), "query_recall_flow_detail", key_id=1)
    assert fake.sleeps and fake.sleeps[0] >= 7

    fake = FakeTime()
    policy = RetryPolicy(max_attempts=100, initial_backoff=4, max_backoff=4, deadline=10)
    with itnio_mock([{"status": 503}]) as mock:
        with pytest.raises(dlr_core.ProviderError) as caught:
            call(mode, itnio_client(mock, fake, mode, retries=policy), "query_recall_flow_detail", key_id=1)
    assert sum(fake.sleeps) <= 10
    assert caught.value.attempts == len(mock.requests) < 100


def test_timeouts_are_retried() -> None:
    fake = FakeTime()
    with itnio_mock(
        [{"delay": 1.0, "data": {"keyId": 1, "status": 0}}, {"data": {"keyId": 1, "status": 2}}]
    ) as mock:
        result = call("sync", itnio_client(mock, fake, timeout=0.2), "query_recall_flow_detail", key_id=1)
    assert result.status == 2 and len(mock.requests) == 2


# -- pagination and batching -----------------------------------------------------------------


def aliyun_page(numbers: list[str], total: int) -> dict[str, Any]:
    return {
        "Code": "OK",
        "Message": "OK",
        "RequestId": "R",
        "TotalCount": total,
        "SmsSendDetailDTOs": {
            "SmsSendDetailDTO": [{"PhoneNum": n, "SendStatus": 3, "OutId": n} for n in numbers]
        },
    }


def test_alibaba_pagination_returns_every_record_exactly_once(mode: str) -> None:
    import dlr_aliyun_dysms

    pages = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["10"]]
    steps = [{"body": aliyun_page(page, 10)} for page in pages] + [{"status": 500}]
    with MockProvider(dlr_aliyun_dysms.API, ALIYUN, scenario={"query_send_details": steps}) as mock:
        cls = dlr_aliyun_dysms.Client if mode == "sync" else dlr_aliyun_dysms.AsyncClient
        client = cls(**ALIYUN, base_url=mock.base_url)

        if mode == "sync":
            with client:
                records = list(
                    client.iter_query_send_details(phone_number="1", send_date=date(2024, 1, 2), page_size=3)
                )
        else:

            async def collect() -> list[Any]:
                async with client:
                    return [
                        r
                        async for r in client.iter_query_send_details(
                            phone_number="1", send_date=date(2024, 1, 2), page_size=3
                        )
                    ]

            records = asyncio.run(collect())
    assert [r.out_id for r in records] == [str(n) for n in range(1, 11)]
    asked = [dict(r.query) for r in mock.requests]
    assert [q["CurrentPage"] for q in asked] == ["1", "2", "3", "4"]
    assert {q["PageSize"] for q in asked} == {"3"}


def test_pages_are_fetched_lazily() -> None:
    import dlr_aliyun_dysms

    steps = [{"body": aliyun_page(["1", "2"], 6)}, {"body": aliyun_page(["3", "4"], 6)}]
    with MockProvider(dlr_aliyun_dysms.API, ALIYUN, scenario={"query_send_details": steps}) as mock:
        with dlr_aliyun_dysms.Client(**ALIYUN, base_url=mock.base_url) as client:
            records = client.iter_query_send_details(
                phone_number="1", send_date=date(2024, 1, 2), page_size=2
            )
            assert next(records).out_id == "1" and len(mock.requests) == 1
            assert [next(records).out_id, next(records).out_id] == ["2", "3"] and len(mock.requests) == 2


def test_alibaba_fetch_receipts_walks_every_page() -> None:
    import dlr_aliyun_dysms

    steps = [{"body": aliyun_page(["1", "2"], 3)}, {"body": aliyun_page(["3"], 3)}]
    with MockProvider(dlr_aliyun_dysms.API, ALIYUN, scenario={"query_send_details": steps}) as mock:
        with dlr_aliyun_dysms.Client(**ALIYUN, base_url=mock.base_url) as client:
            receipts = client.fetch_receipts(phone_number="1", send_date=date(2024, 1, 2), page_size=2)
    assert [r.client_ref for r in receipts] == ["1", "2", "3"]
    assert all(r.status is DeliveryStatus.DELIVERED for r in receipts)


def ucloud_echo(request: MockRequest) -> dict[str, Any]:
    """Receipts for every SessionNo asked for, in reverse order, as a provider may."""
    asked = [v for k, v in request.form if k.startswith("SessionNoSet.")]
    return {
        "Action": "GetUSMSSendReceiptResponse",
        "Data": [
            {"SessionNo": s, "ReceiptSet": [{"Phone": f"p-{s}", "ReceiptResult": "Success"}]}
            for s in reversed(asked)
        ],
    }


def test_ucloud_250_session_ids_take_3_calls_in_input_order(mode: str) -> None:
    import dlr_ucloud_usms

    ids = [f"s{i:03d}" for i in range(250)]
    with MockProvider(
        dlr_ucloud_usms.API, UCLOUD, scenario={"get_usms_send_receipt": [{"respond": ucloud_echo}]}
    ) as mock:
        cls = dlr_ucloud_usms.Client if mode == "sync" else dlr_ucloud_usms.AsyncClient
        receipts = call(mode, cls(**UCLOUD, base_url=mock.base_url), "fetch_receipts", session_nos=ids)
    assert len(mock.requests) == 3
    sizes = [sum(1 for k, _ in r.form if k.startswith("SessionNoSet.")) for r in mock.requests]
    # The async client sends the three at once: they may arrive in any order.
    assert (sizes if mode == "sync" else sorted(sizes, reverse=True)) == [100, 100, 50]
    assert [r.message_id for r in receipts] == ids
    assert all(r.status is DeliveryStatus.DELIVERED for r in receipts)


# -- polling until final ---------------------------------------------------------------------


def test_wait_for_final_follows_a_scripted_progression(mode: str) -> None:
    fake = FakeTime()
    steps = [{"data": {"keyId": 5, "status": s}} for s in (0, 1, 1, 2)]
    with itnio_mock(steps) as mock:
        result = call(
            mode, itnio_client(mock, fake, mode), "wait_for_final", key_id=5, interval=30, timeout=600
        )
    assert result.complete and result.open == []
    assert [r.status for r in result.receipts] == [DeliveryStatus.DELIVERED]
    assert len(mock.requests) == 4
    assert fake.sleeps == [30, 30, 30]


def test_wait_for_final_gives_up_at_the_deadline_and_says_what_is_open(mode: str) -> None:
    fake = FakeTime()
    with itnio_mock([{"data": {"keyId": 5, "status": 1}}]) as mock:
        result = call(
            mode, itnio_client(mock, fake, mode), "wait_for_final", key_id=5, interval=60, timeout=300
        )
    assert not result.complete
    assert [r.status for r in result.open] == [DeliveryStatus.SENDING]
    assert sum(fake.sleeps) <= 300 and len(mock.requests) == len(fake.sleeps) + 1


def test_wait_for_final_defaults_come_from_the_spec_polling_hints() -> None:
    import dlr_ucloud_usms

    fake = FakeTime()
    steps = [
        {"data": {"Data": [{"SessionNo": "s", "ReceiptSet": [{"Phone": "1", "ReceiptResult": r}]}]}}
        for r in ("Unknow", "发送成功")
    ]
    with MockProvider(dlr_ucloud_usms.API, UCLOUD, scenario={"get_usms_send_receipt": steps}) as mock:
        with dlr_ucloud_usms.Client(
            **UCLOUD, base_url=mock.base_url, clock=fake.clock, monotonic=fake.monotonic, sleep=fake.sleep
        ) as client:
            result = client.wait_for_final(session_nos=["s"], sent_at=fake.now - timedelta(minutes=2))
    # UCloud: query 5 minutes after sending (3 minutes left), then every 5 minutes.
    assert fake.sleeps == [180, 300]
    assert result.complete and result.receipts[0].status is DeliveryStatus.DELIVERED


# -- malformed answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"body": '{"code": 0, "data": {"keyId": 1, "sta'}, dlr_core.ProviderResponseError),  # truncated JSON
        (
            {"body": {"code": 0, "data": {"keyId": "not a number"}}},
            dlr_core.ProviderResponseError,
        ),  # wrong type
        ({"body": {"data": {"keyId": 1}}}, dlr_core.ProviderResponseError),  # no envelope code
        ({"body": ["a", "list"]}, dlr_core.ProviderResponseError),
        ({"body": {"code": 0, "data": "a string"}}, dlr_core.ProviderResponseError),
    ],
)
def test_malformed_answers_are_typed_errors_with_the_raw_body(step: dict[str, Any], expected: type) -> None:
    fake = FakeTime()
    with itnio_mock([step]) as mock:
        with pytest.raises(expected) as caught:
            call("sync", itnio_client(mock, fake), "query_recall_flow_detail", key_id=1)
    assert caught.value.raw_body
    assert len(mock.requests) == 1  # a malformed answer is not retried


def test_truncated_json_keeps_the_exact_body() -> None:
    import dlr_itnio_voice

    fake = FakeTime()
    with MockProvider(
        dlr_itnio_voice.API, ITNIO, scenario={"query_recall_flow_detail": [{"html": '{"code": 0, "da'}]}
    ) as mock:
        with pytest.raises(dlr_core.ProviderResponseError) as caught:
            call("sync", itnio_client(mock, fake), "query_recall_flow_detail", key_id=1)
    assert caught.value.raw_body == b'{"code": 0, "da'


def test_unknown_values_and_extra_fields_parse() -> None:
    fake = FakeTime()
    with itnio_mock([{"data": {"keyId": 3, "status": 42, "brandNew": {"x": 1}}}]) as mock:
        [receipt] = call("sync", itnio_client(mock, fake), "fetch_receipts", key_id=3)
    assert receipt.status is DeliveryStatus.UNKNOWN and receipt.raw_status == {"status": 42}
    assert receipt.raw["brandNew"] == {"x": 1}


# -- the mock itself ---------------------------------------------------------------------------


def test_mock_refuses_bad_signatures_with_the_providers_own_envelope() -> None:
    import dlr_aliyun_dysms
    import httpx

    with MockProvider(dlr_aliyun_dysms.API, ALIYUN) as mock:
        response = httpx.post(f"{mock.base_url}/?Action=QuerySendDetails&PhoneNumber=1")
        assert response.status_code == 400
        assert response.json()["Code"] == "SignatureDoesNotMatch"
        with dlr_aliyun_dysms.Client(
            access_key_id="LTAI-mock", access_key_secret="other-secret", base_url=mock.base_url
        ) as client:
            with pytest.raises(dlr_core.AuthenticationError, match="SignatureDoesNotMatch"):
                client.query_send_details(phone_number="1", send_date=date(2024, 1, 1))


def test_mock_checks_required_parameters() -> None:
    import dlr_itnio_voice
    from dlr_itnio_voice.api import QUERY_RECALL_FLOW_DETAIL

    with itnio_mock([]) as mock:
        with dlr_itnio_voice.Client(**ITNIO, base_url=mock.base_url, retries=0) as client:
            incomplete = dlr_itnio_voice.QueryRecallFlowDetailParams.model_construct(key_id=None)
            with pytest.raises(dlr_core.InvalidRequest) as caught:
                client.dlr_call(QUERY_RECALL_FLOW_DETAIL, incomplete, dlr_itnio_voice.RecallFlowDetail)
    assert caught.value.code == "-22"
    assert mock.requests[0].authenticated


def test_mock_refuses_stale_timestamps() -> None:
    import dlr_itnio_voice

    with itnio_mock([]) as mock:
        old = lambda: datetime.now(timezone.utc) - timedelta(hours=1)  # noqa: E731
        with dlr_itnio_voice.Client(**ITNIO, base_url=mock.base_url, clock=old, retries=0) as client:
            with pytest.raises(dlr_core.ClockSkew):
                client.query_recall_flow_detail(key_id=1)


@pytest.fixture
def mock_process(tmp_path: Any) -> Iterator[tuple[subprocess.Popen[str], str]]:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "credentials: {api_key: cli-key, api_secret: cli-secret-value}\n"
        "operations:\n  query_recall_flow_detail:\n    - data: {keyId: 9, status: 1}\n"
        "    - data: {keyId: 9, status: 2}\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator",
            "mock",
            "itnio_voice",
            "--port",
            "0",
            "--scenario",
            str(scenario),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("dlrgen mock: itnio_voice on http://127.0.0.1:"), line + process.stderr.read()
    try:
        yield process, line.rsplit(" ", 1)[1].strip()
    finally:
        if process.poll() is None:
            process.kill()


def test_dlrgen_mock_command_serves_until_terminated(mock_process: tuple[subprocess.Popen[str], str]) -> None:
    import dlr_itnio_voice

    process, url = mock_process
    with dlr_itnio_voice.Client(api_key="cli-key", api_secret="cli-secret-value", base_url=url) as client:
        assert [r.status for r in client.fetch_receipts(key_id=9)] == [DeliveryStatus.SENDING]
        assert [r.status for r in client.fetch_receipts(key_id=9)] == [DeliveryStatus.DELIVERED]
    with dlr_itnio_voice.Client(api_key="cli-key", api_secret="nope-nope", base_url=url) as client:
        with pytest.raises(dlr_core.AuthenticationError):
            client.fetch_receipts(key_id=9)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_dlrgen_mock_refuses_unknown_providers_and_credentials(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "mock", "nope"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2 and "run `dlrgen generate` first" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "generator", "mock", "itnio_voice", "--credential", "x=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 2 and "unknown credential(s) x" in result.stderr


def test_every_attempt_is_signed_afresh() -> None:
    import dlr_aliyun_dysms

    steps = [{"status": 503, "repeat": 2}, {}]
    with MockProvider(dlr_aliyun_dysms.API, ALIYUN, scenario={"query_send_details": steps}) as mock:
        with dlr_aliyun_dysms.Client(**ALIYUN, base_url=mock.base_url, sleep=lambda _: None) as client:
            client.query_send_details(phone_number="1", send_date=date(2024, 1, 1))
    nonces = [r.headers["x-acs-signature-nonce"] for r in mock.requests]
    assert len(nonces) == 3 and len(set(nonces)) == 3
    assert all(r.authenticated for r in mock.requests)


def test_mock_checks_parameter_constraints_like_the_provider() -> None:
    """Clients check constraints before sending; the mock checks them too, for callers that
    send requests some other way."""
    import dlr_aliyun_dysms
    import dlr_ucloud_usms
    from dlr_aliyun_dysms.api import QUERY_SEND_DETAILS
    from dlr_ucloud_usms.api import GET_USMS_SEND_RECEIPT

    with MockProvider(dlr_aliyun_dysms.API, ALIYUN) as mock:
        with dlr_aliyun_dysms.Client(**ALIYUN, base_url=mock.base_url, retries=0) as client:
            params = dlr_aliyun_dysms.QuerySendDetailsParams.model_construct(
                phone_number="1", send_date=date(2024, 1, 1), page_size=51, current_page=1
            )
            with pytest.raises(dlr_core.InvalidRequest, match="PageSize: 51 is above 50") as caught:
                client.dlr_call(QUERY_SEND_DETAILS, params, dlr_aliyun_dysms.QuerySendDetailsResult)
    assert caught.value.code == "isv.INVALID_PARAMETERS"

    with MockProvider(dlr_ucloud_usms.API, UCLOUD) as mock:
        with dlr_ucloud_usms.Client(**UCLOUD, base_url=mock.base_url, retries=0) as client:
            params = dlr_ucloud_usms.GetUsmsSendReceiptParams.model_construct(
                session_nos=[str(i) for i in range(101)]
            )
            with pytest.raises(dlr_core.InvalidRequest, match="at most 100 values, got 101"):
                client.dlr_call(GET_USMS_SEND_RECEIPT, params, dlr_ucloud_usms.GetUSMSSendReceiptResult)
