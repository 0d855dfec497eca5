"""Status tables and rules: unknown values, aliases, type drift, multi-field rules."""

from __future__ import annotations

import pytest

from tests.conftest import provider_specs, spec_data
from dlr_core import DeliveryStatus


def test_canonical_vocabulary_is_exactly_the_product_one() -> None:
    assert [s.value for s in DeliveryStatus] == [
        "queued",
        "sending",
        "sent",
        "delivered",
        "undelivered",
        "failed",
        "rejected",
        "expired",
        "canceled",
        "unknown",
    ]
    finals = {s.value for s in DeliveryStatus if s.is_final}
    assert finals == {"delivered", "undelivered", "failed", "rejected", "expired", "canceled"}
    assert [s for s in DeliveryStatus if s.is_success] == [DeliveryStatus.DELIVERED]


@pytest.mark.parametrize("raw", ["发送成功", "Success", "Send successful"])
def test_ucloud_success_spellings_are_one_member(raw: str) -> None:
    from dlr_ucloud_usms import ReceiptResult, receipt_result_to_canonical

    assert ReceiptResult.parse(raw) is ReceiptResult.SUCCESS
    assert receipt_result_to_canonical(raw) is DeliveryStatus.DELIVERED


@pytest.mark.parametrize("raw", ["发送失败", "Fail"])
def test_ucloud_failure_spellings_map_alike(raw: str) -> None:
    from dlr_ucloud_usms import receipt_result_to_canonical

    assert receipt_result_to_canonical(raw) is DeliveryStatus.UNDELIVERED


@pytest.mark.parametrize("raw", ["状态未知", "Unknow"])
def test_ucloud_unknown_spellings_including_the_typo(raw: str) -> None:
    from dlr_ucloud_usms import ReceiptResult, receipt_result_to_canonical

    assert ReceiptResult.parse(raw) is ReceiptResult.UNKNOWN
    assert receipt_result_to_canonical(raw) is DeliveryStatus.UNKNOWN


def test_unlisted_raw_value_parses_keeps_raw_and_maps_to_unknown() -> None:
    from dlr_aliyun_dysms import QuerySendDetailsResult, SendStatus, query_send_details_receipts

    body = {
        "Code": "OK",
        "SmsSendDetailDTOs": {
            "SmsSendDetailDTO": [{"SendStatus": 9, "PhoneNum": "1"}, {"SendStatus": "weird"}]
        },
    }
    receipts = query_send_details_receipts(QuerySendDetailsResult.model_validate(body))
    assert [r.status for r in receipts] == [DeliveryStatus.UNKNOWN, DeliveryStatus.UNKNOWN]
    assert [r.raw_status for r in receipts] == [{"SendStatus": 9}, {"SendStatus": "weird"}]
    assert SendStatus.parse(9) is None


def test_integer_status_sent_as_text_is_read_as_the_integer() -> None:
    from dlr_aliyun_dysms import SendStatus, send_status_to_canonical

    assert SendStatus.parse("3") is SendStatus.DELIVERED
    assert send_status_to_canonical(" 2 ") is DeliveryStatus.UNDELIVERED
    assert send_status_to_canonical(True) is DeliveryStatus.UNKNOWN  # a bool is not 1
    assert send_status_to_canonical(None) is DeliveryStatus.UNKNOWN


@pytest.mark.parametrize(
    ("status", "reportstatus", "expected"),
    [
        # A final carrier report wins over the gateway status.
        ("success", "success", DeliveryStatus.DELIVERED),
        ("success", "fail", DeliveryStatus.UNDELIVERED),
        # Without a final report, the gateway status decides.
        ("success", "pending", DeliveryStatus.SENT),
        ("success", "unknown", DeliveryStatus.SENT),
        ("fail", "unknown", DeliveryStatus.FAILED),
        ("create", "unknown", DeliveryStatus.QUEUED),
        ("pending", "unknown", DeliveryStatus.QUEUED),
        ("sending", "unknown", DeliveryStatus.SENDING),
        ("unknown", "unknown", DeliveryStatus.UNKNOWN),
        ("something-new", None, DeliveryStatus.UNKNOWN),
    ],
)
def test_sgate_rule(status: str, reportstatus: str | None, expected: DeliveryStatus) -> None:
    from dlr_sgate_otp import OtpDetail, otp_detail_receipts

    result = OtpDetail.model_validate({"status": status, "reportstatus": reportstatus})
    [receipt] = otp_detail_receipts(result)
    assert receipt.status is expected
    assert receipt.raw_status == {"reportstatus": reportstatus, "status": status}


def test_itnio_flow_statuses() -> None:
    from dlr_itnio_voice import flow_status_to_canonical

    # 0 Pending, 1 In Progress, 2 Completed, 3 Cancelled, 4 Execution Exception
    assert [flow_status_to_canonical(v) for v in range(5)] == [
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENDING,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.CANCELED,
        DeliveryStatus.FAILED,
    ]


def test_every_documented_raw_value_in_every_seed_maps_to_a_canonical_value() -> None:
    canonical = {s.value for s in DeliveryStatus}
    for path in provider_specs():
        spec = spec_data(path)
        for enum in spec["statuses"].values():
            for value in enum["values"]:
                assert value["canonical"] in canonical, (path.name, value)


def test_error_tables_classify_codes_as_received() -> None:
    from dlr_aliyun_dysms import ERRORS as ALIYUN
    from dlr_core import ErrorKind
    from dlr_itnio_voice import ERRORS as ITNIO

    assert ITNIO.lookup(-16).kind is ErrorKind.CLOCK_SKEW  # type: ignore[union-attr]
    assert ITNIO.lookup("-1").kind is ErrorKind.AUTHENTICATION  # type: ignore[union-attr]
    assert ITNIO.lookup(-18).retryable  # type: ignore[union-attr]
    assert ITNIO.lookup(-999) is None
    assert ALIYUN.lookup("Forbidden.RAM").kind is ErrorKind.PERMISSION_DENIED  # type: ignore[union-attr]
    assert ALIYUN.lookup("Throttling.User").retryable  # type: ignore[union-attr]
