"""A sliding-window limit on posts into one chat (Telegram: ~20 a minute into a group)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sent: deque[float] = deque()

    def wait_for(self, slots: int = 1) -> float:
        """Seconds until `slots` more posts fit into the window (0 when they fit now)."""
        now = self._clock()
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        free = self.limit - len(self._sent)
        if free >= slots:
            return 0.0
        needed = slots - free
        oldest = self._sent[needed - 1] if needed <= len(self._sent) else now
        return max(0.0, oldest + self.window - now) + 0.05

    def record(self) -> None:
        self._sent.append(self._clock())
