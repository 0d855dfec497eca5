"""GatewayAPI SMS (specs/gatewayapi_sms.yaml): an SMS's recipient statuses through the mock,
and Delivery Status Notifications verified by their X-Gwapi-Signature JWT.

The signature proof is GatewayAPI's published worked example, "Authentication token" /
"Code Examples" of https://gatewayapi.com/docs/rest.html (source:
https://github.com/onlinecity/gatewayapi-docs/blob/da52fb94020c00bae599094ffc738b8b1f3240f8/docs/rest.rst):
a token taken from the X-Gwapi-Signature header and the webhook secret "secret", which the
docs verify with ``jwt.decode(token, secret, algorithms=['HS256'])`` (PyJWT), and whose
claims are the DSN. The test re-implements that check (RFC 7515 HS256 over the first two
parts) to show the literal token verifies, then gives it to the generated parser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest

from tests.conftest import call_client
from dlr_core import CallbackSignatureError, DeliveryStatus, MalformedCallback
from dlr_core.testing import MockTransport

import dlr_gatewayapi_sms
from dlr_gatewayapi_sms.callbacks import DELIVERY_STATUS, parse_delivery_status

# The docs' token and secret, verbatim.
DOCS_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6MjM4MTcwMywibXNpc2RuIjo0NTQyNjA5MDQ1LCJ0aW1lIjoxNTIyNzY0MDYy"
    "LCJzdGF0dXMiOiJERUxJVkVSRUQiLCJlcnJvciI6bnVsbCwiY29kZSI6bnVsbCwidXNlcnJlZiI6bnVsbCwiY2FsbGJhY2tfdXJsIjoi"
    "aHR0cDovL2JiYWY3MTQyLm5ncm9rLmlvIiwiYXBpIjo0fQ.KdfDH65bnQtgxEkFnpAQodOciAJedZFB13r9wEo8t3Y"
)
DOCS_SECRET = "secret"
URL = "http://bbaf7142.ngrok.io"
# The docs' "Callback example" body (another DSN than the token's: the body is not what is read).
DOCS_BODY = json.dumps(
    {
        "id": 1000001,
        "msisdn": 4587654321,
        "time": 1450000000,
        "status": "DELIVERED",
        "userref": "foobar",
        "charge_status": "CAPTURED",
        "country_code": "DK",
        "country_prefix": 45,
    }
).encode()


def docs_decode(token: str, secret: str) -> dict[str, object]:
    """What the docs' Python example does, jwt.decode(token, secret, algorithms=['HS256']):
    HS256 (HMAC-SHA256 over "header.claims", RFC 7515) checked, then the claims read."""

    def b64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    head, claims, signature = token.split(".")
    assert json.loads(b64(head))["alg"] == "HS256"
    expected = hmac.new(secret.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(expected, b64(signature)), "the signature does not verify"
    decoded: dict[str, object] = json.loads(b64(claims))
    return decoded


def test_the_docs_token_verifies_and_is_the_report() -> None:
    """The published token verifies with the published secret; the receipt is the DSN in its
    claims (id 2381703, DELIVERED), not the body's DSN."""
    claims = docs_decode(DOCS_TOKEN, DOCS_SECRET)
    assert claims["id"] == 2381703 and claims["status"] == "DELIVERED"
    [receipt] = parse_delivery_status(
        "POST", URL, {"X-Gwapi-Signature": DOCS_TOKEN}, DOCS_BODY, webhook_secret=DOCS_SECRET
    )
    assert receipt.status is DeliveryStatus.DELIVERED
    assert (receipt.message_id, receipt.recipient) == ("2381703", "4542609045")
    assert receipt.completed_at == datetime.fromtimestamp(1522764062, timezone.utc)
    assert receipt.raw == claims


def test_a_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(CallbackSignatureError, match="signature does not match") as refused:
        parse_delivery_status(
            "POST", URL, {"X-Gwapi-Signature": DOCS_TOKEN}, DOCS_BODY, webhook_secret="secret2"
        )
    assert "secret2" not in str(refused.value)


def test_a_token_with_changed_claims_or_another_algorithm_is_refused() -> None:
    """One character of the claims changed, the header rewritten to alg none (the signature
    dropped) or HS512: refused, as jwt.decode with algorithms=['HS256'] refuses them."""
    head, claims, signature = DOCS_TOKEN.split(".")
    changed = claims[:20] + ("A" if claims[20] != "A" else "B") + claims[21:]
    none = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"none"}').rstrip(b"=").decode()
    hs512 = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"HS512"}').rstrip(b"=").decode()
    for token in (f"{head}.{changed}.{signature}", f"{none}.{claims}.", f"{hs512}.{claims}.{signature}"):
        with pytest.raises(CallbackSignatureError):
            parse_delivery_status(
                "POST", URL, {"X-Gwapi-Signature": token}, DOCS_BODY, webhook_secret=DOCS_SECRET
            )
    with pytest.raises(CallbackSignatureError, match="no X-Gwapi-Signature"):
        parse_delivery_status("POST", URL, {}, DOCS_BODY, webhook_secret=DOCS_SECRET)


def test_a_push_signed_as_the_mock_signs_reads_back_with_its_error_code() -> None:
    """A failed DSN (code 0x1013, absent subscriber) signed as the mock signs it: the claims
    are the body's DSN, verified by the docs' check, and read as an undelivered receipt."""
    body = json.dumps(
        {
            "id": 7,
            "msisdn": 4512345678,
            "time": 1450000000,
            "status": "UNDELIVERABLE",
            "code": "0x1013",
            "error": "Absent subscriber",
            "userref": "r-1",
        }
    ).encode()
    headers = DELIVERY_STATUS.sign(URL, body, credentials={"webhook_secret": "s3"})
    assert docs_decode(headers["X-Gwapi-Signature"], "s3") == json.loads(body)
    [receipt] = parse_delivery_status("POST", URL, headers, body, webhook_secret="s3")
    assert receipt.status is DeliveryStatus.UNDELIVERED and receipt.error_code == "0x1013"
    assert receipt.client_ref == "r-1" and receipt.error_description == "Absent subscriber"


def test_a_token_whose_claims_are_no_dsn_is_malformed() -> None:
    claims = base64.urlsafe_b64encode(b'{"hello":"world"}').rstrip(b"=").decode()
    head = DOCS_TOKEN.split(".")[0]
    signature = (
        base64.urlsafe_b64encode(hmac.new(b"k", f"{head}.{claims}".encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    with pytest.raises(MalformedCallback):
        parse_delivery_status(
            "POST", URL, {"X-Gwapi-Signature": f"{head}.{claims}.{signature}"}, b"{}", webhook_secret="k"
        )


def test_the_api_answer_becomes_receipts(mode: str) -> None:
    """The docs' GET /rest/mtsms/<id> example (two recipients), served by the mock: a receipt
    per recipient with the SMS's id and reference, sync and async, the token sent as the
    HTTP Basic user name."""
    mock = MockTransport(dlr_gatewayapi_sms.API, {"api_token": "tok"})
    client = mock.client(dlr_gatewayapi_sms.AsyncClient if mode == "async" else dlr_gatewayapi_sms.Client)
    receipts = call_client(mode, client, "fetch_receipts", id=1)
    assert [(r.message_id, r.recipient, r.status) for r in receipts] == [
        ("1", "1514654321", DeliveryStatus.DELIVERED),
        ("1", "4512345678", DeliveryStatus.DELIVERED),
    ]
    assert receipts[0].client_ref == "1234"
    assert receipts[0].completed_at == datetime.fromtimestamp(1498040129, timezone.utc)
    [request] = mock.requests
    assert request.authenticated and request.path == "/rest/mtsms/1"


def test_every_state_and_error_group_has_its_meaning() -> None:
    """The 11 states of docs/rest.rst "States and status codes" and a code of each error
    group of docs/errors.rst map as the spec's header says."""
    from dlr_gatewayapi_sms import statuses

    assert len(statuses.DsnStatus) == 11 and len(statuses.ChargeStatus) == 7
    meaning = {
        "0x1010": "undelivered",
        "0x1023": "undelivered",
        "0x1030": "rejected",
        "0x1047": "undelivered",
        "0x1050": "failed",
        "0x1060": "rejected",
        "0x1091": "undelivered",
        "0x1092": "rejected",
        "0x1904": "rejected",
    }
    assert {code: statuses.sms_error_code_to_canonical(code).value for code in meaning} == meaning
    assert statuses.sms_error_code_to_canonical("0x9999") is DeliveryStatus.UNKNOWN
