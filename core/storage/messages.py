"""The message log: every message in and out, with intent and confidence."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from core.storage.database import Executor, Row
from core.storage.text import storable
from core.types import Attachment

IN = "in"  # from the customer
OUT = "out"  # from the bot
OPERATOR = "operator"  # an operator's reply, delivered to the customer
NOTE = "note"  # internal: operators' notes and system remarks, never delivered


@dataclass
class LoggedMessage:
    id: int
    conversation_id: int
    ticket_id: int | None
    direction: str
    text: str
    attachments: list[Attachment]
    intent: str | None
    confidence: float | None
    author: str
    created_at: float

    @classmethod
    def from_row(cls, row: Row) -> LoggedMessage:
        return cls(
            id=int(row["id"]),
            conversation_id=int(row["conversation_id"]),
            ticket_id=row["ticket_id"],
            direction=row["direction"],
            text=row["text"],
            attachments=[Attachment.from_dict(a) for a in json.loads(row["attachments"])],
            intent=row["intent"],
            confidence=row["confidence"],
            author=row["author"],
            created_at=float(row["created_at"]),
        )


@dataclass(frozen=True)
class NewMessage:
    """A message to log (`MessageRepo.add_many`)."""

    conversation_id: int
    direction: str
    text: str
    created_at: float
    ticket_id: int | None = None
    intent: str | None = None
    confidence: float | None = None
    author: str = ""
    external_id: str | None = None
    attachments: tuple[Attachment, ...] = ()


class MessageRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def add(
        self,
        conversation_id: int,
        direction: str,
        text: str,
        now: float,
        *,
        ticket_id: int | None = None,
        intent: str | None = None,
        confidence: float | None = None,
        author: str = "",
        external_id: str | None = None,
        attachments: tuple[Attachment, ...] | list[Attachment] = (),
    ) -> int:
        """Log a message; returns its id."""
        [message_id] = await self.add_many(
            [
                NewMessage(
                    conversation_id,
                    direction,
                    text,
                    now,
                    ticket_id=ticket_id,
                    intent=intent,
                    confidence=confidence,
                    author=author,
                    external_id=external_id,
                    attachments=tuple(attachments),
                )
            ]
        )
        return message_id

    async def add_many(self, rows: Sequence[NewMessage]) -> list[int]:
        """Log several messages with one statement, in this order; returns their ids in
        the same order (ids grow in the order of the rows, whatever order RETURNING gives)."""
        if not rows:
            return []
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows)
        params = [
            value
            for row in rows
            for value in (
                row.conversation_id,
                row.ticket_id,
                row.direction,
                storable(row.text),
                json.dumps([a.to_dict() for a in row.attachments], ensure_ascii=False),
                row.intent,
                row.confidence,
                storable(row.author),
                row.external_id,
                row.created_at,
            )
        ]
        inserted = await self._ex.fetchall(
            "INSERT INTO messages (conversation_id, ticket_id, direction, text, attachments, "
            f"intent, confidence, author, external_id, created_at) VALUES {values} RETURNING id",
            params,
        )
        return sorted(int(row["id"]) for row in inserted)

    async def for_ticket(self, ticket_id: int, limit: int = 50) -> list[LoggedMessage]:
        rows = await self._ex.fetchall(
            "SELECT * FROM (SELECT * FROM messages WHERE ticket_id = ? ORDER BY id DESC "
            "LIMIT ?) AS recent ORDER BY id",
            (ticket_id, limit),
        )
        return [LoggedMessage.from_row(row) for row in rows]

    async def for_conversation(self, conversation_id: int, limit: int = 50) -> list[LoggedMessage]:
        rows = await self._ex.fetchall(
            "SELECT * FROM (SELECT * FROM messages WHERE conversation_id = ? ORDER BY id DESC "
            "LIMIT ?) AS recent ORDER BY id",
            (conversation_id, limit),
        )
        return [LoggedMessage.from_row(row) for row in rows]

    async def attach_recent_to_ticket(
        self, conversation_id: int, ticket_id: int, since: float
    ) -> None:
        """Make the dialog that led to a ticket part of its transcript."""
        await self._ex.execute(
            "UPDATE messages SET ticket_id = ? WHERE conversation_id = ? AND ticket_id IS NULL "
            "AND created_at >= ?",
            (ticket_id, conversation_id, since),
        )

    async def last_inbound_id(
        self, channel: str, user_id: str, until: float, prefix: str = ""
    ) -> str | None:
        """The external id (starting with `prefix`) of the customer's last message logged
        at or before `until`."""
        row = await self._ex.fetchone(
            "SELECT m.external_id FROM messages m JOIN conversations c "
            "ON c.id = m.conversation_id WHERE c.channel = ? AND c.user_id = ? "
            "AND m.direction = ? AND m.external_id LIKE ? AND m.created_at <= ? "
            "ORDER BY m.id DESC LIMIT 1",
            (channel, user_id, IN, f"{prefix}%", until),
        )
        return str(row["external_id"]) if row else None

    async def text_of(self, conversation_id: int, external_id: str) -> str | None:
        """The text of a message by its channel id (`tg:…`, `vk:…`), if it was logged."""
        row = await self._ex.fetchone(
            "SELECT text FROM messages WHERE conversation_id = ? AND external_id = ?",
            (conversation_id, external_id),
        )
        return str(row["text"]) if row else None

    async def customer_messages(
        self, since: float | None = None, until: float | None = None
    ) -> list[LoggedMessage]:
        rows = await self._ex.fetchall(
            "SELECT * FROM messages WHERE direction = ? AND created_at >= ? AND created_at < ? "
            "ORDER BY id",
            (IN, since if since is not None else 0.0, until if until is not None else 1e18),
        )
        return [LoggedMessage.from_row(row) for row in rows]
