"""What operators and the shop read about limits, blocks and spam: the `/stats` line (the
period's marked messages, from the database: every replica's) and `supportbot bans`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.events import CustomerBlocked
from core.knowledge.texts import Texts
from core.storage import Storage
from core.storage.abuse import BLOCKED, LIMITED, SPAM


async def stats_line(storage: Storage, desk_texts: Texts, since: float, until: float) -> str:
    """Messages limited, from blocked customers and spam in [since, until)."""
    counts = await storage.abuse.mark_counts(since, until)
    return desk_texts.format(
        "abuse.stats",
        limited=counts.get(LIMITED, 0),
        blocked=counts.get(BLOCKED, 0),
        spam=counts.get(SPAM, 0),
    )


async def bans_table(storage: Storage, desk_texts: Texts, timezone: str) -> str:
    """Every blocked customer with the case, who blocked them, when and why (tab-separated
    columns under a header; a line saying there are none)."""
    bans = await storage.abuse.bans()
    if not bans:
        return desk_texts.get("abuse.bans.none")
    zone = ZoneInfo(timezone)
    header = desk_texts.keys()["abuse.bans.header"]
    rows = [[str(column) for column in header]]
    for banned in bans:
        ban = banned.ban
        when = datetime.fromtimestamp(ban.banned_at, zone)
        reason = ban.reason or desk_texts.get("abuse.no_reason")
        if ban.spam and reason != desk_texts.get("abuse.bans.spam"):
            reason = f"{desk_texts.get('abuse.bans.spam')}: {reason}"
        rows.append(
            [
                f"№{ban.ticket_id}" if ban.ticket_id else "—",
                f"{banned.channel}:{banned.user_id}",
                banned.name or "—",
                ban.banned_by or "—",
                f"{when:%Y-%m-%d %H:%M}",
                reason,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    )


def blocked_notice(desk_texts: Texts, event: CustomerBlocked) -> str:
    """What a case's topic hears when its customer is blocked (plain text)."""
    if event.spam:
        return desk_texts.format("abuse.spam", by=event.by, ticket=event.ticket_id)
    reason = event.reason or desk_texts.get("abuse.no_reason")
    return desk_texts.format("abuse.blocked", by=event.by, reason=reason, ticket=event.ticket_id)
