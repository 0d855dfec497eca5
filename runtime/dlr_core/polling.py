"""Polling hints taken from each provider's docs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the hints are read by specs, which need no pydantic
    from dlr_core.receipt import Receipt


@dataclass(frozen=True)
class PollingHints:
    """How often a provider's status is worth asking for; None where its docs say nothing."""

    first_check_after: timedelta | None = None
    """How long after sending the first query is worth making."""
    interval: timedelta | None = None
    """Time between two queries."""
    give_up_after: timedelta | None = None
    """After this, a status that is still open will not change (or needs the provider's support)."""
    provider_sync_interval: timedelta | None = None
    """How often the provider itself refreshes the status from the carrier."""
    note: str | None = None
    """What the provider's docs say, in words."""
    rate_limit: int | None = None
    """Requests the provider allows per ``rate_period`` (its documented rate limit), which
    the delivery tracker (``dlr_core.tracking``) keeps its polls under."""
    rate_period: timedelta | None = None
    """The period ``rate_limit`` counts over (one second when the spec gives none)."""

    def plan(
        self, timeout: float | None, interval: float | None, sent_at: datetime | None, now: datetime
    ) -> tuple[float, float, float]:
        """``wait_for_final``'s (first wait, interval, deadline) in seconds: the arguments
        given, else these hints, else a minute between queries and an hour in all."""
        every = interval if interval is not None else _seconds(self.interval, DEFAULT_POLL_INTERVAL)
        limit = timeout if timeout is not None else _seconds(self.give_up_after, DEFAULT_POLL_TIMEOUT)
        first = 0.0
        if sent_at is not None and self.first_check_after is not None:
            first = max(0.0, (sent_at + self.first_check_after - now).total_seconds())
        return first, every, limit


DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_POLL_TIMEOUT = 3600.0


def _seconds(value: timedelta | None, default: float) -> float:
    return value.total_seconds() if value is not None else default


@dataclass(frozen=True)
class PollResult:
    """What ``wait_for_final`` ends with."""

    receipts: list[Receipt]
    """Every receipt of the last query."""
    open: list[Receipt]
    """The receipts whose status is not final yet (empty when all are final)."""

    @property
    def complete(self) -> bool:
        """True when every receipt reached a final status."""
        return not self.open and bool(self.receipts)
