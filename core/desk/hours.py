"""Operators' working hours, in the shop's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.knowledge.texts import Texts


@dataclass(frozen=True)
class WorkingHours:
    start: time = time(9, 0)
    end: time = time(21, 0)
    days: frozenset[int] = frozenset(range(1, 8))  # ISO weekdays, 1 = Monday
    timezone: str = "Europe/Moscow"

    @classmethod
    def round_the_clock(cls) -> WorkingHours:
        return cls(time(0, 0), time(0, 0))

    @property
    def always(self) -> bool:
        return self.start == self.end and len(self.days) == 7

    def is_open(self, timestamp: float) -> bool:
        if self.always:
            return True
        local = datetime.fromtimestamp(timestamp, ZoneInfo(self.timezone))
        if local.isoweekday() not in self.days:
            return False
        now = local.time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end  # a shift over midnight

    def next_opening(self, timestamp: float) -> datetime:
        """The local time when operators are next at work (now if they are)."""
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(timestamp, zone)
        if self.is_open(timestamp):
            return local
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            opening = datetime.combine(day, self.start, tzinfo=zone)
            if opening > local and opening.isoweekday() in self.days:
                return opening
        return local

    def describe(self, texts: Texts) -> str:
        """The hours as customers read them (texts.yaml `working_hours`)."""
        return texts.format("working_hours", start=f"{self.start:%H:%M}", end=f"{self.end:%H:%M}")
