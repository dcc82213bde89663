"""The operators' desk: group members (roles cache), shifts, SLA alerts, cards and the
customer messages operators were shown."""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.database import Executor
from core.storage.messages import IN, LoggedMessage


@dataclass(frozen=True)
class Member:
    chat_id: str
    user_id: str
    status: str  # as Telegram says: creator, administrator, member, restricted, left, kicked
    username: str
    name: str
    checked_at: float
    noticed_at: float | None


@dataclass(frozen=True)
class OnShift:
    operator_id: str
    name: str
    last_assigned_at: float


class DeskRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    # ------------------------------------------------------------------ members
    async def member(self, chat_id: str, user_id: str) -> Member | None:
        row = await self._ex.fetchone(
            "SELECT * FROM desk_members WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
        )
        return _member(row) if row else None

    async def remember_member(
        self, chat_id: str, user_id: str, status: str, username: str, name: str, now: float
    ) -> None:
        await self._ex.execute(
            "INSERT INTO desk_members (chat_id, user_id, status, username, name, checked_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, user_id) DO UPDATE SET "
            "status = excluded.status, username = excluded.username, name = excluded.name, "
            "checked_at = excluded.checked_at",
            (chat_id, user_id, status, username.lower(), name, now),
        )

    async def by_username(self, chat_id: str, username: str) -> Member | None:
        row = await self._ex.fetchone(
            "SELECT * FROM desk_members WHERE chat_id = ? AND username = ? "
            "ORDER BY checked_at DESC LIMIT 1",
            (chat_id, username.lower().lstrip("@")),
        )
        return _member(row) if row else None

    async def mark_noticed(self, chat_id: str, user_id: str, now: float) -> bool:
        """True the first time (the outsider is to be told); False afterwards."""
        changed = await self._ex.execute(
            "UPDATE desk_members SET noticed_at = ? WHERE chat_id = ? AND user_id = ? "
            "AND noticed_at IS NULL",
            (now, chat_id, user_id),
        )
        return changed == 1

    # ------------------------------------------------------------------ shifts
    async def set_shift(
        self, department: str, operator_id: str, name: str, on: bool, now: float
    ) -> None:
        await self._ex.execute(
            "INSERT INTO desk_shifts (department, operator_id, name, on_shift, changed_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (department, operator_id) DO UPDATE SET "
            "name = excluded.name, on_shift = excluded.on_shift, changed_at = excluded.changed_at",
            (department, operator_id, name, int(on), now),
        )

    async def on_shift(self, department: str) -> list[OnShift]:
        """Operators on shift, the one assigned longest ago first."""
        rows = await self._ex.fetchall(
            "SELECT operator_id, name, last_assigned_at FROM desk_shifts "
            "WHERE department = ? AND on_shift = 1 ORDER BY last_assigned_at, changed_at, "
            "operator_id",
            (department,),
        )
        return [
            OnShift(str(r["operator_id"]), str(r["name"]), float(r["last_assigned_at"]))
            for r in rows
        ]

    async def assigned(self, department: str, operator_id: str, now: float) -> None:
        await self._ex.execute(
            "UPDATE desk_shifts SET last_assigned_at = ? WHERE department = ? AND operator_id = ?",
            (now, department, operator_id),
        )

    # ------------------------------------------------------------------ SLA
    async def raise_alert(self, ticket_id: int, target: str, level: str, now: float) -> bool:
        """True when this alert is new (to be sent); False when it was raised before."""
        added = await self._ex.execute(
            "INSERT INTO sla_alerts (ticket_id, target, level, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (ticket_id, target, level) DO NOTHING",
            (ticket_id, target, level, now),
        )
        return added == 1

    async def alerts(self, ticket_id: int) -> set[tuple[str, str]]:
        rows = await self._ex.fetchall(
            "SELECT target, level FROM sla_alerts WHERE ticket_id = ?", (ticket_id,)
        )
        return {(str(r["target"]), str(r["level"])) for r in rows}

    # ------------------------------------------------------------------ cards and posts
    async def remember_card(
        self, ticket_id: int, chat_id: str, message_id: str, now: float
    ) -> None:
        await self._ex.execute(
            "INSERT INTO desk_cards (ticket_id, chat_id, message_id, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id, chat_id) DO UPDATE SET "
            "message_id = excluded.message_id, created_at = excluded.created_at",
            (ticket_id, chat_id, message_id, now),
        )

    async def has_card(self, ticket_id: int) -> bool:
        row = await self._ex.fetchone(
            "SELECT 1 AS x FROM desk_cards WHERE ticket_id = ? LIMIT 1", (ticket_id,)
        )
        return row is not None

    async def last_message_id(self, ticket_id: int) -> int:
        """The newest message of the case so far (0 when it has none)."""
        row = await self._ex.fetchone(
            "SELECT MAX(id) AS last FROM messages WHERE ticket_id = ?", (ticket_id,)
        )
        return int(row["last"]) if row and row["last"] is not None else 0

    async def unshown(self, ticket_id: int, limit: int = 100) -> list[LoggedMessage]:
        """The case's customer messages operators have not been shown yet, oldest first."""
        rows = await self._ex.fetchall(
            "SELECT m.* FROM messages m WHERE m.ticket_id = ? AND m.direction = ? "
            "AND NOT EXISTS (SELECT 1 FROM desk_shown s WHERE s.message_id = m.id) "
            "ORDER BY m.id LIMIT ?",
            (ticket_id, IN, limit),
        )
        return [LoggedMessage.from_row(row) for row in rows]

    async def messages(self, ticket_id: int, message_ids: list[int]) -> list[LoggedMessage]:
        """Messages of the case by id, oldest first (ids of other cases are ignored)."""
        if not message_ids:
            return []
        marks = ", ".join("?" for _ in message_ids)
        rows = await self._ex.fetchall(
            f"SELECT * FROM messages WHERE ticket_id = ? AND id IN ({marks}) ORDER BY id",
            (ticket_id, *message_ids),
        )
        return [LoggedMessage.from_row(row) for row in rows]

    async def mark_shown(self, ticket_id: int, message_ids: list[int], now: float) -> None:
        for message_id in message_ids:
            await self._ex.execute(
                "INSERT INTO desk_shown (message_id, ticket_id, shown_at) VALUES (?, ?, ?) "
                "ON CONFLICT (message_id) DO NOTHING",
                (message_id, ticket_id, now),
            )

    async def shown_ids(self, ticket_id: int) -> set[int]:
        rows = await self._ex.fetchall(
            "SELECT message_id FROM desk_shown WHERE ticket_id = ?", (ticket_id,)
        )
        return {int(r["message_id"]) for r in rows}


def _member(row: dict[str, object]) -> Member:
    noticed = row.get("noticed_at")
    return Member(
        chat_id=str(row["chat_id"]),
        user_id=str(row["user_id"]),
        status=str(row["status"]),
        username=str(row["username"]),
        name=str(row["name"]),
        checked_at=float(row["checked_at"]),  # type: ignore[arg-type]
        noticed_at=float(noticed) if noticed is not None else None,  # type: ignore[arg-type]
    )
