"""The Bot API calls that put a core `Reply` (or a file) into a Telegram chat."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.types import BufferedInputFile, Message

from bots.telegram.render import CAPTION_LIMIT, keyboard, split_text
from core.runtime.files import FileFetchers, FileUnavailable
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


async def send_reply(bot: Bot, chat_id: int, reply: Reply, files: FileFetchers) -> list[int]:
    """Send a reply at once, every step; returns the ids of its text messages."""
    sent = []
    for step in reply_steps(bot, chat_id, reply, files):
        result = await step()
        if isinstance(result, Message) and result.text is not None:
            sent.append(result.message_id)
    return sent
