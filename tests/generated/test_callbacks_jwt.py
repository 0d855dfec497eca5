"""The ``jwt`` check of a callback's verify (dlr_core.callbacks): a pushed token that is not
one, or is one in a shape a provider would never send, is refused with the typed error and
never an exception of another kind; its times are checked with the leeway; the claims are
read only once the signature verifies. Tokens are made here with the standard library
(RFC 7515 HS256), not with the runtime's signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from dlr_core import CallbackSignatureError, MalformedCallback, StaleCallback
from dlr_core.callbacks import Callback

KEY = "k3y"
NOW = datetime(2027, 1, 1, tzinfo=timezone.utc)
URL = "https://example.com/push?x=1"
CHECK = Callback.from_data(
    "demo",
    "push",
    {
        "verify": {
            "jwt": {
                "header": "X-Token",
                "key": "{webhook_secret}",
                "claims": [
                    {"key": "url_hash", "value": "{url|sha256_hex}"},
                    {"key": "n", "value": "3"},
                    {"key": "body_hash", "value": "{body|sha256_hex}", "only_if": "{body}"},
                ],
                "required": ["jti"],
                "leeway": 5,
            }
        }
    },
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(claims: Any, header: Any = None, key: str = KEY, raw_claims: bytes | None = None) -> str:
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(raw_claims if raw_claims is not None else json.dumps(claims).encode())
    signature = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def good_claims(**more: Any) -> dict[str, Any]:
    body = b'{"id":"m-1"}'
    return {
        "url_hash": hashlib.sha256(URL.encode()).hexdigest(),
        "n": 3,
        "body_hash": hashlib.sha256(body).hexdigest(),
        "jti": "j-1",
        **more,
    }


def push(text: str, body: bytes = b'{"id":"m-1"}') -> list[dict[str, Any]]:
    return CHECK.payloads(
        "POST", URL, {"X-Token": text}, body, credentials={"webhook_secret": KEY}, clock=lambda: NOW
    )


def test_a_good_token_verifies_and_a_number_claim_compares_as_json() -> None:
    assert push(token(good_claims())) == [{"id": "m-1"}]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!.??.##",
        "e30.e30.",
        "x" * 9000,
        token(good_claims(), header=[1, 2]),
        token(good_claims(), header={"alg": "HS512"}),
        token(good_claims(), header={"alg": "none"}),
        token(good_claims(), header={"alg": "RS256"}),
        token(good_claims(), key="other"),
        token(None, raw_claims=b"[1,2,3]"),
        token(None, raw_claims=b"\xff\xfe"),
        token(None, raw_claims=b"[" * 5000 + b"]" * 5000),
        token(good_claims(jti="")),
        token(good_claims(n="4")),
        token({k: v for k, v in good_claims().items() if k != "url_hash"}),
    ],
)
def test_what_is_not_a_good_token_is_refused_as_a_bad_signature(text: str) -> None:
    with pytest.raises(CallbackSignatureError) as refused:
        push(text)
    assert KEY not in str(refused.value)


def test_a_body_claim_must_be_absent_for_an_empty_body_and_present_otherwise() -> None:
    without = {k: v for k, v in good_claims().items() if k != "body_hash"}
    with pytest.raises(MalformedCallback):  # verified; then an empty body is no report
        push(token(without), body=b"")
    with pytest.raises(CallbackSignatureError, match="body_hash is set"):
        push(token(good_claims()), body=b"")
    with pytest.raises(CallbackSignatureError, match="body_hash is missing"):
        push(token(without))


@pytest.mark.parametrize(
    ("times", "refused"),
    [
        ({"exp": NOW.timestamp() - 4}, False),  # within the 5 s leeway
        ({"exp": NOW.timestamp() - 5}, True),
        ({"nbf": NOW.timestamp() + 5}, False),
        ({"nbf": NOW.timestamp() + 6}, True),
        ({"iat": NOW.timestamp() + 6}, True),
        ({"exp": "tomorrow"}, True),
        ({"exp": True}, True),
    ],
)
def test_times_are_checked_with_the_leeway(times: dict[str, Any], refused: bool) -> None:
    text = token(good_claims(**times))
    if refused:
        with pytest.raises(StaleCallback):
            push(text)
    else:
        assert push(text)


def test_a_non_finite_time_is_refused() -> None:
    raw = json.dumps(good_claims()).encode()[:-1] + b', "exp": NaN}'
    with pytest.raises(StaleCallback, match="not a time"):
        push(token(None, raw_claims=raw))
