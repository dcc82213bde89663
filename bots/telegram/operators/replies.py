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
from bots.telegram.operators.desk import TelegramDesk, update_id
from bots.telegram.render import escape
from core.desk.roles import Operator
from core.events import Ack
from core.types import Attachment

log = logging.getLogger(__name__)

NOT_SENT = (
    "Это не отправлено клиенту: передаются текст, фото, документы, видео и голосовые сообщения."
)


def build_router(desk: TelegramDesk) -> Router:
    router = Router(name="operators-replies")
    core = desk.core

    async def relay(
        message: Message, operator: Operator, text: str, attachments: tuple[Attachment, ...]
    ) -> None:
        ticket = await desk.ticket_of(message)
        if ticket is None:
            return  # operators talking among themselves outside any case
        ack = Ack(message.chat.id, message.message_id)
        await core.desk.reply(
            ticket.id, operator, text, attachments, ack=ack, external_id=update_id(message)
        )

    async def save_note(message: Message, operator: Operator, text: str) -> None:
        ticket = await desk.ticket_of(message)
        if ticket is None or not text.strip():
            await desk.say(message, "Заметка сохраняется в теме обращения: /note текст.")
            return
        await core.desk.note(ticket.id, operator, text, external_id=update_id(message))
        await react(message, "✍")

    @router.message(Command("note"))
    async def on_note(message: Message, command: CommandObject, operator: Operator) -> None:
        await save_note(message, operator, command.args or "")

    @router.message(on_loop(F.text.startswith("#")))
    async def on_hash_note(message: Message, operator: Operator) -> None:
        await save_note(message, operator, (message.text or "").lstrip("#").strip())

    @router.message(Command("t"))
    async def on_template(message: Message, command: CommandObject, operator: Operator) -> None:
        name = (command.args or "").strip()
        if not name or name not in core.canned:
            names = ", ".join(sorted(core.canned)) or "шаблонов нет"
            await desk.say(message, f"Шаблоны: {escape(names)}. Отправить: /t ИМЯ")
            return
        await relay(message, operator, core.canned[name], ())

    @router.message(on_loop(F.text.startswith("/")))
    async def on_unknown_command(message: Message) -> None:
        await desk.say(message, "Такой команды нет. /help — что умеет бот.")

    @router.message(on_loop(F.text | F.photo | F.document | F.video | F.voice | F.audio))
    async def on_reply(message: Message, operator: Operator) -> None:
        text = message.text or message.caption or ""
        await relay(message, operator, text, attachments_of(message))

    @router.message(
        on_loop(
            ~F.forum_topic_created
            & ~F.forum_topic_closed
            & ~F.forum_topic_reopened
            & ~F.forum_topic_edited
            & ~F.new_chat_members
            & ~F.left_chat_member
            & ~F.pinned_message
        )
    )
    async def on_other_content(message: Message) -> None:
        if await desk.ticket_of(message) is not None:  # a sticker, a poll… in a case's topic
            await desk.say(message, NOT_SENT)

    @router.edited_message(on_loop(F.text | F.caption))
    async def on_edited(message: Message, operator: Operator) -> None:
        """An operator corrected a reply: the customer's copy follows (`core.edits`)."""
        ticket = await desk.ticket_of(message)
        if ticket is not None:
            await relay_operator_edit(core, ticket.id, operator.name, message)

    return router


async def react(message: Message, emoji: str) -> None:
    try:
        await message.react([ReactionTypeEmoji(emoji=emoji)])
    except TelegramAPIError as exc:
        log.debug("reaction not set: %s", exc)
