"""Senior operators' part: `/forget` (erase the case's customer, for a request made by
phone or e-mail) and `/export` (everything stored about them, as a file). Both are refused
to anyone but a senior operator (`core.desk.roles`), and for a case whose customer is
erased already."""

from __future__ import annotations

from core.desk import roles
from core.desk.action import ActionRunner, OperatorError
from core.desk.roles import Operator
from core.privacy.erasure import BY_OPERATOR, Erased, Erasure
from core.privacy.export import Export
from core.storage import Ticket
from core.storage.privacy import ERASED_PREFIX


def requested_by(operator: Operator) -> str:
    """Who asked, as the act records it: the operator's id and name."""
    return f"{BY_OPERATOR} {operator.id} ({operator.name})"


async def _case(desk: ActionRunner, ticket_id: int) -> Ticket:
    ticket = await desk.ticket(desk.storage, ticket_id)
    if ticket.user_id.startswith(ERASED_PREFIX):
        raise OperatorError(desk.desk_texts.format("privacy.already_erased", ticket=ticket.id))
    return ticket


async def forget(
    desk: ActionRunner,
    erasure: Erasure,
    ticket_id: int,
    operator: Operator,
    external_id: str | None = None,
) -> Erased:
    """`/forget`: erase the customer of case `ticket_id` (seniors only)."""
    desk.require(operator, roles.FORGET)
    ticket = await _case(desk, ticket_id)
    erased = await erasure.forget(
        ticket.customer, BY_OPERATOR, requested_by(operator), external_id=external_id
    )
    if erased is None:  # erased meanwhile, by the customer or another operator
        raise OperatorError(desk.desk_texts.format("privacy.already_erased", ticket=ticket.id))
    return erased


async def export(
    desk: ActionRunner, exporter: Export, ticket_id: int, operator: Operator
) -> tuple[str, str]:
    """`/export`: (file name, JSON) of everything stored about the case's customer."""
    desk.require(operator, roles.EXPORT)
    ticket = await _case(desk, ticket_id)
    text = await exporter.as_json(ticket.customer, desk.clock.now())
    return f"customer-case-{ticket.id}.json", text
