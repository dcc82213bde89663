"""Where each customer's cases live on the operators' side: a forum topic per customer in
each operators' group, and which operators' message belongs to which ticket (for replies
in a plain group)."""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.database import Executor


@dataclass(frozen=True)
class ThreadRef:
    conversation_id: int
    chat_id: str
    thread_id: str


class ThreadRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def for_conversation(
        self, conversation_id: int, chat_id: str | None = None
    ) -> ThreadRef | None:
        """The customer's topic in group `chat_id` (any group's newest when None)."""
        if chat_id is None:
            row = await self._ex.fetchone(
                "SELECT * FROM operator_threads WHERE conversation_id = ? "
                "ORDER BY created_at DESC LIMIT 1",
                (conversation_id,),
            )
        else:
            row = await self._ex.fetchone(
                "SELECT * FROM operator_threads WHERE conversation_id = ? AND chat_id = ?",
                (conversation_id, chat_id),
            )
        if row is None:
            return None
        return ThreadRef(int(row["conversation_id"]), row["chat_id"], row["thread_id"])

    async def by_thread(self, chat_id: str, thread_id: str) -> ThreadRef | None:
        row = await self._ex.fetchone(
            "SELECT * FROM operator_threads WHERE chat_id = ? AND thread_id = ?",
            (chat_id, thread_id),
        )
        if row is None:
            return None
        return ThreadRef(int(row["conversation_id"]), row["chat_id"], row["thread_id"])

    async def save(self, conversation_id: int, chat_id: str, thread_id: str, now: float) -> None:
        await self._ex.execute(
            "INSERT INTO operator_threads (conversation_id, chat_id, thread_id, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id, chat_id) DO UPDATE SET "
            "thread_id = excluded.thread_id",
            (conversation_id, chat_id, thread_id, now),
        )

    async def remember_post(self, chat_id: str, message_id: str, ticket_id: int) -> None:
        await self._ex.execute(
            "INSERT INTO operator_posts (chat_id, message_id, ticket_id) VALUES (?, ?, ?) "
            "ON CONFLICT (chat_id, message_id) DO NOTHING",
            (chat_id, message_id, ticket_id),
        )

    async def ticket_of_post(self, chat_id: str, message_id: str) -> int | None:
        row = await self._ex.fetchone(
            "SELECT ticket_id FROM operator_posts WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return int(row["ticket_id"]) if row else None
