"""Demo orders from `config/orders_demo.yaml`, for trying the bot without a shop API.

The demo keeps the same contract as the shop's API (`core.orders.actions`): it answers
lookups and performs the self-service actions in memory, with the rules a shop would
apply (an order handed to delivery can no longer be cancelled, storage is extended once,
a return is started within the return window), refusing with a reason otherwise, and a
repeated idempotency key gets the first result without acting again. Dates in the file
may be relative to today (`today`, `today+2`, `today-5`) so the demo stays current.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from core.clock import Clock, SystemClock
from core.orders import actions as act
from core.orders import dates
from core.orders import states as st
from core.orders.actions import ActionResult
from core.orders.service import Order, OrderNotFound

STORAGE_EXTENSION_DAYS = 3


class DemoOrderService:
    def __init__(
        self,
        orders: dict[str, Order] | None = None,
        *,
        raw: list[dict[str, Any]] | None = None,
        clock: Clock | None = None,
        timezone: str = "Europe/Moscow",
    ) -> None:
        self._raw: dict[str, dict[str, Any]] = {}
        for order in (orders or {}).values():
            self._raw[order.number] = order_to_json(order)
        for entry in raw or []:
            self._raw[str(entry["number"])] = dict(entry)
        self._clock = clock or SystemClock()
        self._timezone = timezone
        self._results: dict[str, ActionResult] = {}
        self.performed: list[tuple[str, str, dict[str, str]]] = []  # what was really done

    @classmethod
    def from_file(
        cls, path: Path, clock: Clock | None = None, timezone: str = "Europe/Moscow"
    ) -> DemoOrderService:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        entries = [e for e in (raw or {}).get("orders", []) if isinstance(e, dict)]
        service = cls(raw=entries, clock=clock, timezone=timezone)
        for number in service._raw:  # fail at start-up on a malformed entry
            service._order(number)
        return service

    @property
    def orders(self) -> dict[str, Order]:
        return {number: self._order(number) for number in self._raw}

    async def get(self, number: str) -> Order:
        if number not in self._raw:
            raise OrderNotFound(number)
        return self._order(number)

    async def act(
        self, number: str, action: str, params: dict[str, str], idempotency_key: str
    ) -> ActionResult:
        if idempotency_key in self._results:
            return self._results[idempotency_key]
        if number not in self._raw:
            raise OrderNotFound(number)
        result = self._perform(number, action, params)
        self._results[idempotency_key] = result
        return result

    async def close(self) -> None:
        return None

    # ------------------------------------------------------------------ the shop's rules
    def _today(self) -> date:
        return dates.today(self._clock.now(), self._timezone)

    def _order(self, number: str) -> Order:
        today = self._today()
        entry = {key: dates.resolve(value, today) for key, value in self._raw[number].items()}
        order = Order.from_json(entry)
        if "actions" not in entry:
            order = Order.from_json({**entry, "actions": sorted(allowed_actions(order, today))})
        return order

    def _perform(self, number: str, action: str, params: dict[str, str]) -> ActionResult:
        order = self._order(number)
        if action not in act.ACTIONS:
            return ActionResult(act.REFUSED, code="not_allowed", reason="Такого действия нет.")
        if action not in order.actions:
            return ActionResult(
                act.REFUSED, code=_refusal_code(action, order), reason=_why_not(action, order)
            )
        today = self._today()
        entry = {k: dates.resolve(v, today) for k, v in self._raw[number].items()}
        message = ""
        if action == act.CANCEL:
            entry.update(state=st.CANCELLED, status="Отменён покупателем")
            if order.paid:
                entry["refund"] = {
                    "status": "pending",
                    "method": order.payment_method,
                    "started": today.isoformat(),
                }
            entry.pop("actions", None)
        elif action == act.CANCEL_ITEM:
            item = _item(order, params.get("item_id", ""))
            if item is None:
                return ActionResult(
                    act.REFUSED, code="not_allowed", reason="В заказе нет такого товара."
                )
            entry["items"] = [
                {"id": i.id, "title": i.title, "quantity": i.quantity}
                for i in order.items
                if i.id != item.id
            ]
        elif action == act.CHANGE_DATE:
            new_date = params.get("delivery_date", "")
            if new_date not in order.delivery_dates:
                return ActionResult(
                    act.REFUSED, code="not_allowed", reason="На эту дату доставить не получится."
                )
            entry["delivery_date"] = new_date
            entry["delivery_dates"] = [d for d in order.delivery_dates if d != new_date]
        elif action == act.CHANGE_PICKUP_POINT:
            point = next(
                (p for p in order.pickup_points if p.id == params.get("pickup_point_id")), None
            )
            if point is None:
                return ActionResult(
                    act.REFUSED, code="not_allowed", reason="Этот пункт выдачи недоступен."
                )
            entry["pickup_point"] = point.address
            entry["pickup_points"] = [
                {"id": p.id, "address": p.address} for p in order.pickup_points if p.id != point.id
            ]
        elif action == act.EXTEND_STORAGE:
            until = dates.parse(order.storage_until) or today
            new_until = until + timedelta(days=STORAGE_EXTENSION_DAYS)
            entry["storage_until"] = new_until.isoformat()
            entry["storage_extended"] = True
        elif action == act.START_RETURN:
            entry.update(
                state=st.RETURN_REQUESTED,
                status="Возврат оформлен: ожидает передачи товара в пункт выдачи",
            )
            message = (
                "Сдайте товар в любой пункт выдачи в течение 7 дней — с собой нужен только "
                "код возврата из приложения."
            )
        entry.pop("actions", None)
        self._raw[number] = entry
        self.performed.append((number, action, dict(params)))
        return ActionResult(act.DONE, order=self._order(number), message=message)


def allowed_actions(order: Order, today: date) -> set[str]:
    """What a shop would let the customer do with the order today."""
    allowed: set[str] = set()
    state = order.state
    if state in st.NOT_SHIPPED:
        allowed.add(act.CANCEL)
        if len(order.items) > 1:
            allowed.add(act.CANCEL_ITEM)
        if order.pickup_points:
            allowed.add(act.CHANGE_PICKUP_POINT)
    if order.delivery_dates and (state in st.NOT_SHIPPED or state in (st.IN_TRANSIT, st.DELAYED)):
        allowed.add(act.CHANGE_DATE)
    if state == st.AT_PICKUP_POINT and not order.storage_extended:
        allowed.add(act.EXTEND_STORAGE)
    if state == st.DELIVERED:
        received = dates.parse(order.delivered_at or order.delivery_date)
        if received is not None and today <= received + timedelta(days=order.return_days):
            allowed.add(act.START_RETURN)
    return allowed


def _item(order: Order, item_id: str) -> Any:
    return next((i for i in order.items if i.id == item_id), None)


def _refusal_code(action: str, order: Order) -> str:
    if action == act.START_RETURN and order.state == st.DELIVERED:
        return "too_late"
    if (
        action in (act.CANCEL, act.CANCEL_ITEM, act.CHANGE_PICKUP_POINT)
        and order.state not in st.NOT_SHIPPED
    ):
        return "too_late"
    return "not_allowed"


def _why_not(action: str, order: Order) -> str:
    state = order.state
    if action in (act.CANCEL, act.CANCEL_ITEM):
        if state == st.CANCELLED:
            return "Заказ уже отменён."
        if state in st.ON_THE_WAY or state == st.AT_PICKUP_POINT:
            return (
                "Заказ уже передан в доставку, отменить его нельзя — можно отказаться "
                "при получении."
            )
        if state == st.DELIVERED:
            return "Заказ уже получен — вместо отмены оформите возврат."
        return "Этот заказ отменить нельзя."
    if action == act.CHANGE_PICKUP_POINT:
        return "Заказ уже в пути к выбранному пункту выдачи — пункт поменять нельзя."
    if action == act.CHANGE_DATE:
        return "Для этого заказа дату доставки поменять нельзя."
    if action == act.EXTEND_STORAGE:
        if state == st.AT_PICKUP_POINT:
            return "Срок хранения уже продлевали — второй раз продлить нельзя."
        return "Продлить хранение можно, только когда заказ ждёт в пункте выдачи."
    if action == act.START_RETURN:
        if state == st.DELIVERED:
            return f"Срок возврата ({order.return_days} дней после получения) уже прошёл."
        return "Вернуть можно только полученный заказ."
    return "Это действие сейчас недоступно."


def order_to_json(order: Order) -> dict[str, Any]:
    """An `Order` as the order API sends it."""
    data: dict[str, Any] = {
        "number": order.number,
        "status": order.status,
        "state": order.state,
        "vip": order.vip,
        "return_days": order.return_days,
    }
    optional = {
        "delivery_date": order.delivery_date,
        "pickup_point": order.pickup_point,
        "delivered_at": order.delivered_at,
        "storage_until": order.storage_until,
        "delivery_method": order.delivery_method,
        "storage_extended": order.storage_extended,
    }
    data.update({k: v for k, v in optional.items() if v})
    if order.payment_method or order.paid is not None:
        data["payment"] = {"method": order.payment_method, "paid": order.paid}
    if order.refund is not None:
        data["refund"] = {k: v for k, v in vars(order.refund).items() if v is not None}
    if order.items:
        data["items"] = [
            {"id": i.id, "title": i.title, "quantity": i.quantity} for i in order.items
        ]
    if order.actions:
        data["actions"] = sorted(order.actions)
    if order.delivery_dates:
        data["delivery_dates"] = list(order.delivery_dates)
    if order.pickup_points:
        data["pickup_points"] = [{"id": p.id, "address": p.address} for p in order.pickup_points]
    return copy.deepcopy(data)
