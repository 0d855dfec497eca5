"""SUBMAIL SMS (specs/submail_sms.yaml): its digital signatures, re-implemented here from
SUBMAIL's official PHP SDK and compared with what the generated client sends; its sms/log
paging and receipts; its SUBHOOK pushes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from tests.conftest import call_client

import dlr_submail_sms
from dlr_submail_sms.callbacks import SUBHOOK, parse_subhook
from dlr_core import CallbackSignatureError, DeliveryStatus

APPID = "10086"
APPKEY = "d1b5a4bd8bd4c1f14f4bc4c43b5e5ba0"
NOW = datetime(2026, 12, 7, 16, 0, 0, tzinfo=timezone.utc)
EXAMPLE = {  # the docs' sms/log answer (历史明细查询 API.md), its first record
    "status": "success",
    "start_date": 1644152198,
    "end_date": 1644238598,
    "total": 1,
    "offset": 0,
    "results": 50,
    "data": [
        {
            "sendID": "f3a34daf58210d498917f31c7d26693f",
            "to": "xxx",
            "appid": "xxx",
            "template_id": "xxx",
            "sms_signature": "【xx】",
            "sms_content": "您本次登录的验证码：xxx",
            "fee": 1,
            "status": "delivered",
            "report_state": "DELIVRD",
            "location": "广东 广州",
            "mobile_type": "中国移动",
            "ip_address": "xxx",
            "send_at": 1644209557,
            "sent_at": 1644209557,
            "report_at": 1644209561,
        }
    ],
}


def php_sdk_signature(request: dict[str, str], appid: str, appkey: str, sign_type: str) -> str:
    """SUBMAIL's PHP SDK, https://github.com/dev-submail/SUBMAIL_PHP_SDK/blob/master/lib/message.php,
    step by step: ``argSort`` is PHP's ``ksort`` (byte order of the names);
    ``buildSignature`` appends ``$key."=".$val."&"`` for each pair, drops the last "&"
    (``substr($arg, 0, count($arg)-2)``: ``count`` of a string is 1, so ``-1``), and digests
    ``$app.$appkey.$arg.$app.$appkey`` with ``sha1`` when the sign type is sha1, ``md5``
    otherwise (PHP's lowercase hex). ``signature`` is added only after (``createSignature``),
    so it is not signed."""
    ordered = dict(sorted(request.items(), key=lambda pair: pair[0].encode()))
    arg = "".join(f"{key}={value}&" for key, value in ordered.items())[:-1]
    text = (appid + appkey + arg + appid + appkey).encode("utf-8")
    return hashlib.sha1(text).hexdigest() if sign_type == "sha1" else hashlib.md5(text).hexdigest()


def recording(answer: dict[str, Any], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return handle


def client_of(mode: str, seen: list[httpx.Request], answer: dict[str, Any], **options: Any) -> Any:
    transport = httpx.MockTransport(recording(answer, seen))
    if mode == "sync":
        return dlr_submail_sms.Client(
            appid=APPID,
            appkey=APPKEY,
            http_client=httpx.Client(transport=transport),
            clock=lambda: NOW,
            **options,
        )
    return dlr_submail_sms.AsyncClient(
        appid=APPID,
        appkey=APPKEY,
        http_client=httpx.AsyncClient(transport=transport),
        clock=lambda: NOW,
        **options,
    )


def sent_form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))


@pytest.mark.parametrize("sign_type", ["md5", "sha1"])
def test_md5_and_sha1_signatures_follow_the_php_sdk(mode: str, sign_type: str) -> None:
    """The md5 and sha1 schemes sign every form field but ``signature`` as the PHP SDK does
    (https://github.com/dev-submail/SUBMAIL_PHP_SDK/blob/master/lib/message.php: createSignature, buildSignature, argSort), the timestamp and sign_type
    included; proven for both the sync and the async client."""
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, EXAMPLE, auth_scheme=sign_type)
    call_client(
        mode, client, "sms_log", send_id="f3a34daf58210d498917f31c7d26693f", to="13800138000", rows=20
    )
    (request,) = seen
    assert request.url == "https://api-v4.mysubmail.com/sms/log.json"
    form = sent_form(request)
    signature = form.pop("signature")
    assert form["appid"] == APPID and form["sign_type"] == sign_type
    assert form["timestamp"] == str(int(NOW.timestamp()))
    assert {"send_id", "to", "rows", "offset"} <= set(form)
    assert signature == php_sdk_signature(form, APPID, APPKEY, sign_type)
    assert len(signature) == (40 if sign_type == "sha1" else 32)


def test_the_signature_covers_unescaped_values(mode: str) -> None:
    """Values are signed as sent, not percent-encoded (the SDK concatenates the raw
    values): a number with "+" and a Chinese app name still verify."""
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, EXAMPLE)
    call_client(mode, client, "sms_log", to="+8613800138000", app="应用 1")
    form = sent_form(seen[0])
    signature = form.pop("signature")
    assert signature == php_sdk_signature(form, APPID, APPKEY, "md5")
    assert signature != php_sdk_signature({**form, "to": "%2B8613800138000"}, APPID, APPKEY, "md5")


def test_normal_mode_sends_the_key_in_clear(mode: str) -> None:
    """密匙明文验证模式: the AppKey itself in ``signature``, no timestamp or sign_type."""
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, EXAMPLE, auth_scheme="normal")
    call_client(mode, client, "sms_log")
    form = sent_form(seen[0])
    assert form["appid"] == APPID and form["signature"] == APPKEY
    assert "timestamp" not in form and "sign_type" not in form


def test_sms_log_receipts_from_the_docs_example(mode: str) -> None:
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, EXAMPLE)
    receipts = call_client(mode, client, "fetch_receipts", send_id="f3a34daf58210d498917f31c7d26693f")
    (receipt,) = receipts
    assert receipt.message_id == "f3a34daf58210d498917f31c7d26693f"
    assert receipt.status is DeliveryStatus.DELIVERED and receipt.raw_status == {"status": "delivered"}
    assert receipt.error_code == "DELIVRD"
    assert receipt.completed_at == datetime.fromtimestamp(1644209561, timezone.utc)
    assert receipt.details["mobile_type"] == "中国移动"


def test_paging_moves_the_offset_by_the_rows_received(mode: str) -> None:
    pages = [
        {**EXAMPLE, "total": 3, "data": [EXAMPLE["data"][0], {**EXAMPLE["data"][0], "sendID": "b"}]},
        {
            **EXAMPLE,
            "total": 3,
            "offset": 2,
            "data": [{**EXAMPLE["data"][0], "sendID": "c", "status": "pending"}],
        },
    ]
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[len(seen) - 1])

    transport = httpx.MockTransport(handle)
    if mode == "sync":
        client: Any = dlr_submail_sms.Client(
            appid=APPID, appkey=APPKEY, http_client=httpx.Client(transport=transport)
        )
    else:
        client = dlr_submail_sms.AsyncClient(
            appid=APPID, appkey=APPKEY, http_client=httpx.AsyncClient(transport=transport)
        )
    receipts = call_client(mode, client, "fetch_receipts", rows=2)
    assert [r.message_id for r in receipts] == ["f3a34daf58210d498917f31c7d26693f", "b", "c"]
    assert receipts[2].status is DeliveryStatus.SENT
    assert [sent_form(r)["offset"] for r in seen] == ["0", "2"]


def test_an_error_answer_is_a_typed_error(mode: str) -> None:
    from dlr_core import AuthenticationError

    seen: list[httpx.Request] = []
    client = client_of(mode, seen, {"status": "error", "code": "108", "msg": "Invalid signature"})
    with pytest.raises(AuthenticationError) as caught:
        call_client(mode, client, "sms_log")
    assert "108" in str(caught.value) and APPKEY not in str(caught.value)


SUBHOOK_KEY = "my_subhook_key"  # the docs' PHP example's key


def docs_php_signature(token: str, key: str) -> str:
    """https://github.com/submail-developers/submail.documents/blob/master/短信/HTTP%20API开发文档/SUBHOOK%20状态回调/SUBHOOK%20接收推送示例.md
    (SUBHOOK 接收推送示例.md), 比对数字签名示例: ``$signature=md5($token.$key)``, compared with
    ``$_POST['signature']`` (推送数据验证.md: token + key, MD5)."""
    return hashlib.md5((token + key).encode("utf-8")).hexdigest()


def push(fields: dict[str, str], key: str = SUBHOOK_KEY) -> bytes:
    token = "067ef7e2f286a9a56eabb07dc9657852"  # the docs' example token
    return urlencode({**fields, "token": token, "signature": docs_php_signature(token, key)}).encode()


FORM = {"content-type": "application/x-www-form-urlencoded"}
DELIVERED = {  # the docs' delivered example's fields
    "events": "delivered",
    "address": "138xxxxxxxx",
    "send_id": "093c0a7df143c087d6cba9cdf0cf3738",
    "operator": "中国移动",
    "location": "上海 上海",
    "tag": "xxxxx",
    "app": "10086",
    "timestamp": "1415014855",
}


def test_subhook_verifies_as_the_docs_php_example() -> None:
    """A push signed as the docs' PHP check expects (https://github.com/submail-developers/submail.documents/blob/master/短信/HTTP%20API开发文档/SUBHOOK%20状态回调/SUBHOOK%20接收推送示例.md) is accepted; the same push
    checked with another key, or with its signature changed, is refused."""
    (receipt,) = parse_subhook("POST", "https://me/hook", FORM, push(DELIVERED), subhook_key=SUBHOOK_KEY)
    assert receipt.message_id == "093c0a7df143c087d6cba9cdf0cf3738" and receipt.client_ref == "xxxxx"
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.completed_at == datetime.fromtimestamp(1415014855, timezone.utc)
    with pytest.raises(CallbackSignatureError):
        parse_subhook("POST", "https://me/hook", FORM, push(DELIVERED), subhook_key="another key")
    forged = push(DELIVERED).replace(b"signature=", b"signature=0")
    with pytest.raises(CallbackSignatureError):
        parse_subhook("POST", "https://me/hook", FORM, forged, subhook_key=SUBHOOK_KEY)
    unsigned = urlencode(DELIVERED).encode()
    with pytest.raises(CallbackSignatureError, match="no token field"):
        parse_subhook("POST", "https://me/hook", FORM, unsigned, subhook_key=SUBHOOK_KEY)


def test_subhook_events_become_receipts() -> None:
    dropped = {"events": "dropped", "send_id": "1", "report": " UNDELIV", "address": "138"}
    (failed,) = parse_subhook("POST", "https://me/hook", FORM, push(dropped), subhook_key=SUBHOOK_KEY)
    assert failed.status is DeliveryStatus.UNDELIVERED and failed.error_code == " UNDELIV"
    for event, status in [
        ("unkown", DeliveryStatus.UNKNOWN),
        ("sending", DeliveryStatus.SENDING),
        ("request", DeliveryStatus.QUEUED),
        ("mo", DeliveryStatus.UNKNOWN),
    ]:
        (other,) = parse_subhook(
            "POST", "https://me/hook", FORM, push({"events": event, "send_id": "2"}), subhook_key=SUBHOOK_KEY
        )
        assert other.status is status


def test_the_mock_signs_a_subhook_the_docs_way() -> None:
    """What ``dlrgen mock --push`` sends: a fresh token among the fields and the signature
    the docs' PHP check computes from it, placed last."""
    body, headers = SUBHOOK.signed_push(
        "https://me/hook", urlencode(DELIVERED).encode(), credentials={"subhook_key": SUBHOOK_KEY}
    )
    fields = parse_qsl(body.decode())
    assert fields[-1][0] == "signature"
    sent = dict(fields)
    assert sent["signature"] == docs_php_signature(sent["token"], SUBHOOK_KEY)
    assert parse_subhook("POST", "https://me/hook", headers, body, subhook_key=SUBHOOK_KEY)
    tampered = body + b" "  # what a tamper: true push does: the signature's last byte changes
    with pytest.raises(CallbackSignatureError):
        parse_subhook("POST", "https://me/hook", headers, tampered, subhook_key=SUBHOOK_KEY)


def test_the_mock_accepts_each_scheme(dlr_mock: Any, mode: str) -> None:
    """The generated client, signing with each scheme, is accepted by the in-process mock
    (which re-signs the request from the spec)."""
    for scheme in ("md5", "sha1", "normal"):
        mock = dlr_mock(dlr_submail_sms.API, {"appid": APPID, "appkey": APPKEY})
        cls = dlr_submail_sms.Client if mode == "sync" else dlr_submail_sms.AsyncClient
        client = mock.client(cls, auth_scheme=scheme)
        receipts = call_client(mode, client, "fetch_receipts", send_id="f3a34daf58210d498917f31c7d26693f")
        assert receipts and mock.requests[0].authenticated
