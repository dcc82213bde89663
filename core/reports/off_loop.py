"""Heavy read-only work (KPI reports, `/stats`) away from the event loop, so that replies
to customers and operators never wait for it.

On a SQLite file the whole job — queries and Python computation — runs in a worker
thread with an event loop and a read-only connection of its own (`storage.reader()`).
On PostgreSQL the queries run on a pooled connection (the driver never blocks the loop)
and the job's computation on the loop; with the in-memory SQLite of some tests, there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.desk import sla
from core.reports import kpi
from core.storage import Storage

T = TypeVar("T")


async def off_loop(storage: Storage, job: Callable[[Storage], Awaitable[T]]) -> T:
    """Run `job(reader)` on a read-only view of the database, off the event loop."""
    if storage.dialect == "sqlite" and getattr(storage.db, "path", ":memory:") != ":memory:":

        def in_thread() -> T:
            async def run() -> T:
                async with storage.reader() as reader:
                    return await job(reader)

            return asyncio.run(run())

        return await asyncio.to_thread(in_thread)
    async with storage.reader() as reader:
        return await job(reader)


async def kpi_report(
    storage: Storage,
    since: float,
    until: float,
    now: float,
    timezone: str,
    policy: sla.SlaPolicy | None = None,
    repeat_days: int = kpi.REPEAT_DAYS,
) -> kpi.KpiReport:
    """The KPI report of a period with SLA compliance, computed off the event loop."""

    async def job(reader: Storage) -> kpi.KpiReport:
        report = await kpi.compute(reader, since, until, now, timezone, repeat_days=repeat_days)
        if policy is not None:
            tickets = [t for t in await reader.tickets.all() if since <= t.created_at < until]
            report.sla = sla.compliance(tickets, policy, now)
        return report

    return await off_loop(storage, job)
