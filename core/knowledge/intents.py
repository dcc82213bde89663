"""The intent taxonomy (docs/intents.md): the names are a public interface."""

from __future__ import annotations

INTENTS: tuple[str, ...] = (
    "greeting",
    "thanks",
    "operator",
    "order_status",
    "order_placement",
    "payment",
    "order_cancel",
    "delivery_change",
    "return_item",
    "refund",
    "promo_code",
    "bonuses",
    "product_info",
    "contact_seller",
    "courier_complaint",
    "damaged_item",
    "not_received",
    "tech_issue",
    "account",
    "contacts",
    "out_of_scope",
)

# Intents that are answered about one particular order: the bot asks for its number.
NEEDS_ORDER = frozenset({"order_status", "order_cancel", "delivery_change", "refund"})
# Complaints: apology, clarifying questions, then a ticket ahead of ordinary questions.
COMPLAINTS = frozenset({"courier_complaint", "damaged_item", "not_received"})
# Complaints about a product, where a photo helps the operator.
NEEDS_PHOTO = frozenset({"damaged_item"})
# Close intents: real customers' words often fit two of one family (a defect, its return
# and its money; where an order is and what went wrong on its way), so the dialog asks
# between two of a family unless one is clearly ahead (issue 21).
FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"damaged_item", "return_item", "refund", "order_cancel"}),
    frozenset({"order_status", "courier_complaint", "delivery_change", "not_received"}),
)


def same_family(first: str, second: str) -> bool:
    return any(first in family and second in family for family in FAMILIES)
