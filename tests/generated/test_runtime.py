"""The production runtime through generated packages, where a spec's own data matters:
pagination, batching, polling hints, the mock provider's error envelopes and constraints,
and `dlrgen mock`. (Retries, polling, malformed answers and the mock's checks on an API
built in code: runtime/tests/test_client_runtime.py.)"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

import dlr_core
from tests.conftest import ROOT
from tests.conftest import call_client as call
from dlr_core import DeliveryStatus
from dlr_core.mock import MockProvider, MockRequest

from apis_in_code import FakeTime

ALIYUN = {"access_key_id": "LTAI-mock", "access_key_secret": "aliyun-secret-value"}
UCLOUD = {"public_key": "ucloud-public", "private_key": "ucloud-private-value"}


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
