"""The support team as the engine sees it: departments (routing), who is on shift
(assignment) and the service levels it promises (SLA); `core.app` builds it once from the
settings.

`Team.on_ticket_open` runs inside the transaction that opens a case (a hook of
`core.desk.escalation`): it routes the case to its department, gives it to the next
operator on shift when auto-assignment is on, and tells the operators' side which messages
were already there when the case opened (they go into the card; later ones are posted).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.desk.assignment import Assignment
from core.desk.escalation import EscalationRequest
from core.desk.routing import Routing
from core.desk.sla import SlaMonitor
from core.storage import Conversation, Storage, Ticket


@dataclass
class Team:
    routing: Routing
    assignment: Assignment
    sla: SlaMonitor

    async def on_ticket_open(
        self,
        tx: Storage,
        conv: Conversation,
        ticket: Ticket,
        request: EscalationRequest,
        now: float,
    ) -> int | None:
        """Route and assign a new case; returns the last message its card shows."""
        department = self.routing.group_for(
            ticket.intent, ticket.channel, ticket.vip, request.complaint
        )
        if department != ticket.department:
            await tx.tickets.update(ticket.id, department=department)
            ticket.department = department
        await self.assignment.auto_assign(tx, ticket, now)
        return await tx.desk.last_message_id(ticket.id)
