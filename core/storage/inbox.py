"""The durable intake: updates received from a messenger, kept until they are applied.

An adapter stores a batch here and only then acknowledges it (confirms the Telegram
offset, answers the webhook, saves the VK long-poll position), so an update acknowledged
once is never lost. Updates are applied in `seq` order within a partition — one customer's
chat, one operators' topic — by one live worker at a time (`inbox_leases`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.storage.database import Executor
from core.storage.workers import LIVE_FOR, LIVE_WORKERS

PENDING = "pending"
DEAD = "dead"
ADD_AT_ONCE = 100  # updates stored by one statement (a Telegram batch is at most 100)


@dataclass(frozen=True)
class InboundRecord:
    """One update as an adapter hands it over: its own id, where it is ordered, the raw
    update."""

    external_id: str
    partition: str
    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class InboxRow:
    id: int
    source: str
    external_id: str
    partition: str
    payload: dict[str, Any]
    attempts: int
    received_at: float


class InboxRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def add(self, source: str, records: Sequence[InboundRecord], now: float) -> None:
        """Store a batch, one statement per `ADD_AT_ONCE` updates; an update stored before
        is ignored."""
        for start in range(0, len(records), ADD_AT_ONCE):
            chunk = records[start : start + ADD_AT_ONCE]
            values = ", ".join("(?, ?, ?, ?, ?, ?)" for _ in chunk)
            params = [
                value
                for record in chunk
                for value in (
                    source,
                    record.external_id,
                    record.partition,
                    record.seq,
                    json.dumps(record.payload, ensure_ascii=False),
                    now,
                )
            ]
            await self._ex.execute(
                "INSERT INTO inbox (source, external_id, partition_key, seq, payload, "
                f"received_at) VALUES {values} ON CONFLICT (external_id) DO NOTHING",
                params,
            )

    async def ready_partitions(
        self,
        now: float,
        received_before: float,
        worker: str,
        limit: int,
        exclude: Sequence[str] = (),
    ) -> list[str]:
        """Partitions with an update to apply now that no other live worker holds."""
        rows = await self._ex.fetchall(
            "SELECT i.partition_key FROM inbox i WHERE i.status = ? "
            "AND i.next_attempt_at <= ? AND i.received_at <= ? "
            "AND NOT EXISTS (SELECT 1 FROM inbox_leases l WHERE l.partition_key = "
            f"i.partition_key AND l.owner <> ? AND l.owner IN {LIVE_WORKERS}) "
            "GROUP BY i.partition_key ORDER BY MIN(i.id) LIMIT ?",
            (PENDING, now, received_before, worker, now - LIVE_FOR, limit + len(exclude)),
        )
        skip = set(exclude)
        return [str(r["partition_key"]) for r in rows if r["partition_key"] not in skip][:limit]

    async def lease(self, partition: str, owner: str, now: float) -> bool:
        """Take the partition unless a live worker holds it."""
        taken = await self._ex.execute(
            "INSERT INTO inbox_leases (partition_key, owner, leased_at) VALUES (?, ?, ?) "
            "ON CONFLICT (partition_key) DO UPDATE SET owner = excluded.owner, "
            "leased_at = excluded.leased_at WHERE inbox_leases.owner = excluded.owner "
            f"OR inbox_leases.owner NOT IN {LIVE_WORKERS}",
            (partition, owner, now, now - LIVE_FOR),
        )
        return taken == 1

    async def release(self, partition: str, owner: str) -> None:
        await self._ex.execute(
            "DELETE FROM inbox_leases WHERE partition_key = ? AND owner = ?", (partition, owner)
        )

    async def next_rows(
        self, partition: str, now: float, received_before: float, limit: int = 20
    ) -> list[InboxRow]:
        """The partition's pending updates that may be applied now, in order. An update
        waiting for a retry (or too young) holds back the ones after it."""
        rows = await self._ex.fetchall(
            "SELECT id, source, external_id, partition_key, payload, attempts, received_at, "
            "next_attempt_at FROM inbox WHERE status = ? AND partition_key = ? "
            "ORDER BY seq, id LIMIT ?",
            (PENDING, partition, limit),
        )
        ready = []
        for row in rows:
            if row["next_attempt_at"] > now or row["received_at"] > received_before:
                break
            ready.append(
                InboxRow(
                    id=int(row["id"]),
                    source=str(row["source"]),
                    external_id=str(row["external_id"]),
                    partition=str(row["partition_key"]),
                    payload=json.loads(row["payload"]),
                    attempts=int(row["attempts"]),
                    received_at=float(row["received_at"]),
                )
            )
        return ready

    async def done(self, row_id: int) -> None:
        await self._ex.execute("DELETE FROM inbox WHERE id = ?", (row_id,))

    async def failed(self, row_id: int, error: str, retry_at: float, dead: bool) -> None:
        await self._ex.execute(
            "UPDATE inbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "status = ? WHERE id = ?",
            (error[:500], retry_at, DEAD if dead else PENDING, row_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._ex.fetchall("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}
