"""Operators' commands against abuse (`core.abuse.blocking`), behind the gate like every
other command, so an outsider's `/ban` changes nothing:

    /ban [reason]   in a case's topic: block its customer everywhere we know them
    /spam           in a case's topic: the case is spam (closed, customer blocked, learnt)
    /unban [N]      in the topic, or with the case's number anywhere in the group
    /link N         in a case's topic: case N's customer is the same person

Texts: desk.yaml `abuse`; the menu's lines: `commands.menu`.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bots.telegram.ids import message_key
from bots.telegram.operators.desk import TelegramDesk
from core.abuse.blocking import Blocking
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.knowledge.texts import Texts
from core.storage import Ticket

router = Router(name="operators-abuse")

# The commands in the group's menu after `commands.MENU`.
MENU = ("ban", "unban", "spam")


async def _in_topic(message: Message, desk: TelegramDesk, desk_texts: Texts) -> Ticket:
    ticket = await desk.ticket_of(message)
    if ticket is None:
        raise OperatorError(desk_texts.get("abuse.where"))
    return ticket


@router.message(Command("ban", "spam"))
async def on_ban(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    customer_texts: Texts,
    desk_texts: Texts,
) -> None:
    ticket = await _in_topic(message, desk, desk_texts)
    spam = command.command == "spam"
    reason = "" if spam else (command.args or "")
    once = message_key(message.chat.id, message.message_id)
    await Blocking(cases, customer_texts).ban(ticket.id, operator, reason, once, spam=spam)


@router.message(Command("unban"))
async def on_unban(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    customer_texts: Texts,
    desk_texts: Texts,
) -> None:
    ticket = await desk.ticket_of(message, command.args)
    if ticket is None:
        raise OperatorError(desk_texts.get("abuse.unban_usage"))
    once = message_key(message.chat.id, message.message_id)
    await Blocking(cases, customer_texts).unban(ticket.id, operator, once)
    await desk.say(message, desk_texts.format("abuse.unblocked", ticket=ticket.id))


@router.message(Command("link"))
async def on_link(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    customer_texts: Texts,
    desk_texts: Texts,
) -> None:
    ticket = await _in_topic(message, desk, desk_texts)
    other = (command.args or "").strip().lstrip("№#")
    if not other.isdigit():
        raise OperatorError(desk_texts.get("abuse.link_usage"))
    once = message_key(message.chat.id, message.message_id)
    await Blocking(cases, customer_texts).link(ticket.id, int(other), operator, once)
    await desk.say(message, desk_texts.format("abuse.linked", ticket=ticket.id, other=int(other)))
