"""What the tracker stores and hands out: tracked messages, status changes, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from dlr_core.status import DeliveryStatus


class Source(str, Enum):
    """Where a status came from."""

    POLL = "poll"
    """The tracker asked the provider (``fetch_receipts``)."""
    PUSH = "push"
    """The provider pushed a report (``Tracker.ingest``)."""
    SCHEDULE = "schedule"
    """The tracker itself: the provider's report retention ran out with the message still open."""

    def __str__(self) -> str:
        return self.value


class TrackingState(str, Enum):
    """Whether the tracker still follows a message."""

    OPEN = "open"
    """Not final yet: polled when due, pushes taken."""
    FINAL = "final"
    """A final status arrived (by poll or push): never polled again."""
    EXPIRED = "expired"
    """The provider's report retention ran out first: the status is ``unknown`` and no longer
    polled; a final push arriving later still settles it."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class MessageKey:
    """A message as the tracker knows it: the provider and the provider's id of it."""

    provider: str
    message_id: str


@dataclass(frozen=True)
class TrackedMessage:
    """One message's row: what is known of it and when it is next due for a poll."""

    provider: str
    message_id: str
    sent_at: datetime
    recipient: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    status: DeliveryStatus | None = None
    """The latest status, None before any report."""
    state: TrackingState = TrackingState.OPEN
    due_at: datetime | None = None
    """When the next poll is due; None when it is never polled again (final, expired)."""
    polls: int = 0
    """Polls made so far (the back-off counts them)."""
    lease_owner: str | None = None
    """The worker polling it now, until ``lease_until``; a crashed worker's lease runs out."""
    lease_until: datetime | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> MessageKey:
        return MessageKey(self.provider, self.message_id)


@dataclass(frozen=True)
class StatusChange:
    """A message's status moved: what the handler is called with, once or more (at least once).

    ``key`` is stable: the same change handed over again has the same key, so a handler can
    tell a repeat from a new change."""

    provider: str
    message_id: str
    status: DeliveryStatus
    state: TrackingState
    source: Source
    at: datetime
    """When the tracker learnt it."""
    key: str
    """``provider/message_id/state/status``: unique per change (a message never takes the same
    status in the same state twice: statuses only go forwards)."""
    recipient: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    raw_status: dict[str, Any] = field(default_factory=dict)
    receipt_key: str | None = None
    """The pushed receipt's own ``idempotency_key``, for a change taken from a push."""

    @property
    def is_final(self) -> bool:
        return self.state is not TrackingState.OPEN


@dataclass(frozen=True)
class PendingChange:
    """A change in the handler's outbox, with its delivery attempts so far."""

    id: int
    change: StatusChange
    attempts: int


def change_key(provider: str, message_id: str, state: TrackingState, status: DeliveryStatus) -> str:
    """The stable key of the change of a message to ``status`` (in ``state``)."""
    return f"{provider}/{message_id}/{state.value}/{status.value}"
