"""Response models type status fields as their enums and times as aware datetimes, while
receipts still report what the provider sent, exactly as it was sent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import GENERATED, mypy_strict_errors
from dlr_core import DeliveryStatus

CHINA = timezone(timedelta(hours=8))


def _aliyun_page(**record: object) -> dict[str, object]:
    return {"Code": "OK", "TotalCount": 1, "SmsSendDetailDTOs": {"SmsSendDetailDTO": [record]}}


def test_a_listed_status_is_its_member_and_raw_status_keeps_the_spelling_sent() -> None:
    from dlr_sinch_sms import (
        DeliveryStatusValue,
        RecipientDeliveryReport,
        get_recipient_delivery_report_receipts,
    )

    sent = {
        "at": "2024-06-07T14:03:26.536Z",
        "batch_id": "01J06CY78GZ2F74YZNNH2VBWR6",
        "code": "401",
        "recipient": "447..3",
        "status": "DISPATCHED",  # the Python SDK's spelling of Dispatched
        "type": "recipient_delivery_report_sms",
    }
    report = RecipientDeliveryReport.model_validate(sent)
    assert report.status is DeliveryStatusValue.DISPATCHED
    assert report.at == datetime(2024, 6, 7, 14, 3, 26, 536000, tzinfo=timezone.utc)
    [receipt] = get_recipient_delivery_report_receipts(report)
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.raw_status == {"status": "DISPATCHED"}
    assert receipt.raw == sent and receipt.raw["code"] == "401"
    assert receipt.error_code == "401"


def test_an_unlisted_status_is_kept_as_text_and_maps_to_unknown() -> None:
    from dlr_sinch_sms import DeliveryCode, RecipientDeliveryReport, get_recipient_delivery_report_receipts

    report = RecipientDeliveryReport.model_validate(
        {"at": "", "batch_id": "b", "code": 0, "recipient": "r", "status": "Teleported", "type": "t"}
    )
    assert report.status == "Teleported" and report.code == "0"  # 0 is an SMPP code, not in the table
    assert report.at is None  # an empty time reads as None; wire_data() keeps it
    assert report.wire_data()["at"] == "" and report.wire_data()["code"] == 0
    [receipt] = get_recipient_delivery_report_receipts(report)
    assert receipt.status is DeliveryStatus.UNKNOWN and receipt.raw_status == {"status": "Teleported"}
    assert RecipientDeliveryReport.model_validate({**report.wire_data(), "code": "412"}).code is (
        DeliveryCode.UNPROVISIONED_REGION
    )


def test_integer_statuses_sent_as_text_and_pattern_times_in_the_providers_zone() -> None:
    from dlr_aliyun_dysms import QuerySendDetailsResult, SendStatus, query_send_details_receipts

    page = QuerySendDetailsResult.model_validate(
        _aliyun_page(SendStatus="3", SendDate="2024-05-01 13:45:00", ReceiveDate="2024-05-01 13:45:07")
    )
    assert page.details is not None and page.details.items is not None
    [record] = page.details.items
    assert record.send_status is SendStatus.DELIVERED
    assert record.send_date == datetime(2024, 5, 1, 13, 45, tzinfo=CHINA)
    [receipt] = query_send_details_receipts(page)
    assert receipt.raw_status == {"SendStatus": "3"}  # as sent: text, not the member's 3
    assert receipt.submitted_at == datetime(2024, 5, 1, 5, 45, tzinfo=timezone.utc)
    assert receipt.completed_at == datetime(2024, 5, 1, 13, 45, 7, tzinfo=CHINA)
    assert receipt.raw["SendDate"] == "2024-05-01 13:45:00"


def test_a_model_built_in_code_takes_members_and_datetimes() -> None:
    from dlr_aliyun_dysms import SendStatus, SmsSendDetail

    moment = datetime(2024, 5, 1, 13, 45, tzinfo=CHINA)
    record = SmsSendDetail(send_status=SendStatus(3), send_date=moment)
    assert record.send_status is SendStatus(3) and record.send_date == moment
    assert record.model_dump(mode="json", by_alias=True, exclude_unset=True) == {
        "SendStatus": 3,
        "SendDate": "2024-05-01T13:45:00+08:00",
    }


@pytest.mark.slow  # a mypy --strict subprocess over the runtime and packages
def test_mypy_strict_catches_a_misspelt_status_member_on_a_model(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(
        "from datetime import datetime\n"
        "from dlr_sinch_sms import DeliveryStatusValue, RecipientDeliveryReport\n\n"
        "def check(report: RecipientDeliveryReport) -> datetime | None:\n"
        "    if report.status is DeliveryStatusValue.DELIVERED:\n"
        "        return report.at\n"
        "    if report.status is DeliveryStatusValue.DELIVERD:\n"
        "        return None\n"
        "    return report.at\n",
        encoding="utf-8",
    )
    errors = mypy_strict_errors(script, GENERATED / "dlr_sinch_sms")
    assert len(errors) == 1 and "user.py:7:" in errors[0] and "DELIVERD" in errors[0], errors
