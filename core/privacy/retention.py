"""Keeping personal data no longer than needed (`RETENTION_DAYS`, 365 by default; 0 keeps
message texts until a customer asks to erase them).

Run from the housekeeping loop, at most once an hour (`run` does one pass):

- a customer silent for `RETENTION_DAYS` with no open case is erased as on request
  (`Erasure.erase_many`: every table, their topics deleted in the operators' groups), with
  one act per batch and no message to them or notice to the operators;
- for the others, message texts and files of cases closed more than `RETENTION_DAYS` ago
  (and of messages of no case written before then) are removed, with those cases' order
  numbers and comments and the details of old self-service actions — the rows stay, so
  the KPIs do not move; one act per pass;
- whatever the setting, delivered outbox items and set-aside updates are deleted after
  `OPERATIONAL_DAYS`, the message telling an erased customer it is done as soon as it has
  been sent, and a topic or post recorded for an erased customer after the erasure (a send
  that was under way) is deleted too;
- when an erasure removed labelled texts (operators' `/intent`, customers' picks), the
  intent model — which keeps words of what it was trained on — is trained again without
  them and published, and the models trained with them are deleted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.clock import Clock
from core.events import CustomerErased, CustomerReply, UnknownEvent
from core.privacy.erasure import BY_RETENTION, Erasure
from core.storage import OutboxItem, Storage
from core.types import OPERATORS

log = logging.getLogger(__name__)

DAY = 86400.0
EVERY = 3600.0  # seconds between passes
BATCH = 50  # idle customers erased in one transaction
OPERATIONAL_DAYS = 7  # delivered outbox items and set-aside updates are kept this long
CLEANUP = "cleanup"  # reason of the deletion of a leftover topic or post


class Retention:
    def __init__(self, storage: Storage, clock: Clock, erasure: Erasure, days: int) -> None:
        self.storage = storage
        self.clock = clock
        self.erasure = erasure
        self.days = days
        self._last = float("-inf")
        self._tasks: set[asyncio.Task[None]] = set()
        # Trains the intent model again on what is left and publishes it; returns its
        # fingerprint (set by `core.app.build_core`; None: no model to keep clean).
        self.retrain: Callable[[], Awaitable[str]] | None = None

    def on_delivered(self, item: OutboxItem) -> None:
        """A delivery callback: once the message telling an erased customer it is done has
        been sent, the last row with their id goes (not an hour later)."""
        if item.channel == OPERATORS:
            return
        try:
            event = item.event
        except UnknownEvent:
            return
        if not isinstance(event, CustomerReply) or event.reply.text != self.erasure.farewell:
            return
        task = asyncio.get_running_loop().create_task(self._forget_farewells())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forget_farewells(self) -> None:
        try:
            async with self.storage.transaction() as tx:
                await tx.privacy.forget_farewells()
        except Exception as exc:  # the hourly pass tries again
            log.warning("sent farewells not deleted yet: %r", exc)

    async def maybe_run(self) -> dict[str, int] | None:
        """A pass when the last one was an hour ago or more (the housekeeping loop)."""
        now = self.clock.now()
        if now - self._last < EVERY:
            return None
        self._last = now
        return await self.run()

    async def run(self) -> dict[str, int]:
        """One pass; returns what was removed, counted."""
        now = self.clock.now()
        removed: dict[str, int] = {}
        if self.days > 0:
            cutoff = now - self.days * DAY
            removed |= await self._erase_idle(cutoff)
            async with self.storage.transaction() as tx:
                expired = await tx.privacy.expire(cutoff)
                if expired:
                    await tx.privacy.add_act(
                        reason=BY_RETENTION,
                        requested_by=BY_RETENTION,
                        requested_at=now,
                        now=now,
                        removed=expired,
                    )
            removed |= {f"expired_{key}": count for key, count in expired.items()}
        async with self.storage.transaction() as tx:
            purged = await tx.privacy.purge_operational(now - OPERATIONAL_DAYS * DAY)
            purged["farewells"] = await tx.privacy.forget_farewells()
            purged["leftovers"] = await self._leftovers(tx, now)
        removed |= {key: count for key, count in purged.items() if count}
        if purged["leftovers"] and self.erasure.delivery is not None:
            self.erasure.delivery.wake()
        if await self._refresh_model():
            removed["model_retrained"] = 1
        if removed:
            log.info("retention pass: %s", removed)
        return removed

    async def _refresh_model(self) -> bool:
        """Labelled texts were erased: the model, which holds words of them, is trained
        again without them, and the models trained with them are dropped."""
        if self.retrain is None:
            return False
        upto = await self.storage.privacy.model_stale()
        if upto is None:
            return False
        fingerprint = await self.retrain()
        async with self.storage.transaction() as tx:
            await tx.privacy.model_retrained(fingerprint, upto)
        log.info("intent model %s trained again without erased labels", fingerprint)
        return True

    async def _erase_idle(self, cutoff: float) -> dict[str, int]:
        total: dict[str, int] = {}
        while True:
            idle = await self.storage.privacy.idle(cutoff, BATCH)
            if not idle:
                return total
            erased = await self.erasure.erase_many(idle, BY_RETENTION, BY_RETENTION)
            if erased is not None:
                for key, count in erased.removed.items():
                    total[key] = total.get(key, 0) + count
            if len(idle) < BATCH:
                return total

    async def _leftovers(self, tx: Storage, now: float) -> int:
        """Topics and posts recorded for erased customers after their erasure: deleted."""
        count = 0
        for found in await tx.privacy.take_leftovers():
            event = CustomerErased(
                found.tickets[-1] if found.tickets else 0,
                reason=CLEANUP,
                cases=list(found.tickets),
                topics=[list(pair) for pair in found.topics],
                posts=[list(pair) for pair in found.posts],
                groups=found.groups,
            )
            await tx.outbox.add(OPERATORS, f"privacy:cleanup:{found.conversation_id}", event, now)
            count += 1
        return count
