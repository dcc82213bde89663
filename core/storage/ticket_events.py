"""Case events the tickets table does not keep itself: reopenings (for FCR)."""

from __future__ import annotations

from core.storage.database import Executor

REOPENED = "reopened"


class TicketEventRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def add(self, ticket_id: int, kind: str, now: float, detail: str = "") -> None:
        await self._ex.execute(
            "INSERT INTO ticket_events (ticket_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
            (ticket_id, kind, detail, now),
        )

    async def tickets_with(self, kind: str) -> set[int]:
        rows = await self._ex.fetchall(
            "SELECT DISTINCT ticket_id FROM ticket_events WHERE kind = ?", (kind,)
        )
        return {int(row["ticket_id"]) for row in rows}
