"""Team actions on the operators' desk: assigning a case, moving it to another
department's group, going on and off shift. Each case action is one unit of work
(`OperatorDesk.action`): the operator's update is claimed, the case read fresh, and the
operators' notices are written to the outbox in the same transaction."""

from __future__ import annotations

from core.desk import roles
from core.desk.operators import Action, OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.events import Assigned, CaseOpened, Notice, Transferred
from core.storage import Ticket
from core.storage import messages as log_kind
from core.storage.desk import OnShift
from core.storage.tickets import WAITING
from core.types import OPERATORS


async def assign(
    desk: OperatorDesk,
    ticket_id: int,
    operator: Operator,
    assignee: Operator,
    external_id: str | None = None,
) -> Ticket:
    desk.require(operator, roles.ASSIGN)
    if assignee.role not in (roles.OPERATOR, roles.SENIOR):
        raise OperatorError(f"{assignee.name} не оператор этой группы: назначить нельзя.")
    now = desk.clock.now()
    async with desk.action(ticket_id, external_id, must_be_open=True) as action:
        tx, ticket = action.tx, action.ticket
        if ticket.operator_id == assignee.id:
            raise OperatorError(f"Обращение №{ticket.id} и так ведёт {assignee.name}.")
        desk.require(operator, roles.ASSIGN, ticket)
        await tx.tickets.update(ticket.id, operator_id=assignee.id, operator_name=assignee.name)
        await tx.desk.assigned(ticket.department, assignee.id, now)
        await _note(action, operator, f"обращение передано: {assignee.name}", now)
        await _tell_operators(
            action, Assigned(ticket.id, to_id=assignee.id, to_name=assignee.name, by=operator.name)
        )
        assigned = await tx.tickets.get(ticket.id)
    assert assigned is not None
    return assigned


async def transfer(
    desk: OperatorDesk,
    ticket_id: int,
    operator: Operator,
    department: str,
    external_id: str | None = None,
) -> Ticket:
    team = desk.team
    desk.require(operator, roles.TRANSFER)
    if team is None or department not in team.routing.served:
        raise OperatorError(f"Группы «{department}» нет.")
    title = team.routing.title(department)
    now = desk.clock.now()
    async with desk.action(ticket_id, external_id, must_be_open=True) as action:
        tx, ticket = action.tx, action.ticket
        desk.require(operator, roles.TRANSFER, ticket)
        if ticket.department == department:
            raise OperatorError(f"Обращение №{ticket.id} и так в группе «{title}».")
        old = ticket.department
        await tx.tickets.update(
            ticket.id, department=department, operator_id=None, operator_name=None, status=WAITING
        )
        await _note(action, operator, f"обращение передано в группу «{title}»", now)
        # The old group hears where the case went; the new one gets a card with the history.
        await _tell_operators(action, Transferred(ticket.id, left=old, to=title, by=operator.name))
        moved = await tx.tickets.get(ticket.id)
        assert moved is not None
        await team.assignment.auto_assign(tx, moved, now)
        card = CaseOpened(
            ticket.id,
            context_upto=await tx.desk.last_message_id(ticket.id),
            transferred_from=team.routing.title(old),
            by=operator.name,
        )
        action.queued.append(await tx.outbox.add(OPERATORS, ticket.customer.key, card, now))
        transferred = await tx.tickets.get(ticket.id)
    assert transferred is not None
    return transferred


async def set_shift(
    desk: OperatorDesk, operator: Operator, department: str, on: bool
) -> list[OnShift]:
    """`/shift on|off`: the operator is (not) on shift in the department; returns who is."""
    desk.require(operator, roles.SHIFT)
    async with desk.storage.transaction() as tx:
        await tx.desk.set_shift(department, operator.id, operator.name, on, desk.clock.now())
    return await desk.storage.desk.on_shift(department)


async def _note(action: Action, operator: Operator, text: str, now: float) -> None:
    await action.tx.messages.add(
        action.ticket.conversation_id,
        log_kind.NOTE,
        f"{operator.name}: {text}",
        now,
        ticket_id=action.ticket.id,
        author=operator.name,
    )


async def _tell_operators(action: Action, notice: Notice) -> None:
    key = action.ticket.customer.key
    action.queued.append(await action.tx.outbox.add(OPERATORS, key, notice, action.now))
