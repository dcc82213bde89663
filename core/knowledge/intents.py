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
