"""A customer's edited message in VK: a `message_edit` event goes to
`core.edits.EditRelay` (the open case's topic). An operator's edit is applied by the
sender (`VKSender.send`, outbox items of kind `edit`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bots.vk.inbound import parse_message_new
from core.desk.edits import EditRelay, edit_id
from core.types import VK, Inbound

if TYPE_CHECKING:
    from core.app import Core

log = logging.getLogger(__name__)


async def relay_customer_edit(core: Core, obj: dict[str, Any]) -> None:
    """A `message_edit` event (the message object itself) from a customer."""
    incoming = parse_message_new(obj)
    if incoming is None:
        return  # our own messages (out = 1), chats, communities
    message = obj["message"] if isinstance(obj.get("message"), dict) else obj
    stamp = message.get("update_time") or message.get("date") or 0
    edit = Inbound(
        channel=VK,
        user_id=str(incoming.user_id),
        text=incoming.text,
        external_id=edit_id(incoming.external_id, stamp, incoming.text),
    )
    try:
        await EditRelay.of(core).customer_edited(edit, incoming.external_id)
    except Exception:
        log.exception("VK customer's edit %s not relayed", edit.external_id)
