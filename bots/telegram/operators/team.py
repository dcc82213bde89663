"""Operators' commands about the team: /assign (hand a case to a colleague), /transfer
(move it to another department's group), /shift (who takes new cases). Texts: desk.yaml
`commands`."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, User
from aiogram.utils.formatting import Text

from bots.telegram.ids import message_key
from bots.telegram.markup import fill, joined
from bots.telegram.operators.desk import TelegramDesk, case_number
from core.desk import team_actions
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.desk.team import Team
from core.knowledge.texts import Texts
from core.storage import Storage

router = Router(name="operators-team")


@router.message(Command("assign"))
async def on_assign(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    storage: Storage,
    desk_texts: Texts,
) -> None:
    """`/assign [N] @name|me`, or in reply to a colleague's message."""
    explicit = case_number(command.args) is not None
    args = (command.args or "").split()
    target = " ".join(args[1:] if explicit else args)
    user = await _named_user(message, target, operator, storage, desk_texts)
    if user is None:
        names = await _on_shift(desk, message, storage, desk_texts)
        await desk.say(message, fill(desk_texts.get("commands.assign_usage"), names=names))
        return
    ticket = await desk.case_of(message, command.args if explicit else None)
    assignee = await desk.roles.operator(message.chat.id, user)
    once = message_key(message.chat.id, message.message_id)
    await team_actions.assign(cases, ticket.id, operator, assignee, external_id=once)
    if explicit:  # typed elsewhere: the case's topic gets the notice, here a short note
        text = desk_texts.format("commands.taken", ticket=ticket.id, operator=assignee.name)
        await desk.say(message, text)


async def _named_user(
    message: Message, target: str, operator: Operator, storage: Storage, desk_texts: Texts
) -> User | None:
    """Whom `/assign` names: a mention, @username, "me", or the author of the replied message."""
    for entity in message.entities or ():
        if entity.type == "text_mention" and entity.user is not None:
            return entity.user
    word = target.strip()
    if word.lower() in desk_texts.get("commands.assign_me").split():
        if not operator.id.isdigit():
            return None  # an anonymous admin cannot hold a case
        return User(id=int(operator.id), is_bot=False, first_name=operator.name)
    if word.startswith("@"):
        member = await storage.desk.by_username(str(message.chat.id), word)
        if member is None:
            raise OperatorError(desk_texts.format("commands.unknown_user", user=word))
        return User(id=int(member.user_id), is_bot=False, first_name=member.name, username=None)
    reply = message.reply_to_message
    if not word and reply is not None and not reply.forum_topic_created:
        author = reply.from_user
        if author is not None and not author.is_bot:
            return author
    return None


async def _on_shift(
    desk: TelegramDesk, message: Message, storage: Storage, desk_texts: Texts
) -> str:
    on_shift = await storage.desk.on_shift(desk.department_of(message))
    return ", ".join(o.name for o in on_shift) or desk_texts.get("commands.nobody")


@router.message(Command("transfer"))
async def on_transfer(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    """`/transfer [N] GROUP`: the case moves with its history to that group."""
    explicit = case_number(command.args) is not None
    args = (command.args or "").split()
    name = " ".join(args[1:] if explicit else args)
    routing = desk.groups.routing
    department = routing.find(name) if name else None
    if department is None or not desk.groups.served(department):
        await desk.say(message, _groups_help(desk, desk_texts, name))
        return
    ticket = await desk.case_of(message, command.args if explicit else None)
    once = message_key(message.chat.id, message.message_id)
    await team_actions.transfer(cases, ticket.id, operator, department, external_id=once)
    if explicit:
        title = routing.title(department)
        await desk.say(
            message, desk_texts.format("commands.transferred", ticket=ticket.id, group=title)
        )


def _groups_help(desk: TelegramDesk, desk_texts: Texts, name: str) -> Text:
    groups = desk.groups
    known = ", ".join(
        desk_texts.format("commands.group", name=key, title=groups.title(key))
        for key in groups.by_department
        if key in groups.routing.titles
    )
    usage = desk_texts.format("commands.transfer_usage", groups=known)
    if not name:
        return Text(usage)
    return joined([desk_texts.format("commands.no_such_group", group=name), usage], " ")


@router.message(Command("shift"))
async def on_shift(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    storage: Storage,
    team: Team | None,
    desk_texts: Texts,
) -> None:
    """`/shift on|off` starts or ends a shift; `/shift` tells who is on shift."""
    department = desk.department_of(message)
    word = (command.args or "").strip().lower()
    starts = word in desk_texts.get("commands.shift_on_words").split()
    ends = word in desk_texts.get("commands.shift_off_words").split()
    if starts or ends:
        on_shift = await team_actions.set_shift(cases, operator, department, starts)
        head = desk_texts.get("commands.shift_on" if starts else "commands.shift_off")
    else:
        on_shift = await storage.desk.on_shift(department)
        head = desk_texts.get("commands.shift_usage")
    names = ", ".join(o.name for o in on_shift) or desk_texts.get("commands.nobody")
    lines = [head, desk_texts.format("commands.on_shift", names=names)]
    if team is None or not team.assignment.auto:
        lines[-1] += " " + desk_texts.get("commands.auto_assign_off")
    await desk.say(message, "\n".join(lines))
