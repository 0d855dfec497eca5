"""Cloopen / Ronglian SMS (specs/cloopen_sms.yaml): its request signing, re-implemented here
step by step from Ronglian's official Python SMS SDK and compared with what the generated
client sends (sync and async); the in-process mock reading the Beijing-time timestamp back
and refusing a stale one; an error answer; and the SMSArrived status report push (the field
example of a public sample, see the spec's header). Expected values are written here by hand
or computed by the SDK's algorithm, never taken from dlrgen's output."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

import dlr_core
from dlr_core import DeliveryStatus, MalformedCallback
from tests.conftest import call_client, run_client

ACCOUNT_SID = "8a216da8622e2b0a01625a2f1fcb0d7c"
AUTH_TOKEN = "not-a-real-auth-token-0123456789"
CREDENTIALS = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
BEIJING = timezone(timedelta(hours=8))
# 17:00 UTC on 7 December is 01:00 on 8 December in Beijing: the date rolls over too.
NOW = datetime(2026, 12, 7, 17, 0, 0, tzinfo=timezone.utc)
SENT = {
    "statusCode": "000000",
    "templateSMS": {"dateCreated": "20130201155306", "smsMessageSid": "ff8080813c373cab013c94b0f0512345"},
}
URL = "https://example.com/callbacks/cloopen"
JSON_HEADERS = {"Content-Type": "application/json;charset=utf-8"}


def sdk_signed(moment: datetime) -> tuple[str, str]:
    """The sig and Authorization of Ronglian's official Python SDK,
    https://github.com/cloopen/python-sms-sdk/blob/master/ronglian_sms_sdk/SmsSDK.py, step by step:
    ``SmsSDK.sendMessage`` takes ``timestamp = time.strftime('%Y%m%d%H%M%S', time.localtime())``
    (the machine's local time; the platform's is Beijing, so the moment is taken in +08:00
    here); ``__buildSign`` is ``algorithm.md5(f'{accId}{accToken}{timestamp}').upper()``
    (hex MD5, upper case), put in the URL as ``?sig=`` by ``__buildSendMessageUrl``;
    ``__buildAuthorization`` is ``algorithm.base64Encoder(f'{accId}:{timestamp}')``, the
    Authorization header. (The Java SDK's CCPRestSmsSDK.sendTemplateSMS builds the same.)"""
    timestamp = time.strftime("%Y%m%d%H%M%S", moment.astimezone(BEIJING).timetuple())
    sig = hashlib.md5(f"{ACCOUNT_SID}{AUTH_TOKEN}{timestamp}".encode()).hexdigest().upper()
    authorization = base64.b64encode(f"{ACCOUNT_SID}:{timestamp}".encode()).decode()
    return sig, authorization


def recording_client(mode: str, seen: list[httpx.Request], clock: Callable[[], datetime]) -> Any:
    import dlr_cloopen_sms

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SENT)

    transport = httpx.MockTransport(handle)
    if mode == "sync":
        return dlr_cloopen_sms.Client(
            **CREDENTIALS, http_client=httpx.Client(transport=transport), clock=clock
        )
    return dlr_cloopen_sms.AsyncClient(
        **CREDENTIALS, http_client=httpx.AsyncClient(transport=transport), clock=clock
    )


def send(mode: str, client: Any) -> Any:
    return call_client(
        mode,
        client,
        "send_template_sms",
        to="13800000000",
        app_id="8a216da8",
        template_id="1",
        datas=["1234", "5"],
    )


def test_the_sig_and_authorization_follow_the_python_sdk(mode: str) -> None:
    """What the client sends is what SmsSDK.sendMessage
    (https://github.com/cloopen/python-sms-sdk/blob/master/ronglian_sms_sdk/SmsSDK.py) sends
    at the same moment: ?sig= upper-case hex MD5(AccountSid + AuthToken + timestamp) and
    Authorization base64(AccountSid:timestamp), the timestamp in Beijing time."""
    seen: list[httpx.Request] = []
    answer = send(mode, recording_client(mode, seen, lambda: NOW))
    (request,) = seen
    sig, authorization = sdk_signed(NOW)
    assert request.method == "POST"
    assert request.url.host == "app.cloopen.com" and request.url.port == 8883
    assert request.url.path == f"/2013-12-26/Accounts/{ACCOUNT_SID}/SMS/TemplateSMS"
    assert dict(request.url.params) == {"sig": sig}
    assert request.headers["Authorization"] == authorization
    # The timestamp inside is Beijing's wall clock, written by hand here: 2026-12-08 01:00:00.
    assert base64.b64decode(authorization).decode() == f"{ACCOUNT_SID}:20261208010000"
    assert json.loads(request.content) == {
        "to": "13800000000",
        "appId": "8a216da8",
        "templateId": "1",
        "datas": ["1234", "5"],
    }
    assert answer.template_sms.sms_message_sid == "ff8080813c373cab013c94b0f0512345"
    assert answer.template_sms.date_created == datetime(2013, 2, 1, 15, 53, 6, tzinfo=BEIJING)


def test_the_signature_changes_with_the_second(mode: str) -> None:
    """The timestamp is signed: a second later, another sig and another Authorization."""
    seen: list[httpx.Request] = []
    for moment in (NOW, NOW + timedelta(seconds=1)):
        send(mode, recording_client(mode, seen, lambda moment=moment: moment))
    assert seen[0].url.params["sig"] != seen[1].url.params["sig"]
    assert seen[1].url.params["sig"] == sdk_signed(NOW + timedelta(seconds=1))[0]


def test_the_mock_reads_the_beijing_timestamp_back(dlr_mock: Any, mode: str) -> None:
    """The mock re-signs with the timestamp it reads from the Authorization header (a date
    pattern in +08:00) and accepts a client on the real clock."""
    import dlr_cloopen_sms

    mock = dlr_mock(dlr_cloopen_sms.API, CREDENTIALS, scenario={"send_template_sms": [{"body": SENT}]})
    client = mock.client(dlr_cloopen_sms.Client if mode == "sync" else dlr_cloopen_sms.AsyncClient)
    answer = run_client(
        mode, client, lambda c: c.send_template_sms(to="13800000000", app_id="a", template_id="1")
    )
    assert answer.status_code == "000000"
    [request] = mock.requests
    assert request.path == f"/2013-12-26/Accounts/{ACCOUNT_SID}/SMS/TemplateSMS"


def test_the_mock_refuses_a_timestamp_an_hour_off(dlr_mock: Any, mode: str) -> None:
    """Read back as Beijing time, a timestamp written an hour early is stale: 111106."""
    import dlr_cloopen_sms

    mock = dlr_mock(dlr_cloopen_sms.API, CREDENTIALS, scenario={"send_template_sms": [{"body": SENT}]})
    early = lambda: datetime.now(timezone.utc) - timedelta(hours=1)  # noqa: E731
    client = mock.client(
        dlr_cloopen_sms.Client if mode == "sync" else dlr_cloopen_sms.AsyncClient, clock=early
    )
    with pytest.raises(dlr_core.ClockSkew) as caught:
        run_client(mode, client, lambda c: c.send_template_sms(to="13800000000", app_id="a", template_id="1"))
    assert str(caught.value.code) == "111106"


def test_a_wrong_token_is_refused_by_the_mock(dlr_mock: Any, mode: str) -> None:
    """Signed with another token, the sig does not verify: 111109 (请求地址Sig校验失败)."""
    import dlr_cloopen_sms

    mock = dlr_mock(dlr_cloopen_sms.API, CREDENTIALS, scenario={"send_template_sms": [{"body": SENT}]})
    client = mock.client(
        dlr_cloopen_sms.Client if mode == "sync" else dlr_cloopen_sms.AsyncClient,
        auth_token="another-token-7f3a9c",
    )
    with pytest.raises(dlr_core.AuthenticationError) as caught:
        run_client(mode, client, lambda c: c.send_template_sms(to="13800000000", app_id="a", template_id="1"))
    assert str(caught.value.code) == "111109"
    assert "another-token-7f3a9c" not in str(caught.value) + repr(caught.value)


def test_an_error_answer_is_typed(mode: str) -> None:
    """HTTP 200 with a statusCode other than 000000 is an error: 160038 is 短信验证码发送过频繁."""
    import dlr_cloopen_sms

    body = {"statusCode": "160038", "statusMsg": "短信验证码发送过频繁"}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    client: Any
    if mode == "sync":
        client = dlr_cloopen_sms.Client(**CREDENTIALS, http_client=httpx.Client(transport=transport))
    else:
        client = dlr_cloopen_sms.AsyncClient(
            **CREDENTIALS, http_client=httpx.AsyncClient(transport=transport)
        )
    with pytest.raises(dlr_core.RateLimited) as caught:
        call_client(mode, client, "send_template_sms", to="1", app_id="a", template_id="1", retries=0)
    assert str(caught.value.code) == "160038"
    assert json.loads(caught.value.raw_body) == body


# The status report push, its fields as in the spec header's sample (status 0, DELIVRD).
PUSH = {
    "Request": {
        "action": "SMSArrived",
        "smsType": "1",
        "apiVersion": "2013-12-26",
        "smsMessageSid": "ff8080813c373cab013c94b0f0512345",
        "content": "4121908f3d1b4edb9210f0eb4742f62c",
        "fromNum": "13912345678",
        "dateSent": "20130923010000",
        "deliverCode": "DELIVRD",
        "recvTime": "20130923010010",
        "status": "0",
        "reqId": "123",
        "smsCount": "2",
    }
}


def test_the_push_is_read_into_a_receipt() -> None:
    from dlr_cloopen_sms.callbacks import parse_sms_arrived

    [receipt] = parse_sms_arrived("POST", URL, JSON_HEADERS, json.dumps(PUSH).encode())
    assert receipt.message_id == "ff8080813c373cab013c94b0f0512345"
    assert receipt.status == DeliveryStatus.DELIVERED
    assert receipt.error_code == "DELIVRD"
    assert receipt.client_ref == "123"
    assert receipt.completed_at == datetime(2013, 9, 23, 1, 0, 10, tzinfo=BEIJING)
    assert receipt.submitted_at == datetime(2013, 9, 23, 1, 0, 0, tzinfo=BEIJING)
    assert receipt.details == {"sms_count": "2", "sms_type": "1"}


@pytest.mark.parametrize(
    ("value", "canonical"), [("0", DeliveryStatus.DELIVERED), ("1", DeliveryStatus.UNDELIVERED)]
)
def test_every_report_status(value: str, canonical: DeliveryStatus) -> None:
    from dlr_cloopen_sms.callbacks import parse_sms_arrived

    push = {"Request": {**PUSH["Request"], "status": value, "deliverCode": "MK:0001"}}
    [receipt] = parse_sms_arrived("POST", URL, JSON_HEADERS, json.dumps(push).encode())
    assert receipt.status == canonical


def test_a_push_without_its_request_is_malformed() -> None:
    from dlr_cloopen_sms.callbacks import parse_sms_arrived

    with pytest.raises(MalformedCallback):
        parse_sms_arrived("POST", URL, JSON_HEADERS, json.dumps(PUSH["Request"]).encode())
