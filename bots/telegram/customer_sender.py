"""Sending core replies to Telegram customers: the outbox sender of channel `telegram`."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, Message

from bots.telegram.edits import apply_edit
from bots.telegram.errors import for_delivery
from bots.telegram.render import CAPTION_LIMIT, keyboard, split_text
from core.app import Core
from core.edits import EDIT, remember_copy
from core.files import FileFetchers, FileUnavailable
from core.storage import OutboxItem
from core.types import TELEGRAM, Attachment, Reply

log = logging.getLogger(__name__)


async def send_file(
    bot: Bot,
    chat_id: int,
    attachment: Attachment,
    files: FileFetchers,
    caption: str | None = None,
    thread_id: int | None = None,
    parse_mode: str | None = None,
) -> None:
    """A file from Telegram goes by its file_id; one from another channel is uploaded; one
    that cannot be fetched becomes a link."""
    caption = caption[:CAPTION_LIMIT] if caption else None
    if attachment.source == TELEGRAM and attachment.ref:
        media: str | BufferedInputFile = attachment.ref
    else:
        try:
            data = await files.fetch(attachment)
        except FileUnavailable as exc:
            log.warning("file not fetched for chat %s: %s", chat_id, exc)
            link = f"\n{attachment.url}" if attachment.url else ""
            text = f"{caption or ''}\n📎 Файл ({attachment.kind}) не удалось передать.{link}"
            await bot.send_message(
                chat_id, text.strip(), message_thread_id=thread_id, parse_mode=parse_mode
            )
            return
        name = attachment.name or ("photo.jpg" if attachment.kind == "photo" else "file")
        media = BufferedInputFile(data, filename=name)
    common = {"caption": caption, "message_thread_id": thread_id, "parse_mode": parse_mode}
    if attachment.kind == "photo":
        await bot.send_photo(chat_id, media, **common)  # type: ignore[arg-type]
    elif attachment.kind == "voice" and attachment.source == TELEGRAM:
        await bot.send_voice(chat_id, media, **common)  # type: ignore[arg-type]
    else:
        await bot.send_document(chat_id, media, **common)  # type: ignore[arg-type]


class CustomerSender:
    """The outbox sender for channel `telegram`: every answer a customer gets.

    A reply can take several API calls (files, then the text in parts); each finished
    call is checkpointed, so a retry after a 429 or a crash goes on where it stopped
    instead of repeating what the customer already has.
    """

    def __init__(self, bot: Bot, core: Core) -> None:
        self.bot = bot
        self.core = core

    async def send(self, item: OutboxItem) -> None:
        if item.kind == EDIT:  # an operator corrected a reply the customer already has
            try:
                await apply_edit(self.bot, self.core.storage, self.core.files, item, time.time())
            except TelegramAPIError as exc:
                raise for_delivery(exc) from exc
            return
        if item.kind != "reply":
            log.warning("unknown outbox kind %s for Telegram customers", item.kind)
            return
        reply = Reply.from_dict(item.payload.get("reply", {}))
        chat_id = int(item.recipient)
        steps = reply_steps(self.bot, chat_id, reply, self.core.files)
        done = int(item.progress.get("steps", 0))
        sent = [int(i) for i in item.progress.get("ids", [])]  # text messages delivered
        for index in range(done, len(steps)):
            try:
                result = await steps[index]()
            except TelegramAPIError as exc:
                raise for_delivery(exc) from exc
            if isinstance(result, Message) and result.text is not None:
                sent.append(result.message_id)
            if index + 1 < len(steps):
                await self.core.delivery.checkpoint(item, steps=index + 1, ids=sent)
        # Where an operator's reply landed, so that an edit of it can follow.
        await remember_copy(self.core.storage, item, sent, time.time())


async def send_reply(bot: Bot, chat_id: int, reply: Reply, files: FileFetchers) -> list[int]:
    """Send a reply at once, every step; returns the ids of its text messages."""
    sent = []
    for step in reply_steps(bot, chat_id, reply, files):
        result = await step()
        if isinstance(result, Message) and result.text is not None:
            sent.append(result.message_id)
    return sent


def reply_steps(
    bot: Bot, chat_id: int, reply: Reply, files: FileFetchers
) -> list[Callable[[], Awaitable[object]]]:
    """The API calls of one reply, in order: attachments, then the text in parts (the
    keyboard on the last part)."""
    steps: list[Callable[[], Awaitable[object]]] = [
        functools.partial(send_file, bot, chat_id, attachment, files)
        for attachment in reply.attachments
    ]
    parts = split_text(reply.text)
    markup = keyboard(reply)
    if not parts and markup is not None:
        parts = ["⬇️"]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        steps.append(
            functools.partial(
                bot.send_message,
                chat_id,
                part,
                parse_mode=None,
                reply_markup=markup if last else None,
            )
        )
    return steps
