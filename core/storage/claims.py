"""Claims of inbound updates: an update's external id is recorded in the same transaction
as its effects, so a repeat of the update (a webhook retry, a re-fetched batch after a
crash, a second replica) is recognised and changes nothing."""

from __future__ import annotations

from core.storage.database import Executor

KEEP_DAYS = 14  # messengers stop repeating an update long before this


class ClaimRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def claim(self, external_id: str, now: float) -> bool:
        """True when the id was free (and is now taken); False for a repeat."""
        taken = await self._ex.execute(
            "INSERT INTO claims (external_id, claimed_at) VALUES (?, ?) "
            "ON CONFLICT (external_id) DO NOTHING",
            (external_id, now),
        )
        return taken == 1

    async def forget_before(self, when: float) -> int:
        """Drop claims older than `when` (a housekeeping job; messengers stop repeating an
        update long before `KEEP_DAYS`)."""
        return await self._ex.execute("DELETE FROM claims WHERE claimed_at < ?", (when,))
