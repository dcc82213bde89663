"""The intake: every update from a messenger is stored before it is acknowledged, then
applied in order.

    await intake.accept("telegram", records)   # one transaction; then acknowledge
    ...                                         # applied by `handler(payload)` in order

Adapters hand over raw updates (`InboundRecord`: external id, ordering partition, seq)
and acknowledge them to the messenger only after `accept` returns — confirm the Telegram
offset, answer the webhook 200 or VK's "ok", save the long-poll position — so a crash
never loses an update that was acknowledged. Each partition (one customer's chat, one
operators' topic) is applied by one live process at a time, in `seq` order; the handler
(the adapter's dispatcher) turns the update into engine and desk calls, which claim its
external id in their own transactions, so applying an update twice changes nothing.

With several replicas behind a load balancer, two updates of one chat can reach two
processes milliseconds apart. `order_window` holds an update back that long after it was
received, so one that was sent earlier but stored later is still applied first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from core.storage import Storage
from core.storage.inbox import ADD_AT_ONCE, InboundRecord, InboxRow

log = logging.getLogger(__name__)

# handler(raw update, attempts before this one)
Handler = Callable[[dict[str, Any], int], Awaitable[None]]

MAX_ATTEMPTS = 5  # an update that fails this often is set aside (status dead), logged once
SCAN_EVERY = 1.0  # seconds between looks for partitions nobody is applying
CONCURRENT_PARTITIONS = 256
KEEP_IDLE_LEASE = 120.0  # seconds an unshared process keeps a quiet partition's lease

__all__ = ["BadUpdate", "Handler", "InboundRecord", "Intake", "consume_applied"]


@dataclass
class _Applying:
    """The stored update whose handler runs now (in this task's context)."""

    row_id: int
    consumed: bool = False


_applying: ContextVar[_Applying | None] = ContextVar("applying_update", default=None)


async def consume_applied(tx: Storage) -> Callable[[], None] | None:
    """Inside the transaction that records an update's effects (an engine turn, an
    operator action): remove the stored update in that same transaction. Call the returned
    function once the transaction has committed."""
    current = _applying.get()
    if current is None or current.consumed:
        return None
    await tx.inbox.done(current.row_id)

    def committed() -> None:
        current.consumed = True

    return committed


class BadUpdate(Exception):
    """The update cannot be understood at all (a handler raises it): it is set aside at
    once, logged once, and the updates after it go on."""


class Intake:
    def __init__(
        self,
        storage: Storage,
        worker_id: str,
        *,
        order_window: float = 0.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.worker_id = worker_id
        self.order_window = order_window
        # Shared: the messenger may hand one chat's updates to several processes (webhook,
        # Callback API behind a load balancer); a partition's lease is then given back
        # after each run. Unshared (long polling), this process keeps it while it runs.
        self.shared = False
        self.wall = wall
        self.handlers: dict[str, Handler] = {}
        self._active: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()  # got new updates while being applied: run again
        self._held: dict[str, float] = {}  # partitions leased and kept (unshared), last use
        self._slots = asyncio.Semaphore(CONCURRENT_PARTITIONS)
        self._wake = asyncio.Event()

    def register(self, source: str, handler: Handler) -> None:
        self.handlers[source] = handler
        self._wake.set()

    async def accept(self, source: str, records: Sequence[InboundRecord]) -> None:
        """Store a batch durably (repeats are ignored); afterwards the caller may
        acknowledge it. Applying starts at once in this process — once a handler for
        `source` is registered (a starting bot stores updates before that; `run_forever`'s
        scans apply them then)."""
        if not records:
            return
        if len(records) <= ADD_AT_ONCE:  # one statement: all or nothing by itself
            await self.storage.inbox.add(source, records, self.wall())
        else:
            async with self.storage.transaction() as tx:
                await tx.inbox.add(source, records, self.wall())
        if source not in self.handlers:
            return
        for partition in dict.fromkeys(record.partition for record in records):
            self._start(partition)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Apply what other processes left behind (they died) or could not apply yet."""
        while not stop.is_set():
            try:
                await self.scan()
                await self._release_idle()
            except Exception as exc:
                log.warning("intake scan failed: %r", exc)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), SCAN_EVERY)

    async def scan(self) -> int:
        """Start every partition that is ready and free; returns how many were started."""
        if not self.handlers:
            return 0
        now = self.wall()
        ready = await self.storage.inbox.ready_partitions(
            now,
            now - self.order_window,
            self.worker_id,
            CONCURRENT_PARTITIONS,
            exclude=list(self._active),
        )
        for partition in ready:
            self._start(partition)
        return len(ready)

    async def _release_idle(self) -> None:
        quiet = [
            partition
            for partition, used in self._held.items()
            if partition not in self._active and self.wall() - used > KEEP_IDLE_LEASE
        ]
        for partition in quiet:
            await self.storage.inbox.release(partition, self.worker_id)
            self._held.pop(partition, None)

    async def drain(self) -> None:
        """Wait until the partitions being applied now are done (tests, shutdown)."""
        while self._active:
            await asyncio.gather(*list(self._active.values()), return_exceptions=True)

    async def stop(self, grace: float = 5.0) -> None:
        if self._active:
            _, pending = await asyncio.wait(set(self._active.values()), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ one partition
    def _start(self, partition: str) -> None:
        if partition in self._active:
            self._again.add(partition)
            return
        task = asyncio.create_task(self._apply_partition(partition), name="intake")
        self._active[partition] = task
        task.add_done_callback(functools.partial(self._finished, partition))

    def _finished(self, partition: str, _task: asyncio.Task[None]) -> None:
        self._active.pop(partition, None)
        if partition in self._again:
            self._again.discard(partition)
            self._start(partition)

    async def _apply_partition(self, partition: str) -> None:
        async with self._slots:
            if self.order_window > 0:
                await asyncio.sleep(self.order_window)
            if partition not in self._held:
                if not await self.storage.inbox.lease(partition, self.worker_id, self.wall()):
                    return  # another live process applies it
            try:
                while await self._apply_ready(partition):
                    pass
            except Exception:
                log.exception("intake of partition %s failed", partition)
            finally:
                if self.shared:
                    self._held.pop(partition, None)
                    try:
                        await self.storage.inbox.release(partition, self.worker_id)
                    except Exception as exc:  # the database is gone: the lease lapses itself
                        log.warning("lease of %s not released: %r", partition, exc)
                        return
                else:
                    self._held[partition] = self.wall()
        if self.shared and await self._ready_now(partition):
            # Another replica stored something while this one held the partition (its own
            # try found it taken): take it on now rather than at the next scan.
            self._start(partition)

    async def _ready_now(self, partition: str) -> bool:
        now = self.wall()
        return bool(await self.storage.inbox.next_rows(partition, now, now - self.order_window, 1))

    async def _apply_ready(self, partition: str) -> bool:
        """Apply the partition's ready updates in order; True when there may be more."""
        now = self.wall()
        rows = await self.storage.inbox.next_rows(partition, now, now - self.order_window)
        for row in rows:
            if not await self._apply(row):
                return False  # it waits for a retry: the ones after it wait too
        return len(rows) == 20  # a full batch: look again

    async def _apply(self, row: InboxRow) -> bool:
        """Apply one update; False when it failed and must be retried first."""
        handler = self.handlers.get(row.source)
        if handler is None:
            log.error("no intake handler for %s: update %s waits", row.source, row.external_id)
            return False
        applying = _Applying(row.id)
        token = _applying.set(applying)
        try:
            await handler(row.payload, row.attempts)
        except Exception as exc:
            dead = isinstance(exc, BadUpdate) or row.attempts + 1 >= MAX_ATTEMPTS
            if dead:
                log.error("update %s set aside, not applicable: %r", row.external_id, exc)
            else:
                log.warning("update %s failed, will retry: %r", row.external_id, exc)
            delay = min(60.0, 2.0 ** (row.attempts + 1))
            await self.storage.inbox.failed(row.id, repr(exc), self.wall() + delay, dead)
            return dead  # a retried update holds back the ones after it (order is kept)
        finally:
            _applying.reset(token)
        if not applying.consumed:  # nothing was recorded for it (ignored, a repeat…)
            await self.storage.inbox.done(row.id)
        return True
