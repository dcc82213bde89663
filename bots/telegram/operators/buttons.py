"""The buttons under a case's card: take and close (`CardAction` callback data,
`op:take:12`; titles from desk.yaml `buttons`). A press reaches here only through the gate
(operators only); the card's keyboard follows the case."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder, InlineKeyboardMarkup

from bots.telegram.ids import press_key
from bots.telegram.operators.desk import TelegramDesk
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.knowledge.texts import Texts
from core.storage import Ticket

log = logging.getLogger(__name__)
TAKE, CLOSE = "take", "close"

router = Router(name="operators-buttons")


class CardAction(CallbackData, prefix="op"):
    action: str  # take | close
    ticket: int


def card_keyboard(desk_texts: Texts, ticket: Ticket) -> InlineKeyboardMarkup:
    """«Take» while nobody has the case, and «Close»."""
    keyboard = InlineKeyboardBuilder()
    if ticket.operator_id is None:
        keyboard.button(
            text=desk_texts.get("buttons.take"),
            callback_data=CardAction(action=TAKE, ticket=ticket.id),
        )
    keyboard.button(
        text=desk_texts.get("buttons.close"),
        callback_data=CardAction(action=CLOSE, ticket=ticket.id),
    )
    return keyboard.as_markup()


@router.callback_query(CardAction.filter())
async def on_card_button(
    query: CallbackQuery,
    callback_data: CardAction,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    number, once = callback_data.ticket, press_key(query.id)
    ticket = await desk.posting.case(number)
    message = query.message
    if (
        ticket is None
        or not isinstance(message, Message)
        or callback_data.action not in (TAKE, CLOSE)
    ):
        await query.answer(desk_texts.get("buttons.stale"))
        return
    if desk.groups.chat_for(ticket.department) != message.chat.id:
        group = desk.groups.title(ticket.department)
        raise OperatorError(desk_texts.format("buttons.other_group", ticket=number, group=group))
    if callback_data.action == TAKE:
        await cases.take(number, operator, external_id=once)
        await query.answer(desk_texts.format("buttons.taken", ticket=number))
    else:
        await cases.close(number, operator, external_id=once)
        await query.answer(desk_texts.format("buttons.closed", ticket=number))
    await _follow_case(message, cases, desk_texts, number)


async def _follow_case(
    message: Message, cases: OperatorDesk, desk_texts: Texts, number: int
) -> None:
    """The card's keyboard after a press: «Take» gone once taken, none once closed."""
    view = await cases.view(number, transcript_limit=0)
    keyboard = card_keyboard(desk_texts, view.ticket) if view.ticket.is_open else None
    try:
        await message.edit_reply_markup(reply_markup=keyboard)
    except TelegramAPIError as exc:
        log.debug("card keyboard not updated: %s", exc)


@router.callback_query()
async def on_other_button(query: CallbackQuery, desk_texts: Texts) -> None:
    await query.answer(desk_texts.get("buttons.for_customer"))
