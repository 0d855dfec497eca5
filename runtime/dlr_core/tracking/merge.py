"""The merge rules: how a reported status (by poll or push) changes a tracked message.

A status never goes backwards: statuses are ranked (unknown < queued < sending < sent <
any final one), and a report is taken only when it ranks above what is known. The first
final status wins (a poll and a push of the same outcome make one final event; a later,
different final is not taken). A message the tracker gave up on (``expired``: retention ran
out, status ``unknown``) takes a final status still, from a late push or poll: that is news,
not a regression.
"""

from __future__ import annotations

from dlr_core.status import DeliveryStatus
from dlr_core.tracking.model import TrackingState

_OPEN_RANK = {
    DeliveryStatus.UNKNOWN: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENDING: 2,
    DeliveryStatus.SENT: 3,
}
_FINAL_RANK = 4


def rank(status: DeliveryStatus | None) -> int:
    """How far along ``status`` is; -1 for no status yet."""
    if status is None:
        return -1
    return _FINAL_RANK if status.is_final else _OPEN_RANK[status]


def takes(current: DeliveryStatus | None, state: TrackingState, reported: DeliveryStatus) -> bool:
    """Whether a message at ``current`` (tracked in ``state``) takes the ``reported`` status."""
    if state is TrackingState.FINAL:
        return False
    if state is TrackingState.EXPIRED:
        return reported.is_final
    return rank(reported) > rank(current)


def state_after(status: DeliveryStatus) -> TrackingState:
    """The tracking state a message is in once it has taken ``status`` from a report."""
    return TrackingState.FINAL if status.is_final else TrackingState.OPEN
