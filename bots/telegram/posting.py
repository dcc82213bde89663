"""Which bot posts into an operators' group now: the main bot, or a helper bot when the
main bot's share of Telegram's per-group limit (about 20 posts a minute per bot) is spent.

Every post is reserved before it is sent in the budget of its bot and group
(`core.desk.budget`, shared by replicas), so no bot draws a 429 from our own pace. Helper
bots only post; files go through the main bot (Telegram's file ids belong to the bot that
received them), and the operators' updates still come to the main bot, except presses of
the buttons under a helper's card, which the helper receives itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot

from core.desk.budget import PostBudget
from core.runtime.delivery import RetryLater

log = logging.getLogger(__name__)

TELEGRAM_GROUP_LIMIT = 20  # posts a minute one bot may make in one group
INTERACTIVE_HEADROOM = 2  # answers to operators may use the last slots of the minute
INTERACTIVE_PATIENCE = 10.0  # seconds an answer to an operator waits for a free slot


@dataclass(frozen=True)
class Poster:
    bot: Bot
    helper: bool

    @property
    def id(self) -> int:
        return self.bot.id


class BotPool:
    def __init__(
        self, main: Bot, helpers: list[Bot], budget: PostBudget, per_minute: int = 18
    ) -> None:
        self.main = Poster(main, helper=False)
        self.helpers = [Poster(bot, helper=True) for bot in helpers]
        self.budget = budget
        self.per_minute = per_minute

    def use_helpers(self, helpers: list[Bot]) -> None:
        self.helpers = [Poster(bot, helper=True) for bot in helpers]

    @property
    def bots(self) -> list[Poster]:
        return [self.main, *self.helpers]

    def by_id(self, bot_id: int | None) -> Bot:
        return next((p.bot for p in self.bots if p.id == bot_id), self.main.bot)

    def budget_key(self, poster: Poster, chat_id: int) -> str:
        # The main bot keeps the key it always had; each helper has its own.
        base = f"telegram-group:{chat_id}"
        return f"{base}:bot{poster.id}" if poster.helper else base

    async def reserve(self, chat_id: int, *, main_only: bool = False) -> Poster:
        """A bot with a free post in the group, the post reserved; else `RetryLater`
        until the first slot frees up."""
        posters = [self.main] if main_only else self.bots
        keys = [self.budget_key(poster, chat_id) for poster in posters]
        found, wait = await self.budget.first_free(keys, self.per_minute)
        if found is not None:
            return posters[found]
        raise RetryLater(wait, "operators' group limit", count_attempt=False)

    async def reserve_interactive(self, chat_id: int) -> Poster:
        """A bot to answer an operator at once: may use the minute's last slots; when even
        those are spent it waits a little, then answers anyway."""
        limit = max(
            self.per_minute, min(self.per_minute + INTERACTIVE_HEADROOM, TELEGRAM_GROUP_LIMIT)
        )
        posters = self.bots
        keys = [self.budget_key(poster, chat_id) for poster in posters]
        found = await self.budget.wait_free(keys, limit, INTERACTIVE_PATIENCE)
        if found is not None:
            return posters[found]
        log.warning("operators' group %s: answering over the post budget", chat_id)
        return self.main
