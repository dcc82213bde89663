"""What one customer message leads to, gathered before anything is written.

The dialog decides (it may call the order service and the classifier, which take time);
the engine then writes the whole turn in one transaction: the message log, the
conversation's new state, a ticket and the outbox rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.conversation.state import Slots
from core.desk.escalation import EscalationRequest
from core.storage import Conversation, Ticket
from core.types import Inbound, Reply

if TYPE_CHECKING:
    from core.abuse.screening import Screening


@dataclass
class Turn:
    inbound: Inbound
    conversation: Conversation
    open_ticket: Ticket | None
    now: float = 0.0
    intent: str | None = None
    confidence: float | None = None
    normalized: str = ""
    replies: list[Reply] = field(default_factory=list)
    escalation: EscalationRequest | None = None
    # The inbound message goes to the open ticket's operators (attached, not answered).
    forward_to_operators: bool = False
    mark_conflict: bool = False
    rating: tuple[int, int] | None = None  # (ticket id, score)
    rating_comment: tuple[int, str] | None = None
    case: int | None = None  # the ticket the turn belongs to, once written (for the log)
    pick: tuple[str, str] | None = None  # (message, topic) a customer picked: a new label
    # What the bot solved by itself ("answered", "helped", "self_service") and the
    # self-service actions sent to the shop's API; stored by `core.conversation.outcomes`.
    outcomes: list[str] = field(default_factory=list)
    order_actions: list[dict[str, object]] = field(default_factory=list)
    abuse: Screening | None = None  # blocks, limits and spam found (`core.abuse.guard`)
    message_id: int | None = None  # the customer's message, once logged

    @property
    def slots(self) -> Slots:
        return self.conversation.slots

    def say(self, reply: Reply) -> None:
        self.replies.append(reply)
