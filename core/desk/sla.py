"""Service levels: how soon a case must get its first answer and be resolved.

Targets depend on the case's tier — VIP, complaint, ordinary — and are set in the
settings (0 = no target). The clock of a case starts when it is opened, or at the next
opening of the working hours when it comes in outside them. `SlaMonitor.check` runs
every minute (housekeeping): a case past `warn_share` of a target is flagged once in its
topic, and once past the target it is reported once in the group's General topic with a
mention of its operator or of the seniors. Each alert is recorded with its outbox item
in one transaction, so it is sent once, by whichever replica raised it. `compliance`
gives the KPI: the share of cases that met each target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from core.clock import Clock
from core.desk.escalation import PRIORITY_COMPLAINT, PRIORITY_VIP
from core.desk.hours import WorkingHours
from core.events import SlaAlert
from core.knowledge.texts import Texts
from core.runtime.delivery import Delivery
from core.storage import Storage, Ticket
from core.types import OPERATORS

log = logging.getLogger(__name__)

VIP = "vip"
COMPLAINT = "complaint"
ORDINARY = "ordinary"
TIERS = (VIP, COMPLAINT, ORDINARY)

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
TARGETS = (FIRST_RESPONSE, RESOLUTION)

WARNING = "warning"
BREACH = "breach"


def tier_name(desk_texts: Texts, tier: str) -> str:
    """The tier as operators read it (desk.yaml `sla.tiers`)."""
    return desk_texts.get(f"sla.tiers.{tier}") if tier in TIERS else ""


def target_name(desk_texts: Texts, target: str) -> str:
    """The target as operators read it, "the deadline of …" (desk.yaml `sla.targets`)."""
    return desk_texts.get(f"sla.targets.{target}") if target in TARGETS else target


def tier_of(ticket: Ticket) -> str:
    if ticket.vip:
        return VIP
    if ticket.reason == "complaint" or ticket.priority % PRIORITY_VIP >= PRIORITY_COMPLAINT:
        return COMPLAINT
    return ORDINARY


@dataclass(frozen=True)
class SlaPolicy:
    first_response: dict[str, float] = field(default_factory=dict)  # tier -> seconds
    resolution: dict[str, float] = field(default_factory=dict)
    warn_share: float = 0.8
    hours: WorkingHours | None = None

    def limit(self, ticket: Ticket, target: str) -> float:
        """Seconds allowed for `target` on this case; 0 when there is no target."""
        table = self.first_response if target == FIRST_RESPONSE else self.resolution
        return float(table.get(tier_of(ticket), 0.0))

    def start(self, ticket: Ticket) -> float:
        """When the case's clock starts: at once, or when the working hours open."""
        if self.hours is None or self.hours.is_open(ticket.created_at):
            return ticket.created_at
        opening: datetime = self.hours.next_opening(ticket.created_at)
        return opening.timestamp()

    def due(self, ticket: Ticket, target: str) -> float | None:
        limit = self.limit(ticket, target)
        return self.start(ticket) + limit if limit > 0 else None

    def done_at(self, ticket: Ticket, target: str) -> float | None:
        return ticket.first_response_at if target == FIRST_RESPONSE else ticket.closed_at

    def level(self, ticket: Ticket, target: str, now: float) -> str | None:
        """WARNING or BREACH for an open target, else None."""
        due = self.due(ticket, target)
        if due is None or self.done_at(ticket, target) is not None or not ticket.is_open:
            return None
        limit = self.limit(ticket, target)
        elapsed = now - (due - limit)
        if elapsed >= limit:
            return BREACH
        if elapsed >= self.warn_share * limit:
            return WARNING
        return None


class SlaMonitor:
    def __init__(
        self,
        storage: Storage,
        policy: SlaPolicy,
        clock: Clock,
        delivery: Delivery | None = None,
    ) -> None:
        self.storage = storage
        self.policy = policy
        self.clock = clock
        self.delivery = delivery

    @property
    def enabled(self) -> bool:
        return any(self.policy.first_response.values()) or any(self.policy.resolution.values())

    async def check(self) -> list[tuple[int, str, str]]:
        """Raise every alert that is due and not raised yet; returns (ticket, target,
        level) of those raised now."""
        if not self.enabled:
            return []
        raised: list[tuple[int, str, str]] = []
        now = self.clock.now()
        for ticket in await self.storage.tickets.open_tickets():
            for target in TARGETS:
                if self.policy.level(ticket, target, now) is not None:
                    level = await self._raise(ticket.id, target, now)
                    if level is not None:
                        raised.append((ticket.id, target, level))
        if raised and self.delivery is not None:
            self.delivery.wake()
        return raised

    async def _raise(self, ticket_id: int, target: str, now: float) -> str | None:
        async with self.storage.transaction() as tx:
            ticket = await tx.tickets.get(ticket_id)  # fresh: answered or closed meanwhile?
            level = self.policy.level(ticket, target, now) if ticket else None
            if ticket is None or level is None:
                return None
            if level == BREACH:  # a breach found first needs no warning afterwards
                await tx.desk.raise_alert(ticket.id, target, WARNING, now)
            if not await tx.desk.raise_alert(ticket.id, target, level, now):
                return None
            alert = SlaAlert(
                ticket.id,
                target=target,
                level=level,
                due=self.policy.due(ticket, target),
                tier=tier_of(ticket),
            )
            await tx.outbox.add(OPERATORS, ticket.customer.key, alert, now)
        log.info("SLA %s of %s on case %s", level, target, ticket_id)
        return level


# ---------------------------------------------------------------------------- KPI
@dataclass
class TargetCompliance:
    met: int = 0
    missed: int = 0

    @property
    def counted(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> float | None:
        return self.met / self.counted if self.counted else None


@dataclass
class SlaCompliance:
    """Cases that met each target, among those whose outcome is known (answered or
    resolved, or already past the target)."""

    first_response: TargetCompliance = field(default_factory=TargetCompliance)
    resolution: TargetCompliance = field(default_factory=TargetCompliance)
    per_tier: dict[str, dict[str, TargetCompliance]] = field(default_factory=dict)

    def summary_line(self, desk_texts: Texts) -> str:
        """One line for /stats: the share of cases that met each target."""

        def part(c: TargetCompliance) -> str:
            share = (
                desk_texts.get("reports.none")
                if c.share is None
                else desk_texts.format("reports.percent", value=f"{c.share * 100:.0f}")
            )
            return desk_texts.format("sla.share", share=share, met=c.met, counted=c.counted)

        return desk_texts.format(
            "sla.compliance",
            first_response=part(self.first_response),
            resolution=part(self.resolution),
        )


def compliance(tickets: list[Ticket], policy: SlaPolicy, now: float) -> SlaCompliance:
    result = SlaCompliance()
    for ticket in tickets:
        tier = tier_of(ticket)
        for target in TARGETS:
            due = policy.due(ticket, target)
            if due is None:
                continue
            done = policy.done_at(ticket, target)
            if done is None and now <= due:
                continue  # still within the target: not known yet
            met = done is not None and done <= due
            for bucket in (
                getattr(result, target),
                result.per_tier.setdefault(tier, {}).setdefault(target, TargetCompliance()),
            ):
                if met:
                    bucket.met += 1
                else:
                    bucket.missed += 1
    return result
