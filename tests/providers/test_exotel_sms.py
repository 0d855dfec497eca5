"""Exotel SMS (specs/exotel_sms.yaml): the SMS details call (GET
/v1/Accounts/<sid>/SMS/Messages/<SmsSid>.json, HTTP Basic with the API key and token) read
with the sync and async clients against the mock, its documented answer, and the
StatusCallback form of https://developer.exotel.com/api-console/send-sms-api-console. The
expected receipts are written here by hand from those pages and the status-codes page.
Exotel uses plain HTTP Basic and signs no callback, so there is no signature to prove."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import run_client
from dlr_core import DeliveryStatus

CREDENTIALS = {"account_sid": "exotel123", "api_key": "key-abc", "api_token": "token-secret"}
SID = "0f477d60517e6e6a0f6d9a7e9af8630e"

# The SMS details page's JSON answer, for this Sid.
ANSWER = {
    "SMSMessage": {
        "Sid": SID,
        "AccountSid": "exotel123",
        "From": "EXOTEL",
        "To": "+919876543210",
        "Body": "Your OTP is 123456",
        "Status": "sent",
        "DetailedStatusCode": 20005,
        "DetailedStatus": "DELIVERED_TO_HANDSET",
        "DateCreated": "2024-01-15 10:30:00",
        "DateUpdated": "2024-01-15 10:30:05",
        "DateSent": "2024-01-15 10:30:02",
        "Price": 0.18,
        "Uri": f"/v1/Accounts/exotel123/SMS/Messages/{SID}",
    }
}


def client_of(mock: Any, mode: str) -> Any:
    import dlr_exotel_sms

    return mock.client(dlr_exotel_sms.Client if mode == "sync" else dlr_exotel_sms.AsyncClient)


def test_the_details_of_a_delivered_sms(dlr_mock: Any, mode: str) -> None:
    import dlr_exotel_sms

    mock = dlr_mock(dlr_exotel_sms.API, CREDENTIALS, scenario={"get_sms_details": [{"body": ANSWER}]})
    [receipt] = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(sms_sid=SID))
    assert receipt.status is DeliveryStatus.DELIVERED
    assert (receipt.message_id, receipt.recipient) == (SID, "+919876543210")
    assert (receipt.error_code, receipt.error_description) == ("20005", "DELIVERED_TO_HANDSET")
    assert receipt.details == {"date_sent": "2024-01-15 10:30:02", "price": 0.18}
    [request] = mock.requests
    assert (request.method, request.path) == ("GET", f"/v1/Accounts/exotel123/SMS/Messages/{SID}.json")
    basic = base64.b64encode(b"key-abc:token-secret").decode()
    assert request.headers["authorization"] == f"Basic {basic}"


def test_failed_dnd_in_either_spelling() -> None:
    from dlr_exotel_sms.statuses import sms_status_to_canonical

    assert sms_status_to_canonical("failed-dnd") is DeliveryStatus.REJECTED  # the details' spelling
    assert sms_status_to_canonical("failed_dnd") is DeliveryStatus.REJECTED  # the callback's list


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        ("queued", DeliveryStatus.QUEUED),
        ("sending", DeliveryStatus.SENDING),
        ("submitted", DeliveryStatus.SENT),
        ("sent", DeliveryStatus.DELIVERED),
        ("failed", DeliveryStatus.UNDELIVERED),
    ],
)
def test_every_status(status: str, canonical: DeliveryStatus) -> None:
    from dlr_exotel_sms.statuses import sms_status_to_canonical

    assert sms_status_to_canonical(status) is canonical


def test_the_detailed_status_codes() -> None:
    """The status-codes page's 14 codes: 2000x delivered (20006 only to the operator),
    2101x/21020 in progress, 230xx failed."""
    from dlr_exotel_sms.statuses import DetailedStatusCode, detailed_status_code_to_canonical

    assert len(DetailedStatusCode) == 14
    assert detailed_status_code_to_canonical(20005) is DeliveryStatus.DELIVERED
    assert detailed_status_code_to_canonical("20006") is DeliveryStatus.SENT
    assert detailed_status_code_to_canonical(21015) is DeliveryStatus.SENDING
    assert detailed_status_code_to_canonical(23010) is DeliveryStatus.UNDELIVERED
    assert detailed_status_code_to_canonical(23082) is DeliveryStatus.REJECTED


def test_the_status_callback() -> None:
    """The send page's callback parameters, form-encoded."""
    from dlr_exotel_sms.callbacks import parse_callback

    body = urlencode(
        {
            "SmsSid": SID,
            "To": "09876543210",
            "Status": "failed_dnd",
            "SmsUnits": "1",
            "DetailedStatus": "FAILED_DND",
            "DetailedStatusCode": "23005",
            "DateSent": "2024-01-15 10:30:02",
            "CustomField": "order-42",
        }
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    [receipt] = parse_callback("POST", "https://example.com/exotel", headers, body)
    assert receipt.status is DeliveryStatus.REJECTED
    assert (receipt.message_id, receipt.recipient, receipt.client_ref) == (SID, "09876543210", "order-42")
    assert (receipt.error_code, receipt.error_description) == ("23005", "FAILED_DND")
    assert receipt.details == {"date_sent": "2024-01-15 10:30:02", "sms_units": "1"}
