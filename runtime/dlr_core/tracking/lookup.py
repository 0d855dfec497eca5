"""How the tracker asks a provider for receipts: through a generated client's public
``fetch_receipts`` (sync or async), whatever its parameters are called.

A provider whose report operation takes many ids a call is polled ``by_ids``: one call per
batch of due messages, as many as the operation's id limit (``max_items`` of that parameter
in the client's ``dlr_api``). One whose operation takes one id (and perhaps the recipient,
or the day it was sent) is polled ``per_message``, with the arguments a function makes of
each tracked message. One that only pushes is ``push_only``: never called, its messages
given up when its retention runs out.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from dlr_core.receipt import Receipt
from dlr_core.spec import ApiSpec
from dlr_core.tracking.model import TrackedMessage
from dlr_core.tracking.rate import RateLimit
from dlr_core.tracking.schedule import DEFAULT_GIVE_UP_AFTER, PollSchedule

DEFAULT_BATCH_SIZE = 50
"""Messages a worker leases at once, where the operation declares no id limit."""

CallsMade = Literal["batch", "message", "none"]

Fetch = Callable[[Sequence[TrackedMessage]], "list[Receipt] | Awaitable[list[Receipt]]"]
"""Receipts for a batch of tracked messages: a list (sync client) or an awaitable of one
(async client). Each receipt names its message by ``message_id``."""


@dataclass(frozen=True)
class Lookup:
    """How to poll one provider: its name, the fetch, the batch size, the schedule and the
    provider's rate limit (the calls a fetch makes: one a batch, or one a message)."""

    provider: str
    fetch: Fetch
    batch_size: int = DEFAULT_BATCH_SIZE
    schedule: PollSchedule = PollSchedule()
    rate_limit: RateLimit = RateLimit()
    calls_made: CallsMade = "batch"
    """The calls to the provider ``fetch`` makes: one a batch, one a message, or none."""

    def calls(self, batch: Sequence[TrackedMessage]) -> int:
        """The provider calls ``fetch(batch)`` makes."""
        return {"batch": 1, "message": len(batch), "none": 0}[self.calls_made]

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")


def by_ids(
    client: Any,
    ids: str,
    *,
    batch_size: int | None = None,
    schedule: PollSchedule | None = None,
    rate_limit: RateLimit | None = None,
    **arguments: Any,
) -> Lookup:
    """Poll with ``client.fetch_receipts(**{ids: [message ids]}, **arguments)``, a batch of
    at most the operation's id limit per call (``batch_size`` overrides it), on the schedule
    and under the rate limit the spec's polling hints give (``schedule`` and ``rate_limit``
    override them)."""
    api = client.dlr_api

    def fetch(batch: Sequence[TrackedMessage]) -> list[Receipt] | Awaitable[list[Receipt]]:
        result: list[Receipt] | Awaitable[list[Receipt]] = client.fetch_receipts(
            **{ids: [message.message_id for message in batch]}, **arguments
        )
        return result

    return Lookup(
        provider=api.provider,
        fetch=fetch,
        batch_size=batch_size or id_limit(api, ids) or DEFAULT_BATCH_SIZE,
        schedule=schedule or PollSchedule.from_hints(api.polling),
        rate_limit=rate_limit or RateLimit.from_hints(api.polling),
    )


def per_message(
    client: Any,
    arguments: Callable[[TrackedMessage], Mapping[str, Any]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    schedule: PollSchedule | None = None,
    rate_limit: RateLimit | None = None,
) -> Lookup:
    """Poll with ``client.fetch_receipts(**arguments(message))``, one call per message (in
    turn, for an async client too); every receipt a call returns is the message's. A batch
    is at most as many messages as the rate limit allows calls in one period."""
    api = client.dlr_api
    limit = rate_limit or RateLimit.from_hints(api.polling)

    def fetch(batch: Sequence[TrackedMessage]) -> list[Receipt] | Awaitable[list[Receipt]]:
        calls = [client.fetch_receipts(**arguments(message)) for message in batch]
        if calls and inspect.isawaitable(calls[0]):

            async def answers() -> list[Receipt]:
                return _attributed(batch, [await call for call in calls])

            return answers()
        return _attributed(batch, calls)

    return Lookup(
        provider=api.provider,
        fetch=fetch,
        batch_size=min(batch_size, limit.requests),
        schedule=schedule or PollSchedule.from_hints(api.polling),
        rate_limit=limit,
        calls_made="message",
    )


def push_only(provider: str, *, give_up_after: timedelta = DEFAULT_GIVE_UP_AFTER) -> Lookup:
    """For a provider that only pushes (or one not to poll): never calls it, and gives a
    message still open ``give_up_after`` after it was sent up (``expired``), as a poll at
    the end of the provider's retention would."""

    def fetch(batch: Sequence[TrackedMessage]) -> list[Receipt]:
        return []

    schedule = PollSchedule(
        first_check_after=give_up_after, interval=give_up_after, give_up_after=give_up_after
    )
    return Lookup(provider=provider, fetch=fetch, schedule=schedule, calls_made="none")


def id_limit(api: ApiSpec, ids: str) -> int | None:
    """The smallest ``max_items`` of a parameter named ``ids`` among the API's operations."""
    limits = [
        param.max_items
        for operation in api.operations
        for param in operation.params
        if param.name == ids and param.max_items is not None
    ]
    return min(limits) if limits else None


def _attributed(batch: Sequence[TrackedMessage], answers: Sequence[list[Receipt]]) -> list[Receipt]:
    return [
        (
            receipt
            if receipt.message_id == message.message_id
            else receipt.model_copy(update={"message_id": message.message_id})
        )
        for message, receipts in zip(batch, answers)
        for receipt in receipts
    ]
