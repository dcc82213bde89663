"""Edited messages in VK: applying an operator's edit, relaying a customer's.

`apply_edit` handles outbox items of kind `edit` for the VK sender: messages.edit on the
customer's copy of the reply when it is known and a single message; otherwise, or when
VK refuses (too old, too long, no access), the marked correction is sent. A customer's
`message_edit` event goes to `core.edits.EditRelay` (the open case's topic).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from vkbottle import VKAPIError

from bots.vk import errors
from bots.vk.api import error_code
from bots.vk.inbound import parse_message_new
from core.delivery import RetryLater
from core.edits import EditRelay, edit_id
from core.storage import OutboxItem
from core.types import VK, Inbound, Reply

if TYPE_CHECKING:
    from bots.vk.sender import VKSender
    from core.app import Core

log = logging.getLogger(__name__)

EDIT_LIMIT = 4000  # characters VK accepts in one message


async def apply_edit(sender: VKSender, item: OutboxItem, peer_id: int, now: float) -> None:
    storage = sender.storage
    text = str(item.payload.get("text", "")).strip()
    source = str(item.payload.get("source", ""))
    copy = await storage.reply_copies.find(source) if storage is not None and source else None
    if copy is not None and len(copy.message_ids) == 1 and len(text) <= EDIT_LIMIT:
        try:
            await sender.api.messages.edit(
                peer_id=peer_id,
                message_id=int(copy.message_ids[0]),
                message=text,
                keep_forward_messages=True,
                keep_snippets=True,
            )
            return
        except VKAPIError as exc:
            code = error_code(exc)
            outcome = errors.classify(code)
            if isinstance(outcome, RetryLater) or errors.is_permanent_for_peer(code):
                raise (outcome or exc) from exc  # a rate limit, or the customer left
            log.info("VK copy not edited (%s): sending a correction", exc)
    correction = Reply.from_dict(item.payload.get("reply") or {"text": text})
    sent = await sender.deliver(
        peer_id, correction, lambda part: _edit_random_id(item.id, part), degrade_files=True
    )
    if storage is not None and source and sent:
        await storage.reply_copies.remember(
            source, item.ticket_id, VK, item.recipient, [str(i) for i in sent], now
        )


def _edit_random_id(item_id: int, part: int) -> int:
    from bots.vk.sender import outbox_random_id

    return outbox_random_id(item_id, part)


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
