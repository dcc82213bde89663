"""Operators' commands about one case, in its topic (or with its number anywhere in the
group): /take, /close, /reopen, /vip, /manager, /compensate, /intent; and /help, /queue.

Every command reaches here through the gate, so `operator` carries the sender's role; the
desk refuses what the role does not allow (`OperatorError`, shown by the errors handler).
The texts are desk.yaml's `commands` and `help`.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.formatting import Bold, Text

from bots.telegram import cards
from bots.telegram.ids import message_key
from bots.telegram.markup import fill
from bots.telegram.operators.desk import TelegramDesk
from core.clock import Clock
from core.desk import roles
from core.desk.compensation import Compensation
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.knowledge.base import KnowledgeBase
from core.knowledge.texts import Texts
from core.storage import Ticket

router = Router(name="operators-commands")

# The commands in the group's menu, in this order (desk.yaml `commands.menu`).
MENU = (
    "help",
    "take",
    "close",
    "reopen",
    "note",
    "t",
    "assign",
    "transfer",
    "shift",
    "queue",
    "stats",
)


def help_text(desk_texts: Texts) -> Text:
    return Text(Bold(desk_texts.get("help.title")), "\n", desk_texts.get("help.text"))


@router.message(Command("help", "start"))
async def on_help(message: Message, desk: TelegramDesk, desk_texts: Texts) -> None:
    await desk.say(message, help_text(desk_texts))


@router.message(Command("queue"))
async def on_queue(
    message: Message,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    kb: KnowledgeBase,
    clock: Clock,
) -> None:
    cases.require(operator, roles.QUEUE)
    queue = await cases.queue(desk.department_of(message))
    await desk.say(message, cards.queue_text(queue, kb, clock.now()))


@router.message(Command("take"))
async def on_take(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    ticket = await desk.case_of(message, command.args)
    once = message_key(message.chat.id, message.message_id)
    taken = await cases.take(ticket.id, operator, external_id=once)
    await desk.say(
        message, desk_texts.format("commands.taken", ticket=taken.id, operator=operator.name)
    )


@router.message(Command("close"))
async def on_close(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
) -> None:
    ticket = await desk.case_of(message, command.args)
    await cases.close(
        ticket.id, operator, external_id=message_key(message.chat.id, message.message_id)
    )


@router.message(Command("reopen"))
async def on_reopen(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    ticket = await desk.case_of(message, command.args)
    await cases.reopen(
        ticket.id, operator, external_id=message_key(message.chat.id, message.message_id)
    )
    await desk.say(message, desk_texts.format("commands.reopened", ticket=ticket.id))


async def _in_case(desk: TelegramDesk, message: Message, desk_texts: Texts) -> Ticket:
    """The case of the topic the command was written in (these take no number)."""
    ticket = await desk.ticket_of(message)
    if ticket is None:
        raise OperatorError(desk_texts.get("commands.in_case_only"))
    return ticket


@router.message(Command("vip"))
async def on_vip(
    message: Message, operator: Operator, desk: TelegramDesk, cases: OperatorDesk, desk_texts: Texts
) -> None:
    ticket = await _in_case(desk, message, desk_texts)
    await cases.mark_vip(
        ticket.id, operator, external_id=message_key(message.chat.id, message.message_id)
    )
    await desk.say(message, desk_texts.get("commands.vip"))


@router.message(Command("manager"))
async def on_manager(
    message: Message, operator: Operator, desk: TelegramDesk, cases: OperatorDesk, desk_texts: Texts
) -> None:
    ticket = await _in_case(desk, message, desk_texts)
    once = message_key(message.chat.id, message.message_id)
    await cases.set_manager(ticket.id, operator, external_id=once)
    await desk.say(message, desk_texts.format("commands.manager", operator=operator.name))


@router.message(Command("compensate"))
async def on_compensate(
    message: Message,
    operator: Operator,
    desk: TelegramDesk,
    compensation: Compensation,
    desk_texts: Texts,
) -> None:
    ticket = await _in_case(desk, message, desk_texts)
    once = message_key(message.chat.id, message.message_id)
    given = await compensation.give(ticket.id, operator, external_id=once)
    note = desk_texts.format("commands.compensated", code=given.code, remaining=given.remaining)
    if given.running_low:
        note += " " + desk_texts.get("commands.codes_running_low")
    await desk.say(message, note)


@router.message(Command("intent"))
async def on_intent(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    ticket = await _in_case(desk, message, desk_texts)
    intent = (command.args or "").strip()
    once = message_key(message.chat.id, message.message_id)
    text = await cases.label_intent(ticket.id, intent, operator, external_id=once)
    await desk.say(
        message, fill(desk_texts.get("commands.labelled"), text=text[:100], intent=intent)
    )
