"""The push path's cost (issue #25): a verified form push's body is parsed into fields once,
however many URLs its signature is checked against; an idempotency key is exactly the
hash its docstring defines; the read timeout holds on the event loops CallbackApp serves."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from dlr_core import DeliveryStatus, Receipt
from dlr_core import callback_app, callback_reading, callback_run
from dlr_core.callbacks import CallbackApp, Endpoint, idempotency_key, with_keys

from test_callbacks_runtime import (
    BATCH,
    TWILIO_PARAMS,
    TWILIO_SIGNATURE,
    TWILIO_TOKEN,
    TWILIO_URL,
    demo_endpoint,
    twilio,
)


def test_a_verified_form_push_is_parsed_into_fields_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twilio's published vector: the signature is checked against the URL as given and with
    :443 (either_port), and the payload is the same fields; the body is parsed once for all."""
    body_text = urlencode(TWILIO_PARAMS)
    parsed: list[str] = []

    def counting(text: str, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        parsed.append(text)
        return parse_qsl(text, *args, **kwargs)

    monkeypatch.setattr(callback_run, "parse_qsl", counting)
    monkeypatch.setattr(callback_reading, "parse_qsl", counting)
    [payload] = twilio().payloads(
        "POST",
        TWILIO_URL,
        {"X-Twilio-Signature": TWILIO_SIGNATURE},
        body_text.encode(),
        credentials={"auth_token": TWILIO_TOKEN},
    )
    assert payload == TWILIO_PARAMS
    assert parsed.count(body_text) == 1


def test_a_form_push_that_is_not_utf8_is_refused_as_before() -> None:
    """The fields the signature saw (read with replacement characters) are not what is read
    as the payload: a body that is not UTF-8 is malformed even when its signature matches."""
    from dlr_core import MalformedCallback

    body = b"MessageSid=SM1&To=%2B1&Bad=\xff"
    url = "https://mycompany.com/hook"
    headers = twilio().sign(url, body, credentials={"auth_token": TWILIO_TOKEN})
    with pytest.raises(MalformedCallback, match="not UTF-8"):
        twilio().payloads("POST", url, headers, body, credentials={"auth_token": TWILIO_TOKEN})


def test_the_idempotency_key_is_the_sha256_of_the_receipt_as_canonical_json() -> None:
    """The definition its docstring gives, computed here by hand: keys stored by a receiver
    stay valid across versions only if it never changes."""
    receipt = Receipt(
        provider="demo",
        status=DeliveryStatus.DELIVERED,
        raw_status={"stat": "DELIVRD", "code": 0},
        message_id="m-ü",
        recipient="+4915100000",
        completed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        details={"z": [1, 2.5, None], "a": {"b": "é"}},
        raw={"Zeta": "1", "alpha": {"nested": True}, "text": "日本"},
    )
    data = receipt.model_dump(mode="json", exclude={"idempotency_key"})
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert '"alpha":{"nested":true}' in text and "日本" in text  # sorted, compact, not escaped
    expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert idempotency_key(receipt) == expected
    [keyed] = with_keys([receipt])
    assert keyed.idempotency_key == expected and keyed.model_copy(update={"idempotency_key": None}) == receipt


def _dripping_push(app: CallbackApp) -> list[Mapping[str, Any]]:
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
    return sent


@pytest.mark.parametrize("timeout", ["asyncio", "anyio"])
def test_a_dripping_body_is_answered_408_with_either_timeout(
    timeout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On asyncio (3.11+) the read is bounded by asyncio's own timeout; elsewhere (trio, 3.10)
    by anyio's: both answer a body that never ends 408 and parse nothing."""
    if timeout == "anyio":
        monkeypatch.setattr(callback_app, "_asyncio_timeout", None)
    elif callback_app._asyncio_timeout is None:
        pytest.skip("asyncio.timeout needs Python 3.11")
    got: list[list[Receipt]] = []
    app = CallbackApp(
        {"demo": demo_endpoint()}, lambda name, receipts: got.append(receipts), read_timeout=0.05
    )
    sent = _dripping_push(app)
    assert [m.get("status") for m in sent] == [408, None] and sent[1]["body"] == b"timeout" and got == []


@pytest.mark.parametrize("timeout", ["asyncio", "anyio"])
def test_a_whole_body_within_the_timeout_is_read_with_either_timeout(
    timeout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if timeout == "anyio":
        monkeypatch.setattr(callback_app, "_asyncio_timeout", None)
    got: list[list[Receipt]] = []
    endpoint = Endpoint("demo", demo_endpoint().parse, BATCH.answer, BATCH.reject)
    app = CallbackApp({"demo": endpoint}, lambda name, receipts: got.append(receipts), read_timeout=5)
    sent: list[Mapping[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b'[{"id": "m-1",', "more_body": True},
        {"type": "http.request", "body": b' "status": "ok"}]', "more_body": False},
    ]

    async def receive() -> Mapping[str, Any]:
        return messages.pop(0)

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/callbacks/demo", "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200 and [r.message_id for r in got[0]] == ["m-1"]
