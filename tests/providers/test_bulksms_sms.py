"""BulkSMS (specs/bulksms_sms.yaml): Show Message, Retrieve Messages and the webhook, each read
into canonical receipts. Expected values are written by hand from BulkSMS's OpenAPI document
(https://developer.bulksms.com/json/v1/swagger.yaml: the Message and Error schemas, the
status.type / status.subtype tables, the webhook rules). BulkSMS signs nothing beyond HTTP
Basic auth, so there is no signature to prove."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import run_client
from dlr_core import DeliveryStatus, NotFound, PermissionDenied

CREDENTIALS = {"username": "john", "password": "abcd1234"}

FAILED_EXPIRED = {
    "id": "4023457654",
    "type": "SENT",
    "from": "+27007654321",
    "to": "+27001234567",
    "body": "Hello World!",
    "encoding": "TEXT",
    "numberOfParts": 1,
    "creditCost": 1,
    "userSuppliedId": "acc009876",
    "submission": {"id": "1-00000000000522347562", "date": "2017-01-01T10:00:00+01:00"},
    "status": {"id": "FAILED.EXPIRED", "type": "FAILED", "subtype": "EXPIRED"},
}


def client_of(mock: Any, mode: str) -> Any:
    import dlr_bulksms_sms

    return mock.client(dlr_bulksms_sms.Client if mode == "sync" else dlr_bulksms_sms.AsyncClient)


def test_show_message_reads_status_type_and_subtype(dlr_mock: Any, mode: str) -> None:
    import dlr_bulksms_sms

    mock = dlr_mock(dlr_bulksms_sms.API, CREDENTIALS, scenario={"get_message": [{"body": FAILED_EXPIRED}]})
    [receipt] = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(message_id="4023457654"))
    assert receipt.status is DeliveryStatus.EXPIRED and receipt.status.is_final
    assert receipt.raw_status == {"id": "FAILED.EXPIRED"}  # keyed by the field's own name
    assert (receipt.message_id, receipt.recipient, receipt.client_ref) == (
        "4023457654",
        "+27001234567",
        "acc009876",
    )
    assert receipt.error_code == "EXPIRED"
    assert receipt.submitted_at == datetime(2017, 1, 1, 10, tzinfo=timezone(timedelta(hours=1)))
    assert receipt.details["submission_id"] == "1-00000000000522347562"
    [request] = mock.requests
    assert request.path == "/v1/messages/4023457654"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"john:abcd1234").decode()


def test_retrieve_messages_sends_the_filter_and_reads_the_array(dlr_mock: Any, mode: str) -> None:
    import dlr_bulksms_sms

    delivered = {
        **FAILED_EXPIRED,
        "id": "4023457655",
        "status": {"id": "DELIVERED.null", "type": "DELIVERED"},
    }
    scenario = {"list_messages": [{"body": [FAILED_EXPIRED, delivered]}]}
    mock = dlr_mock(dlr_bulksms_sms.API, CREDENTIALS, scenario=scenario)
    result = run_client(
        mode,
        client_of(mock, mode),
        lambda c: c.list_messages(filter="type=SENT&status.type=FAILED", limit=50),
    )
    receipts = dlr_bulksms_sms.list_messages_receipts(result)
    assert [(r.message_id, r.status) for r in receipts] == [
        ("4023457654", DeliveryStatus.EXPIRED),
        ("4023457655", DeliveryStatus.DELIVERED),
    ]
    # The filter is one query parameter, its = and & percent-encoded (the docs' example).
    [request] = mock.requests
    assert ("filter", "type=SENT&status.type=FAILED") in request.query and ("limit", "50") in request.query


@pytest.mark.parametrize(
    ("step", "error"),
    [
        (
            {
                "status": 404,
                "body": {
                    "type": "https://developer.bulksms.com/json/v1/errors/#not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "Message not found",
                },
            },
            NotFound,
        ),
        (
            {
                "status": 403,
                "body": {
                    "type": "https://developer.bulksms.com/json/v1/errors#insufficient-credits",
                    "title": "Insufficient Credits",
                    "status": 403,
                },
            },
            PermissionDenied,
        ),
    ],
)
def test_errors_are_typed_by_their_title(dlr_mock: Any, mode: str, step: dict[str, Any], error: type) -> None:
    import dlr_bulksms_sms

    mock = dlr_mock(dlr_bulksms_sms.API, CREDENTIALS, scenario={"get_message": [step]})
    with pytest.raises(error) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.get_message(message_id="1"))
    assert json.loads(caught.value.raw_body) == step["body"]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("ACCEPTED.null", DeliveryStatus.QUEUED),
        ("SCHEDULED.null", DeliveryStatus.QUEUED),
        ("SENT.null", DeliveryStatus.SENT),
        ("DELIVERED.null", DeliveryStatus.DELIVERED),
        ("UNKNOWN.null", DeliveryStatus.UNKNOWN),
        ("FAILED.null", DeliveryStatus.FAILED),
        ("FAILED.EXPIRED", DeliveryStatus.EXPIRED),
        ("FAILED.HANDSET_ERROR", DeliveryStatus.UNDELIVERED),
        ("FAILED.BLOCKED", DeliveryStatus.REJECTED),
        ("FAILED.NOT_SENT", DeliveryStatus.FAILED),
    ],
)
def test_every_documented_status_maps(raw: str, canonical: DeliveryStatus) -> None:
    from dlr_bulksms_sms.statuses import message_status_to_canonical

    assert message_status_to_canonical(raw) is canonical


def test_the_webhook_array_becomes_receipts_and_the_validation_call_none() -> None:
    from dlr_bulksms_sms.callbacks import parse_callback

    url = "https://www.example.com/hook.php?secret=pass763265word"
    headers = {"Content-Type": "application/json"}
    delivered = {**FAILED_EXPIRED, "status": {"id": "DELIVERED.null", "type": "DELIVERED"}}
    receipts = parse_callback("POST", url, headers, json.dumps([delivered, FAILED_EXPIRED]).encode())
    assert [r.status for r in receipts] == [DeliveryStatus.DELIVERED, DeliveryStatus.EXPIRED]
    assert receipts[0].idempotency_key != receipts[1].idempotency_key
    # Registering (or updating) a webhook invokes it with an empty array.
    assert parse_callback("POST", url, headers, b"[]") == []
