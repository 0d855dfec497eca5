"""When a tracked message is polled: first after the provider's typical report delay, then
less and less often, and not after the provider's report retention runs out.

The defaults come from the spec's polling hints (``ApiSpec.polling``: ``first_check_after``,
``interval``, ``give_up_after``); where a spec says nothing, the documented defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dlr_core.polling import PollingHints

DEFAULT_FIRST_CHECK_AFTER = timedelta(seconds=30)
"""First poll this long after sending, for a provider whose docs give no report delay."""
DEFAULT_INTERVAL = timedelta(seconds=60)
"""The first interval between polls, for a provider whose docs give none."""
DEFAULT_BACKOFF = 2.0
"""Each interval is this many times the one before ..."""
DEFAULT_MAX_INTERVAL = timedelta(minutes=30)
"""... up to this (or the provider's own interval, if longer)."""
DEFAULT_GIVE_UP_AFTER = timedelta(hours=72)
"""Stop polling this long after sending, for a provider whose docs give no retention."""


@dataclass(frozen=True)
class PollSchedule:
    """When to poll one provider's messages."""

    first_check_after: timedelta = DEFAULT_FIRST_CHECK_AFTER
    interval: timedelta = DEFAULT_INTERVAL
    backoff: float = DEFAULT_BACKOFF
    max_interval: timedelta = DEFAULT_MAX_INTERVAL
    give_up_after: timedelta = DEFAULT_GIVE_UP_AFTER
    """The provider's report retention: an open message is given up (``expired``) then."""

    def __post_init__(self) -> None:
        if self.backoff < 1.0:
            raise ValueError(f"backoff must be at least 1, got {self.backoff}")
        if self.interval <= timedelta(0):
            raise ValueError(f"interval must be positive, got {self.interval}")

    @classmethod
    def from_hints(cls, hints: PollingHints) -> PollSchedule:
        """The schedule a provider's polling hints describe, the defaults filling the gaps."""
        interval = hints.interval or DEFAULT_INTERVAL
        return cls(
            first_check_after=hints.first_check_after or DEFAULT_FIRST_CHECK_AFTER,
            interval=interval,
            max_interval=max(interval, DEFAULT_MAX_INTERVAL),
            give_up_after=hints.give_up_after or DEFAULT_GIVE_UP_AFTER,
        )

    def first_poll(self, sent_at: datetime) -> datetime:
        return sent_at + self.first_check_after

    def gives_up_at(self, sent_at: datetime) -> datetime:
        return sent_at + self.give_up_after

    def next_poll(self, sent_at: datetime, polls: int, now: datetime) -> datetime | None:
        """When to poll again a message still open after ``polls`` polls, the last one ``now``;
        None when its retention has run out (give it up). The last poll is at the retention's
        end, so a report arriving just before is still read."""
        end = self.gives_up_at(sent_at)
        if now >= end:
            return None
        grown = self.interval.total_seconds() * self.backoff ** min(max(polls - 1, 0), 64)
        wait = timedelta(seconds=min(grown, self.max_interval.total_seconds()))
        return min(now + wait, end)
