"""A client written by hand over an ``ApiSpec`` built in code, through the runtime's public
contract, against the spec's own mock (``dlr_core.testing.MockTransport``): what every
generated client relies on, tested without the generator."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from apis_in_code import (
    API,
    CREDENTIALS,
    GET_REPORT,
    api,
    client_class,
    envelope,
    operation,
    param,
    run_client,
)
from dlr_core import AuthenticationError, DeliveryStatus, ParameterError, ProviderResponseError, RateLimited
from dlr_core.testing import MockTransport

MOMENT = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_a_call_is_signed_as_the_scheme_says_and_its_answer_typed(mode: str) -> None:
    mock = MockTransport(API, CREDENTIALS, max_clock_skew=None)
    client = mock.client(client_class(mode), clock=lambda: MOMENT)
    report = run_client(mode, client, lambda c: c.get_report(message_id="m-1", limit=5))
    assert report.message_id == "m-1" and report.status == "DELIVRD"
    [request] = mock.requests
    assert request.operation == "get_report" and request.authenticated
    assert request.path == "/v1/reports" and sorted(request.query) == [("limit", "5"), ("msgId", "m-1")]
    # The signature computed here by hand from the scheme's description, not by the runtime.
    expected = hmac.new(b"example-secret-value", b"GET\n/v1/reports\n1714564800", hashlib.sha256).hexdigest()
    assert request.headers["x-signature"] == expected
    assert request.headers["x-api-key"] == "example-key" and request.headers["x-timestamp"] == "1714564800"


def test_a_wrong_secret_is_refused_by_the_mock_and_typed(mode: str) -> None:
    mock = MockTransport(API, CREDENTIALS)
    client = mock.client(client_class(mode), api_secret="wrong-secret", retries=0)
    with pytest.raises(AuthenticationError) as caught:
        run_client(mode, client, lambda c: c.get_report(message_id="m-1"))
    assert not mock.requests[0].authenticated
    assert "wrong-secret" not in str(caught.value) and "wrong-secret" not in repr(caught.value)


def test_arguments_are_checked_against_the_spec_before_anything_is_sent(mode: str) -> None:
    mock = MockTransport(API, CREDENTIALS)
    client = mock.client(client_class(mode))
    with pytest.raises(ParameterError, match="limit"):
        run_client(mode, client, lambda c: c.get_report(message_id="m-1", limit=101))
    assert not mock.requests


def test_extra_params_are_sent_and_signed_with_the_others(mode: str) -> None:
    mock = MockTransport(API, CREDENTIALS)
    client = mock.client(client_class(mode))
    run_client(mode, client, lambda c: c.get_report(message_id="m-1", extra_params={"region": "eu"}))
    [request] = mock.requests
    assert ("region", "eu") in request.query and request.authenticated


def test_an_error_envelope_is_the_error_tables_kind_and_retried_when_retryable(mode: str) -> None:
    slept: list[float] = []

    async def async_sleep(seconds: float) -> None:
        slept.append(seconds)

    scenario = {
        "get_report": [{"error": 429, "message": "too fast"}, {"data": {"msgId": "m-1", "status": "DELIVRD"}}]
    }
    mock = MockTransport(API, CREDENTIALS, scenario=scenario)
    sleep: Any = slept.append if mode == "sync" else async_sleep
    client = mock.client(client_class(mode), sleep=sleep)
    report = run_client(mode, client, lambda c: c.get_report(message_id="m-1"))
    assert report.status == "DELIVRD" and len(mock.requests) == 2 and len(slept) == 1

    mock = MockTransport(API, CREDENTIALS, scenario={"get_report": [{"error": 429, "message": "too fast"}]})
    with pytest.raises(RateLimited) as caught:
        run_client(mode, mock.client(client_class(mode), retries=0), lambda c: c.get_report(message_id="m-1"))
    assert caught.value.code == "429" and "too fast" in str(caught.value)


def test_an_unreadable_answer_keeps_its_raw_body(mode: str) -> None:
    mock = MockTransport(API, CREDENTIALS, scenario={"get_report": [{"html": "<h1>maintenance</h1>"}]})
    with pytest.raises(ProviderResponseError) as caught:
        run_client(mode, mock.client(client_class(mode), retries=0), lambda c: c.get_report(message_id="m-1"))
    assert b"<h1>maintenance</h1>" in caught.value.raw_body


def test_prepare_signs_without_sending_and_hides_the_secret() -> None:
    client = client_class("sync")(**CREDENTIALS, clock=lambda: MOMENT)
    request = client.prepare("get_report", message_id="m-1")
    assert (
        isinstance(request, httpx.Request)
        and str(request.url) == "https://api.example.com/v1/reports?msgId=m-1"
    )
    assert request.headers["X-Signature"]
    assert "example-secret-value" not in repr(client) and "example-secret-value" not in repr(request)


def test_another_api_spec_built_in_code_drives_the_same_client(mode: str) -> None:
    # A JSON body instead of a query string, and success read from a text field.
    posted = operation(
        "get_report", "/reports/query", param("message_id", "msgId", location="json"), method="POST"
    )
    spec = api(
        posted, envelope=envelope(success_fields=("status",), success_value="OK", code_fields=("status",))
    )
    answer = {"status": "OK", "data": {"msgId": "m-2"}}
    mock = MockTransport(spec, CREDENTIALS, scenario={"get_report": [{"body": answer}]})
    client = mock.client(client_class(mode, spec))
    report = run_client(mode, client, lambda c: c.get_report(message_id="m-2"))
    assert report.message_id == "m-2"
    [request] = mock.requests
    assert request.method == "POST" and request.json == {"msgId": "m-2"} and request.authenticated


def test_the_operation_table_is_the_contract_type() -> None:
    assert client_class("sync").dlr_operations["get_report"][0] is GET_REPORT


def test_fetch_receipts_sends_batches_and_answers_one_receipt_per_id_in_order(mode: str) -> None:
    ids = [f"m-{i:03d}" for i in range(250)]

    def respond(request: Any) -> dict[str, Any]:
        asked = [value for name, value in request.form if name.startswith("MsgIds.")]
        # Answered newest first, one id left out (not known yet), one never asked for.
        reports = [{"msgId": i, "status": "DELIVRD"} for i in reversed(asked) if i != "m-007"]
        return {"reports": [*reports, {"msgId": "m-999", "status": "UNDELIV"}]}

    mock = MockTransport(API, CREDENTIALS, scenario={"get_reports": [{"respond": respond}]})
    receipts = run_client(mode, mock.client(client_class(mode)), lambda c: c.fetch_receipts(message_ids=ids))
    assert [r.message_id for r in receipts] == ids
    assert [len([n for n, _ in r.form if n.startswith("MsgIds.")]) for r in mock.requests] == [100, 100, 50]
    assert all(r.authenticated for r in mock.requests)
    by_id = {r.message_id: r for r in receipts}
    assert by_id["m-007"].status is DeliveryStatus.UNKNOWN and by_id["m-007"].details["answered"] is False
    assert by_id["m-000"].status is DeliveryStatus.DELIVERED
