"""Each seed's example response, copied verbatim from its doc, parses into the generated
models and becomes the receipts a reader of the doc expects. The expectations below were
written by hand from the docs (see the comments), not taken from the code's output."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.conftest import load_fixture
from dlr_core import DeliveryStatus

BEIJING = timezone(timedelta(hours=8))


def test_aliyun_example_is_one_delivered_sms() -> None:
    from dlr_aliyun_dysms import QuerySendDetailsParams, QuerySendDetailsResult, query_send_details_receipts

    body = load_fixture("aliyun_dysms_query_send_details.json")
    result = QuerySendDetailsResult.model_validate(body)
    assert result.code == "OK"
    assert result.total_count == 1
    assert result.request_id == "819BE656-D2E0-4858-8B21-B2E477085AAF"

    params = QuerySendDetailsParams.model_validate(
        {"PhoneNumber": "15298356881", "SendDate": "2019-01-08", "BizId": "134523^4351232"}
    )
    [receipt] = query_send_details_receipts(result, params)
    # SendStatus 3 = 发送成功 (sent successfully), ErrCode DELIVRD: delivered, final.
    assert receipt.provider == "aliyun_dysms"
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.status.is_final and receipt.status.is_success
    assert receipt.raw_status == {"SendStatus": 3}
    assert receipt.recipient == "15298356881"
    assert receipt.message_id == "134523^4351232"  # the BizId asked for
    assert receipt.client_ref == "123"  # OutId
    assert receipt.error_code == "DELIVRD"
    # "2019-01-08 16:44:10" Beijing time is 08:44:10 UTC.
    assert receipt.submitted_at == datetime(2019, 1, 8, 16, 44, 10, tzinfo=BEIJING)
    assert receipt.submitted_at.astimezone(timezone.utc).hour == 8
    assert receipt.completed_at == datetime(2019, 1, 8, 16, 44, 13, tzinfo=BEIJING)
    assert receipt.raw["TemplateCode"] == "SMS_122310183"
    assert receipt.raw["Content"].startswith("【阿里云】")


def test_aliyun_total_count_as_documented_string_type_also_parses() -> None:
    from dlr_aliyun_dysms import QuerySendDetailsResult

    # The docs' table types TotalCount as String while the example sends a number.
    body = load_fixture("aliyun_dysms_query_send_details.json")
    body["TotalCount"] = "1"
    assert QuerySendDetailsResult.model_validate(body).total_count == 1


def test_ucloud_example_is_one_delivered_sms() -> None:
    from dlr_ucloud_usms import GetUSMSSendReceiptResult, get_usms_send_receipt_receipts

    body = load_fixture("ucloud_usms_get_usms_send_receipt.json")
    result = GetUSMSSendReceiptResult.model_validate(body)
    assert result.ret_code == 0
    [receipt] = get_usms_send_receipt_receipts(result)
    # ReceiptResult "发送成功" means sent successfully: delivered.
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.raw_status == {"ReceiptResult": "发送成功"}
    assert receipt.message_id == "BmThtoRB"  # SessionNo of the enclosing session
    assert receipt.recipient == "QbPtKJPa"
    assert receipt.client_ref == "1213"
    assert receipt.error_code == "0"
    assert receipt.error_description == "DxMRsuET"
    assert receipt.completed_at == datetime(1970, 1, 1, 0, 0, 6, tzinfo=timezone.utc)
    assert receipt.raw["CostCount"] == 6


def test_ucloud_nested_sessions_give_one_receipt_per_phone_in_order() -> None:
    from dlr_ucloud_usms import GetUSMSSendReceiptResult, get_usms_send_receipt_receipts

    body = {
        "RetCode": 0,
        "Action": "GetUSMSSendReceiptResponse",
        "Data": [
            {
                "SessionNo": "s1",
                "ReceiptSet": [
                    {"Phone": "a", "ReceiptResult": "Success"},
                    {"Phone": "b", "ReceiptResult": "发送失败"},
                ],
            },
            {"SessionNo": "s2", "ReceiptSet": [{"Phone": "c", "ReceiptResult": "Unknow"}]},
        ],
    }
    receipts = get_usms_send_receipt_receipts(GetUSMSSendReceiptResult.model_validate(body))
    assert [(r.message_id, r.recipient, r.status) for r in receipts] == [
        ("s1", "a", DeliveryStatus.DELIVERED),
        ("s1", "b", DeliveryStatus.UNDELIVERED),
        ("s2", "c", DeliveryStatus.UNKNOWN),
    ]


def test_itnio_example_is_a_flow_in_progress() -> None:
    from dlr_itnio_voice import FlowStatus, RecallFlowDetail, query_recall_flow_detail_receipts

    body = load_fixture("itnio_voice_query_recall_flow_detail.json")
    assert body["code"] == 0  # envelope: success
    result = RecallFlowDetail.model_validate(body["data"])
    # status 1 = "In Progress": the calls are being made, nothing final yet.
    [receipt] = query_recall_flow_detail_receipts(result)
    assert receipt.status is DeliveryStatus.SENDING
    assert not receipt.is_final
    assert receipt.message_id == "1"  # keyId
    assert receipt.raw_status == {"status": 1}
    # The node's status 2 is "Completed".
    [node] = result.node_list or []
    assert node.task_id == 5009612
    assert FlowStatus.parse(node.node_status) is FlowStatus.COMPLETED
    # Paging fields that only the example shows are kept.
    assert result.total == 574 and result.search_count is True


def test_sgate_example_is_a_failed_push_with_no_carrier_report() -> None:
    from dlr_sgate_otp import OtpDetail, otp_detail_receipts

    body = load_fixture("sgate_otp_otp_detail.json")
    assert body["code"] == 200
    result = OtpDetail.model_validate(body["data"])
    [receipt] = otp_detail_receipts(result)
    # status "fail" = pushing to the channel failed; reportstatus "unknown" is no report:
    # the provider could not send it.
    assert receipt.status is DeliveryStatus.FAILED
    assert receipt.raw_status == {"reportstatus": "unknown", "status": "fail"}
    assert receipt.message_id == "800558b1fb8327742f17d63a3202093e"
    assert receipt.recipient == "966580310251"
    assert receipt.submitted_at == datetime(2024, 6, 5, 4, 2, 22, tzinfo=timezone.utc)


def test_spec_examples_are_the_doc_examples() -> None:
    """The mock serves each spec's `example`; it must be the docs' example, as in fixtures/."""
    import yaml

    from tests.conftest import SPECS

    fixtures = {
        ("aliyun_dysms", "query_send_details"): "aliyun_dysms_query_send_details.json",
        ("ucloud_usms", "get_usms_send_receipt"): "ucloud_usms_get_usms_send_receipt.json",
        ("itnio_voice", "query_recall_flow_detail"): "itnio_voice_query_recall_flow_detail.json",
        ("sgate_otp", "otp_detail"): "sgate_otp_otp_detail.json",
    }
    for (provider, operation), fixture in fixtures.items():
        spec = yaml.safe_load((SPECS / f"{provider}.yaml").read_text(encoding="utf-8"))
        assert spec["operations"][operation]["example"] == load_fixture(fixture), provider
