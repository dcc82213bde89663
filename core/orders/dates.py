"""Calendar arithmetic for orders: the shop's "today", ISO dates, working days."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_RELATIVE = re.compile(r"^today\s*(?:([+-])\s*(\d{1,4}))?$")


def today(now: float, timezone: str) -> date:
    """The calendar day it is in the shop's timezone."""
    return datetime.fromtimestamp(now, ZoneInfo(timezone)).date()


def parse(value: str | None) -> date | None:
    """`YYYY-MM-DD` as a date; None for anything else."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def resolve(value: object, base: date) -> object:
    """`today`, `today+3`, `today-5` (the demo file's relative dates) as ISO dates, also
    inside lists and mappings; anything else is returned unchanged."""
    if isinstance(value, list):
        return [resolve(item, base) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, base) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    match = _RELATIVE.match(value.strip())
    if not match:
        return value
    sign, days = match.groups()
    offset = int(days or 0) * (-1 if sign == "-" else 1)
    return (base + timedelta(days=offset)).isoformat()


def add_working_days(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current
