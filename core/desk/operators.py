"""What operators do to a ticket: reply, note, take, close, reopen, look at the queue.

Every adapter (the Telegram group, the console) calls these same functions. Each action
is one unit of work: the operator's update is claimed by its external id (a repeat of it
changes nothing — `DuplicateUpdate`), the customer's conversation is taken first (so a
turn of that customer decided meanwhile is decided again, and in PostgreSQL two actions on
one case wait for each other), and a reply is written to the outbox in the same
transaction that records it, so nothing between "operator pressed send" and "the customer
received it" can be lost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from core import buttons
from core.clock import Clock
from core.conversation.state import await_rating, rating_cancelled
from core.desk import roles
from core.desk.escalation import PRIORITY_VIP
from core.desk.roles import Operator
from core.desk.team import Team
from core.events import Ack, CaseClosed, CustomerReply, ReplyEdited
from core.knowledge.base import Texts
from core.knowledge.intents import INTENTS
from core.runtime.delivery import Delivery
from core.runtime.intake import consume_applied
from core.storage import Conversation, DuplicateUpdate, LoggedMessage, OutboxItem, Storage, Ticket
from core.storage import messages as log_kind
from core.storage.ticket_events import REOPENED
from core.storage.tickets import CLOSED, IN_PROGRESS, WAITING
from core.types import OPERATORS, Attachment, Button, Reply

log = logging.getLogger(__name__)


class OperatorError(Exception):
    """An operator's action cannot be done; the message is shown to the operator."""


@dataclass(frozen=True)
class TicketView:
    """Everything a ticket card shows."""

    ticket: Ticket
    conversation: Conversation
    transcript: list[LoggedMessage]
    position: int | None


@dataclass
class Action:
    """An operator action inside its transaction: the ticket, taken, and what it queued."""

    tx: Storage
    ticket: Ticket
    now: float
    queued: list[OutboxItem] = field(default_factory=list)


class OperatorDesk:
    def __init__(
        self,
        storage: Storage,
        texts: Texts,
        clock: Clock,
        delivery: Delivery | None = None,
    ) -> None:
        self.storage = storage
        self.texts = texts
        self.clock = clock
        self.delivery = delivery
        self.team: Team | None = None  # departments, shifts, SLA (`core.app` sets it)

    @staticmethod
    def require(operator: Operator, action: str, ticket: Ticket | None = None) -> None:
        """Refuse (`OperatorError`) what the operator's role does not allow."""
        try:
            roles.require(operator, action, ticket)
        except roles.NotAllowed as exc:
            raise OperatorError(str(exc)) from None

    @asynccontextmanager
    async def action(
        self, ticket_id: int, external_id: str | None, *, must_be_open: bool = False
    ) -> AsyncIterator[Action]:
        """One operator action as a unit of work: claim the update, take the case's
        conversation, read the ticket fresh; the outbox items queued in `Action.queued` go
        out once the transaction commits."""
        async with self.storage.transaction() as tx:
            if external_id and not await tx.claims.claim(external_id, self.clock.now()):
                raise DuplicateUpdate(external_id)
            found = await tx.tickets.get(ticket_id)
            if found is None:
                raise OperatorError(f"Обращения №{ticket_id} нет.")
            await tx.conversations.touch(found.conversation_id)
            ticket = await (
                self._open_ticket(tx, ticket_id) if must_be_open else self._get(tx, ticket_id)
            )
            action = Action(tx, ticket, self.clock.now())
            yield action
            consumed = await consume_applied(tx)
        if consumed is not None:
            consumed()
        self._hand_over(action.queued)

    async def to_customer(
        self, action: Action, event: CustomerReply | ReplyEdited, now: float
    ) -> OutboxItem:
        """Queue an item for the case's customer inside the action's transaction."""
        ticket = action.ticket
        owner = None
        if self.delivery is not None:
            owner = await self.delivery.owner_for(action.tx, ticket.channel, ticket.user_id)
        item = await action.tx.outbox.add(
            ticket.channel, ticket.user_id, event, now, claimed_by=owner
        )
        action.queued.append(item)
        return item

    def _hand_over(self, items: list[OutboxItem]) -> None:
        if self.delivery is None or not items:
            return
        self.delivery.dispatch(items)
        self.delivery.wake()

    async def reply(
        self,
        ticket_id: int,
        operator: Operator,
        text: str,
        attachments: Sequence[Attachment] = (),
        ack: Ack | None = None,
        external_id: str | None = None,
    ) -> Ticket:
        """Send an operator's answer to the customer, in the customer's own channel.

        The first reply records the first-response time and assigns the ticket.
        `ack` names the operator's own message, to be marked when delivery succeeds.
        """
        self.require(operator, roles.REPLY)
        if not text.strip() and not attachments:
            raise OperatorError("Пустое сообщение не отправлено клиенту.")
        async with self.action(ticket_id, external_id, must_be_open=True) as action:
            await self.record_reply(action, operator, text, attachments, ack)
            updated = await action.tx.tickets.get(ticket_id)
        assert updated is not None
        return updated

    async def record_reply(
        self,
        action: Action,
        operator: Operator,
        text: str,
        attachments: Sequence[Attachment] = (),
        ack: Ack | None = None,
    ) -> None:
        """An operator's answer inside an action's transaction (see `reply`)."""
        now = self.clock.now()
        tx, ticket = action.tx, action.ticket
        changes: dict[str, object] = {"last_operator_at": now, "status": IN_PROGRESS}
        if ticket.first_response_at is None:
            changes["first_response_at"] = now
        if ticket.operator_id is None:
            changes["operator_id"] = operator.id
            changes["operator_name"] = operator.name
        await tx.tickets.update(ticket.id, **changes)
        await tx.messages.add(
            ticket.conversation_id,
            log_kind.OPERATOR,
            text,
            now,
            ticket_id=ticket.id,
            author=operator.name,
            attachments=tuple(attachments),
        )
        reply = Reply(text, attachments=tuple(attachments))
        await self.to_customer(action, CustomerReply(reply, ticket.id, ack=ack), now)

    async def note(
        self, ticket_id: int, operator: Operator, text: str, external_id: str | None = None
    ) -> None:
        """An internal note: stored in the transcript, never delivered."""
        self.require(operator, roles.NOTE)
        async with self.action(ticket_id, external_id) as action:
            await action.tx.messages.add(
                action.ticket.conversation_id,
                log_kind.NOTE,
                text,
                self.clock.now(),
                ticket_id=action.ticket.id,
                author=operator.name,
            )

    async def take(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> Ticket:
        self.require(operator, roles.TAKE)
        async with self.action(ticket_id, external_id, must_be_open=True) as action:
            tx, ticket = action.tx, action.ticket
            if ticket.operator_id not in (None, operator.id):
                raise OperatorError(f"Обращение №{ticket.id} уже ведёт {ticket.operator_name}.")
            await tx.tickets.update(
                ticket.id,
                operator_id=operator.id,
                operator_name=operator.name,
                status=IN_PROGRESS,
            )
            taken = await tx.tickets.get(ticket.id)
        assert taken is not None
        return taken

    async def close(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> Ticket:
        """Close the case and ask the customer to rate the help from 1 to 5."""
        self.require(operator, roles.CLOSE)
        now = self.clock.now()
        async with self.action(ticket_id, external_id, must_be_open=True) as action:
            tx, ticket = action.tx, action.ticket
            await tx.tickets.update(
                ticket.id,
                status=CLOSED,
                closed_at=now,
                closed_by=operator.name,
                operator_id=ticket.operator_id or operator.id,
                operator_name=ticket.operator_name or operator.name,
            )
            await self._ask_rating(action, now)
            closed_event = CaseClosed(ticket.id, by=operator.name)
            action.queued.append(
                await tx.outbox.add(OPERATORS, ticket.customer.key, closed_event, now)
            )
            closed = await tx.tickets.get(ticket.id)
        assert closed is not None
        return closed

    async def reopen(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> Ticket:
        self.require(operator, roles.REOPEN)
        async with self.action(ticket_id, external_id) as action:
            tx, ticket = action.tx, action.ticket
            self.require(operator, roles.REOPEN, ticket)
            if ticket.is_open:
                raise OperatorError(f"Обращение №{ticket.id} и так открыто.")
            other = await tx.tickets.open_for(ticket.conversation_id)
            if other is not None:
                raise OperatorError(
                    f"У клиента уже открыто обращение №{other.id}: отвечайте в нём."
                )
            # The rating was for a closing that did not hold: the next /close asks again
            # and that rating is accepted (the old one stays in the case's events).
            await tx.tickets.update(
                ticket.id,
                status=IN_PROGRESS if ticket.operator_id else WAITING,
                closed_at=None,
                closed_by=None,
                rating=None,
                rating_comment=None,
            )
            previous = f"rating {ticket.rating}" if ticket.rating is not None else ""
            await tx.ticket_events.add(ticket.id, REOPENED, self.clock.now(), previous)
            conv = await tx.conversations.get(ticket.conversation_id)
            if conv is not None and rating_cancelled(conv):
                await tx.conversations.save(conv, self.clock.now())
            reopened = await tx.tickets.get(ticket.id)
        assert reopened is not None
        return reopened

    async def mark_vip(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> Ticket:
        """`/vip`: the customer is VIP from now on; their open ticket jumps the queue."""
        self.require(operator, roles.VIP)
        async with self.action(ticket_id, external_id) as action:
            tx, ticket = action.tx, action.ticket
            conv = await tx.conversations.get(ticket.conversation_id)
            assert conv is not None
            conv.vip = True
            await tx.conversations.save(conv, self.clock.now())
            if ticket.is_open and not ticket.vip:
                await tx.tickets.update(ticket.id, vip=1, priority=ticket.priority + PRIORITY_VIP)
            await tx.messages.add(
                conv.id,
                log_kind.NOTE,
                f"{operator.name}: клиент отмечен как VIP",
                self.clock.now(),
                ticket_id=ticket.id,
                author=operator.name,
            )
            marked = await tx.tickets.get(ticket.id)
        assert marked is not None
        return marked

    async def set_manager(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> None:
        """`/manager`: this operator is the customer's personal manager from now on."""
        self.require(operator, roles.MANAGER)
        async with self.action(ticket_id, external_id) as action:
            conv = await action.tx.conversations.get(action.ticket.conversation_id)
            assert conv is not None
            conv.manager = f"{operator.id}|{operator.name}"
            conv.vip = True
            await action.tx.conversations.save(conv, self.clock.now())

    async def label_intent(
        self, ticket_id: int, intent: str, operator: Operator, external_id: str | None = None
    ) -> str:
        """`/intent NAME`: the right intent of the ticket's first customer message, kept
        as a training example. Returns the labelled text."""
        self.require(operator, roles.INTENT)
        if intent not in INTENTS:
            raise OperatorError("Нет такой темы. Темы: " + ", ".join(INTENTS))
        async with self.action(ticket_id, external_id) as action:
            first = next(
                (
                    m
                    for m in await action.tx.messages.for_ticket(action.ticket.id, 1000)
                    if m.direction == log_kind.IN and m.text.strip() and not m.text.startswith("[")
                ),
                None,
            )
            if first is None:
                raise OperatorError("В обращении нет текста клиента, который можно разметить.")
            await action.tx.labels.label(first.id, intent, operator.name, self.clock.now())
        return first.text

    async def queue(self, department: str | None = None) -> list[Ticket]:
        """Waiting cases, first to be answered first; only one department's when named."""
        waiting = await self.storage.tickets.queue()
        if department is None:
            return waiting
        return [ticket for ticket in waiting if ticket.department == department]

    async def view(self, ticket_id: int, transcript_limit: int = 15) -> TicketView:
        ticket = await self._get(self.storage, ticket_id)
        conv = await self.storage.conversations.get(ticket.conversation_id)
        assert conv is not None
        transcript = await self.storage.messages.for_ticket(ticket.id, transcript_limit)
        position = await self.storage.tickets.position(ticket) if ticket.status == WAITING else None
        return TicketView(ticket, conv, transcript, position)

    async def ticket_for_conversation(self, conversation_id: int) -> Ticket | None:
        """The customer's open ticket, or their latest one."""
        ticket = await self.storage.tickets.open_for(conversation_id)
        return ticket or await self.storage.tickets.latest_for(conversation_id)

    # ------------------------------------------------------------------ helpers
    async def _ask_rating(self, action: Action, now: float) -> None:
        ticket, tx = action.ticket, action.tx
        conv = await tx.conversations.get(ticket.conversation_id)
        if conv is None:
            return
        await_rating(conv, ticket.id)
        await tx.conversations.save(conv, now)
        scores: tuple[Button, ...] = tuple(buttons.rate(ticket.id, n) for n in range(1, 6))
        reply = Reply(self.texts.format("rating_request", ticket=ticket.id), (scores,))
        await tx.messages.add(
            conv.id, log_kind.OUT, reply.text, now, ticket_id=ticket.id, author="bot"
        )
        await self.to_customer(action, CustomerReply(reply, ticket.id), now)

    async def _get(self, tx: Storage, ticket_id: int) -> Ticket:
        ticket = await tx.tickets.get(ticket_id)
        if ticket is None:
            raise OperatorError(f"Обращения №{ticket_id} нет.")
        return ticket

    async def _open_ticket(self, tx: Storage, ticket_id: int) -> Ticket:
        ticket = await self._get(tx, ticket_id)
        if not ticket.is_open:
            raise OperatorError(
                f"Обращение №{ticket.id} закрыто. Чтобы продолжить, откройте его: /reopen"
            )
        return ticket
