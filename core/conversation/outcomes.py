"""Stores what a turn solved by itself, in the engine's transaction for that turn.

The dialog only notes outcomes on the `Turn` (`outcomes`, `order_actions`); the engine
calls `record_turn` while it writes the turn, so a decision repeated after a database
conflict is stored once, with everything else the turn wrote.
"""

from __future__ import annotations

from core.conversation.turn import Turn
from core.storage import Storage


async def record_turn(tx: Storage, turn: Turn, now: float) -> None:
    conv_id = turn.conversation.id
    for kind in dict.fromkeys(turn.outcomes):  # once per kind per turn
        await tx.outcomes.add(conv_id, kind, turn.intent, now)
    for action in turn.order_actions:
        params = action.get("params")
        await tx.outcomes.add_action(
            conv_id,
            str(action["order_number"]),
            str(action["action"]),
            {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {},
            str(action["idempotency_key"]),
            str(action["outcome"]),
            str(action.get("detail") or ""),
            now,
        )
