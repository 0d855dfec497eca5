"""Textmagic REST v2 (specs/textmagic_sms.yaml): one message and the message list read into
receipts, and the delivery status callback in each encoding the account may choose
(textmagic-rest-python-v2 docs/GetCallbackSettingsResponse.md: m multipart/form-data,
u urlencoded, j JSON). Expected values are written by hand from the SDK's MessageOut and
the delivery status table (https://apitextmagic.voog.com/https-api/sms-delivery-notification-codes).
Textmagic authenticates with two fixed headers and signs no callback: nothing to prove."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import run_client
from dlr_core import AuthenticationError, DeliveryStatus, MalformedCallback

CREDENTIALS = {"username": "jdoe", "api_key": "tm-api-key"}
SENT_AT = datetime(2012, 11, 28, 18, 38, 28, tzinfo=timezone.utc)  # "2012-11-28T18:38:28+0000"


def client_of(mock: Any, mode: str) -> Any:
    import dlr_textmagic_sms

    return mock.client(dlr_textmagic_sms.Client if mode == "sync" else dlr_textmagic_sms.AsyncClient)


def test_get_message_sends_both_headers_and_reads_the_documented_message(dlr_mock: Any, mode: str) -> None:
    import dlr_textmagic_sms

    mock = dlr_mock(dlr_textmagic_sms.API, CREDENTIALS)  # answers the spec's example: status d
    [receipt] = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(message_id=49576009))
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.raw_status == {"status": "d"}
    assert (receipt.message_id, receipt.recipient) == ("49576009", "447860021130")
    assert receipt.submitted_at == SENT_AT and receipt.details == {"session_id": 34436600}
    [request] = mock.requests
    assert request.path == "/api/v2/messages/49576009"
    assert (request.headers["x-tm-username"], request.headers["x-tm-key"]) == ("jdoe", "tm-api-key")


def test_list_messages_reads_a_page(dlr_mock: Any, mode: str) -> None:
    import dlr_textmagic_sms

    page = {
        "page": 2,
        "pageCount": 3,
        "limit": 2,
        "resources": [
            {"id": 1, "receiver": "447860021130", "status": "j", "messageTime": "2012-11-28T18:38:28+0000"},
            {"id": 2, "receiver": "447860021131", "status": "a", "messageTime": "2012-11-28T18:38:28+0000"},
        ],
    }
    mock = dlr_mock(dlr_textmagic_sms.API, CREDENTIALS, scenario={"list_messages": [{"body": page}]})
    result = run_client(mode, client_of(mock, mode), lambda c: c.list_messages(page=2, limit=2))
    receipts = dlr_textmagic_sms.list_messages_receipts(result)
    assert [(r.message_id, r.status) for r in receipts] == [
        ("1", DeliveryStatus.REJECTED),
        ("2", DeliveryStatus.SENT),
    ]
    assert result.page_count == 3
    assert ("page", "2") in mock.requests[0].query and ("limit", "2") in mock.requests[0].query


def test_paging_stops_after_the_page_count(dlr_mock: Any, mode: str) -> None:
    """The list says pageCount (the SDK's GetAllOutboundMessagesPaginatedResponse), not a
    record count: iteration asks pages 1 and 2 of 2, and no third."""
    import dlr_textmagic_sms

    def page(number: int, ids: list[int]) -> dict[str, Any]:
        resources = [{"id": i, "receiver": "447860021130", "status": "d"} for i in ids]
        return {"body": {"page": number, "pageCount": 2, "limit": 2, "resources": resources}}

    scenario = {"list_messages": [page(1, [1, 2]), page(2, [3]), page(3, [99])]}
    mock = dlr_mock(dlr_textmagic_sms.API, CREDENTIALS, scenario=scenario)

    def ids(client: Any) -> Any:
        if mode == "sync":
            return [m.id for m in client.iter_list_messages(limit=2)]

        async def collect() -> list[int]:
            return [m.id async for m in client.iter_list_messages(limit=2)]

        return collect()

    assert run_client(mode, client_of(mock, mode), ids) == [1, 2, 3]
    assert [dict(r.query)["page"] for r in mock.requests] == ["1", "2"]


def test_a_wrong_key_is_an_authentication_error(dlr_mock: Any, mode: str) -> None:
    import dlr_textmagic_sms

    step = {"status": 401, "body": {"code": 401, "message": "Unauthorized"}}
    mock = dlr_mock(dlr_textmagic_sms.API, CREDENTIALS, scenario={"get_message": [step]})
    with pytest.raises(AuthenticationError) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.get_message(message_id=1))
    assert json.loads(caught.value.raw_body) == step["body"]


@pytest.mark.parametrize(
    ("letter", "canonical", "final"),
    [
        ("q", DeliveryStatus.QUEUED, False),
        ("s", DeliveryStatus.QUEUED, False),
        ("r", DeliveryStatus.SENT, False),
        ("a", DeliveryStatus.SENT, False),
        ("b", DeliveryStatus.SENT, False),
        ("d", DeliveryStatus.DELIVERED, True),
        ("f", DeliveryStatus.UNDELIVERED, True),
        ("e", DeliveryStatus.FAILED, True),
        ("j", DeliveryStatus.REJECTED, True),
        ("u", DeliveryStatus.UNKNOWN, False),  # final for Textmagic, but no outcome
    ],
)
def test_every_documented_status_maps(letter: str, canonical: DeliveryStatus, final: bool) -> None:
    from dlr_textmagic_sms.statuses import delivery_status_to_canonical

    assert delivery_status_to_canonical(letter) is canonical and canonical.is_final is final


REPORT = {"id": "49576009", "sessionId": "34436600", "receiver": "447860021130", "status": "f"}


def _multipart(
    fields: dict[str, str], boundary: str = "----TextmagicBoundary7MA4YWxk"
) -> tuple[dict[str, str], bytes]:
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body


@pytest.mark.parametrize(
    ("callback", "encoded"),
    [
        ("delivery_status_multipart", _multipart(REPORT)),
        (
            "delivery_status_form",
            ({"Content-Type": "application/x-www-form-urlencoded"}, urlencode(REPORT).encode()),
        ),
        (
            "delivery_status_json",
            ({"Content-Type": "application/json"}, json.dumps({**REPORT, "id": 49576009}).encode()),
        ),
    ],
)
def test_each_callback_encoding_gives_the_same_receipt(
    callback: str, encoded: tuple[dict[str, str], bytes]
) -> None:
    from dlr_textmagic_sms import callbacks

    headers, body = encoded
    [receipt] = getattr(callbacks, f"parse_{callback}")(
        "POST", "https://example.com/tm/status", headers, body
    )
    assert receipt.status is DeliveryStatus.UNDELIVERED and receipt.status.is_final
    assert (receipt.message_id, receipt.recipient) == ("49576009", "447860021130")
    assert receipt.details == {"session_id": 34436600}


def test_a_form_push_to_the_multipart_callback_is_malformed() -> None:
    from dlr_textmagic_sms.callbacks import parse_delivery_status_multipart

    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with pytest.raises(MalformedCallback, match="not multipart/form-data"):
        parse_delivery_status_multipart(
            "POST", "https://example.com/tm/status", headers, urlencode(REPORT).encode()
        )
