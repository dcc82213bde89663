"""Operators' commands against abuse (`core.abuse.blocking`), behind the gate like every
other command, so an outsider's `/ban` changes nothing:

    /ban [reason]   in a case's topic: block its customer everywhere we know them
    /spam           in a case's topic: the case is spam (closed, customer blocked, learnt)
    /unban [N]      in the topic, or with the case's number anywhere in the group
    /link N         in a case's topic: case N's customer is the same person
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bots.telegram.operators.desk import TelegramDesk, update_id
from bots.telegram.render import escape
from core.abuse.blocking import Blocking
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.storage import Ticket

MENU = {
    "ban": "Заблокировать клиента: /ban причина",
    "unban": "Снять блокировку",
    "spam": "Обращение — спам",
}


def build_router(desk: TelegramDesk) -> Router:
    router = Router(name="operators-abuse")
    core = desk.core
    texts = core.kb.desk
    blocking = Blocking(core.desk, core.kb.texts)

    async def in_topic(message: Message) -> Ticket:
        ticket = await desk.ticket_of(message)
        if ticket is None:
            raise OperatorError(texts.get("abuse.where"))
        return ticket

    @router.message(Command("ban", "spam"))
    async def on_ban(message: Message, command: CommandObject, operator: Operator) -> None:
        ticket = await in_topic(message)
        spam = command.command == "spam"
        reason = "" if spam else (command.args or "")
        await blocking.ban(ticket.id, operator, reason, update_id(message), spam=spam)

    @router.message(Command("unban"))
    async def on_unban(message: Message, command: CommandObject, operator: Operator) -> None:
        ticket = await desk.ticket_of(message, command.args)
        if ticket is None:
            raise OperatorError(texts.get("abuse.unban_usage"))
        await blocking.unban(ticket.id, operator, update_id(message))
        await desk.say(message, escape(texts.format("abuse.unblocked", ticket=ticket.id)))

    @router.message(Command("link"))
    async def on_link(message: Message, command: CommandObject, operator: Operator) -> None:
        ticket = await in_topic(message)
        other = (command.args or "").strip().lstrip("№#")
        if not other.isdigit():
            raise OperatorError(texts.get("abuse.link_usage"))
        await blocking.link(ticket.id, int(other), operator, update_id(message))
        said = texts.format("abuse.linked", ticket=ticket.id, other=int(other))
        await desk.say(message, escape(said))

    return router
