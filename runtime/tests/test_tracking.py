"""The delivery tracker (dlr_core.tracking) on SQLite, driven through the hand-written
client of apis_in_code.py against the in-process mock: messages progress per id the way a
provider's reports do (no report yet, then sending, then final), the tracker's clock is
a fake one, and each test runs with the sync client and tracker and with the async ones."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from apis_in_code import API, CREDENTIALS, STATUSES, FakeTime, api, client_class
from dlr_core import DeliveryStatus, PollingHints, Receipt
from dlr_core.callbacks import Answer, CallbackApp, Endpoint, with_keys
from dlr_core.testing import MockTransport
from dlr_core.tracking import (
    AsyncTracker,
    HandlerRetry,
    MessageKey,
    PollSchedule,
    RateLimit,
    RateLimits,
    Source,
    StatusChange,
    TrackedMessage,
    Tracker,
    TrackingState,
    by_ids,
    per_message,
    push_only,
)
from dlr_core.tracking.cli import main as dlr_track

HERE = Path(__file__).resolve().parent
PROVIDER = API.provider
SCHEDULE = PollSchedule(
    first_check_after=timedelta(seconds=10),
    interval=timedelta(seconds=10),
    backoff=2.0,
    max_interval=timedelta(seconds=30),
    give_up_after=timedelta(seconds=100),
)
"""Polls at 10, 20, 40, 70 and 100 s after sending; given up after the one at 100 s."""


class Provider:
    """The mock's ``get_reports``: each id's reports in turn, one a poll (the last repeats);
    None, or an id without reports, is left out of the answer (no report yet)."""

    def __init__(
        self, progress: dict[str, list[str | None]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.progress = progress
        self.clock = clock
        self.asked: list[list[str]] = []
        self.times: list[float] = []
        """When each poll arrived."""
        self.during_poll: Callable[[], None] | None = None
        self.failures = 0
        """Polls to fail (the mock answers 500) before answering again."""

    def respond(self, request: Any) -> dict[str, Any]:
        asked = [value for name, value in request.form if name.startswith("MsgIds.")]
        self.asked.append(asked)
        self.times.append(self.clock())
        if self.during_poll is not None:
            self.during_poll()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the provider is down")
        reports = []
        for message_id in asked:
            steps = self.progress.get(message_id) or [None]
            status = steps.pop(0) if len(steps) > 1 else steps[0]
            if status is not None:
                reports.append({"msgId": message_id, "status": status})
        return {"reports": reports}


_OPENED: list[Any] = []


def opened(tracker: Any) -> Any:
    """``tracker``, its store closed at the end of the test (a PostgreSQL store holds a pool
    of connections)."""
    _OPENED.append(tracker)
    return tracker


@pytest.fixture(autouse=True)
def _close_trackers() -> Any:
    yield
    while _OPENED:
        _OPENED.pop().store.close()


class Harness:
    """A tracker of ``mode``'s kind on a SQLite file, its client on the mock, a fake clock."""

    def __init__(
        self,
        mode: str,
        url: str,
        progress: dict[str, list[str | None]] | None = None,
        *,
        handler: Callable[[StatusChange], Any] | None = None,
        schedule: PollSchedule = SCHEDULE,
        handler_retry: HandlerRetry = HandlerRetry(),
        lookup: str = "by_ids",
        rate_limit: RateLimit | None = None,
        batch_size: int | None = None,
    ) -> None:
        self.mode = mode
        self.time = FakeTime()
        self.provider = Provider(progress or {}, self.time.monotonic)
        self.mock = MockTransport(
            API, CREDENTIALS, scenario={"get_reports": [{"respond": self.provider.respond}]}
        )
        self.client = self.mock.client(client_class(mode), retries=0)
        self.url = url
        self.seen: list[StatusChange] = []
        if lookup == "by_ids":
            polling = by_ids(
                self.client, "message_ids", schedule=schedule, rate_limit=rate_limit, batch_size=batch_size
            )
        else:
            arguments: Callable[[TrackedMessage], dict[str, Any]] = lambda m: {"message_ids": [m.message_id]}
            polling = per_message(self.client, arguments, schedule=schedule, rate_limit=rate_limit)
        self.lookup = polling
        self.rate_limits = RateLimits(self.time.monotonic)  # the process's rate windows, on the fake time
        self.tracker: Any = self.another_tracker(
            handler=handler or self.seen.append, handler_retry=handler_retry
        )

    def another_tracker(self, **options: Any) -> Any:
        """A tracker of the same process (the same rate limits) on the same store."""
        kind = Tracker if self.mode == "sync" else AsyncTracker
        sleep = self.time.sleep if self.mode == "sync" else self.time.async_sleep
        return opened(
            kind(
                self.url,
                lookups=[self.lookup],
                clock=self.time.clock,
                sleep=sleep,
                rate_limits=self.rate_limits,
                **options,
            )
        )

    def run(self, result: Any) -> Any:
        return asyncio.run(result) if self.mode == "async" else result

    def work(self) -> Any:
        return self.run(self.tracker.work())

    def ingest(self, receipts: list[Receipt]) -> list[StatusChange]:
        changes: list[StatusChange] = self.run(self.tracker.ingest(receipts))
        return changes

    def later(self, seconds: float) -> Any:
        """Let ``seconds`` pass, then work one round."""
        self.time.now += timedelta(seconds=seconds)
        return self.work()

    def track(self, *ids: str, sent_at: datetime | None = None) -> None:
        for message_id in ids:
            self.run(
                self.tracker.track(PROVIDER, message_id, sent_at=sent_at or self.time.now, recipient="+100")
            )

    def status(self, message_id: str) -> tuple[DeliveryStatus | None, TrackingState]:
        message = self.get(message_id)
        return message.status, message.state

    def get(self, message_id: str) -> Any:
        return self.run(self.tracker.get(PROVIDER, message_id))

    def history(self, message_id: str) -> list[tuple[DeliveryStatus, TrackingState, Source]]:
        return [(c.status, c.state, c.source) for c in self.changes(message_id)]

    def changes(self, message_id: str) -> list[StatusChange]:
        changes: list[StatusChange] = self.run(self.tracker.history(PROVIDER, message_id))
        return changes


def pushed(message_id: str, status: DeliveryStatus, key: str | None = None) -> Receipt:
    return Receipt(
        provider=PROVIDER,
        status=status,
        raw_status={"status": status.value},
        message_id=message_id,
        raw={},
        idempotency_key=key or f"push-{message_id}-{status.value}",
    )


S, D, U = DeliveryStatus.SENDING, DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED
OPEN, FINAL, EXPIRED = TrackingState.OPEN, TrackingState.FINAL, TrackingState.EXPIRED
POLL, PUSH = Source.POLL, Source.PUSH


def test_messages_reach_their_final_status_by_poll(mode: str, store_url: str) -> None:
    h = Harness(
        mode, store_url, {"m-1": [None, "ENROUTE", "DELIVRD"], "m-2": ["UNDELIV"], "m-3": ["ENROUTE"]}
    )
    h.track("m-1", "m-2", "m-3")
    assert h.work().polled == 0 and h.provider.asked == []  # not due before the first check
    h.later(10)
    assert h.provider.asked == [["m-1", "m-2", "m-3"]]  # one call for the batch
    assert h.status("m-1") == (None, OPEN) and h.status("m-2") == (U, FINAL) and h.status("m-3") == (S, OPEN)
    h.later(10)
    assert h.provider.asked[-1] == ["m-1", "m-3"]  # the final one is never asked for again
    h.later(20)
    assert h.status("m-1") == (D, FINAL)
    assert h.history("m-1") == [(S, OPEN, POLL), (D, FINAL, POLL)]
    assert h.history("m-2") == [(U, FINAL, POLL)]
    # The handler got each change once, in order per message, with stable keys.
    assert [(c.message_id, c.status) for c in h.seen] == [("m-2", U), ("m-3", S), ("m-1", S), ("m-1", D)]
    assert [c.key for c in h.seen if c.message_id == "m-1"] == [
        f"{PROVIDER}/m-1/open/sending",
        f"{PROVIDER}/m-1/final/delivered",
    ]
    assert h.seen[0].recipient == "+100" and h.seen[0].raw_status == {"status": "UNDELIV"}
    assert h.tracker.store.pending_changes() == 0


def test_a_message_finalised_by_a_push_is_never_polled(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {"m-1": ["ENROUTE"], "m-2": ["ENROUTE"]})
    h.track("m-1", "m-2")
    [change] = h.ingest([pushed("m-1", D, key="k-1")])
    assert (change.status, change.state, change.source, change.receipt_key) == (D, FINAL, PUSH, "k-1")
    for _ in range(5):
        h.later(30)
    assert all(asked == ["m-2"] for asked in h.provider.asked) and h.provider.asked
    assert h.history("m-1") == [(D, FINAL, PUSH)]
    assert [c.key for c in h.seen if c.message_id == "m-1"] == [f"{PROVIDER}/m-1/final/delivered"]


def test_a_final_by_poll_and_by_push_is_one_final_event(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {"m-1": ["DELIVRD"]})
    h.track("m-1")
    h.later(10)
    # The provider pushes the same report, twice (a retried push): nothing new.
    assert h.ingest([pushed("m-1", D)]) == [] and h.ingest([pushed("m-1", D)]) == []
    # A different final afterwards does not replace the first one.
    assert h.ingest([pushed("m-1", U)]) == []
    h.later(60)
    assert h.history("m-1") == [(D, FINAL, POLL)]
    assert [(c.status, c.source) for c in h.seen] == [(D, POLL)]


def test_a_callback_app_hands_pushes_to_the_tracker(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {"m-1": ["ENROUTE"]})
    h.track("m-1")

    def parse_push(method: str, url: str, headers: Any, body: bytes) -> list[Receipt]:
        report = json.loads(body)
        status = STATUSES[report["status"]]
        receipt = Receipt(
            provider=PROVIDER, status=status, raw_status=report, message_id=report["msgId"], raw=report
        )
        return with_keys([receipt])

    app = CallbackApp(
        {"example": Endpoint(PROVIDER, parse_push, Answer(), Answer(403))}, h.tracker.on_receipts
    )

    async def push(body: bytes) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://hooks.example.com") as client:
            return (await client.post("/callbacks/example", content=body)).status_code

    report = b'{"msgId": "m-1", "status": "DELIVRD"}'
    assert asyncio.run(push(report)) == 200 and asyncio.run(push(report)) == 200  # pushed again
    [change] = h.changes("m-1")
    assert (change.status, change.source) == (D, PUSH) and change.receipt_key
    assert change.receipt_key == parse_push("POST", "", {}, report)[0].idempotency_key
    h.later(60)
    assert h.provider.asked == [] and [c.key for c in h.seen] == [change.key]


def test_a_late_poll_never_takes_a_status_back(mode: str, store_url: str) -> None:
    # The push of "delivered" arrives (through another tracker on the same file, as a web
    # process would take it) while a poll is in flight; the poll answers "sending".
    h = Harness(mode, store_url, {"m-1": ["ENROUTE"], "m-2": ["ENROUTE"]})
    web = Tracker(h.url)
    h.track("m-1", "m-2")
    h.provider.during_poll = lambda: web.ingest([pushed("m-1", D)])
    h.later(10)
    assert h.status("m-1") == (D, FINAL) and h.status("m-2") == (S, OPEN)
    assert h.history("m-1") == [(D, FINAL, PUSH)]
    # An open status pushed after a further one was polled is not taken either.
    assert h.ingest([pushed("m-2", DeliveryStatus.QUEUED)]) == []
    assert h.history("m-2") == [(S, OPEN, POLL)]
    h.provider.during_poll = None
    h.later(30)
    assert h.provider.asked[-1] == ["m-2"]  # the pushed final ended m-1's polling
    web.close()


def test_polls_back_off_and_retention_expiry_ends_polling(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {"m-1": [None]})  # never a report
    sent = h.time.now
    h.track("m-1", sent_at=sent)
    polled_at = []
    for _ in range(30):
        if h.later(5).polled:
            polled_at.append((h.time.now - sent).total_seconds())
    # First after the report delay, then each wait twice the last, up to 30 s, the last at
    # the end of the retention.
    assert polled_at == [10, 20, 40, 70, 100]
    assert h.status("m-1") == (DeliveryStatus.UNKNOWN, EXPIRED)
    [change] = h.seen
    assert (change.status, change.state, change.source) == (DeliveryStatus.UNKNOWN, EXPIRED, Source.SCHEDULE)
    # A final push arriving later still settles it; an open one does not.
    assert h.ingest([pushed("m-1", S)]) == []
    [late] = h.ingest([pushed("m-1", D)])
    assert (late.status, late.state) == (D, FINAL)
    assert len(h.provider.asked) == 5


def test_back_off_stops_growing_however_long_it_goes_on() -> None:
    retry = HandlerRetry(first=timedelta(seconds=1), factor=2.0, longest=timedelta(minutes=10))
    assert [retry.delay(n).total_seconds() for n in (1, 2, 3, 10, 11, 100_000)] == [1, 2, 4, 512, 600, 600]
    sent = datetime(2026, 1, 1, tzinfo=timezone.utc)
    schedule = PollSchedule(give_up_after=timedelta(days=365))
    later = sent + timedelta(days=30)
    assert schedule.next_poll(sent, 100_000, later) == later + timedelta(minutes=30)


def test_the_schedule_and_batch_size_come_from_the_spec(mode: str) -> None:
    hints = PollingHints(
        first_check_after=timedelta(minutes=5),
        interval=timedelta(minutes=2),
        give_up_after=timedelta(hours=12),
    )
    lookup = by_ids(client_class(mode, api(polling=hints))(**CREDENTIALS), "message_ids")
    assert lookup.batch_size == 100  # get_reports' message_ids: max_items 100
    assert lookup.schedule == PollSchedule(
        first_check_after=timedelta(minutes=5),
        interval=timedelta(minutes=2),
        max_interval=timedelta(minutes=30),
        give_up_after=timedelta(hours=12),
    )
    assert lookup.rate_limit == RateLimit(10, timedelta(seconds=1))  # the documented default
    limited = api(polling=PollingHints(rate_limit=100, rate_period=timedelta(minutes=1)))
    assert by_ids(client_class(mode, limited)(**CREDENTIALS), "message_ids").rate_limit == RateLimit(
        100, timedelta(minutes=1)
    )
    assert lookup.provider == PROVIDER


def test_polls_keep_under_the_rate_limit_across_the_trackers_of_a_process(mode: str, store_url: str) -> None:
    h = Harness(
        mode,
        store_url,
        {f"m-{i}": ["ENROUTE"] for i in range(7)},
        rate_limit=RateLimit(2, timedelta(seconds=1)),
        batch_size=1,  # one call a message
    )
    other = h.another_tracker()
    h.track(*[f"m-{i}" for i in range(7)])
    h.time.now += timedelta(seconds=10)
    assert h.run(h.tracker.poll(max_batches=3)) == 3
    assert h.run(other.poll()) == 4
    times = h.provider.times
    assert len(times) == 7
    # Never more than 2 calls within a second, the two trackers together; the first two at once.
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[2:])), times
    assert times == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0]


def test_due_messages_are_polled_in_batches_of_the_id_limit(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {f"m-{i:03d}": ["DELIVRD"] for i in range(250)})
    ids = [f"m-{i:03d}" for i in range(250)]
    h.run(
        h.tracker.track_many(
            PROVIDER, ids, sent_at=h.time.now, recipients={"m-007": "+107"}, tags={"batch": 1}
        )
    )
    assert h.get("m-007").recipient == "+107" and h.get("m-008").recipient is None
    assert h.later(10).polled == 250
    assert [len(asked) for asked in h.provider.asked] == [100, 100, 50]
    assert len(h.seen) == 250 and {c.status for c in h.seen} == {D}


def test_a_push_only_provider_is_never_called_and_gives_open_messages_up(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url)
    h.lookup = push_only(PROVIDER, give_up_after=timedelta(hours=1))
    h.tracker = h.another_tracker(handler=h.seen.append)
    h.track("m-1", "m-2")
    h.ingest([pushed("m-1", D)])
    h.later(3599)
    assert h.status("m-2") == (None, OPEN)
    h.later(1)
    assert h.status("m-2") == (DeliveryStatus.UNKNOWN, EXPIRED) and h.status("m-1") == (D, FINAL)
    assert h.provider.asked == [] and [(c.message_id, c.source) for c in h.seen] == [
        ("m-1", PUSH),
        ("m-2", Source.SCHEDULE),
    ]


def test_workers_in_threads_never_poll_a_message_twice(store_url: str) -> None:
    # Three trackers (three connections to the file) polling at once, in batches of 5, the
    # provider taking a while to answer (so that the threads interleave).
    provider = Provider({f"m-{i:03d}": ["DELIVRD"] for i in range(60)})
    provider.during_poll = lambda: time.sleep(0.01)
    mock = MockTransport(API, CREDENTIALS, scenario={"get_reports": [{"respond": provider.respond}]})
    url, sent = store_url, datetime.now(timezone.utc) - timedelta(hours=1)
    trackers = [
        Tracker(
            url, lookups=[by_ids(mock.client(client_class("sync"), retries=0), "message_ids", batch_size=10)]
        )
        for _ in range(3)
    ]
    trackers[0].track_many(PROVIDER, [f"m-{i:03d}" for i in range(60)], sent_at=sent)
    polled: list[int] = []
    threads = [threading.Thread(target=lambda t=t: polled.append(t.poll())) for t in trackers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    asked = sorted(m for batch in provider.asked for m in batch)
    assert asked == [f"m-{i:03d}" for i in range(60)] and sum(polled) == 60  # each once
    assert {trackers[2].get(PROVIDER, f"m-{i:03d}").state for i in range(60)} == {FINAL}
    for tracker in trackers:
        tracker.close()


@pytest.mark.parametrize("renewed", [True, False], ids=["renewed", "not-renewed"])
def test_a_worker_still_polling_renews_its_leases(mode: str, store_url: str, renewed: bool) -> None:
    """The provider takes twice the lease to answer a batch. A worker renewing its leases
    meanwhile (every 10 ms of real time here) keeps the batch: another worker claiming then
    gets nothing. Without renewal (once an hour), the other worker takes the batch over."""
    lease = timedelta(seconds=30)
    h = Harness(mode, store_url, {"m-1": ["DELIVRD"], "m-2": ["DELIVRD"]})
    taken_over: list[TrackedMessage] = []

    def lease_kept() -> bool:
        row = h.tracker.store.get(MessageKey(PROVIDER, "m-1"))
        return bool(row.lease_until and row.lease_until > h.time.now)

    def another_worker_claims() -> None:
        now = h.time.now
        taken_over.extend(h.tracker.store.claim_due(PROVIDER, now, 10, "another-worker", now + lease))

    answer = h.lookup.fetch
    deadline = 10.0 if renewed else 0.3  # real seconds to wait for a renewal

    def slow_fetch(batch: Any) -> Any:
        h.time.now += 2 * lease
        if mode == "sync":
            until = time.monotonic() + deadline
            while not lease_kept() and time.monotonic() < until:
                time.sleep(0.005)
            another_worker_claims()
            return answer(batch)

        async def slowly() -> Any:
            until = time.monotonic() + deadline
            while not lease_kept() and time.monotonic() < until:
                await asyncio.sleep(0.005)
            another_worker_claims()
            return await answer(batch)

        return slowly()

    h.lookup = dataclasses.replace(h.lookup, fetch=slow_fetch)
    h.tracker = h.another_tracker(
        handler=h.seen.append,
        lease=lease,
        renew_every=timedelta(milliseconds=10) if renewed else timedelta(hours=1),
    )
    h.track("m-1", "m-2")
    assert h.later(10).polled == 2
    if renewed:
        assert taken_over == []
        assert h.status("m-1") == (D, FINAL) and h.get("m-1").lease_owner is None
    else:
        assert sorted(m.message_id for m in taken_over) == ["m-1", "m-2"]
        # The late answer is still merged; the other worker's lease stays (it is polling).
        assert h.status("m-1") == (D, FINAL) and h.get("m-1").lease_owner == "another-worker"


def test_renewing_leases_keeps_only_the_owners_own(store_url: str) -> None:
    tracker = opened(Tracker(store_url))
    now = datetime.now(timezone.utc)
    tracker.track_many(PROVIDER, ["m-1", "m-2", "m-3"], sent_at=now - timedelta(hours=1))
    store, soon, later = tracker.store, now + timedelta(seconds=60), now + timedelta(seconds=600)
    mine = store.claim_due(PROVIDER, now, 2, "me", soon)
    assert [m.message_id for m in mine] == ["m-1", "m-2"]
    store.claim_due(PROVIDER, now, 1, "them", soon)  # m-3
    keys = [MessageKey(PROVIDER, m) for m in ("m-1", "m-2", "m-3")]
    assert store.renew_leases(keys, "me", later) == keys[:2]
    assert [store.get(key).lease_until for key in keys] == [later, later, soon]
    assert store.renew_leases([], "me", later) == []
    # Once my lease ran out and another worker took the message, it is not renewed to me.
    store.claim_due(PROVIDER, later, 1, "them", later + timedelta(seconds=60))
    assert store.renew_leases(keys[:1], "me", later + timedelta(seconds=600)) == []
    assert store.get(keys[0]).lease_owner == "them"


@pytest.mark.parametrize("renewed", [True, False], ids=["renewed", "not-renewed"])
def test_a_slow_handler_keeps_its_changes(mode: str, store_url: str, renewed: bool) -> None:
    """The handler takes twice the lease over a change. A worker renewing its leases of the
    changes it hands over (every 10 ms of real time here) keeps them: another worker claiming
    then gets nothing. Without renewal (once an hour), the other worker takes the change over
    (and hands it over again: at least once)."""
    lease = timedelta(seconds=30)
    h = Harness(mode, store_url, {"m-1": ["DELIVRD"]})
    h.tracker = h.another_tracker(
        handler=lambda change: slow_handler(change),
        lease=lease,
        renew_every=timedelta(milliseconds=10) if renewed else timedelta(hours=1),
    )
    store = h.tracker.store
    renewal, taken_over = threading.Event(), []
    renew = store.renew_change_leases

    def renew_and_tell(*arguments: Any) -> list[int]:
        renewed_ids: list[int] = renew(*arguments)
        renewal.set()
        return renewed_ids

    store.renew_change_leases = renew_and_tell
    deadline = 10.0 if renewed else 0.3  # real seconds to wait for a renewal

    def another_worker_claims() -> None:
        now = h.time.now
        taken_over.extend(store.claim_changes(now, 10, "another-worker", now + lease))

    def slow_handler(change: StatusChange) -> Any:
        h.seen.append(change)
        h.time.now += 2 * lease
        if mode == "sync":
            renewal.wait(deadline)
            another_worker_claims()
            return None

        async def slowly() -> None:
            until = time.monotonic() + deadline
            while not renewal.is_set() and time.monotonic() < until:
                await asyncio.sleep(0.005)
            another_worker_claims()

        return slowly()

    h.track("m-1")
    assert h.later(10).delivered == 1
    assert [change.status for change in h.seen] == [D]
    if renewed:
        assert taken_over == []
    else:
        assert [pending.change for pending in taken_over] == h.seen
    assert store.pending_changes() == 0  # settled by the first worker either way
    assert renewal.is_set() == renewed


def test_renewing_change_leases_keeps_only_the_owners_own(store_url: str) -> None:
    h = Harness("sync", store_url, {"m-1": ["DELIVRD"], "m-2": ["DELIVRD"], "m-3": ["DELIVRD"]})
    h.track("m-1", "m-2", "m-3")
    h.time.now += timedelta(seconds=10)
    assert h.tracker.poll() == 3  # three changes in the outbox, not handed over yet
    store, now, lease = h.tracker.store, h.time.now, timedelta(seconds=60)
    soon, later = now + timedelta(seconds=60), now + timedelta(seconds=600)
    mine = [pending.id for pending in store.claim_changes(now, 2, "me", soon)]
    [theirs] = [pending.id for pending in store.claim_changes(now, 1, "them", soon)]
    assert store.renew_change_leases([*mine, theirs], "me", later) == mine
    assert store.renew_change_leases([], "me", later) == []
    # At ``soon`` the two renewed are still mine; the one not renewed is free again.
    assert [pending.id for pending in store.claim_changes(soon, 10, "them", later)] == [theirs]
    # Once my leases ran out and another worker took the changes, they are not renewed to me.
    assert [pending.id for pending in store.claim_changes(later, 2, "them", later + lease)] == mine
    assert store.renew_change_leases(mine, "me", later + timedelta(seconds=600)) == []


def test_a_per_message_lookup_polls_each_message(mode: str, store_url: str) -> None:
    h = Harness(
        mode,
        store_url,
        {"m-1": ["DELIVRD"], "m-2": ["ENROUTE"], "m-3": ["ENROUTE"]},
        lookup="per_message",
        rate_limit=RateLimit(2, timedelta(seconds=1)),
    )
    assert h.lookup.batch_size == 2  # as many calls as the limit allows at once
    h.track("m-1", "m-2", "m-3")
    h.later(10)
    assert h.provider.asked == [["m-1"], ["m-2"], ["m-3"]]
    assert h.provider.times[1] == h.provider.times[0] and h.provider.times[2] - h.provider.times[1] == 1.0
    assert h.status("m-1") == (D, FINAL) and h.status("m-2") == (S, OPEN)


def test_a_failing_handler_gets_the_change_again_later_in_order(mode: str, store_url: str) -> None:
    calls: list[tuple[str, DeliveryStatus]] = []

    def handler(change: StatusChange) -> None:
        calls.append((change.message_id, change.status))
        if change.message_id == "m-1" and calls.count(("m-1", S)) <= 2:
            raise RuntimeError("database down")

    retry = HandlerRetry(first=timedelta(seconds=4), factor=2.0, longest=timedelta(seconds=60))
    h = Harness(
        mode,
        store_url,
        {"m-1": ["ENROUTE", "DELIVRD"], "m-2": ["DELIVRD"]},
        handler=handler,
        handler_retry=retry,
    )
    h.track("m-1", "m-2")
    assert h.later(10).failed == 1
    assert calls == [("m-1", S), ("m-2", D)]
    h.later(3)  # before the first retry (4 s)
    assert calls[-1] == ("m-2", D)
    assert h.later(1).failed == 1  # retried at 4 s, fails again; next in 8 s
    h.later(6)  # m-1 polled again: delivered, queued behind the sending it has not taken yet
    assert h.status("m-1") == (D, FINAL) and calls.count(("m-1", D)) == 0
    h.later(2)
    assert calls == [("m-1", S), ("m-2", D), ("m-1", S), ("m-1", S), ("m-1", D)]
    assert h.tracker.store.pending_changes() == 0


def test_a_failed_poll_is_retried_after_the_interval_without_counting(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {"m-1": ["DELIVRD"]})
    h.provider.failures = 1
    h.track("m-1")
    h.later(10)
    message = h.get("m-1")
    assert message.state is OPEN and message.polls == 0 and message.lease_owner is None
    assert message.due_at == h.time.now + timedelta(seconds=10)
    h.later(10)
    assert h.status("m-1") == (D, FINAL)


def test_a_push_before_track_is_kept_and_track_adds_to_it(mode: str, store_url: str) -> None:
    h = Harness(mode, store_url, {"m-1": ["ENROUTE"]})
    [change] = h.ingest([pushed("m-1", DeliveryStatus.SENT)])
    assert h.get("m-1").due_at is None  # not polled before track says when it was sent
    h.run(h.tracker.track(PROVIDER, "m-1", sent_at=h.time.now, tags={"campaign": "spring"}))
    message = h.get("m-1")
    assert message.status is DeliveryStatus.SENT and message.tags == {"campaign": "spring"}
    h.later(10)
    assert h.history("m-1") == [(DeliveryStatus.SENT, OPEN, PUSH)]  # "sending" polled later: not taken


def test_the_cli_counts_by_provider_and_status_and_names_the_oldest_open_message(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = Harness("sync", store_url, {"m-1": ["DELIVRD"], "m-2": ["ENROUTE"], "m-3": ["ENROUTE"]})
    h.track("m-1")
    h.track("m-2", sent_at=h.time.now - timedelta(seconds=5))
    h.track("m-3")
    h.later(10)
    out = io.StringIO()
    assert dlr_track([h.url], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["provider", "state", "status", "messages"]
    assert [line.split() for line in lines[1:3]] == [
        [PROVIDER, "final", "delivered", "1"],
        [PROVIDER, "open", "sending", "2"],
    ]
    assert f"oldest open message: {PROVIDER} m-2" in out.getvalue()
    out = io.StringIO()
    assert dlr_track([h.url, "--history", PROVIDER, "m-1"], out) == 0
    assert out.getvalue().splitlines()[1].split()[1:4] == ["delivered", "final", "poll"]
    capsys.readouterr()
    assert dlr_track(["mysql://admin:hunter2@db.example.com/dlr"], io.StringIO()) == 2
    assert "hunter2" not in capsys.readouterr().err  # a store URL's password is never shown
    # It reads a store, never makes one.
    if store_url.startswith("sqlite"):
        assert dlr_track([f"sqlite:///{tmp_path / 'typo.db'}"], io.StringIO()) == 2
        assert not (tmp_path / "typo.db").exists()
    else:
        typo = store_url.replace("search_path%3D", "search_path%3Dtypo_")
        assert dlr_track([typo], io.StringIO()) == 2
        assert "no tracker store" in capsys.readouterr().err
        assert dlr_track([typo.replace("//dlr@", "//dlr:hunter2@")], io.StringIO()) == 2
        assert "hunter2" not in capsys.readouterr().err


def kill_when_started(script: str, started: Path) -> None:
    """Run ``script`` in a worker process and SIGKILL it once it has written ``started``."""
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the worker never got where it is killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
@pytest.mark.serial  # timed kills: run alone
def test_a_worker_killed_mid_batch_loses_no_message_and_no_change(store_url: str, tmp_path: Path) -> None:
    """A worker process polls 250 due messages in batches of 100; it is SIGKILLed while the
    provider answers its second batch (the first is recorded). Another worker takes over the
    killed one's batch once its lease runs out, and every message's change reaches the
    handler."""
    started = tmp_path / "second-batch"
    kill_when_started(
        f"""
        import os, sys, time
        from datetime import datetime, timedelta, timezone
        sys.path.insert(0, {str(HERE)!r})
        from apis_in_code import API, CREDENTIALS, client_class
        from dlr_core.testing import MockTransport
        from dlr_core.tracking import Tracker, by_ids

        batches = []
        def respond(request):
            asked = [v for n, v in request.form if n.startswith("MsgIds.")]
            batches.append(asked)
            if len(batches) == 2:
                # Written whole, then renamed: the killer waits for the name, never a half file.
                with open({str(started)!r} + ".part", "w") as part:
                    part.write(" ".join(asked))
                os.replace({str(started)!r} + ".part", {str(started)!r})
                time.sleep(60)
            return {{"reports": [{{"msgId": i, "status": "DELIVRD"}} for i in asked]}}

        mock = MockTransport(API, CREDENTIALS, scenario={{"get_reports": [{{"respond": respond}}]}})
        client = mock.client(client_class("sync"), retries=0)
        tracker = Tracker({store_url!r}, lookups=[by_ids(client, "message_ids")], lease=timedelta(seconds=30))
        sent = datetime.now(timezone.utc) - timedelta(hours=1)
        for i in range(250):
            tracker.track(API.provider, f"m-{{i:03d}}", sent_at=sent)
        tracker.work()
        """,
        started,
    )
    leased = set(started.read_text().split())
    assert len(leased) == 100

    taken: list[StatusChange] = []
    now = [datetime.now(timezone.utc)]
    provider = Provider({f"m-{i:03d}": ["DELIVRD"] for i in range(250)})
    mock = MockTransport(API, CREDENTIALS, scenario={"get_reports": [{"respond": provider.respond}]})
    tracker = Tracker(
        store_url,
        lookups=[by_ids(mock.client(client_class("sync"), retries=0), "message_ids")],
        handler=taken.append,
        clock=lambda: now[0],
    )
    # The first batch was recorded before the kill, its changes waiting in the outbox.
    assert sum(1 for i in range(250) if tracker.get(PROVIDER, f"m-{i:03d}").state is FINAL) == 100
    assert tracker.store.pending_changes() == 100
    # The killed worker's batch stays leased until its lease runs out; the rest is taken.
    assert tracker.work().polled == 50
    assert not leased & {m for asked in provider.asked for m in asked}
    now[0] += timedelta(seconds=31)
    assert tracker.work().polled == 100
    assert {m for asked in provider.asked for m in asked} >= leased
    for i in range(250):
        assert tracker.history(PROVIDER, f"m-{i:03d}") and tracker.get(PROVIDER, f"m-{i:03d}").state is FINAL
    assert sorted(c.message_id for c in taken) == [f"m-{i:03d}" for i in range(250)]
    assert tracker.store.pending_changes() == 0
    tracker.close()


@pytest.mark.slow
@pytest.mark.serial  # timed kills: run alone
def test_a_worker_killed_mid_handler_loses_no_change(store_url: str, tmp_path: Path) -> None:
    """A worker hands 250 changes to its handler (claimed 100 at a time), which logs each
    key and hangs on the 50th; it is SIGKILLed there. None of its batch was recorded as
    taken: another worker hands the rest over at once, and the killed worker's batch once
    its lease runs out, the 49 it had handed over included (at least once)."""
    started, handled = tmp_path / "hung", tmp_path / "handled.txt"
    kill_when_started(
        f"""
        import os, sys, time
        from datetime import datetime, timedelta, timezone
        sys.path.insert(0, {str(HERE)!r})
        from apis_in_code import API, CREDENTIALS, client_class
        from dlr_core.testing import MockTransport
        from dlr_core.tracking import Tracker, by_ids

        def respond(request):
            asked = [v for n, v in request.form if n.startswith("MsgIds.")]
            return {{"reports": [{{"msgId": i, "status": "DELIVRD"}} for i in asked]}}

        log = open({str(handled)!r}, "a")
        def handler(change):
            log.write(change.key + "\\n")
            log.flush()
            os.fsync(log.fileno())
            if sum(1 for _ in open({str(handled)!r})) == 50:
                open({str(started)!r}, "w").close()
                time.sleep(60)

        mock = MockTransport(API, CREDENTIALS, scenario={{"get_reports": [{{"respond": respond}}]}})
        client = mock.client(client_class("sync"), retries=0)
        tracker = Tracker({store_url!r}, lookups=[by_ids(client, "message_ids")], handler=handler,
                          lease=timedelta(seconds=30))
        sent = datetime.now(timezone.utc) - timedelta(hours=1)
        tracker.track_many(API.provider, [f"m-{{i:03d}}" for i in range(250)], sent_at=sent)
        tracker.work()
        """,
        started,
    )
    before = handled.read_text().split()
    assert len(before) == 50

    taken: list[StatusChange] = []
    now = [datetime.now(timezone.utc)]
    tracker = Tracker(store_url, handler=taken.append, clock=lambda: now[0])
    assert tracker.store.pending_changes() == 250  # recorded, none recorded as taken
    assert tracker.deliver() == (150, 0)  # the killed worker's batch (100) stays leased ...
    assert not set(before) & {c.key for c in taken}
    now[0] += timedelta(seconds=31)
    assert tracker.deliver() == (100, 0)  # ... until its lease runs out
    every = {f"{PROVIDER}/m-{i:03d}/final/delivered" for i in range(250)}
    assert {c.key for c in taken} == every and set(before) <= every
    assert tracker.store.pending_changes() == 0
    tracker.close()


WORKER = """
import json, os, sys, time
from datetime import datetime, timedelta, timezone
sys.path.insert(0, {here!r})
from apis_in_code import API, CREDENTIALS, client_class
from dlr_core.testing import MockTransport
from dlr_core.tracking import Tracker, TrackingState, by_ids

number, hang_on, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
started = []  # when each request arrived, in the mock's order


def asked(request):
    return [value for name, value in request.form if name.startswith("MsgIds.")]


def respond(request):
    started.append(time.time())
    if len(started) == hang_on:  # hangs here until killed, the batch leased
        with open(f"{{folder}}/hung.part", "w") as part:
            json.dump({{"ids": asked(request), "start": started[-1]}}, part)
        os.replace(f"{{folder}}/hung.part", f"{{folder}}/hung")
        time.sleep(600)
    time.sleep(0.01)  # the provider takes a while: the workers' batches overlap in time
    return {{"reports": [{{"msgId": i, "status": "DELIVRD"}} for i in asked(request)]}}


mock = MockTransport(API, CREDENTIALS, scenario={{"get_reports": [{{"respond": respond}}]}})
client = mock.client(client_class("sync"), retries=0)
tracker = Tracker({url!r}, lookups=[by_ids(client, "message_ids", batch_size=10)],
                  lease=timedelta(seconds={lease}), worker=f"worker-{{number}}")
log = open(f"{{folder}}/log-{{number}}.jsonl", "w")
open(f"{{folder}}/ready-{{number}}", "w").close()
while not os.path.exists(f"{{folder}}/go"):
    time.sleep(0.01)
logged, deadline = 0, time.monotonic() + 60
while time.monotonic() < deadline:
    polled = tracker.poll(max_batches=1)
    # The mock's request log, each request with when it came and when its batch was recorded.
    requests = list(mock.requests)
    for request, start in zip(requests[logged:], started[logged:]):
        line = {{"worker": number, "operation": request.operation, "ids": asked(request),
                 "start": start, "end": time.time()}}
        log.write(json.dumps(line) + "\\n")
    logged = len(requests)
    log.flush()
    if not polled:
        if not any(count.state is TrackingState.OPEN for count in tracker.counts()):
            break
        time.sleep(0.05)
tracker.close()
"""


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.serial  # a timed kill: run alone
def test_four_worker_processes_never_poll_a_message_at_once_and_take_a_killed_ones_over(
    postgres_url: str, tmp_path: Path
) -> None:
    """Four worker processes poll 200 due messages (batches of 10) from one store, the
    provider taking 10 ms an answer. Worker 0 hangs on its second batch and is SIGKILLed.
    In the mocks' request logs, no message is ever in two workers' polls at once: each is
    polled once, but for the killed worker's batch, which another worker polls once its
    lease (2 s) runs out, and not much later. Every message ends final, with one change."""
    lease, ids = 2.0, [f"m-{i:03d}" for i in range(200)]
    seeder = opened(Tracker(postgres_url))
    seeder.track_many(PROVIDER, ids, sent_at=datetime.now(timezone.utc) - timedelta(hours=1))
    script = WORKER.format(here=str(HERE), url=postgres_url, lease=lease)
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(n), "2" if n == 0 else "0", str(tmp_path)])
        for n in range(4)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}").exists() for n in range(4)) and time.monotonic() < deadline:
            time.sleep(0.02)
        (tmp_path / "go").touch()
        while not (tmp_path / "hung").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (tmp_path / "hung").exists(), "worker 0 never reached its second batch"
        os.kill(workers[0].pid, signal.SIGKILL)
        killed_at = time.time()
        for worker in workers[1:]:
            assert worker.wait(timeout=60) == 0
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()

    hung = json.loads((tmp_path / "hung").read_text())
    polls = [
        json.loads(line) for n in range(4) for line in (tmp_path / f"log-{n}.jsonl").read_text().splitlines()
    ]
    assert {poll["operation"] for poll in polls} == {"get_reports"}
    assert {poll["worker"] for poll in polls} == {0, 1, 2, 3}  # all four took part
    polls.append({"worker": 0, "ids": hung["ids"], "start": hung["start"], "end": killed_at})
    by_message: dict[str, list[dict[str, Any]]] = {}
    for poll in polls:
        for message_id in poll["ids"]:
            by_message.setdefault(message_id, []).append(poll)
    assert sorted(by_message) == ids
    for message_id, its_polls in by_message.items():
        its_polls.sort(key=lambda poll: poll["start"])
        for earlier, later in zip(its_polls, its_polls[1:]):
            assert earlier["end"] <= later["start"], f"{message_id} polled by two workers at once"
    assert len(hung["ids"]) == 10
    for message_id in ids:
        assert len(by_message[message_id]) == (2 if message_id in hung["ids"] else 1), message_id
    # Taken over once the lease ran out (counted from the claim, just before the hung
    # request), and soon after: the other workers were still looking.
    takeover = min(poll["start"] for m in hung["ids"] for poll in by_message[m] if poll["worker"] != 0)
    assert lease - 0.5 <= takeover - hung["start"] <= lease + 3.0, takeover - hung["start"]
    for message_id in ids:
        assert [(c.status, c.state) for c in seeder.history(PROVIDER, message_id)] == [(D, FINAL)]
    assert [(c.state, c.count) for c in seeder.counts()] == [(FINAL, 200)]
