"""Delivery: everything the bot sends goes through the persisted outbox.

A turn writes its answers to the outbox in the same transaction as its effects, already
claimed by this process when nothing else is queued for that recipient, and hands them to
`dispatch` to go out at once. The worker loop (`run_forever`) claims the rest: items whose
owner died (its heartbeat went stale), retries, operators' replies written elsewhere.

Each recipient has one in-process queue drained by one task, so its items leave in order;
an item is marked sent right after the API accepts it. Contract for senders (every adapter
implements it): `send(item)` returns when the item reached the API, raises `RetryLater`
(429, flood limits, our own rate limit) or `PermanentFailure` (the customer blocked the
bot, error 901); anything else counts as a passing fault, retried with backoff
`min(300, 2 ** attempts)` seconds up to `max_attempts`. A sender whose item takes several
API calls records each finished step with `checkpoint`, so a retry resumes after it.

Delivery is at least once: VK drops a repeated `random_id` (derived from the outbox id),
so nothing doubles there; Telegram has no such key, so a crash in the instant between the
Bot API accepting a message and the outbox recording it sends that message again.

Consecutive plain customer messages for the operators' group are merged into one post
(the group allows a bot about 20 messages a minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Protocol

from core.clock import Clock
from core.events import (
    AnyEvent,
    CustomerMessage,
    CustomerReply,
    Delivered,
    Notice,
    NotShown,
    RatingComment,
    Undelivered,
    UnknownEvent,
    encode,
)
from core.knowledge.texts import Texts
from core.storage import OutboxItem, Storage
from core.storage import messages as log_kind
from core.types import OPERATORS

log = logging.getLogger(__name__)

MERGE_LIMIT = 3500  # characters of merged customer messages in one operators' post

Key = tuple[str, str]  # (channel, recipient)


class RetryLater(Exception):
    def __init__(self, after: float, reason: str = "", count_attempt: bool = True) -> None:
        super().__init__(reason or f"retry after {after:.1f}s")
        self.after = max(0.0, after)
        self.count_attempt = count_attempt


class PermanentFailure(Exception):
    """The item can never be delivered; `reason` is shown to operators, so a sender words
    it for them (desk.yaml `undelivered`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
    async def send(self, item: OutboxItem) -> None: ...


class Delivery:
    """The outbox's sender: `desk_texts` words the transcript note of an undelivered reply."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        desk_texts: Texts,
        *,
        worker_id: str = "local",
        max_attempts: int = 8,
        batch: int = 50,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.desk_texts = desk_texts
        self.worker_id = worker_id
        self.max_attempts = max_attempts
        self.batch = batch
        self.wall = wall  # real time, for the liveness of claims (the clock may be a test's)
        self.senders: dict[str, Sender] = {}
        self.on_delivered: list[Callable[[OutboxItem], None]] = []
        self._queues: dict[Key, deque[OutboxItem]] = {}
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ wiring
    def register(self, channel: str, sender: Sender) -> None:
        self.senders[channel] = sender
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def claimant(self, channel: str) -> str | None:
        """Who may claim a new item for `channel` as it is written: this process, to send
        it at once, when it can send to that channel (`OutboxRepo.add(claim_if_free=…)`
        claims it only when nothing else is queued for the recipient; otherwise the item
        waits its turn behind the others)."""
        return self.worker_id if channel in self.senders else None

    def dispatch(self, items: Iterable[OutboxItem]) -> None:
        """Send items this process has claimed, each recipient's in order."""
        for item in items:
            if item.claimed_by != self.worker_id or item.channel not in self.senders:
                continue
            self._queues.setdefault(item.key, deque()).append(item)
            if item.key not in self._tasks:
                self._tasks[item.key] = asyncio.create_task(
                    self._drain(item.key), name=f"deliver-{item.channel}"
                )

    async def idle(self) -> None:
        """Wait until every queue of this process is drained."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def checkpoint(self, item: OutboxItem, **progress: Any) -> None:
        """Record a finished step of a multi-step send (see `OutboxItem.progress`)."""
        item.progress.update(progress)
        await self.storage.outbox.save_progress(item.id, item.progress)

    async def record_sent(self, item: OutboxItem, **progress: Any) -> None:
        """The sender's last call was accepted: mark the item sent now, with what it
        recorded of it, in the step that received the answer (the instant a kill would
        send it again is as short as it can be); delivery does not mark it again."""
        item.progress.update(progress)
        await self.storage.outbox.mark_sent([item.id], self.clock.now(), item.progress)
        item.recorded = True

    # ------------------------------------------------------------------ the worker
    async def run_forever(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Claim and deliver until `stop` is set; wakes at once when something is queued."""
        pause = idle
        while not stop.is_set():
            try:
                claimed = await self.claim_due()
                pause = idle
            except Exception as exc:  # the database is unreachable: back off, one line
                log.warning("delivery round failed (%r), next try in %.0f s", exc, pause)
                claimed = 0
                pause = min(30.0, pause * 2)
            if claimed:
                continue
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=pause, return_when="FIRST_COMPLETED")
            for task in (waiter, stopper):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def run_once(self) -> int:
        """Claim what is due now, deliver it and wait for the sends; returns how many
        items were claimed (tests and the console drive delivery with it)."""
        claimed = await self.claim_due()
        await self.idle()
        return claimed

    async def claim_due(self) -> int:
        """Claim due items of recipients this process is not sending to already."""
        now, wall = self.clock.now(), self.wall()
        recipients = await self.storage.outbox.recipients_due(
            now, wall, self.worker_id, self.batch, tuple(self.senders)
        )
        count = 0
        for channel, recipient in recipients:
            if (channel, recipient) in self._tasks:
                continue  # its queue is being drained; the rest follows afterwards
            async with self.storage.transaction() as tx:
                if not await tx.outbox.lock_recipient(channel, recipient):
                    continue  # another replica is claiming it right now
                items = await tx.outbox.claim_recipient(
                    channel, recipient, self.worker_id, now, wall, self.batch
                )
            self.dispatch(items)
            count += len(items)
        return count

    async def stop(self, grace: float = 5.0) -> None:
        """Let queues drain for `grace` seconds, then give back what is left."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks.values()), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        left = [item.id for queue in self._queues.values() for item in queue]
        self._queues.clear()
        with contextlib.suppress(Exception):
            await self.storage.outbox.release(left)

    # ------------------------------------------------------------------ one recipient
    async def _drain(self, key: Key) -> None:
        queue = self._queues[key]
        try:
            while queue:
                if key[0] == OPERATORS:
                    item, ids = merge_customer_messages(list(queue))[0]
                else:
                    item, ids = queue[0], [queue[0].id]
                if await self._send_one(item, ids, queue):
                    for _ in ids:
                        queue.popleft()
                else:
                    return
        except Exception:
            log.exception("delivery to %s failed", key[0])
            await self._release_queue(queue)
        finally:
            self._tasks.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            self.wake()  # items queued behind this recipient's may be claimable now

    async def _send_one(self, item: OutboxItem, ids: list[int], queue: deque[OutboxItem]) -> bool:
        """Send one unit; True when the queue may go on to the next one."""
        sender = self.senders[item.channel]
        try:
            await sender.send(item)
        except RetryLater as exc:
            await self.storage.outbox.retry_later(
                ids[0], self.clock.now() + exc.after, str(exc), exc.count_attempt
            )
            await self._release_queue(queue, skip=ids[0])
            return False
        except PermanentFailure as exc:
            await self._give_up(item, ids, exc.reason)
            return True
        except UnknownEvent as exc:  # written by another version: can never be sent here
            await self._give_up(item, ids, str(exc))
            return True
        except Exception as exc:
            log.warning("delivery of outbox #%s failed: %r", item.id, exc)
            if item.attempts + 1 >= self.max_attempts:
                await self._give_up(item, ids, f"{type(exc).__name__}: {exc}")
                return True
            delay = min(300.0, 2.0 ** (item.attempts + 1))
            await self.storage.outbox.retry_later(ids[0], self.clock.now() + delay, repr(exc))
            await self._release_queue(queue, skip=ids[0])
            return False
        # What the sender marked itself (the head of a merged unit) is not marked again.
        await self.storage.outbox.mark_sent(ids[1:] if item.recorded else ids, self.clock.now())
        await self._after_delivery(item)
        return True

    async def _release_queue(self, queue: deque[OutboxItem], skip: int | None = None) -> None:
        left = [queued.id for queued in queue if queued.id != skip]
        queue.clear()
        await self.storage.outbox.release(left)

    async def _after_delivery(self, item: OutboxItem) -> None:
        for callback in self.on_delivered:
            callback(item)
        event = _event_of(item)
        if isinstance(event, CustomerReply) and event.ack and event.ticket_id is not None:
            await self._tell_operators(item, Delivered(event.ticket_id, ack=event.ack))

    async def _give_up(self, item: OutboxItem, ids: list[int], reason: str) -> None:
        log.warning(
            "outbox #%s (%s → %s) not delivered: %s", item.id, item.kind, item.channel, reason
        )
        async with self.storage.transaction() as tx:
            for item_id in ids:
                await tx.outbox.mark_dead(item_id, reason)
            if item.channel == OPERATORS:
                await self._refused_by_operators(tx, item, reason)
                return
            if item.ticket_id is None:
                return
            ticket = await tx.tickets.get(item.ticket_id)
            if ticket is None:
                return
            await tx.messages.add(
                ticket.conversation_id,
                log_kind.NOTE,
                self.desk_texts.format("notes.undelivered", reason=reason),
                self.clock.now(),
                ticket_id=ticket.id,
                author="bot",
            )
        event = _event_of(item)
        ack = event.ack if isinstance(event, CustomerReply) else None
        await self._tell_operators(item, Undelivered(ticket.id, reason=reason, ack=ack))

    async def _refused_by_operators(self, tx: Storage, item: OutboxItem, reason: str) -> None:
        """A post the operators' group refused is never silently dead: a short notice in
        plain words says what could not be shown (unless that notice itself failed)."""
        event = _event_of(item)
        if item.ticket_id is None or isinstance(event, NotShown):
            return
        text = event.text[:500] if isinstance(event, CustomerMessage | RatingComment) else ""
        notice = NotShown(item.ticket_id, reason=reason, text=text)
        await tx.outbox.add(OPERATORS, item.recipient, notice, self.clock.now())
        self.wake()

    async def _tell_operators(self, item: OutboxItem, notice: Notice) -> None:
        ticket = await self.storage.tickets.get(notice.ticket_id)
        if ticket is None:
            return
        await self.storage.outbox.add(OPERATORS, ticket.customer.key, notice, self.clock.now())
        self.wake()


def merge_customer_messages(group: list[OutboxItem]) -> list[tuple[OutboxItem, list[int]]]:
    """Join runs of text-only customer messages of one ticket into single items."""
    units: list[tuple[OutboxItem, list[int]]] = []
    for item in group:
        head = units[-1][0] if units else None
        first, then = _event_of(head) if head else None, _event_of(item)
        if (
            head is not None
            and isinstance(first, CustomerMessage)
            and isinstance(then, CustomerMessage)
            and _mergeable(head, first, item, then)
        ):
            ids = units[-1][1]
            joined = replace(first, text=f"{first.text}\n\n{then.text}", merged=len(ids) + 1)
            kind, payload = encode(joined)
            units[-1] = (replace(head, kind=kind, payload=payload), [*ids, item.id])
        else:
            units.append((item, [item.id]))
    return units


def _mergeable(
    head: OutboxItem, first: CustomerMessage, item: OutboxItem, then: CustomerMessage
) -> bool:
    return (
        head.ticket_id == item.ticket_id
        and not first.attachments
        and not then.attachments
        and not head.progress
        and len(first.text) + len(then.text) < MERGE_LIMIT
    )


def _event_of(item: OutboxItem) -> AnyEvent | None:
    """The item's event, or None when this version cannot read it."""
    try:
        return item.event
    except UnknownEvent:
        return None
