"""dlr_core.callbacks: verifying pushed reports (constant-time HMAC comparison, Ed25519 and
RSA public keys, signed timestamps), reading them, and the ASGI app that serves them.

Signatures are checked against the providers' own published vectors and SDK algorithms:
Twilio's ``RequestValidator`` test vector (twilio-python, tests/unit/test_request_validator.py)
and Ed25519 signatures made with ``cryptography`` itself, never dlrgen's own output."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import BaseModel

from dlr_core import (
    CallbackSignatureError,
    DeliveryStatus,
    DlrError,
    MalformedCallback,
    Receipt,
    StaleCallback,
)
from dlr_core.callbacks import Answer, Callback, CallbackApp, Endpoint, parse
from dlr_core.signing import SigningError

# The scheme as specs/twilio_messaging.yaml writes it: the URL, then every POST parameter
# sorted by name, name+value; HMAC-SHA1 with the auth token, base64.
TWILIO = {
    "format": "form",
    "verify": {
        "sign": [
            {"as": "params", "sorted_concat": {"source": "body", "repeated": "unique"}},
            {
                "as": "signature",
                "hmac": {
                    "algorithm": "sha1",
                    "key": "{auth_token}",
                    "input": "{url}{params}",
                    "output": "base64",
                },
            },
        ],
        "compare": {"header": "X-Twilio-Signature", "value": "{signature}"},
        "either_port": True,
    },
}
# twilio-python's RequestValidator test vector (tests/unit/test_request_validator.py).
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
TWILIO_TOKEN = "12345"
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# Telnyx: Ed25519 over "{timestamp}|{payload}", the signature base64 in
# telnyx-signature-ed25519, the Unix time in telnyx-timestamp, 5 minutes of tolerance.
TELNYX = {
    "format": "json",
    "verify": {
        "timestamp": {"header": "telnyx-timestamp", "style": "unix_seconds", "tolerance": 300},
        "public_key": {
            "algorithm": "ed25519",
            "key": "public_key",
            "key_format": "base64",
            "header": "telnyx-signature-ed25519",
            "input": "{timestamp}|{body}",
        },
    },
}
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)


def twilio() -> Callback:
    return Callback.from_data("twilio_messaging", "status_callback", TWILIO)


def test_twilio_published_validation_example_verifies() -> None:
    body = urlencode(TWILIO_PARAMS).encode()
    [payload] = twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": TWILIO_SIGNATURE},
        body,
        credentials={"auth_token": TWILIO_TOKEN},
    )
    assert payload == TWILIO_PARAMS


@pytest.mark.parametrize(
    "change",
    [
        lambda url, params, sig: (url.replace("foo=1", "foo=2"), params, sig),
        lambda url, params, sig: (url, {**params, "Digits": "1235"}, sig),
        lambda url, params, sig: (url, params, sig.replace("R", "S", 1)),
        lambda url, params, sig: (url, {**params, "Extra": ""}, sig),
    ],
    ids=["url", "parameter", "signature", "added-parameter"],
)
def test_a_one_character_change_fails_with_the_typed_error(change: Any) -> None:
    url, params, signature = change(TWILIO_URL, TWILIO_PARAMS, TWILIO_SIGNATURE)
    with pytest.raises(CallbackSignatureError) as caught:
        twilio().payloads(
            "POST",
            url,
            {"X-Twilio-Signature": signature},
            urlencode(params).encode(),
            credentials={"auth_token": TWILIO_TOKEN},
        )
    error = caught.value
    assert error.http_status == 403 and error.provider == "twilio_messaging"
    for text in (str(error), repr(error)):
        assert TWILIO_TOKEN not in text and TWILIO_SIGNATURE not in text and "CA1234567890ABCDE" not in text
    assert error.raw_body.startswith(b"CallSid=")


def test_a_missing_signature_and_a_wrong_token_are_refused() -> None:
    body = urlencode(TWILIO_PARAMS).encode()
    with pytest.raises(CallbackSignatureError, match="no X-Twilio-Signature"):
        twilio().payloads("POST", TWILIO_URL, {}, body, credentials={"auth_token": TWILIO_TOKEN})
    with pytest.raises(CallbackSignatureError):
        twilio().payloads(
            "POST",
            TWILIO_URL,
            {"x-twilio-signature": TWILIO_SIGNATURE},
            body,
            credentials={"auth_token": "1234"},
        )


def test_signature_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from dlr_core import callbacks

    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(callbacks.hmac, "compare_digest", spy)
    twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": TWILIO_SIGNATURE},
        urlencode(TWILIO_PARAMS).encode(),
        credentials={"auth_token": TWILIO_TOKEN},
    )
    # The URL as given, then with :443 (either_port): twilio-python's vector for that URL is
    # kvajT1Ptam85bY51eRf/AJRuM3w= (test_validation_adds_port_on_https). Both are compared.
    assert seen == [
        (TWILIO_SIGNATURE.encode(), TWILIO_SIGNATURE.encode()),
        (b"kvajT1Ptam85bY51eRf/AJRuM3w=", TWILIO_SIGNATURE.encode()),
    ]


def test_sign_makes_what_twilio_sdk_computes() -> None:
    headers = twilio().sign(
        TWILIO_URL, urlencode(TWILIO_PARAMS).encode(), credentials={"auth_token": "12345"}
    )
    assert headers["X-Twilio-Signature"] == TWILIO_SIGNATURE


# -- Ed25519 (Telnyx) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ed25519_keys() -> tuple[str, str]:
    """A generated test key pair: (the private key as PEM, the raw public key as base64)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, base64.b64encode(raw).decode()


def telnyx_push(pem: str, at: datetime, body: bytes) -> dict[str, str]:
    """Signed the way Telnyx documents it, with cryptography directly."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    timestamp = str(int(at.timestamp()))
    signature = key.sign(f"{timestamp}|".encode() + body)
    return {"telnyx-timestamp": timestamp, "telnyx-signature-ed25519": base64.b64encode(signature).decode()}


TELNYX_BODY = json.dumps({"data": {"event_type": "message.finalized", "id": "e-1"}}).encode()


def test_telnyx_ed25519_signature_verifies(ed25519_keys: tuple[str, str]) -> None:
    pem, public = ed25519_keys
    telnyx = Callback.from_data("telnyx_messaging", "message_events", TELNYX)
    headers = telnyx_push(pem, NOW - timedelta(seconds=30), TELNYX_BODY)
    [payload] = telnyx.payloads(
        "POST",
        "https://x.test/hook",
        headers,
        TELNYX_BODY,
        credentials={"public_key": public},
        clock=lambda: NOW,
    )
    assert payload["data"]["id"] == "e-1"
    assert telnyx.sign("https://x.test/hook", TELNYX_BODY, credentials={}, private_key=pem, moment=NOW) == {
        "Content-Type": "application/json",
        **telnyx_push(pem, NOW, TELNYX_BODY),
    }


@pytest.mark.parametrize("skew", [301, -301, 3600])
def test_a_timestamp_outside_the_tolerance_is_refused(ed25519_keys: tuple[str, str], skew: int) -> None:
    pem, public = ed25519_keys
    telnyx = Callback.from_data("telnyx_messaging", "message_events", TELNYX)
    headers = telnyx_push(pem, NOW - timedelta(seconds=skew), TELNYX_BODY)
    with pytest.raises(StaleCallback) as caught:
        telnyx.payloads(
            "POST",
            "https://x.test/",
            headers,
            TELNYX_BODY,
            credentials={"public_key": public},
            clock=lambda: NOW,
        )
    assert isinstance(caught.value, CallbackSignatureError)


def test_ed25519_tampering_is_refused(ed25519_keys: tuple[str, str]) -> None:
    pem, public = ed25519_keys
    telnyx = Callback.from_data("telnyx_messaging", "message_events", TELNYX)
    headers = telnyx_push(pem, NOW, TELNYX_BODY)
    tampered = TELNYX_BODY.replace(b"e-1", b"e-2")
    with pytest.raises(CallbackSignatureError, match="does not verify"):
        telnyx.payloads(
            "POST",
            "https://x.test/",
            headers,
            tampered,
            credentials={"public_key": public},
            clock=lambda: NOW,
        )
    # The signed time is the header's: moving it breaks the signature, not only the tolerance.
    moved = {**headers, "telnyx-timestamp": str(int(NOW.timestamp()) + 1)}
    with pytest.raises(CallbackSignatureError, match="does not verify"):
        telnyx.payloads(
            "POST",
            "https://x.test/",
            moved,
            TELNYX_BODY,
            credentials={"public_key": public},
            clock=lambda: NOW,
        )
    other = base64.b64encode(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    with pytest.raises(CallbackSignatureError):
        telnyx.payloads(
            "POST",
            "https://x.test/",
            headers,
            TELNYX_BODY,
            credentials={"public_key": other},
            clock=lambda: NOW,
        )
    with pytest.raises(StaleCallback, match="no telnyx-timestamp"):
        telnyx.payloads(
            "POST",
            "https://x.test/",
            {"telnyx-signature-ed25519": "AA=="},
            TELNYX_BODY,
            credentials={"public_key": public},
            clock=lambda: NOW,
        )


def test_rsa_public_key_verification(pem_private_key: str) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(pem_private_key.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    data = {
        "verify": {
            "public_key": {
                "algorithm": "rsa_pkcs1v15_sha256",
                "key": "key",
                "header": "X-Sig",
                "input": "{body}",
            }
        }
    }
    callback = Callback.from_data("demo", "push", data)
    body = b'{"id": "m-1"}'
    signature = base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()
    assert callback.payloads("POST", "https://x/", {"X-Sig": signature}, body, credentials={"key": public})
    with pytest.raises(CallbackSignatureError):
        callback.payloads(
            "POST", "https://x/", {"X-Sig": signature}, body + b" ", credentials={"key": public}
        )


def test_an_iso8601_signed_time_may_carry_a_fraction_of_a_second() -> None:
    """Some providers send 7 digits of fractions (.NET's "o" format); the moment is read
    to the microsecond, and the text as sent is what is signed."""
    data = {
        "verify": {
            "timestamp": {"header": "x-timestamp", "style": "iso8601_utc", "tolerance": 60},
            "sign": [
                {
                    "as": "signature",
                    "hmac": {
                        "algorithm": "sha256",
                        "key": "{secret}",
                        "input": "{timestamp}",
                        "output": "hex",
                    },
                }
            ],
            "compare": {"header": "X-Sig", "value": "{signature}"},
        }
    }
    callback = Callback.from_data("demo", "push", data)
    sent = "2023-12-01T15:01:20.0406449Z"
    signature = hmac.new(b"s", sent.encode(), hashlib.sha256).hexdigest()
    headers = {"x-timestamp": sent, "X-Sig": signature}
    signed_at = datetime(2023, 12, 1, 15, 1, 20, 40645, tzinfo=timezone.utc)
    assert callback.payloads(
        "POST", "https://x/", headers, b"{}", credentials={"secret": "s"}, clock=lambda: signed_at
    )
    late = signed_at + timedelta(seconds=61)
    with pytest.raises(StaleCallback):
        callback.payloads(
            "POST", "https://x/", headers, b"{}", credentials={"secret": "s"}, clock=lambda: late
        )
    for malformed in ("2023-12-01T15:01:20.Z", "2023-12-01T15:01:20.0406449123Z", "2023-12-01T15:01:20.5"):
        with pytest.raises(StaleCallback, match="not a iso8601_utc time"):
            callback.payloads(
                "POST",
                "https://x/",
                {**headers, "x-timestamp": malformed},
                b"{}",
                credentials={"secret": "s"},
            )


def test_a_signed_header_the_push_sends_anyway_keeps_its_value_when_signing() -> None:
    """``sign`` (what ``dlrgen mock --push`` sends) gives each signed header a fresh random
    value, except one it sends anyway: the Content-Type stays the body's."""
    data = {
        "verify": {
            "headers": {"content_type": "content-type", "nonce": "X-Nonce"},
            "sign": [
                {
                    "as": "signature",
                    "hmac": {
                        "algorithm": "sha256",
                        "key": "{secret}",
                        "input": "{content_type}.{nonce}.{body}",
                        "output": "hex",
                    },
                }
            ],
            "compare": {"header": "X-Sig", "value": "{signature}"},
        }
    }
    callback = Callback.from_data("demo", "push", data)
    headers = callback.sign("https://x/", b"{}", credentials={"secret": "s"})
    assert headers["Content-Type"] == "application/json" and "content-type" not in headers
    assert headers["X-Nonce"].isdigit() and len(headers["X-Nonce"]) == 20
    expected = hmac.new(
        b"s", f"application/json.{headers['X-Nonce']}.{{}}".encode(), hashlib.sha256
    ).hexdigest()
    assert headers["X-Sig"] == expected
    assert callback.payloads("POST", "https://x/", headers, b"{}", credentials={"secret": "s"})


# -- reading ------------------------------------------------------------------------------


def test_malformed_pushes_are_typed_and_bounded() -> None:
    batch = Callback.from_data("demo", "push", {"format": "json", "array": True})
    assert batch.payloads("POST", "https://x/", {}, b'[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]
    for body in (b'{"a": 1}', b"not json", b"[1, 2]", b"\xff\xfe", b""):
        with pytest.raises(MalformedCallback) as caught:
            batch.payloads("POST", "https://x/", {}, body)
        assert caught.value.http_status == 400 and caught.value.raw_body == body
    big = b"[" + b" " * 5000 + b"]"
    with pytest.raises(MalformedCallback, match="at most 1000") as caught:
        batch.payloads("POST", "https://x/", {}, big, max_bytes=1000)
    assert len(caught.value.raw_body) == 1001 and isinstance(caught.value, DlrError)
    with pytest.raises(MalformedCallback, match="pushed with POST"):
        batch.payloads("GET", "https://x/", {}, b"[]")


def test_unknown_callback_data_is_refused() -> None:
    with pytest.raises(SigningError, match="unknown callback keys"):
        Callback.from_data("demo", "push", {"formats": "json"})
    with pytest.raises(SigningError, match="one of 'compare', 'public_key' and 'jwt', or 'equals' alone"):
        Callback.from_data("demo", "push", {"verify": {"sign": []}})


SIGNED_IN_FIELDS = Callback.from_data(
    "demo",
    "push",
    {
        "format": "form",
        "verify": {
            "fields": {"token": "token"},
            "sign": [
                {"as": "expected", "hash": {"algorithm": "md5", "input": "{token}{key}", "output": "hex"}}
            ],
            "compare": {"field": "signature", "value": "{expected}"},
        },
    },
)


def test_a_signature_among_the_form_fields() -> None:
    """``verify.fields`` and ``compare.field``: md5(token + key), both pushed as fields
    (SUBMAIL's SUBHOOK); the field's text is compared exactly, and ``sign_push`` puts a
    fresh token and the signature in the body."""
    token = "067ef7e2f286a9a56eabb07dc9657852"
    good = hashlib.md5(f"{token}k".encode()).hexdigest()
    body = urlencode({"id": "m", "token": token, "signature": good}).encode()
    assert SIGNED_IN_FIELDS.payloads("POST", "https://me/p", {}, body, credentials={"key": "k"})
    for changed in (
        urlencode({"id": "m", "token": token, "signature": good + " "}).encode(),
        urlencode({"id": "m", "token": token + "0", "signature": good}).encode(),
    ):
        with pytest.raises(CallbackSignatureError, match="signature field"):
            SIGNED_IN_FIELDS.payloads("POST", "https://me/p", {}, changed, credentials={"key": "k"})
    with pytest.raises(CallbackSignatureError, match="no token field"):
        SIGNED_IN_FIELDS.payloads("POST", "https://me/p", {}, b"id=m&signature=x", credentials={"key": "k"})
    _, signed = SIGNED_IN_FIELDS.sign_push("https://me/p", b"id=m&signature=old", credentials={"key": "k"})
    assert SIGNED_IN_FIELDS.payloads("POST", "https://me/p", {}, signed, credentials={"key": "k"})
    assert signed.split(b"&")[-1].startswith(b"signature=") and b"signature=old" not in signed
    with pytest.raises(SigningError, match="use sign_push"):
        SIGNED_IN_FIELDS.sign("https://me/p", b"id=m", credentials={"key": "k"})
    with pytest.raises(SigningError, match="needs a form push"):
        Callback.from_data("demo", "push", {"format": "json", "verify": SIGNED_IN_FIELDS_DATA})


SIGNED_IN_FIELDS_DATA = {
    "fields": {"token": "token"},
    "sign": [{"as": "e", "hash": {"algorithm": "md5", "input": "{token}", "output": "hex"}}],
    "compare": {"field": "signature", "value": "{e}"},
}


class Report(BaseModel):
    id: str
    status: str


def report_receipts(report: Report) -> list[Receipt]:
    status = DeliveryStatus.DELIVERED if report.status == "ok" else DeliveryStatus.FAILED
    return [
        Receipt(
            provider="demo",
            status=status,
            raw_status={"status": report.status},
            message_id=report.id,
            raw=report.model_dump(),
        )
    ]


BATCH = Callback.from_data(
    "demo",
    "push",
    {
        "format": "json",
        "array": True,
        "answer": {"status": 200, "content_type": "application/json", "body": '{"result":0}'},
    },
)


def test_receipts_carry_a_stable_idempotency_key() -> None:
    body = b'[{"id": "m-1", "status": "ok"}, {"id": "m-2", "status": "no"}]'
    first = parse(BATCH, Report, report_receipts, "POST", "https://x/", {}, body)
    again = parse(
        BATCH, Report, report_receipts, "POST", "https://x/", {}, b'[{"status": "ok", "id": "m-1"}]'
    )
    assert [r.status for r in first] == [DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
    keys = [r.idempotency_key for r in first]
    assert all(keys) and keys[0] != keys[1]
    assert again[0].idempotency_key == keys[0]  # the same report, pushed again (members in another order)
    with pytest.raises(MalformedCallback, match="not a Report"):
        parse(BATCH, Report, report_receipts, "POST", "https://x/", {}, b'[{"id": "m-1"}]')


# -- the ASGI app -------------------------------------------------------------------------


def twilio_endpoint() -> Endpoint:
    callback = twilio()

    def parse_push(method: str, url: str, headers: Any, body: bytes) -> list[Receipt]:
        payloads = callback.payloads(method, url, headers, body, credentials={"auth_token": TWILIO_TOKEN})
        return [
            Receipt(provider="twilio_messaging", status=DeliveryStatus.UNKNOWN, raw_status={}, raw=p)
            for p in payloads
        ]

    return Endpoint("twilio_messaging", parse_push, callback.answer, callback.reject)


def demo_endpoint() -> Endpoint:
    return Endpoint(
        "demo",
        lambda m, u, h, b: parse(BATCH, Report, report_receipts, m, u, h, b),
        BATCH.answer,
        BATCH.reject,
        max_bytes=2000,
    )


def post(app: CallbackApp, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://mycompany.com") as client:
            return await client.post(path, content=body, headers=headers or {})

    return asyncio.run(go())


def test_the_app_routes_verifies_answers_and_hands_over_receipts() -> None:
    got: list[tuple[str, list[Receipt]]] = []

    async def handle(name: str, receipts: list[Receipt]) -> None:
        got.append((name, receipts))

    app = CallbackApp(
        {"twilio": twilio_endpoint(), "demo": demo_endpoint()}, handle, public_url="https://mycompany.com"
    )
    signature = twilio().sign(
        "https://mycompany.com/callbacks/twilio?foo=1",
        urlencode(TWILIO_PARAMS).encode(),
        credentials={"auth_token": TWILIO_TOKEN},
    )
    ok = post(app, "/callbacks/twilio?foo=1", urlencode(TWILIO_PARAMS).encode(), signature)
    assert ok.status_code == 200 and got[0][0] == "twilio" and got[0][1][0].raw == TWILIO_PARAMS
    tampered = post(app, "/callbacks/twilio?foo=2", urlencode(TWILIO_PARAMS).encode(), signature)
    assert tampered.status_code == 403 and len(got) == 1
    batch = post(app, "/callbacks/demo", b'[{"id": "m-1", "status": "ok"}]')
    assert (batch.status_code, batch.text, batch.headers["content-type"]) == (
        200,
        '{"result":0}',
        "application/json",
    )
    assert got[1][1][0].message_id == "m-1"
    assert post(app, "/callbacks/demo", b"{").status_code == 400
    assert post(app, "/callbacks/demo", b"[" + b" " * 3000 + b"]").status_code == 413
    assert post(app, "/callbacks/nobody", b"[]").status_code == 404
    assert post(app, "/elsewhere", b"[]").status_code == 404
    assert len(got) == 2


def test_a_failing_handler_answers_500_so_the_provider_pushes_again() -> None:
    def handle(name: str, receipts: list[Receipt]) -> None:
        raise RuntimeError("database down")

    app = CallbackApp({"demo": demo_endpoint()}, handle)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
            return await client.post("/callbacks/demo", content=b'[{"id": "m-1", "status": "ok"}]')

    assert asyncio.run(go()).status_code == 500


def test_the_url_is_rebuilt_from_the_request_without_public_url() -> None:
    seen: list[str] = []

    def parse_push(method: str, url: str, headers: Any, body: bytes) -> list[Receipt]:
        seen.append(url)
        return []

    app = CallbackApp({"x": Endpoint("x", parse_push, Answer(), Answer(403))}, lambda n, r: None)
    assert post(app, "/callbacks/x?a=1&b=%20", b"").status_code == 200
    assert seen == ["https://mycompany.com/callbacks/x?a=1&b=%20"]
    assert "auth" not in repr(app.endpoints["x"])


@pytest.mark.parametrize(
    ("url", "tried"),
    [
        ("https://h.example/p?q=1", ("https://h.example/p?q=1", "https://h.example:443/p?q=1")),
        ("http://h.example/p", ("http://h.example/p", "http://h.example:80/p")),
        ("https://h.example:8443/p#", ("https://h.example/p#", "https://h.example:8443/p#")),
        ("https://u:pw@h.example:443/", ("https://u:pw@h.example/", "https://u:pw@h.example:443/")),
        ("https://[::1]:443/x", ("https://[::1]/x", "https://[::1]:443/x")),
        ("https://h.example:99999/x", ("https://h.example:99999/x",)),  # no port to read
    ],
)
def test_either_port_tries_the_url_without_and_with_its_port(url: str, tried: tuple[str, ...]) -> None:
    """As twilio-python's RequestValidator.validate (remove_port, add_port); the rest of the
    URL is kept as given."""
    from dlr_core.callback_verification import with_and_without_port

    assert with_and_without_port(url) == tried


def test_either_port_is_true_or_false() -> None:
    with pytest.raises(SigningError, match="either_port"):
        Callback.from_data("demo", "push", {**TWILIO, "verify": {**TWILIO["verify"], "either_port": "yes"}})


# -- request headers in the signed text, the unsigned opt-in -------------------------------------

# Sinch's scheme, as specs/sinch_sms.yaml writes it; its published example (sinch-sdk-dotnet's
# WebhooksTests.ValidateRequest) is checked in test_callbacks_providers.py.
NONCE_SIGNED = {
    "verify": {
        "headers": {
            "nonce": "x-sinch-webhook-signature-nonce",
            "signed_at": "x-sinch-webhook-signature-timestamp",
        },
        "sign": [
            {
                "as": "signature",
                "hmac": {
                    "algorithm": "sha256",
                    "key": "{secret}",
                    "input": "{body}.{nonce}.{signed_at}",
                    "output": "base64",
                },
            }
        ],
        "compare": {"header": "x-sinch-webhook-signature", "value": "{signature}"},
    }
}


def test_sign_sends_a_fresh_nonce_in_each_header_the_signature_covers() -> None:
    """What the mock pushes: each verify header gets a new random value, and the signature
    is what Sinch's SDK computes over body, nonce and timestamp (by hand here)."""
    import hmac as hmac_module

    callback = Callback.from_data("demo", "report", NONCE_SIGNED)
    body = b'{"id":"m1"}'
    first = callback.sign("https://hooks.example.com/r", body, credentials={"secret": "k"})
    second = callback.sign("https://hooks.example.com/r", body, credentials={"secret": "k"})
    nonce, signed_at = first["x-sinch-webhook-signature-nonce"], first["x-sinch-webhook-signature-timestamp"]
    assert nonce.isdigit() and len(nonce) == 20 and nonce != second["x-sinch-webhook-signature-nonce"]
    expected = base64.b64encode(
        hmac_module.new(b"k", body + f".{nonce}.{signed_at}".encode(), hashlib.sha256).digest()
    ).decode()
    assert first["x-sinch-webhook-signature"] == expected
    assert callback.payloads("POST", "https://hooks.example.com/r", first, body, credentials={"secret": "k"})
    swapped = {**first, "x-sinch-webhook-signature-nonce": second["x-sinch-webhook-signature-nonce"]}
    with pytest.raises(CallbackSignatureError):
        callback.payloads("POST", "https://hooks.example.com/r", swapped, body, credentials={"secret": "k"})


def test_a_header_listing_several_signatures_verifies_with_any() -> None:
    data = {
        **NONCE_SIGNED,
        "verify": {
            **NONCE_SIGNED["verify"],
            "compare": {"header": "x-sinch-webhook-signature", "value": "{signature}", "separator": ","},
        },
    }
    callback = Callback.from_data("demo", "report", data)
    body = b"{}"
    headers = callback.sign("https://h.example/r", body, credentials={"secret": "k"})
    signature = headers["x-sinch-webhook-signature"]
    for listed in (f"bm90LWl0,{signature}", f"{signature}, bm90LWl0", signature):
        sent = {**headers, "x-sinch-webhook-signature": listed}
        assert callback.payloads("POST", "https://h.example/r", sent, body, credentials={"secret": "k"})
    with pytest.raises(CallbackSignatureError):
        sent = {**headers, "x-sinch-webhook-signature": "bm90LWl0,bm90LWl0"}
        callback.payloads("POST", "https://h.example/r", sent, body, credentials={"secret": "k"})
    plain = Callback.from_data("demo", "report", NONCE_SIGNED)  # no separator: the header is one signature
    with pytest.raises(CallbackSignatureError):
        sent = {**headers, "x-sinch-webhook-signature": f"bm90LWl0,{signature}"}
        plain.payloads("POST", "https://h.example/r", sent, body, credentials={"secret": "k"})


def test_an_unsigned_callback_states_why() -> None:
    callback = Callback.from_data("demo", "report", {"verify": {"unsigned": "The provider signs nothing."}})
    assert callback.verify is None and callback.unsigned == "The provider signs nothing."
    assert callback.payloads("POST", "https://h.example/r", {}, b'{"id": 1}') == [{"id": 1}]


# -- a form field holding the reports as JSON (json_field) --------------------------------

JSON_FIELD = {"format": "form", "json_field": "reports", "array": True, "verify": {"unsigned": "test"}}


def test_a_form_field_holding_a_json_array_gives_each_report() -> None:
    callback = Callback.from_data("demo", "reports", JSON_FIELD)
    reports = [{"sid": 9527, "report_status": "SUCCESS"}, {"sid": 9528, "report_status": "FAIL"}]
    body = urlencode({"reports": json.dumps(reports)}).encode()
    assert callback.payloads("POST", "https://example.com/r", {}, body) == reports
    # encoded a second time, as some senders do: decoded again
    twice = urlencode({"reports": urlencode({"x": json.dumps(reports)})[2:]}).encode()
    assert callback.payloads("POST", "https://example.com/r", {}, twice) == reports


def test_a_json_field_push_without_the_field_or_with_no_json_is_malformed() -> None:
    callback = Callback.from_data("demo", "reports", JSON_FIELD)
    for body in (b"other=1", b"reports=not+json", urlencode({"reports": '{"sid": 1}'}).encode()):
        with pytest.raises(MalformedCallback):  # missing, not JSON, an object where a list is due
            callback.payloads("POST", "https://example.com/r", {}, body)


def test_json_field_belongs_to_a_form_push() -> None:
    with pytest.raises(SigningError, match="json_field"):
        Callback.from_data("demo", "reports", {**JSON_FIELD, "format": "json"})


def test_the_mock_encodes_a_json_field_push_as_the_provider_does() -> None:
    from dlr_core.push import encode

    callback = Callback.from_data("demo", "reports", JSON_FIELD)
    body = encode(callback, {"sid": 1, "report_status": "SUCCESS"})
    assert body == urlencode({"reports": '[{"sid": 1, "report_status": "SUCCESS"}]'}).encode()
    assert callback.payloads("POST", "https://example.com/r", {}, body) == [
        {"sid": 1, "report_status": "SUCCESS"}
    ]
