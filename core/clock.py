"""Time as the engine sees it: a real clock in production, a hand-moved one in tests."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

# An ISO 8601 instant with its UTC offset: the process's clock starts there (see below).
CLOCK_START = "SUPPORTBOT_CLOCK_START"


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


def clock_from_environment(environ: Mapping[str, str] = os.environ) -> Clock:
    """The real clock; with `SUPPORTBOT_CLOCK_START=2026-01-01T12:00:00+03:00`, real time
    shifted to start at that instant. Tests that start `python -m bots` set it, so that
    working hours, weekdays and dates in the process are the same whenever and wherever
    the suite runs; it is also a way to try working hours or SLA alerts by hand."""
    value = environ.get(CLOCK_START, "").strip()
    return ShiftedClock(parse_instant(value)) if value else SystemClock()


def parse_instant(value: str) -> float:
    """Seconds since the epoch of an ISO 8601 instant that names its offset."""
    try:
        start: datetime | None = datetime.fromisoformat(value)
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise ValueError(
            f"{CLOCK_START}: expected an ISO 8601 instant with its UTC offset, "
            f"e.g. 2026-01-05T12:00:00+03:00; got {value!r}"
        )
    return start.timestamp()
