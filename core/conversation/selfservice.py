"""Self-service actions in the dialog: offer, choose, confirm, act through the shop's API.

An order answer carries a button per action the shop allows and the question calls for
(`act:go:<action>:<number>`). Pressing it looks the order up again and either lists the
choices (an item, a date, a pickup point: `act:pick:<offer>:<n>`) or asks for
confirmation (`act:yes:<offer>` / `act:no:<offer>`). Only the confirmation acts.

The offer lives in the conversation's slots (`offer`), numbered per conversation
(`offers`), so the idempotency key sent to the shop is derived from stable data: the
conversation, the offer's number, the order, the action and its parameters. Pressing
"yes" twice, a retried update, or the engine repeating a turn after a database conflict
all send the same key, and the shop acts once. The decision writes nothing itself: what
happened goes into the `Turn` (`order_actions`, `outcomes`) and the engine stores it with
the rest of the turn.
"""

from __future__ import annotations

import logging

from core import buttons
from core.conversation.replies import ReplyBuilder
from core.conversation.state import Offer
from core.conversation.turn import Turn
from core.knowledge.base import Texts
from core.orders import OrderNotFound, OrderService, OrderServiceUnavailable
from core.orders import actions as act
from core.orders.advice import OrderAdvice
from core.orders.dates import today
from core.orders.follow_ups import follow_ups
from core.orders.presentation import russian_date
from core.orders.service import Order
from core.orders.states import CANCELLED, RETURN_REQUESTED
from core.types import Button, Reply

log = logging.getLogger(__name__)

PREFIX = "act:"
GO = "act:go:"
PICK = "act:pick:"
YES = "act:yes:"
NO = "act:no:"
# The question each action answers, for the follow-up buttons.
INTENT_OF = {
    act.CANCEL: "order_cancel",
    act.CANCEL_ITEM: "order_cancel",
    act.CHANGE_DATE: "delivery_change",
    act.CHANGE_PICKUP_POINT: "delivery_change",
    act.EXTEND_STORAGE: "delivery_change",
    act.START_RETURN: "return_item",
}


# Where an order is after the action, when the shop does not send the order back.
STATE_AFTER = {act.CANCEL: CANCELLED, act.START_RETURN: RETURN_REQUESTED}


def go_button(texts: Texts, action: str, number: str) -> Button:
    return Button(f"{GO}{action}:{number}", texts.get(f"selfservice.buttons.{action}"))


class SelfService:
    def __init__(
        self, texts: Texts, orders: OrderService, replies: ReplyBuilder, advice: OrderAdvice
    ) -> None:
        self.texts = texts
        self.orders = orders
        self.replies = replies
        self.advice = advice

    @property
    def available(self) -> bool:
        """The order service can act on orders (the shop's API or the demo)."""
        return callable(getattr(self.orders, "act", None))

    def buttons(self, order: Order, actions: tuple[str, ...]) -> tuple[tuple[Button, ...], ...]:
        if not self.available:
            return ()
        return tuple((go_button(self.texts, a, order.number),) for a in actions)

    async def handle(self, turn: Turn, payload: str) -> None:
        if payload.startswith(GO):
            action, _, number = payload.removeprefix(GO).partition(":")
            await self._start(turn, action, number)
            return
        kind, _, rest = payload.removeprefix(PREFIX).partition(":")
        offer_id, _, choice = rest.partition(":")
        slots = turn.conversation.slots
        offer = slots.offer
        if not offer_id.isdigit():
            turn.say(self.replies.menu(self.texts.get("unknown_button")))
            return
        if offer is None or offer.id != int(offer_id):
            if kind == "yes" and int(offer_id) in slots.offers_done:
                turn.say(Reply(self.texts.get("selfservice.already_done")))
            else:
                turn.say(self.replies.menu(self.texts.get("unknown_button")))
            return
        if kind == "no":
            slots.offer = None
            turn.say(self.replies.menu(self.texts.get("selfservice.declined")))
        elif kind == "pick" and offer.stage == "pick" and choice.isdigit():
            self._pick(turn, offer, int(choice))
        elif kind == "yes" and offer.stage in ("confirm", "failed"):
            await self._confirm(turn, offer)
        else:
            turn.say(self.replies.menu(self.texts.get("unknown_button")))

    # ------------------------------------------------------------------ steps
    async def _start(self, turn: Turn, action: str, number: str) -> None:
        conv = turn.conversation
        if action not in act.ACTIONS or not number or not self.available:
            turn.say(self.replies.menu(self.texts.get("unknown_button")))
            return
        turn.intent, turn.confidence = INTENT_OF[action], 1.0
        try:
            order = await self.orders.get(number)
        except (OrderNotFound, OrderServiceUnavailable) as exc:
            key = "order_not_found" if isinstance(exc, OrderNotFound) else "order_service_down"
            turn.say(Reply(self.texts.format(key, number=number), self.replies.operator_row()))
            return
        conv.slots.order = number
        conv.slots.last_intent = INTENT_OF[action]
        if action not in order.actions:  # no longer possible: what applies to it now
            answer = self.advice.answer(INTENT_OF[action], order, turn.now)
            turn.say(self._with_buttons(answer.text, action, order.state))
            return
        conv.slots.offers += 1
        offer = Offer(
            id=conv.slots.offers,
            action=action,
            order=number,
            until=order.storage_until or "",
            refund=self._refund_words(order),
        )
        choices = _choices(self.texts, action, order)
        must_choose = action in (act.CANCEL_ITEM, act.CHANGE_DATE, act.CHANGE_PICKUP_POINT)
        if must_choose or len(choices) > 1:
            if not choices:
                turn.say(
                    Reply(self.texts.get("selfservice.no_choices"), self.replies.operator_row())
                )
                return
            offer.stage = "pick"
            offer.choices = choices
            conv.slots.offer = offer
            rows = [
                (Button(f"{PICK}{offer.id}:{n}", _short(title)),)
                for n, (_, title) in enumerate(choices)
            ]
            rows.append((Button(f"{NO}{offer.id}", self.texts.get("selfservice.buttons.decline")),))
            turn.say(
                Reply(self.texts.format(f"selfservice.pick.{action}", number=number), tuple(rows))
            )
            return
        if len(choices) == 1:  # one item to return: no need to ask which
            value, title = choices[0]
            offer.params = {act.PARAMETER[action]: value}
            offer.choice = title
        conv.slots.offer = offer
        turn.say(self._confirmation(offer))

    def _pick(self, turn: Turn, offer: Offer, index: int) -> None:
        if not 0 <= index < len(offer.choices):
            turn.say(self.replies.menu(self.texts.get("unknown_button")))
            return
        value, title = offer.choices[index]
        offer.params = {act.PARAMETER[offer.action]: value}
        offer.choice = title
        offer.stage = "confirm"
        offer.choices = []
        turn.say(self._confirmation(offer))

    async def _confirm(self, turn: Turn, offer: Offer) -> None:
        conv = turn.conversation
        action, number, params = offer.action, offer.order, offer.params
        key = act.idempotency_key(conv.id, offer.id, number, action, params)
        turn.intent, turn.confidence = INTENT_OF[action], 1.0
        try:
            result = await self.orders.act(number, action, params, key)  # type: ignore[attr-defined]
        except OrderNotFound:
            result = act.ActionResult(act.REFUSED, code="not_found")
        except OrderServiceUnavailable as exc:
            result = act.ActionResult(act.FAILED, reason=str(exc))
        turn.order_actions.append(
            {
                "order_number": number,
                "action": action,
                "params": params,
                "idempotency_key": key,
                "outcome": result.outcome,
                "detail": (result.code + " " + result.reason).strip()[:500],
            }
        )
        if result.outcome == act.DONE:
            conv.slots.offer_done(offer.id)
            turn.outcomes.append("self_service")
            text = self._done_text(offer, result, turn)
            state = result.order.state if result.order is not None else STATE_AFTER.get(action)
            turn.say(self._with_buttons(text, action, state))
            return
        if result.outcome == act.REFUSED:
            conv.slots.offer = None
            reason = result.reason or self.texts.format(
                "selfservice.refused_too_late"
                if result.code == "too_late"
                else "selfservice.refused_default",
                number=number,
            )
            turn.say(
                Reply(
                    self.texts.format("selfservice.refused", reason=reason),
                    self.replies.operator_row(),
                )
            )
            return
        offer.stage = "failed"
        retry = Button(f"{YES}{offer.id}", self.texts.get("selfservice.buttons.retry"))
        operator = Button(buttons.OPERATOR, self.texts.get("buttons.operator"))
        turn.say(Reply(self.texts.get("selfservice.failed"), ((retry, operator),)))

    # ------------------------------------------------------------------ texts
    def _confirmation(self, offer: Offer) -> Reply:
        choice = offer.choice
        text = self.texts.format(
            f"selfservice.confirm.{offer.action}",
            number=offer.order,
            choice=choice,
            choice_part=self.texts.format("selfservice.item_part", choice=choice) if choice else "",
            until=russian_date(self.texts, offer.until) or "—",
            refund=offer.refund,
        ).strip()
        yes = Button(f"{YES}{offer.id}", self.texts.get("selfservice.buttons.confirm"))
        no = Button(f"{NO}{offer.id}", self.texts.get("selfservice.buttons.decline"))
        return Reply(text, ((yes, no),))

    def _done_text(self, offer: Offer, result: act.ActionResult, turn: Turn) -> str:
        action = offer.action
        order = result.order
        until = order.storage_until if order is not None and order.storage_until else ""
        refund = ""
        if action == act.CANCEL and order is not None:
            refund = self.advice.refund_sentence(order, today(turn.now, self.advice.timezone))
        elif action == act.CANCEL:
            refund = offer.refund
        text = self.texts.format(
            f"selfservice.done.{action}",
            number=offer.order,
            choice=offer.choice,
            until=russian_date(self.texts, until) or self.texts.get("selfservice.until_unknown"),
            refund=refund,
        ).strip()
        if result.message:
            text += "\n" + result.message.strip()
        return text

    def _refund_words(self, order: Order) -> str:
        if order.paid is False:
            return ""
        return self.texts.format(
            "order_advice.cancel.refund_after", refund_way=self.advice.refund_way(order)
        )

    def _with_buttons(self, text: str, action: str, state: str | None) -> Reply:
        """The answer's buttons: the related topics that fit the order where it is now."""
        intent = INTENT_OF[action]
        related = self.replies.kb.answer(intent).related
        fitting = follow_ups(related, state, intent) if state is not None else None
        return self.replies.with_buttons(text, intent, fitting)


def _choices(texts: Texts, action: str, order: Order) -> list[tuple[str, str]]:
    """(value sent to the shop, what the customer sees) for the action's parameter."""
    if action in (act.CANCEL_ITEM, act.START_RETURN):
        return [(item.id, item.title) for item in order.items]
    if action == act.CHANGE_DATE:
        return [(day, russian_date(texts, day)) for day in order.delivery_dates]
    if action == act.CHANGE_PICKUP_POINT:
        return [(point.id, point.address) for point in order.pickup_points]
    return []


def _short(title: str, limit: int = 60) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"
