"""Plivo Messaging and Sinch SMS delivery reports, added by YAML alone.

Every expectation here is worked out by hand from the providers' docs and examples (the
fixtures are the published answers, verbatim), not copied from what the generated code
returns: times are converted to UTC by hand, statuses mapped as the docs describe them.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import dlr_core
from tests.conftest import load_fixture
from tests.conftest import call_provider as call
from dlr_core import DeliveryStatus
from dlr_core.mock import MockProvider

PLIVO = {"auth_id": "MAXXXXXXXXXXXXXXXXXX", "auth_token": "plivo-token-value"}
SINCH = {"service_plan_id": "plan-a", "api_token": "sinch-token-value"}
UTC = timezone.utc
CEST = timezone(timedelta(hours=2))


def collect(mode: str, package: Any, credentials: dict[str, str], method: str, **kwargs: Any) -> list[Any]:
    """Every item of an ``iter_*`` method, sync or async."""
    base_url = kwargs.pop("base_url")
    if mode == "sync":
        with package.Client(**credentials, base_url=base_url) as client:
            return list(getattr(client, method)(**kwargs))

    async def main() -> list[Any]:
        async with package.AsyncClient(**credentials, base_url=base_url) as client:
            return [item async for item in getattr(client, method)(**kwargs)]

    return asyncio.run(main())


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# == Plivo ====================================================================================


def test_plivo_list_fixture_reads_as_receipts() -> None:
    """plivo-python's messageListResponse.json (first object): an outbound SMS, still "sent"."""
    from dlr_plivo_sms import MessageList, list_messages_receipts

    page = MessageList.model_validate(load_fixture("plivo_list_messages.json"))
    assert page.meta is not None and page.meta.total_count == 20 and page.meta.previous is None
    [receipt] = list_messages_receipts(page)
    assert receipt.provider == "plivo_sms"
    assert receipt.status is DeliveryStatus.SENT and not receipt.is_final
    assert receipt.raw_status == {"message_state": "sent"}
    assert receipt.message_id == "5b40a428-bfc7-4daf-9d06-726c558bf3b8"
    assert receipt.recipient == "911231231231"  # E.164 without the +, as Plivo writes it
    assert receipt.error_code is None  # null while in flight
    assert receipt.error_description == ""
    # "2017-05-22 21:36:14+05:30" (space, no T, India's offset) is 16:06:14 UTC.
    assert receipt.submitted_at == datetime(2017, 5, 22, 16, 6, 14, tzinfo=UTC)
    assert receipt.raw["total_amount"] == "0.00250" and receipt.raw["units"] == 1


def test_plivo_times_with_five_fraction_digits_parse() -> None:
    """message_updated_time "2024-08-21 18:28:51.94772+05:30": Plivo drops the trailing zero
    of the microseconds. Read as message_time, it is 12:58:51.947720 UTC."""
    from dlr_plivo_sms import MessageList, list_messages_receipts

    body = load_fixture("plivo_list_messages.json")
    record = body["objects"][0]
    record["message_time"] = record["message_updated_time"]
    [receipt] = list_messages_receipts(MessageList.model_validate(body))
    assert receipt.submitted_at == datetime(2024, 8, 21, 12, 58, 51, 947720, tzinfo=UTC)


def test_plivo_retrieve_examples_read_as_receipts() -> None:
    """The docs' retrieve examples: the message at the top level, next to api_id."""
    from dlr_plivo_sms import MessageDetail, fetch_message_receipts

    detail = MessageDetail.model_validate(load_fixture("plivo_fetch_message.json"))
    assert detail.api_id == "85a704c8-e47a-11eb-9a69-0242ac110004"
    [receipt] = fetch_message_receipts(detail)
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.is_final
    assert receipt.message_id == "b48d95dc-e3ac-11eb-a9c2-0242ac110005"
    assert receipt.recipient == "12401234567"
    assert receipt.error_code == "000"  # zero-padded text, kept as sent
    # "2021-07-13 13:04:06.799021+05:30" is 07:34:06.799021 UTC.
    assert receipt.submitted_at == datetime(2021, 7, 13, 7, 34, 6, 799021, tzinfo=UTC)

    [failed] = fetch_message_receipts(
        MessageDetail.model_validate(load_fixture("plivo_fetch_message_failed.json"))
    )
    assert failed.status is DeliveryStatus.FAILED
    assert failed.error_code == "200"
    assert failed.message_id == "2a340179-e8a9-4b1d-ae2c-9f346e7b6d7d"
    # "2016-08-17 21:22:36+05:30" is 15:52:36 UTC.
    assert failed.submitted_at == datetime(2016, 8, 17, 15, 52, 36, tzinfo=UTC)


def test_plivo_message_states_map_as_documented() -> None:
    from dlr_plivo_sms import MessageState, message_state_to_canonical

    expected = {
        "queued": "queued",  # accepted by Plivo
        "sent": "sent",  # passed to the carrier; may stay so in the US and Canada
        "failed": "failed",  # internal error before the carrier, not charged
        "delivered": "delivered",
        "undelivered": "undelivered",
        "rejected": "rejected",  # the carrier rejected it (regulations)
        "read": "delivered",  # WhatsApp: read implies delivered
        "received": "delivered",  # inbound, received
    }
    assert {m.value for m in MessageState} == set(expected)
    assert {raw: message_state_to_canonical(raw).value for raw in expected} == expected
    assert message_state_to_canonical("Delivered") is DeliveryStatus.DELIVERED
    assert message_state_to_canonical("scheduled") is DeliveryStatus.UNKNOWN


def test_plivo_list_pages_by_offset_with_utc_filter_times(mode: str) -> None:
    """Pages of 2, 2 and 1 records: the short third page ends the iteration. The filter time,
    13:45 at +02:00, is sent as Plivo's UTC text."""
    import dlr_plivo_sms

    def page(start: int, size: int) -> dict[str, Any]:
        # plivo-go's meta: no total_count, so only the short page can end the paging.
        objects = [
            {"message_uuid": f"uuid-{start + i}", "to_number": "14155550100", "message_state": "delivered"}
            for i in range(size)
        ]
        return {"meta": {"limit": 2, "offset": start, "next": None, "previous": None}, "objects": objects}

    steps = {"list_messages": [{"data": page(0, 2)}, {"data": page(2, 2)}, {"data": page(4, 1)}]}
    with MockProvider(dlr_plivo_sms.API, PLIVO, scenario=steps) as mock:
        messages = collect(
            mode,
            dlr_plivo_sms,
            PLIVO,
            "iter_list_messages",
            base_url=mock.base_url,
            message_time_gte=datetime(2024, 5, 1, 13, 45, tzinfo=CEST),
            limit=2,
        )
    assert [m.message_uuid for m in messages] == [f"uuid-{i}" for i in range(5)]
    assert len(mock.requests) == 3
    for request, offset in zip(mock.requests, ("0", "2", "4")):
        assert request.authenticated
        assert request.path == "/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/"
        assert dict(request.query) == {
            "message_time__gte": "2024-05-01 11:45:00",
            "limit": "2",
            "offset": offset,
        }
        assert request.headers["accept"] == "application/json"
        assert request.headers["authorization"] == basic(PLIVO["auth_id"], PLIVO["auth_token"])


def test_plivo_list_stops_at_total_count_when_sent() -> None:
    """plivo-python's meta has total_count: two full pages of 2 make the 4 records, so no
    third request (the scenario would repeat its last page)."""
    import dlr_plivo_sms

    def page(start: int) -> dict[str, Any]:
        objects = [{"message_uuid": f"uuid-{start + i}", "message_state": "sent"} for i in range(2)]
        return {"meta": {"limit": 2, "offset": start, "total_count": 4}, "objects": objects}

    steps = {"list_messages": [{"data": page(0)}, {"data": page(2)}]}
    with MockProvider(dlr_plivo_sms.API, PLIVO, scenario=steps) as mock:
        messages = collect(
            "sync", dlr_plivo_sms, PLIVO, "iter_list_messages", base_url=mock.base_url, limit=2
        )
    assert [m.message_uuid for m in messages] == ["uuid-0", "uuid-1", "uuid-2", "uuid-3"]
    assert [dict(r.query)["offset"] for r in mock.requests] == ["0", "2"]


def test_plivo_fetch_end_to_end(mode: str) -> None:
    import dlr_plivo_sms

    uuid = "b48d95dc-e3ac-11eb-a9c2-0242ac110005"
    with MockProvider(dlr_plivo_sms.API, PLIVO) as mock:
        [receipt] = call(
            mode, dlr_plivo_sms, PLIVO, "fetch_receipts", message_uuid=uuid, base_url=mock.base_url
        )
    [request] = mock.requests
    assert request.authenticated and request.method == "GET"
    assert request.path == f"/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/{uuid}/"  # the trailing slash
    assert request.headers["accept"] == "application/json"
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.message_id == uuid


def test_plivo_errors_are_typed_by_http_status(mode: str) -> None:
    """Plivo's errors carry no code: {"api_id": ..., "error": ...} and the HTTP status."""
    import dlr_plivo_sms

    uuid = "b48d95dc-e3ac-11eb-a9c2-0242ac110005"
    with MockProvider(dlr_plivo_sms.API, PLIVO) as mock:
        with pytest.raises(dlr_core.AuthenticationError) as auth:
            call(
                mode,
                dlr_plivo_sms,
                {**PLIVO, "auth_token": "wrong-token"},
                "fetch_message",
                message_uuid=uuid,
                base_url=mock.base_url,
            )
    assert auth.value.http_status == 401 and not mock.requests[0].authenticated

    missing = {
        "body": {"api_id": "97ceeb52-58b6-11e1-86da-77300b68f8bb", "error": "not found"},
        "status": 404,
    }
    with MockProvider(dlr_plivo_sms.API, PLIVO, scenario={"fetch_message": [missing]}) as mock:
        with pytest.raises(dlr_core.NotFound) as caught:
            call(mode, dlr_plivo_sms, PLIVO, "fetch_message", message_uuid=uuid, base_url=mock.base_url)
    assert caught.value.message == "not found" and caught.value.code is None
    assert caught.value.request_id == "97ceeb52-58b6-11e1-86da-77300b68f8bb"

    busy = {"body": {"api_id": "a", "error": "too many requests"}, "status": 429}
    with MockProvider(dlr_plivo_sms.API, PLIVO, scenario={"fetch_message": [busy, {}]}) as mock:
        detail = call(
            "sync",
            dlr_plivo_sms,
            PLIVO,
            "fetch_message",
            message_uuid=uuid,
            base_url=mock.base_url,
            sleep=lambda _: None,
        )
    assert detail.message_state == "delivered" and len(mock.requests) == 2  # 429 retried


# == Sinch ====================================================================================


def test_sinch_recipient_report_example_reads_as_a_receipt() -> None:
    """The Node tutorial's get-for-number answer: Dispatched (401), not final yet."""
    from dlr_sinch_sms import RecipientDeliveryReport, get_recipient_delivery_report_receipts

    report = RecipientDeliveryReport.model_validate(load_fixture("sinch_get_recipient_delivery_report.json"))
    assert report.report_type == "recipient_delivery_report_sms"
    [receipt] = get_recipient_delivery_report_receipts(report)
    assert receipt.provider == "sinch_sms"
    assert receipt.status is DeliveryStatus.SENT and not receipt.is_final
    assert receipt.raw_status == {"status": "Dispatched"}
    assert receipt.message_id == "01J06CY78GZ2F74YZNNH2VBWR6"  # the batch: no per-message id
    assert receipt.recipient == "447..3"
    assert receipt.error_code == "401"
    assert receipt.completed_at == datetime(2024, 6, 7, 14, 3, 26, 536000, tzinfo=UTC)
    assert receipt.submitted_at is None


def test_sinch_list_example_reads_as_receipts() -> None:
    """The Node tutorial's list item (verbatim), in the documented list wrapper."""
    from dlr_sinch_sms import DeliveryReportList, list_delivery_reports_receipts

    body = {
        "count": 1,
        "page": 0,
        "page_size": 1,
        "delivery_reports": [load_fixture("sinch_list_delivery_reports_item.json")],
    }
    [receipt] = list_delivery_reports_receipts(DeliveryReportList.model_validate(body))
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.is_final
    assert receipt.error_code == "0"  # an SMPP code next to Delivered, not one of the 4xx table
    assert receipt.message_id == "01HQQSTC9J3QW5CXZ44YZTTXBD" and receipt.recipient == "447..3"
    assert receipt.completed_at == datetime(2024, 2, 28, 12, 7, 54, 33000, tzinfo=UTC)
    assert receipt.details["operator_status_at"] == datetime(2024, 2, 28, 12, 7, tzinfo=UTC)


def test_sinch_batch_report_examples_parse() -> None:
    """The Node tutorial's batch summary, and a .NET status entry with "recipients": null."""
    from dlr_sinch_sms import (
        BatchDeliveryReport,
        DeliveryCode,
        StatusCount,
        delivery_code_to_canonical,
        delivery_status_to_canonical,
    )

    report = BatchDeliveryReport.model_validate(load_fixture("sinch_get_batch_delivery_report.json"))
    assert report.batch_id == "01J06CY78GZ2F74YZNNH2VBWR6" and report.total_message_count == 1
    [entry] = report.statuses
    assert entry.count == 1 and entry.recipients is None
    assert delivery_status_to_canonical(entry.status) is DeliveryStatus.FAILED  # Aborted
    assert DeliveryCode.parse(entry.code) is DeliveryCode.UNPROVISIONED_REGION
    assert delivery_code_to_canonical(entry.code) is DeliveryStatus.FAILED

    dotnet = StatusCount.model_validate(load_fixture("sinch_batch_status_dotnet.json"))
    assert dotnet.recipients is None and delivery_status_to_canonical(dotnet.status) is DeliveryStatus.SENT
    # Recipients are plain numbers, not records: the batch report has no receipts.
    import dlr_sinch_sms

    assert not hasattr(dlr_sinch_sms, "get_batch_delivery_report_receipts")


def test_sinch_statuses_map_in_any_case() -> None:
    from dlr_sinch_sms import DeliveryStatusValue, delivery_status_to_canonical

    expected = {
        "Queued": "queued",
        "Dispatched": "sent",
        "Aborted": "failed",  # never reached the SMSC
        "Cancelled": "canceled",
        "Rejected": "rejected",
        "Deleted": "rejected",  # deleted by a remote SMSC: invalid or opted-out number
        "Delivered": "delivered",
        "Failed": "undelivered",  # reached the SMSC, not delivered
        "Expired": "expired",
        "Unknown": "sent",  # at the SMSC, no readable report
    }
    assert {m.value for m in DeliveryStatusValue} == set(expected)
    assert {raw: delivery_status_to_canonical(raw).value for raw in expected} == expected
    # sinch-sdk-python writes them UPPERCASE.
    assert {raw: delivery_status_to_canonical(raw.upper()).value for raw in expected} == expected


def test_sinch_codes_follow_their_documented_status() -> None:
    from dlr_sinch_sms import DeliveryCode, delivery_code_to_canonical

    aborted = [402, 403, 404, 405, 406, 408, 410, 411, 412, 413]
    assert {code: delivery_code_to_canonical(code).value for code in aborted} == dict.fromkeys(
        aborted, "failed"
    )
    assert delivery_code_to_canonical(400) is DeliveryStatus.QUEUED
    assert delivery_code_to_canonical(401) is DeliveryStatus.SENT
    assert delivery_code_to_canonical("407") is DeliveryStatus.CANCELED
    assert 409 not in {m.value for m in DeliveryCode}  # there is no 409
    assert {m.value for m in DeliveryCode} == set(range(400, 419)) - {409}
    assert delivery_code_to_canonical(0) is DeliveryStatus.UNKNOWN  # SMPP codes are not listed


def test_sinch_service_plan_defaults_to_the_credential_and_can_be_overridden(mode: str) -> None:
    import dlr_sinch_sms

    batch = "01J06CY78GZ2F74YZNNH2VBWR6"
    with MockProvider(dlr_sinch_sms.API, SINCH) as mock:
        [default] = call(
            mode,
            dlr_sinch_sms,
            SINCH,
            "fetch_receipts",
            batch_id=batch,
            recipient_msisdn="+447700900123",
            base_url=mock.base_url,
        )
        call(
            mode,
            dlr_sinch_sms,
            SINCH,
            "get_recipient_delivery_report",
            batch_id=batch,
            recipient_msisdn="447700900123",
            service_plan_id="plan-b",
            base_url=mock.base_url,
        )
    first, second = mock.requests
    assert first.path == f"/xms/v1/plan-a/batches/{batch}/delivery_report/%2B447700900123"
    assert second.path == f"/xms/v1/plan-b/batches/{batch}/delivery_report/447700900123"
    for request in (first, second):
        assert request.authenticated and request.headers["authorization"] == "Bearer sinch-token-value"
    assert default.status is DeliveryStatus.SENT and default.error_code == "401"

    with MockProvider(dlr_sinch_sms.API, SINCH) as mock:
        with pytest.raises(dlr_core.AuthenticationError) as caught:
            call(
                mode,
                dlr_sinch_sms,
                {**SINCH, "api_token": "wrong-token"},
                "fetch_receipts",
                batch_id=batch,
                recipient_msisdn="447700900123",
                base_url=mock.base_url,
            )
    assert caught.value.http_status == 401
    assert not mock.requests[0].authenticated
    assert mock.requests[0].headers["authorization"] == "Bearer wrong-token"


def test_sinch_list_pages_from_zero_with_iso_times_and_comma_lists(mode: str) -> None:
    """count 5 in pages of 2: pages 0, 1 and 2; start_date 13:45 at +02:00 is 11:45Z."""
    import dlr_sinch_sms

    def page(number: int, size: int) -> dict[str, Any]:
        reports = [
            {
                "batch_id": f"b{number}",
                "recipient": f"4477009000{number}{i}",
                "status": "Delivered",
                "code": 0,
                "at": "2024-05-01T12:00:00.000Z",
                "type": "recipient_delivery_report_sms",
            }
            for i in range(size)
        ]
        return {"count": 5, "page": number, "page_size": size, "delivery_reports": reports}

    steps = {"list_delivery_reports": [{"data": page(0, 2)}, {"data": page(1, 2)}, {"data": page(2, 1)}]}
    with MockProvider(dlr_sinch_sms.API, SINCH, scenario=steps) as mock:
        reports = collect(
            mode,
            dlr_sinch_sms,
            SINCH,
            "iter_list_delivery_reports",
            base_url=mock.base_url,
            page_size=2,
            start_date=datetime(2024, 5, 1, 13, 45, tzinfo=CEST),
            statuses=["Delivered", "Failed"],
            codes=[0, 401],
        )
    assert [r.recipient for r in reports] == ["4477009000" + s for s in ("00", "01", "10", "11", "20")]
    assert len(mock.requests) == 3
    for request, number in zip(mock.requests, ("0", "1", "2")):
        assert request.authenticated and request.path == "/xms/v1/plan-a/delivery_reports"
        assert dict(request.query) == {
            "page": number,
            "page_size": "2",
            "start_date": "2024-05-01T11:45:00.000Z",
            "status": "Delivered,Failed",
            "code": "0,401",
        }


def test_sinch_batch_report_query(mode: str) -> None:
    import dlr_sinch_sms

    batch = "01J06CY78GZ2F74YZNNH2VBWR6"
    with MockProvider(dlr_sinch_sms.API, SINCH) as mock:
        report = call(
            mode,
            dlr_sinch_sms,
            SINCH,
            "get_batch_delivery_report",
            batch_id=batch,
            report_type="full",
            statuses=["Aborted"],
            codes=[412, 413],
            base_url=mock.base_url,
        )
    [request] = mock.requests
    assert request.path == f"/xms/v1/plan-a/batches/{batch}/delivery_report"
    assert dict(request.query) == {"type": "full", "status": "Aborted", "code": "412,413"}
    assert report.statuses[0].status == "Aborted" and report.statuses[0].code == 412


def test_sinch_regions() -> None:
    import dlr_sinch_sms

    servers = dlr_sinch_sms.API.servers
    assert dlr_sinch_sms.API.default_server == "us"
    assert dict(servers) == {
        region: f"https://{region}.sms.api.sinch.com" for region in ("us", "eu", "au", "br", "ca")
    }
