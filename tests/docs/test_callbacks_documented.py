"""The providers' published callback examples (tests/fixtures/callbacks/, verbatim; their
sources in tests/fixtures/callbacks/README.md) pushed through the generated packages,
signed as each provider documents, become the receipts written here by hand from the same
pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from tests.conftest import FIXTURES
from dlr_core import CallbackSignatureError, DeliveryStatus

CALLBACKS = FIXTURES / "callbacks"


def fixture(name: str) -> bytes:
    return (CALLBACKS / name).read_bytes()


# -- Twilio -----------------------------------------------------------------------------------


def twilio_documented_params() -> dict[str, str]:
    """The guide's example callback, written there as `"Name": "value"` lines."""
    text = fixture("twilio_status_callback_sent.txt").decode()
    pairs = re.findall(r'^"([A-Za-z]+)": "([^"]*)"$', text, flags=re.M)
    assert len(pairs) == len(text.strip().splitlines()) == 6
    return dict(pairs)


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """twilio-python's RequestValidator.compute_signature: the URL, then each parameter name
    and value in sorted order, HMAC-SHA1 keyed by the auth token, base64."""
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


# The guide's own example status callback URL (a Twilio Serverless function).
TWILIO_URL = "https://status-callback-prototyping-1234.twil.io/message-status"


def test_twilio_documented_sent_callback() -> None:
    """ "A status callback request sent when the Message resource for an outbound SMS changes
    status to sent": sent is not final, and the example carries no To."""
    from dlr_twilio_messaging.callbacks import parse_callback

    params = twilio_documented_params()
    body = urlencode(params).encode()  # form-encoded, as Twilio POSTs it
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature("auth-token", TWILIO_URL, params),
    }
    [receipt] = parse_callback("POST", TWILIO_URL, headers, body, auth_token="auth-token")
    assert receipt.provider == "twilio_messaging"
    assert receipt.status is DeliveryStatus.SENT and not receipt.is_final
    assert receipt.raw_status == {"MessageStatus": "sent"}
    assert receipt.message_id == "SM1342fe1b2c904d1ab04f0fc7a58abca9"
    assert receipt.recipient is None
    assert receipt.error_code is None and receipt.error_description is None
    assert receipt.details["sender"] == "+15017250604"
    assert receipt.details["account_sid"] == "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    assert receipt.details.get("raw_dlr_done_date") is None
    assert receipt.raw == {
        "AccountSid": "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "From": "+15017250604",
        "MessageSid": "SM1342fe1b2c904d1ab04f0fc7a58abca9",
        "MessageStatus": "sent",
        "SmsSid": "SM1342fe1b2c904d1ab04f0fc7a58abca9",
        "SmsStatus": "sent",
    }

    with pytest.raises(CallbackSignatureError):  # another token
        parse_callback("POST", TWILIO_URL, headers, body, auth_token="other-token")
    with pytest.raises(CallbackSignatureError):  # the status changed after signing
        parse_callback(
            "POST", TWILIO_URL, headers, body.replace(b"=sent", b"=delivered", 1), auth_token="auth-token"
        )


# -- Infobip ----------------------------------------------------------------------------------


def test_infobip_documented_delivery_reports() -> None:
    """Infobip's outbound SMS report webhook example (two reports in one push, both
    DELIVERED_TO_HANDSET, group 3 DELIVERED); Infobip does not sign its pushes."""
    from dlr_infobip_sms.callbacks import parse_callback

    receipts = parse_callback(
        "POST", "https://example.com/infobip/reports", {}, fixture("infobip_sms_delivery_reports.json")
    )
    assert [(r.message_id, r.recipient, r.status) for r in receipts] == [
        ("MESSAGE-ID-123-xyz", "41793026727", DeliveryStatus.DELIVERED),
        ("12db39c3-7822-4e72-a3ec-c87442c0ffc5", "41793026834", DeliveryStatus.DELIVERED),
    ]
    first, second = receipts
    # 16:00 and 17:00 at +01:00
    assert first.submitted_at == first.completed_at == datetime(2019, 11, 9, 15, 0, tzinfo=timezone.utc)
    assert second.submitted_at == second.completed_at == datetime(2019, 11, 9, 16, 0, tzinfo=timezone.utc)
    assert (first.error_code, first.error_description) == ("NO_ERROR", "No Error")
    assert first.details["permanent"] is False
    assert first.details["status_name"] == "DELIVERED_TO_HANDSET"
    assert first.details["bulk_id"] == "BULK-ID-123-xyz"
    assert first.client_ref is None  # the example has no callbackData
    assert first.idempotency_key != second.idempotency_key


# -- Telnyx -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def telnyx_keys() -> tuple[object, str]:
    """A generated Ed25519 test key pair: the private key, and the public key as Telnyx's
    portal shows it (base64 of the raw 32 bytes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, base64.b64encode(raw).decode()


def test_telnyx_documented_message_finalized(telnyx_keys: tuple[object, str]) -> None:
    """Telnyx's delivery status example ("a delivery receipt is returned to the sender after
    sending a message through a Telnyx long code to a T-Mobile long code"), signed as Telnyx
    documents: Ed25519 over "<telnyx-timestamp>|<payload>", base64 in
    telnyx-signature-ed25519."""
    from dlr_telnyx_messaging.callbacks import parse_callback

    key, public = telnyx_keys
    body = fixture("telnyx_message_finalized.json")
    now = datetime(2019, 12, 9, 21, 32, 15, tzinfo=timezone.utc)
    timestamp = str(int(now.timestamp()) - 1)
    signature = key.sign(f"{timestamp}|".encode() + body)  # type: ignore[attr-defined]
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": timestamp,
    }
    url = "http://webhook.site/af3a92e7-e150-442c-9fe6-61658ce26b1a"
    [receipt] = parse_callback("POST", url, headers, body, public_key=public, clock=lambda: now)
    assert receipt.provider == "telnyx_messaging"
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.is_final
    assert receipt.raw_status == {"status": "delivered"}
    assert receipt.message_id == "ac012cbf-5e09-46af-a69a-7c0e2d90993c"
    assert receipt.recipient == "+13125000000"
    assert receipt.submitted_at == datetime(2019, 12, 9, 21, 32, 13, 596000, tzinfo=timezone.utc)
    assert receipt.completed_at == datetime(2019, 12, 9, 21, 32, 14, 148000, tzinfo=timezone.utc)
    assert receipt.error_code is None
    assert receipt.details == {
        "event_type": "message.finalized",
        "event_id": "4ee8c3a6-4995-4309-a3c6-38e3db9ea4be",
        "carrier": "T-MOBILE USA, INC.",
    }
    assert receipt.raw == json.loads(body)["data"]["payload"]["to"][0]

    with pytest.raises(CallbackSignatureError):  # signed by another key
        from cryptography.hazmat.primitives.asymmetric import ed25519

        other = ed25519.Ed25519PrivateKey.generate().sign(f"{timestamp}|".encode() + body)
        parse_callback(
            "POST",
            url,
            {**headers, "telnyx-signature-ed25519": base64.b64encode(other).decode()},
            body,
            public_key=public,
            clock=lambda: now,
        )


def test_telnyx_documented_message_sent(telnyx_keys: tuple[object, str]) -> None:
    """The API specification's message.sent example: the recipient still queued, no sent or
    completed time yet (null). Its occurred_at is a placeholder ("date-time"), which no
    receipt reads, so the push is still read."""
    from dlr_telnyx_messaging.callbacks import parse_callback

    key, public = telnyx_keys
    body = fixture("telnyx_message_sent.json")
    now = datetime(2019, 1, 23, 18, 10, 3, tzinfo=timezone.utc)
    timestamp = str(int(now.timestamp()))
    signature = key.sign(f"{timestamp}|".encode() + body)  # type: ignore[attr-defined]
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": timestamp,
    }
    [receipt] = parse_callback(
        "POST", "https://www.example.com/hooks", headers, body, public_key=public, clock=lambda: now
    )
    assert receipt.status is DeliveryStatus.QUEUED and not receipt.is_final
    assert receipt.message_id == "40385f64-5717-4562-b3fc-2c963f66afa6"
    assert receipt.recipient == "+18665550001"
    assert receipt.submitted_at is None and receipt.completed_at is None
    assert receipt.details == {
        "event_type": "message.sent",
        "event_id": "86f58db9-0fe3-4adc-9d1f-46e66e6e9323",
        "carrier": "T-MOBILE USA, INC.",
    }
