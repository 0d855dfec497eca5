"""Kaleyra SMS (specs/kaleyra_sms.yaml): the status API of
https://developers.kaleyra.io/docs/sms-status read with the sync and async clients against the
mock, its example answer verbatim (for the ids asked), and the status and status-code tables;
expected receipts written here by hand from those pages. Kaleyra authenticates with a plain
api-key header and its callbacks are customer-defined, so there is no signature to prove."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import run_client
from dlr_core import DeliveryStatus

CREDENTIALS = {"sid": "HXXXXXXX071US", "api_key": "Ac4XXXXX21f"}
ID_1 = "507XXXX-XXX-XXXX-XXXX-b8f6b452c04a:1"
ID_2 = "507XXXX-XXX-XXXX-XXXX-b8f6b452c04a:2"


def client_of(mock: Any, mode: str) -> Any:
    import dlr_kaleyra_sms

    return mock.client(dlr_kaleyra_sms.Client if mode == "sync" else dlr_kaleyra_sms.AsyncClient)


def test_the_status_of_two_ids_one_answered(dlr_mock: Any, mode: str) -> None:
    """The page's answer names ID_1; ID_2, asked too but not answered, stays open."""
    import dlr_kaleyra_sms

    body = {
        "data": [{"campaign_id": ID_1, "status": "Delivered", "status_details": "DELIVERED"}],
        "error": {},
    }
    mock = dlr_mock(dlr_kaleyra_sms.API, CREDENTIALS, scenario={"get_status": [{"body": body}]})
    receipts = run_client(mode, client_of(mock, mode), lambda c: c.fetch_receipts(message_ids=[ID_1, ID_2]))
    assert [(r.message_id, r.status) for r in receipts] == [
        (ID_1, DeliveryStatus.DELIVERED),
        (ID_2, DeliveryStatus.UNKNOWN),
    ]
    # the code is read as the table's word; the answer's own spelling stays in raw
    assert receipts[0].error_code == "DELIVRD"
    assert receipts[0].raw["status_details"] == "DELIVERED"
    assert receipts[1].details["answered"] is False
    [request] = mock.requests
    assert (request.method, request.path) == ("GET", "/v1/HXXXXXXX071US/messages/status")
    assert request.query == [("message_ids", f"{ID_1},{ID_2}")]
    assert request.headers["api-key"] == CREDENTIALS["api_key"]


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        ("Sent", DeliveryStatus.SENT),
        ("Delivered", DeliveryStatus.DELIVERED),
        ("UnDelivered", DeliveryStatus.UNDELIVERED),
        ("Undelivered", DeliveryStatus.UNDELIVERED),  # the callback page's spelling
        ("NotSent", DeliveryStatus.FAILED),
        ("Failed", DeliveryStatus.FAILED),
    ],
)
def test_every_status(status: str, canonical: DeliveryStatus) -> None:
    from dlr_kaleyra_sms.statuses import message_status_to_canonical

    assert message_status_to_canonical(status) is canonical


def test_the_status_codes() -> None:
    """Kaleyra's table of 30 delivery status codes; DELIVERED (the API's example) is DELIVRD."""
    from dlr_kaleyra_sms.statuses import StatusDetail, status_detail_to_canonical

    assert len(StatusDetail) == 30
    assert status_detail_to_canonical("DELIVERED") is DeliveryStatus.DELIVERED
    assert status_detail_to_canonical("DNDNUMB") is DeliveryStatus.REJECTED
    assert status_detail_to_canonical("MOB-OFF") is DeliveryStatus.UNDELIVERED
    assert status_detail_to_canonical("EXPIRED") is DeliveryStatus.EXPIRED
    assert status_detail_to_canonical("NO-DLR-OPTR") is DeliveryStatus.SENT
