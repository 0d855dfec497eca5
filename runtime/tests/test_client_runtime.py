"""The client runtime against the spec's own mock, on the hand-written client: retries,
polling until final, malformed answers, and what the mock checks (parameters, timestamps).
(The same against generated packages, where a spec's own data matters: tests/generated/test_runtime.py.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import dlr_core
from apis_in_code import API, CREDENTIALS, GET_REPORT, FakeTime, GetReportParams, Report, client_class
from apis_in_code import run_client as run
from dlr_core import DeliveryStatus, RetryPolicy
from dlr_core.mock import MockProvider


def example_mock(steps: list[dict[str, Any]], operation: str = "get_report", **options: Any) -> MockProvider:
    # The mock checks timestamps against the real clock; the fake clock starts at "now".
    return MockProvider(API, CREDENTIALS, scenario={operation: steps}, **options)


def client(mock: MockProvider, fake: FakeTime, mode: str = "sync", **options: Any) -> Any:
    return client_class(mode)(**CREDENTIALS, base_url=mock.base_url, **fake.options(mode), **options)


def query(**arguments: Any) -> Any:
    return lambda c: c.get_report(message_id="m-1", **arguments)


def report(status: str = "DELIVRD", message_id: str = "m-1") -> dict[str, Any]:
    return {"data": {"msgId": message_id, "status": status}}


# -- retries ---------------------------------------------------------------------------------


def test_flaky_provider_is_retried_to_success(mode: str) -> None:
    fake = FakeTime()
    with example_mock([{"status": 503, "repeat": 2}, report(message_id="m-7")]) as mock:
        result = run(mode, client(mock, fake, mode), query())
    assert result.message_id == "m-7"
    assert len(mock.requests) == 3  # two failures, then success
    assert all(r.authenticated for r in mock.requests)  # every attempt signed afresh and accepted
    policy = RetryPolicy()
    assert len(fake.sleeps) == 2
    assert 0 <= fake.sleeps[0] <= policy.initial_backoff and 0 <= fake.sleeps[1] <= policy.initial_backoff * 2


def test_permanent_failure_stops_at_the_bound_with_the_last_error(mode: str) -> None:
    fake = FakeTime()
    with example_mock([{"status": 503}]) as mock:
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client(mock, fake, mode, retries=RetryPolicy(max_attempts=4)), query())
    assert caught.value.http_status == 503
    assert caught.value.attempts == 4
    assert len(mock.requests) == 4


def test_retries_zero_and_per_call_override(mode: str) -> None:
    fake = FakeTime()
    with example_mock([{"status": 500}]) as mock:
        with pytest.raises(dlr_core.ProviderError):
            run(mode, client(mock, fake, mode, retries=0), query())
        assert len(mock.requests) == 1
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client(mock, fake, mode, retries=0), query(retries=2))
        assert caught.value.attempts == 3 and len(mock.requests) == 4


def test_retryable_provider_code_is_retried_but_auth_and_parameter_errors_never(mode: str) -> None:
    fake = FakeTime()
    # 429 is marked retryable in the error table; 400 is not.
    with example_mock([{"error": 429}, report("ENROUTE")]) as mock:
        assert run(mode, client(mock, fake, mode), query()).status == "ENROUTE"
        assert len(mock.requests) == 2
    with example_mock([{"error": 400}]) as mock:
        with pytest.raises(dlr_core.InvalidRequest):
            run(mode, client(mock, fake, mode, retries=5), query())
        assert len(mock.requests) == 1
    with example_mock([]) as mock:
        bad = client_class(mode)(
            api_key="example-key", api_secret="wrong-secret", base_url=mock.base_url, retries=5
        )
        with pytest.raises(dlr_core.AuthenticationError) as caught:
            run(mode, bad, query())
        assert caught.value.attempts == 1 and len(mock.requests) == 1


def test_retry_after_is_honoured_and_the_deadline_bounds_everything(mode: str) -> None:
    fake = FakeTime()
    with example_mock([{"status": 429, "headers": {"Retry-After": "7"}}, report()]) as mock:
        run(mode, client(mock, fake, mode), query())
    assert fake.sleeps and fake.sleeps[0] >= 7

    fake = FakeTime()
    policy = RetryPolicy(max_attempts=100, initial_backoff=4, max_backoff=4, deadline=10)
    with example_mock([{"status": 503}]) as mock:
        with pytest.raises(dlr_core.ProviderError) as caught:
            run(mode, client(mock, fake, mode, retries=policy), query())
    assert sum(fake.sleeps) <= 10
    assert caught.value.attempts == len(mock.requests) < 100


def test_timeouts_are_retried() -> None:
    fake = FakeTime()
    with example_mock([{"delay": 1.0, **report("ENROUTE")}, report("DELIVRD")]) as mock:
        result = run("sync", client(mock, fake, timeout=0.2), query())
    assert result.status == "DELIVRD" and len(mock.requests) == 2


# -- polling until final ---------------------------------------------------------------------


def reports(*statuses: str) -> list[dict[str, Any]]:
    return [{"data": {"reports": [{"msgId": "m-5", "status": s}]}} for s in statuses]


def test_wait_for_final_follows_a_scripted_progression(mode: str) -> None:
    fake = FakeTime()
    with example_mock(reports("ACCEPTD", "ENROUTE", "ENROUTE", "DELIVRD"), "get_reports") as mock:
        wait = lambda c: c.wait_for_final(message_ids=["m-5"], interval=30, timeout=600)  # noqa: E731
        result = run(mode, client(mock, fake, mode), wait)
    assert result.complete and result.open == []
    assert [r.status for r in result.receipts] == [DeliveryStatus.DELIVERED]
    assert len(mock.requests) == 4
    assert fake.sleeps == [30, 30, 30]


def test_wait_for_final_gives_up_at_the_deadline_and_says_what_is_open(mode: str) -> None:
    fake = FakeTime()
    with example_mock(reports("ENROUTE"), "get_reports") as mock:
        wait = lambda c: c.wait_for_final(message_ids=["m-5"], interval=60, timeout=300)  # noqa: E731
        result = run(mode, client(mock, fake, mode), wait)
    assert not result.complete
    assert [r.status for r in result.open] == [DeliveryStatus.SENDING]
    assert sum(fake.sleeps) <= 300 and len(mock.requests) == len(fake.sleeps) + 1


# -- malformed answers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        {"body": '{"code": 0, "data": {"msgId": "m-1", "sta'},  # truncated JSON
        {"body": {"code": 0, "data": {"msgId": {"not": "text"}}}},  # wrong type
        {"body": {"data": {"msgId": "m-1"}}},  # no envelope code
        {"body": ["a", "list"]},
        {"body": {"code": 0, "data": "a string"}},
    ],
)
def test_malformed_answers_are_typed_errors_with_the_raw_body(step: dict[str, Any]) -> None:
    fake = FakeTime()
    with example_mock([step]) as mock:
        with pytest.raises(dlr_core.ProviderResponseError) as caught:
            run("sync", client(mock, fake), query())
    assert caught.value.raw_body
    assert len(mock.requests) == 1  # a malformed answer is not retried


def test_truncated_json_keeps_the_exact_body() -> None:
    fake = FakeTime()
    with example_mock([{"html": '{"code": 0, "da'}]) as mock:
        with pytest.raises(dlr_core.ProviderResponseError) as caught:
            run("sync", client(mock, fake), query())
    assert caught.value.raw_body == b'{"code": 0, "da'


def test_unknown_values_and_extra_fields_parse() -> None:
    fake = FakeTime()
    answer = {"reports": [{"msgId": "m-3", "status": "BRAND_NEW", "brandNew": {"x": 1}}]}
    with example_mock([{"data": answer}], "get_reports") as mock:
        [receipt] = run("sync", client(mock, fake), lambda c: c.fetch_receipts(message_ids=["m-3"]))
    assert receipt.status is DeliveryStatus.UNKNOWN and receipt.raw_status == {"status": "BRAND_NEW"}
    assert receipt.raw["brandNew"] == {"x": 1}


# -- what the mock checks ----------------------------------------------------------------------


def test_mock_checks_required_parameters() -> None:
    with example_mock([]) as mock:
        with client_class("sync")(**CREDENTIALS, base_url=mock.base_url, retries=0) as sync_client:
            incomplete = GetReportParams.model_construct(message_id=None)
            with pytest.raises(dlr_core.InvalidRequest) as caught:
                sync_client.dlr_call(GET_REPORT, incomplete, Report)
    assert caught.value.code == "400" and "msgId" in caught.value.message
    assert mock.requests[0].authenticated


def test_mock_refuses_stale_timestamps() -> None:
    with example_mock([]) as mock:
        old = lambda: datetime.now(timezone.utc) - timedelta(hours=1)  # noqa: E731
        with client_class("sync")(**CREDENTIALS, base_url=mock.base_url, clock=old, retries=0) as stale:
            with pytest.raises(dlr_core.ClockSkew):
                stale.get_report(message_id="m-1")
