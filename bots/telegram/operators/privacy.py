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
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bots.telegram.ids import press_key
from bots.telegram.operators.desk import TelegramDesk
from core.desk import roles
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.knowledge.texts import Texts
from core.storage import Ticket

log = logging.getLogger(__name__)

router = Router(name="operators-privacy")


class Forget(CallbackData, prefix="forget"):
    ticket: int


async def _case(desk: TelegramDesk, message: Message, args: str | None, texts: Texts) -> Ticket:
    ticket = await desk.ticket_of(message, args)
    if ticket is None:
        raise OperatorError(texts.get("privacy.which_case"))
    return ticket


def _thread(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


@router.message(Command("forget"))
async def on_forget(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    cases.require(operator, roles.FORGET)
    ticket = await _case(desk, message, command.args, desk_texts)
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=desk_texts.get("privacy.confirm_button"), callback_data=Forget(ticket=ticket.id)
    )
    # The main bot asks (only it receives the button's press), within the group's budget.
    poster = await desk.pool.reserve_interactive(message.chat.id, main_only=True)
    await poster.bot.send_message(
        message.chat.id,
        desk_texts.format("privacy.confirm", ticket=ticket.id),
        message_thread_id=_thread(message),
        reply_markup=keyboard.as_markup(),
    )


@router.callback_query(Forget.filter())
async def on_confirmed(
    query: CallbackQuery,
    callback_data: Forget,
    operator: Operator,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    number = callback_data.ticket
    erased = await cases.forget(number, operator, external_id=press_key(query.id))
    done = desk_texts.format("privacy.forgotten", ticket=number, act=erased.act, label=erased.label)
    await query.answer(done[:190], show_alert=True)
    if isinstance(query.message, Message):
        try:  # the question goes; the group's line says it is done
            await query.message.delete()
        except TelegramBadRequest as exc:  # gone with the topic already
            log.debug("question not deleted: %s", exc)


@router.message(Command("export"))
async def on_export(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    cases.require(operator, roles.EXPORT)
    ticket = await _case(desk, message, command.args, desk_texts)
    name, text = await cases.export(ticket.id, operator)
    file = BufferedInputFile(text.encode("utf-8"), filename=name)
    caption = desk_texts.format("privacy.exported", ticket=ticket.id)
    user = message.from_user
    if user is not None and not message.sender_chat:  # a person, not an anonymous admin
        try:  # by the main bot: the one the operator may have started a chat with
            await desk.pool.main.bot.send_document(user.id, file, caption=caption)
            await desk.say(message, desk_texts.get("privacy.exported_private"))
            return
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("export not sent privately: %s", exc)
    poster = await desk.pool.reserve_interactive(message.chat.id)
    await poster.bot.send_document(
        message.chat.id,
        file,
        caption=f"{caption}\n{desk_texts.get('privacy.exported_here')}",
        message_thread_id=_thread(message),
    )
