"""Where an operator's reply landed in the customer's chat, so an edit can follow it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.storage.database import Executor


@dataclass(frozen=True)
class ReplyCopy:
    source: str  # the operator's own message: "<chat id>:<message id>"
    ticket_id: int | None
    channel: str
    recipient: str
    message_ids: list[str]  # the customer-side messages, in order (text parts)


class ReplyCopyRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def remember(
        self,
        source: str,
        ticket_id: int | None,
        channel: str,
        recipient: str,
        message_ids: list[str],
        now: float,
    ) -> None:
        """Record (or, after a repeated delivery, replace) where the reply landed."""
        await self._ex.execute(
            "INSERT INTO reply_copies (source, ticket_id, channel, recipient, message_ids, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
            "channel = excluded.channel, recipient = excluded.recipient, "
            "message_ids = excluded.message_ids",
            (source, ticket_id, channel, recipient, json.dumps(message_ids), now),
        )

    async def find(self, source: str) -> ReplyCopy | None:
        row = await self._ex.fetchone("SELECT * FROM reply_copies WHERE source = ?", (source,))
        if row is None:
            return None
        return ReplyCopy(
            source=row["source"],
            ticket_id=row["ticket_id"],
            channel=row["channel"],
            recipient=row["recipient"],
            message_ids=[str(i) for i in json.loads(row["message_ids"] or "[]")],
        )
