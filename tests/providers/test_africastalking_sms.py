"""Africa's Talking SMS delivery reports (specs/africastalking_sms.yaml): a push with the
form fields https://docs.africastalking.com/sms/notifications lists (id, status,
phoneNumber, networkCode, failureReason, retryCount) becomes the canonical receipt written
here by hand from the status and failureReason tables of that page and of
http://docs.africastalking.com/sms/deliveryreports. Africa's Talking signs nothing, so
there is no signature to prove."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx
import pytest

from dlr_core import DeliveryStatus, MalformedCallback, Receipt
from dlr_core.callbacks import CallbackApp

URL = "https://example.com/callbacks/africastalking"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def push(**fields: str) -> bytes:
    return urlencode(fields).encode()


def test_a_failed_report_becomes_an_undelivered_receipt_with_its_reason() -> None:
    from dlr_africastalking_sms.callbacks import parse_callback

    body = push(
        id="ATXid_03cb5ecf11ce748794c0f9a85c276259",
        status="Failed",
        phoneNumber="+254711XXXYYY",
        networkCode="63902",
        failureReason="UserInBlackList",
        retryCount="0",
    )
    [receipt] = parse_callback("POST", URL, FORM, body)
    assert receipt.status is DeliveryStatus.UNDELIVERED
    assert receipt.message_id == "ATXid_03cb5ecf11ce748794c0f9a85c276259"
    assert receipt.recipient == "+254711XXXYYY"
    assert receipt.error_code == "UserInBlackList"
    assert receipt.raw_status == {"status": "Failed"}
    assert receipt.details == {"network_code": "63902", "retry_count": "0"}


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        ("Sent", DeliveryStatus.SENT),  # sent by Africa's Talking's network
        ("Submitted", DeliveryStatus.SENT),  # submitted to the MSP
        ("Buffered", DeliveryStatus.SENDING),  # queued by the MSP
        ("Rejected", DeliveryStatus.REJECTED),  # final
        ("Success", DeliveryStatus.DELIVERED),  # final: on the handset
        ("Failed", DeliveryStatus.UNDELIVERED),  # final
        ("Expired", DeliveryStatus.UNKNOWN),  # not documented: kept raw, unknown
    ],
)
def test_every_documented_status(status: str, canonical: DeliveryStatus) -> None:
    from dlr_africastalking_sms.callbacks import parse_callback

    [receipt] = parse_callback("POST", URL, FORM, push(id="ATXid_1", status=status, phoneNumber="+2547"))
    assert receipt.status is canonical
    assert receipt.raw_status == {"status": status}
    assert receipt.is_final is (status in {"Rejected", "Success", "Failed"})


def test_failure_reasons_and_the_old_spelling() -> None:
    """Nine documented failureReason values; the old page spells NotNetworkSubcriber."""
    from dlr_africastalking_sms.statuses import FailureReason, failure_reason_to_canonical

    assert len(FailureReason) == 9
    assert failure_reason_to_canonical("NotNetworkSubcriber") is DeliveryStatus.UNDELIVERED
    assert failure_reason_to_canonical("NotNetworkSubscriber") is DeliveryStatus.UNDELIVERED
    assert failure_reason_to_canonical("UserNotSubscribedToProduct") is DeliveryStatus.REJECTED


def test_a_report_without_id_or_status_is_malformed() -> None:
    from dlr_africastalking_sms.callbacks import parse_callback

    with pytest.raises(MalformedCallback):
        parse_callback("POST", URL, FORM, push(status="Success"))
    with pytest.raises(MalformedCallback):
        parse_callback("POST", URL, FORM, push(id="ATXid_1"))
    with pytest.raises(MalformedCallback):  # a GET is not how the reports arrive
        parse_callback("GET", URL + "?" + push(id="ATXid_1", status="Success").decode(), {}, b"")


def test_the_endpoint_answers_200_and_hands_over_the_receipt() -> None:
    """The async form: CallbackApp (ASGI) in process."""
    from dlr_africastalking_sms.callbacks import callback_endpoint

    got: list[Receipt] = []

    async def on_receipts(name: str, receipts: list[Receipt]) -> None:
        got.extend(receipts)

    app = CallbackApp({"at": callback_endpoint()}, on_receipts)

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://example.com") as client:
            return await client.post(
                "/callbacks/at", content=push(id="ATXid_2", status="Success"), headers=FORM
            )

    answer = asyncio.run(main())
    assert answer.status_code == 200
    [receipt] = got
    assert (receipt.message_id, receipt.status) == ("ATXid_2", DeliveryStatus.DELIVERED)
