"""Where an order is in its life, as one word the bot can reason with.

The shop's API may send it (`"state"`); otherwise it is read from the status words the
customer sees, by the rules of `order_states.yaml` (`StatusWords`).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from core.knowledge.folding import fold
from core.knowledge.texts import KnowledgeError

AWAITING_PAYMENT = "awaiting_payment"  # placed, not paid yet
CREATED = "created"  # placed (and paid, or paid on delivery), not yet picked
ASSEMBLING = "assembling"  # being picked and packed at the warehouse
IN_TRANSIT = "in_transit"  # handed to delivery, on its way
DELAYED = "delayed"  # on its way, late
COURIER = "courier"  # with the courier, arriving in the chosen slot
AT_PICKUP_POINT = "at_pickup_point"  # waiting for the customer at the pickup point
DELIVERED = "delivered"  # the customer got it
CANCELLED = "cancelled"
RETURN_REQUESTED = "return_requested"  # a return is open, the item not handed back yet
RETURNED = "returned"  # the item is back, the money is (being) refunded
UNKNOWN = "unknown"

STATES = frozenset(
    {
        AWAITING_PAYMENT,
        CREATED,
        ASSEMBLING,
        IN_TRANSIT,
        DELAYED,
        COURIER,
        AT_PICKUP_POINT,
        DELIVERED,
        CANCELLED,
        RETURN_REQUESTED,
        RETURNED,
        UNKNOWN,
    }
)

# Not yet handed to delivery: the order can still be cancelled or redirected.
NOT_SHIPPED = frozenset({AWAITING_PAYMENT, CREATED, ASSEMBLING})
# On the way to the customer.
ON_THE_WAY = frozenset({IN_TRANSIT, DELAYED, COURIER})
# The customer has (or could have) the parcel in hand.
RECEIVED = frozenset({DELIVERED})
CLOSED = frozenset({CANCELLED, RETURN_REQUESTED, RETURNED})


class StatusWords:
    """Rules that read a state from the status words (`order_states.yaml` in the knowledge
    folder): the first whose pattern is found in the status wins."""

    def __init__(self, rules: list[tuple[str, str]], source: str = "order_states.yaml") -> None:
        self.rules: list[tuple[re.Pattern[str], str]] = []
        for state, pattern in rules:
            if state not in STATES:
                raise KnowledgeError(f"{source}: unknown state '{state}'")
            try:
                self.rules.append((re.compile(pattern), state))
            except re.error as exc:
                raise KnowledgeError(f"{source}: {state}: bad pattern ({exc})") from None

    @classmethod
    def load(cls, path: Path) -> StatusWords:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeError(f"{path}: cannot be read ({exc})") from None
        rules = raw.get("rules") if isinstance(raw, dict) else None
        if not isinstance(rules, list) or not all(
            isinstance(r, list) and len(r) == 2 for r in rules
        ):
            raise KnowledgeError(f"{path}: expected `rules:` as a list of [state, pattern]")
        return cls([(str(state), str(pattern)) for state, pattern in rules], str(path))

    @classmethod
    def in_folder(cls, folder: Path | None) -> StatusWords:
        """The folder's `order_states.yaml`, or the shipped one when it has none."""
        if folder is not None and (folder / FILE).exists():
            return cls.load(folder / FILE)
        return shipped_status_words()

    def state_of(self, status: str) -> str:
        """The state the status words describe, or `unknown`."""
        text = fold(status)
        for pattern, state in self.rules:
            if pattern.search(text):
                return state
        return UNKNOWN


FILE = "order_states.yaml"
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "knowledge" / FILE


@functools.cache
def shipped_status_words() -> StatusWords:
    return StatusWords.load(SHIPPED)


def state_from_status(status: str, words: StatusWords | None = None) -> str:
    """The state the status words describe (the shipped rules unless `words` are given)."""
    return (words or shipped_status_words()).state_of(status)
