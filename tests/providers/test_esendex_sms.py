"""Esendex (specs/esendex_sms.yaml): the Message Delivered and Message Failed push
notifications, XML documents, read into canonical receipts. The delivered push is the XML
of http://developers.esendex.com/APIs/Push-Notifications with its placeholders filled in;
the failed one has the same elements (hawx/esendex-push lib/data.rb). Expected values are
written by hand from those pages and the SDKs' status enums. Esendex signs nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from dlr_core import DeliveryStatus, MalformedCallback

URL = "https://example.com/esendex/push"
HEADERS = {"Content-Type": "text/xml; charset=utf-8"}


def _push(root: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<{root}>
  <Id>7bd9a1b3-1a2b-4c5d-8e9f-0a1b2c3d4e5f</Id>
  <MessageId>3a1f6b8e-9c2d-4e7f-a0b1-c2d3e4f5a6b7</MessageId>
  <AccountId>f0e1d2c3-b4a5-4968-8776-655443322110</AccountId>
  <OccurredAt>2014-03-21T13:46:11</OccurredAt>
</{root}>""".encode()


@pytest.mark.parametrize(
    ("callback", "root", "status"),
    [
        ("message_delivered", "MessageDelivered", DeliveryStatus.DELIVERED),
        ("message_failed", "MessageFailed", DeliveryStatus.UNDELIVERED),
    ],
)
def test_each_notification_is_its_own_status(callback: str, root: str, status: DeliveryStatus) -> None:
    from dlr_esendex_sms import callbacks

    [receipt] = getattr(callbacks, f"parse_{callback}")("POST", URL, HEADERS, _push(root))
    assert receipt.status is status and receipt.status.is_final
    assert receipt.message_id == "3a1f6b8e-9c2d-4e7f-a0b1-c2d3e4f5a6b7"
    assert receipt.completed_at == datetime(
        2014, 3, 21, 13, 46, 11, tzinfo=timezone.utc
    )  # UTC, no offset sent
    assert receipt.details == {
        "account_id": "f0e1d2c3-b4a5-4968-8776-655443322110",
        "notification_id": "7bd9a1b3-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
    }
    assert receipt.raw["OccurredAt"] == "2014-03-21T13:46:11"


def test_a_body_that_is_not_the_notification_is_malformed() -> None:
    """Form fields are not XML; a document without MessageId is not the notification."""
    from dlr_esendex_sms.callbacks import parse_message_delivered

    with pytest.raises(MalformedCallback, match="not XML"):
        parse_message_delivered("POST", URL, HEADERS, b"MessageId=1&Status=Delivered")
    with pytest.raises(MalformedCallback, match="MessageDelivered"):  # no MessageId: not the model
        parse_message_delivered("POST", URL, HEADERS, b"<MessageDelivered><Id>1</Id></MessageDelivered>")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Submitted", DeliveryStatus.QUEUED),
        ("Queued", DeliveryStatus.QUEUED),
        ("Processing", DeliveryStatus.QUEUED),
        ("Scheduled", DeliveryStatus.QUEUED),
        ("Authorised", DeliveryStatus.QUEUED),
        ("Dispatched", DeliveryStatus.SENDING),
        ("Connecting", DeliveryStatus.SENDING),
        ("Sent", DeliveryStatus.SENT),
        ("Delivered", DeliveryStatus.DELIVERED),
        ("Acknowledged", DeliveryStatus.DELIVERED),
        ("PartiallyDelivered", DeliveryStatus.UNDELIVERED),
        ("Expired", DeliveryStatus.EXPIRED),
        ("Failed", DeliveryStatus.UNDELIVERED),
        ("FailedAuthorisation", DeliveryStatus.REJECTED),
        ("FailedAuthoristaion", DeliveryStatus.REJECTED),  # the Java SDK's spelling
        ("Rejected", DeliveryStatus.REJECTED),
        ("Cancelled", DeliveryStatus.CANCELED),
    ],
)
def test_every_status_the_sdks_name_maps(raw: str, canonical: DeliveryStatus) -> None:
    from dlr_esendex_sms.statuses import message_status_to_canonical

    assert message_status_to_canonical(raw) is canonical


# The status query, GET /v1.0/messageheaders/{id}: Esendex answers XML. These are the
# answers of Esendex's own SDK tests, verbatim: esendex/esendex-php-sdk
# test/Esendex/Parser/MessageHeaderXmlParserTest.php (OUTBOUND_RESPONSE_XML) and
# esendex/esendex-java-sdk src/test/java/com/esendex/java/sdk/SentService/
# GetMessageWithFailureReasonTest.java (a header with a failurereason). Expected values
# are the ones those tests assert.
PHP_SDK_OUTBOUND = b"""<?xml version="1.0" encoding="utf-8"?>
<messageheader id="a22702be-881e-43d9-9790-7646a95335f6"
               uri="https://api.esendex.com/v1.0/messageheaders/a22702be-881e-43d9-9790-7646a95335f6"
               xmlns="http://api.esendex.com/ns/">
    <reference>EX123456</reference>
    <status>Delivered</status>
    <deliveredat>2013-03-06T13:20:00Z</deliveredat>
    <sentat>2013-03-06T13:19:20.177Z</sentat>
    <laststatusat>2013-03-06T13:20:00Z</laststatusat>
    <submittedat>2013-03-06T13:18:25.437Z</submittedat>
    <type>SMS</type>
    <to>
        <phonenumber>447123456789</phonenumber>
    </to>
    <from>
        <phonenumber>447987654321</phonenumber>
    </from>
    <summary>Every message matters</summary>
    <body id="a22702be-881e-43d9-9790-7646a95335f6"
          uri="https://api.esendex.com/v1.0/messageheaders/a22702be-881e-43d9-9790-7646a95335f6/body" />
    <direction>Outbound</direction>
    <parts>1</parts>
    <username>support@esendex.com</username>
</messageheader>"""

JAVA_SDK_FAILURE_REASON = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<messageheader id="CDEB3533-1F76-46D7-A2A9-0DAF8290F7FC" uri="http://api.esendex.com/v1.0/messageheaders/'
    b'CDEB3533-1F76-46D7-A2A9-0DAF8290F7FC/" xmlns="http://api.esendex.com/ns/">'
    b" <status>Delivered</status>"
    b" <laststatusat>2010-01-01T12:00:05.000</laststatusat>"
    b" <submittedat>2010-01-01T12:00:02.000</submittedat>"
    b" <type>SMS</type>"
    b" <to>  <phonenumber>447700900123</phonenumber> </to>"
    b" <from>  <phonenumber>447700900654</phonenumber> </from>"
    b" <summary>Testing REST API</summary>"
    b' <body uri="http://api.esendex.com/v1.0/messageheaders/CDEB3533-1F76-46D7-A2A9-0DAF8290F7FC/body"/>'
    b" <direction>Outbound</direction>"
    b" <parts>1</parts>"
    b" <username>user@example.com</username>"
    b" <failurereason>  <code>102</code>  <description>Some problem</description>"
    b"  <permanentfailure>true</permanentfailure> </failurereason>"
    b"</messageheader>"
)
MESSAGE_ID = "a22702be-881e-43d9-9790-7646a95335f6"
CREDENTIALS = {"username": "user@example.com", "password": "api-token-1"}


def _mock(body: bytes, status: int = 200) -> Any:
    import httpx

    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"Content-Type": "application/xml"})

    return seen, httpx.MockTransport(answer)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_php_sdks_message_header_reads_into_a_receipt(mode: str) -> None:
    import asyncio

    import httpx

    from dlr_esendex_sms import AsyncClient, Client, MessageStatus

    seen, transport = _mock(PHP_SDK_OUTBOUND)
    if mode == "sync":
        with Client(**CREDENTIALS, http_client=httpx.Client(transport=transport)) as client:
            header = client.get_message_header(message_id=MESSAGE_ID)
            [receipt] = client.fetch_receipts(message_id=MESSAGE_ID)
    else:

        async def main() -> Any:
            async with AsyncClient(
                **CREDENTIALS, http_client=httpx.AsyncClient(transport=transport)
            ) as client:
                return await client.get_message_header(message_id=MESSAGE_ID), await client.fetch_receipts(
                    message_id=MESSAGE_ID
                )

        header, [receipt] = asyncio.run(main())
    assert seen[0].url == f"https://api.esendex.com/v1.0/messageheaders/{MESSAGE_ID}"
    # HTTP Basic, as the SDKs send it: base64("user@example.com:api-token-1").
    assert seen[0].headers["Authorization"] == "Basic dXNlckBleGFtcGxlLmNvbTphcGktdG9rZW4tMQ=="
    assert header.status is MessageStatus.DELIVERED and header.parts == 1
    assert header.to is not None and header.to.phone_number == "447123456789"
    assert header.originator is not None and header.originator.phone_number == "447987654321"
    assert header.sent_at == datetime(2013, 3, 6, 13, 19, 20, 177000, tzinfo=timezone.utc)
    assert receipt.status is DeliveryStatus.DELIVERED
    assert (receipt.message_id, receipt.recipient) == (MESSAGE_ID, "447123456789")
    assert receipt.submitted_at == datetime(2013, 3, 6, 13, 18, 25, 437000, tzinfo=timezone.utc)
    assert receipt.completed_at == datetime(2013, 3, 6, 13, 20, tzinfo=timezone.utc)
    assert receipt.details["reference"] == "EX123456"


def test_the_java_sdks_failure_reason_reads_into_the_receipt() -> None:
    import httpx

    from dlr_esendex_sms import Client

    _, transport = _mock(JAVA_SDK_FAILURE_REASON)
    with Client(**CREDENTIALS, http_client=httpx.Client(transport=transport)) as client:
        [receipt] = client.fetch_receipts(message_id="THEID")
        header = client.get_message_header(message_id="THEID")
    assert header.failure_reason is not None and header.failure_reason.permanent_failure is True
    assert (receipt.error_code, receipt.error_description) == ("102", "Some problem")
    assert receipt.details["permanent_failure"] is True
    # Zoneless, as the Java SDK's test writes it: read as UTC.
    assert header.last_status_at == datetime(2010, 1, 1, 12, 0, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(("status", "error"), [(401, "AuthenticationError"), (404, "NotFound")])
def test_an_error_status_is_the_typed_error_with_esendexs_body(status: int, error: str) -> None:
    import httpx

    import dlr_core
    from dlr_esendex_sms import Client

    body = (
        b'<?xml version="1.0" encoding="utf-8"?><errors><error><description>no</description></error></errors>'
    )
    _, transport = _mock(body, status)
    with Client(**CREDENTIALS, http_client=httpx.Client(transport=transport), retries=0) as client:
        with pytest.raises(getattr(dlr_core, error)) as caught:
            client.get_message_header(message_id=MESSAGE_ID)
    assert caught.value.http_status == status and caught.value.raw_body == body
