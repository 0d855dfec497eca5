"""Termii (specs/termii_sms.yaml): the message history (https://developers.termii.com/history)
read with the sync and async clients against the mock, and the outbound-message event of
https://developer.termii.com/events-and-reports, whose X-Termii-Signature is "a HMAC SHA512
signature of the event payload signed with your secret key". Termii publishes no signed
example and no official SDK that verifies events, so the signature test re-implements that
sentence here (HMAC-SHA512 of the raw body, keyed by the secret key, hex as community SDKs
write it) and checks the generated parser against it, never against dlrgen's own output."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from tests.conftest import run_client
from dlr_core import CallbackSignatureError, DeliveryStatus

CREDENTIALS = {"api_key": "TLtestapikey000000000000000000000000000", "secret_key": "termii-secret-key"}
BASE = "https://v3.api.termii.com"
URL = "https://example.com/callbacks/termii"

# The older events page's "Webhook Notification Data", byte for byte as a compact JSON body.
EVENT = {
    "type": "outbound",
    "message_id": "5964465985113503103",
    "receiver": "2343459509389",
    "sender": "N-Alert",
    "message": "Your Termii confirmation code is 234u53.",
    "sent_at": "2020-12-16 11:34:36",
    "cost": "3.9",
    "command": "deliver",
    "status": "DELIVERED | Message delivered to handset",
    "channel": "Number Api",
}


def termii_signature(secret_key: str, raw_body: bytes) -> str:
    """The events page's algorithm: HMAC SHA512 of the event payload (the raw body) signed
    with the secret key; hex digest."""
    return hmac.new(secret_key.encode("utf-8"), raw_body, hashlib.sha512).hexdigest()


def test_the_event_signature_is_hmac_sha512_of_the_body() -> None:
    """The generated parser accepts the page's event signed by the page's algorithm, refuses
    it with the signature of a one-character change, another key's signature, or none."""
    from dlr_termii_sms.callbacks import parse_callback

    body = json.dumps(EVENT, separators=(",", ":")).encode()
    signature = termii_signature(CREDENTIALS["secret_key"], body)
    assert len(signature) == 128  # SHA-512, hex
    headers = {"Content-Type": "application/json", "X-Termii-Signature": signature}
    [receipt] = parse_callback("POST", URL, headers, body, secret_key=CREDENTIALS["secret_key"])
    assert receipt.status is DeliveryStatus.DELIVERED
    assert (receipt.message_id, receipt.recipient) == ("5964465985113503103", "2343459509389")
    assert receipt.raw_status == {"status": "DELIVERED | Message delivered to handset"}
    assert receipt.details == {
        "request_id": None,
        "sender": "N-Alert",
        "channel": "Number Api",
        "cost": "3.9",
    }

    tampered = body.replace(b"3.9", b"3.8")
    with pytest.raises(CallbackSignatureError):
        parse_callback("POST", URL, headers, tampered, secret_key=CREDENTIALS["secret_key"])
    with pytest.raises(CallbackSignatureError):
        parse_callback("POST", URL, headers, body, secret_key="another-secret")
    with pytest.raises(CallbackSignatureError):
        parse_callback(
            "POST", URL, {"Content-Type": "application/json"}, body, secret_key=CREDENTIALS["secret_key"]
        )
    # A SHA-256 signature of the same body is not Termii's.
    sha256 = hmac.new(CREDENTIALS["secret_key"].encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(CallbackSignatureError):
        parse_callback(
            "POST", URL, {**headers, "X-Termii-Signature": sha256}, body, secret_key=CREDENTIALS["secret_key"]
        )


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        ("Message Sent", DeliveryStatus.SENT),
        ("Received", DeliveryStatus.SENT),
        ("Delivered", DeliveryStatus.DELIVERED),
        ("DELIVERED", DeliveryStatus.DELIVERED),
        ("DND Active on Phone Number", DeliveryStatus.REJECTED),
        ("Message Failed", DeliveryStatus.UNDELIVERED),
        ("Failed", DeliveryStatus.UNDELIVERED),  # the history's spelling
        ("Rejected", DeliveryStatus.REJECTED),
        ("Expired", DeliveryStatus.EXPIRED),
    ],
)
def test_every_documented_status(status: str, canonical: DeliveryStatus) -> None:
    from dlr_termii_sms.statuses import message_status_to_canonical

    assert message_status_to_canonical(status) is canonical


def client_of(mock: Any, mode: str) -> Any:
    import dlr_termii_sms

    cls = dlr_termii_sms.Client if mode == "sync" else dlr_termii_sms.AsyncClient
    return mock.client(cls, base_url=BASE)


def test_the_history_of_one_message(dlr_mock: Any, mode: str) -> None:
    """The history page's sample answer; asked for one message_id, its receipt, the API key
    in the query."""
    import dlr_termii_sms

    answer = [
        {
            "sender": "Great",
            "receiver": "2347065250817",
            "message": "Your pin is 356802",
            "amount": 1.0,
            "reroute": 0,
            "status": "Delivered",
            "sms_type": "generic",
            "send_by": "api",
            "message_id": "3017545711235443752697757",
            "created_at": "2025-08-07 13:52:04",
        }
    ]
    mock = dlr_mock(dlr_termii_sms.API, CREDENTIALS, scenario={"get_history": [{"body": answer}]})
    [receipt] = run_client(
        mode, client_of(mock, mode), lambda c: c.fetch_receipts(message_id="3017545711235443752697757")
    )
    assert receipt.status is DeliveryStatus.DELIVERED
    assert (receipt.message_id, receipt.recipient) == ("3017545711235443752697757", "2347065250817")
    assert receipt.details == {"sender": "Great", "sms_type": "generic", "amount": 1.0}
    [request] = mock.requests
    assert (request.method, request.path) == ("GET", "/api/sms/inbox")
    assert sorted(request.query) == [
        ("api_key", CREDENTIALS["api_key"]),
        ("message_id", "3017545711235443752697757"),
    ]


def test_the_api_key_never_shows_in_the_client(dlr_mock: Any) -> None:
    import dlr_termii_sms

    mock = dlr_mock(dlr_termii_sms.API, CREDENTIALS)
    client = mock.client(dlr_termii_sms.Client, base_url=BASE)
    with client:
        assert CREDENTIALS["api_key"] not in repr(client)
