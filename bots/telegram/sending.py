"""The Bot API calls that put a core `Reply` (or a file) into a Telegram chat."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup

from bots.telegram.render import escape, fit_caption, keyboard, split_text
from core.runtime.files import FileFetchers, FileUnavailable
from core.types import TELEGRAM, Attachment, Reply

log = logging.getLogger(__name__)


async def send_file(
    bot: Bot,
    chat_id: int,
    attachment: Attachment,
    files: FileFetchers,
    *,
    failed: str,
    caption: str | None = None,
    thread_id: int | None = None,
    html: bool = False,
) -> int:
    """A file from Telegram goes by its file_id; one from another channel is uploaded; one
    that cannot be fetched becomes a message: `failed` (a plain-text template with
    `{kind}`) and the file's link. `caption` is Telegram HTML when `html`, cut to the
    caption limit as Telegram counts it."""
    parse_mode = "HTML" if html else None
    if caption:
        caption = fit_caption(caption, markup=html)[0]
    if attachment.source == TELEGRAM and attachment.ref:
        media: str | BufferedInputFile = attachment.ref
    else:
        try:
            data = await files.fetch(attachment)
        except FileUnavailable as exc:
            log.warning("file not fetched for chat %s: %s", chat_id, exc)
            note = "\n".join([failed.format(kind=attachment.kind), attachment.url]).strip()
            text = "\n".join([caption or "", escape(note) if html else note]).strip()
            note_message = await bot.send_message(
                chat_id, text, message_thread_id=thread_id, parse_mode=parse_mode
            )
            return note_message.message_id
        name = attachment.name or ("photo.jpg" if attachment.kind == "photo" else "file")
        media = BufferedInputFile(data, filename=name)
    common = {"caption": caption or None, "message_thread_id": thread_id, "parse_mode": parse_mode}
    if attachment.kind == "photo":
        sent = await bot.send_photo(chat_id, media, **common)  # type: ignore[arg-type]
    elif attachment.kind == "voice" and attachment.source == TELEGRAM:
        sent = await bot.send_voice(chat_id, media, **common)  # type: ignore[arg-type]
    else:
        sent = await bot.send_document(chat_id, media, **common)  # type: ignore[arg-type]
    return sent.message_id


class RawSendMessage(SendMessage):
    """`sendMessage` whose answer stays a plain dict: a reply needs only the id of the
    message sent, and building aiogram's `Message` model from every answer cost more than
    the rest of the call (the model's validation, the types of its fields)."""

    __returning__ = dict[str, Any]


async def send_text(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """One plain-text message (no parse mode); returns its message id."""
    method = RawSendMessage.model_construct(  # the fields are ours, of the right types
        chat_id=chat_id, text=text, parse_mode=None, reply_markup=markup
    )
    sent = cast(dict[str, Any], await bot(method))
    return int(sent["message_id"])


# A step of a reply: one API call; it returns the id of the message it sent (a text part's
# step is `functools.partial(send_text, …)`: `is_text` tells it from a file's).
Step = Callable[[], Awaitable[int]]


def is_text(step: Step) -> bool:
    """Whether `step` sends a text part of a reply (not a file)."""
    return isinstance(step, functools.partial) and step.func is send_text


def reply_steps(
    bot: Bot, chat_id: int, reply: Reply, files: FileFetchers, failed: str
) -> list[Step]:
    """The API calls of one reply, in order: attachments (`failed`: what a file that
    cannot be passed on becomes, see `send_file`), then the text in parts (the keyboard
    on the last part); a text part's step returns its message id."""
    steps: list[Step] = [
        functools.partial(send_file, bot, chat_id, attachment, files, failed=failed)
        for attachment in reply.attachments
    ]
    parts = split_text(reply.text)
    markup = keyboard(reply)
    if not parts and markup is not None:
        parts = ["⬇️"]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        steps.append(functools.partial(send_text, bot, chat_id, part, markup if last else None))
    return steps


async def send_reply(
    bot: Bot, chat_id: int, reply: Reply, files: FileFetchers, failed: str
) -> list[int]:
    """Send a reply at once, every step; returns the ids of its text messages."""
    sent = []
    for step in reply_steps(bot, chat_id, reply, files, failed):
        message_id = await step()
        if is_text(step):
            sent.append(message_id)
    return sent
