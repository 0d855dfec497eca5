"""MessageBird SMS (specs/messagebird_sms.yaml): a message's recipient statuses through the
mock, and status reports verified as MessageBird's SDKs verify MessageBird-Signature-JWT.

The signature proofs use the SDKs' own published vectors,
https://github.com/messagebird/php-rest-api/blob/master/tests/Unit/Data/webhooksignature.json
(the same cases as go-rest-api's signature_jwt/testdata): literal tokens, the signing key,
the URL, the body and the moment each was checked at, with the SDK's verdict. The check
they exercise is go-rest-api's signature_jwt/signature.go ``Validator.ValidateSignature``
with signature_jwt/claims.go ``Claims.Valid``,
https://github.com/messagebird/go-rest-api/blob/54e71ddab77c051c66ada48ed4ed9fa9f1c7a2cb/signature_jwt/claims.go
(and php-rest-api's
src/MessageBird/RequestValidator.php ``validateSignature``): HS256/HS384/HS512 only, iss =
MessageBird, url_hash = hex SHA-256 of the URL, payload_hash = hex SHA-256 of the body when
there is one (and absent when there is none), jti set, nbf and exp within 1 s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import call_client
from dlr_core import AuthenticationError, CallbackSignatureError, DeliveryStatus, StaleCallback
from dlr_core.callbacks import Callback
from dlr_core.testing import MockTransport

import dlr_messagebird_sms
from dlr_messagebird_sms.callbacks import STATUS_REPORT, parse_status_report

SECRET = "36efdd1aace2e26cd490f0d951138253bef2f7c6d34d18981da781555cc4cebb"
CHECKED_AT = datetime.fromisoformat("2021-07-05T12:00:00+02:00")
HEADER = "MessageBird-Signature-JWT"

# Tokens of webhooksignature.json, verbatim, by the case names there.
NO_QUERY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.6Fp0rVOsRr1fj9S2GidXAfkmPVofKr8_RTffC6G6r2E"
)
WITH_QUERY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiJjOTQ2YWY3Ny1lMTgyLTRlYWEtYjJmZi0xYTU0NWI1ZTk5MWEiLCJ1cmxfaGFzaCI6IjQxZjA1ZjBkZGQwYTIyYWIy"
    "MDlhYzQ2ZjQ3YzQ1NzJkOWNlZmEyNTdlZDc0YjI0MDA0YmFlNzUzZWNlNmMyNjAifQ.huo2ou6JDoDc7sV25d75UMWeYhBeavQlLsqIibSZuac"
)
WITH_QUERY_AND_PAYLOAD = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiI5M2U1NTAwNi1hMGU4LTQ1MjYtYTE5MC1mYTVmZjAwZWExMTYiLCJ1cmxfaGFzaCI6IjQxZjA1ZjBkZGQwYTIyYWIy"
    "MDlhYzQ2ZjQ3YzQ1NzJkOWNlZmEyNTdlZDc0YjI0MDA0YmFlNzUzZWNlNmMyNjAiLCJwYXlsb2FkX2hhc2giOiJkZmZkNjAyMWJiMmJk"
    "NWIwYWY2NzYyOTA4MDllYzNhNTMxOTFkZDgxYzdmNzBhNGIyODY4OGEzNjIxODI5ODZmIn0._H--TOuYFLpeEH39-rg5E3IHVkjHozBc"
    "aKVWPRC5m9I"
)
NOT_YET_VALID = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ4MjgwMCwiZXhwIjoxNjI1NDgy"
    "ODYwLCJqdGkiOiJmOWY4YzM4Mi0yNDQ5LTQzMTEtYjcyYi0xZGY3MTY4NzkzMWUiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.ZELgDFNGhjZH9CffQKcq3sytBe2I0KciLxpBhcfstHQ"
)
EXPIRED = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3NTYwMCwiZXhwIjoxNjI1NDc1"
    "NjYwLCJqdGkiOiI1ZjAyZjUyMi02MDMwLTQ2YzgtYjVhMy0wMTI0NjQ3OGQ4YmMiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.45MSST3B_2PsjNUeiuW54_vUQgVw4rBXrdWrOUEz3lM"
)
OTHER_URL = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiJhNzVjOTA5Ni1lODIzLTQ0MmItODVmMi03ZDNjOWQ5YjcyNmIiLCJ1cmxfaGFzaCI6IjZhMDIyZDgzNGMxODMzMGJh"
    "YWQ4YTJiZDYxMzUxNzNlZDIxNjEwYTQ1NDUxNmJlMGRmM2YxY2MwMTUxNjEwZWEifQ.z6Sw1XQIM0wuEQGBhXBdawDIIrtMg2XnmA_bpDq53pE"
)
OTHER_SECRET = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiIyNDNjMjdhZS0yZjAyLTQ2YTAtODg1Mi1jNjZmMzdlYTlmNDYiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.JgSeYyOtlEKAXk8bz30iJI4tXgf4lxknoiezawuVhb4"
)
PAYLOAD_REMOVED = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiIxNDUwMTUzMi05NmYyLTQ2ODQtOTgzMi02OGYwOTUxYWUzNDIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDciLCJwYXlsb2FkX2hhc2giOiJkZmZkNjAyMWJiMmJk"
    "NWIwYWY2NzYyOTA4MDllYzNhNTMxOTFkZDgxYzdmNzBhNGIyODY4OGEzNjIxODI5ODZmIn0.bHfsjj3tljfzTufoG3EU3p_yFrQh9Cuf"
    "yzRSaRMd4ss"
)
HS512 = (
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCIsIm5iZiI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ.rd6r0iMyNGnVPCwurETphE3Y8rpAyvvnUK0S8W"
    "vGUkt2E1QSRAZ7NZJZBHw1Y_Wb5W-sK9HJr_PRL2vz4jRT3Q"
)
NONE_ALG = (
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJNZXNzYWdlQmlyZCIsImlhdCI6MTYyNTQ3OTIwMCwiZXhwIjoxNjI1NDc5"
    "MjYwLCJqdGkiOiI1OWEyNDRkYy1lOWFkLTRlMjMtOTc3OC0zNzFmYWEyMzhmNzIiLCJ1cmxfaGFzaCI6IjBmMTE1ZGIwNjJiN2MwZGQw"
    "MzBiMTY4NzhjOTlkZWE1YzM1NGI0OWRjMzdiMzhlYjg4NDYxNzljNzc4M2U5ZDcifQ."
)


def check(token: str, url: str, body: bytes = b"", at: datetime = CHECKED_AT) -> list[dict[str, Any]]:
    """The spec's status report check, on a vector (its body is no report, so the report
    read is the URL's query, which is what a GET report is)."""
    return STATUS_REPORT.payloads(
        "GET", url, {HEADER: token}, body, credentials={"signing_key": SECRET}, clock=lambda: at
    )


def sdk_valid(token: str, url: str, body: bytes, now: float, key: str = SECRET) -> bool:
    """go-rest-api signature_jwt, step by step: jwt.Parser with ValidMethods HS256/384/512
    (signature.go allowedMethods), keyed by the signing key's bytes, then Claims.Valid
    (claims.go): iss, nbf - 1 s, exp + 1 s, jti, url_hash, payload_hash (set iff a body)."""

    def b64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    head, claims_part, signature = token.split(".")
    alg = json.loads(b64(head))["alg"]
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg)
    if digest is None:
        return False
    if not hmac.compare_digest(
        hmac.new(key.encode(), f"{head}.{claims_part}".encode(), digest).digest(), b64(signature)
    ):
        return False
    claims = json.loads(b64(claims_part))
    url_hash = hashlib.sha256(url.encode()).hexdigest()
    payload_hash = hashlib.sha256(body).hexdigest() if body else ""
    return (
        claims.get("iss") == "MessageBird"
        and not now < claims.get("nbf", 0) - 1
        and not now > claims.get("exp", 0) + 1
        and bool(claims.get("jti"))
        and claims.get("url_hash") == url_hash
        and claims.get("payload_hash", "") == payload_hash
    )


VALID = [
    ("no URL parameters or payload", NO_QUERY, "https://example.com/", b""),
    ("URL parameters, no payload", WITH_QUERY, "https://example.com/path?bar=1&foo=2", b""),
    (
        "URL parameters and payload",
        WITH_QUERY_AND_PAYLOAD,
        "https://example.com/path?bar=1&foo=2",
        b"Hello, World!",
    ),
    ("HS512 alg", HS512, "https://example.com/", b""),
]


@pytest.mark.parametrize(("case", "token", "url", "body"), VALID, ids=[v[0] for v in VALID])
def test_the_sdks_valid_vectors_verify(case: str, token: str, url: str, body: bytes) -> None:
    """webhooksignature.json's valid cases ("Valid JWT with ... - GET", "HS512 alg - GET")
    verify with the spec's check, as with the SDK's algorithm re-implemented above."""
    assert sdk_valid(token, url, body, CHECKED_AT.timestamp())
    assert check(token, url, body) == [dict(p.split("=") for p in url.partition("?")[2].split("&") if p)]


REFUSED = [
    (
        "token received before it was issued",
        NOT_YET_VALID,
        "https://example.com/",
        b"",
        StaleCallback,
        "valid only from",
    ),
    ("token received after it expired", EXPIRED, "https://example.com/", b"", StaleCallback, "expired"),
    (
        "parameters sorted out of order",
        OTHER_URL,
        "https://example.com/path?foo=1&bar=2",
        b"",
        CallbackSignatureError,
        "url_hash",
    ),
    (
        "payload does not match",
        WITH_QUERY_AND_PAYLOAD,
        "https://example.com/path?bar=1&foo=2",
        b"Hello, World?",
        CallbackSignatureError,
        "payload_hash",
    ),
    (
        "different secret",
        OTHER_SECRET,
        "https://example.com/",
        b"",
        CallbackSignatureError,
        "signature does not match",
    ),
    (
        "payload removed in transit",
        PAYLOAD_REMOVED,
        "https://example.com/",
        b"",
        CallbackSignatureError,
        "payload_hash is set",
    ),
    (
        "payload added in transit",
        NO_QUERY,
        "https://example.com/",
        b"Hello, World!",
        CallbackSignatureError,
        "payload_hash is missing",
    ),
    ("none alg", NONE_ALG, "https://example.com/", b"", CallbackSignatureError, "'none'"),
]


@pytest.mark.parametrize(
    ("case", "token", "url", "body", "error", "why"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_the_sdks_invalid_vectors_are_refused(
    case: str, token: str, url: str, body: bytes, error: type[Exception], why: str
) -> None:
    """webhooksignature.json's invalid cases, each refused for the SDK's reason ("claim nbf
    is in the future", "claim url_hash is invalid", "signing method none is invalid", ...),
    a time as StaleCallback, anything else as CallbackSignatureError."""
    assert not sdk_valid(token, url, body, CHECKED_AT.timestamp())
    with pytest.raises(error, match=why) as refused:
        check(token, url, body)
    assert SECRET not in str(refused.value) and SECRET not in repr(refused.value)


def test_the_leeway_is_one_second() -> None:
    """Claims.Valid allows maxSkew = 1 s past exp (1625479260): a second later is refused."""
    assert check(NO_QUERY, "https://example.com/", at=datetime.fromtimestamp(1625479260.5, CHECKED_AT.tzinfo))
    with pytest.raises(StaleCallback):
        check(NO_QUERY, "https://example.com/", at=datetime.fromtimestamp(1625479261, CHECKED_AT.tzinfo))


def test_a_status_report_becomes_a_receipt() -> None:
    """A GET status report (the support page's example query, with a failure's reason and
    code), signed as the SDK checks it, is read as a canonical receipt."""
    url = (
        "https://example.com/dlr?id=e8077d803532c0b5937c639b60216938&reference=YouReference123"
        "&recipient=31612345678&status=delivery_failed&statusReason=unknown%20subscriber"
        "&statusErrorCode=1&statusDatetime=2016-05-03T08%3A58%3A10%2B00%3A00"
    )
    headers = STATUS_REPORT.sign(url, b"", credentials={"signing_key": "k"}, moment=CHECKED_AT)
    assert sdk_valid(headers[HEADER], url, b"", CHECKED_AT.timestamp(), key="k")
    [receipt] = parse_status_report("GET", url, headers, b"", signing_key="k", clock=lambda: CHECKED_AT)
    assert receipt.status is DeliveryStatus.UNDELIVERED
    assert (receipt.message_id, receipt.recipient, receipt.client_ref) == (
        "e8077d803532c0b5937c639b60216938",
        "31612345678",
        "YouReference123",
    )
    assert receipt.error_code == "1" and receipt.details["status_reason"] == "unknown subscriber"
    assert receipt.completed_at == datetime.fromisoformat("2016-05-03T08:58:10+00:00")
    later = CHECKED_AT + timedelta(seconds=62)
    with pytest.raises(StaleCallback):
        parse_status_report("GET", url, headers, b"", signing_key="k", clock=lambda: later)


def test_the_api_answer_becomes_receipts(mode: str) -> None:
    """go-rest-api's sms/testdata/messageObject.json (the spec's example), served by the
    mock, is one receipt per recipient, sync and async, with the AccessKey header sent."""
    mock = MockTransport(dlr_messagebird_sms.API, {"access_key": "test_key"})
    client = mock.client(dlr_messagebird_sms.AsyncClient if mode == "async" else dlr_messagebird_sms.Client)
    [receipt] = call_client(mode, client, "fetch_receipts", id="6fe65f90454aa61536e6a88b88972670")
    assert receipt.status is DeliveryStatus.SENT and receipt.recipient == "31612345678"
    assert receipt.message_id == "6fe65f90454aa61536e6a88b88972670"
    [request] = mock.requests
    assert request.authenticated and request.path == "/messages/6fe65f90454aa61536e6a88b88972670"


def test_every_status_and_reason_has_its_meaning() -> None:
    """The recipient statuses of messagebird-nodejs types/messages.d.ts, and the reasons of
    Bird's status pages, map as their descriptions say."""
    from dlr_messagebird_sms import statuses

    expected = {
        "scheduled": "queued",
        "sent": "sent",
        "buffered": "sending",
        "delivered": "delivered",
        "expired": "expired",
        "delivery_failed": "undelivered",
    }
    assert {
        m.value: statuses.recipient_status_to_canonical(m).value for m in statuses.RecipientStatus
    } == expected
    assert statuses.status_reason_to_canonical("received_network_error") is DeliveryStatus.UNDELIVERED
    assert statuses.status_reason_to_canonical("carrier rejected") is DeliveryStatus.REJECTED


def test_an_error_list_is_classified_by_its_first_code(mode: str) -> None:
    """An error answer as php-rest-api's ResponseError reads it ({"errors": [{code,
    description, parameter}]}): code 2 (REQUEST_NOT_ALLOWED, which the SDK raises as an
    AuthenticateException) is an AuthenticationError keeping the code and the words."""
    body = {
        "errors": [
            {
                "code": 2,
                "description": "Request not allowed (incorrect access_key)",
                "parameter": "access_key",
            }
        ]
    }
    mock = MockTransport(
        dlr_messagebird_sms.API,
        {"access_key": "test_key"},
        scenario={"view_message": [{"status": 401, "body": body}]},
    )
    client = mock.client(
        dlr_messagebird_sms.AsyncClient if mode == "async" else dlr_messagebird_sms.Client, retries=0
    )
    with pytest.raises(AuthenticationError) as error:
        call_client(mode, client, "view_message", id="6fe65f90454aa61536e6a88b88972670")
    assert error.value.code == "2" and "incorrect access_key" in str(error.value)
