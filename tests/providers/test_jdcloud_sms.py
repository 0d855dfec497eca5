"""JD Cloud SMS (specs/jdcloud_sms.yaml): both signatures, against the official SDK, and the
pull's receipts.

- JDCLOUD3-HMAC-SHA256 reproduces the signatures published in jdcloud-api/jdcloud-sdk-python
  https://github.com/jdcloud-api/jdcloud-sdk-python/blob/master/jdcloud_sdk/core/signer_test.py (``SignerTest``: access key ``ak``, secret ``sk``, service
  ``apigatewaytestproductline``, region ``cn-north-1``, GET on
  ``http://apigw-internal-dev.cn-north-1.jcloudcs.com:8000``, headers ``x-jdcloud-date:
  20190917T064708Z``, ``x-jdcloud-nonce: X-Jdcloud-Nonce``, ``content-type: application/json``,
  empty body). The expected values are the test file's literal ``true_sign`` strings.
- JDCLOUD2-HMAC-SHA256 is compared with ``Signer.sign`` of the SDK's signer before JDCLOUD3
  (https://github.com/jdcloud-api/jdcloud-sdk-python/blob/01bd5998ddaf26ffde8d5c03d2c1244b3f959220/jdcloud_sdk/core/signer.py), re-implemented below step
  by step with that file's constants (``JDCLOUD2``, ``jdcloud2_request``), on what the generated
  client sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest

from dlr_core import DeliveryStatus
from dlr_core.request import PreparedRequest
from dlr_core.signing import Signer
from dlr_jdcloud_sms import API, AsyncClient, Client

SDK_HOST = "http://apigw-internal-dev.cn-north-1.jcloudcs.com:8000"
SDK_MOMENT = datetime(2019, 9, 17, 6, 47, 8, tzinfo=timezone.utc)
SDK_VARIABLES = {
    "access_key_id": "ak",
    "secret_access_key": "sk",
    "service": "apigatewaytestproductline",
    "region": "cn-north-1",
    "action": "",
    "api_version": "v1",
}
SDK_PREFIX = (
    "JDCLOUD3-HMAC-SHA256 Credential=ak/20190917/cn-north-1/apigatewaytestproductline/jdcloud3_request, "
    "SignedHeaders=content-type;host;x-jdcloud-date;x-jdcloud-nonce, Signature="
)


def sign_sdk_case(path: str, query: list[tuple[str, str]], nonce: str) -> PreparedRequest:
    request = PreparedRequest(
        "GET", SDK_HOST, path, query=query, headers={"content-type": "application/json"}
    )
    Signer(
        API.auth_schemes["jdcloud3"],
        SDK_VARIABLES,
        clock=lambda: SDK_MOMENT,
        nonce=lambda: nonce,
    ).sign(request)
    return request


@pytest.mark.parametrize(
    ("case", "path", "query", "nonce", "signature"),
    [
        (
            "testSign_path_null",  # '' is signed as '/'
            "/",
            [],
            "X-Jdcloud-Nonce",
            "44c5ec30b6185516986ae171d8276552bc0f37f6a536a44e4f578958fc1c12be",
        ),
        (
            "testSign_path_nullSlashes",  # 'v1' is signed as '/v1'
            "/v1",
            [],
            "X-Jdcloud-Nonce",
            "92cd3ed582c13af58b4c81ddad150c350e656c6cc9e78ec154d7385e499b91b6",
        ),
        (
            "testSign_path_endSlashes",  # 'v1/' is signed as '/v1/'
            "/v1/",
            [],
            "X-Jdcloud-Nonce",
            "035689ae2ce6a3603928ac3d60a6d2fbfb550d33c5da983342a6356419ccd914",
        ),
        (
            "testSign_path_chineseCharacters",
            "/v1/regions/cn-north-1/instances/中文:GET",
            [],
            "X-Jdcloud-Nonce",
            "936ed2dcb6fb4271ad640e0f46f1fe61763a0bad8bb4f4eb1224261f969612fa",
        ),
        (
            "testSign_query_chinese",
            "/v1/regions/cn-north-1/instances",
            [("中文参数", "中文参数值")],
            "X-Jdcloud-Nonce",
            "7e3094d23adde49fcc99b7d0de911d7ecaa7767590edd57769d7bdbaca919276",
        ),
        (
            "testSign_head_one_blank",  # the header's value is trimmed, inner spaces kept
            "/v1/regions/cn-north-1/instances",
            [],
            " X-Jdcloud- -Nonce ",
            "5d955d1de475eac2b4378473ca0adce8fddd13f45d2be53bc2ffb6eee6450ba4",
        ),
        (
            "testSign_head_special_characters0",
            "/v1/regions/cn-north-1/instances",
            [],
            "/`!@#$%^&*()=+/0123456789/[]\\;',<>?:\"{}|/abcdefghijklmnopqrstuvwxyz/"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ/-_.~",
            "9046b11889b993a808fccf1322f7f04e7e5a7e0cc22d8b65e9986a8aab986ad7",
        ),
    ],
)
def test_jdcloud3_reproduces_the_sdk_published_signatures(
    case: str, path: str, query: list[tuple[str, str]], nonce: str, signature: str
) -> None:
    """jdcloud-sdk-python jdcloud_sdk/core/signer_test.py, SignerTest.<case>: the spec's
    jdcloud3 scheme gives the test's literal Authorization."""
    request = sign_sdk_case(path, query, nonce)
    assert request.headers["Authorization"] == SDK_PREFIX + signature, case


def test_a_changed_byte_changes_the_published_signature() -> None:
    request = sign_sdk_case("/v2", [], "X-Jdcloud-Nonce")
    assert (
        request.headers["Authorization"]
        != SDK_PREFIX + "92cd3ed582c13af58b4c81ddad150c350e656c6cc9e78ec154d7385e499b91b6"
    )


# -- the SDK's signer, re-implemented for the client's requests -----------------------------


def sdk_authorization(request: httpx.Request, ak: str, sk: str, version: int) -> str:
    """jdcloud_sdk/core/signer.py for a request with no query string: ``Signer.sign`` of its
    earlier version (version 2: JDCLOUD2, the path through util.quote, header values as
    they are) or ``Signer.signV3`` (version 3: JDCLOUD3, the path quoted keeping '/' and '~',
    header values stripped). The date and nonce are the request's own headers."""
    prefix, terminator = f"JDCLOUD{version}", f"jdcloud{version}_request"
    jdcloud_date = request.headers["x-jdcloud-date"]
    datestamp = jdcloud_date[:8]
    canonical_uri = quote(request.url.path) if version == 2 else quote(request.url.path, safe="/~")
    # __build_canonical_headers: 'host' first, then every header but authorization and
    # user-agent as the SDK holds them when signing (content-type, x-jdcloud-date,
    # x-jdcloud-nonce), sorted; the host's line is 'host:' + the host.
    signed = {k: request.headers[k] for k in ("content-type", "x-jdcloud-date", "x-jdcloud-nonce")}
    if version == 3:
        signed = {k: v.strip() for k, v in signed.items()}
    names = sorted(["host", *signed])
    signed_headers = ";".join(names)
    canonical_headers = (
        "\n".join(f"host:{request.url.host}" if k == "host" else f"{k}:{signed[k]}" for k in names) + "\n"
    )
    payload_hash = hashlib.sha256(request.content).hexdigest()
    canonical_request = (
        f"{request.method}\n{canonical_uri}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    )
    credential_scope = f"{datestamp}/cn-north-1/sms/{terminator}"
    string_to_sign = (
        f"{prefix}-HMAC-SHA256\n{jdcloud_date}\n{credential_scope}\n"
        f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    )
    key = (prefix + sk).encode("utf-8")  # __get_signature_key: each step is __sign
    for part in (datestamp, "cn-north-1", "sms", terminator):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{prefix}-HMAC-SHA256 Credential={ak}/{credential_scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


AK = "JDC_0123456789ABCDEF0123456789AB"
SK = "0123456789ABCDEF0123456789ABCDEF"
MOMENT = datetime(2024, 5, 8, 2, 18, 20, tzinfo=timezone.utc)
NONCE = "ed558a3b-9808-4edb-8597-187bda63a4f2"

ANSWER: dict[str, Any] = {
    "requestId": "c2oe5ldkbmqcn0t0qnutcpw3s5rh9w1n",
    "result": {
        "status": True,
        "data": [
            {
                "phoneNum": "13800000000",
                "sequenceNumber": "seq-1",
                "sendTime": "2024-05-08 10:18:20",
                "reportTime": "2024-05-08 10:18:24",
                "status": 1,
                "code": "DELIVRD",
                "splitNum": 1,
            }
        ],
    },
}


def recorder(sent: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ANSWER)

    return httpx.MockTransport(answer)


def test_jdcloud2_matches_the_sdk_signer() -> None:
    """The pre-JDCLOUD3 jdcloud_sdk/core/signer.py (Signer.sign), re-implemented above."""
    sent: list[httpx.Request] = []
    with Client(
        access_key_id=AK,
        secret_access_key=SK,
        auth_scheme="jdcloud2",
        http_client=httpx.Client(transport=recorder(sent)),
        clock=lambda: MOMENT,
        nonce=lambda: NONCE,
    ) as client:
        client.status_report(sequence_number="seq-1", phone_list=["13800000000"])
    [request] = sent
    assert request.url.path == "/v1/regions/cn-north-1/statusReport"
    assert json.loads(request.content) == {"sequenceNumber": "seq-1", "phoneList": ["13800000000"]}
    assert request.headers["x-jdcloud-nonce"] == NONCE
    assert request.headers["Authorization"] == sdk_authorization(request, AK, SK, 2)
    assert request.headers["Authorization"] != sdk_authorization(request, AK, SK + "0", 2)


def test_jdcloud3_client_request_matches_the_sdk_signer_async() -> None:
    """The async client's default scheme signs its request as signer.py's signV3 does."""
    sent: list[httpx.Request] = []

    async def main() -> None:
        async with AsyncClient(
            access_key_id=AK,
            secret_access_key=SK,
            http_client=httpx.AsyncClient(transport=recorder(sent)),
            clock=lambda: MOMENT,
            nonce=lambda: NONCE,
        ) as client:
            await client.status_report(sequence_number="seq-1")

    anyio.run(main)
    [request] = sent
    assert request.headers["Authorization"] == sdk_authorization(request, AK, SK, 3)
    assert request.headers["x-jdcloud-content-sha256"] == hashlib.sha256(request.content).hexdigest()


# -- receipts --------------------------------------------------------------------------------


def test_reports_become_receipts_with_the_status_kept_raw() -> None:
    """JD Cloud lists no values for status or code: the receipt's status is unknown and both
    raw values are kept."""
    sent: list[httpx.Request] = []
    with Client(
        access_key_id=AK,
        secret_access_key=SK,
        http_client=httpx.Client(transport=recorder(sent)),
        clock=lambda: MOMENT,
    ) as client:
        [receipt] = client.fetch_receipts(sequence_number="seq-1", phone_list=["13800000000"])
    assert (receipt.message_id, receipt.recipient) == ("seq-1", "13800000000")
    assert receipt.status is DeliveryStatus.UNKNOWN
    assert (receipt.error_code, receipt.details["send_status"]) == ("DELIVRD", 1)
    assert receipt.completed_at == datetime(2024, 5, 8, 2, 18, 24, tzinfo=timezone.utc)
