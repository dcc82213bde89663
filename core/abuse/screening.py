"""What the guard found for a turn (`core.abuse.guard`), carried on the turn
(`core.conversation.turn.Turn.abuse`) to the turn's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.abuse import CustomerState


@dataclass
class Screening:
    """What the guard found for a turn and what its transaction writes."""

    state: CustomerState
    kind: str | None = None  # limited | blocked | spam: the message's mark
    rule: str = ""
    muted_until: float = 0.0
    held_until: float = 0.0
    cases_told_until: float = 0.0
    ban_noticed: bool = False
    order_verified: bool | None = None  # a new case: its order found in the shop
