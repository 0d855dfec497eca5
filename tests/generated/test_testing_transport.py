"""dlr_core.testing as users get it: the ``dlr_mock`` fixture serving a generated client,
the README's examples, and misspelt scenario keys in a file at their line. (MockTransport's
checks and scenarios on an API built in code: runtime/tests/test_mock_transport.py.)"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_client
from dlr_core import DeliveryStatus
from dlr_core.testing import MockTransport
from generator.commands.cli import main

SINCH = {"service_plan_id": "plan-1", "api_token": "token-1"}


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)


def test_the_fixture_serves_a_client_without_sockets(dlr_mock: Any, no_sockets: None, mode: str) -> None:
    import dlr_sinch_sms

    mock = dlr_mock(dlr_sinch_sms.API, SINCH)
    client_class = dlr_sinch_sms.Client if mode == "sync" else dlr_sinch_sms.AsyncClient
    make = mock.client if mode == "sync" else mock.async_client
    with_client = make(client_class)
    [receipt] = run_client(
        mode,
        with_client,
        lambda c: c.fetch_receipts(batch_id="01J06CY78GZ2F74YZNNH2VBWR6", recipient_msisdn="+447000000003"),
    )
    assert receipt.status is DeliveryStatus.SENT  # the spec's example: Dispatched
    [request] = mock.requests
    assert request.authenticated and request.operation == "get_recipient_delivery_report"
    assert request.path.endswith("/delivery_report/%2B447000000003")  # as sent, encoded


def test_dlrgen_mock_reports_a_misspelt_key_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "operations:\n  get_batch_delivery_report:\n    - status: 200\n    - stauts: 503\n", encoding="utf-8"
    )
    assert main(["mock", "sinch_sms", "--port", "0", "--scenario", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert f"{scenario}:4:7: get_batch_delivery_report step 2: unknown key 'stauts'" in err


def test_the_readme_example_runs(no_sockets: None) -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    examples = [b for b in blocks if "dlr_mock" in b]
    assert len(examples) == 2  # a sync client's test and an async client's
    for example in examples:
        namespace: dict[str, Any] = {}
        exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - our own README
        tests = [value for name, value in namespace.items() if name.startswith("test_")]
        assert tests
        for test in tests:
            test(MockTransport)  # what the dlr_mock fixture gives
