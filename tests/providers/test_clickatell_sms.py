"""Clickatell One API (specs/clickatell_sms.yaml): the message status query and the status
callback, each read into canonical receipts. Expected values are written by hand from
Clickatell's One API status and error tables
(https://www.clickatell.com/developers/api-documentation/one-api-message-status-codes-descriptions/,
https://www.clickatell.com/developers/api-documentation/one-api-error-messages/) and the
callback guide; the query's answer is the one farrel/clickatell-rust-tools'
message_status/response.rs test reads ({"sms": {"status": "QUEUED", "timestamp":
1506607698000}}). The API key is a fixed Authorization header: no signature to prove."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.conftest import run_client
from dlr_core import AuthenticationError, DeliveryStatus, RateLimited

CREDENTIALS = {"api_key": "k3y-0f-the-integration"}
SDK_TIME = datetime(2017, 9, 28, 14, 8, 18, tzinfo=timezone.utc)  # 1506607698000 ms


def client_of(mock: Any, mode: str) -> Any:
    import dlr_clickatell_sms

    return mock.client(dlr_clickatell_sms.Client if mode == "sync" else dlr_clickatell_sms.AsyncClient)


def test_the_status_query_reads_the_sms_channel(dlr_mock: Any, mode: str) -> None:
    import dlr_clickatell_sms

    answer = {"sms": {"status": "DEVICE_ACK", "timestamp": 1506607698000}}
    mock = dlr_mock(dlr_clickatell_sms.API, CREDENTIALS, scenario={"get_message_status": [{"body": answer}]})
    [receipt] = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(message_id="m-42"))
    # The answer names no message: the receipt is for the id asked.
    assert receipt.message_id == "m-42" and receipt.status is DeliveryStatus.DELIVERED
    assert receipt.details["updated_at"] == SDK_TIME  # Unix milliseconds, typed
    [request] = mock.requests
    assert request.path == "/v1/message/m-42"
    assert request.headers["authorization"] == "k3y-0f-the-integration"  # the key alone, no scheme word


def test_the_sdk_fixture_answer_is_queued(dlr_mock: Any, mode: str) -> None:
    """The mock's default answer is the spec's example, the Rust SDK's test answer."""
    import dlr_clickatell_sms

    mock = dlr_mock(dlr_clickatell_sms.API, CREDENTIALS)
    result = run_client(mode, client_of(mock, mode), lambda c: c.get_message_status(message_id="m-1"))
    assert result.sms.status == dlr_clickatell_sms.MessageStatus.QUEUED
    assert result.sms.timestamp == SDK_TIME


@pytest.mark.parametrize(
    ("step", "error", "code"),
    [
        (
            {
                "status": 401,
                "body": {"error": {"code": 1, "description": "Invalid or missing Integration API Key"}},
            },
            AuthenticationError,
            "1",
        ),
        ({"status": 400, "body": {"error": {"code": 43, "description": "Rate limit"}}}, RateLimited, "43"),
    ],
)
def test_errors_are_typed_by_their_code(
    dlr_mock: Any, mode: str, step: dict[str, Any], error: type, code: str
) -> None:
    import dlr_clickatell_sms

    mock = dlr_mock(dlr_clickatell_sms.API, CREDENTIALS, scenario={"get_message_status": [step] * 3})
    with pytest.raises(error) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.get_message_status(message_id="m-1", retries=0))
    assert str(caught.value.code) == code and json.loads(caught.value.raw_body) == step["body"]


STATUSES = [
    (1, "UNKNOWN", DeliveryStatus.UNKNOWN),
    (2, "QUEUED", DeliveryStatus.QUEUED),
    (3, "SCHEDULED", DeliveryStatus.QUEUED),
    (4, "SENT_TO_SUPPLIER", DeliveryStatus.SENT),
    (5, "DEVICE_ACK", DeliveryStatus.DELIVERED),
    (6, "READ", DeliveryStatus.DELIVERED),
    (20, "EXPIRED", DeliveryStatus.EXPIRED),
    (21, "STOPPED_BY_USER", DeliveryStatus.CANCELED),
    (22, "STOPPED_BY_ADMIN", DeliveryStatus.CANCELED),
    (23, "DELIVERY_FAILURE", DeliveryStatus.UNDELIVERED),
    (24, "EMULATED", DeliveryStatus.CANCELED),
    (25, "INSUFFICIENT_ACCOUNT_BALANCE", DeliveryStatus.REJECTED),
    (26, "VOLUME_LIMIT", DeliveryStatus.REJECTED),
    (27, "VOLUME_LIMIT_DAILY", DeliveryStatus.REJECTED),
    (28, "VOLUME_LIMIT_MONTHLY", DeliveryStatus.REJECTED),
    (29, "RECIPIENT_DOES_NOT_EXIST", DeliveryStatus.UNDELIVERED),
    (60, "ENCRYPTION_ACCESS_DENIED", DeliveryStatus.FAILED),
    (61, "ENCRYPTION_CONTENT_ERROR", DeliveryStatus.FAILED),
    (80, "MEDIA_NOT_FOUND", DeliveryStatus.FAILED),
    (81, "MEDIA_SIZE_ERROR", DeliveryStatus.FAILED),
    (82, "MEDIA_CHECKSUM_FAILURE", DeliveryStatus.FAILED),
    (83, "MEDIA_REJECTED_BY_SUPPLIER", DeliveryStatus.REJECTED),
    (84, "MEDIA_METADATA_ERROR", DeliveryStatus.FAILED),
    (85, "MEDIA_ACCESS_ERROR", DeliveryStatus.FAILED),
    (100, "ROUTING_ERROR", DeliveryStatus.FAILED),
    (130, "WHATSAPP_ACCOUNT_PAYMENT_ISSUE", DeliveryStatus.REJECTED),
    (131, "WHATSAPP_RE_ENGAGEMENT_REQUIRED", DeliveryStatus.REJECTED),
    (132, "WHATSAPP_SPAM_RATE_LIMIT_REACHED", DeliveryStatus.REJECTED),
    (133, "WHATSAPP_SERVER_RATE_LIMIT", DeliveryStatus.FAILED),
    (134, "WHATSAPP_HSM_NOT_AVAILABLE", DeliveryStatus.REJECTED),
    (139, "WHATSAPP_EXPERIMENTAL_NUMBER", DeliveryStatus.UNDELIVERED),
    (140, "WHATSAPP_TEMPLATE_TEXT_TOO_LONG", DeliveryStatus.REJECTED),
    (141, "WHATSAPP_TEMPLATE_FORMAT_MISMATCH", DeliveryStatus.REJECTED),
]


@pytest.mark.parametrize(("code", "name", "canonical"), STATUSES)
def test_every_documented_status_maps_by_name_and_by_number(
    code: int, name: str, canonical: DeliveryStatus
) -> None:
    from dlr_clickatell_sms.statuses import message_status_to_canonical, status_code_to_canonical

    assert message_status_to_canonical(name) is canonical
    assert status_code_to_canonical(code) is canonical


def test_the_tables_list_nothing_more() -> None:
    from dlr_clickatell_sms.statuses import MessageStatus, StatusCode

    assert sorted(member.value for member in MessageStatus) == sorted(name for _, name, _ in STATUSES)
    assert sorted(member.value for member in StatusCode) == sorted(code for code, _, _ in STATUSES)


def test_the_status_callback_becomes_receipts() -> None:
    from dlr_clickatell_sms.callbacks import parse_callback

    push = {
        "integrationId": "a1b2",
        "integrationName": "My integration",
        "event": {
            "messageStatusUpdate": [
                {
                    "channel": "sms",
                    "messageId": "m-42",
                    "clientMessageId": "order-7",
                    "timestamp": 1506607698000,
                    "status": "DELIVERY_FAILURE",
                    "statusCode": 23,
                }
            ]
        },
    }
    headers = {"Content-Type": "application/json"}
    [receipt] = parse_callback(
        "POST", "https://example.com/clickatell/status", headers, json.dumps(push).encode()
    )
    assert receipt.status is DeliveryStatus.UNDELIVERED and receipt.status.is_final
    assert (receipt.message_id, receipt.client_ref) == ("m-42", "order-7")
    assert receipt.details == {"channel": "sms", "status_code": 23, "updated_at": SDK_TIME}
