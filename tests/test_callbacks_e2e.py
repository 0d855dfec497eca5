"""End to end: ``dlrgen mock <provider> --push`` pushes a scenario's callbacks, signed as the
provider signs, to ``dlr_core.callbacks.CallbackApp`` served by a real ASGI server (uvicorn)
on 127.0.0.1; the user's function receives the canonical receipts, a tampered push gets the
provider's rejection, and a repeated push is recognisable by its idempotency key."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT
from dlr_core import DeliveryStatus, Receipt
from dlr_core.callbacks import CallbackApp
from generator.cli import main

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
