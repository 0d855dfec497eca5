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
import logging
import shlex
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import ROOT
from dlr_core.callbacks import MAX_CALLBACK_BYTES

TOKEN = "example-token"
PARAMS = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "To": "+15558675310"}


def sdk_signature(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    """twilio-python's RequestValidator.compute_signature."""
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


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


def push_status(example: ModuleType, signature: str) -> int:
    """A status callback pushed to the example (Flask's view, or the Starlette app) for the
    public URL its PUBLIC_URL names; the HTTP status answered."""
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    if hasattr(example, "twilio_status"):  # Flask
        return int(example.app.test_client().post("/twilio", data=PARAMS, headers=headers).status_code)

    async def go() -> int:
        transport = httpx.ASGITransport(app=example.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as client:
            answer = await client.post(
                "/callbacks/twilio_messaging", content=urlencode(PARAMS), headers=headers
            )
            return answer.status_code

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("callbacks_flask", "https://hooks.example.com/twilio"),
        ("callbacks_starlette", "https://hooks.example.com/callbacks/twilio_messaging"),
    ],
)
def test_examples_without_the_auth_token_check_pushes_against_a_random_token(
    name: str, url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """TWILIO_AUTH_TOKEN unset: the example starts, logs one line naming the command that
    pushes test reports (its token in a file only this user reads, never in the log), and
    refuses a push signed with any other token or with an empty one (fail closed)."""
    with caplog.at_level(logging.WARNING):
        example = load(name, monkeypatch, token=None)
    [line] = [r.getMessage() for r in caplog.records if "TWILIO_AUTH_TOKEN is unset" in r.getMessage()]
    assert "random token of this run" in line and "refused (403" in line
    command = shlex.split(line[line.index("dlrgen mock") :])
    assert command[:3] == ["dlrgen", "mock", "twilio_messaging"]
    assert Path(command[command.index("--scenario") + 1]) == ROOT / "docs" / "examples" / "twilio_pushes.yaml"
    assert Path(command[command.index("--out") + 1]) == ROOT / "generated"
    credential = command[command.index("--credential") + 1]
    assert credential.startswith("auth_token=@")
    token_file = Path(credential.removeprefix("auth_token=@"))
    token = token_file.read_text(encoding="utf-8")
    assert len(token) >= 32 and token not in line
    assert token_file.stat().st_mode & 0o077 == 0  # only this user can read it
    for other in (TOKEN, "mock-auth-token", ""):
        assert push_status(example, sdk_signature(url, PARAMS, other)) == 403
    assert push_status(example, sdk_signature(url, PARAMS, token)) == 204


def test_examples_with_the_auth_token_log_nothing_of_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        load("callbacks_starlette", monkeypatch)
    assert not [r for r in caplog.records if "TWILIO_AUTH_TOKEN" in r.getMessage()]


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
