"""What a senior operator (or any operator, for labels) marks on a case's customer: VIP,
their personal manager, and the right intent of their first message (a training example
for the intent model). Each is one operator action (`core.desk.action`)."""

from __future__ import annotations

from core.desk import roles
from core.desk.action import ActionRunner, OperatorError
from core.desk.escalation import PRIORITY_VIP
from core.desk.roles import Operator
from core.knowledge.intents import INTENTS
from core.storage import LoggedMessage, Ticket
from core.storage import messages as log_kind

TRANSCRIPT_SEARCHED = 1000  # messages of a case looked through for its first customer text


async def mark_vip(
    desk: ActionRunner, ticket_id: int, operator: Operator, external_id: str | None = None
) -> Ticket:
    """`/vip`: the customer is VIP from now on; their open ticket jumps the queue."""
    desk.require(operator, roles.VIP)
    async with desk.action(ticket_id, external_id) as action:
        tx, ticket = action.tx, action.ticket
        conv = await tx.conversations.get(ticket.conversation_id)
        assert conv is not None
        conv.vip = True
        await tx.conversations.save(conv, action.now)
        if ticket.is_open and not ticket.vip:
            await tx.tickets.update(ticket.id, vip=1, priority=ticket.priority + PRIORITY_VIP)
        note = desk.desk_texts.format("notes.vip", operator=operator.name)
        await desk.write_note(action, operator, note)
        marked = await tx.tickets.get(ticket.id)
    assert marked is not None
    return marked


async def set_manager(
    desk: ActionRunner, ticket_id: int, operator: Operator, external_id: str | None = None
) -> None:
    """`/manager`: this operator is the customer's personal manager from now on."""
    desk.require(operator, roles.MANAGER)
    async with desk.action(ticket_id, external_id) as action:
        conv = await action.tx.conversations.get(action.ticket.conversation_id)
        assert conv is not None
        conv.manager = f"{operator.id}|{operator.name}"
        conv.vip = True
        await action.tx.conversations.save(conv, action.now)


async def label_intent(
    desk: ActionRunner,
    ticket_id: int,
    intent: str,
    operator: Operator,
    external_id: str | None = None,
) -> str:
    """`/intent NAME`: the right intent of the ticket's first customer message, kept as a
    training example. Returns the labelled text."""
    desk.require(operator, roles.INTENT)
    if intent not in INTENTS:
        topics = ", ".join(INTENTS)
        raise OperatorError(desk.desk_texts.format("errors.no_such_topic", topics=topics))
    async with desk.action(ticket_id, external_id) as action:
        messages = await action.tx.messages.for_ticket(action.ticket.id, TRANSCRIPT_SEARCHED)
        first = next((m for m in messages if _labellable(m)), None)
        if first is None:
            raise OperatorError(desk.desk_texts.get("errors.nothing_to_label"))
        await action.tx.labels.label(first.id, intent, operator.name, action.now)
    return first.text


def _labellable(message: LoggedMessage) -> bool:
    """A customer's own words, not a logged button press or an unsupported message
    (those are logged in square brackets)."""
    return (
        message.direction == log_kind.IN
        and bool(message.text.strip())
        and not message.text.startswith("[")
    )
