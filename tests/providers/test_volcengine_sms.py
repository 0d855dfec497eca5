"""Volcengine SMS (specs/volcengine_sms.yaml): the request signature against the official SDK's
algorithm, the pull's receipts and the status report push.

The signature is re-implemented here, step by step, from volcengine/volc-sdk-python
https://github.com/volcengine/volc-sdk-python/blob/main/volcengine/auth/SignerV4.py (``SignerV4.sign``, ``hashed_canonical_request_v4``,
``get_signing_secret_key_v4``, ``build_auth_header_v4``) and ``volcengine/util/Util.py``
(``norm_uri``, ``norm_query``), with the SDK's constants (algorithm ``HMAC-SHA256``, the
``request`` terminator, service ``volcSMS`` and region ``cn-north-1`` from
volc-sdk-golang ``service/sms/config.go``), and compared with what the generated client sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote

import anyio
import httpx
import pytest

from dlr_core import DeliveryStatus
from dlr_volcengine_sms import AsyncClient, Client
from dlr_volcengine_sms.callbacks import parse_status_report

AK = "AKLTexampleaccesskeyid"
SK = "WkdGa2FtVnNjMlZqY21WMGEyVjVaWGhoYlhCc1pRPT0="
MOMENT = datetime(2024, 4, 25, 12, 55, 14, tzinfo=timezone.utc)

ANSWER = {
    "ResponseMetadata": {"RequestId": "r-1", "Action": "GetSmsSendDetails", "Version": "2021-01-11"},
    "Result": {
        "account": "2100000001",
        "subAccount": "77a00000",
        "total": 2,
        "sendDetailsResults": [
            {
                "status": 3,
                "errorCode": "0",
                "errorMessage": "发送成功",
                "phoneNumber": "15200000000",
                "messageId": "m-1",
                "msgCount": 1,
                "channelType": "CN_OTP",
                "sendTime": 1713951918107,
                "receiptTime": 1713951925706,
            },
            {
                "status": 2,
                "errorCode": "NE:0101",
                "errorMessage": "停机，空号",
                "phoneNumber": "15200000001",
                "messageId": "m-2",
                "msgCount": 1,
                "sendTime": 1713951918107,
            },
        ],
    },
}


# -- the SDK's algorithm, re-implemented ------------------------------------------------


def sdk_hmac_sha256(key: bytes, content: str) -> bytes:
    """Util.hmac_sha256."""
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).digest()


def sdk_norm_query(params: list[tuple[str, str]]) -> str:
    """Util.norm_query: names sorted, each name and value quoted with safe='-_.~', '+' as %20."""
    query = ""
    for key, value in sorted(params):
        query += quote(key, safe="-_.~") + "=" + quote(value, safe="-_.~") + "&"
    return query[:-1].replace("+", "%20")


def sdk_norm_uri(path: str) -> str:
    """Util.norm_uri."""
    return quote(path).replace("%2F", "/").replace("+", "%20")


def sdk_authorization(request: httpx.Request, ak: str, sk: str, region: str, service: str) -> str:
    """SignerV4.sign on the request as sent: X-Date is the request's, the body its bytes."""
    format_date = request.headers["X-Date"]
    date = format_date[:8]
    body_hash = hashlib.sha256(request.content).hexdigest()  # hashed_canonical_request_v4
    # hashed_canonical_request_v4: Content-Type, Content-Md5, Host and every X- header are
    # signed, lower-cased, sorted (the SDK sets Host from the service's host).
    signed = {}
    for key, value in request.headers.items():
        lower = key.lower()
        if lower in ("content-type", "content-md5", "host") or lower.startswith("x-"):
            signed[lower] = value
    assert signed["x-content-sha256"] == body_hash  # the SDK puts it on the request, signed
    signed_str = "".join(f"{key}:{signed[key]}\n" for key in sorted(signed))
    signed_headers = ";".join(sorted(signed))
    canonical_request = "\n".join(
        [
            request.method,
            sdk_norm_uri(request.url.path),
            sdk_norm_query(parse_qsl(request.url.query.decode(), keep_blank_values=True)),
            signed_str,
            signed_headers,
            body_hash,
        ]
    )
    credential_scope = "/".join([date, region, service, "request"])
    signing_str = "\n".join(
        ["HMAC-SHA256", format_date, credential_scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    # get_signing_secret_key_v4: the secret itself (no prefix) -> date -> region -> service -> request
    key = sdk_hmac_sha256(sk.encode("utf-8"), date)
    key = sdk_hmac_sha256(key, region)
    key = sdk_hmac_sha256(key, service)
    key = sdk_hmac_sha256(key, "request")
    signature = hmac.new(key, signing_str.encode(), hashlib.sha256).hexdigest()
    # build_auth_header_v4
    return (
        f"HMAC-SHA256 Credential={ak}/{credential_scope}, SignedHeaders={signed_headers}, "
        f"Signature={signature}"
    )


# -- the client against it ---------------------------------------------------------------


def recorder(sent: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ANSWER)

    return httpx.MockTransport(answer)


def check_signed(request: httpx.Request) -> None:
    assert request.url.host == "sms.volcengineapi.com"
    assert dict(request.url.params) == {"Action": "GetSmsSendDetails", "Version": "2021-01-11"}
    assert request.headers["X-Date"] == "20240425T125514Z"
    assert json.loads(request.content)["subAccount"] == "77a00000"
    expected = sdk_authorization(request, AK, SK, "cn-north-1", "volcSMS")
    assert request.headers["Authorization"] == expected
    assert "SignedHeaders=content-type;host;x-content-sha256;x-date," in expected


def test_signature_matches_volc_sdk_signer_v4() -> None:
    """volc-sdk-python volcengine/auth/SignerV4.py (SignerV4.sign), re-implemented above."""
    sent: list[httpx.Request] = []
    with Client(
        access_key_id=AK,
        secret_access_key=SK,
        http_client=httpx.Client(transport=recorder(sent)),
        clock=lambda: MOMENT,
    ) as client:
        result = client.get_sms_send_details(sub_account="77a00000", send_date=MOMENT.date())
    [request] = sent
    check_signed(request)
    assert result.total == 2


def test_signature_matches_volc_sdk_signer_v4_async() -> None:
    sent: list[httpx.Request] = []

    async def main() -> None:
        async with AsyncClient(
            access_key_id=AK,
            secret_access_key=SK,
            http_client=httpx.AsyncClient(transport=recorder(sent)),
            clock=lambda: MOMENT,
        ) as client:
            await client.get_sms_send_details(
                sub_account="77a00000", send_date=MOMENT.date(), phone_number="15200000000"
            )

    anyio.run(main)
    [request] = sent
    check_signed(request)
    assert json.loads(request.content)["phoneNumber"] == "15200000000"


def test_a_wrong_secret_gives_another_signature() -> None:
    """The comparison can fail: the SDK's algorithm with another secret disagrees."""
    sent: list[httpx.Request] = []
    with Client(
        access_key_id=AK,
        secret_access_key=SK,
        http_client=httpx.Client(transport=recorder(sent)),
        clock=lambda: MOMENT,
    ) as client:
        client.get_sms_send_details(sub_account="77a00000", send_date=MOMENT.date())
    assert sent[0].headers["Authorization"] != sdk_authorization(
        sent[0], AK, SK + "x", "cn-north-1", "volcSMS"
    )


def test_pulled_records_become_receipts() -> None:
    sent: list[httpx.Request] = []
    with Client(
        access_key_id=AK,
        secret_access_key=SK,
        http_client=httpx.Client(transport=recorder(sent)),
        clock=lambda: MOMENT,
    ) as client:
        delivered, failed = client.fetch_receipts(sub_account="77a00000", send_date=MOMENT.date())
    assert (delivered.message_id, delivered.recipient, delivered.status) == (
        "m-1",
        "15200000000",
        DeliveryStatus.DELIVERED,
    )
    assert delivered.completed_at == datetime(2024, 4, 24, 9, 45, 25, 706000, tzinfo=timezone.utc)
    assert (failed.message_id, failed.status, failed.error_code) == (
        "m-2",
        DeliveryStatus.UNDELIVERED,
        "NE:0101",
    )


# -- the push -----------------------------------------------------------------------------


def push_body(*reports: dict[str, object]) -> bytes:
    return json.dumps(list(reports), ensure_ascii=False).encode()


REPORT = {  # the docs' example report (https://www.volcengine.com/docs/6361/171584), unmasked
    "account": "2000000001",
    "sub_account": "15040000",
    "signature": "短信服务",
    "mobile": "18800000000",
    "channel_type": "CN_OTP",
    "service_id": "1069669400000",
    "send_time": 1669171012444,
    "template_id": "SPT_0fa70000",
    "ext": "123456",
    "message_id": "bde1b10d-19cf-460f-abcd-26231a820000",
    "msg_count": 1,
    "status_code": "0",
    "description": "发送成功",
    "recv_time": 1669171015000,
}


def test_push_reports_become_receipts() -> None:
    failed = {**REPORT, "message_id": "m-3", "status_code": "CR:0201", "description": "黑名单拦截"}
    odd = {**REPORT, "message_id": "m-4", "status_code": "XY:9999", "description": "carrier code"}
    system = {**REPORT, "message_id": "m-5", "status_code": "SY:0500", "description": "系统异常"}
    receipts = parse_status_report(
        "POST", "https://example.com/volc", {}, push_body(REPORT, failed, odd, system)
    )
    assert [(r.message_id, r.status, r.error_code) for r in receipts] == [
        ("bde1b10d-19cf-460f-abcd-26231a820000", DeliveryStatus.DELIVERED, "0"),
        ("m-3", DeliveryStatus.REJECTED, "CR:0201"),
        ("m-4", DeliveryStatus.UNDELIVERED, "XY:9999"),  # any other code: not delivered
        ("m-5", DeliveryStatus.FAILED, "SY:0500"),  # a system error (resend), as the page says
    ]
    assert receipts[0].recipient == "18800000000" and receipts[0].client_ref == "123456"
    assert receipts[0].completed_at == datetime(2022, 11, 23, 2, 36, 55, tzinfo=timezone.utc)


@pytest.mark.parametrize("body", [b"{}", b'[{"mobile": "1"}]', b"not json"])
def test_a_malformed_push_is_refused(body: bytes) -> None:
    from dlr_core import MalformedCallback

    with pytest.raises(MalformedCallback):
        parse_status_report("POST", "https://example.com/volc", {}, body)
