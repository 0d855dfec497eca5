"""MSG91 SMS webhooks (specs/msg91_sms.yaml): the v2 and v3 samples of
https://msg91.com/help/how-can-i-get-the-delivery-reports-on-my-webhook-url, verbatim, become
the receipts written here by hand from that page's status table (1 Delivered, 2 Failed, 9
NDNC, 16 and 25 Rejected, 17 Blocked number). MSG91 signs nothing, so there is no signature
to prove."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import httpx
import pytest

from dlr_core import DeliveryStatus, MalformedCallback, Receipt
from dlr_core.callbacks import CallbackApp

URL = "https://example.com/callbacks/msg91"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# The page's "Sample response v2": the value of the form field data.
V2_DATA = (
    '[{"senderId":"uXXXXm","requestId":"346XXXXXXXXXXXX130","report":[{"date":"2024-05-22 10:06:20",'
    '"amount":"0.01","clientid":"","INMSID":"0","CRQID":"0","ctCode":"900","number":"9195XXXX6558",'
    '"credit":"1","status":"1","desc":"DELIVERED","failedReason":""}],"userId":"27XXXX",'
    '"campaignName":"Sendhttp"}]'
)

# The page's "Sample response v3".
V3 = {
    "date": "2024-05-22 09:58:16",
    "number": "9195XXXX6558",
    "senderId": "uXXXXm",
    "amount": "0.01",
    "requestId": "346XXXXXXXXXXXX130",
    "INMSID": "0",
    "CRQID": "0",
    "credit": "1",
    "userId": "27XXXX",
    "campaignName": "Sendhttp",
    "status": "1",
    "desc": "DELIVERED",
}


def test_the_v2_sample_becomes_one_delivered_receipt() -> None:
    from dlr_msg91_sms.callbacks import parse_delivery_report

    [receipt] = parse_delivery_report("POST", URL, FORM, urlencode({"data": V2_DATA}).encode())
    assert receipt.status is DeliveryStatus.DELIVERED
    assert (receipt.message_id, receipt.recipient) == ("346XXXXXXXXXXXX130", "9195XXXX6558")
    assert receipt.raw_status == {"status": "1"}
    assert receipt.error_description == "DELIVERED"
    assert receipt.details == {
        "date": "2024-05-22 10:06:20",
        "sender_id": "uXXXXm",
        "campaign_name": "Sendhttp",
    }


def test_a_v2_push_of_several_requests_gives_a_receipt_per_report() -> None:
    from dlr_msg91_sms.callbacks import parse_delivery_report

    requests = [
        {
            "senderId": "abcdef",
            "requestId": "R1",
            "report": [
                {"date": "2023-05-04 15:31:58", "number": "91AAA", "status": "1", "desc": "DELIVERED"},
                {
                    "date": "2023-05-04 15:31:59",
                    "number": "91BBB",
                    "status": "2",
                    "desc": "FAILED",
                    "failedReason": "Absent subscriber",
                },
            ],
            "userId": "12345",
            "campaignName": "API",
        },
        {
            "senderId": "abcdef",
            "requestId": "R2",
            "report": [{"number": "91CCC", "status": "17", "desc": "Blocked"}],
        },
    ]
    receipts = parse_delivery_report("POST", URL, FORM, urlencode({"data": json.dumps(requests)}).encode())
    assert [(r.message_id, r.recipient, r.status, r.error_code) for r in receipts] == [
        ("R1", "91AAA", DeliveryStatus.DELIVERED, None),
        ("R1", "91BBB", DeliveryStatus.UNDELIVERED, "Absent subscriber"),
        ("R2", "91CCC", DeliveryStatus.REJECTED, None),
    ]


def test_the_v3_sample() -> None:
    from dlr_msg91_sms.callbacks import parse_delivery_report_json

    body = json.dumps(V3).encode()
    [receipt] = parse_delivery_report_json("POST", URL, {"Content-Type": "application/json"}, body)
    assert (receipt.message_id, receipt.recipient, receipt.status) == (
        "346XXXXXXXXXXXX130",
        "9195XXXX6558",
        DeliveryStatus.DELIVERED,
    )


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        ("1", DeliveryStatus.DELIVERED),
        ("2", DeliveryStatus.UNDELIVERED),
        ("9", DeliveryStatus.REJECTED),
        ("16", DeliveryStatus.REJECTED),
        ("25", DeliveryStatus.REJECTED),
        ("17", DeliveryStatus.REJECTED),
        ("26", DeliveryStatus.UNKNOWN),  # not in the page's table: kept raw, unknown
    ],
)
def test_every_documented_status_code(code: str, canonical: DeliveryStatus) -> None:
    from dlr_msg91_sms.callbacks import parse_delivery_report_json

    body = json.dumps({**V3, "status": code}).encode()
    [receipt] = parse_delivery_report_json("POST", URL, {"Content-Type": "application/json"}, body)
    assert receipt.status is canonical
    assert receipt.raw_status == {"status": code}


def test_a_v2_push_without_data_or_with_a_v3_body_is_malformed() -> None:
    from dlr_msg91_sms.callbacks import parse_delivery_report

    with pytest.raises(MalformedCallback):
        parse_delivery_report("POST", URL, FORM, b"status=1&number=91AAA")
    with pytest.raises(MalformedCallback):  # a JSON body is not the v2 form
        parse_delivery_report("POST", URL, {"Content-Type": "application/json"}, json.dumps(V3).encode())


def test_the_v2_endpoint_answers_200() -> None:
    from dlr_msg91_sms.callbacks import callback_endpoint

    got: list[Receipt] = []

    async def on_receipts(name: str, receipts: list[Receipt]) -> None:
        got.extend(receipts)

    app = CallbackApp({"msg91": callback_endpoint()}, on_receipts)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://example.com"
        ) as c:
            return await c.post("/callbacks/msg91", content=urlencode({"data": V2_DATA}), headers=FORM)

    assert asyncio.run(main()).status_code == 200
    assert [r.status for r in got] == [DeliveryStatus.DELIVERED]
