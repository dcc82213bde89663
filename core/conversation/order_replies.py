"""Replies the dialog builds from what it knows: the customer's order, the step it is at.

- the answer about a known order (card + what applies to it + self-service buttons);
- a complaint that does not fit the order, and the question "which order is it about?";
- a precise hint for a mistyped order number;
- the hand-over to an operator (one prompt, no second request for a known order);
- "thanks" while a rating is awaited: a short thanks together with the rating buttons;
- sub-cases with their own answer (`core.knowledge.subcases`);
- "hello" in the middle of a conversation: a short answer and what the bot waits for.
"""

from __future__ import annotations

import re

from core import buttons
from core.conversation.replies import ReplyBuilder
from core.conversation.selfservice import SelfService
from core.conversation.state import Step
from core.conversation.turn import Turn
from core.knowledge.base import KnowledgeBase
from core.knowledge.folding import letter_words
from core.knowledge.subcases import SubCase, SubCases
from core.orders import find_order_number
from core.orders.advice import OrderAdvice
from core.orders.follow_ups import follow_ups
from core.orders.numbers import bad_number_kind
from core.orders.service import Order
from core.storage import Conversation
from core.types import Button, Reply

_DIGITS = re.compile(r"\d{8,10}")
# What customers answer "is it about this order?" with: a normalisation dictionary (the
# words compared with the answer, folded as `core.knowledge.folding` folds it).
YES_WORDS = frozenset({"да", "ага", "угу", "верно", "этот", "он", "правильно", "да этот", "yes"})
NO_WORDS = frozenset({"нет", "не", "другой", "не этот", "нет другой", "другой заказ"})


class OrderReplies:
    def __init__(
        self,
        kb: KnowledgeBase,
        replies: ReplyBuilder,
        advice: OrderAdvice,
        selfservice: SelfService,
        subcases: SubCases,
    ) -> None:
        self.kb = kb
        self.texts = kb.texts
        self.replies = replies
        self.advice = advice
        self.selfservice = selfservice
        self.subcases = subcases

    # ------------------------------------------------------------------ orders
    def about_order(self, turn: Turn, intent: str, order: Order) -> Reply:
        """What applies to this order for the question, with the fitting actions first."""
        answer = self.advice.answer(intent, order, turn.now, self.selfservice.available)
        action_rows = self.selfservice.buttons(order, answer.actions)
        reply = self.replies.with_buttons(answer.text, intent, self.follow_ups(intent, order))
        taken = {b.title for row in action_rows for b in row}
        rows = tuple(row for row in reply.buttons if not {b.title for b in row} & taken)
        return Reply(reply.text, (*action_rows, *rows))

    def follow_ups(self, intent: str, order: Order) -> tuple[str, ...]:
        """The related topics that fit the order where it is."""
        return follow_ups(self.kb.answer(intent).related, order.state, intent)

    def complaint_mismatch(self, turn: Turn, intent: str, order: Order) -> Reply | None:
        text = self.advice.complaint_mismatch(intent, order, turn.now)
        if text is None:
            return None
        other = Button(buttons.OTHER_ORDER, self.texts.get("selfservice.buttons.other_order"))
        operator = Button(buttons.OPERATOR, self.texts.get("buttons.operator"))
        hint = self.texts.get("order_advice.complaint.other_hint")
        return Reply(f"{text}\n\n{hint}", ((other, operator),))

    def confirm_order(self, number: str, order: Order | None) -> Reply:
        status = order.status if order else self.texts.get("order_advice.complaint.status_unknown")
        text = self.texts.format("order_advice.complaint.confirm", number=number, status=status)
        this = Button(buttons.ORDER_OK, self.texts.get("selfservice.buttons.this_order"))
        other = Button(buttons.OTHER_ORDER, self.texts.get("selfservice.buttons.other_order"))
        return Reply(text, ((this, other),))

    @staticmethod
    def confirmation_answer(text: str) -> bool | None:
        """True for "yes", False for "another one", None for anything else."""
        words = " ".join(letter_words(text))
        if find_order_number(text):
            return None
        if words in YES_WORDS:
            return True
        if words in NO_WORDS:
            return False
        return None

    def invalid_number(self, text: str) -> str:
        """What is wrong with a mistyped order number, as precisely as we can tell."""
        kind = bad_number_kind(text)
        if kind == "no_tail":
            digits = _DIGITS.search(text)
            return self.texts.format(
                "order_invalid_hint.no_tail", digits=digits.group(0) if digits else "12345678"
            )
        if kind == "tail":
            return self.texts.get("order_invalid_hint.tail")
        return self.texts.get("order_invalid")

    # ------------------------------------------------------------------ people
    def handoff(self, conv: Conversation) -> str:
        number = conv.slots.order
        if number:
            return self.texts.format("handoff.with_order", number=number)
        return self.texts.get("handoff.without_order")

    def greeting_again(self, conv: Conversation) -> Reply:
        """ "Hello" in the middle of a conversation: a short answer, and what the bot still
        waits for at this step (an order number, a description, a photo)."""
        step = conv.step
        key = f"greeting_again.{step}"
        if not self.texts.has(key):
            key = "greeting_again.idle"
        text = self.texts.format(key, number=conv.slots.order or "")
        rows: tuple[tuple[Button, ...], ...] = ()
        if step == Step.AWAIT_ORDER:
            rows = self.replies.operator_row()
        elif step == Step.AWAIT_ORDER_CONFIRM:
            this = Button(buttons.ORDER_OK, self.texts.get("selfservice.buttons.this_order"))
            other = Button(buttons.OTHER_ORDER, self.texts.get("selfservice.buttons.other_order"))
            rows = ((this, other),)
        elif step == Step.AWAIT_PHOTO:
            rows = ((Button(buttons.NO_PHOTO, self.texts.get("buttons.no_photo")),),)
        elif step == Step.IDLE:
            rows = ((Button(buttons.MENU, self.texts.get("buttons.menu")),),)
        return Reply(text, rows)

    def thanks_with_rating(self, ticket_id: int) -> Reply:
        scores = tuple(buttons.rate(ticket_id, n) for n in range(1, 6))
        return Reply(self.texts.format("thanks_rate", ticket=ticket_id), (scores,))

    # ------------------------------------------------------------------ sub-cases
    def subcase(self, intent: str, turn: Turn) -> SubCase | None:
        return self.subcases.find(intent, turn.inbound.text, turn.normalized)

    def subcase_reply(self, case: SubCase, order: Order | None) -> Reply:
        text = case.answer
        if order is not None and case.with_order:
            text = case.with_order.format(number=order.number, status=order.status) + " " + text
        return self.replies.with_buttons(text, case.intent)
