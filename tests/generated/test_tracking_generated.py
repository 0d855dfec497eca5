"""The delivery tracker (dlr_core.tracking) over the generated packages, found in the specs,
never listed here: each package's lookup takes the spec's declared rate limit (or the
documented default), and a package whose ``fetch_receipts`` looks many ids up is polled in
batches of the spec's id limit, on the spec's schedule, its example answer reaching a
tracked message's history through the in-process mock."""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import catalog_providers
from tests.generated.test_id_lookups import LOOKUPS, _arguments, _credential
from dlr_core.testing import MockTransport
from dlr_core.tracking import RateLimit, Source, Tracker, by_ids, per_message
from dlr_core.tracking.lookup import DEFAULT_BATCH_SIZE
from generator import model as m

PROVIDERS = [p for p in catalog_providers() if p.operations]
# Lookups by many ids whose ids are the message ids a tracker holds (a lookup by another id,
# a batch or session number, is not a message's).
BATCHED = [
    (p, op)
    for p, op in LOOKUPS
    if op.receipts and op.receipts.ids_many and op.receipts.ids_field == "message_id"
]


def _client(provider: m.Provider, **options: Any) -> Any:
    package = importlib.import_module(provider.package)
    credentials = {c.name: _credential(c) for c in provider.auth.credentials}
    return package.Client(**credentials, auth_scheme=provider.auth.default_scheme, **options)


def test_some_spec_declares_a_rate_limit_and_some_package_looks_many_ids_up() -> None:
    assert any(p.polling.rate_limit for p in PROVIDERS) and BATCHED


@pytest.mark.parametrize("provider", PROVIDERS, ids=[p.id for p in PROVIDERS])
def test_the_declared_rate_limit_reaches_the_tracker(provider: m.Provider) -> None:
    client = _client(provider, base_url="https://provider.example.com")
    lookup = per_message(client, lambda message: {})
    declared = provider.polling.rate_limit
    if declared is None:
        assert lookup.rate_limit == RateLimit(10, timedelta(seconds=1))  # docs/spec-format.md's default
    else:
        period = timedelta(seconds=declared.per_seconds or 1)
        assert lookup.rate_limit == RateLimit(declared.requests, period)
        assert lookup.batch_size <= declared.requests  # one call a message: a batch fits the limit


@pytest.mark.parametrize(("provider", "operation"), BATCHED, ids=[p.id for p, _ in BATCHED])
def test_a_batched_lookup_tracks_the_examples_status(provider: m.Provider, operation: m.Operation) -> None:
    package = importlib.import_module(provider.package)
    plan = operation.receipts
    assert plan is not None and plan.ids_param is not None
    credentials = {c.name: _credential(c) for c in provider.auth.credentials}
    spec = next(o for o in package.API.operations if o.name == operation.name)
    reader = _client(provider, base_url="https://provider.example.com")
    result = reader._read(200, json.dumps(spec.example).encode(), getattr(package, operation.response_class))
    [example, *_] = getattr(package, plan.function_name)(result)
    assert example.message_id

    mock = MockTransport(package.API, credentials, max_clock_skew=None)
    client = mock.client(package.Client, auth_scheme=provider.auth.default_scheme)
    others = {k: v for k, v in _arguments(operation, plan, None).items() if k != plan.ids_param}
    lookup = by_ids(client, plan.ids_param, **others)
    ids_param = next(p for p in operation.params if p.name == plan.ids_param)
    # The spec's id limit, or the tracker's default batch for an operation that states none.
    assert lookup.batch_size == ids_param.json_schema.get("maxItems", DEFAULT_BATCH_SIZE)
    if provider.polling.first_check_after is not None:
        assert lookup.schedule.first_check_after == timedelta(seconds=provider.polling.first_check_after)

    sent_at = datetime.now(timezone.utc)
    tracker = Tracker(
        "sqlite:///:memory:", lookups=[lookup], clock=lambda: sent_at + lookup.schedule.first_check_after
    )
    tracker.track(provider.id, example.message_id, sent_at=sent_at)
    assert tracker.work().polled == 1
    [change] = tracker.history(provider.id, example.message_id)
    assert (change.status, change.source) == (example.status, Source.POLL)
    assert [r.authenticated for r in mock.requests] == [True]
