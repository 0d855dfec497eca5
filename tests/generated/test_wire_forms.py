"""Wire forms beyond a JSON object each way: a request body that is a JSON array (an
``in: body`` parameter), an answer that is a JSON array (a RootModel whose records path is
``[]``), and times a provider documents in several forms (``format: [iso8601, rfc2822]``).
The spec under test is tests/fixtures/wire_forms_example.yaml, run against the mock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dlr_core import DeliveryStatus
from dlr_core.models import time_formats
from dlr_core.testing import MockTransport

from tests.conftest import FIXTURES, run_client
from tests.generator.test_spec_features import cleanup_modules, generate_package  # noqa: F401 - a fixture

CREDENTIALS = {"api_key": "k-123"}


def package_of(tmp_path: Path) -> ModuleType:
    text = (FIXTURES / "wire_forms_example.yaml").read_text(encoding="utf-8")
    return generate_package(tmp_path, "wire_forms_example", text)


def client_of(package: ModuleType, mock: MockTransport, mode: str) -> Any:
    if mode == "sync":
        return mock.client(package.Client, retries=0)
    return mock.async_client(package.AsyncClient, retries=0)


def test_an_array_body_and_an_array_answer_make_receipts(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    package = package_of(tmp_path)
    mock = MockTransport(package.API, CREDENTIALS)  # serves the spec's documented example
    answer = run_client(
        mode, client_of(package, mock, mode), lambda c: c.get_reports(message_ids=["m-1", "m-2"])
    )
    [request] = mock.requests
    assert request.authenticated and request.path == "/v1/reports/lookup"
    assert request.headers["content-type"].startswith("application/json")
    assert json.loads(request.body) == ["m-1", "m-2"]  # the whole body is the array

    assert isinstance(answer, package.Reports)
    first, second = answer.root
    assert (first.message_id, second.message_id) == ("m-1", "m-2")
    receipts = package.get_reports_receipts(answer)
    assert [(r.message_id, r.status) for r in receipts] == [
        ("m-1", DeliveryStatus.DELIVERED),
        ("m-2", DeliveryStatus.FAILED),
    ]
    # RFC 3339 and RFC 2822 forms of the same field, both read (the example has each in each).
    assert receipts[0].submitted_at == datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    assert receipts[0].completed_at == datetime(2026, 12, 7, 10, 0, 5, tzinfo=timezone.utc)
    assert receipts[1].submitted_at == datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    assert receipts[1].completed_at == datetime(2026, 12, 7, 10, 0, 9, 500000, tzinfo=timezone.utc)
    # Receipts keep the values as sent.
    assert receipts[1].raw["submittedAt"] == "Mon, 07 Dec 2026 11:00:00 +0100"


def test_fetch_receipts_batches_the_array_body_and_keeps_the_ids_order(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    package = package_of(tmp_path)
    ids = [f"m-{n}" for n in range(60)]  # max_items 50: two calls

    def answer(request: Any) -> list[dict[str, Any]]:
        asked = json.loads(request.body)
        return [{"messageId": i, "status": "DELIVERED"} for i in reversed(asked) if i != "m-7"]

    mock = MockTransport(package.API, CREDENTIALS, scenario={"get_reports": [{"respond": answer}] * 2})
    found = run_client(mode, client_of(package, mock, mode), lambda c: c.fetch_receipts(message_ids=ids))
    assert [len(json.loads(r.body)) for r in mock.requests] == [50, 10]
    assert [r.message_id for r in found] == ids  # in the order asked, whatever the answers'
    assert found[7].status is DeliveryStatus.UNKNOWN and found[7].details["answered"] is False
    assert all(r.status is DeliveryStatus.DELIVERED for r in found if r.message_id != "m-7")


def test_an_array_answer_with_an_error_status_is_a_typed_error(
    tmp_path: Path, cleanup_modules: None, mode: str
) -> None:
    from dlr_core import ProviderError

    package = package_of(tmp_path)
    mock = MockTransport(
        package.API, CREDENTIALS, scenario={"get_reports": [{"status": 503, "body": [{"messageId": "x"}]}]}
    )
    with pytest.raises(ProviderError) as caught:
        run_client(mode, client_of(package, mock, mode), lambda c: c.get_reports(message_ids=["x"]))
    assert caught.value.http_status == 503 and '"messageId"' in str(caught.value.raw_body)


def test_an_empty_array_body_is_sent_as_an_empty_array(tmp_path: Path, cleanup_modules: None) -> None:
    package = package_of(tmp_path)
    with package.Client(**CREDENTIALS) as client:
        request = client.prepare("get_reports", message_ids=[])
    assert request.content == b"[]" and request.headers["Content-Type"].startswith("application/json")


def test_a_time_in_several_forms_is_read_by_the_first_form_that_fits() -> None:
    read = time_formats("iso8601", "rfc2822", ("yyyy-MM-dd HH:mm:ss", "+08:00"))
    moment = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    assert read("2026-12-07T10:00:00Z") == moment  # RFC 3339
    assert read("Mon, 07 Dec 2026 11:00:00 +0100") == moment  # RFC 2822
    assert read("Mon, 07 Dec 2026 10:00:00 GMT") == moment  # its HTTP-date form
    # The first form that reads a value wins: ISO 8601 reads a zoneless time as UTC, so a
    # pattern for local times goes before it.
    assert read("2026-12-07 18:00:00") == datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)
    local_first = time_formats(("yyyy-MM-dd HH:mm:ss", "+08:00"), "iso8601")
    assert local_first("2026-12-07 18:00:00") == moment
    assert local_first("2026-12-07T10:00:00Z") == moment
    assert read("") is None and read("next week") is None
    # One form alone is what the field used to be: RFC 2822 text is not ISO 8601.
    assert time_formats("iso8601")("Mon, 07 Dec 2026 11:00:00 +0100") is None
    assert time_formats("unix_seconds", "iso8601")(1796637600) == moment
    assert read(moment + timedelta(0)) == moment  # a datetime passes
