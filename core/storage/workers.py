"""Running processes and their heartbeats.

Every process that applies updates or delivers the outbox registers itself and renews
its heartbeat every few seconds (`core.runtime.liveness`). Work it has claimed — outbox items,
inbox partitions — stays its own only while the heartbeat is fresh: a process killed
mid-work gives its claims up within `LIVE_FOR` seconds, without a fixed long lease.
"""

from __future__ import annotations

from core.storage.database import Executor

LIVE_FOR = 10.0  # seconds without a heartbeat after which a process counts as dead
BEAT_EVERY = 2.0

# SQL for "the ids of live workers"; its one parameter is `now - LIVE_FOR`.
LIVE_WORKERS = "(SELECT w.id FROM workers w WHERE w.heartbeat >= ?)"


class WorkerRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def register(self, worker_id: str, now: float, info: str = "") -> None:
        await self._ex.execute(
            "INSERT INTO workers (id, heartbeat, started_at, info) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat",
            (worker_id, now, now, info),
        )

    async def beat(self, worker_id: str, now: float) -> None:
        updated = await self._ex.execute(
            "UPDATE workers SET heartbeat = ? WHERE id = ?", (now, worker_id)
        )
        if not updated:  # purged while we were stalled: come back
            await self.register(worker_id, now)

    async def retire(self, worker_id: str, died: bool = False) -> None:
        """What the worker claimed is free at once: a clean stop, or (`died`) a process
        found dead — its pending items may have reached the messenger in the instant
        before, so they are marked `in_doubt`."""
        await self._ex.execute(
            "UPDATE outbox SET claimed_by = NULL, in_doubt = ? WHERE claimed_by = ? "
            "AND status = 'pending'",
            (1 if died else 0, worker_id),
        )
        await self._ex.execute(
            "UPDATE outbox SET claimed_by = NULL WHERE claimed_by = ?", (worker_id,)
        )
        await self._ex.execute("DELETE FROM inbox_leases WHERE owner = ?", (worker_id,))
        await self._ex.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    async def stale(self, now: float) -> list[str]:
        """Workers whose heartbeat stopped: dead, wherever they ran."""
        rows = await self._ex.fetchall(
            "SELECT id FROM workers WHERE heartbeat < ? ORDER BY started_at", (now - LIVE_FOR,)
        )
        return [str(row["id"]) for row in rows]

    async def live(self, now: float) -> list[str]:
        rows = await self._ex.fetchall(
            "SELECT id FROM workers WHERE heartbeat >= ? ORDER BY started_at", (now - LIVE_FOR,)
        )
        return [str(row["id"]) for row in rows]
