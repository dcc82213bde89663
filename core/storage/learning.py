"""Operators' labels on customer messages: examples for retraining the classifier."""

from __future__ import annotations

from core.storage.database import Executor


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
