"""Bandwidth Messaging v2 (specs/bandwidth_messaging.yaml): a message's status through the
mock, the documented callbacks read as receipts, and the callback credentials checked.

Neither side is signed beyond HTTP Basic (RFC 7617): requests carry the API user's
credentials, and callbacks the application's OutboundCallbackCreds
(https://dev.bandwidth.com/docs/account/applications/). The proofs are published literals:
the Authorization header of the request example of
https://dev.bandwidth.com/docs/messaging/getMessage/ ("Basic dXNlcm5hbWU6cGFzc3dvcmQ=", for
username / password), and RFC 7617 section 2's example ("Aladdin" / "open sesame" is
"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="). Payloads are the docs' examples, verbatim
(https://dev.bandwidth.com/docs/messaging/webhooks/, source Bandwidth/api-docs 2fcdf57e).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.conftest import call_client
from dlr_core import CallbackSignatureError, DeliveryStatus
from dlr_core.testing import MockTransport

import dlr_bandwidth_messaging
from dlr_bandwidth_messaging.callbacks import parse_message_callback

URL = "https://example.com/your_url"
RFC_7617_HEADER = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
CALLBACK_CREDS = {"callback_user_id": "Aladdin", "callback_password": "open sesame"}

FAILED = b"""[
  {
    "type"          : "message-failed",
    "time"          : "2016-09-14T18:20:16Z",
    "description"   : "forbidden to country",
    "to"            : "+52345678903",
    "errorCode"     : 4432,
    "message"       : {
      "id"            : "14762070468292kw2fuqty55yp2b2",
      "time"          : "2016-09-14T18:20:16Z",
      "to"            : [
          "+12345678902",
          "+52345678903"
        ],
      "from"          : "+12345678901",
      "text"          : "",
      "applicationId" : "93de2206-9669-4e07-948d-329f4b722ee2",
      "media"         : [
          "https://dev.bandwidth.com/images/bandwidth-logo.png"
        ],
      "owner"         : "+12345678901",
      "direction"     : "out",
      "segmentCount"  : 1
    }
  }
]"""

DELIVERED = b"""[
  {
    "type"          : "message-delivered",
    "time"          : "2016-09-14T18:20:16Z",
    "description"   : "ok",
    "to"            : "+12345678902",
    "message"       : {
      "id"            : "14762070468292kw2fuqty55yp2b2",
      "time"          : "2016-09-14T18:20:16Z",
      "to"            : ["+12345678902"],
      "from"          : "+12345678901",
      "text"          : "",
      "applicationId" : "93de2206-9669-4e07-948d-329f4b722ee2",
      "owner"         : "+12345678902",
      "direction"     : "out",
      "segmentCount"  : 1
    }
  }
]"""


def test_the_client_sends_the_documented_basic_header(mode: str) -> None:
    """The getMessage page's request (GET .../users/12345/messages?messageId=..., with
    "Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=") is what the client sends for
    username / password, sync and async; its example answer is one delivered receipt."""
    credentials = {"username": "username", "password": "password", "account_id": "12345"}
    mock = MockTransport(dlr_bandwidth_messaging.API, credentials)
    client = mock.client(
        dlr_bandwidth_messaging.AsyncClient if mode == "async" else dlr_bandwidth_messaging.Client
    )
    [receipt] = call_client(mode, client, "fetch_receipts", message_id="1589228074636lm4k2je7j7jklbn2")
    [request] = mock.requests
    assert request.headers["authorization"] == "Basic dXNlcm5hbWU6cGFzc3dvcmQ="
    assert request.path == "/api/v2/users/12345/messages"
    assert request.query == [("messageId", "1589228074636lm4k2je7j7jklbn2")]
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.recipient == "+15554442222"
    assert receipt.error_code == "0" and receipt.details["carrier"] == "other"
    assert receipt.submitted_at == datetime(2020, 4, 7, 14, 3, 7, tzinfo=timezone.utc)


def test_callback_credentials_are_checked() -> None:
    """A callback with the application's credentials (RFC 7617's literal header) is read;
    another password, another user, no header or another scheme is refused."""
    headers = {"Authorization": RFC_7617_HEADER, "Content-Type": "application/json; charset=utf-8"}
    assert parse_message_callback("POST", URL, headers, DELIVERED, **CALLBACK_CREDS)
    for refused in (
        {"callback_user_id": "Aladdin", "callback_password": "open sesame!"},
        {"callback_user_id": "aladdin", "callback_password": "open sesame"},
    ):
        with pytest.raises(CallbackSignatureError) as error:
            parse_message_callback("POST", URL, headers, DELIVERED, **refused)
        assert "sesame" not in str(error.value)
    with pytest.raises(CallbackSignatureError, match="no Authorization"):
        parse_message_callback("POST", URL, {}, DELIVERED, **CALLBACK_CREDS)
    with pytest.raises(CallbackSignatureError):
        parse_message_callback(
            "POST", URL, {"Authorization": "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}, DELIVERED, **CALLBACK_CREDS
        )


def test_the_documented_failed_callback_is_rejected_with_its_code() -> None:
    """The docs' message-failed example (4432, forbidden to country, a Bandwidth-detected
    client error): rejected, with its code and description."""
    [receipt] = parse_message_callback(
        "POST", URL, {"Authorization": RFC_7617_HEADER}, FAILED, **CALLBACK_CREDS
    )
    assert receipt.status is DeliveryStatus.REJECTED
    assert (receipt.message_id, receipt.recipient) == ("14762070468292kw2fuqty55yp2b2", "+52345678903")
    assert (receipt.error_code, receipt.error_description) == ("4432", "forbidden to country")
    assert receipt.completed_at == datetime(2016, 9, 14, 18, 20, 16, tzinfo=timezone.utc)
    assert receipt.details["direction"] == "out"


def test_the_documented_delivered_callback_is_delivered() -> None:
    [receipt] = parse_message_callback(
        "POST", URL, {"Authorization": RFC_7617_HEADER}, DELIVERED, **CALLBACK_CREDS
    )
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.error_code is None


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (4432, "rejected"),
        (4720, "undelivered"),
        (5100, "failed"),
        (5620, "undelivered"),
        (9902, "sent"),
        (9999, "undelivered"),
    ],
)
def test_a_failed_callback_takes_the_meaning_of_its_codes_section(code: int, meaning: str) -> None:
    """Each section of the errors page (Bandwidth or carrier, client or service, ambiguous)
    decides a message-failed event's status; a code the page does not list leaves it failed."""
    body = FAILED.replace(b"4432", str(code).encode())
    [receipt] = parse_message_callback(
        "POST", URL, {"Authorization": RFC_7617_HEADER}, body, **CALLBACK_CREDS
    )
    assert receipt.status.value == meaning
    unlisted = FAILED.replace(b"4432", b"4999")
    [receipt] = parse_message_callback(
        "POST", URL, {"Authorization": RFC_7617_HEADER}, unlisted, **CALLBACK_CREDS
    )
    assert receipt.status is DeliveryStatus.FAILED and receipt.error_code == "4999"


def test_every_status_and_code_is_listed() -> None:
    """messageStatusEnum's 8 values (and DLR_EXPIRED), the 4 callback events, and the errors
    page's 76 codes."""
    from dlr_bandwidth_messaging import statuses

    assert {m.value for m in statuses.MessageStatus} == {
        "RECEIVED",
        "QUEUED",
        "SENDING",
        "SENT",
        "FAILED",
        "DELIVERED",
        "ACCEPTED",
        "UNDELIVERED",
        "DLR_EXPIRED",
    }
    assert len(statuses.CallbackType) == 4 and len(statuses.ErrorCode) == 76
