"""The store for many workers on many machines: one PostgreSQL database (``dlr-core[postgres]``:
psycopg 3 and its connection pool).

The workers coordinate through the rows alone. A claim leases its rows with ``SELECT ... FOR
UPDATE SKIP LOCKED`` (two workers claiming at once take different rows, neither waits for
the other) and stamps them with the worker's name and ``lease_until``; a worker killed
mid-batch leaves its leases behind, and they run out. ``update`` locks the rows it reads
(``FOR UPDATE``) and writes a message's status, history and outbox rows in one transaction.
Times are ``timestamptz`` (the session in UTC), ``tags`` and ``raw_status`` ``jsonb``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from dlr_core.status import DeliveryStatus
from dlr_core.tracking.store_url import redact
from dlr_core.tracking.model import (
    MessageKey,
    PendingChange,
    Source,
    StatusChange,
    TrackedMessage,
    TrackingState,
)
from dlr_core.tracking.store import Decide
from dlr_core.tracking.store_reads import MESSAGE_COLUMNS, StoreReads, status_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    provider text NOT NULL,
    message_id text NOT NULL,
    sent_at timestamptz NOT NULL,
    recipient text,
    tags jsonb NOT NULL DEFAULT '{}',
    status text,
    state text NOT NULL,
    due_at timestamptz,
    polls integer NOT NULL DEFAULT 0,
    lease_owner text,
    lease_until timestamptz,
    updated_at timestamptz,
    PRIMARY KEY (provider, message_id)
);
-- The workers' query: a provider's open messages in the claim's order (due time, then id),
-- read off the index without sorting (a batch tracked together is due at one time: without
-- message_id here each claim sorted every open message). Final ones have no due time.
CREATE INDEX IF NOT EXISTS messages_due_order ON messages (provider, due_at, message_id)
    WHERE due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_open ON messages (sent_at) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider text NOT NULL,
    message_id text NOT NULL,
    status text NOT NULL,
    state text NOT NULL,
    source text NOT NULL,
    at timestamptz NOT NULL,
    key text NOT NULL UNIQUE,
    recipient text,
    tags jsonb NOT NULL DEFAULT '{}',
    error_code text,
    raw_status jsonb NOT NULL DEFAULT '{}',
    receipt_key text
);
CREATE INDEX IF NOT EXISTS history_message ON history (provider, message_id, id);
CREATE TABLE IF NOT EXISTS outbox (
    id bigint PRIMARY KEY REFERENCES history (id),
    provider text NOT NULL,
    message_id text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_at timestamptz NOT NULL,
    lease_owner text,
    lease_until timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_message ON outbox (provider, message_id, id);
-- The handler's claim, in its order (next_at, id), read off the index.
CREATE INDEX IF NOT EXISTS outbox_due_order ON outbox (next_at, id)
"""

_SCHEMA_LOCK = 0x646C725F73636865  # "dlr_sche": workers starting together create the tables once

_HISTORY_COLUMNS = (
    "provider, message_id, status, state, source, at, key, recipient, tags, error_code, raw_status, "
    "receipt_key"
)

_UPSERT_MESSAGE = (
    f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (provider, message_id) DO UPDATE SET sent_at = excluded.sent_at, "
    "recipient = excluded.recipient, tags = excluded.tags, status = excluded.status, "
    "state = excluded.state, due_at = excluded.due_at, polls = excluded.polls, "
    "lease_owner = excluded.lease_owner, lease_until = excluded.lease_until, updated_at = excluded.updated_at"
)
# The change to the history and to the outbox in one statement (its id comes from the first).
_APPEND_CHANGE = (
    f"WITH written AS (INSERT INTO history ({_HISTORY_COLUMNS}) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, provider, message_id, at) "
    "INSERT INTO outbox (id, provider, message_id, next_at) SELECT id, provider, message_id, at FROM written"
)


class PostgresStore(StoreReads):
    """A ``Store`` in the PostgreSQL database at ``url`` (``postgresql://user@host/db``, any
    libpq connection string), its tables created if missing (``create=False``: they must
    exist). Safe to share between threads: each call takes a connection from a pool of at
    most ``pool_size``. Any number of processes, on any machines, may share the database."""

    marker = "%s"
    history_columns = _HISTORY_COLUMNS

    def __init__(self, url: str, *, create: bool = True, pool_size: int = 4) -> None:
        self.url: str = redact(url)
        """The database's URL without its password (for messages and logs)."""
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": dict_row},
            configure=_in_utc,  # (not libpq's options=, which would replace the URL's own)
            check=ConnectionPool.check_connection,  # a connection the server dropped is replaced
            open=False,
            name="dlr-tracking",
        )
        try:
            self._pool.open(wait=True, timeout=30.0)
            with self._transaction() as db:
                if not _tables_exist(db):
                    if not create:
                        raise ValueError("no tracker store there (no messages, history and outbox tables)")
                    # Only when missing: a worker's user then needs no CREATE privilege.
                    db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                    for statement in SCHEMA.split(";"):
                        db.execute(statement)
        except BaseException as error:
            self._pool.close()
            if isinstance(error, psycopg.Error):
                raise ConnectionError(f"{self.url}: {error}") from None  # the URL's password kept out
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        with self._pool.connection() as db:  # commits at the end, rolls back on an error
            yield db

    def update(self, keys: Sequence[MessageKey], decide: Decide) -> list[StatusChange]:
        written: list[StatusChange] = []
        if not keys:
            return written
        with self._transaction() as db:
            # A key without a row has nothing to lock: a transaction-scoped advisory lock per
            # key (taken in one order, so two writers never deadlock) keeps two writers from
            # both creating it. Rows that exist are locked too (FOR UPDATE), so claims skip them.
            db.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k ORDER BY k",
                (sorted({_lock_id(key) for key in keys}),),
            )
            rows = db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE (provider, message_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY provider, message_id FOR UPDATE",
                ([key.provider for key in keys], [key.message_id for key in keys]),
            ).fetchall()
            current: dict[MessageKey, TrackedMessage] = {
                MessageKey(row["provider"], row["message_id"]): _message(row) for row in rows
            }
            messages: list[tuple[Any, ...]] = []
            changes: list[tuple[Any, ...]] = []
            for key in keys:
                # A key given twice is decided on its row as the first decision left it.
                transition = decide(key, current.get(key))
                if transition is None:
                    continue
                current[key] = transition.message
                messages.append(_message_row(transition.message))
                changes.extend(_change_row(change) for change in transition.changes)
                written.extend(transition.changes)
            with db.cursor() as cursor:
                cursor.executemany(_UPSERT_MESSAGE, messages)
                cursor.executemany(_APPEND_CHANGE, changes)  # in order: the ids follow the changes
        return written

    def claim_due(
        self, provider: str, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[TrackedMessage]:
        with self._transaction() as db:
            rows = db.execute(
                "WITH due AS (SELECT provider, message_id FROM messages WHERE provider = %s "
                "AND due_at IS NOT NULL AND due_at <= %s AND (lease_until IS NULL OR lease_until <= %s) "
                "ORDER BY due_at, message_id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE messages SET lease_owner = %s, lease_until = %s FROM due "
                "WHERE messages.provider = due.provider AND messages.message_id = due.message_id "
                f"RETURNING {', '.join('messages.' + c.strip() for c in MESSAGE_COLUMNS.split(','))}",
                (provider, _aware(now), now, limit, owner, _aware(lease_until)),
            ).fetchall()
        claimed = [_message(row) for row in rows]
        return sorted(claimed, key=lambda message: (message.due_at or now, message.message_id))

    def renew_leases(self, keys: Sequence[MessageKey], owner: str, lease_until: datetime) -> list[MessageKey]:
        if not keys:
            return []
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE messages SET lease_until = %s WHERE lease_owner = %s AND (provider, message_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[])) RETURNING provider, message_id",
                (
                    _aware(lease_until),
                    owner,
                    [key.provider for key in keys],
                    [key.message_id for key in keys],
                ),
            ).fetchall()
        renewed = {MessageKey(row["provider"], row["message_id"]) for row in rows}
        return [key for key in keys if key in renewed]

    def claim_changes(
        self, now: datetime, limit: int, owner: str, lease_until: datetime
    ) -> list[PendingChange]:
        with self._transaction() as db:
            rows = db.execute(
                "WITH due AS (SELECT id FROM outbox WHERE next_at <= %s "
                "AND (lease_until IS NULL OR lease_until <= %s) "
                "AND NOT EXISTS (SELECT 1 FROM outbox AS earlier WHERE earlier.provider = outbox.provider "
                "AND earlier.message_id = outbox.message_id AND earlier.id < outbox.id) "
                "ORDER BY next_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox SET lease_owner = %s, lease_until = %s FROM due, history "
                "WHERE outbox.id = due.id AND history.id = outbox.id "
                "RETURNING outbox.id, outbox.attempts, outbox.next_at, "
                f"{', '.join('history.' + c.strip() for c in _HISTORY_COLUMNS.split(','))}",
                (_aware(now), now, limit, owner, _aware(lease_until)),
            ).fetchall()
        rows.sort(key=lambda row: (row["next_at"], row["id"]))
        return [PendingChange(row["id"], _change(row), row["attempts"]) for row in rows]

    def renew_change_leases(self, change_ids: Sequence[int], owner: str, lease_until: datetime) -> list[int]:
        if not change_ids:
            return []
        with self._transaction() as db:
            rows = db.execute(
                "UPDATE outbox SET lease_until = %s WHERE lease_owner = %s AND id = ANY(%s) RETURNING id",
                (_aware(lease_until), owner, list(change_ids)),
            ).fetchall()
        renewed = {row["id"] for row in rows}
        return [change_id for change_id in change_ids if change_id in renewed]

    def settle_changes(self, change_ids: Sequence[int]) -> None:
        if change_ids:
            with self._transaction() as db:
                db.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(change_ids),))

    def retry_change(self, change_id: int, next_at: datetime) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = %s, lease_owner = NULL, "
                "lease_until = NULL WHERE id = %s",
                (_aware(next_at), change_id),
            )

    def _row_message(self, row: Any) -> TrackedMessage:
        return _message(row)

    def _row_change(self, row: Any) -> StatusChange:
        return _change(row)

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._transaction() as db:
            return db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        self._pool.close()


def _tables_exist(db: psycopg.Connection[dict[str, Any]]) -> bool:
    row = db.execute(
        "SELECT to_regclass('messages') IS NOT NULL AND to_regclass('history') IS NOT NULL "
        "AND to_regclass('outbox') IS NOT NULL AS found"
    ).fetchone()
    return bool(row and row["found"])


def _in_utc(connection: psycopg.Connection[Any]) -> None:
    """A new connection's session in UTC: the times read back (and ``dlr-track``'s) in UTC."""
    connection.execute("SET TIME ZONE 'UTC'")
    connection.commit()


def _lock_id(key: MessageKey) -> int:
    """The advisory lock of a message's key: 64 bits of a hash of it (a rare collision only
    makes two keys wait for each other)."""
    digest = hashlib.blake2b(json.dumps([key.provider, key.message_id]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a naive time ({moment}) given to the tracker: give a timezone-aware one")
    return moment


def _message(row: dict[str, Any]) -> TrackedMessage:
    return TrackedMessage(
        provider=row["provider"],
        message_id=row["message_id"],
        sent_at=row["sent_at"],
        recipient=row["recipient"],
        tags=row["tags"],
        status=status_of(row["status"]),
        state=TrackingState(row["state"]),
        due_at=row["due_at"],
        polls=row["polls"],
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
        updated_at=row["updated_at"],
    )


def _json(value: dict[str, Any]) -> Jsonb:
    return Jsonb(value, dumps=lambda obj: json.dumps(obj, sort_keys=True, default=str))


def _message_row(message: TrackedMessage) -> tuple[Any, ...]:
    return (
        message.provider,
        message.message_id,
        _aware(message.sent_at),
        message.recipient,
        _json(message.tags),
        None if message.status is None else message.status.value,
        message.state.value,
        None if message.due_at is None else _aware(message.due_at),
        message.polls,
        message.lease_owner,
        None if message.lease_until is None else _aware(message.lease_until),
        None if message.updated_at is None else _aware(message.updated_at),
    )


def _change(row: dict[str, Any]) -> StatusChange:
    return StatusChange(
        provider=row["provider"],
        message_id=row["message_id"],
        status=DeliveryStatus(row["status"]),
        state=TrackingState(row["state"]),
        source=Source(row["source"]),
        at=row["at"],
        key=row["key"],
        recipient=row["recipient"],
        tags=row["tags"],
        error_code=row["error_code"],
        raw_status=row["raw_status"],
        receipt_key=row["receipt_key"],
    )


def _change_row(change: StatusChange) -> tuple[Any, ...]:
    return (
        change.provider,
        change.message_id,
        change.status.value,
        change.state.value,
        change.source.value,
        _aware(change.at),
        change.key,
        change.recipient,
        _json(change.tags),
        change.error_code,
        _json(change.raw_status),
        change.receipt_key,
    )
