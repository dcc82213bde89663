"""Who handles a new case: operators on shift (`/shift on|off`) get new cases of their
department round-robin — the one assigned longest ago first — when auto-assignment is on.

Presence lives in the database (every replica sees the same shift), and the choice is
made inside the transaction that opens the case, so two cases opened at once never both
go to the same operator because of a stale read.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.storage import Storage, Ticket
from core.storage.desk import OnShift


@dataclass(frozen=True)
class Assignment:
    auto: bool = False

    async def pick(self, tx: Storage, department: str) -> OnShift | None:
        """The next operator on shift in the department, round-robin."""
        on_shift = await tx.desk.on_shift(department)
        return on_shift[0] if on_shift else None

    async def auto_assign(self, tx: Storage, ticket: Ticket, now: float) -> OnShift | None:
        """Give a new (or transferred) case to the next operator on shift, if auto-assignment
        is on and somebody is on shift; returns who got it."""
        if not self.auto or ticket.operator_id is not None:
            return None
        chosen = await self.pick(tx, ticket.department)
        if chosen is None:
            return None
        await tx.tickets.update(
            ticket.id, operator_id=chosen.operator_id, operator_name=chosen.name
        )
        await tx.desk.assigned(ticket.department, chosen.operator_id, now)
        return chosen
