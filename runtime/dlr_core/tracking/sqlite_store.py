"""The embedded store: one SQLite file (stdlib ``sqlite3``), in WAL mode so readers never
wait for the writer, shared by the workers of one machine.

Writes go in ``BEGIN IMMEDIATE`` transactions (one writer at a time, the others wait up to
``busy_timeout``): a claim reads and leases its rows in one, so no two workers lease the same
message. A worker killed mid-batch leaves its leases behind; they run out at ``lease_until``
and another worker takes the messages again. Nothing is lost: a transaction either wrote
a message's status, history and outbox rows together, or none of them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import quote

from dlr_core.status import DeliveryStatus
from dlr_core.tracking.model import (
    MessageKey,
    PendingChange,
    Source,
    StatusChange,
    TrackedMessage,
    TrackingState,
)
from dlr_core.tracking.store import Decide
from dlr_core.tracking.store_reads import StoreReads, status_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sent_at REAL NOT NULL,
    recipient TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    status TEXT,
    state TEXT NOT NULL,
    due_at REAL,
    polls INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL,
    updated_at REAL,
    PRIMARY KEY (provider, message_id)
);
-- The workers' query: a provider's open messages by due time (final ones have none).
CREATE INDEX IF NOT EXISTS messages_due ON messages (provider, due_at) WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_open ON messages (sent_at) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    at REAL NOT NULL,
    key TEXT NOT NULL UNIQUE,
    recipient TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    error_code TEXT,
    raw_status TEXT NOT NULL DEFAULT '{}',
    receipt_key TEXT
);
CREATE INDEX IF NOT EXISTS history_message ON history (provider, message_id, id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY REFERENCES history (id),
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL
);
CREATE INDEX IF NOT EXISTS outbox_message ON outbox (provider, message_id, id);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_at);
"""

_HISTORY_COLUMNS = (
    "id, provider, message_id, status, state, source, at, key, recipient, tags, error_code, "
    "raw_status, receipt_key"
)


class SQLiteStore(StoreReads):
    """A ``Store`` in the SQLite file at ``path`` (``:memory:`` for one that lives as long as
    this object). Safe to share between threads; several processes may open the same file."""

    marker = "?"
    history_columns = _HISTORY_COLUMNS

    def __init__(self, path: str, *, busy_timeout: float = 30.0, create: bool = True) -> None:
        self.path = path
        self._lock = threading.Lock()
        # create=False: an existing file only (``dlr-track`` reads a store, never makes one)
        target = path if create or path == ":memory:" else f"file:{quote(path)}?mode=rw"
        self._db = sqlite3.connect(
            target, timeout=busy_timeout, isolation_level=None, check_same_thread=False, uri=not create
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed change survives a power cut too, not only a killed process.
        self._db.execute("PRAGMA synchronous=FULL")
        with self._transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def update(self, keys: Sequence[MessageKey], decide: Decide) -> list[StatusChange]:
        written: list[StatusChange] = []
        with self._transaction() as db:
            for key in keys:
                row = db.execute(
                    "SELECT * FROM messages WHERE provider = ? AND message_id = ?",
                    (key.provider, key.message_id),
                ).fetchone()
                transition = decide(key, None if row is None else _message(row))
                if transition is None:
                    continue
                db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (provider, message_id) DO UPDATE SET sent_at = excluded.sent_at, "
                    "recipient = excluded.recipient, tags = excluded.tags, status = excluded.status, "
                    "state = excluded.state, due_at = excluded.due_at, polls = excluded.polls, "
                    "lease_owner = excluded.lease_owner, lease_until = excluded.lease_until, "
                    "updated_at = excluded.updated_at",
                    _message_row(transition.message),
                )
                for change in transition.changes:
                    cursor = db.execute(
                        f"INSERT INTO history ({_HISTORY_COLUMNS}) VALUES "
                        "(NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _change_row(change),
                    )
                    db.execute(
                        "INSERT INTO outbox (id, provider, message_id, next_at) VALUES (?, ?, ?, ?)",
                        (cursor.lastrowid, change.provider, change.message_id, _epoch(change.at)),
                    )
                    written.append(change)
        return written

    def claim_due(
        self, provider: str, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[TrackedMessage]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM messages WHERE provider = ? AND due_at IS NOT NULL AND due_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at LIMIT ?",
                (provider, _epoch(now), _epoch(now), limit),
            ).fetchall()
            db.executemany(
                "UPDATE messages SET lease_owner = ?, lease_until = ? WHERE provider = ? AND message_id = ?",
                [(owner, _epoch(lease_until), provider, row["message_id"]) for row in rows],
            )
        return [replace(_message(row), lease_owner=owner, lease_until=lease_until) for row in rows]

    def renew_leases(self, keys: Sequence[MessageKey], owner: str, lease_until: datetime) -> list[MessageKey]:
        until = _epoch(lease_until)
        with self._transaction() as db:
            return _updated(
                db,
                "UPDATE messages SET lease_until = ? WHERE provider = ? AND message_id = ? AND lease_owner = ?",
                [(key, (until, key.provider, key.message_id, owner)) for key in keys],
            )

    def claim_changes(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[PendingChange]:
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT outbox.attempts, {', '.join('history.' + c.strip() for c in _HISTORY_COLUMNS.split(','))} "
                "FROM outbox JOIN history ON history.id = outbox.id "
                "WHERE outbox.next_at <= ? AND (outbox.lease_until IS NULL OR outbox.lease_until <= ?) "
                "AND NOT EXISTS (SELECT 1 FROM outbox AS earlier WHERE earlier.provider = outbox.provider "
                "AND earlier.message_id = outbox.message_id AND earlier.id < outbox.id) "
                "ORDER BY outbox.next_at, outbox.id LIMIT ?",
                (_epoch(now), _epoch(now), limit),
            ).fetchall()
            db.executemany(
                "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(owner, _epoch(lease_until), row["id"]) for row in rows],
            )
        return [PendingChange(row["id"], _change(row), row["attempts"]) for row in rows]

    def renew_change_leases(self, change_ids: Sequence[int], owner: str, lease_until: datetime) -> list[int]:
        until = _epoch(lease_until)
        with self._transaction() as db:
            return _updated(
                db,
                "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                [(change_id, (until, change_id, owner)) for change_id in change_ids],
            )

    def settle_changes(self, change_ids: Sequence[int]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(change_id,) for change_id in change_ids])

    def retry_change(self, change_id: int, next_at: datetime) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, lease_owner = NULL, "
                "lease_until = NULL WHERE id = ?",
                (_epoch(next_at), change_id),
            )

    def _row_message(self, row: Any) -> TrackedMessage:
        return _message(row)

    def _row_change(self, row: Any) -> StatusChange:
        return _change(row)

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError(f"a naive time ({moment}) given to the tracker: give a timezone-aware one")
    return moment.timestamp()


def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def _message(row: sqlite3.Row) -> TrackedMessage:
    sent_at = _time(row["sent_at"])
    assert sent_at is not None  # NOT NULL in the schema
    return TrackedMessage(
        provider=row["provider"],
        message_id=row["message_id"],
        sent_at=sent_at,
        recipient=row["recipient"],
        tags=json.loads(row["tags"]),
        status=status_of(row["status"]),
        state=TrackingState(row["state"]),
        due_at=_time(row["due_at"]),
        polls=row["polls"],
        lease_owner=row["lease_owner"],
        lease_until=_time(row["lease_until"]),
        updated_at=_time(row["updated_at"]),
    )


def _message_row(message: TrackedMessage) -> tuple[Any, ...]:
    return (
        message.provider,
        message.message_id,
        _epoch(message.sent_at),
        message.recipient,
        json.dumps(message.tags, sort_keys=True),
        None if message.status is None else message.status.value,
        message.state.value,
        None if message.due_at is None else _epoch(message.due_at),
        message.polls,
        message.lease_owner,
        None if message.lease_until is None else _epoch(message.lease_until),
        None if message.updated_at is None else _epoch(message.updated_at),
    )


def _change(row: sqlite3.Row) -> StatusChange:
    at = _time(row["at"])
    assert at is not None  # NOT NULL in the schema
    return StatusChange(
        provider=row["provider"],
        message_id=row["message_id"],
        status=DeliveryStatus(row["status"]),
        state=TrackingState(row["state"]),
        source=Source(row["source"]),
        at=at,
        key=row["key"],
        recipient=row["recipient"],
        tags=json.loads(row["tags"]),
        error_code=row["error_code"],
        raw_status=json.loads(row["raw_status"]),
        receipt_key=row["receipt_key"],
    )


def _change_row(change: StatusChange) -> tuple[Any, ...]:
    return (
        change.provider,
        change.message_id,
        change.status.value,
        change.state.value,
        change.source.value,
        _epoch(change.at),
        change.key,
        change.recipient,
        json.dumps(change.tags, sort_keys=True),
        change.error_code,
        json.dumps(change.raw_status, sort_keys=True, default=str),
        change.receipt_key,
    )


_Item = TypeVar("_Item")


def _updated(db: sqlite3.Connection, sql: str, rows: Sequence[tuple[_Item, tuple[Any, ...]]]) -> list[_Item]:
    """The items of ``rows`` (each an item and the update's parameters for it) whose update
    changed a row: the leases still held, of those asked to be renewed."""
    return [item for item, parameters in rows if db.execute(sql, parameters).rowcount]
