"""An order as the customer sees it: number, status, and the dates and place that fit
where the order is (a cancelled order has no delivery date to expect)."""

from __future__ import annotations

from core.knowledge.base import Texts
from core.orders import states as st
from core.orders.service import Order

# The day shown on the card: the one it was delivered, the one it is expected, or none
# (cancelled; waiting at the pickup point, where the storage's last day is shown).
DELIVERED_DAY = frozenset({st.DELIVERED, st.RETURN_REQUESTED, st.RETURNED})
NO_DAY = frozenset({st.CANCELLED, st.AT_PICKUP_POINT})
NO_PICKUP_POINT = frozenset({st.CANCELLED})


def order_text(texts: Texts, order: Order) -> str:
    return texts.format(
        "order_status",
        number=order.number,
        status=order.status,
        date_line=_date_line(texts, order),
        pickup_line=_pickup_line(texts, order),
    )


def _date_line(texts: Texts, order: Order) -> str:
    if order.state in NO_DAY:
        return ""
    if order.state in DELIVERED_DAY:
        day = order.delivered_at or order.delivery_date
        return texts.format("order_delivered_line", date=russian_date(texts, day)) if day else ""
    if not order.delivery_date:
        return ""
    return texts.format("order_date_line", date=russian_date(texts, order.delivery_date))


def _pickup_line(texts: Texts, order: Order) -> str:
    line = ""
    if order.pickup_point and order.state not in NO_PICKUP_POINT:
        line = texts.format("order_pickup_line", pickup_point=order.pickup_point)
    if order.storage_until and order.state == st.AT_PICKUP_POINT:
        line += texts.format("order_storage_line", date=russian_date(texts, order.storage_until))
    return line


def russian_date(texts: Texts, value: str | None) -> str:
    """`2026-12-02` as the day, the month's name (`months` in texts.yaml) and the year;
    anything else is shown as given."""
    if not value:
        return ""
    parts = value.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and 1 <= int(parts[1]) <= 12:
        month = texts.items("months", 12)[int(parts[1]) - 1]
        return f"{int(parts[2])} {month} {parts[0]}"
    return value
