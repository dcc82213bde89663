"""Edited messages, relayed to the other side.

- An operator edits a reply already sent: an outbox item of kind `edit` goes to the
  customer's channel. Its sender edits the customer's copy in place (Telegram
  editMessageText, VK messages.edit) when it knows where the reply landed
  (`reply_copies`, recorded by the sender on delivery) and the channel allows it; else it
  sends the marked correction in `payload["reply"]`. Items to one customer keep their
  order, so the edit is handled after the reply it corrects.
- A customer edits a message while their case is open: the new text (and the old one)
  goes to the case's operators like any customer message, marked as a correction.

Adapters call these functions from small handlers of their own; nothing here knows a
messenger library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from core.clock import Clock
from core.escalation import OPERATORS
from core.knowledge import Texts
from core.storage import Storage
from core.storage import messages as log_kind
from core.storage.database import is_unique_violation
from core.types import Inbound, Reply

log = logging.getLogger(__name__)

EDIT = "edit"  # outbox kind for the customer's channel
OLD_TEXT_SHOWN = 300  # characters of the previous wording shown to operators


def source_of(ack: object) -> str | None:
    """The key of an operator's own message (`ack` of a reply): "<chat>:<message>"."""
    if isinstance(ack, dict) and "chat_id" in ack and "message_id" in ack:
        return f"{ack['chat_id']}:{ack['message_id']}"
    return None


class EditRelay:
    def __init__(
        self,
        storage: Storage,
        texts: Texts,
        clock: Clock,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.storage = storage
        self.texts = texts
        self.clock = clock
        self.on_outbox = on_outbox

    @classmethod
    def of(cls, core: Any) -> EditRelay:
        """The relay for a built `core.app.Core`."""
        return cls(core.storage, core.kb.texts, core.clock, core.delivery.wake)

    async def operator_edited(self, ticket_id: int, author: str, source: str, text: str) -> bool:
        """An operator changed the reply `source` to `text`; False when there is no such
        case or nothing to send."""
        if not text.strip():
            return False
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            ticket = await tx.tickets.get(ticket_id)
            if ticket is None:
                return False
            await tx.messages.add(
                ticket.conversation_id,
                log_kind.OPERATOR,
                self.texts.format("edits.logged", text=text),
                now,
                ticket_id=ticket.id,
                author=author,
            )
            correction = Reply(self.texts.format("edits.correction", text=text))
            await tx.outbox.add(
                ticket.channel,
                ticket.user_id,
                EDIT,
                {
                    "ticket_id": ticket.id,
                    "source": source,
                    "text": text,
                    "reply": correction.to_dict(),
                },
                now,
                ticket_id=ticket.id,
            )
        self._notify()
        return True

    async def customer_edited(self, edit: Inbound, original_id: str) -> bool:
        """A customer changed a message (`original_id` is its external id; `edit` carries
        the new text and an external id of its own). Reaches the operators only while a
        case is open; returns whether it did."""
        text = edit.text.strip()
        conv = await self.storage.conversations.find(edit.customer)
        if conv is None or not text:
            return False
        ticket = await self.storage.tickets.open_for(conv.id)
        if ticket is None:
            return False
        old = await self.storage.messages.text_of(conv.id, original_id)
        shown = self.texts.format("edits.customer", text=text)
        if old and old != text:
            shown += "\n" + self.texts.format("edits.customer_was", text=old[:OLD_TEXT_SHOWN])
        now = self.clock.now()
        try:
            async with self.storage.transaction() as tx:
                await tx.messages.add(
                    conv.id,
                    log_kind.IN,
                    shown,
                    now,
                    ticket_id=ticket.id,
                    author=edit.name,
                    external_id=edit.external_id,
                )
                await tx.tickets.update(ticket.id, last_customer_at=now)
                await tx.outbox.add(
                    OPERATORS,
                    conv.customer.key,
                    "customer_message",
                    {"ticket_id": ticket.id, "text": shown, "attachments": [], "edited": True},
                    now,
                    ticket_id=ticket.id,
                )
        except Exception as exc:
            if is_unique_violation(exc):
                return False  # the same edit delivered again
            raise
        self._notify()
        return True

    def _notify(self) -> None:
        if self.on_outbox is not None:
            self.on_outbox()
