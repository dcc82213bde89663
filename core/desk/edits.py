"""Edited messages, relayed to the other side.

- An operator edits a reply already sent: a `ReplyEdited` event goes to the customer's
  channel. Its sender calls `apply_reply_edit` with the channel's two primitives (edit a
  message in place, send a reply): the customer's copy is edited in place when it is known
  where the reply landed (`reply_copies`, recorded on delivery by `remember_copy`) and the
  channel allows it; else the marked correction is sent. Items to one customer keep their
  order, so the edit is handled after the reply it corrects.
- A customer edits a message while their case is open: the new text (and the old one)
  goes to the case's operators like any customer message, marked as a correction.

Adapters call these functions from small handlers of their own; nothing here knows a
messenger library.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Protocol

from core.desk.action import ActionRunner, OperatorError
from core.events import CustomerMessage, CustomerReply, ReplyEdited
from core.knowledge.base import KnowledgeBase, Texts
from core.storage import DuplicateUpdate, OutboxItem, Storage
from core.storage import messages as log_kind
from core.types import Inbound, Reply

log = logging.getLogger(__name__)

OLD_TEXT_SHOWN = 300  # characters of the previous wording shown to operators


def edit_id(original: str, stamp: object, text: str) -> str:
    """The external id of one edit of message `original`: a repeat of the same update has
    the same id; two edits within one second (the messenger's resolution) do not."""
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{original}:edit:{stamp or 0}:{digest}"


async def remember_copy(
    storage: Storage | None, item: OutboxItem, message_ids: list[int], now: float
) -> None:
    """Where an operator's reply landed in the customer's channel (the sender calls it
    on delivery), so that a later edit of the reply can follow it."""
    event = item.event
    if storage is None or not isinstance(event, CustomerReply) or event.ack is None:
        return
    if message_ids:
        await _remember(storage, event.ack.source, item, message_ids, now)


class CopyEditor(Protocol):
    """A customers' channel's part in applying an operator's edit."""

    def fits(self, text: str) -> bool:
        """Whether an edited message may hold `text`."""
        ...

    async def edit_in_place(self, message_id: int, text: str) -> bool:
        """Edit the customer's message; False when the channel refuses (too old, not
        text…) and a correction must be sent instead."""
        ...

    async def send(self, reply: Reply) -> list[int]:
        """Send `reply`; the ids of the messages sent."""
        ...


async def apply_reply_edit(
    storage: Storage | None, item: OutboxItem, event: ReplyEdited, editor: CopyEditor, now: float
) -> None:
    """Edit the customer's copy of the reply in place where possible, else send the marked
    correction (and remember where it landed: the next edit follows it)."""
    text = event.text.strip()
    source = event.source
    copy = await storage.reply_copies.find(source) if storage is not None and source else None
    if copy is not None and len(copy.message_ids) == 1 and editor.fits(text):
        if await editor.edit_in_place(int(copy.message_ids[0]), text):
            return
    sent = await editor.send(event.correction)
    if storage is not None and source and sent:
        await _remember(storage, source, item, sent, now)


async def _remember(
    storage: Storage, source: str, item: OutboxItem, message_ids: list[int], now: float
) -> None:
    await storage.reply_copies.remember(
        source, item.ticket_id, item.channel, item.recipient, [str(i) for i in message_ids], now
    )


class HasDesk(Protocol):
    """What `EditRelay.of` needs of a built `core.app.Core`."""

    @property
    def desk(self) -> ActionRunner: ...

    @property
    def kb(self) -> KnowledgeBase: ...


class EditRelay:
    """Relays edits as operator actions (`core.desk.action`); `texts` are the customers'
    (the correction's wording, and how an edit is marked in the transcript)."""

    def __init__(self, desk: ActionRunner, texts: Texts) -> None:
        self.desk = desk
        self.storage = desk.storage
        self.texts = texts
        self.clock = desk.clock

    @classmethod
    def of(cls, core: HasDesk) -> EditRelay:
        """The relay for a built `core.app.Core`."""
        return cls(core.desk, core.kb.texts)

    async def operator_edited(
        self, ticket_id: int, author: str, source: str, text: str, external_id: str | None = None
    ) -> bool:
        """An operator changed the reply `source` to `text` (one unit of work, claimed by
        the edit's `external_id`); False when there is nothing to send."""
        if not text.strip():
            return False
        now = self.clock.now()
        try:
            async with self.desk.action(ticket_id, external_id) as action:
                ticket = action.ticket
                await action.tx.messages.add(
                    ticket.conversation_id,
                    log_kind.OPERATOR,
                    self.texts.format("edits.logged", text=text),
                    now,
                    ticket_id=ticket.id,
                    author=author,
                )
                correction = Reply(self.texts.format("edits.correction", text=text))
                edited = ReplyEdited(ticket.id, source, text, correction)
                await self.desk.to_customer(action, edited, now)
        except (DuplicateUpdate, OperatorError):
            return False
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
            async with self.desk.action(ticket.id, edit.external_id, must_be_open=True) as action:
                await action.tx.messages.add(
                    conv.id,
                    log_kind.IN,
                    shown,
                    now,
                    ticket_id=ticket.id,
                    author=edit.name,
                    external_id=edit.external_id,
                )
                await action.tx.tickets.update(ticket.id, last_customer_at=now)
                message = CustomerMessage(ticket.id, shown, edited=True)
                await self.desk.to_operators(action, message)
        except (DuplicateUpdate, OperatorError):
            return False  # the same edit delivered again, or the case closed meanwhile
        return True
