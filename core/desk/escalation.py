"""Opening tickets in the common queue and telling the customer their place and wait."""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.conversation.state import case_opened
from core.desk.hours import WorkingHours
from core.events import CaseOpened
from core.knowledge.base import Texts
from core.storage import Conversation, OutboxItem, Storage, Ticket
from core.storage.tickets import WAITING
from core.types import OPERATORS, Reply


@dataclass
class EscalationRequest:
    intent: str
    reason: str  # asked | misunderstood | not_helped | complaint | order_lookup
    summary: str = ""
    complaint: bool = False


PRIORITY_VIP = 100
PRIORITY_COMPLAINT = 10
TRANSCRIPT_WINDOW = 3600.0  # seconds of dialog before a ticket that join its transcript

# Called inside the transaction that opens a ticket (routing, assignment: `core.desk.team`);
# returns the last message the case's card shows.
OpenHook = Callable[
    [Storage, Conversation, Ticket, EscalationRequest, float], Awaitable[int | None]
]


@dataclass(frozen=True)
class EscalationPolicy:
    default_wait_minutes: int = 10
    hours: WorkingHours = field(default_factory=WorkingHours.round_the_clock)
    vip_ids: frozenset[str] = frozenset()  # customer keys: "telegram:123", "vk:456"


class Escalation:
    """Opens cases; `texts` are the customers' (what they are told), `on_open` the team's
    routing and assignment (`core.desk.team.Team.on_ticket_open`)."""

    def __init__(
        self, texts: Texts, policy: EscalationPolicy, on_open: OpenHook | None = None
    ) -> None:
        self.texts = texts
        self.policy = policy
        self.on_open = on_open

    def is_vip(self, conv: Conversation) -> bool:
        return conv.vip or conv.customer.key in self.policy.vip_ids

    async def open(
        self, tx: Storage, conv: Conversation, request: EscalationRequest, now: float
    ) -> tuple[Ticket, Reply, list[OutboxItem]]:
        """Open a ticket (inside the turn's transaction); returns it, what the customer is
        told, and the outbox item announcing it to the operators."""
        existing = await tx.tickets.open_for(conv.id)
        if existing is not None:
            return existing, Reply(await self.status_text(tx, existing)), []
        vip = self.is_vip(conv)
        priority = (PRIORITY_VIP if vip else 0) + (PRIORITY_COMPLAINT if request.complaint else 0)
        previous = await tx.tickets.latest_for(conv.id)
        since = now - TRANSCRIPT_WINDOW
        if previous is not None and previous.closed_at is not None:
            since = max(since, previous.closed_at)
        ticket = await tx.tickets.create(
            conversation_id=conv.id,
            customer=conv.customer,
            now=now,
            intent=request.intent,
            order_number=conv.slots.order,
            reason=request.reason,
            summary=request.summary[:2000],
            priority=priority,
            vip=vip,
        )
        await tx.messages.attach_recent_to_ticket(conv.id, ticket.id, since)
        context_upto = None
        if self.on_open is not None:
            context_upto = await self.on_open(tx, conv, ticket, request, now)
        opened = CaseOpened(ticket.id, context_upto=context_upto)
        announced = await tx.outbox.add(OPERATORS, conv.customer.key, opened, now)
        case_opened(conv)
        return ticket, Reply(await self._told(tx, ticket, request, now)), [announced]

    async def status_text(self, storage: Storage, ticket: Ticket) -> str:
        """What a customer with an open case is told: place in the queue, or that an
        operator is already on it."""
        if ticket.status == WAITING:
            position = await storage.tickets.position(ticket)
            return self.texts.format("already_escalated", ticket=ticket.id, position=position)
        return self.texts.format("already_in_progress", ticket=ticket.id)

    async def _told(
        self, tx: Storage, ticket: Ticket, request: EscalationRequest, now: float
    ) -> str:
        position = await tx.tickets.position(ticket)
        wait = self.format_wait(await self.expected_wait(tx, position))
        hours = self.policy.hours
        if not hours.is_open(now):
            opening = hours.next_opening(now)
            return self.texts.format(
                "escalated_offhours",
                ticket=ticket.id,
                position=position,
                hours=hours.describe(self.texts),
                when=self.texts.format(
                    "next_opening", date=f"{opening:%d.%m}", time=f"{opening:%H:%M}"
                ),
            )
        if ticket.vip:
            return self.texts.format(
                "escalated_vip", ticket=ticket.id, position=position, wait=wait
            )
        key = "escalated_complaint" if request.complaint else "escalated"
        return self.texts.format(key, ticket=ticket.id, position=position, wait=wait)

    async def expected_wait(self, tx: Storage, position: int) -> float:
        """Seconds until an operator answers: the recent median first response (or the
        configured default), growing with the place in the queue."""
        recent = await tx.tickets.recent_first_responses(50)
        base = self.policy.default_wait_minutes * 60.0
        if len(recent) >= 5:
            base = max(60.0, statistics.median(recent))
        return base * (1 + 0.5 * max(0, position - 1))

    def format_wait(self, seconds: float) -> str:
        minutes = max(1, math.ceil(seconds / 60))
        if minutes < 90:
            return self.texts.format("wait_minutes", minutes=minutes)
        return self.texts.format("wait_hours", hours=math.ceil(minutes / 60))
