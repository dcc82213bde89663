"""Demo orders from `config/orders_demo.yaml`, for trying the bot without a shop API."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.orders.service import Order, OrderNotFound


class DemoOrderService:
    def __init__(self, orders: dict[str, Order]) -> None:
        self.orders = orders

    @classmethod
    def from_file(cls, path: Path) -> DemoOrderService:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        orders = [Order.from_json(item) for item in (raw or {}).get("orders", [])]
        return cls({order.number: order for order in orders})

    async def get(self, number: str) -> Order:
        order = self.orders.get(number)
        if order is None:
            raise OrderNotFound(number)
        return order

    async def close(self) -> None:
        return None
