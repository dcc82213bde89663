"""Conversations: one per customer (channel + id), holding the dialog's step and slots."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.storage.database import Executor, Row
from core.types import CustomerRef


@dataclass
class Conversation:
    id: int
    channel: str
    user_id: str
    name: str = ""
    profile_url: str = ""
    step: str = "idle"
    slots: dict[str, Any] = field(default_factory=dict)
    misunderstandings: int = 0
    vip: bool = False
    manager: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def customer(self) -> CustomerRef:
        return CustomerRef(self.channel, self.user_id)

    @classmethod
    def from_row(cls, row: Row) -> Conversation:
        return cls(
            id=int(row["id"]),
            channel=row["channel"],
            user_id=row["user_id"],
            name=row["name"],
            profile_url=row["profile_url"],
            step=row["step"],
            slots=json.loads(row["slots"] or "{}"),
            misunderstandings=int(row["misunderstandings"]),
            vip=bool(row["vip"]),
            manager=row["manager"],
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
        )


class ConversationRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def get_or_create(
        self, customer: CustomerRef, now: float, name: str = "", profile_url: str = ""
    ) -> Conversation:
        found = await self.find(customer)
        if found is not None:
            if (name and name != found.name) or (profile_url and profile_url != found.profile_url):
                found.name = name or found.name
                found.profile_url = profile_url or found.profile_url
                await self._ex.execute(
                    "UPDATE conversations SET name = ?, profile_url = ? WHERE id = ?",
                    (found.name, found.profile_url, found.id),
                )
            return found
        await self._ex.execute(
            "INSERT INTO conversations (channel, user_id, name, profile_url, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, user_id) DO NOTHING",
            (customer.channel, customer.user_id, name, profile_url, now, now),
        )
        created = await self.find(customer)
        assert created is not None
        return created

    async def find(self, customer: CustomerRef) -> Conversation | None:
        row = await self._ex.fetchone(
            "SELECT * FROM conversations WHERE channel = ? AND user_id = ?",
            (customer.channel, customer.user_id),
        )
        return Conversation.from_row(row) if row else None

    async def get(self, conversation_id: int) -> Conversation | None:
        row = await self._ex.fetchone(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        )
        return Conversation.from_row(row) if row else None

    async def save(self, conv: Conversation, now: float) -> None:
        conv.updated_at = now
        await self._ex.execute(
            "UPDATE conversations SET step = ?, slots = ?, misunderstandings = ?, vip = ?, "
            "manager = ?, name = ?, updated_at = ? WHERE id = ?",
            (
                conv.step,
                json.dumps(conv.slots, ensure_ascii=False),
                conv.misunderstandings,
                int(conv.vip),
                conv.manager,
                conv.name,
                now,
                conv.id,
            ),
        )

    async def count(self) -> int:
        row = await self._ex.fetchone("SELECT COUNT(*) AS n FROM conversations")
        return int(row["n"]) if row else 0
