"""This process among the running ones: its worker id and heartbeat.

Outbox claims and inbox leases belong to a worker id; they hold while its heartbeat is
fresh (`core.storage.workers.LIVE_FOR`). A process killed with SIGKILL stops beating and
its work passes to the others within seconds; a clean stop hands it over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

from core.storage import Storage
from core.storage.workers import BEAT_EVERY

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Liveness:
    def __init__(
        self, storage: Storage, worker_id: str, wall: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        self.worker_id = worker_id
        self.wall = wall

    async def register(self) -> None:
        async with self.storage.transaction() as tx:
            await tx.workers.register(self.worker_id, self.wall(), f"pid {os.getpid()}")
        await self.reap()

    async def reap(self) -> list[str]:
        """Retire dead workers: those whose heartbeat stopped, and at once those of this
        machine whose process is gone (killed, crashed). Their claims pass on, and what
        they were sending is marked in doubt."""
        host = socket.gethostname()
        now = self.wall()
        gone = [
            worker
            for worker in await self.storage.workers.live(now)
            if worker != self.worker_id and _died_here(worker, host)
        ]
        gone += [w for w in await self.storage.workers.stale(now) if w != self.worker_id]
        for worker in gone:
            async with self.storage.transaction() as tx:
                await tx.workers.retire(worker, died=True)
            log.warning("worker %s is gone: its claims pass on", worker)
        return gone

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.storage.workers.beat(self.worker_id, self.wall())
                await self.reap()
            except Exception as exc:
                log.warning("heartbeat failed: %r", exc)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), BEAT_EVERY)

    async def retire(self) -> None:
        """Hand this process's claims and leases over at once (a clean stop)."""
        async with self.storage.transaction() as tx:
            await tx.workers.retire(self.worker_id)


def _died_here(worker_id: str, host: str) -> bool:
    """True only when the worker ran on this machine and its process no longer exists (a
    reused pid counts as alive: then its heartbeat decides)."""
    parts = worker_id.split(":")
    if len(parts) < 3 or not parts[-2].isdigit():
        return False
    worker_host, pid = ":".join(parts[:-2]), int(parts[-2])
    if worker_host != host:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, someone else's
        return False
    return False
