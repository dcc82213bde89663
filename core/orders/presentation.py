"""An order as the customer sees it: number, status, delivery date, pickup point."""

from __future__ import annotations

from core.knowledge.base import Texts
from core.orders.service import Order
from core.orders.states import AT_PICKUP_POINT, DELIVERED, RETURN_REQUESTED, RETURNED

_MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip


def order_text(texts: Texts, order: Order) -> str:
    delivered = order.state in (DELIVERED, RETURN_REQUESTED, RETURNED)
    date_key = "order_delivered_line" if delivered else "order_date_line"
    day = order.delivered_at if delivered and order.delivered_at else order.delivery_date
    date_line = texts.format(date_key, date=russian_date(day)) if day else ""
    pickup_line = (
        texts.format("order_pickup_line", pickup_point=order.pickup_point)
        if order.pickup_point
        else ""
    )
    if order.storage_until and order.state == AT_PICKUP_POINT:
        pickup_line += texts.format("order_storage_line", date=russian_date(order.storage_until))
    return texts.format(
        "order_status",
        number=order.number,
        status=order.status,
        date_line=date_line,
        pickup_line=pickup_line,
    )


def russian_date(value: str | None) -> str:
    """`2026-12-02` → `2 декабря 2026`; anything else is shown as given."""
    if not value:
        return ""
    parts = value.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and 1 <= int(parts[1]) <= 12:
        return f"{int(parts[2])} {_MONTHS[int(parts[1]) - 1]} {parts[0]}"
    return value
