"""The pool of compensation promo codes: each code is given out once."""

from __future__ import annotations

from collections.abc import Iterable

from core.storage.database import Executor


class PromoRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def add_codes(self, codes: Iterable[str]) -> None:
        for code in codes:
            await self._ex.execute(
                "INSERT INTO promo_codes (code) VALUES (?) ON CONFLICT (code) DO NOTHING",
                (code,),
            )

    async def issue(self, ticket_id: int, operator: str, now: float) -> str | None:
        """Take a free code for the ticket (call inside a transaction); None when empty."""
        row = await self._ex.fetchone(
            "SELECT code FROM promo_codes WHERE ticket_id IS NULL ORDER BY code LIMIT 1"
        )
        if row is None:
            return None
        taken = await self._ex.execute(
            "UPDATE promo_codes SET ticket_id = ?, issued_by = ?, issued_at = ? "
            "WHERE code = ? AND ticket_id IS NULL",
            (ticket_id, operator, now, row["code"]),
        )
        return str(row["code"]) if taken else None

    async def issued_for(self, ticket_id: int) -> list[str]:
        rows = await self._ex.fetchall(
            "SELECT code FROM promo_codes WHERE ticket_id = ? ORDER BY issued_at", (ticket_id,)
        )
        return [str(row["code"]) for row in rows]

    async def remaining(self) -> int:
        row = await self._ex.fetchone(
            "SELECT COUNT(*) AS n FROM promo_codes WHERE ticket_id IS NULL"
        )
        return int(row["n"]) if row else 0
