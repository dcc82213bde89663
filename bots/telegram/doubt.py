"""Was it sent before the crash? A text the previous process may have sent just before it
died (the outbox marked it in doubt) is looked for before it is sent again.

The Bot API has no idempotency key and cannot list a chat's messages, but message ids in a
chat are sequential and a bot may edit only its own messages. Every message the bot sends
to a customer is recorded with its id (`last_id` in the outbox item's progress), so any
message of the bot's after the last recorded one can only be the send in doubt. For each
later id, `editMessageText` with exactly the text and keyboard meant:

- "message is not modified": the message is there, word for word — it was delivered;
- "message can't be edited" / "no text in the message": the customer's, or a file: next;
- "message to edit not found": past the end of the chat — it was not delivered.

An edit that goes through found one of the bot's messages saying something else, which
the recorded ids rule out (a message the bot sent outside the outbox); it now says what
was meant, so it is not sent a second time, and a warning is logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from bots.telegram.errors import is_not_modified
from bots.telegram.sending import is_text

log = logging.getLogger(__name__)

PROBE_LIMIT = 30  # message ids looked at after the last recorded one


def text_of(bot: Bot, step: Callable[[], Awaitable[object]]) -> tuple[int, str, dict] | None:
    """(chat, text, other arguments) of a step that sends a text message, else None."""
    if not isinstance(step, functools.partial) or not is_text(step):
        return None
    _bot, chat_id, text, markup = step.args  # sending.send_text(bot, chat, text, markup)
    return int(chat_id), str(text), {"parse_mode": None, "reply_markup": markup}


async def delivered_before(
    bot: Bot, step: Callable[[], Awaitable[object]], after_id: int
) -> int | None:
    """The id of the message `step` would send if it is already in the chat after
    `after_id` (the bot's last recorded message there); None when it is not, or when the
    step is not a plain text message (a file cannot be compared)."""
    found = text_of(bot, step)
    if found is None:
        return None
    chat_id, text, keywords = found
    for message_id in range(after_id + 1, after_id + 1 + PROBE_LIMIT):
        try:
            await bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=keywords.get("parse_mode"),
                reply_markup=keywords.get("reply_markup"),
            )
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return message_id
            if "not found" in exc.message.lower():
                return None  # past the last message of the chat
            continue  # the customer's message, or one without text
        log.warning(
            "message %s in chat %s was the bot's own but not recorded; it now says the "
            "text that was in doubt, which is not sent again",
            message_id,
            chat_id,
        )
        return message_id
    return None
