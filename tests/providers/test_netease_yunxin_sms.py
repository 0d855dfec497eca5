"""NetEase Yunxin SMS (specs/netease_yunxin_sms.yaml): its CheckSum header, re-implemented here
from the official Java server SDK and compared with what the generated client sends; the
querystatus receipts of the docs' example answer; its error codes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from tests.conftest import call_client

import dlr_netease_yunxin_sms
from dlr_core import DeliveryStatus, InvalidRequest, PermissionDenied, ProviderError, RateLimited

APP_KEY = "go9dnk49bkd9jd9vmel1kglw0803mgq3"  # the docs' example AppKey
APP_SECRET = "5d8a6c7f3b2e"
NONCE = "0f2b9e6a4c1d4e7f8a3b5c6d7e8f9a0b"  # a UUID without dashes, as the SDK's nonce
NOW = datetime(2026, 12, 7, 16, 0, 0, tzinfo=timezone.utc)
EXAMPLE = {"code": 200, "obj": [{"status": 1, "mobile": "13812341234", "updatetime": 1471234567812}]}

# CheckSumBuilder.HEX_DIGITS of the SDK.
HEX_DIGITS = "0123456789abcdef"


def java_sdk_check_sum(app_secret: str, nonce: str, cur_time: str) -> str:
    """NetEase Yunxin's official Java server SDK,
    https://github.com/netease-im/yunxin-server-sdk-java/blob/master/src/main/java/com/netease/nim/server/sdk/core/utils/CheckSumBuilder.java
    (getCheckSum), step by step: ``encode("sha1", appSecret + nonce + curTime)`` digests the
    string's bytes (``value.getBytes()``, UTF-8 for these ASCII values) with
    ``MessageDigest.getInstance("sha1")``, and ``getFormattedText`` writes each byte as two
    characters of ``HEX_DIGITS``, high nibble ``(b >> 4) & 0x0f`` first, then ``b & 0x0f``."""
    value = app_secret + nonce + cur_time
    digest = hashlib.sha1(value.encode("utf-8")).digest()
    text = []
    for byte in digest:
        text.append(HEX_DIGITS[(byte >> 4) & 0x0F])
        text.append(HEX_DIGITS[byte & 0x0F])
    return "".join(text)


def recording(answer: dict[str, Any], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return handle


def client_of(mode: str, seen: list[httpx.Request], answer: dict[str, Any], **options: Any) -> Any:
    transport = httpx.MockTransport(recording(answer, seen))
    common: dict[str, Any] = dict(
        app_key=APP_KEY, app_secret=APP_SECRET, clock=lambda: NOW, nonce=lambda: NONCE, **options
    )
    if mode == "sync":
        return dlr_netease_yunxin_sms.Client(http_client=httpx.Client(transport=transport), **common)
    return dlr_netease_yunxin_sms.AsyncClient(http_client=httpx.AsyncClient(transport=transport), **common)


def test_checksum_follows_the_java_sdk(mode: str) -> None:
    """The headers YunxinHttpClient.addHeaders sends (AppKey, Nonce, CurTime in Unix seconds,
    CheckSum), the CheckSum as CheckSumBuilder.getCheckSum computes it
    (https://github.com/netease-im/yunxin-server-sdk-java/blob/master/src/main/java/com/netease/nim/server/sdk/core/utils/CheckSumBuilder.java);
    proven for both the sync and the async client."""
    seen: list[httpx.Request] = []
    call_client(mode, client_of(mode, seen, EXAMPLE), "query_status", sendid="123")
    (request,) = seen
    assert request.method == "POST"
    assert request.url == "https://api.netease.im/sms/querystatus.action"
    assert dict(parse_qsl(request.content.decode())) == {"sendid": "123"}
    assert request.headers["AppKey"] == APP_KEY
    assert request.headers["Nonce"] == NONCE
    assert request.headers["CurTime"] == "1796659200" == str(int(NOW.timestamp()))
    assert request.headers["CheckSum"] == java_sdk_check_sum(APP_SECRET, NONCE, "1796659200")
    # The reference itself: sha1 hex, lower case, of the three strings in this order only.
    assert request.headers["CheckSum"] != java_sdk_check_sum(APP_SECRET, "1796659200", NONCE)
    assert request.headers["CheckSum"] != java_sdk_check_sum(APP_SECRET + "x", NONCE, "1796659200")
    assert APP_SECRET not in str(request.headers) and APP_SECRET not in request.content.decode()


def test_the_default_nonce_is_fresh_and_signed(mode: str) -> None:
    """Without an injected nonce the client makes a random one per request (32 hex
    characters, as the SDK's dashless UUID), and the CheckSum covers the one sent."""
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(recording(EXAMPLE, seen))
    if mode == "sync":
        client: Any = dlr_netease_yunxin_sms.Client(
            app_key=APP_KEY, app_secret=APP_SECRET, http_client=httpx.Client(transport=transport)
        )
    else:
        client = dlr_netease_yunxin_sms.AsyncClient(
            app_key=APP_KEY, app_secret=APP_SECRET, http_client=httpx.AsyncClient(transport=transport)
        )
    call_client(mode, client, "query_status", sendid="1")
    headers = seen[0].headers
    assert len(headers["Nonce"]) == 32 and set(headers["Nonce"]) <= set(HEX_DIGITS)
    assert headers["CheckSum"] == java_sdk_check_sum(APP_SECRET, headers["Nonce"], headers["CurTime"])


def test_the_sdk_host_is_a_server_choice(mode: str) -> None:
    """sms.yunxinapi.com/sms, the SDK's Constants.Endpoint.SMS.CN.DEFAULT and the docs' host."""
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, EXAMPLE, server="yunxinapi")
    call_client(mode, client, "query_status", sendid="7")
    assert seen[0].url == "https://sms.yunxinapi.com/sms/querystatus.action"


def test_receipts_from_the_docs_example(mode: str) -> None:
    """The docs' answer: status 1 (submitted to the channel) is `sent`, never `delivered`;
    updatetime is milliseconds; the message id is the send id asked for."""
    seen: list[httpx.Request] = []
    receipts = call_client(mode, client_of(mode, seen, EXAMPLE), "fetch_receipts", sendid="123")
    (receipt,) = receipts
    assert receipt.message_id == "123" and receipt.recipient == "13812341234"
    assert receipt.status is DeliveryStatus.SENT
    assert receipt.completed_at == datetime(2016, 8, 15, 4, 16, 7, 812000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        (0, DeliveryStatus.QUEUED),
        (1, DeliveryStatus.SENT),
        (2, DeliveryStatus.FAILED),
        (3, DeliveryStatus.REJECTED),
        (9, DeliveryStatus.UNKNOWN),
    ],
)
def test_each_documented_status(mode: str, status: int, canonical: DeliveryStatus) -> None:
    """0 未发送, 1 发送成功（提交通道成功）, 2 发送失败（提交通道失败）, 3 反垃圾; an
    undocumented value maps to unknown and keeps its raw value."""
    answer = {"code": 200, "obj": [{"status": status, "mobile": "1", "updatetime": 1471234567812}]}
    seen: list[httpx.Request] = []
    (receipt,) = call_client(mode, client_of(mode, seen, answer), "fetch_receipts", sendid="5")
    assert receipt.status is canonical


@pytest.mark.parametrize(
    ("code", "error"),
    [(414, InvalidRequest), (403, PermissionDenied), (416, RateLimited), (500, ProviderError)],
)
def test_error_codes_are_typed_errors(mode: str, code: int, error: type[Exception]) -> None:
    """A `code` other than 200 (with HTTP 200) raises the documented kind, keeping the code and
    msg, never the AppSecret."""
    seen: list[httpx.Request] = []
    client = client_of(mode, seen, {"code": code, "msg": "bad sendid"})
    with pytest.raises(error) as caught:
        call_client(mode, client, "query_status", sendid="1")
    assert str(code) in str(caught.value) and APP_SECRET not in str(caught.value)
    assert APP_SECRET not in repr(caught.value)


def test_the_mock_accepts_the_checksum(dlr_mock: Any, mode: str) -> None:
    """The generated client's signed request is accepted by the in-process mock (which
    re-signs it from the spec)."""
    mock = dlr_mock(dlr_netease_yunxin_sms.API, {"app_key": APP_KEY, "app_secret": APP_SECRET})
    cls = dlr_netease_yunxin_sms.Client if mode == "sync" else dlr_netease_yunxin_sms.AsyncClient
    receipts = call_client(mode, mock.client(cls), "fetch_receipts", sendid="123")
    assert receipts and mock.requests[0].authenticated
