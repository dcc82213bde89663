"""Edited messages in Telegram: relaying both ways, and applying an operator's edit.

`apply_edit` is the customer sender's part for outbox items of kind `edit`: it edits the
customer's copy of the reply in place (editMessageText), or — when the copy is unknown,
was split into several messages, or Telegram refuses the edit (too old, not text) —
sends the marked correction. The handlers' parts turn an `edited_message` update into a
call of `core.edits.EditRelay`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from bots.telegram.errors import is_not_modified
from bots.telegram.render import SAFE_PART, utf16_len
from bots.telegram.sending import send_reply
from core.desk.edits import EditRelay, edit_id
from core.runtime.files import FileFetchers
from core.storage import OutboxItem, Storage
from core.types import TELEGRAM, Inbound, Reply

if TYPE_CHECKING:
    from core.app import Core

log = logging.getLogger(__name__)


async def apply_edit(
    bot: Bot, storage: Storage | None, files: FileFetchers, item: OutboxItem, now: float
) -> None:
    chat_id = int(item.recipient)
    text = str(item.payload.get("text", "")).strip()
    source = str(item.payload.get("source", ""))
    copy = await storage.reply_copies.find(source) if storage is not None and source else None
    if copy is not None and len(copy.message_ids) == 1 and utf16_len(text) <= SAFE_PART:
        try:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=int(copy.message_ids[0]), parse_mode=None
            )
            return
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return
            log.info("customer's copy not edited (%s): sending a correction", exc.message)
    correction = Reply.from_dict(item.payload.get("reply") or {"text": text})
    sent = await send_reply(bot, chat_id, correction, files)
    if storage is not None and source and sent:  # the next edit follows the correction
        await storage.reply_copies.remember(
            source, item.ticket_id, TELEGRAM, item.recipient, [str(i) for i in sent], now
        )


def edited_inbound(message: Message) -> tuple[Inbound, str]:
    """A customer's edited private message as an `Inbound` (with an external id of its
    own) and the external id of the message it changes."""
    user = message.from_user
    original = f"tg:{message.chat.id}:{message.message_id}"
    text = message.text or message.caption or ""
    return (
        Inbound(
            channel=TELEGRAM,
            user_id=str(message.chat.id),
            text=text,
            name=user.full_name if user else "",
            external_id=edit_id(original, message.edit_date, text),
        ),
        original,
    )


async def relay_customer_edit(core: Core, message: Message) -> None:
    """A customer's edit of a private message: to the open case's topic, if any."""
    edit, original = edited_inbound(message)
    try:
        await EditRelay.of(core).customer_edited(edit, original)
    except Exception:
        log.exception("customer's edit %s not relayed", edit.external_id)


async def relay_operator_edit(core: Core, ticket_id: int, author: str, message: Message) -> None:
    """An operator's edit of a reply in a case's topic: to the customer's copy."""
    text = message.text or message.caption or ""
    if not text.strip() or text.startswith(("/", "#")):
        return  # commands and notes were never sent to the customer
    source = f"{message.chat.id}:{message.message_id}"
    external_id = edit_id(f"tg:{source}", message.edit_date, text)
    try:
        await EditRelay.of(core).operator_edited(ticket_id, author, source, text, external_id)
    except Exception:
        log.exception("operator's edit %s not relayed", source)
