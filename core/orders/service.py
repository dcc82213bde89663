"""The order-service interface the engine looks orders up through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Order:
    number: str
    status: str
    delivery_date: str | None = None  # YYYY-MM-DD
    pickup_point: str | None = None
    vip: bool = False

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Order:
        if not isinstance(raw, dict):
            raise ValueError("an order must be a JSON object")
        number, status = raw.get("number"), raw.get("status")
        if not isinstance(number, str) or not isinstance(status, str) or not status.strip():
            raise ValueError("an order needs text fields 'number' and 'status'")
        date = raw.get("delivery_date")
        pickup = raw.get("pickup_point")
        return cls(
            number=number,
            status=status.strip(),
            delivery_date=str(date) if date else None,
            pickup_point=str(pickup) if pickup else None,
            vip=bool(raw.get("vip", False)),
        )


class OrderNotFound(Exception):
    """The shop does not know this number."""


class OrderServiceUnavailable(Exception):
    """The shop's order service failed: timeout, 5xx, bad JSON."""


class OrderService(Protocol):
    async def get(self, number: str) -> Order:
        """The order, or raise `OrderNotFound` / `OrderServiceUnavailable`."""
        ...
