"""A push whose check the spec format cannot express is verified in code: the spec says
``verify: {in_code: <what the provider does>}`` (tests/cases/callbacks_verified_in_code),
the generated parser and endpoint require a ``verifier`` (``dlr_core.callbacks.
CallbackVerifier``) and never accept a push without it; ``CallbackApp`` answers a refusal
with the provider's rejection (403); ``dlrgen mock --push`` cannot sign such a push."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib
import inspect
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from dlr_core import CallbackSignatureError, DeliveryStatus, Receipt
from dlr_core.callbacks import Callback, CallbackApp
from generator.commands.cli import main
from generator.pipeline import build

CASE = ROOT / "tests" / "cases" / "callbacks_verified_in_code"
KEYS = {"k1": b"first-key", "k2": b"second-key"}  # the provider's keys, by the id it names
BODY = json.dumps({"id": "m-1", "status": "delivered", "to": "+15550001"}).encode()
URL = "https://hooks.example.com/demo"


def signed(body: bytes, key_id: str = "k1") -> dict[str, str]:
    """The headers the case's provider sends, as its spec's in_code text describes: hex
    HMAC-SHA256 of the body, with the key whose id X-Demo-Key-Id names."""
    return {
        "X-Demo-Key-Id": key_id,
        "X-Demo-Signature": hmac.new(KEYS[key_id], body, hashlib.sha256).hexdigest(),
    }


def verify_by_key_id(method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
    """A user's verifier: the check the spec could not express."""
    key = KEYS.get(headers.get("x-demo-key-id", ""))
    expected = hmac.new(key, body, hashlib.sha256).hexdigest() if key else ""
    if not key or not hmac.compare_digest(expected, headers.get("x-demo-signature", "")):
        raise CallbackSignatureError("the X-Demo-Signature does not verify", provider="demo")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The case generated into a folder; its ``dlr_demo.callbacks``."""
    out = tmp_path_factory.mktemp("generated")
    for relative, text in build(CASE / "specs").items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(out / "dlr_demo"))
    for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
        del sys.modules[name]
    try:
        module = importlib.import_module("dlr_demo.callbacks")
        module.generated = out  # type: ignore[attr-defined]
        yield module
    finally:
        sys.path.remove(str(out / "dlr_demo"))
        for name in [m for m in sys.modules if m == "dlr_demo" or m.startswith("dlr_demo.")]:
            del sys.modules[name]


def test_a_verifier_that_accepts_gives_receipts_and_one_that_refuses_refuses(demo: ModuleType) -> None:
    [receipt] = demo.parse_callback("POST", URL, signed(BODY, "k2"), BODY, verifier=verify_by_key_id)
    assert (receipt.message_id, receipt.recipient, receipt.status) == (
        "m-1",
        "+15550001",
        DeliveryStatus.DELIVERED,
    )
    assert receipt.idempotency_key
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def recording(method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        seen.append((method, url, dict(headers), body))

    demo.parse_callback("post", URL, {"X-Demo-Key-Id": "k1"}, BODY, verifier=recording)
    assert seen == [("POST", URL, {"x-demo-key-id": "k1"}, BODY)]  # the push as received, names lowercased
    tampered = BODY.replace(b"m-1", b"m-2")
    with pytest.raises(CallbackSignatureError, match="does not verify"):
        demo.parse_callback("POST", URL, signed(BODY), tampered, verifier=verify_by_key_id)


def test_a_verifier_is_required_and_never_silently_accepts(demo: ModuleType) -> None:
    """No verifier: a TypeError at the call (the parser) or at construction (the endpoint),
    never an accepted push; a verifier returning anything but None (False) is no pass."""
    for function in (demo.parse_status_report, demo.status_report_endpoint):
        parameter = inspect.signature(function).parameters["verifier"]
        assert (
            parameter.kind is inspect.Parameter.KEYWORD_ONLY and parameter.default is inspect.Parameter.empty
        )
    with pytest.raises(TypeError, match="verifier"):
        demo.parse_callback("POST", URL, signed(BODY), BODY)
    with pytest.raises(TypeError, match="verifier"):
        demo.callback_endpoint()
    with pytest.raises(TypeError, match=r"demo status_report is verified in code \(HMAC-SHA256 of the body"):
        demo.callback_endpoint(verifier=None)
    with pytest.raises(TypeError, match="verified in code"):
        demo.parse_callback("POST", URL, signed(BODY), BODY, verifier=None)
    with pytest.raises(TypeError, match="returned False"):
        demo.parse_callback("POST", URL, signed(BODY), BODY, verifier=lambda *push: False)


def test_a_callback_its_spec_verifies_takes_no_verifier() -> None:
    callback = Callback.from_data("demo", "status", {"verify": {"unsigned": "the provider signs nothing"}})
    with pytest.raises(TypeError, match="takes no verifier"):
        callback.payloads("POST", URL, {}, b"{}", verifier=lambda *push: None)
    in_code = Callback.from_data("demo", "status", {"verify": {"in_code": "an HMAC"}})
    assert (in_code.in_code, in_code.verify, in_code.unsigned) == ("an HMAC", None, None)
    assert in_code.sign(URL, b"{}", credentials={}) == {"Content-Type": "application/json"}  # no signature


def test_callback_app_answers_the_verifiers_refusal_with_403(demo: ModuleType) -> None:
    got: list[Receipt] = []
    app = CallbackApp(
        {"demo": demo.callback_endpoint(verifier=verify_by_key_id)},
        lambda name, receipts: got.extend(receipts),
    )

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example.com") as client:
            return [
                (await client.post("/callbacks/demo", content=BODY, headers=headers)).status_code
                for headers in (signed(BODY), {**signed(BODY), "X-Demo-Key-Id": "k2"}, {})
            ]

    assert asyncio.run(go()) == [200, 403, 403]
    assert [r.message_id for r in got] == ["m-1"]


def test_the_readme_example_refuses_until_the_check_is_written(demo: ModuleType) -> None:
    readme = (demo.generated / "dlr_demo" / "README.md").read_text(encoding="utf-8")
    assert (
        "- Verified by: your verifier (in code): HMAC-SHA256 of the body, hex in X-Demo-Signature, with the "
        "signing key whose id the X-Demo-Key-Id header names (keys are fetched from the provider's key API)."
        in readme
    )
    [example] = re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    namespace: dict[str, Any] = {"__name__": "example"}
    exec(compile(example, "README", "exec"), namespace)  # noqa: S102
    with pytest.raises(CallbackSignatureError):
        namespace["on_push"](URL, signed(BODY), BODY)


def test_the_mock_will_not_tamper_with_a_push_it_cannot_sign(
    demo: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "pushes.yaml"
    scenario.write_text(
        "callbacks:\n  status_report:\n    - payload: {id: m-1, status: delivered}\n      tamper: true\n",
        encoding="utf-8",
    )
    args = ["mock", "demo", "--out", str(demo.generated), "--specs", str(CASE / "specs")]
    assert main([*args, "--scenario", str(scenario), "--push", "http://127.0.0.1:9/callbacks/demo"]) == 2
    assert (
        f"{scenario}:4:7: status_report is verified in code, which the mock cannot sign: a tampered push "
        "cannot be told apart" in capsys.readouterr().err
    )
