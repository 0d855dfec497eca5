"""Each provider's declared rate limit, held by every worker of a process together.

A limit of N requests per period is a sliding window: no more than N calls in any period.
A worker books its call before making it and waits until the booked time; bookings queue
up in turn, so workers sharing a window together keep to the limit (N calls may go at
once, then the next when the first is a period old). ``RateLimits`` hands out one window
per provider; ``PROCESS_RATE_LIMITS``
is the one every tracker of a process shares unless given another. Several processes each
hold their own windows: give each its share (``RateLimit(n // processes, period)``), as
docs/tracking.md describes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from dlr_core.polling import PollingHints

DEFAULT_RATE_LIMIT_REQUESTS = 10
"""Requests per period for a provider whose spec declares no rate limit ..."""
DEFAULT_RATE_PERIOD = timedelta(seconds=1)
"""... and the period, for one whose spec gives a limit without one."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` calls in any ``period`` (after a burst of as many)."""

    requests: int = DEFAULT_RATE_LIMIT_REQUESTS
    period: timedelta = DEFAULT_RATE_PERIOD

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError(f"a rate limit allows at least one request, got {self.requests}")
        if self.period <= timedelta(0):
            raise ValueError(f"a rate limit's period must be positive, got {self.period}")

    @classmethod
    def from_hints(cls, hints: PollingHints) -> RateLimit:
        """The limit a spec declares (``polling.rate_limit``), the defaults filling the gaps."""
        return cls(
            requests=hints.rate_limit or DEFAULT_RATE_LIMIT_REQUESTS,
            period=hints.rate_period or DEFAULT_RATE_PERIOD,
        )


class CallWindow:
    """One provider's limit as a sliding window, safe to share between threads: the times
    of the latest ``requests`` calls (made or booked), and no call booked sooner than
    ``period`` after the one ``requests`` calls before it."""

    def __init__(self, limit: RateLimit, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._monotonic = monotonic
        self._period = limit.period.total_seconds()
        self._booked: deque[float] = deque(maxlen=limit.requests)
        self._lock = threading.Lock()

    def reserve(self, calls: int = 1) -> float:
        """Book ``calls`` calls: the seconds to wait before making them (0 for now). The
        calls are made together, so they are booked at the time the last one may go."""
        with self._lock:
            now = self._monotonic()
            at = now
            for _ in range(calls):
                if len(self._booked) == self.limit.requests:
                    at = max(at, self._booked[0] + self._period)
                self._booked.append(at)
            # the earlier ones of a group go at ``at`` too: book them there
            for index in range(max(0, len(self._booked) - calls), len(self._booked)):
                self._booked[index] = at
            return at - now


class RateLimits:
    """One window per provider, made on first use with the limit given then (a later,
    different limit for the same provider does not replace it)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._windows: dict[str, CallWindow] = {}
        self._lock = threading.Lock()

    def window(self, provider: str, limit: RateLimit) -> CallWindow:
        with self._lock:
            window = self._windows.get(provider)
            if window is None:
                window = self._windows[provider] = CallWindow(limit, self._monotonic)
            return window


PROCESS_RATE_LIMITS = RateLimits()
"""The windows every tracker of this process shares by default."""
