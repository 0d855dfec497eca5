"""End to end: ``dlrgen mock <provider> --push`` pushes a scenario's callbacks, signed as the
provider signs, to ``dlr_core.callbacks.CallbackApp`` served by a real ASGI server (uvicorn)
on 127.0.0.1; the user's function receives the canonical receipts, a tampered push gets the
provider's rejection, and a repeated push is recognisable by its idempotency key."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT
from dlr_core import DeliveryStatus, Receipt
from dlr_core.callbacks import CallbackApp
from generator.commands.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture
def served() -> Iterator[tuple[str, list[tuple[str, list[Receipt]]]]]:
    import uvicorn
    from dlr_tencent_sms.callbacks import callback_endpoint as tencent_endpoint
    from dlr_twilio_messaging.callbacks import callback_endpoint as twilio_endpoint

    got: list[tuple[str, list[Receipt]]] = []

    async def on_receipts(name: str, receipts: list[Receipt]) -> None:
        got.append((name, receipts))

    app = CallbackApp(
        {
            "twilio_messaging": twilio_endpoint(auth_token="push-test-token"),
            "tencent_sms": tencent_endpoint(),
        },
        on_receipts,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", got
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_mock_pushes_twilio_callbacks_to_uvicorn(
    served: tuple[str, list[tuple[str, list[Receipt]]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, got = served
    scenario = tmp_path / "pushes.yaml"
    scenario.write_text(
        """
credentials: {auth_token: push-test-token}
callbacks:
  status_callback:
    - payload: {MessageSid: SM1f0e8ae6ade43cb3c0ce4525424e404f, MessageStatus: sent, To: "+15558675310"}
    - payload: {MessageSid: SM1f0e8ae6ade43cb3c0ce4525424e404f, MessageStatus: delivered, To: "+15558675310"}
      repeat: 2
    - payload: {MessageSid: SM2, MessageStatus: failed, ErrorCode: "30003"}
      tamper: true
""",
        encoding="utf-8",
    )
    code = main(
        [
            "mock",
            "twilio_messaging",
            "--out",
            str(ROOT / "generated"),
            "--scenario",
            str(scenario),
            "--push",
            f"{base}/callbacks/twilio_messaging",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("HTTP 204") == 3 and "pushed status_callback (tampered): HTTP 403" in out
    receipts = [r for name, batch in got for r in batch if name == "twilio_messaging"]
    assert [r.status for r in receipts] == [
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.DELIVERED,
    ]
    assert {r.message_id for r in receipts} == {"SM1f0e8ae6ade43cb3c0ce4525424e404f"}
    keys = [r.idempotency_key for r in receipts]
    assert keys[1] == keys[2] != keys[0]  # the repeat is the same report; the earlier status another


def test_mock_pushes_a_batch_and_a_wrong_receiver_fails_the_command(
    served: tuple[str, list[tuple[str, list[Receipt]]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, got = served
    scenario = tmp_path / "pushes.yaml"
    scenario.write_text(
        """
callbacks:
  status_report:
    - payload:
        - {sid: s-1, report_status: SUCCESS, mobile: "13800000000", errmsg: DELIVRD, user_receive_time: "2026-11-26 10:00:00"}
        - {sid: s-2, report_status: FAIL, mobile: "13800000001", errmsg: MK:0001}
""",
        encoding="utf-8",
    )
    args = ["mock", "tencent_sms", "--out", str(ROOT / "generated"), "--scenario", str(scenario), "--push"]
    assert main([*args, f"{base}/callbacks/tencent_sms"]) == 0
    [(name, receipts)] = got
    assert name == "tencent_sms"
    assert [(r.message_id, r.status) for r in receipts] == [
        ("s-1", DeliveryStatus.DELIVERED),
        ("s-2", DeliveryStatus.UNDELIVERED),
    ]
    capsys.readouterr()
    assert main([*args, f"{base}/callbacks/nobody"]) == 1  # the receiver answered 404
    assert "HTTP 404, expected it accepted" in capsys.readouterr().out


def test_mock_pushes_ed25519_signed_telnyx_webhooks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scenario gives the key pair: the receiver knows the public key, the mock signs with
    the private one, over "<timestamp>|<body>" with a fresh telnyx-timestamp."""
    import base64

    import uvicorn
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from dlr_telnyx_messaging.callbacks import callback_endpoint

    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    got: list[Receipt] = []
    app = CallbackApp(
        {"telnyx": callback_endpoint(public_key=public)}, lambda name, receipts: got.extend(receipts)
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        scenario = tmp_path / "telnyx.yaml"
        indented_pem = "\n".join("    " + line for line in pem.splitlines())
        scenario.write_text(
            f"""
credentials: {{public_key: "{public}"}}
private_keys:
  public_key: |
{indented_pem}
callbacks:
  message_event:
    - payload:
        data:
          event_type: message.finalized
          id: ev-1
          payload:
            id: msg-1
            to: [{{phone_number: "+18665550001", status: delivered}}]
    - payload: {{data: {{event_type: message.finalized, id: ev-2, payload: {{id: msg-2, to: []}}}}}}
      tamper: true
""",
            encoding="utf-8",
        )
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/callbacks/telnyx"
        args = ["mock", "telnyx_messaging", "--out", str(ROOT / "generated"), "--scenario", str(scenario)]
        assert main([*args, "--push", url]) == 0, capsys.readouterr()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert "pushed message_event (tampered): HTTP 403" in capsys.readouterr().out
    [receipt] = got
    assert (receipt.message_id, receipt.recipient, receipt.status) == (
        "msg-1",
        "+18665550001",
        DeliveryStatus.DELIVERED,
    )
    assert receipt.details["event_id"] == "ev-1"


@contextlib.contextmanager
def _serving(app: object) -> Iterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1; yields its origin."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _starlette_example(monkeypatch: pytest.MonkeyPatch, public_url: str | None) -> ModuleType:
    """docs/examples/callbacks_starlette.py, loaded with the mock's test auth token."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "mock-auth-token")
    if public_url is None:
        monkeypatch.delenv("PUBLIC_URL", raising=False)
    else:
        monkeypatch.setenv("PUBLIC_URL", public_url)
    spec = importlib.util.spec_from_file_location(
        "example_local_loop", ROOT / "docs" / "examples" / "callbacks_starlette.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_starlette_examples_local_loop_works_with_no_environment_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`uvicorn callbacks_starlette:app` with a clean environment (no TWILIO_AUTH_TOKEN, no
    PUBLIC_URL): the app logs the `dlrgen mock ... --push` command for its random token;
    run as logged (uvicorn's port aside), every push is accepted, the tampered one refused,
    and the repeat recognised."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(str(p) for p in sorted((ROOT / "generated").glob("dlr_*"))),
    }
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "uvicorn", "--app-dir", str(ROOT / "docs" / "examples")]
        + ["callbacks_starlette:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 20
        while not any("Uvicorn running on" in line for line in lines) and time.monotonic() < deadline:
            assert server.poll() is None, "".join(lines)
            time.sleep(0.05)
        [logged] = [line for line in lines if "TWILIO_AUTH_TOKEN is unset" in line]
        command = shlex.split(logged[logged.index("dlrgen mock") :])
        push = command.index("--push") + 1
        assert command[push] == "http://127.0.0.1:8000/callbacks/twilio_messaging"  # uvicorn's default
        command[push] = f"http://127.0.0.1:{port}/callbacks/twilio_messaging"
        code = main(command[1:])
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.count("pushed status_callback: HTTP 204") == 3, out
        assert "pushed status_callback (tampered): HTTP 403" in out
    finally:
        server.terminate()
        server.wait(10)
        reader.join(10)
    printed = "".join(lines)
    assert (
        printed.count("twilio_messaging SM1f0e8ae6ade43cb3c0ce4525424e404f") == 2
    ), printed  # sent, delivered
    assert "refused a push to twilio_messaging" in printed  # the tampered one, logged


def test_a_push_refused_for_its_url_names_both_urls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The app checks https://hooks.example.com/... (PUBLIC_URL), the mock signed
    http://127.0.0.1:PORT/...: the mock's report names the URL it signed, the server's log
    the URL it checked, and neither the auth token."""
    example = _starlette_example(monkeypatch, public_url="https://hooks.example.com")
    with caplog.at_level(logging.WARNING, logger="dlr_core.callbacks"), _serving(example.app) as base:
        pushed_to = f"{base}/callbacks/twilio_messaging"
        code = main(
            [
                "mock",
                "twilio_messaging",
                "--out",
                str(ROOT / "generated"),
                "--scenario",
                str(ROOT / "docs" / "examples" / "twilio_pushes.yaml"),
                "--push",
                pushed_to,
            ]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert f"the push was signed for the URL {pushed_to};" in out
    logged = [r.getMessage() for r in caplog.records if r.name == "dlr_core.callbacks"]
    assert logged, "no refusal was logged"
    assert all(
        "the URL checked was https://hooks.example.com/callbacks/twilio_messaging (public_url" in line
        for line in logged
    )
    assert "X-Twilio-Signature header signature does not match" in logged[0]
    assert not any("mock-auth-token" in line for line in logged)


def test_mock_pushes_plivo_v3_signed_callbacks_with_a_fresh_nonce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A signature over a request header (X-Plivo-Signature-V3-Nonce): the mock sends a nonce
    and signs over it; the receiver verifies it; a tampered push is refused."""
    from dlr_plivo_sms.callbacks import callback_endpoint

    got: list[Receipt] = []
    app = CallbackApp({"plivo": callback_endpoint(auth_token="mock-auth-token")}, lambda n, r: got.extend(r))
    scenario = tmp_path / "plivo.yaml"
    scenario.write_text(
        """
callbacks:
  message_status:
    - payload: {MessageUUID: u-1, Status: delivered, To: "12401234567", ErrorCode: "000"}
    - payload: {MessageUUID: u-2, Status: failed, To: "12401234567", ErrorCode: "420"}
      tamper: true
""",
        encoding="utf-8",
    )
    with _serving(app) as base:
        args = ["mock", "plivo_sms", "--out", str(ROOT / "generated"), "--scenario", str(scenario)]
        code = main([*args, "--push", f"{base}/callbacks/plivo"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "pushed message_status: HTTP 200" in out and "pushed message_status (tampered): HTTP 403" in out
    [receipt] = got
    assert (receipt.message_id, receipt.status) == ("u-1", DeliveryStatus.DELIVERED)


def test_mock_pushes_the_callbacks_of_a_push_only_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec with callbacks and no operations (tests/cases/callbacks_push_only): its package
    has no API, and `dlrgen mock demo --push` still signs (with its printed test secret) and
    pushes each report to a real server."""
    from generator.pipeline import build

    case = ROOT / "tests" / "cases" / "callbacks_push_only"
    out = tmp_path / "generated"
    for relative, text in build(case / "specs").items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(out / "dlr_demo"))
    for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
        monkeypatch.delitem(sys.modules, name)
    from dlr_demo.callbacks import callback_endpoint

    got: list[Receipt] = []
    app = CallbackApp(
        {"demo": callback_endpoint(webhook_secret="mock-webhook-secret")}, lambda n, r: got.extend(r)
    )
    scenario = tmp_path / "pushes.yaml"
    scenario.write_text(
        """
callbacks:
  status_report:
    - payload: {id: m-1, status: delivered, to: "+15550001"}
    - payload: {id: m-2, status: failed}
      tamper: true
""",
        encoding="utf-8",
    )
    with _serving(app) as base:
        args = [
            "mock",
            "demo",
            "--out",
            str(out),
            "--specs",
            str(case / "specs"),
            "--scenario",
            str(scenario),
        ]
        code = main([*args, "--push", f"{base}/callbacks/demo"])
    out_text = capsys.readouterr().out
    assert code == 0, out_text
    assert "credential webhook_secret = mock-webhook-secret" in out_text
    assert "pushed status_report (tampered): HTTP 403" in out_text
    [receipt] = got
    assert (receipt.message_id, receipt.status) == ("m-1", DeliveryStatus.DELIVERED)
    for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
        del sys.modules[name]


def test_mock_pushes_a_callback_verified_in_code_unsigned_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/cases/callbacks_verified_in_code: the mock cannot sign a push whose check is in
    the receiver's code; it says so and pushes unsigned, so a verifier that lets test pushes
    through accepts them and one that checks a signature refuses them (exit 1)."""
    from generator.pipeline import build

    case = ROOT / "tests" / "cases" / "callbacks_verified_in_code"
    out = tmp_path / "generated"
    for relative, text in build(case / "specs").items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(out / "dlr_demo"))
    for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
        monkeypatch.delitem(sys.modules, name)
    from dlr_core import CallbackSignatureError
    from dlr_demo.callbacks import callback_endpoint

    def lets_tests_through(method: str, url: str, headers: object, body: bytes) -> None:
        return None

    def checks_a_signature(method: str, url: str, headers: object, body: bytes) -> None:
        raise CallbackSignatureError("no X-Demo-Signature", provider="demo")

    got: list[Receipt] = []
    app = CallbackApp(
        {
            "open": callback_endpoint(verifier=lets_tests_through),
            "strict": callback_endpoint(verifier=checks_a_signature),
        },
        lambda n, r: got.extend(r),
    )
    scenario = tmp_path / "pushes.yaml"
    scenario.write_text("callbacks:\n  status_report:\n    - payload: {id: m-1, status: delivered}\n")
    args = ["mock", "demo", "--out", str(out), "--specs", str(case / "specs"), "--scenario", str(scenario)]
    with _serving(app) as base:
        assert main([*args, "--push", f"{base}/callbacks/open"]) == 0
        opened = capsys.readouterr().out
        assert main([*args, "--push", f"{base}/callbacks/strict"]) == 1
        strict = capsys.readouterr().out
    assert "status_report is verified in code (HMAC-SHA256 of the body" in opened
    assert "the mock cannot sign it, so its pushes go unsigned" in opened
    assert "pushed status_report: HTTP 200" in opened
    assert "pushed status_report: HTTP 403, expected it accepted" in strict
    assert [r.message_id for r in got] == ["m-1"]
    for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
        del sys.modules[name]
