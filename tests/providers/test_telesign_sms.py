"""Telesign SMS (specs/telesign_sms.yaml): the status query is signed as Telesign's Python
SDK signs a request (TSA, HMAC-SHA256), the delivery reports Telesign pushes verify as its
callback documentation says, every documented status code maps to its canonical meaning,
and the error list of an answer ("errors": [{"code": -30006, ...}]) gives the typed error.

The expected signatures are never dlrgen's: the SDK's algorithm re-implemented here step by
step (``sdk_authorization``), itself checked against the SDK's own literal test vector."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

import dlr_telesign_sms
from tests.conftest import call_client
from dlr_core import AuthenticationError, CallbackSignatureError, ClockSkew, DeliveryStatus
from dlr_core.testing import MockTransport
from dlr_telesign_sms.callbacks import DELIVERY_REPORT, parse_delivery_report

CUSTOMER_ID = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
# The authenticate-callbacks page's example API key (base64).
API_KEY = "ABC12345yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw=="
CREDENTIALS = {"customer_id": CUSTOMER_ID, "api_key": API_KEY}
REFERENCE_ID = "0123456789ABCDEF0123456789ABCDEF"


def sdk_authorization(
    customer_id: str, api_key: str, method: str, resource: str, fields: str, date: str, nonce: str
) -> str:
    """TeleSign/python_telesign telesign/rest.py, RestClient.generate_telesign_headers, HMAC
    branch, step by step: the content type is empty unless the method is POST or PUT; the
    string to sign is the method, "\\n" + content type, "\\n" + date,
    "\\nx-ts-auth-method:HMAC-SHA256", "\\nx-ts-nonce:" + nonce, the url-encoded fields only
    with a content type, and "\\n" + resource; the key is the base64-decoded API key (the
    SDK's b64decode, which skips characters outside the alphabet)."""
    content_type = "application/x-www-form-urlencoded" if method in ("POST", "PUT") else ""
    parts = [
        method,
        "\n" + content_type,
        "\n" + date,
        "\nx-ts-auth-method:HMAC-SHA256",
        "\nx-ts-nonce:" + nonce,
    ]
    if content_type and fields:
        parts.append("\n" + fields)
    parts.append("\n" + resource)
    digest = hmac.new(base64.b64decode(api_key), "".join(parts).encode("utf-8"), hashlib.sha256).digest()
    return f"TSA {customer_id}:{base64.b64encode(digest).decode('utf-8')}"


def _client(mock: MockTransport, mode: str, **options: Any) -> Any:
    cls = dlr_telesign_sms.Client if mode == "sync" else dlr_telesign_sms.AsyncClient
    return mock.client(cls, **options)


# -- request signing ---------------------------------------------------------------------------


def test_the_sdk_algorithm_reproduces_the_sdks_literal_vectors() -> None:
    """tests/test_rest.py of python_telesign: test_generate_telesign_headers_with_get and
    _with_post (the SDK's example customer id and key, at Wed, 14 Dec 2016 18:20:12 GMT)."""
    key = "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw=="
    date, nonce = "Wed, 14 Dec 2016 18:20:12 GMT", "A1592C6F-E384-4CDB-BC42-C3AB970369E9"
    assert sdk_authorization(CUSTOMER_ID, key, "GET", "/v1/resource", "", date, nonce) == (
        f"TSA {CUSTOMER_ID}:aUm7I+9GKl3ww7PNeeJntCT0iS7b+EmRKEE4LnRzChQ="
    )
    assert sdk_authorization(CUSTOMER_ID, key, "POST", "/v1/resource", "test=param", date, nonce) == (
        f"TSA {CUSTOMER_ID}:2xVlmbrxLjYrrPun3G3WMNG6Jon4yKcTeOoK9DjXJ/Q="
    )


def test_status_query_is_signed_as_the_python_sdk_signs(mode: str) -> None:
    """The client's Authorization is the one https://github.com/TeleSign/python_telesign/blob/efdf977f2e12d6c86c9a1c0216404ecd85782afa/telesign/rest.py
    (RestClient.generate_telesign_headers) makes for the same GET, Date and nonce; the Date
    is an RFC 7231 date and the nonce a UUID, as the SDK sends them."""
    mock = MockTransport(dlr_telesign_sms.API, CREDENTIALS)
    client = _client(mock, mode, **CREDENTIALS)
    [receipt] = call_client(mode, client, "fetch_receipts", reference_id=REFERENCE_ID)
    [request] = mock.requests
    resource = f"/v1/messaging/{REFERENCE_ID}"
    assert request.method == "GET" and request.path == resource and request.body == b""
    date, nonce = request.headers["date"], request.headers["x-ts-nonce"]
    assert date.endswith(" GMT") and parsedate_to_datetime(date).tzinfo is not None
    assert len(nonce) == 36 and nonce.count("-") == 4
    assert request.headers["x-ts-auth-method"] == "HMAC-SHA256"
    expected = sdk_authorization(CUSTOMER_ID, API_KEY, "GET", resource, "", date, nonce)
    assert request.headers["authorization"] == expected
    assert request.authenticated
    # The documented report: 200, delivered to the handset.
    assert receipt.message_id == REFERENCE_ID
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.details["parts"] == 2


def test_basic_auth_is_the_customer_id_and_api_key(mode: str) -> None:
    mock = MockTransport(dlr_telesign_sms.API, CREDENTIALS)
    client = _client(mock, mode, auth_scheme="basic", **CREDENTIALS)
    call_client(mode, client, "get_message_status", reference_id=REFERENCE_ID)
    expected = base64.b64encode(f"{CUSTOMER_ID}:{API_KEY}".encode()).decode()
    assert mock.requests[0].headers["authorization"] == f"Basic {expected}"


def test_the_first_error_of_the_answer_gives_the_typed_error(mode: str) -> None:
    """Telesign's failed answer: status 501 Not authorized, errors [-30006 Invalid Signature]."""
    body = {
        "reference_id": REFERENCE_ID,
        "status": {"code": 501, "description": "Not authorized", "updated_on": "2016-10-25T12:33:45.420798Z"},
        "errors": [{"code": -30006, "description": "Invalid Signature"}],
    }
    scenario = {"get_message_status": [{"status": 401, "body": body}]}
    mock = MockTransport(dlr_telesign_sms.API, CREDENTIALS, scenario=scenario)
    client = _client(mock, mode, **CREDENTIALS)
    with pytest.raises(AuthenticationError) as caught:
        call_client(mode, client, "get_message_status", reference_id=REFERENCE_ID)
    assert caught.value.code == "-30006" and "Invalid Signature" in str(caught.value)
    assert caught.value.request_id == REFERENCE_ID


def test_the_mocks_error_answer_lists_its_error_as_telesign_does(mode: str) -> None:
    mock = MockTransport(
        dlr_telesign_sms.API, CREDENTIALS, scenario={"get_message_status": [{"error": -30010}]}
    )
    client = _client(mock, mode, **CREDENTIALS)
    with pytest.raises(ClockSkew) as caught:
        call_client(mode, client, "get_message_status", reference_id=REFERENCE_ID)
    assert json.loads(caught.value.raw_body)["errors"][0]["code"] == -30010


# -- pushed delivery reports -------------------------------------------------------------------

# The "Success" callback of https://developer.telesign.com/enterprise/docs/sms-callback-service.
REPORT = json.dumps(
    {
        "status": {
            "code": 200,
            "description": "Delivered to handset",
            "updated_on": "2016-10-21T14:05:36.181346Z",
        },
        "additional_info": {
            "mcc": "310",
            "mnc": "004",
            "price": "0.01",
            "currency": "USD",
            "message_parts_count": 2,
            "message_parts_reference_ids": "35E63E88CB000E049196AD1CFCFFB89C,35E63E88CC7C050491613443467F3F12",
        },
        "reference_id": "0123456789ABCDEF0123456789ABCDEF",
    },
    indent=2,
).encode()
URL = "https://backend.example.com/telesign/callbacks"


def docs_callback_authorization(customer_id: str, api_key: str, body: bytes) -> str:
    """https://developer.telesign.com/enterprise/docs/authenticate-callbacks, its steps in
    order: the body as UTF-8 text is the string to sign; the API key base64-decoded; an HMAC
    with auth_method HMAC-SHA256 (the page's hmac.new(decoded_api_key,
    encoded_string_to_sign, digestmod=auth_method)); its digest base64-encoded is the
    signature, sent as TSA {customer_id}:{signature}."""
    string_to_sign = body.decode("utf-8").encode("utf-8")
    digest = hmac.new(base64.b64decode(api_key), string_to_sign, digestmod="sha256").digest()
    return f"TSA {customer_id}:{base64.b64encode(digest).decode()}"


def sample_code_verify_post(api_key: str, headers: dict[str, str], body: bytes) -> bool:
    """Telesign's own check, Main.verifyPOST of TeleSign/sample_code
    java/webhooks/shared/authenticate_ts_request.java, step by step: the API key
    base64-decoded is the HmacSHA256 key; the Authorization header split on " " and ":"
    gives the base64 signature as its third part; the body's MAC must equal it."""
    given = base64.b64decode(re.split("[ :]", headers["Authorization"])[2])
    expected = hmac.new(base64.b64decode(api_key), body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


def test_a_delivery_report_signed_as_the_docs_say_verifies() -> None:
    """The page's example Customer ID and API key sign the documented report as
    https://developer.telesign.com/enterprise/docs/authenticate-callbacks says, and
    Telesign's own check accepts it (https://github.com/TeleSign/sample_code/blob/a1cbd8e4656c2f00780b8066a9b736e92b66dfc7/java/webhooks/shared/authenticate_ts_request.java, Main.verifyPOST, re-implemented above); so does
    the spec's, which reads the report (delivered, two parts), and signs a push (the mock's)
    the same way."""
    headers = {"Authorization": docs_callback_authorization(CUSTOMER_ID, API_KEY, REPORT)}
    assert sample_code_verify_post(API_KEY, headers, REPORT)
    assert not sample_code_verify_post(API_KEY, headers, REPORT + b" ")
    headers["X-TS-Authorization"] = headers["Authorization"]
    [receipt] = parse_delivery_report("POST", URL, headers, REPORT, **CREDENTIALS)
    assert receipt.message_id == REFERENCE_ID
    assert receipt.status is DeliveryStatus.DELIVERED
    assert receipt.details == {"sub_resource": None, "parts": 2}
    assert (
        DELIVERY_REPORT.sign(URL, REPORT, credentials=CREDENTIALS)["Authorization"]
        == headers["Authorization"]
    )


@pytest.mark.parametrize(
    "change",
    [
        {"body": REPORT.replace(b'"code": 200', b'"code": 207')},
        {"credentials": {"customer_id": "00000000-EEEE-DDDD-1234-AB1234567890", "api_key": API_KEY}},
        {"credentials": {"customer_id": CUSTOMER_ID, "api_key": base64.b64encode(b"another key").decode()}},
        {"headers": {}},
    ],
)
def test_a_changed_report_is_refused(change: dict[str, Any]) -> None:
    headers = change.get(
        "headers", {"Authorization": docs_callback_authorization(CUSTOMER_ID, API_KEY, REPORT)}
    )
    with pytest.raises(CallbackSignatureError):
        parse_delivery_report(
            "POST", URL, headers, change.get("body", REPORT), **change.get("credentials", CREDENTIALS)
        )


# -- statuses ----------------------------------------------------------------------------------

CANONICAL = {
    200: DeliveryStatus.DELIVERED,
    201: DeliveryStatus.DELIVERED,
    203: DeliveryStatus.SENT,
    207: DeliveryStatus.UNDELIVERED,
    210: DeliveryStatus.UNDELIVERED,
    211: DeliveryStatus.UNDELIVERED,
    220: DeliveryStatus.UNDELIVERED,
    221: DeliveryStatus.EXPIRED,
    222: DeliveryStatus.UNDELIVERED,
    229: DeliveryStatus.REJECTED,
    230: DeliveryStatus.REJECTED,
    231: DeliveryStatus.REJECTED,
    233: DeliveryStatus.REJECTED,
    237: DeliveryStatus.REJECTED,
    238: DeliveryStatus.REJECTED,
    250: DeliveryStatus.SENT,
    251: DeliveryStatus.SENT,
    290: DeliveryStatus.SENDING,
    295: DeliveryStatus.SENDING,
    500: DeliveryStatus.FAILED,
    501: DeliveryStatus.REJECTED,
    502: DeliveryStatus.REJECTED,
    503: DeliveryStatus.FAILED,
}


def test_every_listed_status_code_is_mapped_here() -> None:
    assert sorted(int(member.value) for member in dlr_telesign_sms.MessageStatusCode) == sorted(CANONICAL)


@pytest.mark.parametrize(("code", "canonical"), sorted(CANONICAL.items()))
def test_every_status_code_maps_to_its_canonical_meaning(code: int, canonical: DeliveryStatus) -> None:
    body = json.dumps({"reference_id": "r-1", "status": {"code": code, "description": "x"}}).encode()
    headers = {"Authorization": docs_callback_authorization(CUSTOMER_ID, API_KEY, body)}
    [receipt] = parse_delivery_report("POST", URL, headers, body, **CREDENTIALS)
    assert receipt.status is canonical
    assert receipt.raw_status == {"code": code}
