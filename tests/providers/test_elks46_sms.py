"""46elks SMS (specs/elks46_sms.yaml): GET /a1/sms/{id} and the whendelivered push, each read
into canonical receipts. Expected values are written by hand from the docs:
https://www.46elks.se/docs/show-sms-id and https://46elks.se/docs/sms-delivery-reports.
46elks signs nothing beyond HTTP Basic auth, so there is no signature to prove."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import run_client
from dlr_core import DeliveryStatus, NotFound

CREDENTIALS = {"api_username": "u1234567890abcdef", "api_password": "p-secret"}

# An outgoing SMS as GET /a1/sms/{id} describes it (fields and types from show-sms-id).
DELIVERED = {
    "id": "s17a6dafb12d6ac8a7d1cc57bd3b3ef7c",
    "direction": "outgoing",
    "from": "ElkCo",
    "to": "+46700000000",
    "created": "2018-07-13T13:57:23.741000",
    "delivered": "2018-07-13T13:57:24.914000",
    "message": "Hello hello",
    "status": "delivered",
    "cost": 3500,
    "parts": 1,
}


def client_of(mock: Any, mode: str) -> Any:
    import dlr_elks46_sms

    return mock.client(dlr_elks46_sms.Client if mode == "sync" else dlr_elks46_sms.AsyncClient)


def test_get_sms_reads_a_delivered_sms_with_basic_auth(dlr_mock: Any, mode: str) -> None:
    import dlr_elks46_sms

    mock = dlr_mock(dlr_elks46_sms.API, CREDENTIALS, scenario={"get_sms": [{"body": DELIVERED}]})
    [receipt] = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(sms_id=DELIVERED["id"]))
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.status.is_final
    assert receipt.message_id == "s17a6dafb12d6ac8a7d1cc57bd3b3ef7c" and receipt.recipient == "+46700000000"
    assert receipt.submitted_at == datetime(2018, 7, 13, 13, 57, 23, 741000, tzinfo=timezone.utc)
    assert receipt.completed_at == datetime(2018, 7, 13, 13, 57, 24, 914000, tzinfo=timezone.utc)
    [request] = mock.requests
    assert request.method == "GET" and request.path == "/a1/sms/s17a6dafb12d6ac8a7d1cc57bd3b3ef7c"
    # curl -u <api_username>:<api_password>, as the docs' examples send it.
    expected = "Basic " + base64.b64encode(b"u1234567890abcdef:p-secret").decode()
    assert request.headers["authorization"] == expected and request.authenticated


def test_an_unknown_id_is_a_typed_not_found_keeping_the_text(dlr_mock: Any, mode: str) -> None:
    import dlr_elks46_sms

    step = {"status": 404, "html": "Not found"}
    mock = dlr_mock(dlr_elks46_sms.API, CREDENTIALS, scenario={"get_sms": [step]})
    with pytest.raises(NotFound) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.get_sms(sms_id="s0"))
    assert caught.value.raw_body == b"Not found"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("created", DeliveryStatus.QUEUED),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("failed", DeliveryStatus.FAILED),
    ],
)
def test_every_documented_status_maps(raw: str, canonical: DeliveryStatus) -> None:
    from dlr_elks46_sms.statuses import sms_status_to_canonical

    assert sms_status_to_canonical(raw) is canonical


def test_the_delivery_report_push_becomes_a_receipt() -> None:
    """The form fields the delivery-report page names: id, status and delivered (UTC)."""
    from dlr_elks46_sms.callbacks import parse_callback

    body = urlencode(
        {
            "id": "s70df59406a1b4643b96f3f91e0bfb7b0",
            "status": "delivered",
            "delivered": "2018-07-13T13:57:24.914000",
        }
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    [receipt] = parse_callback("POST", "https://yourapp.example/elks/dlrs", headers, body)
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.message_id == "s70df59406a1b4643b96f3f91e0bfb7b0"
    assert receipt.completed_at == datetime(2018, 7, 13, 13, 57, 24, 914000, tzinfo=timezone.utc)
    failed = urlencode({"id": "s1", "status": "failed"}).encode()
    [receipt] = parse_callback("POST", "https://yourapp.example/elks/dlrs", headers, failed)
    assert receipt.status is DeliveryStatus.FAILED and receipt.completed_at is None
