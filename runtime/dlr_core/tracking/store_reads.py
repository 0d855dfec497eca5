"""The read-only queries both SQL stores answer with the same SQL: a message, its history,
the counts, the oldest open message and the outbox's size. Each store gives its driver's
parameter marker, how it runs a read (``_read``) and how its rows become a message and a
change (its columns come back as its driver types them: epoch seconds in SQLite,
``timestamptz`` in PostgreSQL)."""

from __future__ import annotations

from typing import Any, ClassVar

from dlr_core.status import DeliveryStatus
from dlr_core.tracking.model import MessageKey, StatusChange, TrackedMessage, TrackingState
from dlr_core.tracking.store import StatusCount

MESSAGE_COLUMNS = (
    "provider, message_id, sent_at, recipient, tags, status, state, due_at, polls, lease_owner, "
    "lease_until, updated_at"
)
"""The messages table's columns, in its order."""


class StoreReads:
    """Mixed into a store: the reads of the ``Store`` protocol that need no transaction."""

    marker: ClassVar[str]
    """The driver's parameter placeholder (``?`` for sqlite3, ``%s`` for psycopg)."""
    history_columns: ClassVar[str]
    """The history columns the store's ``_row_change`` reads."""

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    def _row_message(self, row: Any) -> TrackedMessage:
        raise NotImplementedError

    def _row_change(self, row: Any) -> StatusChange:
        raise NotImplementedError

    def get(self, key: MessageKey) -> TrackedMessage | None:
        rows = self._read(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider = {self.marker} "
            f"AND message_id = {self.marker}",
            (key.provider, key.message_id),
        )
        return self._row_message(rows[0]) if rows else None

    def history(self, key: MessageKey) -> list[StatusChange]:
        rows = self._read(
            f"SELECT {self.history_columns} FROM history WHERE provider = {self.marker} "
            f"AND message_id = {self.marker} ORDER BY id",
            (key.provider, key.message_id),
        )
        return [self._row_change(row) for row in rows]

    def counts(self) -> list[StatusCount]:
        rows = self._read(
            "SELECT provider, status, state, COUNT(*) AS count FROM messages "
            "GROUP BY provider, status, state ORDER BY provider, state, status",
            (),
        )
        return [
            StatusCount(row["provider"], status_of(row["status"]), TrackingState(row["state"]), row["count"])
            for row in rows
        ]

    def oldest_open(self) -> TrackedMessage | None:
        rows = self._read(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE state = 'open' ORDER BY sent_at LIMIT 1", ()
        )
        return self._row_message(rows[0]) if rows else None

    def pending_changes(self) -> int:
        return int(self._read("SELECT COUNT(*) AS count FROM outbox", ())[0]["count"])


def status_of(value: str | None) -> DeliveryStatus | None:
    """A stored status column (NULL before the first report)."""
    return None if value is None else DeliveryStatus(value)
