"""The delivery worker: sends what the outbox holds, through each channel's sender.

Contract for senders (implemented by every adapter): `send(item)` returns when the item
reached the API, raises `RetryLater` (429, flood limits, our own rate limit), or
`PermanentFailure` (the customer blocked the bot, error 901) — anything else counts as a
passing fault and is retried with backoff `min(300, 2 ** attempts)` seconds up to
`max_attempts`. Items to one recipient keep their order. Delivery is at least once:
VK deduplicates by `random_id` (derived from the outbox id); Telegram has no such key.

Consecutive plain customer messages for the operators' group are merged into one post
(the group allows a bot about 20 messages a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from core.clock import Clock
from core.escalation import OPERATORS
from core.storage import OutboxItem, Storage
from core.storage import messages as log_kind
from core.types import CustomerRef, Reply

log = logging.getLogger(__name__)

MERGE_LIMIT = 3500  # characters of merged customer messages in one operators' post


class RetryLater(Exception):
    def __init__(self, after: float, reason: str = "", count_attempt: bool = True) -> None:
        super().__init__(reason or f"retry after {after:.1f}s")
        self.after = max(0.0, after)
        self.count_attempt = count_attempt


class PermanentFailure(Exception):
    """The item can never be delivered; `reason` is shown to operators."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    async def send(self, item: OutboxItem) -> None: ...


class Delivery:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        max_attempts: int = 8,
        lease: float = 120.0,
        batch: int = 50,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.max_attempts = max_attempts
        self.lease = lease
        self.batch = batch
        self.senders: dict[str, Sender] = {}
        self._wake = asyncio.Event()
        self.on_delivered: list[Callable[[OutboxItem], None]] = []

    async def send_later(self, customer: CustomerRef, replies: Sequence[Reply]) -> None:
        """Put answers an adapter could not send right now into the outbox, in order."""
        async with self.storage.transaction() as tx:
            for reply in replies:
                await tx.outbox.add(
                    customer.channel,
                    customer.user_id,
                    "reply",
                    {"reply": reply.to_dict()},
                    self.clock.now(),
                )
        self.wake()

    def register(self, channel: str, sender: Sender) -> None:
        self.senders[channel] = sender

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Deliver until `stop` is set; wakes at once when something is enqueued."""
        while not stop.is_set():
            try:
                processed = await self.run_once()
            except Exception:
                log.exception("delivery round failed")
                processed = 0
            if processed:
                continue
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=idle, return_when="FIRST_COMPLETED")
            for task in (waiter, stopper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def run_once(self) -> int:
        """Claim due items and try each once; returns how many were attempted."""
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            items = await tx.outbox.claim(now, self.lease, self.batch, tuple(self.senders))
        if not items:
            return 0
        by_recipient: dict[tuple[str, str], list[OutboxItem]] = {}
        for item in items:
            by_recipient.setdefault((item.channel, item.recipient), []).append(item)
        await asyncio.gather(*(self._deliver_in_order(group) for group in by_recipient.values()))
        return len(items)

    async def _deliver_in_order(self, group: list[OutboxItem]) -> None:
        sender = self.senders[group[0].channel]
        units = (
            merge_customer_messages(group)
            if group[0].channel == OPERATORS
            else [(item, [item.id]) for item in group]
        )
        for index, (item, ids) in enumerate(units):
            try:
                await sender.send(item)
            except RetryLater as exc:
                await self.storage.outbox.retry_later(
                    ids[0], self.clock.now() + exc.after, str(exc), exc.count_attempt
                )
                await self.storage.outbox.release(ids[1:] + _rest_ids(units, index))
                return
            except PermanentFailure as exc:
                await self._give_up(item, ids, exc.reason)
                continue
            except Exception as exc:
                log.warning("delivery of outbox #%s failed: %r", item.id, exc)
                if item.attempts + 1 >= self.max_attempts:
                    await self._give_up(item, ids, f"{type(exc).__name__}: {exc}")
                    continue
                delay = min(300.0, 2.0 ** (item.attempts + 1))
                await self.storage.outbox.retry_later(ids[0], self.clock.now() + delay, repr(exc))
                await self.storage.outbox.release(ids[1:] + _rest_ids(units, index))
                return
            await self.storage.outbox.mark_sent(ids, self.clock.now())
            await self._after_delivery(item)

    async def _after_delivery(self, item: OutboxItem) -> None:
        for callback in self.on_delivered:
            callback(item)
        ack = item.payload.get("ack")
        if item.kind == "reply" and ack and item.ticket_id is not None:
            await self._tell_operators(item, {"event": "delivered", "ack": ack})

    async def _give_up(self, item: OutboxItem, ids: list[int], reason: str) -> None:
        log.warning(
            "outbox #%s (%s → %s) not delivered: %s", item.id, item.kind, item.channel, reason
        )
        async with self.storage.transaction() as tx:
            await tx.outbox.mark_dead(ids[0], reason)
            for extra in ids[1:]:
                await tx.outbox.mark_dead(extra, reason)
            if item.ticket_id is None or item.channel == OPERATORS:
                return
            ticket = await tx.tickets.get(item.ticket_id)
            if ticket is None:
                return
            await tx.messages.add(
                ticket.conversation_id,
                log_kind.NOTE,
                f"Не доставлено клиенту: {reason}",
                self.clock.now(),
                ticket_id=ticket.id,
                author="bot",
            )
        await self._tell_operators(
            item, {"event": "undelivered", "reason": reason, "ack": item.payload.get("ack")}
        )

    async def _tell_operators(self, item: OutboxItem, payload: dict[str, object]) -> None:
        if OPERATORS not in self.senders or item.ticket_id is None:
            return
        ticket = await self.storage.tickets.get(item.ticket_id)
        if ticket is None:
            return
        await self.storage.outbox.add(
            OPERATORS,
            ticket.customer.key,
            "notice",
            {"ticket_id": ticket.id, **payload},
            self.clock.now(),
            ticket_id=ticket.id,
        )
        self.wake()


def merge_customer_messages(group: list[OutboxItem]) -> list[tuple[OutboxItem, list[int]]]:
    """Join runs of text-only customer messages of one ticket into single items."""
    units: list[tuple[OutboxItem, list[int]]] = []
    for item in group:
        if units and _mergeable(units[-1][0], item):
            head, ids = units[-1]
            text = f"{head.payload.get('text', '')}\n\n{item.payload.get('text', '')}"
            merged = replace(head, payload={**head.payload, "text": text, "merged": len(ids) + 1})
            units[-1] = (merged, [*ids, item.id])
        else:
            units.append((item, [item.id]))
    return units


def _mergeable(head: OutboxItem, item: OutboxItem) -> bool:
    return (
        head.kind == item.kind == "customer_message"
        and head.ticket_id == item.ticket_id
        and not head.payload.get("attachments")
        and not item.payload.get("attachments")
        and len(str(head.payload.get("text", ""))) + len(str(item.payload.get("text", "")))
        < MERGE_LIMIT
    )


def _rest_ids(units: list[tuple[OutboxItem, list[int]]], index: int) -> list[int]:
    return [i for _, ids in units[index + 1 :] for i in ids]
