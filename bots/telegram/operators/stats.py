"""`/stats [today|week|month]` for senior operators: the KPI chart and its summary
(computed off the event loop)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bots.telegram.operators.desk import TelegramDesk
from core.clock import Clock
from core.desk import roles
from core.desk.operators import OperatorDesk
from core.desk.roles import Operator
from core.desk.team import Team
from core.knowledge.texts import Texts
from core.reports import export, kpi, off_loop, summary
from core.storage import Storage

router = Router(name="operators-stats")


@router.message(Command("stats"))
async def on_stats(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    storage: Storage,
    clock: Clock,
    settings: Any,
    team: Team | None,
    desk_texts: Texts,
) -> None:
    cases.require(operator, roles.STATS)
    name = (command.args or "today").strip().lower()
    if name not in kpi.PERIODS:
        await desk.say(message, desk_texts.get("commands.stats_usage"))
        return
    now = clock.now()
    since, until = kpi.period(name, now, settings.timezone)
    report = await off_loop.kpi_report(
        storage,
        since,
        until,
        now,
        settings.timezone,
        team.sla.policy if team is not None else None,
        repeat_days=settings.kpi_repeat_days,
    )
    title = summary.period_title(desk_texts, name)
    picture = await asyncio.to_thread(export.chart_png, report, desk_texts, title)
    poster = await desk.pool.reserve_interactive(message.chat.id)
    await poster.bot.send_photo(
        message.chat.id,
        BufferedInputFile(picture, "stats.png"),
        message_thread_id=message.message_thread_id if message.is_topic_message else None,
        caption=title,
    )
    await desk.say(message, summary.summary_text(report, title, desk_texts))
