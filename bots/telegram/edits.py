"""Edited messages in Telegram: an `edited_message` update becomes a call of
`core.desk.edits.EditRelay` (a customer's edit goes to the operators, an operator's to the
customer). Applying an operator's edit to the customer's copy is the customer sender's part
(`bots.telegram.customer_sender`)."""

from __future__ import annotations

import logging

from aiogram.types import Message

from bots.telegram.ids import message_key
from core.desk.edits import EditRelay, edit_id
from core.types import TELEGRAM, Inbound

log = logging.getLogger(__name__)


def edited_inbound(message: Message) -> tuple[Inbound, str]:
    """A customer's edited private message as an `Inbound` (with an external id of its
    own) and the external id of the message it changes."""
    user = message.from_user
    original = message_key(message.chat.id, message.message_id)
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


async def relay_customer_edit(edits: EditRelay, message: Message) -> None:
    """A customer's edit of a private message: to the open case's topic, if any."""
    edit, original = edited_inbound(message)
    try:
        await edits.customer_edited(edit, original)
    except Exception:
        log.exception("customer's edit %s not relayed", edit.external_id)


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
