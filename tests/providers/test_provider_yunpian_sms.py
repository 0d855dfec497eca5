"""Yunpian SMS (specs/yunpian_sms.yaml): the report queue, the send records and the push
whose one form field, sms_status, holds a URL-encoded JSON array (the format's
``form_field``). Bodies are Yunpian's published examples."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
from tests.conftest import call_client

import dlr_yunpian_sms
from dlr_core import DeliveryStatus, MalformedCallback
from dlr_core.push import encode
from dlr_yunpian_sms.callbacks import PUSH_REPORT, parse_push_report

APIKEY = "9b11127a9701975c734b8aee81ee3526"  # the docs' example apikey
BEIJING = timezone(timedelta(hours=8))
# The international push page's JSON example (推送状态报告), verbatim in content.
PUSHED = [
    {
        "error_detail": "接收成功",
        "sid": 9527,
        "uid": None,
        "user_receive_time": "2014-03-17 22:55:21",
        "error_msg": "",
        "mobile": "+93701234567",
        "report_status": "SUCCESS",
    },
    {
        "error_detail": "错误号码,不扣费",
        "sid": 9528,
        "uid": None,
        "user_receive_time": "2014-03-17 22:55:23",
        "error_msg": "YP:54",
        "mobile": "+93701234566",
        "report_status": "FAIL",
    },
]
FORM = {"content-type": "application/x-www-form-urlencoded;charset=utf-8"}


def test_a_push_is_the_json_array_in_sms_status() -> None:
    body = ("sms_status=" + quote(json.dumps(PUSHED, ensure_ascii=False))).encode()
    delivered, failed = parse_push_report("POST", "https://me/push", FORM, body)
    assert delivered.message_id == "9527" and delivered.status is DeliveryStatus.DELIVERED
    assert delivered.completed_at == datetime(2014, 3, 17, 22, 55, 21, tzinfo=BEIJING)
    assert failed.status is DeliveryStatus.UNDELIVERED and failed.error_code == "YP:54"
    assert failed.error_description == "错误号码,不扣费" and failed.recipient == "+93701234566"


def test_the_mock_encoder_writes_what_the_parser_reads() -> None:
    body = encode(PUSH_REPORT, PUSHED)
    (field,) = parse_qsl(body.decode())
    assert field[0] == "sms_status" and json.loads(field[1]) == PUSHED
    assert [r.message_id for r in parse_push_report("POST", "https://me/push", FORM, body)] == [
        "9527",
        "9528",
    ]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (urlencode({"other": "[]"}).encode(), "no sms_status field"),
        (urlencode({"sms_status": "not json"}).encode(), "not JSON"),
        (urlencode({"sms_status": json.dumps(PUSHED[0])}).encode(), "not a JSON array"),
    ],
)
def test_a_malformed_push_is_refused(body: bytes, why: str) -> None:
    with pytest.raises(MalformedCallback) as caught:
        parse_push_report("POST", "https://me/push", FORM, body)
    assert why in str(caught.value)


def client_of(mode: str, seen: list[httpx.Request], answer: Any, status: int = 200) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=answer)

    transport = httpx.MockTransport(handle)
    if mode == "sync":
        return dlr_yunpian_sms.Client(apikey=APIKEY, http_client=httpx.Client(transport=transport))
    return dlr_yunpian_sms.AsyncClient(apikey=APIKEY, http_client=httpx.AsyncClient(transport=transport))


def test_pull_status_drains_the_queue(mode: str) -> None:
    seen: list[httpx.Request] = []
    result = call_client(mode, client_of(mode, seen, PUSHED), "pull_status", page_size=100)
    receipts = dlr_yunpian_sms.pull_status_receipts(result)
    assert [r.status for r in receipts] == [DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED]
    form = dict(parse_qsl(seen[0].content.decode()))
    assert form == {"apikey": APIKEY, "page_size": "100"}
    assert seen[0].url == "https://sms.yunpian.com/v2/sms/pull_status.json"


def test_get_record_sends_beijing_times(mode: str) -> None:
    records = [
        {
            "sid": "1234567890",
            "mobile": "13800000000",
            "send_time": "2015-11-02 16:34:56",
            "text": "【云片网】你的验证码是1234",
            "send_status": "SUCCESS",
            "report_status": "FAIL",
            "fee": 1,
            "user_receive_time": None,
            "error_msg": "1:1",
            "uid": None,
        }
    ]
    seen: list[httpx.Request] = []
    start = datetime(2015, 11, 2, 0, 0, tzinfo=timezone.utc)
    result = call_client(
        mode,
        client_of(mode, seen, records),
        "get_record",
        start_time=start,
        end_time=start + timedelta(days=1),
    )
    form = dict(parse_qsl(seen[0].content.decode()))
    assert form["start_time"] == "2015-11-02 08:00:00" and form["end_time"] == "2015-11-03 08:00:00"
    (receipt,) = dlr_yunpian_sms.get_record_receipts(result)
    assert receipt.status is DeliveryStatus.UNDELIVERED and receipt.completed_at is None
    assert receipt.submitted_at == datetime(2015, 11, 2, 16, 34, 56, tzinfo=BEIJING)


def test_an_error_answer_is_typed(mode: str) -> None:
    from dlr_core import AuthenticationError

    seen: list[httpx.Request] = []
    error = {"http_status_code": 400, "code": -1, "msg": "非法的apikey", "detail": "apikey不正确或没有授权"}
    with pytest.raises(AuthenticationError) as caught:
        call_client(mode, client_of(mode, seen, error, status=400), "pull_status")
    assert APIKEY not in str(caught.value)
