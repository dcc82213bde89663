"""Operators' labels on customer messages: examples for retraining the classifier."""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.database import Executor


@dataclass(frozen=True)
class LabelledMessage:
    """A labelled customer message with who labelled it and what the bot made of it
    when it was written (the intent and confidence logged with it)."""

    text: str
    intent: str
    labelled_by: str
    logged_intent: str | None
    logged_confidence: float | None


class LabelRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def label(self, message_id: int, intent: str, operator: str, now: float) -> None:
        await self._ex.execute(
            "INSERT INTO intent_labels (message_id, intent, labelled_by, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET "
            "intent = excluded.intent, labelled_by = excluded.labelled_by, "
            "created_at = excluded.created_at",
            (message_id, intent, operator, now),
        )

    async def examples(self) -> list[tuple[str, str]]:
        """(text, intent) for every labelled message, oldest first."""
        rows = await self._ex.fetchall(
            "SELECT m.text AS text, l.intent AS intent FROM intent_labels l "
            "JOIN messages m ON m.id = l.message_id ORDER BY l.created_at, l.message_id"
        )
        return [(str(row["text"]), str(row["intent"])) for row in rows]

    async def labelled(self) -> list[LabelledMessage]:
        """Every labelled message with its labeller and logged intent, oldest first."""
        rows = await self._ex.fetchall(
            "SELECT m.text AS text, l.intent AS intent, l.labelled_by AS labelled_by, "
            "m.intent AS logged_intent, m.confidence AS logged_confidence "
            "FROM intent_labels l JOIN messages m ON m.id = l.message_id "
            "ORDER BY l.created_at, l.message_id"
        )
        return [
            LabelledMessage(
                str(row["text"]),
                str(row["intent"]),
                str(row["labelled_by"]),
                None if row["logged_intent"] is None else str(row["logged_intent"]),
                None if row["logged_confidence"] is None else float(row["logged_confidence"]),
            )
            for row in rows
        ]

    async def suggest(
        self, conversation_id: int, text: str, intent: str, source: str, now: float
    ) -> bool:
        """Label the conversation's latest customer message with this text (a customer's
        pick of a clarifying question); an existing label, e.g. an operator's, is kept.
        True if a label was written."""
        row = await self._ex.fetchone(
            "SELECT id FROM messages WHERE conversation_id = ? AND direction = 'in' "
            "AND text = ? ORDER BY id DESC LIMIT 1",
            (conversation_id, text),
        )
        if row is None:
            return False
        exists = await self._ex.fetchone(
            "SELECT 1 AS one FROM intent_labels WHERE message_id = ?", (int(row["id"]),)
        )
        if exists is not None:
            return False
        await self._ex.execute(
            "INSERT INTO intent_labels (message_id, intent, labelled_by, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            (int(row["id"]), intent, source, now),
        )
        return True
