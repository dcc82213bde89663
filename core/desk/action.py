"""One operator action as one unit of work, the frame every desk action runs in.

`ActionRunner.action(ticket_id, external_id)` claims the operator's update by its external
id (a repeat of it changes nothing — `DuplicateUpdate`), takes the customer's conversation
first (so a turn of that customer decided meanwhile is decided again, and in PostgreSQL
two actions on one case wait for each other) and reads the ticket fresh. What the action
writes — a reply to the customer, a notice for the operators — goes to the outbox in the
same transaction, and is handed to delivery once it has committed: nothing between
"operator pressed send" and "the customer received it" can be lost.

A refusal is an `OperatorError` whose text, from desk.yaml, is shown to the operator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from core.clock import Clock
from core.desk import roles
from core.desk.roles import Operator
from core.events import CustomerReply, DeskEvent, ReplyEdited
from core.knowledge.texts import Texts
from core.runtime.delivery import Delivery
from core.runtime.intake import consume_applied
from core.storage import DuplicateUpdate, OutboxItem, Storage, Ticket
from core.storage import messages as log_kind
from core.storage.privacy import ERASED_PREFIX
from core.types import OPERATORS


class OperatorError(Exception):
    """An operator's action cannot be done; the message (a text of desk.yaml) is shown to
    the operator."""


@dataclass
class Action:
    """An operator action inside its transaction: the ticket, taken, and what it queued."""

    tx: Storage
    ticket: Ticket
    now: float
    queued: list[OutboxItem] = field(default_factory=list)


class ActionRunner:
    """Runs operator actions as units of work; `desk_texts` words the refusals."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        desk_texts: Texts,
        delivery: Delivery | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.desk_texts = desk_texts
        self.delivery = delivery

    def require(self, operator: Operator, action: str, ticket: Ticket | None = None) -> None:
        """Refuse (`OperatorError`) what the operator's role does not allow."""
        try:
            roles.require(operator, action, ticket)
        except roles.NotAllowed as refused:
            raise OperatorError(self._not_allowed(refused)) from None

    def _not_allowed(self, refused: roles.NotAllowed) -> str:
        if refused.outsider:
            return self.desk_texts.get("roles.operators_only")
        what = self.desk_texts.get(f"roles.what.{refused.action}", fallback="roles.what.other")
        return self.desk_texts.format("roles.senior_only", what=what)

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
            ticket = await self.ticket(tx, ticket_id)
            await tx.conversations.touch(ticket.conversation_id)
            ticket = await self.ticket(tx, ticket_id, must_be_open=must_be_open)
            if ticket.user_id.startswith(ERASED_PREFIX):  # nobody to act for any more
                raise OperatorError(
                    self.desk_texts.format("privacy.already_erased", ticket=ticket.id)
                )
            action = Action(tx, ticket, self.clock.now())
            yield action
            consumed = await consume_applied(tx)
        if consumed is not None:
            consumed()
        self._hand_over(action.queued)

    async def ticket(self, tx: Storage, ticket_id: int, *, must_be_open: bool = False) -> Ticket:
        """The case, or a refusal when there is none (or it is closed and must be open)."""
        ticket = await tx.tickets.get(ticket_id)
        if ticket is None:
            raise OperatorError(self.desk_texts.format("errors.no_case", ticket=ticket_id))
        if must_be_open and not ticket.is_open:
            raise OperatorError(self.desk_texts.format("errors.closed", ticket=ticket.id))
        return ticket

    async def to_customer(
        self, action: Action, event: CustomerReply | ReplyEdited, now: float
    ) -> OutboxItem:
        """Queue an item for the case's customer inside the action's transaction."""
        ticket = action.ticket
        owner = self.delivery.claimant(ticket.channel) if self.delivery is not None else None
        item = await action.tx.outbox.add(
            ticket.channel, ticket.user_id, event, now, claim_if_free=owner
        )
        action.queued.append(item)
        return item

    async def to_operators(self, action: Action, event: DeskEvent) -> OutboxItem:
        """Queue a notice (or a card) for the case's operators inside the action."""
        key = action.ticket.customer.key
        item = await action.tx.outbox.add(OPERATORS, key, event, action.now)
        action.queued.append(item)
        return item

    async def write_note(self, action: Action, operator: Operator, text: str) -> None:
        """An internal note in the case's transcript, written by `operator`."""
        await action.tx.messages.add(
            action.ticket.conversation_id,
            log_kind.NOTE,
            text,
            action.now,
            ticket_id=action.ticket.id,
            author=operator.name,
        )

    def _hand_over(self, items: list[OutboxItem]) -> None:
        if self.delivery is None or not items:
            return
        self.delivery.dispatch(items)
        self.delivery.wake()
