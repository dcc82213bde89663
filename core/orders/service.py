"""The order-service interface the engine looks orders up and acts on orders through.

An order (`core.orders.model.Order`) is what `GET {ORDERS_API_URL}/orders/{number}`
returns; the actions are `core.orders.actions`.
"""

from __future__ import annotations

from typing import Protocol

from core.orders.actions import ActionResult
from core.orders.model import Item, Order, PickupPoint, Refund

__all__ = [
    "Item",
    "Order",
    "OrderActionService",
    "OrderNotFound",
    "OrderService",
    "OrderServiceUnavailable",
    "PickupPoint",
    "Refund",
]


class OrderNotFound(Exception):
    """The shop does not know this number."""


class OrderServiceUnavailable(Exception):
    """The shop's order service failed: timeout, 5xx, bad JSON."""


class OrderService(Protocol):
    async def get(self, number: str) -> Order:
        """The order, or raise `OrderNotFound` / `OrderServiceUnavailable`."""
        ...


class OrderActionService(OrderService, Protocol):
    """An order service that can also act on orders (`core.orders.actions`)."""

    async def act(
        self, number: str, action: str, params: dict[str, str], idempotency_key: str
    ) -> ActionResult: ...
