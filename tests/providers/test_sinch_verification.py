"""Sinch Verification (specs/sinch_verification.yaml): the status queries are signed as
Sinch's SDKs sign an application request, the verification events Sinch pushes verify as
its Java SDK verifies them (with the SDK's own captured push), and every documented status,
reason and event maps to its canonical meaning.

The expected signatures are never dlrgen's: either literal values from the SDK's tests, or
the SDK's algorithm re-implemented here step by step (``sdk_signature``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import dlr_sinch_verification
from tests.conftest import call_client
from dlr_core import CallbackSignatureError, DeliveryStatus, MalformedCallback, StaleCallback
from dlr_core.testing import MockTransport
from dlr_sinch_verification.callbacks import VERIFICATION_EVENT, parse_verification_event

KEY = "5F5C418A0F914BBC8234A9BF5EDDAD97"
SECRET = base64.b64encode(b"an application secret").decode()
CREDENTIALS = {"application_key": KEY, "application_secret": SECRET}
VERIFICATION_ID = "018c25e1-7163-5677-b8fb-467d7b1cffa5"


def sdk_signature(secret: str, method: str, body: str, content_type: str, timestamp: str, path: str) -> str:
    """sinch-sdk-python sinch/core/signature.py, Signature.calculate, step by step: the
    secret base64-decoded; Content-MD5 the base64 of the body's MD5, or empty text when
    there is no body; the string to sign is method, Content-MD5, content type,
    "x-timestamp:" + timestamp and the path, joined by newlines; the signature the base64 of
    its HMAC-SHA256. (sinch-sdk-java ApplicationAuthManager.getAuthorizationHeaders does the
    same; Java's decoder takes a secret without its base64 padding, as Python's does once
    it is padded.)"""
    key = base64.b64decode(secret + "=" * (-len(secret) % 4))
    content_md5 = base64.b64encode(hashlib.md5(body.encode()).digest()).decode() if body else ""
    string_to_sign = method + "\n" + content_md5 + "\n" + content_type + "\n" + "x-timestamp:" + timestamp
    string_to_sign += "\n" + path
    return base64.b64encode(hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()).decode()


def _client(mock: MockTransport, mode: str, **options: Any) -> Any:
    cls = dlr_sinch_verification.Client if mode == "sync" else dlr_sinch_verification.AsyncClient
    return mock.client(cls, **options)


# -- request signing ---------------------------------------------------------------------------


def test_the_sdk_algorithm_reproduces_the_java_sdks_literal_vector() -> None:
    """The re-implementation above against the literal vector of sinch-sdk-java's
    ApplicationAuthManagerTest (key my-key-id, secret base64("my-key-secret"), a POST at
    2023-11-22T09:10:11.999Z), so the algorithm the client is compared with is Sinch's."""
    payload = '{"identity":{"type":"number","endpoint":"+33444555666"},"method":"sms"}'
    secret = base64.b64encode(b"my-key-secret").decode()
    signature = sdk_signature(
        secret,
        "POST",
        payload,
        "application/json; charset=UTF-8",
        "2023-11-22T09:10:11.999Z",
        "/path/pathParamValue",
    )
    assert signature == "QP3OzQZVzRZAEev6DBLvJkgpiqyZPuXYsc7oyjUV0K8="


def test_status_query_is_signed_as_the_python_sdk_signs(mode: str) -> None:
    """A GET has no body: the SDK signs an empty Content-MD5 line (not the MD5 of nothing),
    the Content-Type it sends on every signed request, the x-timestamp it sends and the
    path. Source: https://github.com/sinch/sinch-sdk-python/blob/4c02ad82dc8a8880fd9398c8ebc7b7093e53003e/sinch/core/signature.py
    (Signature.calculate, get_http_headers_with_signature)."""
    # The example answer (the Java SDK's test resource: FAIL with reason Fraud) for this id.
    [operation] = [op for op in dlr_sinch_verification.API.operations if op.name == "get_verification_by_id"]
    example = operation.example
    answer = {**example, "id": VERIFICATION_ID}
    scenario = {"get_verification_by_id": [{"body": answer}]}
    mock = MockTransport(dlr_sinch_verification.API, CREDENTIALS, scenario=scenario)
    client = _client(mock, mode, **CREDENTIALS)
    [receipt] = call_client(mode, client, "fetch_receipts", verification_id=VERIFICATION_ID)
    [request] = mock.requests
    path = f"/verification/v1/verifications/id/{VERIFICATION_ID}"
    assert request.method == "GET" and request.path == path and request.body == b""
    timestamp = request.headers["x-timestamp"]
    assert request.headers["content-type"] == "application/json; charset=UTF-8"
    expected = sdk_signature(SECRET, "GET", "", "application/json; charset=UTF-8", timestamp, path)
    assert request.headers["authorization"] == f"Application {KEY}:{expected}"
    assert request.authenticated
    assert receipt.status is DeliveryStatus.REJECTED
    assert receipt.raw_status == {"status": "FAIL", "reason": "Fraud"}


def test_each_query_signs_its_own_path(mode: str) -> None:
    mock = MockTransport(dlr_sinch_verification.API, CREDENTIALS)
    client = _client(mock, mode, **CREDENTIALS)
    call_client(
        mode, client, "get_verification_by_identity", verification_method="sms", endpoint="+46700000000"
    )
    [request] = mock.requests
    # Sent percent-encoded, signed decoded: the SDKs sign "+46700000000" (Java signs
    # URI.getPath() of what it sends, Python the path as written).
    assert request.path == "/verification/v1/verifications/sms/number/%2B46700000000"
    expected = sdk_signature(
        SECRET,
        "GET",
        "",
        "application/json; charset=UTF-8",
        request.headers["x-timestamp"],
        "/verification/v1/verifications/sms/number/+46700000000",
    )
    assert request.headers["authorization"] == f"Application {KEY}:{expected}"


def test_basic_auth_is_the_key_and_secret(mode: str) -> None:
    mock = MockTransport(dlr_sinch_verification.API, CREDENTIALS)
    client = _client(mock, mode, auth_scheme="basic", **CREDENTIALS)
    call_client(mode, client, "get_verification_by_reference", reference="my reference")
    expected = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert mock.requests[0].headers["authorization"] == f"Basic {expected}"


def test_an_error_keeps_sinchs_code_message_and_reference(mode: str) -> None:
    body = {"errorCode": 40001, "message": "Number +4813 is invalid. Too short.", "reference": "r-1"}
    mock = MockTransport(
        dlr_sinch_verification.API,
        CREDENTIALS,
        scenario={"get_verification_by_id": [{"status": 400, "body": body}]},
    )
    client = _client(mock, mode, **CREDENTIALS)
    from dlr_core import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        call_client(mode, client, "get_verification_by_id", verification_id=VERIFICATION_ID)
    assert str(caught.value.code) == "40001" and caught.value.request_id == "r-1"
    assert b"Too short" in caught.value.raw_body


# The errors page (https://developers.sinch.com/docs/verification/api-reference/errors): each
# code with the HTTP status it comes with and the example message its section shows (the
# later sections as captured in api-evangelist/sinch errors/sinch-error-codes.yml, see the
# spec's header). Each raises the kind the page's description means, whatever the HTTP
# status alone would say: a 422 42200 is the account's configuration, not the request; a 503
# 50301 is not retried (contact support) while a 503 50300 is.
DOCUMENTED_ERRORS = [
    (400, 40003, "Invalid identity or code.", "InvalidRequest", False),
    (401, 40102, "Invalid signature.", "AuthenticationError", False),
    (402, 40200, "Not enough credit.", "PermissionDenied", False),
    (404, 40400, "Requested resource was not found.", "NotFound", False),
    (409, 40900, "Reference already defined.", "InvalidRequest", False),
    (422, 42200, "Application name has not been configured.", "PermissionDenied", False),
    (429, 42901, "Cannot initiate verification to the same number too quickly.", "RateLimited", True),
    (503, 50300, "Service is temporarily unavailable, please try again later.", "ProviderError", True),
    (503, 50301, "Configuration error, please contact support.", "ProviderError", False),
]


@pytest.mark.parametrize(("http_status", "code", "message", "error_class", "retryable"), DOCUMENTED_ERRORS)
def test_each_documented_error_code_raises_the_kind_it_means(
    mode: str, http_status: int, code: int, message: str, error_class: str, retryable: bool
) -> None:
    import dlr_core

    body = {"errorCode": code, "message": message}
    mock = MockTransport(
        dlr_sinch_verification.API,
        CREDENTIALS,
        scenario={"get_verification_by_id": [{"status": http_status, "body": body}]},
    )
    client = _client(mock, mode, retries=0, **CREDENTIALS)
    with pytest.raises(dlr_core.ProviderError) as caught:
        call_client(mode, client, "get_verification_by_id", verification_id=VERIFICATION_ID)
    assert type(caught.value) is getattr(dlr_core, error_class)
    assert caught.value.code == str(code) and caught.value.http_status == http_status
    assert caught.value.retryable is retryable
    assert message in caught.value.message and message.encode() in caught.value.raw_body


def test_the_error_table_lists_every_documented_code() -> None:
    """Every code of the errors page (its list, by hand) has an entry."""
    documented = [40001, 40002, 40003, 40100, 40101, 40102, 40104, 40107, 40200, 40300, 40303]
    documented += [40400, 40900, 42200, 42201, 42900, 42901, 50000, 50300, 50301]
    table = dlr_sinch_verification.errors.ERRORS
    assert [code for code in documented if table.lookup(code) is None] == []


# -- pushed events -----------------------------------------------------------------------------

# sinch-sdk-java SinchEventsServiceTest (checkApplicationAuthentication): a VerificationResultEvent
# as Sinch pushed it, its headers and the application credentials it was signed with.
JAVA_EVENT = (
    b'{"id":"018c25e1-7163-5677-b8fb-467d7b1cffa5","event":"VerificationResultEvent","method":"sms",'
    b'"identity":{"verified":false,"type":"number","endpoint":"+33628254417"},"status":"FAIL","reason":"Expired"}'
)
JAVA_HEADERS = {
    "authorization": "application 789:xfKhO0XvlRNJraahUBEJzzi1f3Fn3pYO41/ZzwOHPaQ=",
    "content-type": "application/json; charset=utf-8",
    "x-timestamp": "2023-12-01T15:01:20.0406449Z",
}
JAVA_URL = "https://backend.example.com/VerificationRequestEvent"
JAVA_CREDENTIALS = {"application_key": "789", "application_secret": "9876543210"}


def _at_push_time() -> datetime:
    return datetime(2023, 12, 1, 15, 1, 21, tzinfo=timezone.utc)


def test_the_java_sdks_pushed_result_event_verifies() -> None:
    """The push of https://github.com/sinch/sinch-sdk-java/blob/d747cc303ef2f06b0f221f01017ebddad346df9f/client/src/test/java/com/sinch/sdk/domains/verification/api/v1/adapters/SinchEventsServiceTest.java
    (checkApplicationAuthentication, verified there by ApplicationAuthManager
    .validateAuthenticatedRequest): its literal Authorization verifies with the spec's
    scheme, and the event (FAIL, reason Expired) is an expired verification."""
    assert (
        sdk_signature(
            "9876543210",
            "POST",
            JAVA_EVENT.decode(),
            JAVA_HEADERS["content-type"],
            JAVA_HEADERS["x-timestamp"],
            "/VerificationRequestEvent",
        )
        == JAVA_HEADERS["authorization"].split(":")[1]
    )
    [receipt] = parse_verification_event(
        "POST", JAVA_URL, JAVA_HEADERS, JAVA_EVENT, **JAVA_CREDENTIALS, clock=_at_push_time
    )
    assert receipt.message_id == "018c25e1-7163-5677-b8fb-467d7b1cffa5"
    assert receipt.recipient == "+33628254417"
    assert receipt.status is DeliveryStatus.EXPIRED
    assert receipt.error_code == "Expired"


@pytest.mark.parametrize(
    "change",
    [
        {"body": JAVA_EVENT.replace(b"Expired", b"Invalid code")},
        {"headers": {**JAVA_HEADERS, "x-timestamp": "2023-12-01T15:01:20.0406448Z"}},
        {"headers": {**JAVA_HEADERS, "content-type": "application/json"}},
        {"url": "https://backend.example.com/verification-events"},
        {"headers": {k: v for k, v in JAVA_HEADERS.items() if k != "authorization"}},
        {"credentials": {"application_key": "790", "application_secret": "9876543210"}},
    ],
)
def test_a_changed_push_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(CallbackSignatureError):
        parse_verification_event(
            "POST",
            change.get("url", JAVA_URL),
            change.get("headers", JAVA_HEADERS),
            change.get("body", JAVA_EVENT),
            **change.get("credentials", JAVA_CREDENTIALS),
            clock=_at_push_time,
        )


def test_an_old_push_is_refused_as_stale() -> None:
    later = _at_push_time() + timedelta(minutes=16)
    with pytest.raises(StaleCallback):
        parse_verification_event(
            "POST", JAVA_URL, JAVA_HEADERS, JAVA_EVENT, **JAVA_CREDENTIALS, clock=lambda: later
        )


def test_the_java_auth_managers_vector_verifies_before_the_payload_is_read() -> None:
    """sinch-sdk-java ApplicationAuthManagerTest.checkValidateAuthenticatedRequest: its
    signature verifies (the body is a start request, not an event, so it is malformed only
    after verification)."""
    payload = b'{"identity":{"type":"number","endpoint":"+33444555666"},"method":"sms"}'
    headers = {
        "authorization": "application my-key-id:QP3OzQZVzRZAEev6DBLvJkgpiqyZPuXYsc7oyjUV0K8=",
        "content-type": "application/json; charset=UTF-8",
        "x-timestamp": "2023-11-22T09:10:11.999Z",
    }
    secret = base64.b64encode(b"my-key-secret").decode()
    moment = datetime(2023, 11, 22, 9, 10, 12, tzinfo=timezone.utc)
    with pytest.raises(MalformedCallback):
        parse_verification_event(
            "POST",
            "https://backend.example.com/path/pathParamValue",
            headers,
            payload,
            application_key="my-key-id",
            application_secret=secret,
            clock=lambda: moment,
        )


def test_a_push_signed_by_the_mock_verifies_with_its_own_content_type() -> None:
    """What `dlrgen mock --push` sends: the Content-Type the signature covers is the one it
    sends (application/json), not a random value in its place."""
    body = json.dumps({"id": "v-1", "event": "VerificationResultEvent", "status": "SUCCESSFUL"}).encode()
    url = "https://backend.example.com/sinch/events"
    headers = VERIFICATION_EVENT.sign(url, body, credentials=CREDENTIALS)
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"].startswith(f"Application {KEY}:")
    [receipt] = parse_verification_event("POST", url, headers, body, **CREDENTIALS)
    assert receipt.status is DeliveryStatus.DELIVERED


def test_the_endpoint_allows_every_verification_request() -> None:
    assert VERIFICATION_EVENT.answer.status == 200
    assert json.loads(VERIFICATION_EVENT.answer.body) == {"action": "allow"}


# -- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "canonical"),
    [
        ("PENDING", None, DeliveryStatus.SENT),
        ("PENDING", "Failed pending", DeliveryStatus.SENT),
        ("SUCCESSFUL", None, DeliveryStatus.DELIVERED),
        ("FAIL", None, DeliveryStatus.FAILED),
        ("FAIL", "Invalid code", DeliveryStatus.FAILED),
        ("FAIL", "Invalid CLI", DeliveryStatus.FAILED),
        ("FAIL", "Hung up without entering valid code", DeliveryStatus.FAILED),
        ("FAIL", "Expired", DeliveryStatus.EXPIRED),
        ("FAIL", "Failed pending", DeliveryStatus.FAILED),
        ("DENIED", None, DeliveryStatus.REJECTED),
        ("DENIED", "Fraud", DeliveryStatus.REJECTED),
        ("DENIED", "Not enough credit", DeliveryStatus.REJECTED),
        ("DENIED", "Blocked", DeliveryStatus.REJECTED),
        ("DENIED", "Denied by callback", DeliveryStatus.REJECTED),
        ("DENIED", "Invalid callback", DeliveryStatus.REJECTED),
        ("DENIED", "Destination denied", DeliveryStatus.REJECTED),
        ("ABORTED", None, DeliveryStatus.CANCELED),
        ("ERROR", None, DeliveryStatus.UNDELIVERED),
        ("ERROR", "Internal error", DeliveryStatus.FAILED),
        ("ERROR", "Network error or number unreachable", DeliveryStatus.UNDELIVERED),
        ("ERROR", "SMS delivery failure", DeliveryStatus.UNDELIVERED),
    ],
)
def test_every_status_and_reason_maps_to_its_canonical_meaning(
    status: str, reason: str | None, canonical: DeliveryStatus
) -> None:
    answer = {"id": "v-1", "status": status, "identity": {"type": "number", "endpoint": "+46700000000"}}
    if reason is not None:
        answer["reason"] = reason
    [receipt] = dlr_sinch_verification.get_verification_by_id_receipts(
        dlr_sinch_verification.Verification.model_validate(answer)
    )
    assert receipt.status is canonical
    assert receipt.recipient == "+46700000000"


@pytest.mark.parametrize(
    ("event", "canonical"),
    [
        (
            {
                "event": "VerificationRequestEvent",
                "method": "sms",
                "price": {"amount": 10.5, "currencyId": "USD"},
            },
            DeliveryStatus.QUEUED,
        ),
        ({"event": "VerificationSmsDeliveredEvent", "smsResult": "Successful"}, DeliveryStatus.DELIVERED),
        ({"event": "VerificationSmsDeliveredEvent", "smsResult": "Failed"}, DeliveryStatus.UNDELIVERED),
        (
            {"event": "VerificationResultEvent", "status": "SUCCESSFUL", "source": "manual"},
            DeliveryStatus.DELIVERED,
        ),
        (
            {"event": "VerificationResultEvent", "status": "DENIED", "reason": "Fraud"},
            DeliveryStatus.REJECTED,
        ),
    ],
)
def test_every_event_maps_to_its_canonical_meaning(event: dict[str, Any], canonical: DeliveryStatus) -> None:
    body = json.dumps(
        {"id": "1234567890", "identity": {"type": "number", "endpoint": "+11235551234"}, **event}
    ).encode()
    url = "https://backend.example.com/sinch/events"
    headers = VERIFICATION_EVENT.sign(url, body, credentials=CREDENTIALS)
    [receipt] = parse_verification_event("POST", url, headers, body, **CREDENTIALS)
    assert receipt.status is canonical
    assert receipt.details["event"] == event["event"]
