"""A request that gets no answer keeps its cause (the httpx error's type and text), with
secrets scrubbed and without the signed request the httpx error holds."""

from __future__ import annotations

import socket
import traceback

import pytest

import dlr_core
from dlr_core.client import TransportCause


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_keeps_its_cause_without_secrets() -> None:
    import dlr_sinch_sms

    client = dlr_sinch_sms.Client(
        service_plan_id="plan",
        api_token="very-secret-token",
        base_url=f"http://127.0.0.1:{_free_port()}",
        retries=0,
    )
    with client, pytest.raises(dlr_core.TransportError) as caught:
        client.get_batch_delivery_report(batch_id="b")
    cause = caught.value.__cause__
    assert isinstance(cause, TransportCause) and "httpx.ConnectError" in str(cause)
    assert not caught.value.request_sent
    shown = "".join(traceback.format_exception(caught.value))
    assert "very-secret-token" not in shown and "ConnectError" in shown
