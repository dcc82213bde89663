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
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ContentType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject

from core.desk import roles
from core.desk.roles import Operator

if TYPE_CHECKING:
    from bots.telegram.operators.desk import TelegramDesk

log = logging.getLogger(__name__)

ANONYMOUS_ADMIN = "Администратор группы"
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
OUTSIDER_NOTICE = (
    "Здравствуйте! В этой группе работают операторы поддержки, и бот выполняет только их "
    "команды и ответы клиентам. Ваши сообщения и кнопки здесь ничего не меняют. Если вы "
    "оператор, попросите администратора группы добавить вас."
)
OUTSIDER_BUTTON = "Кнопки обращений — только для операторов поддержки."

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Gate(BaseMiddleware):
    """Resolves `operator` for every operators' handler; stops outsiders and bots."""

    def __init__(self, desk: TelegramDesk) -> None:
        self.desk = desk
        self.core = desk.core
        self.roles = desk.roles

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message):
            operator = await self._message_operator(event)
        elif isinstance(event, CallbackQuery) and event.message is not None:
            operator = await self.roles.operator(event.message.chat.id, event.from_user)
            if operator.role == roles.OUTSIDER:
                await _answer_quietly(event, OUTSIDER_BUTTON)
                return None
        else:
            return None
        if operator is None:
            return None
        if operator.role == roles.OUTSIDER:
            assert isinstance(event, Message)
            if event.content_type in CONTENT:
                await self._tell_outsider(event, data["bot"])
            return None
        data["operator"] = operator
        return await handler(event, data)

    async def _message_operator(self, message: Message) -> Operator | None:
        chat = message.chat
        if message.sender_chat is not None:
            if message.sender_chat.id != chat.id:
                return None  # a channel or another chat posting here: not a person
            name = message.author_signature or ANONYMOUS_ADMIN
            return Operator(str(chat.id), name, roles.SENIOR)  # an anonymous admin
        user = message.from_user
        if user is None or user.is_bot:
            return None
        return await self.roles.operator(chat.id, user)

    async def _tell_outsider(self, message: Message, bot: Bot) -> None:
        """Once per person and group: privately, or in the group when the bot may not
        write to them."""
        user = message.from_user
        assert user is not None
        async with self.core.storage.transaction() as tx:
            first = await tx.desk.mark_noticed(
                str(message.chat.id), str(user.id), self.core.clock.now()
            )
        if not first:
            return
        log.info("ignoring %s in operators' group %s: not an operator", user.id, message.chat.id)
        try:
            await bot.send_message(user.id, OUTSIDER_NOTICE)
            return
        except TelegramAPIError as exc:
            log.info("outsider %s not told privately (%s): telling in the group", user.id, exc)
        await self.desk.say(message, OUTSIDER_NOTICE)


async def _answer_quietly(query: CallbackQuery, text: str) -> None:
    try:
        await query.answer(text, show_alert=True)
    except TelegramAPIError as exc:
        log.info("button press %s not answered: %s", query.id, exc)
