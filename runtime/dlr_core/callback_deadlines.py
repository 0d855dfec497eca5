"""Deadlines for reading pushes on asyncio (3.11+), one timer per event loop and read
timeout instead of one per push (#25).

``asyncio.timeout`` schedules a timer for every push read and cancels it once the body is
in: a tenth of what ``CallbackApp`` itself costs per push, where the body nearly always
arrives in one message at once. Here a read registers its task and deadline in a table;
one watch per loop and timeout, rescheduled while reads are pending, cancels the tasks
whose deadline has passed. A read still ends as ``asyncio.timeout`` ends it: the task is
cancelled, the cancellation is taken back and ``TimeoutError`` raised, unless something
else cancelled the task too. A body that never ends is stopped at most a tenth of the
timeout after its deadline (``TICKS``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["TICKS", "within"]

TICKS = 10
"""How often per timeout the watch looks: a read is stopped between its deadline and a
``1 / TICKS`` of the timeout later."""

_Read = TypeVar("_Read")


class _Watch:
    """The reads of one loop with one timeout, and the timer looking at them."""

    __slots__ = ("loop", "seconds", "deadlines", "expired", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop = loop
        self.seconds = seconds
        self.deadlines: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.timer: asyncio.TimerHandle | None = None

    def look(self) -> None:
        """Cancels every read past its deadline; looks again while any is pending."""
        self.timer = None
        now = self.loop.time()
        for task, deadline in list(self.deadlines.items()):
            if deadline <= now:
                del self.deadlines[task]
                self.expired.add(task)
                task.cancel()
        if self.deadlines:
            self.timer = self.loop.call_later(self.seconds / TICKS, self.look)


_WATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, _Watch]] = (
    weakref.WeakKeyDictionary()
)


async def within(seconds: float, work: Coroutine[Any, Any, _Read]) -> _Read:
    """``work``'s result, or ``TimeoutError`` once ``seconds`` have passed (and up to a
    ``1 / TICKS`` of them more). Called from an asyncio task."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    # Looked up by the running loop every time: loops in other threads keep their own watches
    # (a watch's timer cancels tasks of its own loop only).
    watches = _WATCHES.get(loop)
    if watches is None:
        watches = _WATCHES[loop] = {}
    watch = watches.get(seconds)
    if watch is None:
        watch = watches[seconds] = _Watch(loop, seconds)
    watch.deadlines[task] = loop.time() + seconds
    if watch.timer is None:
        watch.timer = loop.call_later(seconds / TICKS, watch.look)
    cancelling = task.cancelling()
    try:
        return await work
    except asyncio.CancelledError:
        if task in watch.expired:
            watch.expired.discard(task)
            if task.uncancel() <= cancelling:
                raise TimeoutError from None
        raise
    finally:
        watch.deadlines.pop(task, None)
        if (
            task in watch.expired
        ):  # cancelled as the read ended otherwise: taken back, as asyncio.timeout does
            watch.expired.discard(task)
            task.uncancel()
