"""``dlr-track`` (``python -m dlr_core.tracking``): what a tracker's store holds.

dlr-track sqlite:///dlr.db             counts by provider and status, the oldest open message
dlr-track sqlite:///dlr.db --history example_sms m-1
dlr-track postgresql://user@host/db
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from typing import TextIO

from dlr_core.tracking.model import MessageKey
from dlr_core.tracking.connect import open_store, redact
from dlr_core.tracking.store import Store


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="dlr-track", description="What a delivery tracker's store holds.")
    parser.add_argument("store", help="the store's URL, e.g. sqlite:///dlr.db or postgresql://user@host/db")
    parser.add_argument(
        "--history", nargs=2, metavar=("PROVIDER", "MESSAGE_ID"), help="one message's status changes"
    )
    args = parser.parse_args(argv)
    try:
        store = open_store(args.store, create=False)
        try:
            if args.history:
                _history(store, MessageKey(*args.history), out)
            else:
                _summary(store, out)
        finally:
            store.close()
    except (ValueError, OSError, sqlite3.Error) as error:
        print(f"dlr-track: {redact(args.store)}: {error}", file=sys.stderr)
        return 2
    return 0


def _summary(store: Store, out: TextIO) -> None:
    rows = [("provider", "state", "status", "messages")]
    rows += [
        (count.provider, count.state.value, count.status.value if count.status else "-", str(count.count))
        for count in store.counts()
    ]
    _table(rows, out)
    oldest = store.oldest_open()
    if oldest is None:
        print("\nno open message", file=out)
    else:
        status = oldest.status.value if oldest.status else "no report yet"
        due = oldest.due_at.isoformat() if oldest.due_at else "not due"
        print(
            f"\noldest open message: {oldest.provider} {oldest.message_id}, sent {oldest.sent_at.isoformat()}, "
            f"{status}, {oldest.polls} poll(s), next poll {due}",
            file=out,
        )
    print(f"changes waiting for the handler: {store.pending_changes()}", file=out)


def _history(store: Store, key: MessageKey, out: TextIO) -> None:
    rows = [("at", "status", "state", "source", "key")]
    rows += [
        (change.at.isoformat(), change.status.value, change.state.value, change.source.value, change.key)
        for change in store.history(key)
    ]
    _table(rows, out)


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
