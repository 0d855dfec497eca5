"""dlr_core.testing.MockTransport: a provider served from its spec in process (no socket,
no thread), with the mock's checks and scenarios; misspelt scenario keys are errors naming
them. On the hand-written client over an API built in code. (The ``dlr_mock`` fixture as
users get it, and ``dlrgen mock``'s scenario files: tests/generated/test_testing_transport.py.)"""

from __future__ import annotations

import socket
from typing import Any

import pytest

import dlr_core
from apis_in_code import API, CREDENTIALS, ReportClient, client_class, run_client
from dlr_core.mock import ScenarioError
from dlr_core.testing import MockTransport


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)


def test_a_client_of_either_kind_is_served_without_sockets(no_sockets: None, mode: str) -> None:
    mock = MockTransport(API, CREDENTIALS)
    make = mock.client if mode == "sync" else mock.async_client
    report = run_client(mode, make(client_class(mode)), lambda c: c.get_report(message_id="m/1"))
    assert report.status == "DELIVRD"  # the operation's example
    [request] = mock.requests
    assert request.authenticated and request.operation == "get_report"
    assert ("msgId", "m/1") in request.query


def test_a_wrong_secret_is_refused_as_the_provider_would(no_sockets: None) -> None:
    mock = MockTransport(API, CREDENTIALS)
    client = ReportClient(**{**CREDENTIALS, "api_secret": "wrong"}, http_client=mock.http_client())
    with client, pytest.raises(dlr_core.AuthenticationError):
        client.get_report(message_id="m-1")


def test_scenarios_script_the_answers(no_sockets: None) -> None:
    mock = MockTransport(API, CREDENTIALS, scenario={"get_report": [{"status": 503}, {"error": "x"}]})
    with mock.client(ReportClient, retries=0) as client:
        with pytest.raises(dlr_core.ProviderError) as first:
            client.get_report(message_id="m-1")
        assert first.value.http_status == 503
        with pytest.raises(dlr_core.ProviderError) as second:
            client.get_report(message_id="m-1")
        assert second.value.code == "x"
    # The error envelope comes with HTTP 200, as this API's envelope says errors do.
    assert [r.status for r in mock.requests] == [503, 200]


def test_a_misspelt_scenario_key_is_an_error_naming_it() -> None:
    with pytest.raises(ScenarioError) as caught:
        MockTransport(API, CREDENTIALS, scenario={"get_report": [{"stauts": 503}]})
    assert "'stauts'" in str(caught.value) and "did you mean status?" in str(caught.value)
    assert caught.value.path == ("get_report", 0, "stauts")
    with pytest.raises(ScenarioError, match="did you mean get_report"):
        MockTransport(API, CREDENTIALS, scenario={"get_reprt": []})
