"""The dialog: what the bot answers to a customer message, given the conversation's state.

It reads the classifier and the order service and fills a `Turn`; it writes nothing.
Steps kept in `Conversation.step`:

- `idle`: a new question is classified and answered;
- `await_order`: the bot asked for an order number for `slots["pending_intent"]`;
- `await_order_confirm`: a complaint named no order: "is it about order X?";
- `await_description` / `await_photo`: a complaint is being collected;
- `await_rating` / `await_comment`: a closed ticket is being rated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import buttons
from core.conversation.clarify import Clarifier, ClarifyPolicy, Feedback
from core.conversation.order_replies import OrderReplies
from core.conversation.replies import ReplyBuilder
from core.conversation.selfservice import PREFIX as ACTION_PREFIX
from core.conversation.selfservice import SelfService
from core.conversation.turn import Turn
from core.desk.escalation import EscalationRequest
from core.knowledge.base import KnowledgeBase
from core.knowledge.intents import COMPLAINTS, NEEDS_ORDER, NEEDS_PHOTO
from core.knowledge.subcases import SubCases
from core.nlu import IntentClassifier
from core.nlu.normalize import ORDER_TOKEN
from core.orders import (
    Order,
    OrderNotFound,
    OrderService,
    OrderServiceUnavailable,
    find_order_number,
    looks_like_order_attempt,
)
from core.orders.advice import OrderAdvice
from core.storage import Conversation
from core.types import Button, Reply

IDLE = "idle"
AWAIT_ORDER = "await_order"
AWAIT_ORDER_CONFIRM = "await_order_confirm"
AWAIT_DESCRIPTION = "await_description"
AWAIT_PHOTO = "await_photo"
AWAIT_RATING = "await_rating"
AWAIT_COMMENT = "await_comment"

COMMAND = re.compile(r"^/([a-zA-Z_]{1,32})(@\w+)?(\s|$)")
WELCOME_COMMANDS = frozenset({"start", "help", "menu"})
CLASSIFY_LIMIT = 1000  # characters of a message the classifier reads
DESCRIPTION_WORDS = 6  # a complaint this long already says what happened
# After a rating, the next message within this many seconds is taken as its comment;
# later, it is a new question.
COMMENT_WINDOW = 3600.0
# While waiting for an order number, a message this clearly about something else is
# answered as a new question.
SWITCH_TOPIC = 0.9
# Answered about the remembered order when there is one, without asking for it.
ORDER_AWARE = frozenset({"return_item"})


@dataclass(frozen=True)
class DialogPolicy:
    min_confidence: float = 0.35
    misunderstandings_before_operator: int = 2
    order_attempts_before_operator: int = 2
    timezone: str = "Europe/Moscow"  # the shop's calendar: delivery dates, return window


class Dialog:
    def __init__(
        self,
        kb: KnowledgeBase,
        classifier: IntentClassifier,
        orders: OrderService,
        policy: DialogPolicy,
        subcases: SubCases | None = None,
        feedback: Feedback | None = None,
    ) -> None:
        self.kb = kb
        self.texts = kb.texts
        self.replies = ReplyBuilder(kb)
        self.classifier = classifier
        self.orders = orders
        self.policy = policy
        self.advice = OrderAdvice(kb.texts, policy.timezone)
        self.selfservice = SelfService(kb.texts, orders, self.replies, self.advice)
        self.order_replies = OrderReplies(
            kb, self.replies, self.advice, self.selfservice, subcases or SubCases([])
        )
        self.clarify = Clarifier(
            kb,
            self.replies,
            feedback,
            ClarifyPolicy(
                misunderstandings_before_operator=policy.misunderstandings_before_operator
            ),
        )

    # ------------------------------------------------------------------ entry points
    async def handle_text(self, turn: Turn) -> None:
        await self._handle_text(turn)
        if len(turn.inbound.text) > CLASSIFY_LIMIT and turn.escalation is None and turn.replies:
            turn.say(Reply(self.texts.get("too_long_note"), self.replies.operator_row()))

    async def _handle_text(self, turn: Turn) -> None:
        text = turn.inbound.text.strip()
        command = COMMAND.match(text)
        if command:
            if command.group(1).lower() in WELCOME_COMMANDS:
                await self.answer_intent(turn, "greeting")
            else:  # a command the customer cannot use (an operator's /close, a typo)
                turn.say(self.menu(self.texts.get("unknown_command")))
            return
        conv = turn.conversation
        order = find_order_number(text)
        if order:
            conv.slots["order"] = order
        step = conv.step
        if step == AWAIT_COMMENT and text and turn.now - conv.updated_at <= COMMENT_WINDOW:
            self._take_comment(turn, text)
            return
        if step == AWAIT_RATING and text.isdigit() and 1 <= int(text) <= 5:
            ticket_id = int(str(conv.slots.get("rating_ticket", 0)))
            self.take_rating(turn, ticket_id, int(text))
            return
        pending_rating = conv.slots.get("rating_ticket") if step == AWAIT_RATING else None
        if step in (AWAIT_RATING, AWAIT_COMMENT):
            self._reset(turn)
            step = IDLE
        if step == AWAIT_ORDER_CONFIRM:
            if await self._order_confirmed(turn, text, order):
                return
            step = IDLE  # something else: a new question
        if step == AWAIT_DESCRIPTION:
            conv.slots["description"] = text
            await self._continue_complaint(turn)
            return
        if step == AWAIT_PHOTO:
            conv.slots["description"] = _join(conv.slots.get("description"), text)
            self._escalate_complaint(turn)
            return
        prediction = self.classifier.predict(text[:CLASSIFY_LIMIT])
        turn.intent, turn.confidence = prediction.intent, prediction.confidence
        turn.normalized = prediction.normalized
        confident = (
            prediction.confidence >= self.policy.min_confidence
            and prediction.intent != "out_of_scope"
        )
        if pending_rating and confident and prediction.intent == "thanks":
            # A farewell while the rating is awaited: thanks, and the rating buttons again.
            conv.step = AWAIT_RATING
            conv.slots["rating_ticket"] = pending_rating
            turn.say(self.order_replies.thanks_with_rating(int(str(pending_rating))))
            return
        if self.clarify.feedback(turn, prediction):  # "не помогло", 👍, "ок"
            return
        if step == AWAIT_ORDER:
            pending = str(conv.slots.get("pending_intent") or "order_status")
            if order:
                turn.intent, turn.confidence = pending, 1.0
                await self._with_order(turn, pending, order)
                return
            attempt = looks_like_order_attempt(text)
            new_question = (
                prediction.intent not in (pending, "out_of_scope", "greeting")
                and prediction.confidence >= SWITCH_TOPIC
            )
            if new_question and not attempt:
                self._reset(turn)  # the customer moved on: answer the new question
            else:
                self._order_failed(turn, pending, invalid=True, no_number=not attempt)
                return
        if prediction.normalized == ORDER_TOKEN and order:
            # Only a number: the customer wants to know about that order.
            turn.intent, turn.confidence = "order_status", 1.0
            conv.misunderstandings = 0
            await self.answer_intent(turn, "order_status")
            return
        if not confident and looks_like_order_attempt(text):
            # "87654321": a mistyped order number, not a misunderstanding.
            turn.intent, turn.confidence = "order_status", prediction.confidence
            conv.misunderstandings = 0
            self._ask_order(turn, "order_status")
            return
        if self.clarify.intercept(turn, prediction):  # feedback, reactions, a question back
            return
        if not confident:
            self._misunderstood(turn)
            return
        conv.misunderstandings = 0
        await self.answer_intent(turn, prediction.intent)
        self.clarify.offer_second(turn, prediction, prediction.intent)

    async def handle_button(self, turn: Turn, payload: str) -> None:
        conv = turn.conversation
        if payload == buttons.HELPED:
            conv.misunderstandings = 0
            turn.outcomes.append("helped")
            turn.say(Reply(self.texts.get("helped_reply")))
        elif payload.startswith(ACTION_PREFIX):
            await self.selfservice.handle(turn, payload)
        elif payload == buttons.ORDER_OK and conv.step == AWAIT_ORDER_CONFIRM:
            await self._order_confirmed(turn, "да", None)
        elif payload == buttons.OTHER_ORDER and self._complaint_of(conv) is not None:
            complaint = str(self._complaint_of(conv))
            conv.slots["complaint"] = complaint
            conv.slots.pop("order", None)
            turn.intent, turn.confidence = complaint, 1.0
            self._ask_order(turn, complaint)
        elif payload == buttons.OPERATOR:
            last = conv.slots.get("last_intent")
            if last in ("greeting", "thanks"):  # the menu's button: a plain request
                last = None
            reason = "not_helped" if last else "asked"
            self.escalate(turn, str(last or "operator"), reason)
        elif payload == buttons.START:
            self._reset(turn)
            turn.intent, turn.confidence = "greeting", 1.0
            await self.answer_intent(turn, "greeting")
        elif payload == buttons.MENU:
            self._reset(turn)
            turn.say(self.menu(self.texts.get("menu_prompt")))
        elif payload.startswith((buttons.TOPIC, buttons.PICK)):
            intent = self.clarify.picked(turn, payload)
            if intent not in self.kb.answers:
                self._unknown_button(turn)
                return
            self._reset(turn)
            turn.intent, turn.confidence = intent, 1.0
            await self.answer_intent(turn, intent)
        elif payload == buttons.NO_PHOTO and conv.step == AWAIT_PHOTO:
            self._escalate_complaint(turn)
        elif payload == buttons.SKIP and conv.step in (AWAIT_RATING, AWAIT_COMMENT):
            self._reset(turn)
            turn.say(Reply(self.texts.get("rating_skipped")))
        else:
            self._unknown_button(turn)

    def handle_files_only(self, turn: Turn) -> None:
        """Photos or documents with no text and no open ticket."""
        conv = turn.conversation
        files = [a.to_dict() for a in turn.inbound.attachments]
        conv.slots["files"] = [*_as_list(conv.slots.get("files")), *files][-10:]
        if conv.step == AWAIT_PHOTO:
            self._escalate_complaint(turn)
            return
        if conv.step == AWAIT_DESCRIPTION:
            turn.say(Reply(self.texts.get("complaint.ask_description")))
            return
        turn.say(Reply(self.texts.get("attachment_without_ticket"), self.replies.operator_row()))

    # ------------------------------------------------------------------ intents
    async def answer_intent(self, turn: Turn, intent: str) -> None:
        conv = turn.conversation
        conv.slots["last_intent"] = intent
        conv.misunderstandings = 0  # understood (typed or a topic button): the run is over
        if intent == "operator":
            self.escalate(turn, "operator", "asked")
            return
        if intent == "greeting":
            turn.say(self.menu(self.kb.answer(intent).text))
            return
        if intent == "thanks":
            turn.say(Reply(self.kb.answer(intent).text))
            return
        if intent in COMPLAINTS:
            await self._start_complaint(turn, intent)
            return
        if intent in NEEDS_ORDER:
            order = conv.slots.get("order")
            if not order:
                self._ask_order(turn, intent)
                return
            await self._with_order(turn, intent, str(order))
            return
        case = self.order_replies.subcase(intent, turn)
        if case is not None:  # "списали деньги, а заказа нет": its own answer
            turn.outcomes.append("answered")
            turn.say(self.order_replies.subcase_reply(case, await self._known_order(turn)))
            return
        if intent in ORDER_AWARE and conv.slots.get("order"):
            await self._with_order(turn, intent, str(conv.slots["order"]))
            return
        turn.outcomes.append("answered")
        turn.say(self.replies.answer(intent))

    async def _with_order(self, turn: Turn, intent: str, number: str) -> None:
        conv = turn.conversation
        conv.slots["order"] = number
        conv.misunderstandings = 0
        try:
            order = await self.orders.get(number)
        except OrderNotFound:
            conv.slots.pop("order", None)
            self._order_failed(turn, intent, invalid=False, number=number)
            return
        except OrderServiceUnavailable:
            if intent in COMPLAINTS:  # the operator checks the order by hand
                conv.step = IDLE
                await self._continue_complaint(turn)
                return
            self._reset(turn)
            turn.say(
                Reply(
                    self.texts.format("order_service_down", number=number),
                    self.replies.operator_row(),
                )
            )
            return
        if order.vip:
            conv.vip = True
        conv.slots["order_status"] = order.status
        if intent in COMPLAINTS:
            mismatch = self.order_replies.complaint_mismatch(turn, intent, order)
            if mismatch is None:
                conv.step = IDLE
                await self._continue_complaint(turn)
                return
            self._reset(turn)  # e.g. "not received" while it is on its way: its date
            conv.slots.pop("complaint", None)
            conv.slots.pop("description", None)
            conv.slots["last_intent"] = intent
            turn.say(mismatch)
            return
        self._reset(turn)
        turn.outcomes.append("answered")
        turn.say(self.order_replies.about_order(turn, intent, order))

    @staticmethod
    def _complaint_of(conv: Conversation) -> str | None:
        """The complaint being collected, or the one just found not to fit its order."""
        for value in (conv.slots.get("complaint"), conv.slots.get("last_intent")):
            if value in COMPLAINTS:
                return str(value)
        return None

    async def _known_order(self, turn: Turn) -> Order | None:
        """The remembered order, looked up; None when there is none or it fails."""
        number = turn.conversation.slots.get("order")
        if not number:
            return None
        try:
            return await self.orders.get(str(number))
        except (OrderNotFound, OrderServiceUnavailable):
            return None

    async def _order_confirmed(self, turn: Turn, text: str, typed: str | None) -> bool:
        """The answer to "is the complaint about order X?"; False when it is neither."""
        conv = turn.conversation
        complaint = str(conv.slots.get("complaint") or "courier_complaint")
        number = typed or conv.slots.get("order")
        answer = True if typed else self.order_replies.confirmation_answer(text)
        if answer is None or not number:
            self._reset(turn)
            return False
        conv.step = IDLE
        turn.intent, turn.confidence = complaint, 1.0
        if answer:
            await self._with_order(turn, complaint, str(number))
        else:
            conv.slots.pop("order", None)
            self._ask_order(turn, complaint)
        return True

    def _ask_order(self, turn: Turn, intent: str) -> None:
        conv = turn.conversation
        conv.step = AWAIT_ORDER
        conv.slots["pending_intent"] = intent
        conv.slots["order_attempts"] = 0
        if looks_like_order_attempt(turn.inbound.text):
            # The question came with a number that is not a valid order number.
            conv.slots["order_attempts"] = 1
            turn.say(Reply(self.order_replies.invalid_number(turn.inbound.text)))
            return
        turn.say(Reply(self.texts.get(f"ask_order.{intent}", "ask_order.default")))

    def _order_failed(
        self,
        turn: Turn,
        intent: str,
        *,
        invalid: bool,
        number: str = "",
        no_number: bool = False,
    ) -> None:
        conv = turn.conversation
        conv.slots["pending_intent"] = intent
        conv.step = AWAIT_ORDER
        if no_number:  # "не помню номер", "где его смотреть": where to find it, or a person
            asked = bool(conv.slots.get("order_hint_given"))
            conv.slots["order_hint_given"] = True
            key = "order_waiting_again" if asked else "order_waiting"
            turn.say(Reply(self.texts.get(key), self.replies.operator_row()))
            return
        attempts = int(str(conv.slots.get("order_attempts") or 0)) + 1
        conv.slots["order_attempts"] = attempts
        if attempts >= self.policy.order_attempts_before_operator:
            turn.say(Reply(self.texts.get("order_give_up"), self.replies.operator_row()))
            return
        if invalid:
            turn.say(Reply(self.order_replies.invalid_number(turn.inbound.text)))
        else:
            turn.say(Reply(self.texts.format("order_not_found", number=number)))

    # ------------------------------------------------------------------ complaints
    async def _start_complaint(self, turn: Turn, intent: str) -> None:
        conv = turn.conversation
        conv.slots["complaint"] = intent
        text = turn.inbound.text.strip()
        if len(text.split()) >= DESCRIPTION_WORDS:
            conv.slots["description"] = text
        apology = self.texts.get(f"complaint.apology.{intent}", "complaint.apology.default")
        turn.say(Reply(apology))
        number = conv.slots.get("order")
        if not number:
            self._ask_order(turn, intent)
            return
        if find_order_number(text) == number:  # named in this message: check it fits
            await self._with_order(turn, intent, str(number))
            return
        # Remembered from earlier: make sure the complaint is about that order.
        conv.step = AWAIT_ORDER_CONFIRM
        turn.say(self.order_replies.confirm_order(str(number), await self._known_order(turn)))

    async def _continue_complaint(self, turn: Turn) -> None:
        conv = turn.conversation
        intent = str(conv.slots.get("complaint") or "courier_complaint")
        if not conv.slots.get("description"):
            conv.step = AWAIT_DESCRIPTION
            turn.say(Reply(self.texts.get("complaint.ask_description")))
            return
        if intent in NEEDS_PHOTO and not conv.slots.get("files") and conv.step != AWAIT_PHOTO:
            conv.step = AWAIT_PHOTO
            turn.say(
                Reply(
                    self.texts.get("complaint.ask_photo"),
                    ((Button(buttons.NO_PHOTO, self.texts.get("buttons.no_photo")),),),
                )
            )
            return
        self._escalate_complaint(turn)

    def _escalate_complaint(self, turn: Turn) -> None:
        intent = str(turn.conversation.slots.get("complaint") or "courier_complaint")
        summary = str(turn.conversation.slots.get("description") or "")
        self.escalate(turn, intent, "complaint", summary=summary, complaint=True)

    # ------------------------------------------------------------------ escalation
    def escalate(
        self, turn: Turn, intent: str, reason: str, summary: str = "", complaint: bool = False
    ) -> None:
        """Ask the engine to open a ticket; it tells the customer the number and wait."""
        if not complaint and intent == "operator" and reason == "asked":
            turn.say(Reply(self.order_replies.handoff(turn.conversation)))
        turn.escalation = EscalationRequest(
            intent=intent, reason=reason, summary=summary, complaint=complaint
        )

    def _misunderstood(self, turn: Turn) -> None:
        conv = turn.conversation
        if self._clearly_out_of_scope(turn):
            # Understood: a question support does not handle. Say so; no operator needed.
            conv.misunderstandings = 0
            turn.say(self.menu(self.kb.answer("out_of_scope").text))
            return
        conv.misunderstandings += 1
        if conv.misunderstandings >= self.policy.misunderstandings_before_operator:
            conv.misunderstandings = 0
            turn.say(Reply(self.texts.get("clarify_then_operator")))
            self.escalate(turn, turn.intent or "out_of_scope", "misunderstood")
            return
        turn.say(self.menu(self.texts.get("clarify")))

    def _clearly_out_of_scope(self, turn: Turn) -> bool:
        """Out of scope with confidence, in words the bot knows (not gibberish)."""
        if turn.intent != "out_of_scope" or (turn.confidence or 0.0) < self.policy.min_confidence:
            return False
        vocabulary = self.classifier.normalizer.vocabulary
        words = [w for w in turn.normalized.split() if len(w) >= 3]
        known = sum(1 for w in words if vocabulary.is_known(w))
        return bool(words) and known * 2 >= len(words)

    # ------------------------------------------------------------------ ratings
    def take_rating(self, turn: Turn, ticket_id: int, score: int) -> None:
        conv = turn.conversation
        turn.rating = (ticket_id, score)
        conv.step = AWAIT_COMMENT
        conv.slots["rating_ticket"] = ticket_id
        key = "rating_thanks_low" if score <= 2 else "rating_thanks"
        skip = Button(buttons.SKIP, self.texts.get("buttons.skip"))
        turn.say(Reply(self.texts.get(key), ((skip,),)))

    def _take_comment(self, turn: Turn, text: str) -> None:
        ticket_id = int(str(turn.conversation.slots.get("rating_ticket") or 0))
        if ticket_id:
            turn.rating_comment = (ticket_id, text)
        self._reset(turn)
        turn.say(Reply(self.texts.get("comment_thanks")))

    # ------------------------------------------------------------------ replies
    def menu(self, text: str) -> Reply:
        return self.replies.menu(text)

    def button_title(self, payload: str) -> str:
        return self.replies.button_title(payload)

    def _unknown_button(self, turn: Turn) -> None:
        turn.say(self.menu(self.texts.get("unknown_button")))

    @staticmethod
    def _reset(turn: Turn) -> None:
        conv = turn.conversation
        conv.step = IDLE
        for key in (
            "pending_intent",
            "order_attempts",
            "complaint",
            "description",
            "rating_ticket",
            "order_hint_given",
        ):
            conv.slots.pop(key, None)


def _as_list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _join(first: object, second: str) -> str:
    return f"{first}\n{second}".strip() if first else second
