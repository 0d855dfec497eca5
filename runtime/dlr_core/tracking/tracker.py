"""``Tracker`` and ``AsyncTracker``: messages tracked from sent to final, durably.

    tracker = Tracker("sqlite:///dlr.db", lookups=[by_ids(client, "message_ids")], handler=on_change)
    tracker.track("example_sms", "m-1", sent_at=sent_at, recipient="+4915100000000")
    tracker.run()  # or tracker.work() now and then: polls what is due, hands changes to on_change

Pushed reports go in through ``ingest(receipts)`` (or ``on_receipts``, a ``CallbackApp``'s
handler as it is). Every status change is written, with the message's new status, to the
history and to an outbox in one transaction; the handler is then called with each, in order
per message, at least once (again after a crash between the call and its record), until it
returns without raising (see ``HandlerRetry``).

The async tracker awaits an async client's ``fetch_receipts`` and an async handler, and
runs its store calls in worker threads (they wait for the disk; the event loop does not).
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any, TypeVar, cast

import anyio

from dlr_core.errors import DlrError
from dlr_core.receipt import Receipt
from dlr_core.tracking.decisions import on_poll, on_poll_failure, on_push, on_track
from dlr_core.tracking.lookup import Lookup
from dlr_core.tracking.rate import PROCESS_RATE_LIMITS, RateLimits
from dlr_core.tracking.model import MessageKey, PendingChange, StatusChange, TrackedMessage
from dlr_core.tracking.schedule import PollSchedule
from dlr_core.tracking.connect import open_store
from dlr_core.tracking.store import StatusCount, Store, Transition

logger: logging.Logger = logging.getLogger("dlr_core.tracking")

Clock = Callable[[], datetime]
Result = TypeVar("Result")
Key = TypeVar("Key")
Handler = Callable[[StatusChange], "Awaitable[object] | object"]
"""Called with each status change; raising means "not taken": it comes again later."""

DEFAULT_LEASE = timedelta(seconds=60)
"""How long a worker holds the messages (or changes) it took: after a crash, another worker
takes them over this long after they were taken."""


@dataclass(frozen=True)
class HandlerRetry:
    """When a change the handler failed on is offered again: ``first`` after the first
    failure, each wait ``factor`` times the one before, at most ``longest``."""

    first: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    longest: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure (1 for the first)."""
        # In seconds, the exponent bounded: a change failing for weeks must not overflow.
        seconds = self.first.total_seconds() * self.factor ** min(max(attempts - 1, 0), 64)
        return timedelta(seconds=min(seconds, self.longest.total_seconds()))


@dataclass(frozen=True)
class Work:
    """What one ``work()`` round did."""

    polled: int
    """Messages polled."""
    delivered: int
    """Changes the handler took."""
    failed: int
    """Handler calls that raised (their changes come again later)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _TrackerBase:
    def __init__(
        self,
        store: Store | str,
        *,
        lookups: Iterable[Lookup] = (),
        handler: Handler | None = None,
        clock: Clock | None = None,
        lease: timedelta = DEFAULT_LEASE,
        handler_retry: HandlerRetry = HandlerRetry(),
        default_schedule: PollSchedule = PollSchedule(),
        worker: str | None = None,
        rate_limits: RateLimits = PROCESS_RATE_LIMITS,
        renew_every: timedelta | None = None,
    ) -> None:
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.lookups: dict[str, Lookup] = {lookup.provider: lookup for lookup in lookups}
        self.handler = handler
        self.clock: Clock = clock or _now
        self.lease = lease
        self.handler_retry = handler_retry
        self.default_schedule = default_schedule
        self.worker: str = worker or _worker_name()
        """This worker's name in the leases it takes."""
        self.rate_limits = rate_limits
        """Each provider's rate limit, shared with the other trackers of the process."""
        self.renew_every: timedelta = renew_every or lease / 3
        """How often (in real time) a worker still polling a batch renews its leases of it."""

    def _schedule(self, provider: str) -> PollSchedule:
        lookup = self.lookups.get(provider)
        return lookup.schedule if lookup else self.default_schedule

    def _track_many(
        self,
        provider: str,
        message_ids: Iterable[str],
        sent_at: datetime | None,
        recipients: Mapping[str, str] | None,
        tags: Mapping[str, Any] | None,
    ) -> None:
        now = self.clock()
        named = recipients or {}
        decide = partial(
            on_track,
            sent_at=sent_at or now,
            tags=tags or {},
            schedule=self._schedule(provider),
            now=now,
        )
        self.store.update(
            [MessageKey(provider, message_id) for message_id in message_ids],
            lambda key, row: decide(key, row, recipient=named.get(key.message_id)),
        )

    def _ingest(self, receipts: Iterable[Receipt]) -> list[StatusChange]:
        now = self.clock()
        waiting: dict[MessageKey, deque[Receipt]] = {}
        keys: list[MessageKey] = []
        for receipt in receipts:
            if receipt.message_id is None:
                logger.warning("%s: a pushed receipt names no message; not tracked", receipt.provider)
                continue
            key = MessageKey(receipt.provider, receipt.message_id)
            waiting.setdefault(key, deque()).append(receipt)
            keys.append(key)

        # In the order received, one transaction: two pushes of one message in one call
        # merge as two calls would (the store reads each key's row afresh).
        def decide(key: MessageKey, row: TrackedMessage | None) -> Transition | None:
            return on_push(key, row, waiting[key].popleft(), now=now)

        return self.store.update(keys, decide)

    def _wait_before(self, lookup: Lookup, batch: list[TrackedMessage]) -> float:
        """Seconds to wait before polling ``batch``, under the provider's rate limit."""
        calls = lookup.calls(batch)
        return self.rate_limits.window(lookup.provider, lookup.rate_limit).reserve(calls) if calls else 0.0

    def _claim(self, lookup: Lookup) -> list[TrackedMessage]:
        now = self.clock()
        return self.store.claim_due(lookup.provider, now, lookup.batch_size, self.worker, now + self.lease)

    def _renew(self, batch: list[TrackedMessage]) -> None:
        """Renew this worker's leases of ``batch``, still being polled."""
        # Its lease ran out and another worker took it: its answer is still merged safely.
        self._renewed("message(s) of a batch still polled", [m.key for m in batch], self.store.renew_leases)

    def _renew_changes(self, batch: list[PendingChange]) -> None:
        """Renew this worker's leases of ``batch``, changes the handler still works through."""
        # Taken over: the other worker hands them over again, as after a crash (at least once).
        self._renewed("change(s) still handed over", [c.id for c in batch], self.store.renew_change_leases)

    def _renewed(
        self, what: str, keys: list[Key], renew: Callable[[list[Key], str, datetime], list[Key]]
    ) -> None:
        try:
            renewed = renew(keys, self.worker, self.clock() + self.lease)
        except Exception as error:  # the next renewal may succeed; the work goes on either way
            logger.warning("renewing the leases of %d %s failed: %r", len(keys), what, error)
            return
        if len(renewed) < len(keys):
            logger.warning("%d %s were leased to another worker", len(keys) - len(renewed), what)

    def _record_poll(self, lookup: Lookup, batch: list[TrackedMessage], receipts: list[Receipt]) -> None:
        now = self.clock()
        by_id: dict[str, list[Receipt]] = {}
        for receipt in receipts:
            if receipt.message_id is not None:
                by_id.setdefault(receipt.message_id, []).append(receipt)
        answers = {message.key: by_id.get(message.message_id, []) for message in batch}

        def decide(key: MessageKey, row: TrackedMessage | None) -> Transition | None:
            return on_poll(row, answers[key], owner=self.worker, schedule=lookup.schedule, now=now)

        self.store.update(list(answers), decide)

    def _record_poll_failure(self, lookup: Lookup, batch: list[TrackedMessage], error: Exception) -> None:
        now = self.clock()
        logger.warning(
            "%s: polling %d message(s) failed (%s); again in %s",
            lookup.provider,
            len(batch),
            error,
            lookup.schedule.interval,
        )
        decide = partial(on_poll_failure, owner=self.worker, retry_at=now + lookup.schedule.interval, now=now)
        self.store.update([message.key for message in batch], lambda key, row: decide(row))

    def _claim_changes(self, limit: int) -> list[PendingChange]:
        now = self.clock()
        return self.store.claim_changes(now, limit, self.worker, now + self.lease)

    def _handler_failed(self, pending: PendingChange, error: BaseException) -> None:
        attempts = pending.attempts + 1
        delay = self.handler_retry.delay(attempts)
        logger.warning(
            "handler failed on %s (attempt %d: %r); offered again in %s",
            pending.change.key,
            attempts,
            error,
            delay,
        )
        self.store.retry_change(pending.id, self.clock() + delay)


class Tracker(_TrackerBase):
    """Tracks messages with sync clients and a sync handler (see the module's documentation).

    ``store``: a ``Store`` or its URL (``sqlite:///dlr.db``). ``lookups``: how to poll each
    provider (``by_ids``, ``per_message``). ``handler``: called with each ``StatusChange``.
    ``lease``: how long a worker holds what it took. ``clock``: the time (for tests).
    ``rate_limits``: the windows of the providers' rate limits (the process's by default);
    ``sleep``: how to wait for them (``time.sleep`` by default). ``renew_every``: how often
    (real time; ``lease`` / 3 by default) a worker renews its leases of a batch it still polls."""

    def __init__(
        self, store: Store | str, *, sleep: Callable[[float], None] = time.sleep, **options: Any
    ) -> None:
        super().__init__(store, **options)
        self.sleep = sleep

    def track(
        self,
        provider: str,
        message_id: str,
        *,
        sent_at: datetime | None = None,
        recipient: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Follow a sent message until its status is final: first polled after the
        provider's typical report delay after ``sent_at`` (now by default). Tracking a
        message again changes nothing but what is given (a repeat is harmless)."""
        self._track_many(
            provider, [message_id], sent_at, {message_id: recipient} if recipient else None, tags
        )

    def track_many(
        self,
        provider: str,
        message_ids: Iterable[str],
        *,
        sent_at: datetime | None = None,
        recipients: Mapping[str, str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """``track`` for the messages of one send (a batch, a campaign), in one transaction:
        the same ``sent_at`` and ``tags``, each message's recipient in ``recipients``."""
        self._track_many(provider, message_ids, sent_at, recipients, tags)

    def get(self, provider: str, message_id: str) -> TrackedMessage | None:
        """The message as tracked now, or None if it is not."""
        return self.store.get(MessageKey(provider, message_id))

    def history(self, provider: str, message_id: str) -> list[StatusChange]:
        """Every status change of the message, oldest first, with its time and source."""
        return self.store.history(MessageKey(provider, message_id))

    def counts(self) -> list[StatusCount]:
        """Messages by provider, status and state."""
        return self.store.counts()

    def close(self) -> None:
        self.store.close()

    def ingest(self, receipts: Iterable[Receipt]) -> list[StatusChange]:
        """Pushed receipts, merged: returns the status changes they made (none for a repeat,
        or a status already known or passed)."""
        return self._ingest(receipts)

    def on_receipts(self, name: str, receipts: list[Receipt]) -> None:
        """``ingest`` as a ``CallbackApp`` handler: ``CallbackApp(..., on_receipts=tracker.on_receipts)``."""
        self._ingest(receipts)

    def poll(self, *, max_batches: int | None = None) -> int:
        """Poll every provider's due messages, batch by batch, until none is due (or
        ``max_batches`` were polled). Returns the number of messages polled."""
        polled = batches = 0
        for lookup in self.lookups.values():
            while max_batches is None or batches < max_batches:
                batch = self._claim(lookup)
                if not batch:
                    break
                batches += 1
                polled += len(batch)
                try:
                    with self._leases_kept(partial(self._renew, batch)):
                        wait = self._wait_before(lookup, batch)
                        if wait:
                            self.sleep(wait)
                        receipts = lookup.fetch(batch)
                except DlrError as error:
                    self._record_poll_failure(lookup, batch, error)
                    continue
                if inspect.isawaitable(receipts):
                    _close(receipts)
                    raise TypeError(f"{lookup.provider}: an async client's lookup needs AsyncTracker")
                self._record_poll(lookup, batch, receipts)
        return polled

    @contextmanager
    def _leases_kept(self, renew: Callable[[], None]) -> Iterator[None]:
        """While the block runs (the rate limit's wait and the provider's answer, or the
        handler's calls), a thread calls ``renew`` every ``renew_every``: a long batch is not
        taken over meanwhile."""
        done = threading.Event()

        def keep() -> None:
            while not done.wait(self.renew_every.total_seconds()):
                renew()

        keeper = threading.Thread(target=keep, name=f"dlr-lease-{self.worker}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def deliver(self, *, batch_size: int = 100) -> tuple[int, int]:
        """Hand the outbox's due changes to the handler until none is left due: returns
        (taken, failed)."""
        if self.handler is None:
            return 0, 0
        taken = failed = 0
        while batch := self._claim_changes(batch_size):
            settled: list[int] = []  # recorded once a batch: a crash before hands them over again
            with self._leases_kept(partial(self._renew_changes, batch)):
                for pending in batch:
                    try:
                        outcome = self.handler(pending.change)
                    except Exception as error:
                        failed += 1
                        self._handler_failed(pending, error)
                        continue
                    if inspect.isawaitable(outcome):
                        _close(outcome)
                        raise TypeError("an async handler needs AsyncTracker")
                    taken += 1
                    settled.append(pending.id)
            self.store.settle_changes(settled)
        return taken, failed

    def work(self) -> Work:
        """One round: poll what is due, then hand over the changes."""
        polled = self.poll()
        taken, failed = self.deliver()
        return Work(polled, taken, failed)

    def run(self, *, stop: threading.Event | None = None, idle: float = 1.0) -> None:
        """Work until ``stop`` is set, sleeping ``idle`` seconds after a round with nothing to do."""
        stop = stop or threading.Event()
        while not stop.is_set():
            done = self.work()
            if not (done.polled or done.delivered):
                stop.wait(idle)


class AsyncTracker(_TrackerBase):
    """The same as ``Tracker``, for async clients (``AsyncClient``) and sync or async handlers
    (``sleep``: ``anyio.sleep`` by default)."""

    def __init__(
        self,
        store: Store | str,
        *,
        lookups: Iterable[Lookup] = (),
        handler: Handler | None = None,
        clock: Clock | None = None,
        lease: timedelta = DEFAULT_LEASE,
        handler_retry: HandlerRetry = HandlerRetry(),
        default_schedule: PollSchedule = PollSchedule(),
        worker: str | None = None,
        rate_limits: RateLimits = PROCESS_RATE_LIMITS,
        renew_every: timedelta | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        super().__init__(
            store,
            lookups=lookups,
            handler=handler,
            clock=clock,
            lease=lease,
            handler_retry=handler_retry,
            default_schedule=default_schedule,
            worker=worker,
            rate_limits=rate_limits,
            renew_every=renew_every,
        )
        self.sleep = sleep

    async def track(
        self,
        provider: str,
        message_id: str,
        *,
        sent_at: datetime | None = None,
        recipient: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        recipients = {message_id: recipient} if recipient else None
        await _off_loop(self._track_many, provider, [message_id], sent_at, recipients, tags)

    async def track_many(
        self,
        provider: str,
        message_ids: Iterable[str],
        *,
        sent_at: datetime | None = None,
        recipients: Mapping[str, str] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        await _off_loop(self._track_many, provider, list(message_ids), sent_at, recipients, tags)

    async def get(self, provider: str, message_id: str) -> TrackedMessage | None:
        return await _off_loop(self.store.get, MessageKey(provider, message_id))

    async def history(self, provider: str, message_id: str) -> list[StatusChange]:
        return await _off_loop(self.store.history, MessageKey(provider, message_id))

    async def counts(self) -> list[StatusCount]:
        return await _off_loop(self.store.counts)

    async def close(self) -> None:
        await _off_loop(self.store.close)

    async def ingest(self, receipts: Iterable[Receipt]) -> list[StatusChange]:
        return await _off_loop(self._ingest, list(receipts))

    async def on_receipts(self, name: str, receipts: list[Receipt]) -> None:
        await _off_loop(self._ingest, receipts)

    async def poll(self, *, max_batches: int | None = None) -> int:
        polled = batches = 0
        for lookup in self.lookups.values():
            while max_batches is None or batches < max_batches:
                batch = await _off_loop(self._claim, lookup)
                if not batch:
                    break
                batches += 1
                polled += len(batch)
                try:
                    receipts = await self._fetch_keeping_leases(lookup, batch)
                except DlrError as error:
                    await _off_loop(self._record_poll_failure, lookup, batch, error)
                    continue
                await _off_loop(self._record_poll, lookup, batch, receipts)
        return polled

    async def _fetch_keeping_leases(self, lookup: Lookup, batch: list[TrackedMessage]) -> list[Receipt]:
        """The rate limit's wait and the provider's answer, the batch's leases renewed meanwhile."""

        async def fetch() -> list[Receipt]:
            wait = self._wait_before(lookup, batch)
            if wait:
                await self.sleep(wait)
            answer = lookup.fetch(batch)
            return await answer if inspect.isawaitable(answer) else answer

        return await self._keeping_leases(partial(self._renew, batch), fetch)

    async def _keeping_leases(
        self, renew: Callable[[], None], work: Callable[[], Awaitable[Result]]
    ) -> Result:
        """``work()``, with a task calling ``renew`` (in a worker thread) every ``renew_every``
        meanwhile: a long batch is not taken over."""

        async def keep() -> None:
            while True:
                await anyio.sleep(self.renew_every.total_seconds())
                await _off_loop(renew)

        result: Result | None = None
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(keep)
            try:
                result = await work()
            except Exception as error:  # raised outside the group: as it is, not in an ExceptionGroup
                failure = error
            finally:
                group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return cast(Result, result)

    async def deliver(self, *, batch_size: int = 100) -> tuple[int, int]:
        handler = self.handler
        if handler is None:
            return 0, 0
        taken = failed = 0
        while batch := await _off_loop(self._claim_changes, batch_size):
            settled: list[int] = []  # recorded once a batch: a crash before hands them over again
            hand_over = partial(self._hand_over, handler, batch, settled)
            failed += await self._keeping_leases(partial(self._renew_changes, batch), hand_over)
            taken += len(settled)
            await _off_loop(self.store.settle_changes, settled)
        return taken, failed

    async def _hand_over(self, handler: Handler, batch: list[PendingChange], settled: list[int]) -> int:
        """Each change of ``batch`` to ``handler``, in order; the ids taken go to ``settled``.
        Returns how many failed."""
        failed = 0
        for pending in batch:
            try:
                outcome = handler(pending.change)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as error:
                failed += 1
                await _off_loop(self._handler_failed, pending, error)
            else:
                settled.append(pending.id)
        return failed

    async def work(self) -> Work:
        polled = await self.poll()
        taken, failed = await self.deliver()
        return Work(polled, taken, failed)

    async def run(self, *, stop: anyio.Event | None = None, idle: float = 1.0) -> None:
        stop = stop or anyio.Event()
        while not stop.is_set():
            done = await self.work()
            if not (done.polled or done.delivered):
                with anyio.move_on_after(idle):
                    await stop.wait()


async def _off_loop(function: Callable[..., Result], *args: Any) -> Result:
    """``function(*args)`` in a worker thread: the store's writes wait for the disk, and an
    async app's event loop must not."""
    return await anyio.to_thread.run_sync(partial(function, *args))


def _close(awaitable: object) -> None:
    """Close a coroutine that will not be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()
