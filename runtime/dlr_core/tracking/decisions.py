"""What the tracker decides for one message, given its stored row and what just happened:
pure functions from (row, event, now) to the ``Transition`` a store writes. The sync and
async trackers share them; the merge rules are in ``merge.py``, the timing in ``schedule.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dlr_core.receipt import Receipt
from dlr_core.status import DeliveryStatus
from dlr_core.tracking.merge import state_after, takes
from dlr_core.tracking.model import (
    MessageKey,
    Source,
    StatusChange,
    TrackedMessage,
    TrackingState,
    change_key,
)
from dlr_core.tracking.schedule import PollSchedule
from dlr_core.tracking.store import Transition


def on_track(
    key: MessageKey,
    row: TrackedMessage | None,
    *,
    sent_at: datetime,
    recipient: str | None,
    tags: Mapping[str, Any],
    schedule: PollSchedule,
    now: datetime,
) -> Transition | None:
    """``track``: a new message, due for its first poll after the provider's report delay.
    A message a push created first (it can arrive before ``track`` is called) keeps its
    status and gains what ``track`` says of it."""
    if row is None:
        message = TrackedMessage(
            provider=key.provider,
            message_id=key.message_id,
            sent_at=sent_at,
            recipient=recipient,
            tags=dict(tags),
            due_at=schedule.first_poll(sent_at),
            updated_at=now,
        )
        return Transition(message)
    due_at = (
        schedule.first_poll(sent_at) if row.state is TrackingState.OPEN and row.polls == 0 else row.due_at
    )
    updated = replace(
        row,
        sent_at=sent_at,
        recipient=recipient if recipient is not None else row.recipient,
        tags={**row.tags, **tags},
        due_at=due_at,
    )
    return None if updated == row else Transition(replace(updated, updated_at=now))


def on_push(
    key: MessageKey, row: TrackedMessage | None, receipt: Receipt, *, now: datetime
) -> Transition | None:
    """A pushed receipt: taken if it moves the message forwards. A push for a message not
    tracked yet creates it (sent ``receipt.submitted_at``, or now), not due for polls until
    ``track`` says when it was sent."""
    if row is None:
        row = TrackedMessage(
            provider=key.provider,
            message_id=key.message_id,
            sent_at=receipt.submitted_at or now,
            recipient=receipt.recipient,
            updated_at=now,
        )
        created = True
    else:
        created = False
    taken = _take(row, receipt, Source.PUSH, now)
    if taken is None:
        return Transition(row) if created else None
    return taken


def on_poll(
    row: TrackedMessage | None,
    receipts: Sequence[Receipt],
    *,
    owner: str,
    schedule: PollSchedule,
    now: datetime,
) -> Transition | None:
    """A poll's answer for one message (its receipts, none when the provider had no report):
    the receipts taken by the merge rules, the lease released, and the next poll planned, or
    the message given up (``expired``, status ``unknown``) when the retention ran out."""
    if row is None:
        return None
    changes: list[StatusChange] = []
    for receipt in receipts:
        taken = _take(row, receipt, Source.POLL, now)
        if taken is not None:
            row, changes = taken.message, [*changes, *taken.changes]
    row = _released(row, owner)
    if row.state is TrackingState.OPEN:
        polls = row.polls + 1
        due_at = schedule.next_poll(row.sent_at, polls, now)
        if due_at is None:
            row = replace(
                row, status=DeliveryStatus.UNKNOWN, state=TrackingState.EXPIRED, due_at=None, polls=polls
            )
            changes.append(_change(row, Source.SCHEDULE, now, None))
        else:
            row = replace(row, due_at=due_at, polls=polls)
    return Transition(replace(row, updated_at=now), tuple(changes))


def on_poll_failure(
    row: TrackedMessage | None, *, owner: str, retry_at: datetime, now: datetime
) -> Transition | None:
    """The poll got no answer (the provider failed, or refused): the lease released and the
    message due again at ``retry_at``, its poll count unchanged."""
    if row is None or row.lease_owner != owner:
        return None
    due_at = retry_at if row.state is TrackingState.OPEN else None
    return Transition(replace(_released(row, owner), due_at=due_at, updated_at=now))


def _take(row: TrackedMessage, receipt: Receipt, source: Source, now: datetime) -> Transition | None:
    if receipt.details.get("answered") is False:  # an id the provider left out: no news
        return None
    if not takes(row.status, row.state, receipt.status):
        return None
    state = state_after(receipt.status)
    message = replace(
        row,
        status=receipt.status,
        state=state,
        due_at=None if state is TrackingState.FINAL else row.due_at,
        recipient=row.recipient or receipt.recipient,
        updated_at=now,
    )
    return Transition(message, (_change(message, source, now, receipt),))


def _released(row: TrackedMessage, owner: str) -> TrackedMessage:
    """The row without ``owner``'s lease (another worker's lease, taken after ours ran out, stays)."""
    if row.lease_owner != owner:
        return row
    return replace(row, lease_owner=None, lease_until=None)


def _change(message: TrackedMessage, source: Source, now: datetime, receipt: Receipt | None) -> StatusChange:
    assert message.status is not None  # a change always has a status
    return StatusChange(
        provider=message.provider,
        message_id=message.message_id,
        status=message.status,
        state=message.state,
        source=source,
        at=now,
        key=change_key(message.provider, message.message_id, message.state, message.status),
        recipient=message.recipient,
        tags=message.tags,
        error_code=None if receipt is None else receipt.error_code,
        raw_status={} if receipt is None else dict(receipt.raw_status),
        receipt_key=None if receipt is None else receipt.idempotency_key,
    )
