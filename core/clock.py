"""Time as the engine sees it: a real clock in production, a hand-moved one in tests."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ShiftedClock:
    """Real time moved to start at `start`: it runs at the normal pace from there. Tests
    that drive a real bot use it so that working hours, dates and weekdays are the same
    whenever the suite runs."""

    def __init__(self, start: float) -> None:
        self._offset = start - time.time()

    def now(self) -> float:
        return time.time() + self._offset


class ManualClock:
    """A clock that moves only when told to; tests use it for KPIs and timeouts."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01 00:00 UTC
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, timestamp: float) -> None:
        self._now = timestamp
