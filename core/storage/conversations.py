"""Conversations: one per customer (channel + id), holding the dialog's step and slots.

The step and the slots are typed (`core.conversation.state`); in the row they are the
step's name and the slots' JSON object, as earlier versions wrote them.

`version` grows with every write to a conversation or to its tickets. A turn reads the
conversation, decides, and writes it back only if the version is still the one it read
(`claim_version`); otherwise the turn is decided again on fresh state. Operator actions
take the same row first (`touch`), which in PostgreSQL also locks it until they commit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from core.conversation.state import Slots, Step
from core.storage.database import Executor, Row
from core.storage.text import storable
from core.storage.tickets import CLOSED, Ticket
from core.types import CustomerRef

log = logging.getLogger(__name__)


@dataclass
class Conversation:
    id: int
    channel: str
    user_id: str
    name: str = ""
    profile_url: str = ""
    step: Step = Step.IDLE
    slots: Slots = field(default_factory=Slots)
    misunderstandings: int = 0
    vip: bool = False
    manager: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    version: int = 0

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
            step=Step.parse(row["step"]),
            slots=Slots.from_json(_json_object(row["slots"])),
            misunderstandings=int(row["misunderstandings"]),
            vip=bool(row["vip"]),
            manager=row["manager"],
            created_at=float(row["created_at"]),
            updated_at=float(row["updated_at"]),
            version=int(row["version"]),
        )


@dataclass
class TurnState:
    """What a turn starts from, read in one round trip."""

    conversation: Conversation | None
    open_ticket: Ticket | None
    seen: bool  # the update's external id is claimed already


_TICKET_COLUMNS = ", ".join(f"t.{name} AS t_{name}" for name in Ticket.__dataclass_fields__)
_TURN_STATE = (
    "SELECT c.*, " + _TICKET_COLUMNS + ", "
    "(SELECT 1 FROM claims WHERE external_id = ?) AS seen "
    "FROM (SELECT CAST(? AS TEXT) AS channel_key, CAST(? AS TEXT) AS user_key) k "
    "LEFT JOIN conversations c ON c.channel = k.channel_key AND c.user_id = k.user_key "
    # The literal lets SQLite use the partial index of open tickets (a bound parameter
    # cannot prove the index's condition: a scan, ten times slower).
    f"LEFT JOIN tickets t ON t.conversation_id = c.id AND t.status <> '{CLOSED}'"
)


class ConversationRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def get_or_create(
        self, customer: CustomerRef, now: float, name: str = "", profile_url: str = ""
    ) -> Conversation:
        found = await self.find(customer)
        if found is not None:
            return found
        await self.create(customer, now, name, profile_url)
        created = await self.find(customer)
        assert created is not None
        return created

    async def create(
        self, customer: CustomerRef, now: float, name: str = "", profile_url: str = ""
    ) -> None:
        """The customer's conversation, unless they have one already."""
        await self._ex.execute(
            "INSERT INTO conversations (channel, user_id, name, profile_url, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, user_id) DO NOTHING",
            (customer.channel, customer.user_id, storable(name), storable(profile_url), now, now),
        )

    async def turn_state(self, customer: CustomerRef, external_id: str | None) -> TurnState:
        """The conversation, its open ticket and whether the update was applied before."""
        row = await self._ex.fetchone(
            _TURN_STATE, (external_id or "", customer.channel, customer.user_id)
        )
        assert row is not None  # the derived table always gives one row
        conversation = Conversation.from_row(row) if row["id"] is not None else None
        ticket = None
        if row["t_id"] is not None:
            ticket = Ticket.from_row(
                {name: row[f"t_{name}"] for name in Ticket.__dataclass_fields__}
            )
        return TurnState(conversation, ticket, bool(row["seen"]) and bool(external_id))

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

    async def claim_version(self, conv: Conversation) -> bool:
        """Take the conversation for this transaction if nobody wrote it since it was read
        (PostgreSQL: the row stays locked until commit). False: decide again."""
        taken = await self._ex.execute(
            "UPDATE conversations SET version = version + 1 WHERE id = ? AND version = ?",
            (conv.id, conv.version),
        )
        if taken:
            conv.version += 1
        return taken == 1

    async def touch(self, conversation_id: int) -> None:
        """An operator action on this conversation or its tickets: turns that read it
        before decide again (PostgreSQL: the row stays locked until commit)."""
        await self._ex.execute(
            "UPDATE conversations SET version = version + 1 WHERE id = ?", (conversation_id,)
        )

    async def save(self, conv: Conversation, now: float) -> None:
        """Write the conversation's state (call after `claim_version` or `touch` in the
        same transaction)."""
        conv.updated_at = now
        await self._ex.execute(
            f"UPDATE conversations SET {_STATE} WHERE id = ?", (*_state_of(conv, now), conv.id)
        )

    async def save_claimed(self, conv: Conversation, now: float) -> bool:
        """`claim_version` and `save` in one statement: write the conversation's state if
        nobody wrote it since it was read (PostgreSQL: the row stays locked until commit).
        False: decide again."""
        taken = await self._ex.execute(
            f"UPDATE conversations SET {_STATE}, version = version + 1 "
            "WHERE id = ? AND version = ?",
            (*_state_of(conv, now), conv.id, conv.version),
        )
        if taken:
            conv.version += 1
            conv.updated_at = now
        return taken == 1

    async def count(self) -> int:
        row = await self._ex.fetchone("SELECT COUNT(*) AS n FROM conversations")
        return int(row["n"]) if row else 0


_STATE = (
    "step = ?, slots = ?, misunderstandings = ?, vip = ?, manager = ?, name = ?, "
    "profile_url = ?, updated_at = ?"
)


def _state_of(conv: Conversation, now: float) -> tuple[object, ...]:
    """The values of `_STATE`."""
    return (
        str(conv.step),
        json.dumps(conv.slots.to_json(), ensure_ascii=False),
        conv.misunderstandings,
        int(conv.vip),
        conv.manager,
        storable(conv.name),
        storable(conv.profile_url),
        now,
    )


def _json_object(stored: str | None) -> Any:
    """The stored slots; a value that is not JSON reads as no slots (logged)."""
    try:
        return json.loads(stored or "{}")
    except ValueError:
        log.warning("conversation slots are not JSON; read as empty")
        return {}
