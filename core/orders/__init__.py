"""Order numbers, the order service (the shop's HTTP API or the demo file) and the
self-service actions on an order (`core.orders.actions`); where an order is (`states`),
what applies to it (`advice`), how it is shown (`presentation`) and which topics fit it
(`follow_ups`)."""

from __future__ import annotations

from pathlib import Path

from core.clock import Clock
from core.orders.actions import ActionResult
from core.orders.demo import DemoOrderService
from core.orders.http_api import HttpOrderService
from core.orders.numbers import find_order_number, looks_like_order_attempt
from core.orders.service import (
    Order,
    OrderActionService,
    OrderNotFound,
    OrderService,
    OrderServiceUnavailable,
)
from core.orders.states import StatusWords

__all__ = [
    "ActionResult",
    "DemoOrderService",
    "HttpOrderService",
    "Order",
    "OrderActionService",
    "OrderNotFound",
    "OrderService",
    "OrderServiceUnavailable",
    "find_order_number",
    "looks_like_order_attempt",
    "make_order_service",
]


def make_order_service(
    api_url: str | None,
    demo_file: Path,
    timeout: float = 5.0,
    token: str | None = None,
    *,
    clock: Clock | None = None,
    timezone: str = "Europe/Moscow",
    knowledge_dir: Path | None = None,
) -> HttpOrderService | DemoOrderService:
    """The shop's API at `api_url`, else the demo orders of `demo_file`; status words are
    read by the rules of `knowledge_dir`'s order_states.yaml (or the shipped ones)."""
    words = StatusWords.in_folder(knowledge_dir)
    if api_url:
        return HttpOrderService(api_url, timeout=timeout, token=token, status_words=words)
    return DemoOrderService.from_file(demo_file, clock=clock, timezone=timezone, status_words=words)
