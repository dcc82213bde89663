"""An operator's edited reply in Telegram becomes a call of `core.desk.edits.EditRelay`
(to the customer's copy). A customer's edit goes through `core.customer_updates` (the
customers' handlers); applying an operator's edit to the customer's copy is the customer
sender's part (`bots.telegram.customer_sender`)."""

from __future__ import annotations

import logging

from aiogram.types import Message

from bots.telegram.ids import message_key
from core.desk.edits import EditRelay, edit_id

log = logging.getLogger(__name__)


async def relay_operator_edit(
    edits: EditRelay, ticket_id: int, author: str, message: Message
) -> None:
    """An operator's edit of a reply in a case's topic: to the customer's copy."""
    text = message.text or message.caption or ""
    if not text.strip() or text.startswith(("/", "#")):
        return  # commands and notes were never sent to the customer
    source = f"{message.chat.id}:{message.message_id}"
    external_id = edit_id(message_key(message.chat.id, message.message_id), message.edit_date, text)
    try:
        await edits.operator_edited(ticket_id, author, source, text, external_id)
    except Exception:
        log.exception("operator's edit %s not relayed", source)
