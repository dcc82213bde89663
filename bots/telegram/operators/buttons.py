"""The buttons under a case's card: «Взять» and «Закрыть» (`CardAction` callback data,
`op:take:12`). A press reaches here only through the gate (operators only); the card's
keyboard follows the case."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bots.telegram.operators.desk import TelegramDesk, press_id
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.storage import Ticket

log = logging.getLogger(__name__)


class CardAction(CallbackData, prefix="op"):
    action: str  # take | close
    ticket: int


def card_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    row = []
    if ticket.operator_id is None:
        row.append(
            InlineKeyboardButton(
                text="Взять", callback_data=CardAction(action="take", ticket=ticket.id).pack()
            )
        )
    row.append(
        InlineKeyboardButton(
            text="Закрыть", callback_data=CardAction(action="close", ticket=ticket.id).pack()
        )
    )
    return InlineKeyboardMarkup(inline_keyboard=[row])


def build_router(desk: TelegramDesk) -> Router:
    router = Router(name="operators-buttons")
    core = desk.core

    @router.callback_query(CardAction.filter())
    async def on_card_button(
        query: CallbackQuery, callback_data: CardAction, operator: Operator
    ) -> None:
        number, once = callback_data.ticket, press_id(query)
        ticket = await core.storage.tickets.get(number)
        message = query.message
        if ticket is None or not isinstance(message, Message):
            await query.answer("Кнопка устарела.")
            return
        if desk.groups.chat_for(ticket.department) != message.chat.id:
            title = desk.groups.title(ticket.department)
            raise OperatorError(f"Обращение №{number} ведёт группа «{title}».")
        if callback_data.action == "take":
            await core.desk.take(number, operator, external_id=once)
            await query.answer(f"Обращение №{number} ваше.")
        elif callback_data.action == "close":
            await core.desk.close(number, operator, external_id=once)
            await query.answer(f"Обращение №{number} закрыто.")
        else:
            await query.answer("Кнопка устарела.")
            return
        view = await core.desk.view(number, transcript_limit=0)
        try:
            await message.edit_reply_markup(
                reply_markup=card_keyboard(view.ticket) if view.ticket.is_open else None
            )
        except TelegramAPIError as exc:
            log.debug("card keyboard not updated: %s", exc)

    @router.callback_query()
    async def on_other_button(query: CallbackQuery) -> None:
        await query.answer("Эта кнопка для клиента.")

    return router
