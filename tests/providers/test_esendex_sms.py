"""Esendex (specs/esendex_sms.yaml): the Message Delivered and Message Failed push
notifications, XML documents, read into canonical receipts. The delivered push is the XML
of http://developers.esendex.com/APIs/Push-Notifications with its placeholders filled in;
the failed one has the same elements (hawx/esendex-push lib/data.rb). Expected values are
written by hand from those pages and the SDKs' status enums. Esendex signs nothing."""

from __future__ import annotations

from datetime import datetime, timezone

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
