"""Per-customer limits: messages a minute and new cases a day, worked out from the
figures a turn reads (`core.storage.abuse.CustomerState`). Pure: no database, no clock.

- **Messages a minute.** A customer whose message would be one more than
  `messages_per_minute` within a minute is muted for a minute: that message and the rest
  until then are stored and marked, not answered; in an open case they reach the
  operators as one merged post when the minute is over. After a mute the count starts
  again, so someone who keeps flooding is muted again after the next full allowance.
- **Cases a day.** A customer who opened `cases_per_day` cases within a day cannot open
  another until the oldest of them is a day old; the bot still answers their questions.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.abuse import CustomerState

MESSAGES_PER_MINUTE = "messages_per_minute"
CASES_PER_DAY = "cases_per_day"
MINUTE = 60.0
DAY = 86400.0


@dataclass(frozen=True)
class LimitPolicy:
    messages_per_minute: int = 20
    cases_per_day: int = 5


def muted(state: CustomerState, now: float) -> bool:
    return now < state.muted_until


def over_message_limit(state: CustomerState, policy: LimitPolicy) -> bool:
    """Whether one more message now is past the limit (`state.messages` counts those since
    the minute began, or since a mute ended)."""
    return state.messages + 1 > policy.messages_per_minute


def case_limit_reached(state: CustomerState, policy: LimitPolicy) -> bool:
    return state.cases >= policy.cases_per_day


def cases_free_at(opened: list[float], policy: LimitPolicy) -> float:
    """When the customer may open a case again (`opened`: when their cases of the last day
    opened): once enough of them are a day old."""
    opened = sorted(opened)
    return opened[max(0, len(opened) - policy.cases_per_day)] + DAY
