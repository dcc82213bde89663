"""A forum topic per customer in each operators' group: found, reopened and renamed for a
new case, created when missing (and saved at once), closed with the case. A group without
topics — or where the bot may not manage them — is found out and posted in directly."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound

from bots.telegram import cards
from bots.telegram.errors import is_not_modified, is_thread_missing
from bots.telegram.posting import BotPool
from core.desk.operators import TicketView
from core.desk.posting import DeskPosting
from core.knowledge.base import KnowledgeBase
from core.runtime.delivery import RetryLater

log = logging.getLogger(__name__)
FORUM_CHECK_EVERY = 300.0  # seconds between getChat calls


class TopicsNeed(Protocol):
    """What topics take from the sender's shared parts (`outlet.Outlet`)."""

    pool: BotPool
    posting: DeskPosting
    kb: KnowledgeBase

    @property
    def bot(self) -> Bot: ...


class Topics:
    def __init__(self, out: TopicsNeed) -> None:
        self.out = out
        self._forum: dict[int, tuple[bool, float]] = {}

    async def is_forum(self, chat: int) -> bool:
        """Whether the group has topics (asked again every few minutes)."""
        now = time.monotonic()
        known = self._forum.get(chat)
        if known is not None and now - known[1] <= FORUM_CHECK_EVERY:
            return known[0]
        try:
            forum = bool((await self.out.bot.get_chat(chat)).is_forum)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            # Cannot tell: try topics; createForumTopic says so if they are off.
            log.warning("getChat for operators' group %s failed: %s", chat, exc)
            forum = True
        self._forum[chat] = (forum, now)
        return forum

    async def of_customer(self, conversation_id: int, chat: int) -> int | None:
        """The customer's topic in a forum group, if they have one (no API call)."""
        thread = await self.out.posting.topic(conversation_id, str(chat))
        return int(thread) if thread is not None and await self.is_forum(chat) else None

    async def thread_for(self, view: TicketView, chat: int, fresh_card: bool = True) -> int | None:
        """The customer's topic in the group: reused (for a new card: reopened and
        renamed), created when missing. None in a plain group."""
        if not await self.is_forum(chat):
            return None
        conversation_id = view.conversation.id
        known = await self.out.posting.topic(conversation_id, str(chat))
        name = cards.topic_name(self.out.kb, view)
        if known is None:
            return await self.create(conversation_id, chat, name)
        thread_id = int(known)
        if not fresh_card and not await self._renew(chat, thread_id, name):
            return await self.create(conversation_id, chat, name)
        return thread_id

    async def _renew(self, chat: int, thread_id: int, name: str) -> bool:
        """Reopen and rename the topic for a new case; False when it is gone."""
        bot = self.out.bot
        try:
            await bot.reopen_forum_topic(chat, thread_id)
        except TelegramBadRequest as exc:
            if is_thread_missing(exc):
                return False
            log.debug("reopen topic %s: %s", thread_id, exc.message)
        try:
            await bot.edit_forum_topic(chat, thread_id, name=name)
        except TelegramBadRequest as exc:
            if is_thread_missing(exc):
                return False
            if not is_not_modified(exc):
                log.debug("rename topic %s: %s", thread_id, exc.message)
        return True

    async def create(self, conversation_id: int, chat: int, name: str) -> int:
        """A new topic for the customer, saved at once."""
        poster = await self.out.pool.reserve(chat)  # the topic's first service message is a post
        try:
            topic = await poster.bot.create_forum_topic(chat, name)
        except TelegramBadRequest as exc:
            text = str(exc).lower()
            if "forum" not in text and "rights" not in text:
                raise
            # Topics are off, or the bot may not manage them: post cards in the group
            # itself for now (checked again every few minutes).
            log.warning(
                "no topic for a case in operators' group %s (%s): posting in the group; "
                "enable topics and give the bot the right to manage them",
                chat,
                exc.message,
            )
            self._forum[chat] = (False, time.monotonic())
            raise RetryLater(
                0.0, "the operators' group has no topics", count_attempt=False
            ) from exc
        thread_id = topic.message_thread_id
        await self.out.posting.topic_created(conversation_id, str(chat), str(thread_id))
        return thread_id

    async def close(self, chat: int, thread_id: int) -> None:
        try:
            await self.out.bot.close_forum_topic(chat, thread_id)
        except TelegramBadRequest as exc:
            log.info("topic %s not closed: %s", thread_id, exc.message)
