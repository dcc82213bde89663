"""The persisted outbox: everything to be sent later, claimed by the delivery worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.storage.database import Executor, Row

PENDING = "pending"
SENT = "sent"
DEAD = "dead"


@dataclass
class OutboxItem:
    id: int
    channel: str  # the adapter that sends it: telegram, vk, console, or operators
    recipient: str  # the customer's id in that channel, or the customer key for operators
    kind: str
    payload: dict[str, Any]
    ticket_id: int | None
    attempts: int
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> OutboxItem:
        return cls(
            id=int(row["id"]),
            channel=row["channel"],
            recipient=row["recipient"],
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            ticket_id=row["ticket_id"],
            attempts=int(row["attempts"]),
            created_at=float(row["created_at"]),
        )


class OutboxRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex
        # PostgreSQL replicas claim at the same time: rows another replica is claiming are
        # skipped rather than sent twice. SQLite transactions are serialised anyway.
        self._skip_locked = " FOR UPDATE OF o SKIP LOCKED" if ex.dialect == "postgresql" else ""

    async def add(
        self,
        channel: str,
        recipient: str,
        kind: str,
        payload: dict[str, Any],
        now: float,
        *,
        ticket_id: int | None = None,
    ) -> None:
        await self._ex.execute(
            "INSERT INTO outbox (channel, recipient, kind, payload, ticket_id, status, "
            "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (
                channel,
                recipient,
                kind,
                json.dumps(payload, ensure_ascii=False),
                ticket_id,
                PENDING,
                now,
                now,
            ),
        )

    async def claim(
        self, now: float, lease: float, limit: int, channels: tuple[str, ...]
    ) -> list[OutboxItem]:
        """Lease due items, keeping each recipient's order: an item is due only when no
        earlier item of the same recipient is still waiting for a retry or leased."""
        if not channels:
            return []
        marks = ", ".join("?" for _ in channels)
        rows = await self._ex.fetchall(
            f"SELECT o.* FROM outbox o WHERE o.status = ? AND o.channel IN ({marks}) "
            "AND o.next_attempt_at <= ? AND (o.locked_until IS NULL OR o.locked_until < ?) "
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel "
            "AND e.recipient = o.recipient AND e.status = ? AND e.id < o.id "
            "AND (e.next_attempt_at > ? OR (e.locked_until IS NOT NULL AND e.locked_until >= ?)))"
            " ORDER BY o.id LIMIT ?" + self._skip_locked,
            (PENDING, *channels, now, now, PENDING, now, now, limit),
        )
        items = [OutboxItem.from_row(row) for row in rows]
        if items:
            ids = [item.id for item in items]
            id_marks = ", ".join("?" for _ in ids)
            await self._ex.execute(
                f"UPDATE outbox SET locked_until = ? WHERE id IN ({id_marks})",
                (now + lease, *ids),
            )
        return items

    async def mark_sent(self, ids: list[int], now: float) -> None:
        if not ids:
            return
        marks = ", ".join("?" for _ in ids)
        await self._ex.execute(
            f"UPDATE outbox SET status = ?, sent_at = ?, locked_until = NULL, "
            f"attempts = attempts + 1 WHERE id IN ({marks})",
            (SENT, now, *ids),
        )

    async def retry_later(self, item_id: int, at: float, error: str, count: bool = True) -> None:
        await self._ex.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, locked_until = NULL, "
            "attempts = attempts + ? WHERE id = ?",
            (at, error[:500], 1 if count else 0, item_id),
        )

    async def release(self, ids: list[int]) -> None:
        if not ids:
            return
        marks = ", ".join("?" for _ in ids)
        await self._ex.execute(
            f"UPDATE outbox SET locked_until = NULL WHERE id IN ({marks})", tuple(ids)
        )

    async def mark_dead(self, item_id: int, error: str) -> None:
        await self._ex.execute(
            "UPDATE outbox SET status = ?, last_error = ?, locked_until = NULL, "
            "attempts = attempts + 1 WHERE id = ?",
            (DEAD, error[:500], item_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._ex.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}
