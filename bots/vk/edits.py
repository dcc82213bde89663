"""A customer's edited message in VK: a `message_edit` event reaches the open case's
operators through `core.customer_updates`. An operator's edit of a reply is applied by the
sender (`VKSender.reply_edited`)."""

from __future__ import annotations

from typing import Any

from bots.vk.inbound import parse_message_new
from core.customer_updates import CustomerUpdates
from core.types import VK, CustomerRef


async def relay_customer_edit(updates: CustomerUpdates, obj: dict[str, Any]) -> None:
    """A `message_edit` event (the message object itself) from a customer."""
    incoming = parse_message_new(obj)
    if incoming is None:
        return  # our own messages (out = 1), chats, communities
    message = obj["message"] if isinstance(obj.get("message"), dict) else obj
    stamp = message.get("update_time") or message.get("date") or 0
    customer = CustomerRef(VK, str(incoming.user_id))
    await updates.edited(customer, incoming.external_id, stamp, incoming.text)
