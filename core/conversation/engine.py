"""The engine: one entry point for every customer message, whatever the channel.

`Engine.handle(Inbound) -> list[Reply]` runs a turn as one unit of work:

1. read the conversation, its open ticket and whether the update was applied before —
   one query;
2. decide what to answer (the dialog; pure, it may look an order up);
3. write everything in one transaction: the claim of the update's external id, the
   conversation (only if its version is still the one read), the message log, a ticket,
   and the outbox rows — the customer's answers among them.

A repeat of the same external id changes nothing (`DuplicateUpdate`). Any other conflict —
another process or an operator wrote the conversation meanwhile — decides the turn again
on fresh state; nothing is dropped. The answers are then handed to `Delivery`, which sends
them at once when nothing else is queued for the customer. The returned replies are what
the customer is told (for the console and tests); adapters do not send them themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import TYPE_CHECKING

from core import buttons
from core.abuse.guard import Guard, NoGuard
from core.clock import Clock, SystemClock
from core.conversation.dialog import Dialog
from core.conversation.manners import Manners
from core.conversation.outcomes import record_turn
from core.conversation.turn import Turn
from core.desk.escalation import Escalation, EscalationRequest
from core.events import (
    ConflictMarked,
    CustomerMessage,
    CustomerReply,
    LowRating,
    Notice,
    RatingComment,
)
from core.runtime import metrics
from core.runtime.delivery import Delivery
from core.runtime.intake import consume_applied
from core.storage import Conflict, DuplicateUpdate, OutboxItem, Storage, Ticket
from core.storage import messages as log_kind
from core.storage.database import is_unique_violation
from core.storage.messages import NewMessage
from core.types import OPERATORS, Inbound, Reply

if TYPE_CHECKING:
    from core.privacy.requests import PrivacyRequests

log = logging.getLogger(__name__)

MAX_STORED_TEXT = 20_000  # characters of one message kept in the log
MAX_DECISIONS = 20  # a turn decided this many times over in a row is a bug, not contention


class Engine:
    def __init__(
        self,
        storage: Storage,
        dialog: Dialog,
        escalation: Escalation,
        clock: Clock | None = None,
        manners: Manners | None = None,
        delivery: Delivery | None = None,
        privacy: PrivacyRequests | None = None,
        guard: Guard | None = None,
    ) -> None:
        self.storage = storage
        self.dialog = dialog
        self.escalation = escalation
        self.clock = clock or SystemClock()
        self.manners = manners or Manners(())
        self.delivery = delivery
        self.privacy = privacy  # requests about the customer's personal data
        self.guard = guard or NoGuard()  # blocks, limits, spam (`core.abuse`)
        # Turns of one customer within this process take turns here, so they are decided
        # in arrival order; correctness across processes rests on the database (versions).
        self._order: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.conflicts = 0  # turns decided again because someone wrote first (for metrics)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one customer message (see the module doc); [] for a repeated update."""
        started = time.perf_counter()
        key = inbound.customer.key
        lock = self._order.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._order[key] = lock
        async with lock:
            for _ in range(MAX_DECISIONS):
                state = await self.storage.conversations.turn_state(
                    inbound.customer, inbound.external_id
                )
                if state.seen:
                    return []  # the same update again (a retry, or another replica)
                if state.conversation is None:  # a new customer: read again once it exists
                    await self.storage.conversations.create(
                        inbound.customer, self.clock.now(), inbound.name, inbound.profile_url
                    )
                    continue
                conv = state.conversation
                conv.name = inbound.name or conv.name
                conv.profile_url = inbound.profile_url or conv.profile_url
                turn = Turn(inbound, conv, state.open_ticket, self.clock.now())
                await self.guard.decide(self.storage, turn, self._decide_or_privacy)
                try:
                    async with self.storage.transaction() as tx:
                        items = await self._commit(tx, turn)
                        consumed = await consume_applied(tx)
                except DuplicateUpdate:
                    return []
                except Conflict:
                    self.conflicts += 1
                    continue
                except Exception as exc:
                    if not is_unique_violation(exc):
                        raise
                    self.conflicts += 1  # e.g. a ticket opened meanwhile: decide again
                    continue
                if consumed is not None:
                    consumed()
                self.guard.counted(turn)
                self._hand_over(items)
                metrics.handled(
                    inbound.channel,
                    started,
                    inbound.external_id,
                    customer=key,
                    intent=turn.intent,
                    ticket=turn.case,
                )
                return turn.replies
        raise RuntimeError(f"turn for {key} kept conflicting; giving up")

    def _hand_over(self, items: list[OutboxItem]) -> None:
        if self.delivery is None or not items:
            return
        self.delivery.dispatch(items)  # what this process claimed goes out at once
        if any(item.claimed_by is None for item in items):
            self.delivery.wake()  # the worker claims what waits behind others

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
    async def _decide_or_privacy(self, turn: Turn) -> None:
        """A request about the customer's personal data, or else the dialog; then the
        privacy line under a first answer."""
        if self.privacy is None or not await self.privacy.decide(turn):
            await self._decide(turn)
        if self.privacy is not None:
            self.privacy.notice(turn)

    async def _decide(self, turn: Turn) -> None:
        inbound = turn.inbound
        text = inbound.text.strip()
        if self.manners.is_rude(text):
            turn.mark_conflict = True
            if turn.open_ticket is not None:
                turn.say(Reply(self.dialog.texts.get("conflict_boundary")))
                turn.forward_to_operators = True
            else:  # the boundary, and an answer to what the message asks for besides
                turn.conversation.slots.conflict = True
                await self.dialog.insult(turn, self.manners.without_insults(text))
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
            self.dialog.clarify.take_pick(turn)  # a clarification's pick: a labelled example
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
            turn.conversation.slots.add_files(list(inbound.attachments))
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
    async def _commit(self, tx: Storage, turn: Turn) -> list[OutboxItem]:
        """Write the turn; returns the outbox items it queued."""
        now = self.clock.now()
        conv = turn.conversation
        if turn.inbound.external_id and not await tx.claims.claim(turn.inbound.external_id, now):
            raise DuplicateUpdate(turn.inbound.external_id)
        # A turn that opens no case leaves the conversation as it was decided: it is
        # claimed and written in one statement. Opening a case changes it further, so
        # then it is claimed here (first, as operator actions take it: the same lock
        # order) and written at the end.
        saved = turn.escalation is None
        claimed = await (
            tx.conversations.save_claimed(conv, now)
            if saved
            else tx.conversations.claim_version(conv)
        )
        if not claimed:
            raise Conflict(conv.customer.key)
        ticket = turn.open_ticket
        attached = ticket.id if ticket is not None and turn.forward_to_operators else None
        logged = self._logged_inbound(turn, attached, now)
        if not saved:  # a case opens: its transcript takes the message in
            [turn.message_id] = await tx.messages.add_many([logged])
        items = await self._commit_to_case(tx, turn, logged.text, now)
        items += await self._commit_rating(tx, turn, now)
        await record_turn(tx, turn, now)  # bot outcomes and self-service actions
        await self.dialog.clarify.remember_pick(tx, turn)
        reply_ticket = attached
        if turn.escalation is not None:
            opened, queued = await self._open_case(tx, turn, turn.escalation, now)
            items += queued
            reply_ticket = opened.id
        # The message and the answers logged with one statement when no case opened.
        items += await self._queue_replies(tx, turn, reply_ticket, now, [logged] if saved else [])
        if not saved:
            await tx.conversations.save(conv, now)
        turn.case = reply_ticket or (ticket.id if ticket is not None else None)
        await self.guard.commit(tx, turn, now)
        if self.privacy is not None:  # a confirmed erasure, last: it anonymises the row
            items += await self.privacy.commit(tx, turn, items, now)
        return items

    def _logged_inbound(self, turn: Turn, ticket_id: int | None, now: float) -> NewMessage:
        """The customer's message as it is logged: its text, or the pressed button or the
        kind of content the channel could not pass on when there is no text."""
        inbound = turn.inbound
        logged_text = inbound.text[:MAX_STORED_TEXT]
        if not logged_text and inbound.unsupported:
            logged_text = f"[{inbound.unsupported}]"
        if not logged_text and inbound.payload:
            title = self.dialog.button_title(inbound.payload)
            logged_text = self.dialog.texts.format("transcript.button", title=title)
        return NewMessage(
            turn.conversation.id,
            log_kind.IN,
            logged_text,
            now,
            ticket_id=ticket_id,
            intent=turn.intent,
            confidence=turn.confidence,
            author=inbound.name,
            external_id=inbound.external_id,
            attachments=tuple(inbound.attachments),
        )

    async def _commit_to_case(
        self, tx: Storage, turn: Turn, logged_text: str, now: float
    ) -> list[OutboxItem]:
        """The open case's side of the turn: the message forwarded to its operators, and
        the case marked as a conflict."""
        ticket = turn.open_ticket
        if ticket is None:
            return []
        items: list[OutboxItem] = []
        if turn.forward_to_operators:
            await tx.tickets.update(ticket.id, last_customer_at=now)
            message = CustomerMessage(ticket.id, logged_text, turn.inbound.attachments)
            key = turn.conversation.customer.key
            items.append(await tx.outbox.add(OPERATORS, key, message, now))
        if turn.mark_conflict:
            await tx.tickets.update(ticket.id, conflict=1)
            if not ticket.conflict:
                items.append(await self._notice(tx, turn, ConflictMarked(ticket.id), now))
        return items

    async def _open_case(
        self, tx: Storage, turn: Turn, request: EscalationRequest, now: float
    ) -> tuple[Ticket, list[OutboxItem]]:
        """Open the case the dialog asked for; the customer is told its number and wait."""
        conv = turn.conversation
        opened, told, queued = await self.escalation.open(tx, conv, request, now)
        if conv.slots.conflict:  # rude before the case opened
            conv.slots.conflict = False
            await tx.tickets.update(opened.id, conflict=1)
        turn.say(told)
        return opened, queued

    async def _queue_replies(
        self,
        tx: Storage,
        turn: Turn,
        ticket_id: int | None,
        now: float,
        logged: list[NewMessage],
    ) -> list[OutboxItem]:
        """Log the answers (after `logged`) and queue them for the customer's channel. They
        are claimed by this process (to go out at once) unless something is queued for the
        customer already — then they wait behind it, to keep the order."""
        customer = turn.conversation.customer
        conv_id = turn.conversation.id
        answers = [
            NewMessage(conv_id, log_kind.OUT, r.text, now, ticket_id=ticket_id, author="bot")
            for r in turn.replies
        ]
        ids = await tx.messages.add_many([*logged, *answers])
        if logged:
            turn.message_id = ids[0]
        owner = self.delivery.claimant(customer.channel) if self.delivery is not None else None
        items = []
        for reply in turn.replies:
            event = CustomerReply(reply, ticket_id, from_bot=True)
            items.append(
                await tx.outbox.add(
                    customer.channel, customer.user_id, event, now, claim_if_free=owner
                )
            )
        return items

    async def _notice(self, tx: Storage, turn: Turn, notice: Notice, now: float) -> OutboxItem:
        return await tx.outbox.add(OPERATORS, turn.conversation.customer.key, notice, now)

    async def _commit_rating(self, tx: Storage, turn: Turn, now: float) -> list[OutboxItem]:
        conv = turn.conversation
        items: list[OutboxItem] = []
        if turn.rating is not None:
            ticket_id, score = turn.rating
            rated = await tx.tickets.get(ticket_id)
            if rated is None or rated.conversation_id != conv.id:
                return items
            await tx.tickets.update(ticket_id, rating=score)
            if score <= 2 and rated.rating != score:  # a repeated press: no second notice
                low = LowRating(ticket_id, rating=score)
                items.append(await self._notice(tx, turn, low, now))
        if turn.rating_comment is not None:
            ticket_id, comment = turn.rating_comment
            rated = await tx.tickets.get(ticket_id)
            if rated is None or rated.conversation_id != conv.id:
                return items
            await tx.tickets.update(ticket_id, rating_comment=comment[:2000])
            if rated.rating is not None and rated.rating <= 2:
                said = RatingComment(ticket_id, text=comment[:2000])
                items.append(await self._notice(tx, turn, said, now))
        return items
