"""D7 Networks SMS (specs/d7_sms.yaml): the message log of a send request (GET
/report/v1/message-log/{request_id}, https://d7networks.com/docs/Messages/Get_Status/) read
with the sync and async clients against the mock, the documented error answer, and the
delivery report of https://d7networks.com/docs/Messages/Receive_SMS_Postback/. The expected
receipts are written here by hand from those pages. D7 authenticates with a plain Bearer
token and signs no push, so there is no signature to prove."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

import dlr_core
from tests.conftest import run_client
from dlr_core import DeliveryStatus

TOKEN = {"api_token": "eyJhbGciOiJIUzI1NiJ9.test.token"}
REQUEST_ID = "9d056a09-0fc4-4f68-9058-3846d58aa244"

# The Get Status page's 200 answer, with the second message delivered and a third one failed.
LOG = {
    "request_id": REQUEST_ID,
    "total_recipients": 3,
    "channel": "sms",
    "messages": [
        {
            "msg_id": "7053a678-75fe-11ed-9e31-0242ac14001c",
            "country": "AE",
            "recipient": "+9715097526xx",
            "status": "sent",
            "number_of_sms": 4,
            "sms_cost": 0.0004,
            "schedule_time": None,
        },
        {
            "msg_id": "7052cd16-75fe-11ed-9e31-0242ac14001c",
            "country": "AE",
            "recipient": "+9715097527xx",
            "status": "delivered",
            "number_of_sms": 1,
            "sms_cost": 0.0001,
            "schedule_time": None,
        },
        {
            "msg_id": "7052cd17-75fe-11ed-9e31-0242ac14001c",
            "country": "AE",
            "recipient": "+9715097528xx",
            "status": "un_delivered",
            "number_of_sms": 1,
            "sms_cost": 0.0001,
            "schedule_time": None,
        },
    ],
}


def client_of(mock: Any, mode: str) -> Any:
    import dlr_d7_sms

    return mock.client(dlr_d7_sms.Client if mode == "sync" else dlr_d7_sms.AsyncClient)


def test_the_log_gives_one_receipt_per_recipient(dlr_mock: Any, mode: str) -> None:
    import dlr_d7_sms

    mock = dlr_mock(dlr_d7_sms.API, TOKEN, scenario={"get_status": [{"body": LOG}]})
    receipts = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(request_id=REQUEST_ID))
    assert [(r.message_id, r.recipient, r.status) for r in receipts] == [
        ("7053a678-75fe-11ed-9e31-0242ac14001c", "+9715097526xx", DeliveryStatus.SENT),
        ("7052cd16-75fe-11ed-9e31-0242ac14001c", "+9715097527xx", DeliveryStatus.DELIVERED),
        ("7052cd17-75fe-11ed-9e31-0242ac14001c", "+9715097528xx", DeliveryStatus.UNDELIVERED),
    ]
    assert receipts[0].details == {
        "request_id": REQUEST_ID,
        "country": "AE",
        "number_of_sms": 4,
        "sms_cost": 0.0004,
    }
    [request] = mock.requests
    assert (request.method, request.path) == ("GET", f"/report/v1/message-log/{REQUEST_ID}")
    assert request.headers["authorization"] == "Bearer " + TOKEN["api_token"]


def test_an_unknown_request_id_is_not_found(dlr_mock: Any, mode: str) -> None:
    """The page's 404: {"detail": {"code": "MESSAGE_LOG_NOT_EXISTS", "message": ...}}."""
    import dlr_d7_sms

    body = {
        "detail": {
            "code": "MESSAGE_LOG_NOT_EXISTS",
            "message": "Given message request id not exists in the system. Please Try Again!",
        }
    }
    mock = dlr_mock(dlr_d7_sms.API, TOKEN, scenario={"get_status": [{"status": 404, "body": body}]})
    with pytest.raises(dlr_core.NotFound) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.get_status(request_id="nope"))
    assert caught.value.code == "MESSAGE_LOG_NOT_EXISTS"
    assert "Given message request id not exists" in str(caught.value)


def test_a_bad_token_is_an_authentication_error(dlr_mock: Any, mode: str) -> None:
    """The README's 401 body: ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED."""
    import dlr_d7_sms

    body = {
        "detail": {
            "code": "ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED",
            "message": "Access token signature verification failed",
        }
    }
    mock = dlr_mock(dlr_d7_sms.API, TOKEN, scenario={"get_status": [{"status": 401, "body": body}]})
    with pytest.raises(dlr_core.AuthenticationError) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.get_status(request_id=REQUEST_ID))
    assert caught.value.code == "ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED"
    assert TOKEN["api_token"] not in str(caught.value) + repr(caught.value)


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        ("scheduled", DeliveryStatus.QUEUED),
        ("processed", DeliveryStatus.SENDING),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("un_delivered", DeliveryStatus.UNDELIVERED),
        ("undelivered", DeliveryStatus.UNDELIVERED),  # the older postback page's spelling
        ("not_reachable", DeliveryStatus.UNDELIVERED),
        ("spam_content", DeliveryStatus.REJECTED),
        ("insufficient_credit", DeliveryStatus.FAILED),
    ],
)
def test_the_pushed_report_in_every_status(status: str, canonical: DeliveryStatus) -> None:
    """The postback page's fields, as form data."""
    from dlr_d7_sms.callbacks import parse_callback

    body = urlencode(
        {
            "request_id": "d9835609-a4e0-10ea-a26a-eeafbe700fef",
            "msg_id": "7053a678-75fe-11ed-9e31-0242ac14001c",
            "recipient": "+9715765456xx",
            "originator": "SMSInfo",
            "status": status,
        }
    ).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    [receipt] = parse_callback("POST", "https://example.com/d7/dlr", headers, body)
    assert receipt.status is canonical
    assert receipt.message_id == "7053a678-75fe-11ed-9e31-0242ac14001c"
    assert receipt.recipient == "+9715765456xx"
    assert receipt.details == {"request_id": "d9835609-a4e0-10ea-a26a-eeafbe700fef", "originator": "SMSInfo"}


# The postback page's example, as it writes it: a JSON object.
PAGE_EXAMPLE = {
    "request_id": "d9835609-a4e0-10ea-a26a-eeafbe700fef",
    "msg_id": "d9835609-a4e0-10ea-a26a-eeafbe700fef",
    "recipient": "+9715765456xx",
    "originator": "SMSInfo",
    "status": "sent",
}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", urlencode(PAGE_EXAMPLE).encode()),
        ("application/json", json.dumps(PAGE_EXAMPLE).encode()),
        (None, urlencode(PAGE_EXAMPLE).encode()),  # no Content-Type: form data, as the page says
    ],
)
def test_the_report_is_read_as_form_data_or_as_json(content_type: str | None, body: bytes) -> None:
    """The page states formData for the wire and writes its example as JSON: either is read,
    as the push's Content-Type says."""
    from dlr_d7_sms.callbacks import parse_callback

    headers = {"Content-Type": content_type} if content_type else {}
    [receipt] = parse_callback("POST", "https://example.com/d7/dlr", headers, body)
    assert (receipt.message_id, receipt.recipient, receipt.status) == (
        "d9835609-a4e0-10ea-a26a-eeafbe700fef",
        "+9715765456xx",
        DeliveryStatus.SENT,
    )
    assert receipt.details == {"request_id": "d9835609-a4e0-10ea-a26a-eeafbe700fef", "originator": "SMSInfo"}


def test_the_mock_pushes_form_data_or_json() -> None:
    """dlrgen mock --push: form data by default, JSON when a step says format: json; the
    package's parser reads both, as each push's Content-Type says."""
    import httpx

    from dlr_core.push import push, read_scenario
    from dlr_d7_sms.callbacks import DELIVERY_REPORT, parse_callback

    received: list[tuple[str, list[Any]]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        receipts = parse_callback(request.method, str(request.url), dict(request.headers), request.content)
        received.append((request.headers["Content-Type"], receipts))
        return httpx.Response(200)

    callbacks = {"delivery_report": DELIVERY_REPORT}
    steps = read_scenario(
        callbacks,
        {"delivery_report": [{"payload": PAGE_EXAMPLE}, {"payload": PAGE_EXAMPLE, "format": "json"}]},
    )
    with httpx.Client(transport=httpx.MockTransport(receiver)) as client:
        pushed = push(
            callbacks, steps, "https://example.com/callbacks/{callback}", credentials={}, http_client=client
        )
    assert [p.status for p in pushed] == [200, 200]
    assert [(content_type, [r.status for r in receipts]) for content_type, receipts in received] == [
        ("application/x-www-form-urlencoded", [DeliveryStatus.SENT]),
        ("application/json", [DeliveryStatus.SENT]),
    ]
