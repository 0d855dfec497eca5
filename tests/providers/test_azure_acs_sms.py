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
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from dlr_core import CallbackSignatureError, DeliveryStatus
from dlr_core.callbacks import CallbackApp, HandshakePush
from dlr_core.push import PushScenarioError, push, read_scenario
from tests.conftest import ROOT, call_client, spec_data

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


def test_a_documented_error_code_is_read_from_the_text_and_listed_with_its_meaning() -> None:
    """The code is inside deliveryStatusDetails' text: the receipt's error_code is the number
    a pattern takes from it, its error_description the whole text, and its status follows
    deliveryStatus (the spec's gap). The code is SmsErrorCode's 5002, which the
    troubleshooting codes page (SMS pivot) documents as "Carrier does not support delivery
    report": the message was handed to the carrier (canonical sent, not final) rather than
    failed."""
    data = {**REPORT[0]["data"], "deliveryStatus": "Failed", "deliveryStatusDetails": TIMEOUT_DETAILS}  # type: ignore[dict-item]
    [receipt] = acs.parse_delivery_report(
        "POST", URL, {}, body_of([{**REPORT[0], "data": data}]), url_secret=SECRET
    )
    assert receipt.status is DeliveryStatus.UNDELIVERED
    assert receipt.error_description == TIMEOUT_DETAILS and receipt.error_code == "5002"
    member = SmsErrorCode.parse(receipt.error_code)
    assert member is SmsErrorCode.NO_DELIVERY_REPORT
    assert member.canonical is DeliveryStatus.SENT and not member.canonical.is_final


@pytest.mark.parametrize(
    ("details", "code"),
    [
        (TIMEOUT_DETAILS, "5002"),  # the Q&A's form
        ("2000: No Error", "2000"),  # the REST spec's example (DeliveryReportGet.json)
        ("No error.", None),  # the Event Grid page's example: no code in it
        ("Failed after ErrorCode: 4005", None),  # a number further in is not the report's code
        ("", None),
    ],
)
def test_the_code_is_taken_only_where_the_documented_forms_put_it(details: str, code: str | None) -> None:
    data = {**REPORT[0]["data"], "deliveryStatusDetails": details}  # type: ignore[dict-item]
    [receipt] = acs.parse_delivery_report(
        "POST", URL, {}, body_of([{**REPORT[0], "data": data}]), url_secret=SECRET
    )
    assert receipt.error_code == code


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


# -- the pull: GET /deliveryReports/{outgoingMessageId} ------------------------------------

# Azure/azure-rest-api-specs, specification/communication/data-plane/Sms/stable/2026-01-23/
# examples/DeliveryReportGet.json: the 200 answer and the 404 of DeliveryReports_Get.
REST_EXAMPLES = "https://github.com/Azure/azure-rest-api-specs/blob/main/specification/communication/data-plane/Sms/stable/2026-01-23/examples/DeliveryReportGet.json"
DOCUMENTED_ANSWER: dict[str, Any] = {
    "deliveryStatus": "Delivered",
    "deliveryStatusDetails": "2000: No Error",
    "deliveryAttempts": [
        {"timestamp": "2025-08-12T14:40:00Z", "segmentsSucceeded": 2, "segmentsFailed": 0},
        {"timestamp": "2025-08-12T14:35:00Z", "segmentsSucceeded": 1, "segmentsFailed": 1},
    ],
    "receivedTimestamp": "2025-08-12T14:40:00Z",
    "tag": "customer-tag",
    "messageId": "abc123-message-id",
    "from": "+1234567890",
    "to": "+0987654321",
}
DOCUMENTED_NOT_FOUND = {
    "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    "title": "Not Found",
    "status": 404,
    "traceId": "00-2af30328cf055ed1e74ed7c8004cafd2-450fe826b51b7bfe-00",
}

# azure-sdk-for-python, sdk/communication/azure-communication-sms/tests/test_hmac.py (and
# azure-communication-identity's): access key "pw==", x-ms-date "Wed, 13 Apr 2022 18:09:12 GMT",
# GET requests to https://contoso.communicationservices.azure.com, the published Authorization.
ACS_KEY = "pw=="
ENDPOINT = "https://contoso.communication.azure.com"  # a resource's endpoint, as base_url
ACS_MOMENT = datetime(2022, 4, 13, 18, 9, 12, tzinfo=timezone.utc)
ACS_VECTORS = [
    ("/", [], "88MDmJhUR3m5QhFxb8ztShsSwlGrg7g/6XPnWf7QEO4="),
    ("/testPath", [], "RoCrHjw7fb9fpHSbqvRUY2xa8RBS0YvI1cxI1x8AS38="),
    ("/testPath", [("testQuery", "yes")], "il99+rd6V5O136roX/zVePCNle78HmvC4B7tu9zRH3I="),
]


@pytest.mark.parametrize(("path", "query", "signature"), ACS_VECTORS)
def test_spec_scheme_reproduces_the_azure_sdk_hmac_vectors(
    path: str, query: list[tuple[str, str]], signature: str
) -> None:
    """The spec's hmac_sha256 scheme signs the SDK's test requests as the SDK's
    HMACCredentialsPolicy does (source:
    https://github.com/Azure/azure-sdk-for-python/blob/main/sdk/communication/azure-communication-sms/tests/test_hmac.py).
    """
    from dlr_core.request import PreparedRequest
    from dlr_core.signing import Signer

    scheme = spec_data(ROOT / "specs" / "azure_acs_sms.yaml")["auth"]["schemes"]["hmac_sha256"]
    request = PreparedRequest("GET", "https://contoso.communicationservices.azure.com", path, query=query)
    Signer(scheme, {"access_key": ACS_KEY}, clock=lambda: ACS_MOMENT).sign(request)
    assert request.headers["x-ms-date"] == "Wed, 13 Apr 2022 18:09:12 GMT"
    assert request.headers["Authorization"] == (
        f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
    )


def test_the_client_asks_for_one_report_as_the_rest_spec_says() -> None:
    import dlr_azure_acs_sms

    client = dlr_azure_acs_sms.Client(access_key=ACS_KEY, base_url=ENDPOINT, clock=lambda: ACS_MOMENT)
    with client:
        request = client.prepare("get_delivery_report", outgoing_message_id="abc123-message-id")
    assert request.method == "GET"
    assert str(request.url) == (
        "https://contoso.communication.azure.com/deliveryReports/abc123-message-id?api-version=2026-01-23"
    )
    assert request.headers["x-ms-date"] == "Wed, 13 Apr 2022 18:09:12 GMT"
    assert request.headers["Authorization"].startswith(
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&"
    )


def test_the_documented_answer_becomes_its_receipt() -> None:
    # REST_EXAMPLES' 200 answer, read as the client reads it.
    from dlr_azure_acs_sms import DeliveryReport, get_delivery_report_receipts

    [receipt] = get_delivery_report_receipts(DeliveryReport.model_validate(DOCUMENTED_ANSWER))
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.raw_status == {"deliveryStatus": "Delivered"}
    assert receipt.message_id == "abc123-message-id" and receipt.recipient == "+0987654321"
    assert receipt.client_ref == "customer-tag" and receipt.details["sender"] == "+1234567890"
    assert receipt.error_code == "2000" and receipt.error_description == "2000: No Error"
    assert SmsErrorCode.parse(receipt.error_code) is SmsErrorCode.DELIVERED_SUCCESSFULLY
    assert receipt.completed_at == datetime(2025, 8, 12, 14, 40, tzinfo=timezone.utc)


def test_a_failed_report_answered_maps_like_a_pushed_one() -> None:
    """The pull's receipts map to the same statuses and read the code as the push's do."""
    from dlr_azure_acs_sms import DeliveryReport, get_delivery_report_receipts

    failed = {**DOCUMENTED_ANSWER, "deliveryStatus": "Failed", "deliveryStatusDetails": TIMEOUT_DETAILS}
    [pulled] = get_delivery_report_receipts(DeliveryReport.model_validate(failed))
    data = {**REPORT[0]["data"], "deliveryStatus": "Failed", "deliveryStatusDetails": TIMEOUT_DETAILS}  # type: ignore[dict-item]
    [pushed] = acs.parse_delivery_report(
        "POST", URL, {}, body_of([{**REPORT[0], "data": data}]), url_secret=SECRET
    )
    assert pulled.status is pushed.status is DeliveryStatus.UNDELIVERED
    assert pulled.error_code == pushed.error_code == "5002"


def test_fetch_receipts_against_the_mock_is_signed_and_answered(mode: str) -> None:
    """The mock serves the documented answer and checks the HMAC signature with the key."""
    import dlr_azure_acs_sms
    from dlr_core import AuthenticationError
    from dlr_core.testing import MockTransport

    for mock_key, accepted in ((ACS_KEY, True), ("cHc9PQ==", False)):
        mock = MockTransport(dlr_azure_acs_sms.API, {"access_key": mock_key})
        cls = dlr_azure_acs_sms.Client if mode == "sync" else dlr_azure_acs_sms.AsyncClient
        client = mock.client(cls, access_key=ACS_KEY, base_url=ENDPOINT, retries=0)
        if accepted:
            [receipt] = call_client(mode, client, "fetch_receipts", outgoing_message_id="abc123-message-id")
            assert receipt.status is DeliveryStatus.DELIVERED and receipt.error_code == "2000"
        else:
            with pytest.raises(AuthenticationError):
                call_client(mode, client, "fetch_receipts", outgoing_message_id="abc123-message-id")
        assert mock.requests[-1].authenticated is accepted


def test_no_report_is_a_not_found_that_keeps_the_answer(mode: str) -> None:
    """The documented 404 (no report for the id) raises NotFound with its title and the raw
    body (the spec's gap: a report not received yet is not waited for)."""
    import dlr_azure_acs_sms
    from dlr_core import NotFound
    from dlr_core.testing import MockTransport

    mock = MockTransport(
        dlr_azure_acs_sms.API,
        {"access_key": ACS_KEY},
        scenario={"get_delivery_report": [{"status": 404, "body": DOCUMENTED_NOT_FOUND}]},
    )
    cls = dlr_azure_acs_sms.Client if mode == "sync" else dlr_azure_acs_sms.AsyncClient
    client = mock.client(cls, access_key=ACS_KEY, base_url=ENDPOINT, retries=0)
    with pytest.raises(NotFound) as caught:
        call_client(
            mode, client, "get_delivery_report", outgoing_message_id="00000000-0000-0000-0000-000000000000"
        )
    assert str(caught.value.code) == "404" and "Not Found" in str(caught.value)
    assert caught.value.request_id == DOCUMENTED_NOT_FOUND["traceId"]
    assert b"rfc9110" in caught.value.raw_body
