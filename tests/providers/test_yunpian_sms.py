"""Yunpian SMS (specs/yunpian_sms.yaml): pull_status and get_record read with the sync and
async clients against the mock, a failed call's {"code", "msg", "detail"} answer, and the
status push whose one form field sms_status is the URL-encoded JSON array of reports
(https://www.yunpian.com/official/document/sms/zh_CN/domestic_push_report, its example
array verbatim). Expected receipts are written here by hand from those pages. Yunpian signs
nothing (the apikey is a plain form field), so there is no signature to prove."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest

import dlr_core
from tests.conftest import run_client
from dlr_core import DeliveryStatus, MalformedCallback, Receipt
from dlr_core.callbacks import CallbackApp

KEY = {"api_key": "9b11127a9701975c734b8aee81ee3526"}
BEIJING = timezone(timedelta(hours=8))
FORM = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}
URL = "https://example.com/callbacks/yunpian"

# The push page's JSON example (intl page: the second report failed with YP:54).
REPORTS = [
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


def client_of(mock: Any, mode: str) -> Any:
    import dlr_yunpian_sms

    return mock.client(dlr_yunpian_sms.Client if mode == "sync" else dlr_yunpian_sms.AsyncClient)


def check_reports(receipts: list[Receipt]) -> None:
    assert [(r.message_id, r.recipient, r.status) for r in receipts] == [
        ("9527", "+93701234567", DeliveryStatus.DELIVERED),
        ("9528", "+93701234566", DeliveryStatus.UNDELIVERED),
    ]
    assert receipts[1].error_code == "YP:54"
    assert receipts[1].error_description == "错误号码,不扣费"
    assert receipts[0].completed_at == datetime(2014, 3, 17, 22, 55, 21, tzinfo=BEIJING)


def test_pull_status_drains_the_queue(dlr_mock: Any, mode: str) -> None:
    import dlr_yunpian_sms

    mock = dlr_mock(dlr_yunpian_sms.API, KEY, scenario={"pull_status": [{"body": REPORTS}]})
    result = run_client(mode, client_of(mock, mode), lambda c: c.pull_status(page_size=100))
    check_reports(dlr_yunpian_sms.pull_status_receipts(result))
    [request] = mock.requests
    assert (request.method, request.path) == ("POST", "/v2/sms/pull_status.json")
    assert sorted(parse_qsl(request.body.decode())) == [("apikey", KEY["api_key"]), ("page_size", "100")]


def test_get_record_sends_the_window_in_beijing_time(dlr_mock: Any, mode: str) -> None:
    """The record page's example answer: UNKNOWN-free, a FAIL with error_msg 1:1, sid a string."""
    import dlr_yunpian_sms

    answer = [
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
    mock = dlr_mock(dlr_yunpian_sms.API, KEY, scenario={"get_record": [{"body": answer}]})
    start = datetime(2015, 11, 2, 0, 0, tzinfo=BEIJING)
    [receipt] = run_client(
        mode,
        client_of(mock, mode),
        lambda c: c.fetch_receipts(
            start_time=start, end_time=start.astimezone(timezone.utc) + timedelta(days=1)
        ),
    )
    assert (receipt.message_id, receipt.status, receipt.error_code) == (
        "1234567890",
        DeliveryStatus.UNDELIVERED,
        "1:1",
    )
    assert receipt.submitted_at == datetime(2015, 11, 2, 16, 34, 56, tzinfo=BEIJING)
    assert receipt.details == {"send_status": "SUCCESS", "fee": 1}
    form = dict(parse_qsl(mock.requests[0].body.decode()))
    assert (form["start_time"], form["end_time"]) == ("2015-11-02 00:00:00", "2015-11-03 00:00:00")


def _record(sid: int) -> dict[str, Any]:
    return {
        "sid": sid,
        "mobile": "13800000000",
        "send_time": "2015-11-02 16:34:56",
        "report_status": "SUCCESS",
    }


def test_get_record_pages_until_a_short_page(dlr_mock: Any, mode: str) -> None:
    """get_record's answer is the page's records, no total: full pages (page_size of them)
    are followed by the next page_num, and the short page is the last asked for."""
    import dlr_yunpian_sms

    pages = [[_record(1), _record(2)], [_record(3), _record(4)], [_record(5)]]
    scenario = {"get_record": [{"body": page} for page in pages] + [{"status": 500}]}
    mock = dlr_mock(dlr_yunpian_sms.API, KEY, scenario=scenario)
    start = datetime(2015, 11, 2, 0, 0, tzinfo=BEIJING)
    receipts = run_client(
        mode,
        client_of(mock, mode),
        lambda c: c.fetch_receipts(start_time=start, end_time=start + timedelta(days=1), page_size=2),
    )
    assert [r.message_id for r in receipts] == ["1", "2", "3", "4", "5"]
    asked = [dict(parse_qsl(request.body.decode())) for request in mock.requests]
    assert [(form["page_num"], form["page_size"]) for form in asked] == [("1", "2"), ("2", "2"), ("3", "2")]


def test_iter_get_record_ends_at_an_empty_page_after_full_ones(dlr_mock: Any, mode: str) -> None:
    """With the default page_size (20), two full pages and then an empty one: three requests."""
    import dlr_yunpian_sms

    pages = [[_record(n) for n in range(20)], [_record(n) for n in range(20, 40)], []]
    scenario = {"get_record": [{"body": page} for page in pages] + [{"status": 500}]}
    mock = dlr_mock(dlr_yunpian_sms.API, KEY, scenario=scenario)
    start = datetime(2015, 11, 2, 0, 0, tzinfo=BEIJING)
    window = {"start_time": start, "end_time": start + timedelta(days=1)}
    if mode == "sync":
        with client_of(mock, mode) as client:
            records = list(client.iter_get_record(**window))
    else:

        async def collect() -> list[Any]:
            async with client_of(mock, mode) as client:
                return [record async for record in client.iter_get_record(**window)]

        records = asyncio.run(collect())
    assert [int(record.sid) for record in records] == list(range(40))
    assert [dict(parse_qsl(r.body.decode()))["page_num"] for r in mock.requests] == ["1", "2", "3"]


def test_a_bad_apikey_is_an_authentication_error(dlr_mock: Any, mode: str) -> None:
    """返回值示例: HTTP 400 with code, msg and detail; code -1 is 非法的apikey."""
    import dlr_yunpian_sms

    body = {"http_status_code": 400, "code": -1, "msg": "非法的apikey", "detail": "apikey不正确或没有授权"}
    mock = dlr_mock(dlr_yunpian_sms.API, KEY, scenario={"pull_status": [{"status": 400, "body": body}]})
    with pytest.raises(dlr_core.AuthenticationError) as caught:
        run_client(mode, client_of(mock, mode), lambda c: c.pull_status())
    assert str(caught.value.code) == "-1"
    assert KEY["api_key"] not in str(caught.value) + repr(caught.value)


def test_the_push_reads_the_url_encoded_json_array() -> None:
    """curl --data "sms_status=url_encode_json": one form field, the JSON array in it."""
    from dlr_yunpian_sms.callbacks import parse_callback

    body = ("sms_status=" + quote(json.dumps(REPORTS, ensure_ascii=False))).encode()
    check_reports(parse_callback("POST", URL, FORM, body))


def test_the_push_encoded_twice_is_read_too() -> None:
    """部分语言由于解码方式差异需要解码两次: a value still percent-encoded after the form's
    decoding is decoded once more."""
    from dlr_yunpian_sms.callbacks import parse_callback

    once = quote(json.dumps(REPORTS, ensure_ascii=False))
    body = ("sms_status=" + quote(once)).encode()
    check_reports(parse_callback("POST", URL, FORM, body))


def test_a_push_without_sms_status_is_malformed() -> None:
    from dlr_yunpian_sms.callbacks import parse_callback

    with pytest.raises(MalformedCallback):
        parse_callback("POST", URL, FORM, urlencode({"voice_status": json.dumps(REPORTS)}).encode())
    with pytest.raises(MalformedCallback):  # one report, not the array Yunpian pushes
        parse_callback("POST", URL, FORM, urlencode({"sms_status": json.dumps(REPORTS[0])}).encode())


def test_the_endpoint_answers_success_as_yunpian_expects() -> None:
    """处理成功请返回字符串"SUCCESS": anything else makes Yunpian push again."""
    from dlr_yunpian_sms.callbacks import callback_endpoint

    got: list[Receipt] = []

    async def on_receipts(name: str, receipts: list[Receipt]) -> None:
        got.extend(receipts)

    app = CallbackApp({"yunpian": callback_endpoint()}, on_receipts)

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://example.com"
        ) as c:
            return await c.post(
                "/callbacks/yunpian", content=urlencode({"sms_status": json.dumps(REPORTS)}), headers=FORM
            )

    answer = asyncio.run(main())
    assert (answer.status_code, answer.text) == (200, "SUCCESS")
    check_reports(got)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("SUCCESS", DeliveryStatus.DELIVERED),
        ("FAIL", DeliveryStatus.UNDELIVERED),
        ("UNKNOWN", DeliveryStatus.SENT),
    ],
)
def test_every_report_status(value: str, canonical: DeliveryStatus) -> None:
    from dlr_yunpian_sms.statuses import report_status_to_canonical

    assert report_status_to_canonical(value) is canonical
