"""Support KPIs computed from the stored tickets, messages and the bot's outcomes.

Definitions (README, "KPIs"), for cases (tickets) created in [since, until):

- first response: from the case's creation to the first operator reply;
- resolution: from creation to closing;
- first-contact resolution (FCR): of the closed cases, the share that got an operator
  reply, were never reopened, and after which the customer did not come back (a new case
  on the same topic, or on an unnamed one such as a bare request for an operator) within
  `repeat_days` days;
- repeat contacts: cases that came within `repeat_days` days after an earlier case of
  the same customer on the same (or an unnamed) topic;
- CSAT: the average rating 1–5, its distribution and the share of 4 and 5;
- containment: of the conversations with a customer message in the period, the share
  the bot solved without an operator — the bot answered a question, the customer pressed
  the "it helped" button, or a self-service action was done — and no case was opened in
  the period.

Broken down per channel, per intent and per day; VIP cases apart; the queue now. The
operators' wording of it is `core.reports.summary` (and `export` for files and the chart).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.desk.sla import SlaCompliance
from core.storage import Storage, Ticket
from core.storage.outcomes import ANSWERED, HELPED, SELF_SERVICE
from core.storage.ticket_events import REOPENED

DAY = 24 * 3600.0
WEEK = 7 * DAY
REPEAT_DAYS = 7
PERIODS = ("today", "week", "month")  # /stats' periods, ending now (`period`)
# Topics that name no issue: a case on one of them may be about anything.
UNNAMED_TOPICS = frozenset({"operator", "out_of_scope", "greeting", "thanks", ""})


@dataclass
class KpiBlock:
    tickets: int = 0
    closed: int = 0
    answered: int = 0  # cases with at least one operator reply
    reopened: int = 0
    first_response_median: float | None = None  # seconds
    first_response_avg: float | None = None  # seconds
    resolution_median: float | None = None  # seconds
    fcr_share: float | None = None  # of closed cases, 0..1
    csat_avg: float | None = None  # 1..5
    csat_count: int = 0
    csat_distribution: dict[int, int] = field(default_factory=lambda: {n: 0 for n in range(1, 6)})
    csat_good_share: float | None = None  # share of 4 and 5, 0..1
    repeat_contacts: int = 0


@dataclass
class BotBlock:
    """What the bot solved by itself."""

    conversations: int = 0
    contained: int = 0
    answered: int = 0  # contained conversations where the bot answered a question
    helped: int = 0  # … where the customer pressed "it helped"
    self_service: int = 0  # … where a self-service action was done
    actions_done: int = 0  # self-service actions in the period, by outcome
    actions_refused: int = 0
    actions_failed: int = 0


@dataclass
class KpiReport:
    since: float
    until: float
    overall: KpiBlock
    vip: KpiBlock
    per_channel: dict[str, KpiBlock]
    per_intent: dict[str, KpiBlock]
    per_day: dict[str, KpiBlock]  # every day of the period, empty ones too
    conversations: int
    contained: int
    containment_share: float | None
    waiting_now: int
    oldest_wait: float | None  # seconds
    bot: BotBlock = field(default_factory=BotBlock)
    repeat_days: int = REPEAT_DAYS
    sla: SlaCompliance | None = None  # set by callers that know the targets (`off_loop`)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


async def compute(
    storage: Storage,
    since: float,
    until: float,
    now: float,
    timezone: str = "Europe/Moscow",
    repeat_days: int = REPEAT_DAYS,
) -> KpiReport:
    everything = await storage.tickets.all()
    in_range = [t for t in everything if since <= t.created_at < until]
    by_customer: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in everything:
        by_customer[ticket.conversation_id].append(ticket)
    reopened = await storage.ticket_events.tickets_with(REOPENED)
    window = repeat_days * DAY

    def block(tickets: list[Ticket]) -> KpiBlock:
        return _block(tickets, by_customer, reopened, window)

    zone = ZoneInfo(timezone)
    per_channel: dict[str, list[Ticket]] = defaultdict(list)
    per_intent: dict[str, list[Ticket]] = defaultdict(list)
    per_day: dict[str, list[Ticket]] = {d: [] for d in _days(since, until, zone)}
    for ticket in in_range:
        per_channel[ticket.channel].append(ticket)
        per_intent[ticket.intent].append(ticket)
        day = datetime.fromtimestamp(ticket.created_at, zone).date().isoformat()
        per_day.setdefault(day, []).append(ticket)

    bot = await _bot_block(storage, since, until, {t.conversation_id for t in in_range})
    waiting = [t for t in everything if t.status == "waiting"]
    return KpiReport(
        since=since,
        until=until,
        overall=block(in_range),
        vip=block([t for t in in_range if t.vip]),
        per_channel={k: block(v) for k, v in sorted(per_channel.items())},
        per_intent={k: block(v) for k, v in sorted(per_intent.items())},
        per_day={k: block(v) for k, v in sorted(per_day.items())},
        conversations=bot.conversations,
        contained=bot.contained,
        containment_share=bot.contained / bot.conversations if bot.conversations else None,
        waiting_now=len(waiting),
        oldest_wait=max((now - t.created_at for t in waiting), default=None),
        bot=bot,
        repeat_days=repeat_days,
    )


def _block(
    tickets: list[Ticket],
    by_customer: dict[int, list[Ticket]],
    reopened: set[int],
    window: float,
) -> KpiBlock:
    result = KpiBlock(tickets=len(tickets))
    waits = [t.first_response_at - t.created_at for t in tickets if t.first_response_at]
    closed = [t for t in tickets if t.closed_at is not None]
    result.closed = len(closed)
    result.answered = len(waits)
    result.reopened = sum(1 for t in tickets if t.id in reopened)
    if waits:
        result.first_response_median = statistics.median(waits)
        result.first_response_avg = statistics.fmean(waits)
    resolutions = [t.closed_at - t.created_at for t in closed if t.closed_at is not None]
    if resolutions:
        result.resolution_median = statistics.median(resolutions)
    if closed:
        solved_first_time = sum(
            1
            for t in closed
            if t.first_response_at is not None
            and t.id not in reopened
            and not _came_back(t, by_customer, window)
        )
        result.fcr_share = solved_first_time / len(closed)
    ratings = [t.rating for t in tickets if t.rating is not None]
    result.csat_count = len(ratings)
    for rating in ratings:
        result.csat_distribution[rating] = result.csat_distribution.get(rating, 0) + 1
    if ratings:
        result.csat_avg = statistics.fmean(ratings)
        result.csat_good_share = sum(1 for r in ratings if r >= 4) / len(ratings)
    result.repeat_contacts = sum(1 for t in tickets if _is_repeat(t, by_customer, window))
    return result


def same_issue(first: Ticket, second: Ticket) -> bool:
    """Two cases may be about the same issue: the same topic, or one of them unnamed."""
    return (
        first.intent == second.intent
        or first.intent in UNNAMED_TOPICS
        or second.intent in UNNAMED_TOPICS
    )


def _came_back(ticket: Ticket, by_customer: dict[int, list[Ticket]], window: float) -> bool:
    """The customer opened another case on the issue within the window after closing."""
    assert ticket.closed_at is not None
    return any(
        other.id != ticket.id
        and same_issue(ticket, other)
        and ticket.closed_at <= other.created_at <= ticket.closed_at + window
        for other in by_customer[ticket.conversation_id]
    )


def _is_repeat(ticket: Ticket, by_customer: dict[int, list[Ticket]], window: float) -> bool:
    """The customer already had a case on the issue in the window before."""
    return any(
        other.id != ticket.id
        and same_issue(ticket, other)
        and ticket.created_at - window <= other.created_at < ticket.created_at
        for other in by_customer[ticket.conversation_id]
    )


async def _bot_block(storage: Storage, since: float, until: float, escalated: set[int]) -> BotBlock:
    active = {m.conversation_id for m in await storage.messages.customer_messages(since, until)}
    kinds: dict[int, set[str]] = defaultdict(set)
    for conversation_id, kind in await storage.outcomes.between(since, until):
        kinds[conversation_id].add(kind)
    contained = {c for c in active - escalated if kinds.get(c)}
    outcomes = Counter(a.outcome for a in await storage.outcomes.actions(since, until))
    return BotBlock(
        conversations=len(active),
        contained=len(contained),
        answered=sum(1 for c in contained if ANSWERED in kinds[c]),
        helped=sum(1 for c in contained if HELPED in kinds[c]),
        self_service=sum(1 for c in contained if SELF_SERVICE in kinds[c]),
        actions_done=outcomes.get("done", 0),
        actions_refused=outcomes.get("refused", 0),
        actions_failed=outcomes.get("failed", 0),
    )


def _days(since: float, until: float, zone: ZoneInfo) -> list[str]:
    first = datetime.fromtimestamp(since, zone).date()
    last = datetime.fromtimestamp(max(since, until - 1), zone).date()
    days: list[str] = []
    current: date = first
    while current <= last and len(days) < 400:
        days.append(current.isoformat())
        current += timedelta(days=1)
    return days


def period(name: str, now: float, timezone: str = "Europe/Moscow") -> tuple[float, float]:
    """`today`, `week` (the last 7 days) or `month` (the last 30 days), ending now."""
    zone = ZoneInfo(timezone)
    midnight = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    days = {"today": 0, "week": 6, "month": 29}.get(name, 0)
    return (midnight - timedelta(days=days)).timestamp(), now
