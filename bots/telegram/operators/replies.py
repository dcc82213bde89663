"""Operators' messages in a case's topic: answers to the customer (text, photo, document,
video, voice), saved replies (`/t NAME`), internal notes (`#…`, `/note …`), a clear note
for what cannot be sent, and corrections of a reply (an edited message). Outside any
case, operators talk among themselves."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, ReactionTypeEmoji

from bots.telegram.attachments import attachments_of
from bots.telegram.edits import relay_operator_edit
from bots.telegram.filters import on_loop
from bots.telegram.ids import message_key
from bots.telegram.operators.desk import TelegramDesk
from core.desk.edits import EditRelay
from core.desk.operators import OperatorDesk
from core.desk.roles import Operator
from core.events import Ack
from core.knowledge.texts import Texts
from core.types import Attachment

log = logging.getLogger(__name__)
NOTE_REACTION = "✍"  # one of the reactions Telegram allows

router = Router(name="operators-replies")


async def relay(
    message: Message,
    operator: Operator,
    text: str,
    attachments: tuple[Attachment, ...],
    desk: TelegramDesk,
    cases: OperatorDesk,
) -> None:
    """An operator's answer in a case's topic, to the customer (marked once delivered)."""
    ticket = await desk.ticket_of(message)
    if ticket is None:
        return  # operators talking among themselves outside any case
    ack = Ack(message.chat.id, message.message_id)
    once = message_key(message.chat.id, message.message_id)
    await cases.reply(ticket.id, operator, text, attachments, ack=ack, external_id=once)


async def save_note(
    message: Message,
    operator: Operator,
    text: str,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    ticket = await desk.ticket_of(message)
    if ticket is None or not text.strip():
        await desk.say(message, desk_texts.get("commands.note_usage"))
        return
    once = message_key(message.chat.id, message.message_id)
    await cases.note(ticket.id, operator, text, external_id=once)
    await react(message, NOTE_REACTION)


@router.message(Command("note"))
async def on_note(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    desk_texts: Texts,
) -> None:
    await save_note(message, operator, command.args or "", desk, cases, desk_texts)


@router.message(on_loop(F.text.startswith("#")))
async def on_hash_note(
    message: Message, operator: Operator, desk: TelegramDesk, cases: OperatorDesk, desk_texts: Texts
) -> None:
    text = (message.text or "").lstrip("#").strip()
    await save_note(message, operator, text, desk, cases, desk_texts)


@router.message(Command("t"))
async def on_template(
    message: Message,
    command: CommandObject,
    operator: Operator,
    desk: TelegramDesk,
    cases: OperatorDesk,
    canned: dict[str, str],
    desk_texts: Texts,
) -> None:
    """`/t NAME` sends a saved reply; `/t` lists them."""
    name = (command.args or "").strip()
    if not name or name not in canned:
        names = ", ".join(sorted(canned)) or desk_texts.get("commands.no_templates")
        await desk.say(message, desk_texts.format("commands.templates", names=names))
        return
    await relay(message, operator, canned[name], (), desk, cases)


@router.message(on_loop(F.text.startswith("/")))
async def on_unknown_command(message: Message, desk: TelegramDesk, desk_texts: Texts) -> None:
    await desk.say(message, desk_texts.get("commands.unknown_command"))


@router.message(on_loop(F.text | F.photo | F.document | F.video | F.voice | F.audio))
async def on_reply(
    message: Message, operator: Operator, desk: TelegramDesk, cases: OperatorDesk
) -> None:
    text = message.text or message.caption or ""
    await relay(message, operator, text, attachments_of(message), desk, cases)


SERVICE = (
    F.forum_topic_created
    | F.forum_topic_closed
    | F.forum_topic_reopened
    | F.forum_topic_edited
    | F.new_chat_members
    | F.left_chat_member
    | F.pinned_message
)


@router.message(on_loop(~SERVICE))
async def on_other_content(message: Message, desk: TelegramDesk, desk_texts: Texts) -> None:
    """A sticker, a poll… in a case's topic: the operator hears it was not sent."""
    if await desk.ticket_of(message) is not None:
        await desk.say(message, desk_texts.get("commands.not_sent"))


@router.edited_message(on_loop(F.text | F.caption))
async def on_edited(
    message: Message, operator: Operator, desk: TelegramDesk, edits: EditRelay
) -> None:
    """An operator corrected a reply: the customer's copy follows (`core.desk.edits`)."""
    ticket = await desk.ticket_of(message)
    if ticket is not None:
        await relay_operator_edit(edits, ticket.id, operator.name, message)


async def react(message: Message, emoji: str) -> None:
    try:
        await message.react([ReactionTypeEmoji(emoji=emoji)])
    except TelegramAPIError as exc:
        log.debug("reaction not set: %s", exc)
