"""The one-file examples of docs/examples/ (Starlette, Flask) receive a Twilio status
callback signed with twilio-python's algorithm, refuse a tampered one, and de-duplicate a
repeated push by its idempotency key."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib.util
import io
import sys
from types import ModuleType
from urllib.parse import urlencode

import httpx
import pytest

from conftest import ROOT
from dlr_core.callbacks import MAX_CALLBACK_BYTES

TOKEN = "example-token"
PARAMS = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": "+15558675310"}


def sdk_signature(url: str, params: dict[str, str]) -> str:
    """twilio-python's RequestValidator.compute_signature."""
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(TOKEN.encode(), text.encode(), hashlib.sha1).digest()).decode()


def load(name: str, monkeypatch: pytest.MonkeyPatch, token: str | None = TOKEN) -> ModuleType:
    if token is None:
        monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    else:
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    monkeypatch.setenv("PUBLIC_URL", "https://hooks.example.com")
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", ROOT / "docs" / "examples" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_starlette_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    example = load("callbacks_starlette", monkeypatch)
    url = "https://hooks.example.com/callbacks/twilio_messaging"
    body = urlencode(PARAMS).encode()

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=example.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
            codes = []
            for signature in (
                sdk_signature(url, PARAMS),
                sdk_signature(url, PARAMS),
                "x" + sdk_signature(url, PARAMS)[1:],
            ):
                answer = await client.post(
                    "/callbacks/twilio_messaging",
                    content=body,
                    headers={
                        "X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
                codes.append(answer.status_code)
            return codes

    assert asyncio.run(go()) == [204, 204, 403]
    assert capsys.readouterr().out.count(PARAMS["MessageSid"]) == 1  # the repeat was recognised


def test_flask_example(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    example = load("callbacks_flask", monkeypatch)
    client = example.app.test_client()
    url = "https://hooks.example.com/twilio?account=1"
    signature = sdk_signature(url, PARAMS)
    for _ in range(2):
        answer = client.post("/twilio?account=1", data=PARAMS, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 204
    assert (
        client.post("/twilio?account=2", data=PARAMS, headers={"X-Twilio-Signature": signature}).status_code
        == 403
    )
    assert (
        client.post("/twilio?account=1", data="x", headers={"X-Twilio-Signature": signature}).status_code
        == 403
    )
    assert capsys.readouterr().out.count(PARAMS["MessageSid"]) == 1


def test_flask_example_reads_no_more_than_a_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask's get_data() reads whatever arrives: the example caps the body (413), as
    CallbackApp does, before the view reads it."""
    example = load("callbacks_flask", monkeypatch)
    client = example.app.test_client()
    body = b"a=" + b"x" * (1024 * 1024)
    headers = {"X-Twilio-Signature": "x", "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/twilio", data=body, headers=headers).status_code == 413
    # chunked, as a WSGI server hands it over: no Content-Length to refuse it by; Flask
    # reads one byte past the limit, and the parser refuses the push as too large
    endless = io.BytesIO(body * 8)
    chunked = client.post(
        "/twilio",
        input_stream=endless,
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 400 and endless.tell() == MAX_CALLBACK_BYTES + 1


@pytest.mark.parametrize("name", ["callbacks_flask", "callbacks_starlette"])
def test_examples_refuse_to_start_without_the_auth_token(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset TWILIO_AUTH_TOKEN is a startup error, not an empty key."""
    with pytest.raises(KeyError, match="TWILIO_AUTH_TOKEN"):
        load(name, monkeypatch, token=None)


def test_flask_example_rebuilds_the_url_from_the_request_without_public_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PUBLIC_URL unset: the view checks the URL the request came to (Flask's test client:
    http://localhost/...), so a push signed for it verifies and one signed for another
    origin is refused."""
    example = load("callbacks_flask", monkeypatch)
    monkeypatch.setattr(example, "PUBLIC_URL", None)
    client = example.app.test_client()
    local = sdk_signature("http://localhost/twilio", PARAMS)
    assert client.post("/twilio", data=PARAMS, headers={"X-Twilio-Signature": local}).status_code == 204
    public = sdk_signature("https://hooks.example.com/twilio", PARAMS)
    assert client.post("/twilio", data=PARAMS, headers={"X-Twilio-Signature": public}).status_code == 403
