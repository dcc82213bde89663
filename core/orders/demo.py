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
import functools
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from core.clock import Clock, SystemClock
from core.knowledge.texts import KnowledgeError, Texts
from core.orders import actions as act
from core.orders import dates
from core.orders import states as st
from core.orders.actions import ActionResult
from core.orders.service import Order, OrderNotFound
from core.orders.states import StatusWords

STORAGE_EXTENSION_DAYS = 3
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "orders_demo.yaml"

Entry = dict[str, Any]  # an order as the file (and the order API) has it
Params = dict[str, str]


class DemoOrderService:
    def __init__(
        self,
        orders: dict[str, Order] | None = None,
        *,
        raw: list[dict[str, Any]] | None = None,
        clock: Clock | None = None,
        timezone: str = "Europe/Moscow",
        phrases: Texts | None = None,
        status_words: StatusWords | None = None,
    ) -> None:
        self.phrases = phrases or shipped_phrases()  # what the demo shop says
        self.status_words = status_words  # None: the shipped rules
        self._changes = {
            act.CANCEL: self._cancel,
            act.CANCEL_ITEM: self._cancel_item,
            act.CHANGE_DATE: self._change_date,
            act.CHANGE_PICKUP_POINT: self._change_pickup_point,
            act.EXTEND_STORAGE: self._extend_storage,
            act.START_RETURN: self._start_return,
        }
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
        cls,
        path: Path,
        clock: Clock | None = None,
        timezone: str = "Europe/Moscow",
        status_words: StatusWords | None = None,
    ) -> DemoOrderService:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        entries = [e for e in (raw or {}).get("orders", []) if isinstance(e, dict)]
        phrases = None
        if isinstance((raw or {}).get("texts"), dict):  # else the shipped demo's
            phrases = Texts(raw["texts"], str(path))
            phrases.check_against(shipped_phrases())
        service = cls(
            raw=entries, clock=clock, timezone=timezone, phrases=phrases, status_words=status_words
        )
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
        order = Order.from_json(entry, self.status_words)
        if "actions" not in entry:
            allowed = sorted(allowed_actions(order, today))
            order = Order.from_json({**entry, "actions": allowed}, self.status_words)
        return order

    def _perform(self, number: str, action: str, params: dict[str, str]) -> ActionResult:
        order = self._order(number)
        if action not in act.ACTIONS:
            return self._refused("not_allowed", "no_such_action")
        if action not in order.actions:
            code = _refusal_code(action, order)
            return ActionResult(act.REFUSED, code=code, reason=self._why_not(action, order))
        today = self._today()
        entry = {k: dates.resolve(v, today) for k, v in self._raw[number].items()}
        refusal = self._changes[action](entry, order, params, today)
        if refusal is not None:
            return self._refused("not_allowed", refusal)
        entry.pop("actions", None)
        self._raw[number] = entry
        self.performed.append((number, action, dict(params)))
        message = self.phrases.get(f"done.{action}") if self.phrases.has(f"done.{action}") else ""
        return ActionResult(act.DONE, order=self._order(number), message=message)

    def _refused(self, code: str, key: str) -> ActionResult:
        return ActionResult(act.REFUSED, code=code, reason=self.phrases.get(f"refused.{key}"))

    # Each change edits the order's entry, or names why it cannot (a key of `refused`).
    def _cancel(self, entry: Entry, order: Order, params: Params, today: date) -> str | None:
        entry.update(state=st.CANCELLED, status=self.phrases.get("status.cancelled"))
        if order.paid:
            entry["refund"] = {
                "status": "pending",
                "method": order.payment_method,
                "started": today.isoformat(),
            }
        return None

    def _cancel_item(self, entry: Entry, order: Order, params: Params, today: date) -> str | None:
        item = _item(order, params.get("item_id", ""))
        if item is None:
            return "no_such_item"
        entry["items"] = [
            {"id": i.id, "title": i.title, "quantity": i.quantity}
            for i in order.items
            if i.id != item.id
        ]
        return None

    def _change_date(self, entry: Entry, order: Order, params: Params, today: date) -> str | None:
        new_date = params.get("delivery_date", "")
        if new_date not in order.delivery_dates:
            return "no_such_date"
        entry["delivery_date"] = new_date
        entry["delivery_dates"] = [d for d in order.delivery_dates if d != new_date]
        return None

    def _change_pickup_point(
        self, entry: Entry, order: Order, params: Params, today: date
    ) -> str | None:
        wanted = params.get("pickup_point_id")
        point = next((p for p in order.pickup_points if p.id == wanted), None)
        if point is None:
            return "no_such_point"
        entry["pickup_point"] = point.address
        entry["pickup_points"] = [
            {"id": p.id, "address": p.address} for p in order.pickup_points if p.id != point.id
        ]
        return None

    def _extend_storage(
        self, entry: Entry, order: Order, params: Params, today: date
    ) -> str | None:
        until = dates.parse(order.storage_until) or today
        entry["storage_until"] = (until + timedelta(days=STORAGE_EXTENSION_DAYS)).isoformat()
        entry["storage_extended"] = True
        return None

    def _start_return(self, entry: Entry, order: Order, params: Params, today: date) -> str | None:
        entry.update(state=st.RETURN_REQUESTED, status=self.phrases.get("status.return_requested"))
        return None

    def _why_not(self, action: str, order: Order) -> str:
        """Why the shop does not allow the action on the order now."""
        state = order.state
        key = "unavailable"
        if action in (act.CANCEL, act.CANCEL_ITEM):
            key = "not_cancellable"
            if state == st.CANCELLED:
                key = "already_cancelled"
            elif state in st.ON_THE_WAY or state == st.AT_PICKUP_POINT:
                key = "shipped"
            elif state == st.DELIVERED:
                key = "received"
        elif action == act.CHANGE_PICKUP_POINT:
            key = "point_fixed"
        elif action == act.CHANGE_DATE:
            key = "date_fixed"
        elif action == act.EXTEND_STORAGE:
            key = "extended_already" if state == st.AT_PICKUP_POINT else "not_at_point"
        elif action == act.START_RETURN:
            key = "return_too_late" if state == st.DELIVERED else "not_received"
        days = self.phrases.plural("days", order.return_days)
        return self.phrases.format(f"refused.{key}", days=days)


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


@functools.cache
def shipped_phrases() -> Texts:
    """The shipped demo file's texts (`texts:` in config/orders_demo.yaml)."""
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8")) or {}
    if not isinstance(raw.get("texts"), dict):
        raise KnowledgeError(f"{SHIPPED}: no texts")
    return Texts(raw["texts"], str(SHIPPED))
