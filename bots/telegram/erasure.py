"""An erased customer on the operators' side (`core.events.CustomerErased`): their forum
topics deleted, the bot's cards and posts about their cases deleted in a group without
topics, and each group told one line (desk.yaml `privacy.erased`) — nothing in it names
the customer, only the act's label and the case numbers.

Each step is checkpointed in the outbox item, so a retry (a 429, a crash) goes on where it
stopped: a topic or post already gone counts as done. Telegram lets a bot delete a topic
(with the right to delete messages) at any time, but a message only in its first 48 hours;
what could not be deleted is counted and named in the group's line, for an admin to
delete by hand. Retention and the clean-up of a late topic are deleted without a line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bots.telegram.posting import BotPool
from core.events import CustomerErased
from core.knowledge.texts import Texts
from core.privacy.erasure import TOLD, operators_line
from core.storage import OutboxItem

log = logging.getLogger(__name__)

Checkpoint = Callable[..., Awaitable[None]]
_GONE = ("not found", "topic_id_invalid", "message_id_invalid")


def _gone(exc: TelegramBadRequest) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _GONE)


async def delete_customer(
    pool: BotPool,
    item: OutboxItem,
    event: CustomerErased,
    checkpoint: Checkpoint,
    desk_texts: Texts,
    main_chat: int | None,
) -> None:
    """Delete the customer's topics and the bot's posts, then tell the groups."""
    progress = item.progress
    left_topics = await _topics(pool, item, event, checkpoint)
    left_posts = await _posts(pool, item, event, checkpoint)
    if event.reason not in TOLD:
        return
    groups = event.groups or ([str(main_chat)] if main_chat is not None and event.cases else [])
    told = set(progress.get("told", []))
    line = operators_line(desk_texts, event, left_topics, left_posts)
    for chat in groups:
        if chat in told:
            continue
        poster = await pool.reserve(int(chat))
        await poster.bot.send_message(int(chat), line)
        told.add(chat)
        await checkpoint(item, told=sorted(told))


async def _topics(
    pool: BotPool, item: OutboxItem, event: CustomerErased, checkpoint: Checkpoint
) -> int:
    """Delete every topic of the customer; returns how many Telegram refused."""
    done = set(item.progress.get("topics", []))
    left = int(item.progress.get("topics_left", 0))
    for chat, thread in event.topics:
        key = f"{chat}:{thread}"
        if key in done:
            continue
        try:
            await pool.main.bot.delete_forum_topic(int(chat), int(thread))
        except TelegramBadRequest as exc:
            if not _gone(exc):  # no right to delete messages: an admin has to
                log.warning("topic %s of group %s not deleted: %s", thread, chat, exc.message)
                left += 1
        except TelegramForbiddenError as exc:
            log.warning("topic %s of group %s not deleted: %s", thread, chat, exc.message)
            left += 1
        done.add(key)
        await checkpoint(item, topics=sorted(done), topics_left=left)
    return left


async def _posts(
    pool: BotPool, item: OutboxItem, event: CustomerErased, checkpoint: Checkpoint
) -> int:
    """Delete the bot's cards and posts in groups where the customer had no topic (in a
    forum they were inside the topic, deleted with it); returns how many were refused."""
    in_topics = {chat for chat, _ in event.topics}
    done = set(item.progress.get("posts", []))
    left = int(item.progress.get("posts_left", 0))
    for chat, message_id in event.posts:
        key = f"{chat}:{message_id}"
        if chat in in_topics or key in done:
            continue
        try:
            await pool.main.bot.delete_message(int(chat), int(message_id))
        except TelegramBadRequest as exc:
            if not _gone(exc):  # older than 48 hours: Telegram keeps it
                left += 1
        except TelegramForbiddenError:
            left += 1
        done.add(key)
        await checkpoint(item, posts=sorted(done), posts_left=left)
    return left
