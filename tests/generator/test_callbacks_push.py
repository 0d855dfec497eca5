"""``dlrgen mock --push``'s scenario reading and its mistakes, each at its file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from dlr_core.callbacks import Callback
from dlr_core.push import PushScenarioError, encode, read_scenario
from generator.commands.cli import main

FORM = Callback.from_data("demo", "status", {"format": "form"})
ARRAY = Callback.from_data("demo", "batch", {"format": "json", "array": True})


def test_pushes_are_encoded_as_the_provider_sends_them() -> None:
    assert encode(FORM, {"A": "x y", "B": 1, "C": True, "D": None}) == b"A=x+y&B=1&C=true&D="
    assert encode(ARRAY, {"id": "1"}) == b'[{"id": "1"}]'
    assert encode(ARRAY, [{"id": "1"}, {"id": "2"}]) == b'[{"id": "1"}, {"id": "2"}]'
    [step] = read_scenario({"status": FORM}, {"status": [{"payload": {"A": "1"}, "repeat": 3}]})
    assert (step.callback, step.body, step.repeat, step.tamper) == ("status", b"A=1", 3, False)


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"nope": [{"payload": {}}]}, ("nope",), "no callback 'nope'; this provider has: status"),
        ({"status": [{"payload": {}, "repaet": 2}]}, ("status", 0, "repaet"), "unknown key 'repaet'"),
        ({"status": [{"payload": {}, "repeat": 0}]}, ("status", 0, "repeat"), "1 to 100"),
        ({"status": [{"payload": {}, "tamper": True}]}, ("status", 0, "tamper"), "not signed"),
        ({"status": [{"payload": [1]}]}, ("status", 0, "payload"), "a mapping of fields"),
        ({"status": []}, ("status",), "a list of pushes"),
    ],
)
def test_scenario_mistakes_are_located(data: object, path: tuple[object, ...], message: str) -> None:
    with pytest.raises(PushScenarioError, match=message) as caught:
        read_scenario({"status": FORM}, data)
    assert caught.value.path == path


def test_the_command_reports_a_scenario_mistake_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "callbacks:\n  status_callback:\n    - payload: {MessageSid: SM1}\n      tampr: true\n"
    )
    args = ["mock", "twilio_messaging", "--out", str(ROOT / "generated"), "--scenario", str(scenario)]
    assert main([*args, "--push", "http://127.0.0.1:9/"]) == 2
    assert f"{scenario}:4:7: unknown key 'tampr'" in capsys.readouterr().err
    assert main([*args, "--push", "ftp://x/"]) == 2
    assert "an http:// or https:// URL" in capsys.readouterr().err
    without = next(
        path.name[4:]
        for path in sorted((ROOT / "generated").glob("dlr_*"))
        if not (path / path.name / "callbacks.py").exists()
    )
    plain = ["mock", without, "--out", str(ROOT / "generated"), "--scenario", str(scenario)]
    assert main([*plain, "--push", "http://127.0.0.1:9/"]) == 2
    assert f"{without} describes no callbacks" in capsys.readouterr().err


def test_a_public_key_push_without_a_key_gets_a_fresh_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key in the scenario: the mock makes an Ed25519 pair and prints the public key (the
    receiver's credential) before pushing; here nothing listens, so the push fails cleanly."""
    import base64

    scenario = tmp_path / "s.yaml"
    scenario.write_text("callbacks:\n  message_event:\n    - payload: {data: {id: ev-1}}\n", encoding="utf-8")
    args = ["mock", "telnyx_messaging", "--out", str(ROOT / "generated"), "--scenario", str(scenario)]
    assert main([*args, "--push", "http://127.0.0.1:9/"]) == 2
    out, err = capsys.readouterr()
    [line] = [line for line in out.splitlines() if "credential public_key = " in line]
    assert len(base64.b64decode(line.split(" = ", 1)[1])) == 32  # a raw Ed25519 public key
    assert "ConnectError" in err and "Traceback" not in err
