"""What an order is, as the shop's order API describes it (README, "The order API"):
`number` and `status` (the words shown to the customer) are required; the other fields
let the bot answer about *this* order (can it still be cancelled, how many days of the
return window are left, when the refund is due) and offer self-service actions. A field
the shop does not send is simply unknown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.orders.states import STATES, StatusWords, state_from_status


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    quantity: int = 1


@dataclass(frozen=True)
class PickupPoint:
    id: str
    address: str


@dataclass(frozen=True)
class Refund:
    status: str = "pending"  # pending | done
    method: str | None = None  # card | sbp | wallet | cash
    started: str | None = None  # YYYY-MM-DD: the day the refund was approved
    due_date: str | None = None  # YYYY-MM-DD: the shop's own promise, when it gives one
    amount: float | None = None


@dataclass(frozen=True)
class Order:
    number: str
    status: str
    delivery_date: str | None = None  # YYYY-MM-DD
    pickup_point: str | None = None
    vip: bool = False
    state: str = "unknown"  # one of core.orders.states.STATES
    delivered_at: str | None = None  # YYYY-MM-DD: the day the customer got it
    storage_until: str | None = None  # YYYY-MM-DD: last day at the pickup point
    storage_extended: bool = False  # the storage was extended once already
    delivery_method: str | None = None  # pickup | courier
    payment_method: str | None = None  # card | sbp | wallet | on_delivery
    paid: bool | None = None
    refund: Refund | None = None
    return_days: int = 7
    items: tuple[Item, ...] = ()
    actions: frozenset[str] = frozenset()  # what the shop's API lets the customer do now
    delivery_dates: tuple[str, ...] = ()  # dates offered for change_date
    pickup_points: tuple[PickupPoint, ...] = ()  # points offered for change_pickup_point

    @classmethod
    def from_json(cls, raw: dict[str, Any], words: StatusWords | None = None) -> Order:
        """The order the API sent; without a `state`, it is read from the status words
        (`words`, the shipped rules by default)."""
        if not isinstance(raw, dict):
            raise ValueError("an order must be a JSON object")
        number, status = raw.get("number"), raw.get("status")
        if not isinstance(number, str) or not isinstance(status, str) or not status.strip():
            raise ValueError("an order needs text fields 'number' and 'status'")
        status = status.strip()
        state = raw.get("state")
        if not isinstance(state, str) or state not in STATES:
            state = state_from_status(status, words)
        payment: dict[str, Any] = raw["payment"] if isinstance(raw.get("payment"), dict) else {}
        return cls(
            number=number,
            status=status,
            delivery_date=_text(raw.get("delivery_date")),
            pickup_point=_text(raw.get("pickup_point")),
            vip=bool(raw.get("vip", False)),
            state=state,
            delivered_at=_text(raw.get("delivered_at")),
            storage_until=_text(raw.get("storage_until")),
            storage_extended=bool(raw.get("storage_extended", False)),
            delivery_method=_text(raw.get("delivery_method")),
            payment_method=_text(payment.get("method")),
            paid=payment.get("paid") if isinstance(payment.get("paid"), bool) else None,
            refund=_refund(raw.get("refund")),
            return_days=_int(raw.get("return_days"), 7),
            items=tuple(
                Item(str(i["id"]), str(i.get("title") or i["id"]), _int(i.get("quantity"), 1))
                for i in _list(raw.get("items"))
                if isinstance(i, dict) and i.get("id") is not None
            ),
            actions=frozenset(str(a) for a in _list(raw.get("actions")) if isinstance(a, str)),
            delivery_dates=tuple(str(d) for d in _list(raw.get("delivery_dates")) if d),
            pickup_points=tuple(
                PickupPoint(str(p["id"]), str(p.get("address") or p["id"]))
                for p in _list(raw.get("pickup_points"))
                if isinstance(p, dict) and p.get("id") is not None
            ),
        )


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _refund(raw: object) -> Refund | None:
    if not isinstance(raw, dict):
        return None
    amount = raw.get("amount")
    return Refund(
        status=str(raw.get("status") or "pending"),
        method=_text(raw.get("method")),
        started=_text(raw.get("started")),
        due_date=_text(raw.get("due_date")),
        amount=float(amount) if isinstance(amount, int | float) else None,
    )
