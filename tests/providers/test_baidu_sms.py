"""Baidu AI Cloud SMS (specs/baidu_sms.yaml): bce-auth-v1 against Baidu's published worked
example and the official SDK's signer, the statistics pull and the signed status callback.

- The worked example of "Generate Authentication String"
  (https://intl.cloud.baidu.com/doc/Reference/s/njwvz1yfu-en; its Authorization header is
  printed in https://intl.cloud.baidu.com/doc/Reference/s/Gjwvz1xez-en): AK 32 x ``a``, SK
  32 x ``b``, ``PUT /v1/test/myfolder/readme.txt?partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851``
  on ``bj.bcebos.com`` at 2015-04-27T08:23:49Z with Content-Type, Content-Length and
  Content-Md5; its signature is the literal ``d74a0436...e2999e``.
- The client's own requests are compared with baidubce/bce-sdk-python
  ``baidubce/auth/bce_v1_signer.py`` (``sign``, ``_get_canonical_headers``) as
  ``baidubce/services/sms/sms_client.py`` (``_bce_sms_sign``) calls it, re-implemented below
  step by step.
- The status callback's signature is the formula of https://cloud.baidu.com/doc/SMS/s/Fkijy9cdv
  (md5(token + timestamp + body), no SDK verifies it), computed here independently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote

import anyio
import httpx
import pytest

from dlr_core import CallbackSignatureError, DeliveryStatus, StaleCallback
from dlr_core.request import PreparedRequest
from dlr_core.signing import Signer
from dlr_baidu_sms import API, AsyncClient, Client
from dlr_baidu_sms.callbacks import parse_status_report

EXAMPLE_SIGNATURE = "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e"


def test_bce_auth_v1_reproduces_the_published_example() -> None:
    """The worked example: the spec's scheme signs it to the published signature. Baidu's
    header leaves signedHeaders empty ("//"), meaning the default set host, content-length,
    content-md5, content-type and x-bce-*; the spec lists that same set explicitly."""
    request = PreparedRequest(
        "PUT",
        "http://bj.bcebos.com",
        "/v1/test/myfolder/readme.txt",
        query=[("partNumber", "9"), ("uploadId", "a44cc9bab11cbd156984767aad637851")],
        headers={
            "Date": "Mon, 27 Apr 2015 16:23:49 +0800",
            "Content-Type": "text/plain",
            "Content-Length": "8",
            "Content-Md5": "NFzcPqhviddjRNnSOGo4rw==",
        },
    )
    moment = datetime(2015, 4, 27, 8, 23, 49, tzinfo=timezone.utc)
    values = Signer(
        API.auth_schemes["bce_auth_v1"],
        {"access_key_id": "a" * 32, "secret_access_key": "b" * 32, "action": "", "api_version": ""},
        clock=lambda: moment,
    ).sign(request)
    assert request.headers["x-bce-date"] == "2015-04-27T08:23:49Z"
    assert values["signature"] == EXAMPLE_SIGNATURE
    assert request.headers["Authorization"] == (
        f"bce-auth-v1/{'a' * 32}/2015-04-27T08:23:49Z/1800/"
        f"content-length;content-md5;content-type;host;x-bce-date/{EXAMPLE_SIGNATURE}"
    )


# -- the SDK's signer, re-implemented -----------------------------------------------------


def normalize(text: str, encode_slash: bool = True) -> str:
    """baidubce.utils.normalize_string: RFC 3986, only A-Z a-z 0-9 - _ . ~ kept ('/' too when
    encode_slash is false)."""
    return quote(text, safe="-_.~" if encode_slash else "-_.~/")


def sdk_authorization(request: httpx.Request, ak: str, sk: str) -> str:
    """sms_client._bce_sms_sign then bce_v1_signer.sign, on the request as sent (its
    x-bce-date is the timestamp; 1800 s, the default expiration)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    # _bce_sms_sign: host, content-md5, content-length, content-type and x-bce-*, sorted.
    # httpx adds content-length after signing a body; a GET has none.
    headers_to_sign = sorted(
        k
        for k in headers
        if k.startswith("x-bce-") or k in ("host", "content-md5", "content-length", "content-type")
    )
    timestamp = headers["x-bce-date"]  # utils.get_canonical_time
    sign_key_info = f"bce-auth-v1/{ak}/{timestamp}/1800"
    sign_key = hmac.new(sk.encode(), sign_key_info.encode(), hashlib.sha256).hexdigest()
    canonical_uri = normalize(request.url.path, encode_slash=False)
    params = parse_qsl(request.url.query.decode(), keep_blank_values=True)
    # utils.get_canonical_querystring(params, True): encoded k=v, sorted, joined by &
    canonical_querystring = "&".join(sorted(f"{normalize(k)}={normalize(v)}" for k, v in params))
    # _get_canonical_headers: normalize(name):normalize(stripped value), sorted, joined by \n
    canonical_headers = "\n".join(
        sorted(f"{normalize(k)}:{normalize(headers[k].strip())}" for k in headers if k in headers_to_sign)
    )
    string_to_sign = "\n".join([request.method, canonical_uri, canonical_querystring, canonical_headers])
    sign_result = hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{sign_key_info}/{';'.join(headers_to_sign)}/{sign_result}"


AK = "0123456789abcdef0123456789abcdef"
SK = "fedcba9876543210fedcba9876543210"
MOMENT = datetime(2023, 10, 31, 2, 0, 5, tzinfo=timezone.utc)
ANSWER = {
    "statisticsResults": [
        {"datetime": "合计", "submitCount": "100", "deliverSuccessCount": "99", "deliverFailureCount": "1"},
        {
            "datetime": "2023-10-30",
            "submitCount": "100",
            "deliverSuccessCount": "99",
            "deliverFailureCount": "1",
        },
    ]
}


def recorder(sent: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ANSWER)

    return httpx.MockTransport(answer)


def check(request: httpx.Request) -> None:
    assert request.url.host == "smsv3.bj.baidubce.com" and request.url.path == "/sms/v3/summary"
    assert dict(request.url.params)["startTime"] == "2023-10-30 00:00:00"  # space and colons, encoded
    assert request.headers["x-bce-date"] == "2023-10-31T02:00:05Z"
    assert request.headers["Authorization"] == sdk_authorization(request, AK, SK)
    assert request.headers["Authorization"] != sdk_authorization(request, AK, SK[:-1] + "1")


def test_client_request_matches_the_sdk_signer() -> None:
    sent: list[httpx.Request] = []
    with Client(
        access_key_id=AK,
        secret_access_key=SK,
        http_client=httpx.Client(transport=recorder(sent)),
        clock=lambda: MOMENT,
    ) as client:
        result = client.list_statistics(start_time="2023-10-30 00:00:00", end_time="2023-10-30 23:59:59")
    [request] = sent
    check(request)
    assert dict(request.url.params)["dimension"] == "day"
    assert [row.day for row in result.rows or []] == ["合计", "2023-10-30"]


def test_client_request_matches_the_sdk_signer_async() -> None:
    sent: list[httpx.Request] = []

    async def main() -> None:
        async with AsyncClient(
            access_key_id=AK,
            secret_access_key=SK,
            http_client=httpx.AsyncClient(transport=recorder(sent)),
            clock=lambda: MOMENT,
        ) as client:
            await client.list_statistics(
                start_time="2023-10-30 00:00:00", end_time="2023-10-30 23:59:59", signature_id="sms-sign-1"
            )

    anyio.run(main)
    [request] = sent
    check(request)
    assert dict(request.url.params)["signatureId"] == "sms-sign-1"


# -- the status callback ----------------------------------------------------------------------

TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"  # the account's callback token
REPORT = {  # the fields of https://cloud.baidu.com/doc/SMS/s/Fkijy9cdv
    "code": "0",
    "requestId": "5e6dacd5-8815-4183-8255-4ff079bf24e6",
    "messageId": "e325ea68-02c1-47ad-8844-c7b93cafaeba_13800138000",
    "mobile": "13800138000",
    "carrierCode": "DELIVRD",
    "custom": "order-7",
    "attemptCount": 1,
    "segmentCount": 1,
    "deliverTime": "2020-08-13T12:13:30Z",
    "requestTime": "2020-08-13T12:13:28Z",
}


def signed_push(report: dict[str, object], at: datetime, token: str = TOKEN) -> tuple[dict[str, str], bytes]:
    body = json.dumps(report, ensure_ascii=False).encode()
    timestamp = str(int(at.timestamp() * 1000))
    # the documented algorithm: md5(token + timestamp + body), hex
    signature = hashlib.md5(token.encode() + timestamp.encode() + body).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "requestId": "71bdbef0ac88"}, body


PUSHED_AT = datetime(2020, 8, 13, 12, 13, 32, tzinfo=timezone.utc)


def parse(headers: dict[str, str], body: bytes, now: datetime = PUSHED_AT) -> list:  # type: ignore[type-arg]
    return parse_status_report(
        "POST", "https://example.com/baidu", headers, body, callback_token=TOKEN, clock=lambda: now
    )


def test_status_callback_signature_is_md5_of_token_timestamp_body() -> None:
    headers, body = signed_push(REPORT, PUSHED_AT)
    [receipt] = parse(headers, body)
    assert (receipt.message_id, receipt.recipient, receipt.status) == (
        REPORT["messageId"],
        "13800138000",
        DeliveryStatus.DELIVERED,
    )
    assert (receipt.error_code, receipt.client_ref) == ("DELIVRD", "order-7")
    assert receipt.completed_at == datetime(2020, 8, 13, 12, 13, 30, tzinfo=timezone.utc)


def test_a_failed_report() -> None:
    headers, body = signed_push({**REPORT, "code": "2", "carrierCode": "MK:0001"}, PUSHED_AT)
    [receipt] = parse(headers, body)
    assert (receipt.status, receipt.error_code) == (DeliveryStatus.UNDELIVERED, "MK:0001")


@pytest.mark.parametrize("tamper", ["body", "token", "signature"])
def test_a_wrong_signature_is_refused(tamper: str) -> None:
    headers, body = signed_push(REPORT, PUSHED_AT, token="other" if tamper == "token" else TOKEN)
    if tamper == "body":
        body = body.replace(b"13800138000", b"13800138001")
    if tamper == "signature":
        headers["signature"] = headers["signature"].upper()[:-1] + "0"
    with pytest.raises(CallbackSignatureError):
        parse(headers, body)


def test_a_stale_push_is_refused() -> None:
    headers, body = signed_push(REPORT, PUSHED_AT)
    with pytest.raises(StaleCallback):
        parse(headers, body, now=PUSHED_AT + timedelta(hours=2))
