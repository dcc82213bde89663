"""Runs the real bot (`bots.main.serve`) against the fake Bot API for Telegram tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.main import serve
from core.app import Core, build_core
from core.clock import Clock, ShiftedClock
from core.nlu import IntentClassifier
from tests.conftest import WORK_TIME, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI

OPS = -1001234567890  # the operators' group
CUSTOMER = 555001
# The database of the bots a test starts when it names none (None: a SQLite file in the
# test's folder). The `bots_on_the_test_database` fixture sets it to the test's own, so a
# module that uses it runs on SQLite and on PostgreSQL.
DEFAULT_DATABASE: str | None = None


@dataclass
class RunningBot:
    fake: FakeTelegramAPI
    core: Core
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)

    async def kill(self) -> None:
        """Stop the process abruptly: nothing is flushed, the database just stays."""
        self.task.cancel()
        try:
            await self.task
        except (asyncio.CancelledError, Exception):
            pass


@asynccontextmanager
async def telegram_bot(
    tmp_path: Path,
    classifier: IntentClassifier,
    *,
    fake: FakeTelegramAPI | None = None,
    forum: bool = True,
    clock: Clock | None = None,
    ready: str = "getUpdates",
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    own_fake = fake is None
    fake = fake or FakeTelegramAPI()
    if own_fake:
        await fake.start()
        fake.add_chat(OPS, title="Операторы", is_forum=forum)
    bot = await start_bot(tmp_path, classifier, fake, clock=clock, ready=ready, **overrides)
    try:
        yield bot
    finally:
        if not bot.task.done():
            await bot.shutdown()
        if own_fake:
            await fake.stop()


async def start_bot(
    tmp_path: Path,
    classifier: IntentClassifier,
    fake: FakeTelegramAPI,
    clock: Clock | None = None,
    ready: str = "getUpdates",
    **overrides: Any,
) -> RunningBot:
    """Start the bot; `ready` is the Bot API call that shows it is up (polling or webhook)."""
    values: dict[str, Any] = {
        "telegram_bot_token": fake.token,
        "telegram_api_url": fake.base_url,
        "operators_chat_id": OPS,
    }
    if DEFAULT_DATABASE is not None:
        values["database_url"] = DEFAULT_DATABASE
    values.update(overrides)
    settings = make_settings(tmp_path, **values)
    # Working hours, dates and weekdays the same whenever the suite runs (a weekday noon).
    clock = clock or ShiftedClock(WORK_TIME)
    core = await build_core(settings, classifier=classifier, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, core))
    await fake.wait_for(ready, timeout=60)
    return RunningBot(fake, core, stop, task)


def texts_to(fake: FakeTelegramAPI, chat_id: int) -> list[str]:
    return [
        str(p.get("text", "")) for p in fake.calls("sendMessage") if p.get("chat_id") == chat_id
    ]


def button_ids(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]
