"""The support team as the engine sees it: departments (routing), who is on shift
(assignment) and the service levels it promises (SLA), built once from the settings.

`Team.on_ticket_open` runs inside the transaction that opens a case (a hook of
`core.escalation`): it routes the case to its department, gives it to the next operator
on shift when auto-assignment is on, and tells the operators' side which messages were
already there when the case opened (they go into the card; later ones are posted).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import Clock
from core.desk.assignment import Assignment
from core.desk.escalation import EscalationRequest
from core.desk.hours import WorkingHours
from core.desk.routing import MAIN, Routing, load_routing
from core.desk.sla import COMPLAINT, ORDINARY, VIP, SlaMonitor, SlaPolicy
from core.runtime.delivery import Delivery
from core.storage import Conversation, Storage, Ticket

DEFAULT_ROUTING = Path(__file__).resolve().parents[2] / "config" / "routing.yaml"


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


def sla_policy(settings: Any, hours: WorkingHours | None) -> SlaPolicy:
    minute, hour = 60.0, 3600.0
    return SlaPolicy(
        first_response={
            VIP: settings.sla_first_response_minutes_vip * minute,
            COMPLAINT: settings.sla_first_response_minutes_complaint * minute,
            ORDINARY: settings.sla_first_response_minutes_ordinary * minute,
        },
        resolution={
            VIP: settings.sla_resolution_hours_vip * hour,
            COMPLAINT: settings.sla_resolution_hours_complaint * hour,
            ORDINARY: settings.sla_resolution_hours_ordinary * hour,
        },
        warn_share=settings.sla_warn_share,
        hours=hours,
    )


def build_team(
    settings: Any,
    storage: Storage,
    clock: Clock,
    hours: WorkingHours | None,
    delivery: Delivery | None = None,
) -> Team:
    """The team from the settings; the routing file was validated with them."""
    routing = load_routing(Path(getattr(settings, "routing_file", None) or DEFAULT_ROUTING))
    groups = dict(getattr(settings, "operator_groups", None) or {})
    routing = routing.serving(frozenset(groups) | {MAIN})
    return Team(
        routing=routing,
        assignment=Assignment(auto=bool(getattr(settings, "auto_assign", False))),
        sla=SlaMonitor(storage, sla_policy(settings, hours), clock, delivery),
    )
