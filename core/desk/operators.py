"""What operators do to a case: reply, note, take, close, reopen, mark the customer, and
look at the queue.

Every adapter (the Telegram group, the console) calls these same methods. Each action is
one unit of work (`core.desk.action.ActionRunner`): the operator's update is claimed, the
case read fresh, and a reply written to the outbox in the same transaction that records
it. Assigning, transferring and shifts are in `team_actions`; marking a customer VIP, a
personal manager and an intent label in `marks`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core import buttons
from core.clock import Clock
from core.conversation.state import await_rating, rating_cancelled
from core.desk import marks, roles
from core.desk.action import Action, ActionRunner, OperatorError
from core.desk.roles import Operator
from core.desk.team import Team
from core.events import Ack, CaseClosed, CustomerReply
from core.knowledge.texts import Texts
from core.runtime.delivery import Delivery
from core.storage import Conversation, LoggedMessage, Storage, Ticket
from core.storage import messages as log_kind
from core.storage.ticket_events import REOPENED
from core.storage.tickets import CLOSED, IN_PROGRESS, WAITING
from core.types import Attachment, Button, Reply

__all__ = ["Action", "OperatorDesk", "OperatorError", "TicketView"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TicketView:
    """Everything a ticket card shows."""

    ticket: Ticket
    conversation: Conversation
    transcript: list[LoggedMessage]
    position: int | None


class OperatorDesk(ActionRunner):
    """Every operator action an adapter calls; `texts` are the customers' (the rating
    request), `desk_texts` the operators' (refusals, notes)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        texts: Texts,
        desk_texts: Texts,
        delivery: Delivery | None = None,
        team: Team | None = None,
    ) -> None:
        super().__init__(storage, clock, desk_texts, delivery)
        self.texts = texts  # what customers read (the rating request)
        self.team = team  # departments, shifts, SLA

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
            raise OperatorError(self.desk_texts.get("errors.empty_reply"))
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
            await self.write_note(action, operator, text)

    async def take(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> Ticket:
        self.require(operator, roles.TAKE)
        async with self.action(ticket_id, external_id, must_be_open=True) as action:
            tx, ticket = action.tx, action.ticket
            if ticket.operator_id not in (None, operator.id):
                raise OperatorError(
                    self.desk_texts.format(
                        "errors.taken", ticket=ticket.id, operator=ticket.operator_name
                    )
                )
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
            await self.to_operators(action, CaseClosed(ticket.id, by=operator.name))
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
                raise OperatorError(self.desk_texts.format("errors.already_open", ticket=ticket.id))
            other = await tx.tickets.open_for(ticket.conversation_id)
            if other is not None:
                raise OperatorError(self.desk_texts.format("errors.other_open", other=other.id))
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
        return await marks.mark_vip(self, ticket_id, operator, external_id)

    async def set_manager(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> None:
        """`/manager`: this operator is the customer's personal manager from now on."""
        await marks.set_manager(self, ticket_id, operator, external_id)

    async def label_intent(
        self, ticket_id: int, intent: str, operator: Operator, external_id: str | None = None
    ) -> str:
        """`/intent NAME`: the right intent of the ticket's first customer message, kept
        as a training example. Returns the labelled text."""
        return await marks.label_intent(self, ticket_id, intent, operator, external_id)

    async def queue(self, department: str | None = None) -> list[Ticket]:
        """Waiting cases, first to be answered first; only one department's when named."""
        waiting = await self.storage.tickets.queue()
        if department is None:
            return waiting
        return [ticket for ticket in waiting if ticket.department == department]

    async def view(self, ticket_id: int, transcript_limit: int = 15) -> TicketView:
        ticket = await self.ticket(self.storage, ticket_id)
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
