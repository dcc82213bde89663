"""`/forget` and `/export` in a case's topic (or with its number), for senior operators: a
request to erase a customer's data or to see it, made by phone or e-mail.

`/forget` asks first, with a button (erasing cannot be undone); the press erases the
customer (`core.desk.operators.OperatorDesk.forget`: one unit of work, the act names the
operator), after which the topic is deleted and the group told one line by the outbox.
`/export` sends the senior operator the JSON of everything stored about the customer, in a
private message (in the group when the bot may not write to them). Anyone else is refused
by the desk's roles, before anything is asked or read.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bots.telegram.operators.desk import TelegramDesk, press_id
from core.desk import roles
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.storage import Ticket

log = logging.getLogger(__name__)


class Forget(CallbackData, prefix="forget"):
    ticket: int


def build_router(desk: TelegramDesk) -> Router:
    router = Router(name="operators-privacy")
    core = desk.core
    texts = core.kb.desk

    async def case_of(message: Message, args: str | None) -> Ticket:
        ticket = await desk.ticket_of(message, args)
        if ticket is None:
            raise OperatorError(texts.get("privacy.which_case"))
        return ticket

    @router.message(Command("forget"))
    async def on_forget(message: Message, command: CommandObject, operator: Operator) -> None:
        core.desk.require(operator, roles.FORGET)
        ticket = await case_of(message, command.args)
        button = InlineKeyboardButton(
            text=texts.get("privacy.confirm_button"),
            callback_data=Forget(ticket=ticket.id).pack(),
        )
        await desk.pool.main.bot.send_message(
            message.chat.id,
            texts.format("privacy.confirm", ticket=ticket.id),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        )

    @router.callback_query(Forget.filter())
    async def on_confirmed(query: CallbackQuery, callback_data: Forget, operator: Operator) -> None:
        erased = await core.desk.forget(callback_data.ticket, operator, external_id=press_id(query))
        done = texts.format(
            "privacy.forgotten", ticket=callback_data.ticket, act=erased.act, label=erased.label
        )
        await query.answer(done[:190], show_alert=True)
        if isinstance(query.message, Message):
            try:  # the question goes; the group's line says it is done
                await query.message.delete()
            except TelegramBadRequest as exc:  # gone with the topic already
                log.debug("question not deleted: %s", exc)

    @router.message(Command("export"))
    async def on_export(message: Message, command: CommandObject, operator: Operator) -> None:
        core.desk.require(operator, roles.EXPORT)
        ticket = await case_of(message, command.args)
        name, text = await core.desk.export(ticket.id, operator)
        file = BufferedInputFile(text.encode("utf-8"), filename=name)
        caption = texts.format("privacy.exported", ticket=ticket.id)
        user = message.from_user
        if user is not None and not message.sender_chat:  # a person, not an anonymous admin
            try:
                await desk.pool.main.bot.send_document(user.id, file, caption=caption)
                await desk.say(message, texts.get("privacy.exported_private"))
                return
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.info("export not sent privately: %s", exc)
        await desk.pool.main.bot.send_document(
            message.chat.id,
            file,
            caption=f"{caption}\n{texts.get('privacy.exported_here')}",
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
        )

    return router
