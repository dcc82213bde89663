"""Answers about the customer's own order: what applies to *this* order today.

Given an intent and the order the shop returned, `OrderAdvice` says whether the order can
still be cancelled or redirected, when the refund is due, how many days of the return
window are left — and which self-service actions (`core.orders.actions`) fit the question
and are offered by the shop for this order. `complaint_mismatch` tells a complaint flow
when the order does not fit the complaint (a "not received" order that is still on its
way gets its delivery date instead of a ticket). Every sentence is in `texts.yaml`
under `order_advice`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.knowledge.base import Texts
from core.orders import actions as act
from core.orders import dates
from core.orders import states as st
from core.orders.presentation import order_text, russian_date
from core.orders.service import Order

# The self-service actions that answer each question, in the order they are offered.
ACTIONS_FOR = {
    "order_status": (act.EXTEND_STORAGE,),
    "order_cancel": (act.CANCEL, act.CANCEL_ITEM),
    "delivery_change": (act.CHANGE_DATE, act.CHANGE_PICKUP_POINT, act.EXTEND_STORAGE),
    "return_item": (act.START_RETURN,),
}
# Working days (card) or days (the rest) a refund takes at most.
REFUND_DAYS = {"card": 10, "sbp": 3, "wallet": 1}


@dataclass(frozen=True)
class OrderAnswer:
    text: str
    actions: tuple[str, ...] = ()  # self-service actions to offer as buttons


class OrderAdvice:
    def __init__(self, texts: Texts, timezone: str = "Europe/Moscow") -> None:
        self.texts = texts
        self.timezone = timezone

    def _t(self, key: str, /, **values: object) -> str:
        return self.texts.format(f"order_advice.{key}", None, **values)

    def _date(self, value: str | None) -> str:
        return russian_date(self.texts, value)

    # ------------------------------------------------------------------ answers
    def answer(self, intent: str, order: Order, now: float, can_act: bool = True) -> OrderAnswer:
        """The order's card, then what applies to it for this question. `can_act`: the
        bot can perform the shop's actions itself (else it explains where to do them)."""
        today = dates.today(now, self.timezone)
        offered = tuple(a for a in ACTIONS_FOR.get(intent, ()) if can_act and a in order.actions)
        method = {
            "order_status": self._status,
            "order_cancel": self._cancel,
            "delivery_change": self._delivery_change,
            "refund": self._refund,
            "return_item": self._return_item,
        }.get(intent)
        lines = method(order, today, offered) if method is not None else []
        card = order_text(self.texts, order)
        text = card if not lines else card + "\n\n" + " ".join(line for line in lines if line)
        return OrderAnswer(text.strip(), offered)

    def _status(self, order: Order, today: date, offered: tuple[str, ...]) -> list[str]:
        state = order.state
        if state == st.AWAITING_PAYMENT:
            return [self._t("status.awaiting_payment")]
        if state == st.DELAYED:
            when = (
                self._t("status.delayed_date", date=self._date(order.delivery_date))
                if self._future(order.delivery_date, today)
                else self._t("status.delayed_no_date")
            )
            return [self._t("status.delayed", when=when)]
        if state in (st.IN_TRANSIT, st.ASSEMBLING, st.CREATED) and self._past(
            order.delivery_date, today
        ):
            return [self._t("status.overdue", date=self._date(order.delivery_date))]
        if state == st.AT_PICKUP_POINT:
            return [self._pickup_line(order, today, offered)]
        if state == st.COURIER:
            part = f" {self._date(order.delivery_date)}" if order.delivery_date else ""
            return [self._t("status.courier", date_part=part)]
        if state == st.DELIVERED:
            return [self._t("status.delivered")]
        if state in (st.CANCELLED, st.RETURNED, st.RETURN_REQUESTED):
            return [self.refund_sentence(order, today)]
        return []

    def _pickup_line(self, order: Order, today: date, offered: tuple[str, ...]) -> str:
        until = dates.parse(order.storage_until)
        point = f" ({order.pickup_point})" if order.pickup_point else ""
        if until is None:
            return ""
        left = (until - today).days
        if left <= 0:
            line = self._t("status.at_pickup_point_last_day", point_part=point)
        else:
            line = self._t(
                "status.at_pickup_point",
                point_part=point,
                until=self._date(order.storage_until),
                days=self.texts.plural("days", left),
            )
        if act.EXTEND_STORAGE in offered:
            line += " " + self._t("delivery_change.extend_self")
        return line

    def _cancel(self, order: Order, today: date, offered: tuple[str, ...]) -> list[str]:
        state = order.state
        if state in st.NOT_SHIPPED:
            first = (
                self._t("cancel.possible_self")
                if offered
                else self._t("cancel.possible_app", number=order.number)
            )
            if order.paid is False:
                return [first]
            return [first, self._t("cancel.refund_after", refund_way=self.refund_way(order))]
        if state in st.ON_THE_WAY:
            at = f" ({order.pickup_point})" if order.pickup_point else ""
            return [self._t("cancel.on_the_way", at=at)]
        if state == st.AT_PICKUP_POINT:
            until = self._date(order.storage_until) or self._t("cancel.until_unknown")
            return [self._t("cancel.at_pickup_point", until=until)]
        if state == st.DELIVERED:
            return [self._t("cancel.delivered", window=self.window_sentence(order, today))]
        if state == st.CANCELLED:
            return [self._t("cancel.cancelled", refund=self.refund_sentence(order, today))]
        if state in (st.RETURN_REQUESTED, st.RETURNED):
            return [self._t("cancel.returning", refund=self.refund_sentence(order, today))]
        return []

    def _delivery_change(self, order: Order, today: date, offered: tuple[str, ...]) -> list[str]:
        state = order.state
        if state in st.NOT_SHIPPED:
            changes = [a for a in offered if a in (act.CHANGE_DATE, act.CHANGE_PICKUP_POINT)]
            if changes:
                return [self._t("delivery_change.possible_self")]
            return [self._t("delivery_change.possible_app", number=order.number)]
        if state in (st.IN_TRANSIT, st.DELAYED):
            lines = [self._t("delivery_change.on_the_way")]
            if act.CHANGE_DATE in offered:
                lines.append(self._t("delivery_change.date_self"))
            lines.append(self._t("delivery_change.storage_hint"))
            return lines
        if state == st.COURIER:
            return [self._t("delivery_change.courier")]
        if state == st.AT_PICKUP_POINT:
            point = f" ({order.pickup_point})" if order.pickup_point else ""
            until = self._date(order.storage_until) or self._t("delivery_change.until_unknown")
            lines = [self._t("delivery_change.at_pickup_point", point_part=point, until=until)]
            if act.EXTEND_STORAGE in offered:
                lines.append(self._t("delivery_change.extend_self"))
            elif order.storage_extended:
                lines.append(self._t("delivery_change.extended"))
            else:
                lines.append(self._t("delivery_change.extend_app"))
            return lines
        if state == st.DELIVERED:
            return [self._t("delivery_change.delivered")]
        if state in st.CLOSED:
            return [self._t("delivery_change.cancelled", refund=self.refund_sentence(order, today))]
        return []

    def _refund(self, order: Order, today: date, offered: tuple[str, ...]) -> list[str]:
        state = order.state
        if state in (st.CANCELLED, st.RETURNED):
            return [self.refund_sentence(order, today)]
        if state == st.RETURN_REQUESTED:
            return [self._t("refund.returning", refund_way=self.refund_way(order))]
        if state == st.DELIVERED:
            return [self._t("refund.delivered", window=self.window_sentence(order, today))]
        if state in st.NOT_SHIPPED or state in st.ON_THE_WAY or state == st.AT_PICKUP_POINT:
            return [self._t("refund.not_cancelled", number=order.number)]
        return []

    def _return_item(self, order: Order, today: date, offered: tuple[str, ...]) -> list[str]:
        state = order.state
        if state == st.DELIVERED:
            window = self.window_sentence(order, today)
            if offered:
                return [self._t("return_item.delivered_self", window=window)]
            if (
                self.window_left(order, today) is not None
                and (self.window_left(order, today) or 0) < 0
            ):
                return [window]
            return [self._t("return_item.delivered_app", window=window, number=order.number)]
        if state in st.NOT_SHIPPED or state in st.ON_THE_WAY or state == st.AT_PICKUP_POINT:
            return [self._t("return_item.not_received")]
        if state in (st.RETURN_REQUESTED, st.RETURNED):
            return [self._t("return_item.returning", status=order.status)]
        if state == st.CANCELLED:
            return [self._t("return_item.cancelled", refund=self.refund_sentence(order, today))]
        return []

    # ------------------------------------------------------------------ complaints
    def complaint_mismatch(self, intent: str, order: Order, now: float) -> str | None:
        """None when the order fits the complaint; else what to tell the customer
        instead of filing it."""
        today = dates.today(now, self.timezone)
        state = order.state
        values = {"number": order.number, "status": order.status}
        if intent == "not_received":
            if state in (st.IN_TRANSIT, st.COURIER, *st.NOT_SHIPPED):
                if self._past(order.delivery_date, today):
                    return None  # late: a lost parcel is possible
                part = (
                    self._t("complaint.date_part", date=self._date(order.delivery_date))
                    if order.delivery_date
                    else ""
                )
                return self._t("complaint.not_received_on_the_way", date_part=part, **values)
            if state == st.AT_PICKUP_POINT and order.storage_until:
                point = f" ({order.pickup_point})" if order.pickup_point else ""
                return self._t(
                    "complaint.not_received_at_pickup",
                    point_part=point,
                    until=self._date(order.storage_until),
                    **values,
                )
            if state == st.CANCELLED:
                refund = self.refund_sentence(order, today)
                return self._t("complaint.not_received_cancelled", refund=refund, **values)
            return None
        if intent == "damaged_item":
            if state in st.NOT_SHIPPED or state in st.ON_THE_WAY:
                return self._t("complaint.damaged_not_received", **values)
            if state == st.CANCELLED:
                return self._t("complaint.damaged_cancelled", **values)
            return None
        if intent == "courier_complaint" and state in st.NOT_SHIPPED:
            return self._t("complaint.courier_not_shipped", **values)
        return None

    # ------------------------------------------------------------------ sentences
    def _refund_method(self, order: Order) -> str:
        method = (order.refund.method if order.refund else None) or order.payment_method
        known = method and self.texts.has(f"order_advice.refund_to.{method}")
        return str(method) if known else "default"

    def refund_to(self, order: Order) -> str:
        return self._t(f"refund_to.{self._refund_method(order)}")

    def refund_takes(self, order: Order) -> str:
        return self._t(f"refund_takes.{self._refund_method(order)}")

    def refund_way(self, order: Order) -> str:
        """Where the money goes and how long it takes ("to the card, in 3-10 working days")."""
        if self._refund_method(order) == "default":
            return self._t("refund_to.default") + ": " + self._t("refund_takes.default")
        return f"{self.refund_to(order)} — {self.refund_takes(order)}"

    def refund_due(self, order: Order) -> date | None:
        refund = order.refund
        if refund is None:
            return None
        if refund.due_date:
            return dates.parse(refund.due_date)
        started = dates.parse(refund.started)
        method = refund.method or order.payment_method
        if started is None or method not in REFUND_DAYS:
            return None
        if method == "card":
            return dates.add_working_days(started, REFUND_DAYS["card"])
        return started + timedelta(days=REFUND_DAYS[method])

    def refund_sentence(self, order: Order, today: date) -> str:
        refund = order.refund
        if refund is None and order.paid is False:
            return self._t("refund_line.not_paid")
        to, takes = self.refund_to(order), self.refund_takes(order)
        if refund is not None and refund.status == "done":
            return self._t("refund_line.done", to=to)
        due = self.refund_due(order)
        if due is None:
            return self._t("refund_line.unknown", way=self.refund_way(order))
        if due < today:
            return self._t("refund_line.overdue", date=self._date(due.isoformat()))
        return self._t("refund_line.due", to=to, takes=takes, date=self._date(due.isoformat()))

    def window_left(self, order: Order, today: date) -> int | None:
        """Days of the return window left (0: today is the last day; negative: over)."""
        received = dates.parse(order.delivered_at or order.delivery_date)
        if received is None:
            return None
        return (received + timedelta(days=order.return_days) - today).days

    def window_sentence(self, order: Order, today: date) -> str:
        left = self.window_left(order, today)
        if left is None:
            return self._t("window.unknown", days=self.texts.plural("days", order.return_days))
        last = today + timedelta(days=left)
        if left < 0:
            days = self.texts.plural("days", order.return_days)
            return self._t("window.closed", days=days, date=self._date(last.isoformat()))
        if left == 0:
            return self._t("window.last_day")
        return self._t(
            "window.open", date=self._date(last.isoformat()), days=self.texts.plural("days", left)
        )

    @staticmethod
    def _past(value: str | None, today: date) -> bool:
        day = dates.parse(value)
        return day is not None and day < today

    @staticmethod
    def _future(value: str | None, today: date) -> bool:
        day = dates.parse(value)
        return day is not None and day >= today
