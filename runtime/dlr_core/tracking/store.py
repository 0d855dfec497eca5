"""The storage protocol: what the tracker needs of a database, and nothing more.

A store keeps three tables: the tracked messages (with the time each is next due and the
lease of the worker polling it), the history (every status change, in order) and the
outbox (the changes the application's handler has not taken yet). The tracker decides;
the store reads and writes atomically. ``SQLiteStore`` is the embedded one; ``PostgresStore``
implements the same protocol with ``SELECT ... FOR UPDATE SKIP LOCKED`` for the two
``claim_`` methods and ``SELECT ... FOR UPDATE`` in ``update``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from dlr_core.status import DeliveryStatus
from dlr_core.tracking.model import MessageKey, PendingChange, StatusChange, TrackedMessage, TrackingState


@dataclass(frozen=True)
class Transition:
    """What the tracker decided for one message: its row as it is to be written, and the
    status changes to append to its history and to the handler's outbox."""

    message: TrackedMessage
    changes: tuple[StatusChange, ...] = ()


Decide = Callable[[MessageKey, "TrackedMessage | None"], "Transition | None"]
"""Given a message's key and its stored row (None when there is none), the transition to
write, or None to leave it as it is."""


@dataclass(frozen=True)
class StatusCount:
    """How many messages of a provider are at a status (and tracking state)."""

    provider: str
    status: DeliveryStatus | None
    state: TrackingState
    count: int


class Store(Protocol):
    """A tracker's database. Every method is atomic; times are timezone-aware."""

    def update(self, keys: Sequence[MessageKey], decide: Decide) -> list[StatusChange]:
        """In one transaction, for each key: read its row (locked against other writers),
        call ``decide``, and write the transition, its changes appended to the history and
        the outbox. Returns the changes written."""
        ...

    def claim_due(
        self, provider: str, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[TrackedMessage]:
        """Up to ``limit`` of ``provider``'s open messages due by ``now`` and not leased (or
        whose lease ran out), earliest due first, leased to ``owner`` until ``lease_until``."""
        ...

    def renew_leases(self, keys: Sequence[MessageKey], owner: str, lease_until: datetime) -> list[MessageKey]:
        """Extend ``owner``'s leases of the messages ``keys`` to ``lease_until`` (a worker whose
        batch is taking long keeps it). Returns the keys renewed: those ``owner`` still holds
        (a lease that ran out and was taken by another worker is not taken back)."""
        ...

    def claim_changes(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[PendingChange]:
        """Up to ``limit`` changes for the handler, each the oldest one of its message still
        in the outbox (so a message's changes go in order), due by ``now`` and not leased;
        leased to ``owner`` until ``lease_until``."""
        ...

    def renew_change_leases(self, change_ids: Sequence[int], owner: str, lease_until: datetime) -> list[int]:
        """Extend ``owner``'s leases of the outbox's changes ``change_ids`` to ``lease_until``
        (a slow handler keeps its batch). Returns the ids renewed: those ``owner`` still holds."""
        ...

    def settle_changes(self, change_ids: Sequence[int]) -> None:
        """The handler took the changes: out of the outbox (their history stays)."""
        ...

    def retry_change(self, change_id: int, next_at: datetime) -> None:
        """The handler failed: offer the change again at ``next_at``, one attempt more."""
        ...

    def get(self, key: MessageKey) -> TrackedMessage | None: ...

    def history(self, key: MessageKey) -> list[StatusChange]:
        """Every status change of the message, oldest first."""
        ...

    def counts(self) -> list[StatusCount]:
        """Messages by provider, status and state."""
        ...

    def oldest_open(self) -> TrackedMessage | None:
        """The open message sent longest ago."""
        ...

    def pending_changes(self) -> int:
        """Changes in the outbox, not yet taken by the handler."""
        ...

    def close(self) -> None: ...
