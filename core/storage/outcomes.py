"""What the bot solved by itself and the self-service actions it sent to the shop."""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.storage.database import Executor

ANSWERED = "answered"  # a question answered from the knowledge base or the order
HELPED = "helped"  # the customer pressed «Помогло»
SELF_SERVICE = "self_service"  # a self-service action done through the shop's API


@dataclass(frozen=True)
class OrderAction:
    conversation_id: int
    order_number: str
    action: str
    params: dict[str, str]
    idempotency_key: str
    outcome: str
    detail: str
    created_at: float


class OutcomeRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def add(self, conversation_id: int, kind: str, intent: str | None, now: float) -> None:
        await self._ex.execute(
            "INSERT INTO bot_outcomes (conversation_id, kind, intent, created_at) "
            "VALUES (?, ?, ?, ?)",
            (conversation_id, kind, intent, now),
        )

    async def between(self, since: float, until: float) -> list[tuple[int, str]]:
        """(conversation id, kind) of every outcome in [since, until)."""
        rows = await self._ex.fetchall(
            "SELECT conversation_id, kind FROM bot_outcomes WHERE created_at >= ? "
            "AND created_at < ? ORDER BY id",
            (since, until),
        )
        return [(int(row["conversation_id"]), str(row["kind"])) for row in rows]

    async def add_action(
        self,
        conversation_id: int,
        order_number: str,
        action: str,
        params: dict[str, str],
        idempotency_key: str,
        outcome: str,
        detail: str,
        now: float,
    ) -> None:
        await self._ex.execute(
            "INSERT INTO order_actions (conversation_id, order_number, action, params, "
            "idempotency_key, outcome, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                order_number,
                action,
                json.dumps(params, ensure_ascii=False),
                idempotency_key,
                outcome,
                detail,
                now,
            ),
        )

    async def actions(self, since: float = 0.0, until: float = 1e18) -> list[OrderAction]:
        rows = await self._ex.fetchall(
            "SELECT * FROM order_actions WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (since, until),
        )
        return [
            OrderAction(
                conversation_id=int(row["conversation_id"]),
                order_number=row["order_number"],
                action=row["action"],
                params=json.loads(row["params"] or "{}"),
                idempotency_key=row["idempotency_key"],
                outcome=row["outcome"],
                detail=row["detail"],
                created_at=float(row["created_at"]),
            )
            for row in rows
        ]
