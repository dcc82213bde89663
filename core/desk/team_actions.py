"""Team actions on the operators' desk: assigning a case, moving it to another
department's group, going on and off shift. Each case action is one unit of work
(`core.desk.action`): the operator's update is claimed, the case read fresh, and the
operators' notices are written to the outbox in the same transaction."""

from __future__ import annotations

from core.desk import roles
from core.desk.action import Action, ActionRunner, OperatorError
from core.desk.operators import OperatorDesk
from core.desk.roles import Operator
from core.desk.team import Team
from core.events import Assigned, CaseOpened, Transferred
from core.storage import Ticket
from core.storage.desk import OnShift
from core.storage.tickets import WAITING


async def assign(
    desk: ActionRunner,
    ticket_id: int,
    operator: Operator,
    assignee: Operator,
    external_id: str | None = None,
) -> Ticket:
    """`/assign`: hand the case to `assignee` (someone else's case: seniors only)."""
    texts = desk.desk_texts
    desk.require(operator, roles.ASSIGN)
    if assignee.role not in (roles.OPERATOR, roles.SENIOR):
        raise OperatorError(texts.format("errors.not_an_operator", name=assignee.name))
    async with desk.action(ticket_id, external_id, must_be_open=True) as action:
        tx, ticket = action.tx, action.ticket
        if ticket.operator_id == assignee.id:
            raise OperatorError(
                texts.format("errors.already_assigned", ticket=ticket.id, operator=assignee.name)
            )
        desk.require(operator, roles.ASSIGN, ticket)
        await tx.tickets.update(ticket.id, operator_id=assignee.id, operator_name=assignee.name)
        await tx.desk.assigned(ticket.department, assignee.id, action.now)
        note = texts.format("notes.assigned", operator=operator.name, assignee=assignee.name)
        await desk.write_note(action, operator, note)
        await desk.to_operators(
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
    """`/transfer GROUP`: move the case to another department's group with its history."""
    texts, team = desk.desk_texts, desk.team
    desk.require(operator, roles.TRANSFER)
    if team is None or department not in team.routing.served:
        raise OperatorError(texts.format("errors.no_such_group", group=department))
    title = team.routing.title(department)
    async with desk.action(ticket_id, external_id, must_be_open=True) as action:
        ticket = action.ticket
        desk.require(operator, roles.TRANSFER, ticket)
        if ticket.department == department:
            raise OperatorError(
                texts.format("errors.already_in_group", ticket=ticket.id, group=title)
            )
        note = texts.format("notes.transferred", operator=operator.name, group=title)
        await desk.write_note(action, operator, note)
        await _move(desk, team, action, operator, department)
        transferred = await action.tx.tickets.get(ticket.id)
    assert transferred is not None
    return transferred


async def _move(
    desk: ActionRunner, team: Team, action: Action, operator: Operator, department: str
) -> None:
    """Put the case in the department's queue: the old group hears where it went, the
    new one gets a card with the history."""
    tx, ticket = action.tx, action.ticket
    old = ticket.department
    await tx.tickets.update(
        ticket.id, department=department, operator_id=None, operator_name=None, status=WAITING
    )
    title = team.routing.title(department)
    await desk.to_operators(action, Transferred(ticket.id, left=old, to=title, by=operator.name))
    moved = await tx.tickets.get(ticket.id)
    assert moved is not None
    await team.assignment.auto_assign(tx, moved, action.now)
    card = CaseOpened(
        ticket.id,
        context_upto=await tx.desk.last_message_id(ticket.id),
        transferred_from=team.routing.title(old),
        by=operator.name,
    )
    await desk.to_operators(action, card)


async def set_shift(
    desk: ActionRunner, operator: Operator, department: str, on: bool
) -> list[OnShift]:
    """`/shift on|off`: the operator is (not) on shift in the department; returns who is."""
    desk.require(operator, roles.SHIFT)
    async with desk.storage.transaction() as tx:
        await tx.desk.set_shift(department, operator.id, operator.name, on, desk.clock.now())
    return await desk.storage.desk.on_shift(department)
