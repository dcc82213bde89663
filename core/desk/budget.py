"""The post budget of the operators' groups: a messenger lets a bot post only so many
messages into one group a minute (Telegram: about 20), so every post is reserved first in
the database-wide budget of its key (`storage.budget`, shared by replicas), and the bot
never draws a rate-limit error from its own pace.

Which bots may post and under which keys is the adapter's business; this module only
reserves: the first key with a free post, or how long until one frees up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from core.clock import Clock
from core.storage import Storage

WINDOW = 60.0  # seconds a reservation counts against the budget


class PostBudget:
    def __init__(self, storage: Storage, clock: Clock, window: float = WINDOW) -> None:
        self.storage = storage
        self.clock = clock
        self.window = window

    async def take(self, key: str, limit: int) -> float:
        """Reserve one post under `key` (at most `limit` in the window): 0.0 when it is
        reserved, else the seconds until one would fit."""
        async with self.storage.transaction() as tx:
            return await tx.budget.reserve(key, 1, limit, self.window, self.clock.now())

    async def first_free(self, keys: Sequence[str], limit: int) -> tuple[int | None, float]:
        """(the index of the first key a post was reserved under, 0.0); or, when every
        key's budget is spent, (None, the seconds until the first frees up)."""
        waits = []
        for index, key in enumerate(keys):
            wait = await self.take(key, limit)
            if wait <= 0:
                return index, 0.0
            waits.append(wait)
        return None, min(waits, default=0.0)

    async def wait_free(self, keys: Sequence[str], limit: int, patience: float) -> int | None:
        """Like `first_free`, but waits up to `patience` seconds (real time) for a free
        post; None when none freed up in time."""
        give_up = time.monotonic() + patience
        while True:
            found, wait = await self.first_free(keys, limit)
            if found is not None:
                return found
            left = give_up - time.monotonic()
            if left <= 0:
                return None
            await asyncio.sleep(min(wait, 1.0, left))
