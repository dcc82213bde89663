"""The persisted outbox: everything to be sent, claimed by a live worker.

An item is claimed by the process that sends it (`claimed_by`, a worker id). The claim
holds while that worker's heartbeat is fresh (`core.storage.workers`): a process killed
mid-send gives its items up within seconds. Items for one recipient go out in order: an
item can be claimed only when no earlier pending item of its recipient is waiting for a
retry or claimed by a live worker. A multi-step send (a card, then files; a long text in
parts) records its finished steps in `progress`, so a retry never repeats them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from core.events import AnyEvent, Event, decode, encode
from core.storage.database import Executor, Row
from core.storage.workers import LIVE_FOR, LIVE_WORKERS

PENDING = "pending"
SENT = "sent"
DEAD = "dead"
# Written as a literal: SQLite uses the partial index of pending items (`outbox_pending`)
# only when it can see the condition in the query itself.
IS_PENDING = "status = 'pending'"

_RETURNED = (
    "id, channel, recipient, kind, payload, ticket_id, attempts, created_at, claimed_by, "
    "progress, in_doubt"
)


@dataclass
class OutboxItem:
    id: int
    channel: str  # the adapter that sends it: telegram, vk, console, or operators
    recipient: str  # the customer's id in that channel, or the customer key for operators
    kind: str  # the stored form of `event` (`core.events.encode`)
    payload: dict[str, Any]
    ticket_id: int | None
    attempts: int
    created_at: float
    claimed_by: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    # Its sender died while holding it: it may have reached the messenger already.
    in_doubt: bool = False
    # Marked sent by its sender in the step that received the messenger's answer.
    recorded: bool = field(default=False, compare=False)

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
            claimed_by=row.get("claimed_by"),
            progress=json.loads(row.get("progress") or "{}"),
            in_doubt=bool(row.get("in_doubt") or 0),
        )

    @cached_property
    def event(self) -> AnyEvent:
        """What the item says (`core.events.UnknownEvent` when this version cannot read it)."""
        return decode(self.kind, self.payload)

    @property
    def key(self) -> tuple[str, str]:
        """The recipient: items with the same key are delivered in id order."""
        return (self.channel, self.recipient)


class OutboxRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def add(
        self,
        channel: str,
        recipient: str,
        event: Event,
        now: float,
        *,
        claimed_by: str | None = None,
        claim_if_free: str | None = None,
    ) -> OutboxItem:
        """Queue `event` for `recipient` in `channel` (the case it belongs to, if any, is
        the event's `ticket_id`), claimed by worker `claimed_by`; or by worker
        `claim_if_free` unless the recipient has a pending item not in that worker's
        hands (the new one must then queue behind it instead of going out at once) —
        worked out by the insert itself."""
        kind, payload = encode(event)
        ticket_id = getattr(event, "ticket_id", None)
        owner = "?"
        params: tuple[object, ...] = (claimed_by,)
        if claim_if_free is not None:
            owner = (
                "CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE channel = ? AND recipient = ? "
                f"AND {IS_PENDING} AND (claimed_by IS NULL OR claimed_by <> ?)) "
                "THEN NULL ELSE ? END"
            )
            params = (channel, recipient, claim_if_free, claim_if_free)
        row = await self._ex.fetchone(
            "INSERT INTO outbox (channel, recipient, kind, payload, ticket_id, status, "
            "attempts, next_attempt_at, created_at, claimed_by) "
            f"VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, {owner}) RETURNING {_RETURNED}",
            (
                channel,
                recipient,
                kind,
                json.dumps(payload, ensure_ascii=False),
                ticket_id,
                PENDING,
                now,
                now,
                *params,
            ),
        )
        assert row is not None
        return OutboxItem.from_row(row)

    async def lock_recipient(self, channel: str, recipient: str) -> bool:
        """Hold the recipient for this claiming transaction (PostgreSQL: an advisory lock,
        so two replicas never split one recipient's items; SQLite serialises anyway)."""
        if self._ex.dialect != "postgresql":
            return True
        row = await self._ex.fetchone(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(?, 0)) AS ok",
            (f"outbox:{channel}:{recipient}",),
        )
        return bool(row and row["ok"])

    async def recipients_due(
        self, now: float, wall: float, worker: str, limit: int, channels: tuple[str, ...]
    ) -> list[tuple[str, str]]:
        """Recipients with an item `worker` could claim now, oldest first. A recipient
        whose earlier item waits for a retry has nothing claimable: it is left out, so that
        many such recipients cannot crowd out the ones that can go."""
        if not channels:
            return []
        marks = ", ".join("?" for _ in channels)
        live = wall - LIVE_FOR
        rows = await self._ex.fetchall(
            "SELECT o.channel, o.recipient FROM outbox o "
            f"WHERE o.{IS_PENDING} AND o.channel IN ({marks}) AND o.next_attempt_at <= ? "
            "AND (o.claimed_by IS NULL OR "
            f"(o.claimed_by <> ? AND o.claimed_by NOT IN {LIVE_WORKERS})) "
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel "
            f"AND e.recipient = o.recipient AND e.{IS_PENDING} AND e.id < o.id "
            f"AND (e.next_attempt_at > ? OR e.claimed_by IN {LIVE_WORKERS})) "
            "GROUP BY o.channel, o.recipient ORDER BY MIN(o.id) LIMIT ?",
            (*channels, now, worker, live, now, live, limit),
        )
        return [(str(row["channel"]), str(row["recipient"])) for row in rows]

    async def claim_recipient(
        self, channel: str, recipient: str, worker: str, now: float, wall: float, limit: int
    ) -> list[OutboxItem]:
        """Claim the recipient's items that are due, in order, up to the first one that
        must wait (a retry later, or in another live worker's hands)."""
        live = wall - LIVE_FOR
        rows = await self._ex.fetchall(
            "UPDATE outbox SET claimed_by = ? WHERE id IN ("
            "SELECT o.id FROM outbox o WHERE o.channel = ? AND o.recipient = ? "
            f"AND o.{IS_PENDING} AND o.next_attempt_at <= ? AND (o.claimed_by IS NULL OR "
            f"(o.claimed_by <> ? AND o.claimed_by NOT IN {LIVE_WORKERS})) "
            "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel "
            f"AND e.recipient = o.recipient AND e.{IS_PENDING} AND e.id < o.id "
            f"AND (e.next_attempt_at > ? OR e.claimed_by IN {LIVE_WORKERS})) "
            f"ORDER BY o.id LIMIT ?) RETURNING {_RETURNED}",
            (worker, channel, recipient, now, worker, live, now, live, limit),
        )
        return sorted((OutboxItem.from_row(row) for row in rows), key=lambda item: item.id)

    async def mark_sent(
        self, ids: list[int], now: float, progress: dict[str, Any] | None = None
    ) -> None:
        """Sent (with what the sender recorded of it, e.g. the messages' ids)."""
        if not ids:
            return
        marks = ", ".join("?" for _ in ids)
        saved = "" if progress is None else ", progress = ?"
        extra = () if progress is None else (json.dumps(progress, ensure_ascii=False),)
        await self._ex.execute(
            f"UPDATE outbox SET status = ?, sent_at = ?, claimed_by = NULL, "
            f"attempts = attempts + 1{saved} WHERE id IN ({marks})",
            (SENT, now, *extra, *ids),
        )

    async def last_recorded(self, channel: str, recipient: str, before: int) -> dict[str, Any]:
        """The progress recorded by the last item sent to the recipient before item
        `before` (empty when there is none)."""
        row = await self._ex.fetchone(
            "SELECT progress FROM outbox WHERE channel = ? AND recipient = ? AND id < ? "
            "AND status = 'sent' ORDER BY id DESC LIMIT 1",
            (channel, recipient, before),
        )
        return dict(json.loads(row["progress"] or "{}")) if row else {}

    async def save_progress(self, item_id: int, progress: dict[str, Any]) -> None:
        await self._ex.execute(
            "UPDATE outbox SET progress = ? WHERE id = ?",
            (json.dumps(progress, ensure_ascii=False), item_id),
        )

    async def retry_later(self, item_id: int, at: float, error: str, count: bool = True) -> None:
        await self._ex.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_by = NULL, "
            "attempts = attempts + ? WHERE id = ?",
            (at, error[:500], 1 if count else 0, item_id),
        )

    async def release(self, ids: list[int]) -> None:
        if not ids:
            return
        marks = ", ".join("?" for _ in ids)
        await self._ex.execute(
            f"UPDATE outbox SET claimed_by = NULL WHERE id IN ({marks})", tuple(ids)
        )

    async def mark_dead(self, item_id: int, error: str) -> None:
        await self._ex.execute(
            "UPDATE outbox SET status = ?, last_error = ?, claimed_by = NULL, "
            "attempts = attempts + 1 WHERE id = ?",
            (DEAD, error[:500], item_id),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._ex.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
        return {row["status"]: int(row["n"]) for row in rows}
