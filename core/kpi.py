"""Support KPIs computed from the stored tickets and messages.

For tickets created in [since, until): wait until the first operator answer (median and
average), resolution time, first-contact resolution (closed, and no new ticket from the
same customer on the same topic within 7 days), CSAT (average, distribution, share of 4
and 5), repeat contacts (a ticket on the same topic within 7 days after an earlier one),
bot containment (conversations active in the period that needed no operator), and the
queue now. Broken down per channel, per intent and per day; VIP tickets apart.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.sla import SlaCompliance
from core.storage import Storage, Ticket

WEEK = 7 * 24 * 3600.0
CHANNEL_NAMES = {"telegram": "Telegram", "vk": "VK", "console": "консоль"}


@dataclass
class KpiBlock:
    tickets: int = 0
    closed: int = 0
    answered: int = 0
    first_response_median: float | None = None  # seconds
    first_response_avg: float | None = None
    resolution_median: float | None = None
    fcr_share: float | None = None  # of closed tickets
    csat_avg: float | None = None
    csat_count: int = 0
    csat_distribution: dict[int, int] = field(default_factory=lambda: {n: 0 for n in range(1, 6)})
    csat_good_share: float | None = None  # share of 4 and 5
    repeat_contacts: int = 0


@dataclass
class KpiReport:
    since: float
    until: float
    overall: KpiBlock
    vip: KpiBlock
    per_channel: dict[str, KpiBlock]
    per_intent: dict[str, KpiBlock]
    per_day: dict[str, KpiBlock]
    conversations: int
    contained: int
    containment_share: float | None
    waiting_now: int
    oldest_wait: float | None  # seconds
    sla: SlaCompliance | None = None  # set by callers that know the targets (`core.sla`)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


async def compute(
    storage: Storage, since: float, until: float, now: float, timezone: str = "Europe/Moscow"
) -> KpiReport:
    everything = await storage.tickets.all()
    in_range = [t for t in everything if since <= t.created_at < until]
    by_customer: dict[int, list[Ticket]] = defaultdict(list)
    for ticket in everything:
        by_customer[ticket.conversation_id].append(ticket)

    def block(tickets: list[Ticket]) -> KpiBlock:
        return _block(tickets, by_customer)

    zone = ZoneInfo(timezone)
    per_channel: dict[str, list[Ticket]] = defaultdict(list)
    per_intent: dict[str, list[Ticket]] = defaultdict(list)
    per_day: dict[str, list[Ticket]] = {d: [] for d in _days(since, until, zone)}
    for ticket in in_range:
        per_channel[ticket.channel].append(ticket)
        per_intent[ticket.intent].append(ticket)
        day = datetime.fromtimestamp(ticket.created_at, zone).date().isoformat()
        per_day.setdefault(day, []).append(ticket)

    active = await _active_conversations(storage, since, until)
    escalated = {t.conversation_id for t in in_range}
    contained = len(active - escalated)
    waiting = [t for t in everything if t.status == "waiting"]
    return KpiReport(
        since=since,
        until=until,
        overall=block(in_range),
        vip=block([t for t in in_range if t.vip]),
        per_channel={k: block(v) for k, v in sorted(per_channel.items())},
        per_intent={k: block(v) for k, v in sorted(per_intent.items())},
        per_day={k: block(v) for k, v in sorted(per_day.items())},
        conversations=len(active),
        contained=contained,
        containment_share=contained / len(active) if active else None,
        waiting_now=len(waiting),
        oldest_wait=max((now - t.created_at for t in waiting), default=None),
    )


def _block(tickets: list[Ticket], by_customer: dict[int, list[Ticket]]) -> KpiBlock:
    result = KpiBlock(tickets=len(tickets))
    waits = [t.first_response_at - t.created_at for t in tickets if t.first_response_at]
    closed = [t for t in tickets if t.closed_at is not None]
    result.closed = len(closed)
    result.answered = len(waits)
    if waits:
        result.first_response_median = statistics.median(waits)
        result.first_response_avg = statistics.fmean(waits)
    resolutions = [t.closed_at - t.created_at for t in closed if t.closed_at is not None]
    if resolutions:
        result.resolution_median = statistics.median(resolutions)
    if closed:
        resolved_first_time = sum(1 for t in closed if not _came_back(t, by_customer))
        result.fcr_share = resolved_first_time / len(closed)
    ratings = [t.rating for t in tickets if t.rating is not None]
    result.csat_count = len(ratings)
    for rating in ratings:
        result.csat_distribution[rating] = result.csat_distribution.get(rating, 0) + 1
    if ratings:
        result.csat_avg = statistics.fmean(ratings)
        result.csat_good_share = sum(1 for r in ratings if r >= 4) / len(ratings)
    result.repeat_contacts = sum(1 for t in tickets if _is_repeat(t, by_customer))
    return result


def _came_back(ticket: Ticket, by_customer: dict[int, list[Ticket]]) -> bool:
    """A new ticket from the same customer on the same topic within 7 days of closing."""
    assert ticket.closed_at is not None
    return any(
        other.id != ticket.id
        and other.intent == ticket.intent
        and ticket.closed_at <= other.created_at <= ticket.closed_at + WEEK
        for other in by_customer[ticket.conversation_id]
    )


def _is_repeat(ticket: Ticket, by_customer: dict[int, list[Ticket]]) -> bool:
    """The customer already had a ticket on the same topic in the 7 days before."""
    return any(
        other.id != ticket.id
        and other.intent == ticket.intent
        and ticket.created_at - WEEK <= other.created_at < ticket.created_at
        for other in by_customer[ticket.conversation_id]
    )


async def _active_conversations(storage: Storage, since: float, until: float) -> set[int]:
    return {m.conversation_id for m in await storage.messages.customer_messages(since, until)}


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


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.1f} мин"
    return f"{seconds / 3600:.1f} ч"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def summary_text(report: KpiReport, title: str) -> str:
    """A short summary for operators (plain text, Russian)."""
    o = report.overall
    lines = [
        title,
        f"Обращений к операторам: {o.tickets}, закрыто: {o.closed}",
        f"Ожидание первого ответа: медиана {minutes(o.first_response_median)}, "
        f"среднее {minutes(o.first_response_avg)}",
        f"Время решения (медиана): {minutes(o.resolution_median)}",
        f"Решено с первого обращения: {percent(o.fcr_share)}",
        f"CSAT: {'—' if o.csat_avg is None else f'{o.csat_avg:.2f}'} из 5 "
        f"({o.csat_count} оценок, 4–5: {percent(o.csat_good_share)})",
        f"Повторные обращения: {o.repeat_contacts}",
        f"Бот справился сам: {percent(report.containment_share)} "
        f"({report.contained} из {report.conversations} диалогов)",
        f"В очереди сейчас: {report.waiting_now}, дольше всех ждёт {minutes(report.oldest_wait)}",
    ]
    if report.sla is not None:
        lines.append(report.sla.summary_line())
    if report.vip.tickets:
        lines.append(
            f"VIP: {report.vip.tickets} обращ., ожидание (медиана) "
            f"{minutes(report.vip.first_response_median)}"
        )
    for channel, b in report.per_channel.items():
        name = CHANNEL_NAMES.get(channel, channel)
        csat = "—" if b.csat_avg is None else f"{b.csat_avg:.1f}"
        wait = minutes(b.first_response_median)
        lines.append(f"• {name}: {b.tickets} обращ., ожидание {wait}, CSAT {csat}")
    return "\n".join(lines)
