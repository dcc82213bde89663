"""The engine: one entry point for every customer message, whatever the channel.

`Engine.handle(Inbound) -> list[Reply]`: the adapter sends the replies at once. Anything
that must reach someone later (the operators' group, a customer after an operator's
answer) is written to the outbox in the same transaction as the message log.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

from core import buttons
from core.clock import Clock, SystemClock
from core.dialog import Dialog
from core.escalation import OPERATORS, Escalation
from core.manners import Manners
from core.storage import Storage
from core.storage import messages as log_kind
from core.storage.database import is_unique_violation
from core.turn import Turn
from core.types import Inbound, Reply

log = logging.getLogger(__name__)

MAX_STORED_TEXT = 20_000  # characters of one message kept in the log


class Engine:
    def __init__(
        self,
        storage: Storage,
        dialog: Dialog,
        escalation: Escalation,
        clock: Clock | None = None,
        manners: Manners | None = None,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.storage = storage
        self.dialog = dialog
        self.escalation = escalation
        self.clock = clock or SystemClock()
        self.manners = manners or Manners(())
        self.on_outbox = on_outbox
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one customer message; an update seen before gets no second answer (the
        message log's unique `external_id` refuses it when the turn is written)."""
        key = inbound.customer.key
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            conv = await self.storage.conversations.get_or_create(
                inbound.customer, self.clock.now(), inbound.name, inbound.profile_url
            )
            turn = Turn(
                inbound, conv, await self.storage.tickets.open_for(conv.id), self.clock.now()
            )
            await self._decide(turn)
            try:
                async with self.storage.transaction() as tx:
                    await self._commit(tx, turn)
            except Exception as exc:
                if is_unique_violation(exc):
                    return []  # the same update again (a retry, or another replica)
                raise
        if self.on_outbox is not None and (
            turn.escalation or turn.forward_to_operators or turn.rating or turn.rating_comment
        ):
            self.on_outbox()
        return turn.replies

    async def welcome(self, inbound: Inbound) -> list[Reply]:
        """/start and /help: the greeting and the main menu."""
        return await self.handle(
            Inbound(
                channel=inbound.channel,
                user_id=inbound.user_id,
                name=inbound.name,
                profile_url=inbound.profile_url,
                payload=buttons.START,
                external_id=inbound.external_id,
            )
        )

    # ------------------------------------------------------------------ deciding
    async def _decide(self, turn: Turn) -> None:
        inbound = turn.inbound
        text = inbound.text.strip()
        if self.manners.is_rude(text):
            turn.mark_conflict = True
            turn.say(Reply(self.dialog.texts.get("conflict_boundary")))
            if turn.open_ticket is not None:
                turn.forward_to_operators = True
            else:
                turn.conversation.slots["conflict"] = True
            return
        rating = buttons.parse_rate(inbound.payload) if inbound.payload else None
        if rating is not None:
            if await self._rating_allowed(turn, rating[0]):
                self.dialog.take_rating(turn, *rating)
            else:
                turn.say(Reply(self.dialog.texts.get("rating_not_accepted")))
            return
        if turn.open_ticket is not None:
            if inbound.payload in (buttons.OPERATOR, buttons.START):
                status = await self.escalation.status_text(self.storage, turn.open_ticket)
                turn.say(Reply(status))
                return
            # A case is open: everything the customer says or presses goes to its operators.
            turn.forward_to_operators = True
            if self.dialog.clarify.asks_about_case(self.dialog.classifier, text):  # where is he?
                turn.say(Reply(await self.escalation.status_text(self.storage, turn.open_ticket)))
            return
        if inbound.payload:
            await self.dialog.handle_button(turn, inbound.payload)
            await self.dialog.clarify.remember_pick(self.storage, turn)  # a clarification's pick
            return
        if not text:
            if inbound.attachments:
                self.dialog.handle_files_only(turn)
            elif inbound.unsupported:
                turn.say(
                    self.dialog.menu(
                        self.dialog.texts.format("unsupported_content", kind=inbound.unsupported)
                    )
                )
            else:
                turn.say(self.dialog.menu(self.dialog.texts.get("empty_message")))
            return
        if inbound.attachments:
            files = [a.to_dict() for a in inbound.attachments]
            previous = turn.conversation.slots.get("files")
            turn.conversation.slots["files"] = [
                *(previous if isinstance(previous, list) else []),
                *files,
            ][-10:]
        await self.dialog.handle_text(turn)

    async def _rating_allowed(self, turn: Turn, ticket_id: int) -> bool:
        """A rating counts once, for a closed ticket of this very customer."""
        ticket = await self.storage.tickets.get(ticket_id)
        return (
            ticket is not None
            and ticket.conversation_id == turn.conversation.id
            and not ticket.is_open
            and ticket.rating is None
        )

    # ------------------------------------------------------------------ writing
    async def _commit(self, tx: Storage, turn: Turn) -> None:
        now = self.clock.now()
        conv = turn.conversation
        inbound = turn.inbound
        ticket = turn.open_ticket
        attached = ticket.id if ticket is not None and turn.forward_to_operators else None
        logged_text = inbound.text[:MAX_STORED_TEXT]
        if not logged_text and inbound.unsupported:
            logged_text = f"[{inbound.unsupported}]"
        if not logged_text and inbound.payload:
            logged_text = f"[кнопка «{self.dialog.button_title(inbound.payload)}»]"
        await tx.messages.add(
            conv.id,
            log_kind.IN,
            logged_text,
            now,
            ticket_id=attached,
            intent=turn.intent,
            confidence=turn.confidence,
            author=inbound.name,
            external_id=inbound.external_id,
            attachments=inbound.attachments,
        )
        if ticket is not None and turn.forward_to_operators:
            await tx.tickets.update(ticket.id, last_customer_at=now)
            await tx.outbox.add(
                OPERATORS,
                conv.customer.key,
                "customer_message",
                {
                    "ticket_id": ticket.id,
                    "text": logged_text,
                    "attachments": [a.to_dict() for a in inbound.attachments],
                },
                now,
                ticket_id=ticket.id,
            )
        if turn.mark_conflict and ticket is not None:
            await tx.tickets.update(ticket.id, conflict=1)
            if not ticket.conflict:
                await tx.outbox.add(
                    OPERATORS,
                    conv.customer.key,
                    "notice",
                    {"ticket_id": ticket.id, "event": "conflict"},
                    now,
                    ticket_id=ticket.id,
                )
        await self._commit_rating(tx, turn, now)
        reply_ticket = attached
        if turn.escalation is not None:
            opened, told = await self.escalation.open(tx, conv, turn.escalation, now)
            if conv.slots.pop("conflict", None):
                await tx.tickets.update(opened.id, conflict=1)
            turn.say(told)
            reply_ticket = opened.id
        for reply in turn.replies:
            await tx.messages.add(
                conv.id, log_kind.OUT, reply.text, now, ticket_id=reply_ticket, author="bot"
            )
        await tx.conversations.save(conv, now)

    async def _commit_rating(self, tx: Storage, turn: Turn, now: float) -> None:
        conv = turn.conversation
        if turn.rating is not None:
            ticket_id, score = turn.rating
            rated = await tx.tickets.get(ticket_id)
            if rated is None or rated.conversation_id != conv.id:
                return
            await tx.tickets.update(ticket_id, rating=score)
            if score <= 2 and rated.rating != score:  # a repeated press: no second notice
                await tx.outbox.add(
                    OPERATORS,
                    conv.customer.key,
                    "notice",
                    {"ticket_id": ticket_id, "event": "low_rating", "rating": score},
                    now,
                    ticket_id=ticket_id,
                )
        if turn.rating_comment is not None:
            ticket_id, comment = turn.rating_comment
            rated = await tx.tickets.get(ticket_id)
            if rated is None or rated.conversation_id != conv.id:
                return
            await tx.tickets.update(ticket_id, rating_comment=comment[:2000])
            if rated.rating is not None and rated.rating <= 2:
                await tx.outbox.add(
                    OPERATORS,
                    conv.customer.key,
                    "notice",
                    {"ticket_id": ticket_id, "event": "rating_comment", "text": comment[:2000]},
                    now,
                    ticket_id=ticket_id,
                )
