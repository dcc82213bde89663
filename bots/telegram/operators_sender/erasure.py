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
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from core.events import CustomerErased
from core.privacy.erasure import TOLD, operators_line
from core.storage import OutboxItem

if TYPE_CHECKING:
    from bots.telegram.operators_sender.outlet import Outlet

log = logging.getLogger(__name__)

_GONE = ("not found", "topic_id_invalid", "message_id_invalid")


def _gone(exc: TelegramBadRequest) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _GONE)


async def delete_customer(out: Outlet, item: OutboxItem, event: CustomerErased) -> None:
    """Delete the customer's topics and the bot's posts, then tell the groups."""
    left_topics = await _topics(out, item, event)
    left_posts = await _posts(out, item, event)
    if event.reason not in TOLD:
        return
    main = str(out.groups.main)
    groups = event.groups or ([main] if event.cases else [])
    told = set(item.progress.get("told", []))
    line = operators_line(out.desk_texts, event, left_topics, left_posts)
    for chat in groups:
        if chat in told:
            continue
        poster = await out.pool.reserve(int(chat))
        await poster.bot.send_message(int(chat), line)
        told.add(chat)
        await out.done(item, told=sorted(told))


async def _topics(out: Outlet, item: OutboxItem, event: CustomerErased) -> int:
    """Delete every topic of the customer; returns how many Telegram refused."""
    done = set(item.progress.get("topics", []))
    left = int(item.progress.get("topics_left", 0))
    for chat, thread in event.topics:
        key = f"{chat}:{thread}"
        if key in done:
            continue
        try:
            await out.bot.delete_forum_topic(int(chat), int(thread))
        except TelegramBadRequest as exc:
            if not _gone(exc):  # no right to delete messages: an admin has to
                log.warning("topic %s of group %s not deleted: %s", thread, chat, exc.message)
                left += 1
        except TelegramForbiddenError as exc:
            log.warning("topic %s of group %s not deleted: %s", thread, chat, exc.message)
            left += 1
        done.add(key)
        await out.done(item, topics=sorted(done), topics_left=left)
    return left


async def _posts(out: Outlet, item: OutboxItem, event: CustomerErased) -> int:
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
            await out.bot.delete_message(int(chat), int(message_id))
        except TelegramBadRequest as exc:
            if not _gone(exc):  # older than 48 hours: Telegram keeps it
                left += 1
        except TelegramForbiddenError:
            left += 1
        done.add(key)
        await out.done(item, posts=sorted(done), posts_left=left)
    return left
