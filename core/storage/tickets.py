"""Tickets: the common queue of cases handed to operators, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass, fields

from core.storage.database import Executor, Row
from core.storage.text import storable
from core.types import CustomerRef

WAITING = "waiting"
IN_PROGRESS = "in_progress"
CLOSED = "closed"
OPEN_STATUSES = (WAITING, IN_PROGRESS)


@dataclass
class Ticket:
    id: int
    conversation_id: int
    channel: str
    user_id: str
    intent: str
    order_number: str | None
    reason: str
    summary: str
    priority: int
    vip: bool
    conflict: bool
    status: str
    operator_id: str | None
    operator_name: str | None
    created_at: float
    first_response_at: float | None
    last_operator_at: float | None
    last_customer_at: float | None
    closed_at: float | None
    closed_by: str | None
    rating: int | None
    rating_comment: str | None
    department: str = "main"  # the operators' group (department) handling the case

    @property
    def customer(self) -> CustomerRef:
        return CustomerRef(self.channel, self.user_id)

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED

    @classmethod
    def from_row(cls, row: Row) -> Ticket:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["vip"] = bool(values["vip"])
        values["conflict"] = bool(values["conflict"])
        values["id"] = int(values["id"])
        values["conversation_id"] = int(values["conversation_id"])
        return cls(**values)


class TicketRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def create(
        self,
        *,
        conversation_id: int,
        customer: CustomerRef,
        now: float,
        intent: str,
        order_number: str | None,
        reason: str,
        summary: str,
        priority: int,
        vip: bool,
    ) -> Ticket:
        """Open a ticket; the unique index refuses a second open one for the customer."""
        await self._ex.execute(
            "INSERT INTO tickets (conversation_id, channel, user_id, intent, order_number, "
            "reason, summary, priority, vip, status, created_at, last_customer_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                customer.channel,
                customer.user_id,
                intent,
                order_number,
                reason,
                storable(summary),
                priority,
                int(vip),
                WAITING,
                now,
                now,
            ),
        )
        ticket = await self.open_for(conversation_id)
        assert ticket is not None
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        row = await self._ex.fetchone("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return Ticket.from_row(row) if row else None

    async def open_for(self, conversation_id: int) -> Ticket | None:
        row = await self._ex.fetchone(
            # A literal, so that SQLite uses the partial index of open tickets.
            f"SELECT * FROM tickets WHERE conversation_id = ? AND status <> '{CLOSED}'",
            (conversation_id,),
        )
        return Ticket.from_row(row) if row else None

    async def latest_for(self, conversation_id: int) -> Ticket | None:
        row = await self._ex.fetchone(
            "SELECT * FROM tickets WHERE conversation_id = ? ORDER BY id DESC LIMIT 1",
            (conversation_id,),
        )
        return Ticket.from_row(row) if row else None

    async def queue(self) -> list[Ticket]:
        """Waiting tickets: highest priority first, then the longest waiting."""
        rows = await self._ex.fetchall(
            "SELECT * FROM tickets WHERE status = ? ORDER BY priority DESC, created_at, id",
            (WAITING,),
        )
        return [Ticket.from_row(row) for row in rows]

    async def open_tickets(self) -> list[Ticket]:
        rows = await self._ex.fetchall(
            "SELECT * FROM tickets WHERE status <> ? ORDER BY priority DESC, created_at, id",
            (CLOSED,),
        )
        return [Ticket.from_row(row) for row in rows]

    async def position(self, ticket: Ticket) -> int:
        """1 for the head of the queue."""
        row = await self._ex.fetchone(
            "SELECT COUNT(*) AS n FROM tickets WHERE status = ? AND (priority > ? OR "
            "(priority = ? AND (created_at < ? OR (created_at = ? AND id < ?))))",
            (
                WAITING,
                ticket.priority,
                ticket.priority,
                ticket.created_at,
                ticket.created_at,
                ticket.id,
            ),
        )
        return int(row["n"]) + 1 if row else 1

    async def update(self, ticket_id: int, **values: object) -> None:
        allowed = {f.name for f in fields(Ticket)} - {"id", "conversation_id", "created_at"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown ticket fields: {sorted(unknown)}")
        if not values:
            return
        columns = ", ".join(f"{name} = ?" for name in values)
        await self._ex.execute(
            f"UPDATE tickets SET {columns} WHERE id = ?", (*values.values(), ticket_id)
        )

    async def recent_first_responses(self, limit: int = 50) -> list[float]:
        rows = await self._ex.fetchall(
            "SELECT first_response_at - created_at AS wait FROM tickets "
            "WHERE first_response_at IS NOT NULL ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [float(row["wait"]) for row in rows]

    async def all(self) -> list[Ticket]:
        rows = await self._ex.fetchall("SELECT * FROM tickets ORDER BY id")
        return [Ticket.from_row(row) for row in rows]

    async def awaiting_customer(self, silent_since: float) -> list[Ticket]:
        """Open tickets whose operator spoke last and before `silent_since`."""
        rows = await self._ex.fetchall(
            "SELECT * FROM tickets WHERE status <> ? AND last_operator_at IS NOT NULL "
            "AND last_operator_at < ? AND (last_customer_at IS NULL OR "
            "last_customer_at < last_operator_at) ORDER BY id",
            (CLOSED, silent_since),
        )
        return [Ticket.from_row(row) for row in rows]
