"""Delivery tracking: messages followed from sent to final, durably (SQLite needs nothing
more than Python; PostgreSQL, ``Tracker("postgresql://user@host/db")``, ``dlr-core[postgres]``).

    from dlr_core.tracking import Tracker, by_ids

    tracker = Tracker("sqlite:///dlr.db", lookups=[by_ids(client, "message_ids")], handler=on_change)
    tracker.track(client.dlr_api.provider, message_id, sent_at=sent_at)
    tracker.run()

docs/tracking.md describes the design: the store, the merge rules, the schedule, the outbox.
The modules, by concern: ``model`` (what is stored and handed out), ``merge`` (statuses
never go backwards), ``schedule`` (when to poll), ``rate`` (each provider's rate limit), ``decisions`` (one message's transition),
``lookup`` (a client's ``fetch_receipts`` as a lookup), ``store`` (the storage protocol),
``sqlite_store`` (SQLite), ``postgres_store`` (PostgreSQL), ``connect`` (a store from its URL), ``tracker`` (``Tracker``, ``AsyncTracker``), ``cli``
(``dlr-track``).
"""

from __future__ import annotations

from dlr_core.tracking.lookup import DEFAULT_BATCH_SIZE, Lookup, by_ids, per_message, push_only
from dlr_core.tracking.model import (
    MessageKey,
    PendingChange,
    Source,
    StatusChange,
    TrackedMessage,
    TrackingState,
)
from dlr_core.tracking.rate import PROCESS_RATE_LIMITS, RateLimit, RateLimits, CallWindow
from dlr_core.tracking.schedule import PollSchedule
from dlr_core.tracking.connect import open_store
from dlr_core.tracking.store import StatusCount, Store, Transition
from dlr_core.tracking.tracker import DEFAULT_LEASE, AsyncTracker, HandlerRetry, Tracker, Work

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LEASE",
    "PROCESS_RATE_LIMITS",
    "AsyncTracker",
    "HandlerRetry",
    "Lookup",
    "MessageKey",
    "PendingChange",
    "PollSchedule",
    "RateLimit",
    "RateLimits",
    "Source",
    "StatusChange",
    "StatusCount",
    "Store",
    "CallWindow",
    "TrackedMessage",
    "Tracker",
    "TrackingState",
    "Transition",
    "Work",
    "by_ids",
    "open_store",
    "per_message",
    "push_only",
]
