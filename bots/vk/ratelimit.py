"""A small async rate limiter for VK API calls.

VK lets a community token make about 20 API calls a second. The limiter hands out
time slots so that any window of `per` seconds holds at most `calls` calls: callers
reserve a slot in arrival order and `asyncio.sleep` until it comes, so the event loop
is never blocked and nobody overtakes anybody.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque


class RateLimiter:
    def __init__(self, calls: int, per: float = 1.0) -> None:
        if calls < 1 or per <= 0:
            raise ValueError("a rate limit needs calls >= 1 and per > 0")
        self.calls = calls
        self.per = per
        self._slots: deque[float] = deque(maxlen=calls)  # start times of the last calls

    @classmethod
    def per_second(cls, rate: float) -> RateLimiter:
        """`rate` calls a second; fractional rates (0.5) become one call every 2 s."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        calls = max(1, math.floor(rate))
        return cls(calls, calls / rate)

    def reserve(self, now: float) -> float:
        """The moment a call arriving at `now` may start (slots go in arrival order)."""
        slot = now
        if len(self._slots) == self.calls:
            slot = max(now, self._slots[0] + self.per)
        self._slots.append(slot)  # maxlen drops the oldest
        return slot

    async def acquire(self) -> None:
        """Wait until one more call fits in the limit."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        delay = self.reserve(now) - now
        if delay > 0:
            await asyncio.sleep(delay)
