"""The gate in front of every operators' handler.

It resolves who acts (`operator` in the handler's data) and stops everyone else: an
outsider gets one notice — privately, or in the group when the bot may not write to them
— and a short alert for a button; bots and channels are ignored. So nothing an outsider
does, in a topic, in General or with a button, reaches a customer or changes a case. An
anonymous admin (a message signed by the group itself) acts as the group's senior
operator.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ContentType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject

from bots.telegram.operators.desk import TelegramDesk
from core.desk import roles
from core.desk.roles import Operator

log = logging.getLogger(__name__)

# What an outsider may have written; service messages (joins, topic events) get no notice.
CONTENT = frozenset(
    {
        ContentType.TEXT,
        ContentType.PHOTO,
        ContentType.DOCUMENT,
        ContentType.VIDEO,
        ContentType.VOICE,
        ContentType.AUDIO,
        ContentType.STICKER,
        ContentType.ANIMATION,
        ContentType.VIDEO_NOTE,
        ContentType.POLL,
        ContentType.LOCATION,
        ContentType.CONTACT,
        ContentType.DICE,
        ContentType.VENUE,
    }
)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Gate(BaseMiddleware):
    """Resolves `operator` for every operators' handler (from the injected `desk`); stops
    outsiders and bots."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        desk: TelegramDesk = data["desk"]
        if isinstance(event, Message):
            operator = await _message_operator(desk, event)
        elif isinstance(event, CallbackQuery) and event.message is not None:
            operator = await desk.roles.operator(event.message.chat.id, event.from_user)
            if operator.role == roles.OUTSIDER:
                await _answer_quietly(event, desk.desk_texts.get("commands.outsider_button"))
                return None
        else:
            return None
        if operator is None:
            return None
        if operator.role == roles.OUTSIDER:
            assert isinstance(event, Message)
            if event.content_type in CONTENT:
                await _tell_outsider(desk, event, data["bot"])
            return None
        data["operator"] = operator
        return await handler(event, data)


async def _message_operator(desk: TelegramDesk, message: Message) -> Operator | None:
    chat = message.chat
    if message.sender_chat is not None:
        if message.sender_chat.id != chat.id:
            return None  # a channel or another chat posting here: not a person
        name = message.author_signature or desk.desk_texts.get("commands.anonymous_admin")
        return Operator(str(chat.id), name, roles.SENIOR)  # an anonymous admin
    user = message.from_user
    if user is None or user.is_bot:
        return None
    return await desk.roles.operator(chat.id, user)


async def _tell_outsider(desk: TelegramDesk, message: Message, bot: Bot) -> None:
    """Once per person and group: privately, or in the group when the bot may not write
    to them."""
    user = message.from_user
    assert user is not None
    if not await desk.roles.first_notice(message.chat.id, user.id):
        return
    log.info("ignoring %s in operators' group %s: not an operator", user.id, message.chat.id)
    notice = desk.desk_texts.get("commands.outsider")
    try:
        await bot.send_message(user.id, notice)
        return
    except TelegramAPIError as exc:
        log.info("outsider %s not told privately (%s): telling in the group", user.id, exc)
    await desk.say(message, notice)


async def _answer_quietly(query: CallbackQuery, text: str) -> None:
    try:
        await query.answer(text, show_alert=True)
    except TelegramAPIError as exc:
        log.info("button press %s not answered: %s", query.id, exc)
