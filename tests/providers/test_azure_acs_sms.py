"""Azure Communication Services SMS delivery reports through Azure Event Grid (push only).

Event Grid signs nothing: the check is the secret query parameter of the webhook URL
(https://learn.microsoft.com/en-us/azure/event-grid/security-authentication), so there is no
signature to prove; what is proven against the documentation is the handshake and the
report:

- ``test_documented_validation_event_is_echoed``: the SubscriptionValidationEvent example of
  https://learn.microsoft.com/en-us/azure/event-grid/troubleshoot-subscription-validation
  (also end-point-validation-event-grid-events-schema) is answered with the page's
  "sample successful response", ``{"validationResponse": "512d38b6-..."}``.
- ``test_documented_delivery_report``: the Microsoft.Communication.SMSDeliveryReportReceived
  example of https://learn.microsoft.com/en-us/azure/event-grid/communication-services-telephony-sms-events
  becomes its receipt.
- ``test_a_documented_error_code_is_kept_in_the_report_and_listed_with_its_meaning``: the
  SMS error codes of the troubleshooting codes page (SMS pivot), which arrive inside
  deliveryStatusDetails' text ("ErrorCode: 5002. ErrorMessage: Message Delivery Timeout", as
  a Microsoft Q&A answer quotes it), are listed as ``SmsErrorCode`` with their meanings.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from dlr_core import CallbackSignatureError, DeliveryStatus
from dlr_core.callbacks import CallbackApp, HandshakePush
from dlr_core.push import PushScenarioError, push, read_scenario

import dlr_azure_acs_sms.callbacks as acs
from dlr_azure_acs_sms.statuses import SmsErrorCode, sms_error_code_to_canonical

SECRET = "s3cr3t-in-the-url"
URL = f"https://hooks.example.com/callbacks/acs?secret={SECRET}"

# troubleshoot-subscription-validation.md, "a sample SubscriptionValidationEvent JSON".
VALIDATION = [
    {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": "/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        "subject": "",
        "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2018-01-25T22:12:19.4556811Z",
        "metadataVersion": "1",
        "dataVersion": "1",
    }
]
# The same page's "sample successful response".
VALIDATION_RESPONSE = {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}

# communication-services-telephony-sms-events.md, the SMSDeliveryReportReceived example.
REPORT = [
    {
        "id": "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",
        "topic": "/subscriptions/{subscription-id}/resourceGroups/{group-name}/providers/microsoft.communication/communicationservices/{communication-services-resource-name}",
        "subject": "/phonenumber/15555555555",
        "data": {
            "messageId": "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910",
            "from": "15555555555",
            "to": "+15555555555",
            "deliveryStatus": "Delivered",
            "deliveryStatusDetails": "No error.",
            "receivedTimestamp": "2020-09-18T00:22:20.2855749Z",
            "deliveryAttempts": [
                {"timestamp": "2020-09-18T00:22:14.9315918Z", "segmentsSucceeded": 1, "segmentsFailed": 0}
            ],
        },
        "eventType": "Microsoft.Communication.SMSDeliveryReportReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2020-09-18T00:22:20Z",
    }
]


def body_of(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


def test_documented_validation_event_is_echoed() -> None:
    with pytest.raises(HandshakePush) as raised:
        acs.parse_delivery_report(
            "POST", URL, {"aeg-event-type": "SubscriptionValidation"}, body_of(VALIDATION), url_secret=SECRET
        )
    handshake = raised.value
    assert handshake.handshake == "subscription_validation" and handshake.confirm_url is None
    assert handshake.answer.status == 200 and handshake.answer.content_type == "application/json"
    assert json.loads(handshake.answer.body) == VALIDATION_RESPONSE


def test_documented_delivery_report() -> None:
    [receipt] = acs.parse_delivery_report("POST", URL, {}, body_of(REPORT), url_secret=SECRET)
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.raw_status == {"deliveryStatus": "Delivered"}
    assert receipt.message_id == "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910"
    assert receipt.recipient == "+15555555555"
    assert receipt.error_description == "No error."
    assert receipt.completed_at == datetime(2020, 9, 18, 0, 22, 20, 285574, tzinfo=timezone.utc)
    assert receipt.details["sender"] == "15555555555"


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        ("Delivered", DeliveryStatus.DELIVERED),
        ("Success", DeliveryStatus.DELIVERED),
        ("Failed", DeliveryStatus.UNDELIVERED),
    ],
)
def test_every_documented_status(status: str, canonical: DeliveryStatus) -> None:
    event = {**REPORT[0], "data": {**REPORT[0]["data"], "deliveryStatus": status}}  # type: ignore[dict-item]
    receipts = acs.parse_delivery_report(
        "POST", URL, {}, body_of([event, {**event, "id": "2"}]), url_secret=SECRET
    )
    assert [r.status for r in receipts] == [canonical, canonical]


# The deliveryStatusDetails of a report with code 5002, as quoted on
# https://learn.microsoft.com/en-us/answers/questions/5730794/sms-5002-error-troubleshooting
# (the event around it is the Event Grid page's example, made a failure).
TIMEOUT_DETAILS = "ErrorCode: 5002. ErrorMessage: Message Delivery Timeout"


def test_a_documented_error_code_is_kept_in_the_report_and_listed_with_its_meaning() -> None:
    """The code is inside deliveryStatusDetails' text (the spec's gap): the receipt keeps the
    text whole and its status follows deliveryStatus; the code, read from the text, is
    SmsErrorCode's 5002, which the troubleshooting codes page (SMS pivot) documents as
    "Carrier does not support delivery report": the message was handed to the carrier
    (canonical sent, not final) rather than failed."""
    data = {**REPORT[0]["data"], "deliveryStatus": "Failed", "deliveryStatusDetails": TIMEOUT_DETAILS}  # type: ignore[dict-item]
    [receipt] = acs.parse_delivery_report(
        "POST", URL, {}, body_of([{**REPORT[0], "data": data}]), url_secret=SECRET
    )
    assert receipt.status is DeliveryStatus.UNDELIVERED
    assert receipt.error_description == TIMEOUT_DETAILS and receipt.error_code is None
    code = re.search(r"ErrorCode:\s*(\d+)", receipt.error_description).group(1)  # type: ignore[union-attr]
    member = SmsErrorCode.parse(code)
    assert member is SmsErrorCode.NO_DELIVERY_REPORT
    assert member.canonical is DeliveryStatus.SENT and not member.canonical.is_final


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        (2000, DeliveryStatus.DELIVERED),  # Message Delivered Successfully.
        (4004, DeliveryStatus.REJECTED),  # Destination/To number doesn't exist.
        (4006, DeliveryStatus.UNDELIVERED),  # The Destination/To number isn't reachable.
        (4007, DeliveryStatus.REJECTED),  # opted out of receiving messages from you.
        (4020, DeliveryStatus.REJECTED),  # rejected by the carrier: a volumetric violation.
        (5001, DeliveryStatus.FAILED),  # temporary unavailability of application/system.
        (9999, DeliveryStatus.UNDELIVERED),  # unknown error/failure.
    ],
)
def test_documented_error_codes_map_to_their_meaning(code: int, canonical: DeliveryStatus) -> None:
    assert sms_error_code_to_canonical(code) is canonical
    assert sms_error_code_to_canonical(str(code)) is canonical


def test_every_documented_error_code_is_listed() -> None:
    """The table of includes/codes/sms-sdk.md (MicrosoftDocs/azure-docs a8a7aa94), by hand."""
    documented = [2000, 4000, 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4010, 4020]
    documented += [5000, 5001, 5002, 9999]
    assert [member.value for member in SmsErrorCode] == documented
    assert sms_error_code_to_canonical(4011) is DeliveryStatus.UNKNOWN


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/callbacks/acs",  # no secret
        "https://hooks.example.com/callbacks/acs?secret=guess",
        f"https://hooks.example.com/callbacks/acs?other={SECRET}",
        f"https://hooks.example.com/callbacks/acs?secret={SECRET}x",
    ],
)
def test_a_push_without_the_url_secret_is_refused(url: str) -> None:
    """Reports and validations alike: only a subscription to the secret URL validates."""
    for body in (body_of(REPORT), body_of(VALIDATION)):
        with pytest.raises(CallbackSignatureError, match="secret"):
            acs.parse_delivery_report("POST", url, {}, body, url_secret=SECRET)


def test_an_empty_secret_verifies_nothing() -> None:
    with pytest.raises(CallbackSignatureError, match="empty"):
        acs.parse_delivery_report(
            "POST", "https://hooks.example.com/x?secret=", {}, body_of(REPORT), url_secret=""
        )


def asgi_post(
    app: CallbackApp, path: str, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example.com") as client:
            return await client.post(path, content=body, headers=headers or {})

    return asyncio.run(call())


def test_callback_app_answers_the_validation_then_receives() -> None:
    got: list[Any] = []
    app = CallbackApp({"acs": acs.delivery_report_endpoint(url_secret=SECRET)}, lambda n, r: got.extend(r))
    answer = asgi_post(app, f"/callbacks/acs?secret={SECRET}", body_of(VALIDATION))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.json() == VALIDATION_RESPONSE and got == []
    assert asgi_post(app, "/callbacks/acs?secret=nope", body_of(VALIDATION)).status_code == 403
    assert asgi_post(app, f"/callbacks/acs?secret={SECRET}", body_of(REPORT)).status_code == 200
    assert [r.status for r in got] == [DeliveryStatus.DELIVERED]


def test_mock_pushes_the_validation_and_reports_to_the_secret_url() -> None:
    """``dlr_core.push`` (``dlrgen mock --push``) sends the handshake and the reports to the
    URL with its secret query parameter; a tampered push cannot be told apart without a
    signature, so a scenario asking for one is refused."""
    seen: list[str] = []
    got: list[Any] = []
    app = CallbackApp({"acs": acs.delivery_report_endpoint(url_secret=SECRET)}, lambda n, r: got.extend(r))

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        answer = asgi_post(app, request.url.raw_path.decode("ascii"), request.content, dict(request.headers))
        return httpx.Response(answer.status_code, content=answer.content)

    callbacks = {"delivery_report": acs.DELIVERY_REPORT}
    steps = read_scenario(
        callbacks,
        {
            "delivery_report": [
                {"handshake": "subscription_validation", "payload": {"data": {"validationCode": "code-1"}}},
                {"payload": REPORT},
            ]
        },
    )
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        results = push(
            callbacks,
            steps,
            "https://hooks.example.com/callbacks/acs",
            credentials={"url_secret": SECRET},
            http_client=http,
        )
    assert [(r.handshake, r.status) for r in results] == [("subscription_validation", 200), (None, 200)]
    assert json.loads(results[0].answer) == {"validationResponse": "code-1"}
    assert seen == [f"https://hooks.example.com/callbacks/acs?secret={SECRET}"] * 2
    assert [r.message_id for r in got] == [REPORT[0]["id"]]
    with pytest.raises(PushScenarioError, match="not signed"):
        read_scenario(callbacks, {"delivery_report": [{"payload": REPORT, "tamper": True}]})
