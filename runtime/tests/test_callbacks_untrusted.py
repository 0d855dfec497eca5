"""A push endpoint faces the internet: whatever arrives, verification fails closed, the
body is read under bounds, and every refusal is a typed error (a 4xx from CallbackApp),
never a crash."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest

from dlr_core import CallbackSignatureError, MalformedCallback, Receipt
from dlr_core.callbacks import MAX_FORM_FIELDS, Callback, CallbackApp, Endpoint, parse
from dlr_core.signing import SigningError

from test_callbacks_runtime import (
    BATCH,
    TWILIO_PARAMS,
    TWILIO_TOKEN,
    TWILIO_URL,
    Report,
    report_receipts,
    twilio,
)


def _twilio_signature(key: bytes, url: str, params: Mapping[str, str]) -> str:
    data = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(key, data.encode(), hashlib.sha1).digest()).decode()


def test_an_empty_secret_verifies_nothing() -> None:
    """A token left empty (an unset environment variable) must not make an HMAC with the
    empty key, which anyone can compute, a valid signature."""
    forged = _twilio_signature(b"", TWILIO_URL, TWILIO_PARAMS)
    with pytest.raises(CallbackSignatureError, match="auth_token is empty") as caught:
        twilio().payloads(
            "POST",
            TWILIO_URL,
            {"X-Twilio-Signature": forged},
            urlencode(TWILIO_PARAMS).encode(),
            credentials={"auth_token": ""},
        )
    assert forged not in str(caught.value)
    # the same scheme with the token set still verifies (the function above is Twilio's)
    genuine = _twilio_signature(TWILIO_TOKEN.encode(), TWILIO_URL, TWILIO_PARAMS)
    [payload] = twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": genuine},
        urlencode(TWILIO_PARAMS).encode(),
        credentials={"auth_token": TWILIO_TOKEN},
    )
    assert payload == TWILIO_PARAMS


def test_a_form_with_too_many_fields_is_refused_before_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(
        "dlr_core.callback_run.push_values_each", lambda *a, **k: ran.append("verify") or [{}], raising=True
    )
    body = b"&".join(b"f%d=1" % i for i in range(MAX_FORM_FIELDS + 1))
    with pytest.raises(MalformedCallback, match=f"more than {MAX_FORM_FIELDS} fields"):
        twilio().payloads(
            "POST", TWILIO_URL, {"X-Twilio-Signature": "x"}, body, credentials={"auth_token": TWILIO_TOKEN}
        )
    assert ran == []


def test_a_form_at_the_field_limit_is_read() -> None:
    params = {f"f{i:04d}": "1" for i in range(MAX_FORM_FIELDS)}
    signature = _twilio_signature(TWILIO_TOKEN.encode(), TWILIO_URL, params)
    [payload] = twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": signature},
        urlencode(params).encode(),
        credentials={"auth_token": TWILIO_TOKEN},
    )
    assert payload == params


def _batch(body: bytes) -> list[Receipt]:
    return parse(BATCH, Report, report_receipts, "POST", "https://x/", {}, body)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"id": "m-1", "status": "ok", "x": ' + b"[" * 65 + b"]" * 65 + b"}]",
        b'[{"id": "m-1", "status": "ok", "x": ' + b"[" * 900 + b"]" * 900 + b"}]",
        b'[{"id": "m-1", "status": "ok", "x": ' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}]",
    ],
    ids=["65-deep", "900-deep-arrays", "900-deep-objects"],
)
def test_json_nested_deeper_than_64_levels_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedCallback, match="nests deeper than 64"):
        _batch(body)


def test_json_nested_64_levels_is_read() -> None:
    body = b'[{"id": "m-1", "status": "ok", "x": ' + b"[" * 62 + b"]" * 62 + b"}]"
    [receipt] = _batch(body)
    assert receipt.message_id == "m-1" and receipt.idempotency_key


@pytest.mark.parametrize("text", [rb'"\ud800"', rb'"a\udfff"', rb'"\udc00\ud800"'])
def test_a_lone_surrogate_is_malformed(text: bytes) -> None:
    body = b'[{"id": ' + text + b', "status": "ok"}]'
    with pytest.raises(MalformedCallback, match="not Unicode text"):
        _batch(body)


def test_an_escaped_surrogate_pair_is_read() -> None:
    [receipt] = _batch(rb'[{"id": "\ud83d\ude00", "status": "ok"}]')
    assert receipt.message_id == "\U0001f600" and receipt.idempotency_key


# -- CallbackApp -------------------------------------------------------------------------------


def _call(
    app: CallbackApp, messages: list[dict[str, Any]]
) -> tuple[list[Mapping[str, Any]], BaseException | None]:
    sent: list[Mapping[str, Any]] = []
    queue = list(messages)

    async def receive() -> Mapping[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/callbacks/demo",
        "headers": [],
        "scheme": "https",
        "query_string": b"",
    }
    try:
        asyncio.run(app(scope, receive, send))
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return sent, exc
    return sent, None


def test_a_push_cut_off_by_a_disconnect_is_not_handed_over() -> None:
    got: list[list[Receipt]] = []
    endpoint = Endpoint("demo", lambda m, u, h, b: _batch(b), BATCH.answer, BATCH.reject)
    app = CallbackApp({"demo": endpoint}, lambda name, receipts: got.append(receipts))
    whole = b'[{"id": "m-1", "status": "ok"}]'
    sent, error = _call(app, [{"type": "http.request", "body": whole, "more_body": True}])
    assert got == [] and sent == [] and error is None
    sent, error = _call(app, [{"type": "http.request", "body": whole}])  # the same push, complete
    assert len(got) == 1 and sent[0]["status"] == 200 and error is None


def test_an_unexpected_error_while_parsing_answers_500_without_its_text() -> None:
    def parse_push(method: str, url: str, headers: Any, body: bytes) -> list[Receipt]:
        raise SigningError("the public key is not a valid key: s3cret-material")

    app = CallbackApp({"demo": Endpoint("demo", parse_push, BATCH.answer, BATCH.reject)}, lambda n, r: None)
    sent, error = _call(app, [{"type": "http.request", "body": b"[]"}])
    assert [m.get("status") for m in sent] == [500, None]
    assert sent[1]["body"] == b"error"
    assert isinstance(error, SigningError)  # re-raised for the server's log


def test_a_url_query_with_too_many_fields_is_malformed_not_a_crash() -> None:
    """The query is part of what Twilio signs and comes from the request line, which
    anyone writes: past the limit it is refused as malformed."""
    url = "https://mycompany.com/callbacks/twilio?" + "&".join(f"q{i}=1" for i in range(MAX_FORM_FIELDS + 1))
    with pytest.raises(MalformedCallback, match=f"more than {MAX_FORM_FIELDS} fields"):
        twilio().payloads(
            "POST",
            url,
            {"X-Twilio-Signature": "x"},
            urlencode(TWILIO_PARAMS).encode(),
            credentials={"auth_token": TWILIO_TOKEN},
        )


@pytest.mark.parametrize("name", ["host", "path", "path_and_query", "timestamp"])
def test_a_credential_is_never_replaced_by_what_the_push_says(name: str) -> None:
    """The push's own values (its URL's host and path, its signed time) are written by
    whoever sends it: a credential of the same name must not take their value, or the
    sender would choose the key."""
    callback = Callback.from_data(
        "demo",
        "push",
        {
            "verify": {
                "timestamp": {"header": "X-Time", "style": "unix_seconds", "tolerance": 1e12},
                "sign": [
                    {
                        "as": "digest",
                        "hmac": {
                            "algorithm": "sha256",
                            "key": f"{{{name}}}",
                            "input": "{body}",
                            "output": "hex",
                        },
                    }
                ],
                "compare": {"header": "X-Sig", "value": "{digest}"},
            }
        },
    )
    url, stamp = "https://attacker.example/p?q=1", "1700000000"
    chosen = {"host": "attacker.example", "path": "/p", "path_and_query": "/p?q=1", "timestamp": stamp}[name]
    body = b'{"id": "m-1"}'
    forged = hmac.new(chosen.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(CallbackSignatureError):
        callback.payloads("POST", url, {"X-Sig": forged, "X-Time": stamp}, body, credentials={name: "s3cret"})


def test_a_body_dripping_past_the_read_timeout_is_answered_408() -> None:
    """A sender who never finishes the body (a slow drip) does not hold the request open:
    the whole body must arrive within ``read_timeout`` seconds."""
    got: list[list[Receipt]] = []
    endpoint = Endpoint("demo", lambda m, u, h, b: _batch(b), BATCH.answer, BATCH.reject)
    app = CallbackApp({"demo": endpoint}, lambda name, receipts: got.append(receipts), read_timeout=0.05)
    sent: list[Mapping[str, Any]] = []
    chunks = [{"type": "http.request", "body": b"[", "more_body": True}]

    async def receive() -> Mapping[str, Any]:
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()  # the rest never comes
        raise AssertionError("unreachable")

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/callbacks/demo", "headers": [], "query_string": b""}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    assert [m.get("status") for m in sent] == [408, None] and got == []


def test_a_hostile_host_header_is_a_typed_refusal() -> None:
    """Without public_url the signed URL is built from the Host header, which the sender
    writes: one that makes no URL is malformed (400), not a crash."""
    app = CallbackApp(
        {"twilio": Endpoint("twilio_messaging", _twilio_parse, twilio().answer, twilio().reject)},
        lambda n, r: None,
    )
    for host, status in ((b"[", 400), (b"h:[9", 400), (b"mycompany.com", 403)):
        sent: list[Mapping[str, Any]] = []

        async def receive() -> Mapping[str, Any]:
            return {"type": "http.request", "body": urlencode(TWILIO_PARAMS).encode()}

        async def send(message: Mapping[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/callbacks/twilio",
            "headers": [(b"host", host), (b"x-twilio-signature", b"AAAA")],
            "query_string": b"",
        }
        asyncio.run(app(scope, receive, send))
        assert sent[0]["status"] == status, host


def _twilio_parse(method: str, url: str, headers: Any, body: bytes) -> list[Receipt]:
    twilio().payloads(method, url, headers, body, credentials={"auth_token": TWILIO_TOKEN})
    return []


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("https://h/x?\ud800=1", {"X-Twilio-Signature": "AAAA"}),
        ("https://h/x", {"X-Twilio-Signature": "AA\udc80AA"}),
    ],
    ids=["url", "signature"],
)
def test_text_that_is_not_unicode_is_refused_not_a_crash(url: str, headers: dict[str, str]) -> None:
    """A framework handing over text decoded with surrogateescape (undecodable bytes as lone
    surrogates) gets the typed refusal."""
    with pytest.raises(CallbackSignatureError):
        twilio().payloads(
            "POST", url, headers, urlencode(TWILIO_PARAMS).encode(), credentials={"auth_token": TWILIO_TOKEN}
        )
