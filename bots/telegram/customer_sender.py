"""Sending core replies to Telegram customers: at once from handlers, later from the outbox."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile

from bots.telegram.edits import apply_edit, remember_copy
from bots.telegram.errors import for_delivery
from bots.telegram.render import CAPTION_LIMIT, keyboard, split_text
from core.app import Core
from core.edits import EDIT
from core.files import FileFetchers, FileUnavailable
from core.storage import OutboxItem, Storage
from core.types import TELEGRAM, Attachment, CustomerRef, Reply

log = logging.getLogger(__name__)
IMMEDIATE_RETRIES = 3
MAX_IMMEDIATE_WAIT = 10  # seconds of 429 a handler waits out before queueing the answer


async def send_reply(bot: Bot, chat_id: int, reply: Reply, files: FileFetchers) -> list[int]:
    """Attachments first, then the text in parts; the keyboard goes on the last part.
    Returns the ids of the text messages sent."""
    for attachment in reply.attachments:
        await send_file(bot, chat_id, attachment, files)
    parts = split_text(reply.text)
    markup = keyboard(reply)
    if not parts and markup is not None:
        parts = ["⬇️"]
    sent: list[int] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        message = await bot.send_message(
            chat_id, part, parse_mode=None, reply_markup=markup if last else None
        )
        sent.append(message.message_id)
    return sent


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


async def send_now(bot: Bot, chat_id: int, replies: list[Reply], core: Core) -> None:
    """Answer a customer at once, waiting out a short 429. What cannot be sent now (a
    long 429, a 5xx, a network error) goes to the outbox and is delivered later; only a
    customer who blocked the bot is given up on."""
    for index, reply in enumerate(replies):
        try:
            await _send_with_patience(bot, chat_id, reply, core.files)
        except TelegramForbiddenError as exc:
            log.info("customer %s cannot be answered: %s", chat_id, exc.message)
            return
        except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("answer to %s queued for later: %r", chat_id, exc)
            await core.delivery.send_later(CustomerRef(TELEGRAM, str(chat_id)), replies[index:])
            return


async def _send_with_patience(bot: Bot, chat_id: int, reply: Reply, files: FileFetchers) -> None:
    for attempt in range(IMMEDIATE_RETRIES):
        try:
            await send_reply(bot, chat_id, reply, files)
            return
        except TelegramRetryAfter as exc:
            if attempt == IMMEDIATE_RETRIES - 1 or exc.retry_after > MAX_IMMEDIATE_WAIT:
                raise
            await asyncio.sleep(float(exc.retry_after))


class CustomerSender:
    """The outbox sender for channel `telegram`: operator replies, rating requests."""

    def __init__(self, bot: Bot, files: FileFetchers, storage: Storage | None = None) -> None:
        self.bot = bot
        self.files = files
        self.storage = storage  # where operators' replies landed (edits follow them)

    async def send(self, item: OutboxItem) -> None:
        if item.kind == EDIT:
            try:
                await apply_edit(self.bot, self.storage, self.files, item, time.time())
            except TelegramAPIError as exc:
                raise for_delivery(exc) from exc
            return
        if item.kind != "reply":
            log.warning("unknown outbox kind %s for Telegram customers", item.kind)
            return
        reply = Reply.from_dict(item.payload.get("reply", {}))
        try:
            sent = await send_reply(self.bot, int(item.recipient), reply, self.files)
        except TelegramAPIError as exc:
            raise for_delivery(exc) from exc
        await remember_copy(self.storage, item, sent, time.time())
