"""Huawei Cloud Message & SMS (specs/huawei_cloud_sms.yaml): push-only, unsigned by default.
The pushes below are Huawei's own published examples: the form body of 状态回执错误码(国内
短信) (https://support.huaweicloud.com/api-msgsms/sms_05_0051.html) and the success and
failure bodies of its 接收状态报告 code samples (devg-msgsms sms_04_0017)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from dlr_core import DeliveryStatus, MalformedCallback
from dlr_huawei_cloud_sms.callbacks import parse_batch_status_report, parse_status_report

FORM = {"content-type": "application/x-www-form-urlencoded"}
# Verbatim from sms_05_0051 ("消息示例如下").
DOCS_PUSH = (
    b"sequence=1&total=1&orgCode=000&updateTime=2018-04-13T06%3A31%3A46Z&source=2"
    b"&smsMsgId=b9d9b4fe-ad0e-4a2a-a2c7-445505b674ac_6&status=DELIVRD"
)
# Verbatim from the code samples' failed_body.
FAILED_PUSH = (
    b"sequence=1&total=1&updateTime=2018-10-31T08%3A43%3A41Z&source=2"
    b"&smsMsgId=2ea20735-f856-4376-afbf-570bd70a46ee_11840135&status=E200027"
)


def test_the_docs_example_push_is_delivered() -> None:
    (receipt,) = parse_status_report("POST", "https://me/report", FORM, DOCS_PUSH)
    assert receipt.message_id == "b9d9b4fe-ad0e-4a2a-a2c7-445505b674ac_6"
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.status.is_final
    assert receipt.completed_at == datetime(2018, 4, 13, 6, 31, 46, tzinfo=timezone.utc)
    assert receipt.details["org_code"] == "000" and receipt.details["source"] == "2"


def test_the_code_samples_failed_push() -> None:
    (receipt,) = parse_status_report("POST", "https://me/report", FORM, FAILED_PUSH)
    assert receipt.status is DeliveryStatus.FAILED and receipt.error_code == "E200027"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("MK:0001", DeliveryStatus.UNDELIVERED),  # a carrier code the table does not list
        ("UNKNOWN", DeliveryStatus.UNKNOWN),
        ("EXPIRED", DeliveryStatus.EXPIRED),
        ("MBBLACK", DeliveryStatus.REJECTED),
    ],
)
def test_codes_map_through_the_rule(code: str, status: DeliveryStatus) -> None:
    body = DOCS_PUSH.replace(b"status=DELIVRD", b"status=" + code.replace(":", "%3A").encode())
    (receipt,) = parse_status_report("POST", "https://me/report", FORM, body)
    assert receipt.status is status and receipt.error_code == code


def test_a_report_without_update_time_or_status_id() -> None:
    """A report the platform makes itself carries no updateTime; one without smsMsgId is
    not a report."""
    (receipt,) = parse_status_report("POST", "https://me/r", FORM, b"smsMsgId=x_1&status=EXPIRED&source=1")
    assert receipt.completed_at is None and receipt.status is DeliveryStatus.EXPIRED
    with pytest.raises(MalformedCallback):
        parse_status_report("POST", "https://me/r", FORM, b"status=DELIVRD")


def test_a_batch_push_yields_every_report_in_order() -> None:
    reports = [
        {
            "smsMsgId": "a_1",
            "status": "DELIVRD",
            "updateTime": "2018-04-13T06:31:46Z",
            "extend": "ref-1",
            "to": "+8615100000000",
        },
        {"smsMsgId": "b_2", "status": "UNDELIV", "statusDesc": "undeliverable"},
    ]
    body = json.dumps({"statusReportList": reports}).encode()
    receipts = parse_batch_status_report(
        "POST", "https://me/batch", {"content-type": "application/json"}, body
    )
    assert [r.message_id for r in receipts] == ["a_1", "b_2"]
    assert receipts[0].client_ref == "ref-1" and receipts[0].recipient == "+8615100000000"
    assert [r.status for r in receipts] == [DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED]
    assert receipts[1].error_description == "undeliverable"
