"""The dialog: what the bot answers to a customer message, given the conversation's state.

It reads the classifier and the order service and fills a `Turn`; it writes nothing.
A typed message goes to the handler of the conversation's step (`Step`, the table
`Dialog.steps`); a pressed button to the handler of its payload (`Dialog.buttons`):

- idle: a new question is classified and answered;
- await_order: the bot asked for an order number for `Slots.pending_intent`;
- await_order_confirm: a complaint named no order: "is it about order X?";
- await_description / await_photo: a complaint is being collected;
- await_rating / await_comment: a closed case is being rated.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core import buttons
from core.conversation.clarify import Clarifier, ClarifyPolicy, Feedback
from core.conversation.order_replies import OrderReplies
from core.conversation.replies import ReplyBuilder
from core.conversation.selfservice import PREFIX as ACTION_PREFIX
from core.conversation.selfservice import SelfService
from core.conversation.state import WAITING, Step, await_rating
from core.conversation.turn import Turn
from core.desk.escalation import EscalationRequest
from core.knowledge.base import KnowledgeBase
from core.knowledge.intents import COMPLAINTS, NEEDS_ORDER, NEEDS_PHOTO
from core.knowledge.subcases import SubCases
from core.nlu import IntentClassifier, Prediction
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
# A greeting this short is only a greeting ("hello", "good evening, a question").
GREETING_WORDS = 4
# A greeting within this many seconds of the last message is in the middle of the
# conversation: a short answer, not the whole greeting and menu again.
GREETING_AGAIN_WINDOW = 3600.0


@dataclass(frozen=True)
class DialogPolicy:
    min_confidence: float = 0.35
    misunderstandings_before_operator: int = 2
    order_attempts_before_operator: int = 2
    timezone: str = "Europe/Moscow"  # the shop's calendar: delivery dates, return window


@dataclass
class Message:
    """A typed message as the step handlers read it."""

    text: str  # stripped
    order: str | None  # a valid order number in it
    prediction: Prediction | None = None  # the classifier's reading, once asked for


StepHandler = Callable[[Turn, Message], Awaitable[None]]
ButtonHandler = Callable[[Turn], Awaitable[None]]


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
        # What a typed message means at each step.
        self.steps: dict[Step, StepHandler] = {
            Step.IDLE: self._new_question,
            Step.AWAIT_ORDER: self._order_number,
            Step.AWAIT_ORDER_CONFIRM: self._order_confirmation,
            Step.AWAIT_DESCRIPTION: self._description,
            Step.AWAIT_PHOTO: self._words_instead_of_photo,
            Step.AWAIT_RATING: self._rating,
            Step.AWAIT_COMMENT: self._rating_comment,
        }
        # What each button of a fixed payload does (topics and self-service by prefix).
        self.buttons: dict[str, ButtonHandler] = {
            buttons.HELPED: self._helped,
            buttons.ORDER_OK: self._this_order,
            buttons.OTHER_ORDER: self._other_order,
            buttons.OPERATOR: self._operator_button,
            buttons.START: self._start,
            buttons.MENU: self._menu,
            buttons.NO_PHOTO: self._no_photo,
            buttons.SKIP: self._skip_rating,
        }

    # ------------------------------------------------------------------ entry points
    async def handle_text(self, turn: Turn) -> None:
        text = turn.inbound.text.strip()
        if not await self._command(turn, text):
            message = Message(text, find_order_number(text))
            if message.order:
                turn.slots.order = message.order
            step = turn.conversation.step
            # A bare "hello" while the bot waits for something is answered before the
            # step's handler (idle's handler, reached from any step, checks it itself).
            if step not in WAITING or not await self._greeted(turn, message):
                await self.steps.get(step, self._new_question)(turn, message)
        if len(turn.inbound.text) > CLASSIFY_LIMIT and turn.escalation is None and turn.replies:
            turn.say(Reply(self.texts.get("too_long_note"), self.replies.operator_row()))

    async def handle_button(self, turn: Turn, payload: str) -> None:
        if payload.startswith(ACTION_PREFIX):
            await self.selfservice.handle(turn, payload)
        elif payload.startswith((buttons.TOPIC, buttons.PICK)):
            await self._topic(turn, payload)
        else:
            await self.buttons.get(payload, self._unknown_button)(turn)

    def handle_files_only(self, turn: Turn) -> None:
        """Photos or documents with no text and no open ticket."""
        conv = turn.conversation
        conv.slots.add_files(list(turn.inbound.attachments))
        if conv.step == Step.AWAIT_PHOTO:
            self._escalate_complaint(turn)
            return
        if conv.step == Step.AWAIT_DESCRIPTION:
            turn.say(Reply(self.texts.get("complaint.ask_description")))
            return
        turn.say(Reply(self.texts.get("attachment_without_ticket"), self.replies.operator_row()))

    async def _command(self, turn: Turn, text: str) -> bool:
        """A slash command: /start, /help, /menu greet; any other one is not for customers."""
        command = COMMAND.match(text)
        if command is None:
            return False
        if command.group(1).lower() in WELCOME_COMMANDS:
            await self.answer_intent(turn, "greeting")
        else:  # a command the customer cannot use (an operator's /close, a typo)
            turn.say(self.menu(self.texts.get("unknown_command")))
        return True

    # ------------------------------------------------------------------ steps
    async def _new_question(self, turn: Turn, message: Message) -> None:
        """Idle: what the customer asks is classified and answered."""
        if await self._greeted(turn, message):
            return
        prediction = self._classify(turn, message)
        if self.clarify.feedback(turn, prediction):  # "не помогло", 👍, "ок"
            return
        await self._answer_question(turn, message, prediction)

    async def _order_number(self, turn: Turn, message: Message) -> None:
        """An order number was asked for: the number, a failed attempt, or a new question."""
        prediction = self._classify(turn, message)
        if self.clarify.feedback(turn, prediction):
            return
        pending = turn.slots.pending_intent or "order_status"
        if message.order:
            turn.intent, turn.confidence = pending, 1.0
            await self._with_order(turn, pending, message.order)
            return
        attempt = looks_like_order_attempt(message.text)
        moved_on = (
            not attempt
            and prediction.intent not in (pending, "out_of_scope", "greeting")
            and prediction.confidence >= SWITCH_TOPIC
        )
        if not moved_on:
            self._order_failed(turn, pending, invalid=True, no_number=not attempt)
            return
        self._reset(turn)  # the customer moved on: answer the new question
        await self._answer_question(turn, message, prediction)

    async def _order_confirmation(self, turn: Turn, message: Message) -> None:
        """ "Is the complaint about order X?": yes, another one, or a new question."""
        if not await self._order_confirmed(turn, message.text, message.order):
            await self._new_question(turn, message)

    async def _description(self, turn: Turn, message: Message) -> None:
        """A complaint's description: kept, and the complaint goes on."""
        turn.slots.description = message.text
        await self._continue_complaint(turn)

    async def _words_instead_of_photo(self, turn: Turn, message: Message) -> None:
        """A photo was asked for and words came: they join the description, the case opens."""
        turn.slots.description = _join(turn.slots.description, message.text)
        self._escalate_complaint(turn)

    async def _rating(self, turn: Turn, message: Message) -> None:
        """A closed case's rating: a score from 1 to 5, else a new question."""
        ticket_id = turn.slots.rating_ticket
        if message.text.isdigit() and 1 <= int(message.text) <= 5:
            self.take_rating(turn, ticket_id or 0, int(message.text))
            return
        self._reset(turn)
        prediction = self._classify(turn, message)
        if ticket_id and self._confident(prediction) and prediction.intent == "thanks":
            # A farewell while the rating is awaited: thanks, and the rating buttons again.
            await_rating(turn.conversation, ticket_id)
            turn.say(self.order_replies.thanks_with_rating(ticket_id))
            return
        await self._new_question(turn, message)

    async def _rating_comment(self, turn: Turn, message: Message) -> None:
        """A comment on the rating just given; after `COMMENT_WINDOW`, a new question."""
        if message.text and turn.now - turn.conversation.updated_at <= COMMENT_WINDOW:
            self._take_comment(turn, message.text)
            return
        self._reset(turn)
        await self._new_question(turn, message)

    # ------------------------------------------------------------------ greetings
    async def _greeted(self, turn: Turn, message: Message) -> bool:
        """A bare "hello": the whole greeting when a conversation starts; in the middle of
        one, a short answer that reminds of what the bot waits for. False: not a greeting."""
        if message.order or len(message.text.split()) > GREETING_WORDS:
            return False
        prediction = self._predict(message)
        if prediction.intent != "greeting" or not self._confident(prediction):
            return False
        self._classify(turn, message)
        conv = turn.conversation
        if conv.version == 0 or turn.now - conv.updated_at > GREETING_AGAIN_WINDOW:
            self._reset(turn)  # a new conversation, or one long left off: start afresh
            await self.answer_intent(turn, "greeting")
            return True
        conv.misunderstandings = 0
        if conv.step == Step.IDLE:
            conv.slots.last_intent = "greeting"
        turn.say(self.order_replies.greeting_again(conv))
        return True

    # ------------------------------------------------------------------ questions
    def _predict(self, message: Message) -> Prediction:
        """The classifier's reading of the message (asked once)."""
        if message.prediction is None:
            message.prediction = self.classifier.predict(message.text[:CLASSIFY_LIMIT])
        return message.prediction

    def _classify(self, turn: Turn, message: Message) -> Prediction:
        """The reading of the message, taken as the turn's (logged with the message)."""
        prediction = self._predict(message)
        turn.intent, turn.confidence = prediction.intent, prediction.confidence
        turn.normalized = prediction.normalized
        return prediction

    def _confident(self, prediction: Prediction) -> bool:
        return (
            prediction.confidence >= self.policy.min_confidence
            and prediction.intent != "out_of_scope"
        )

    async def _answer_question(self, turn: Turn, message: Message, prediction: Prediction) -> None:
        conv = turn.conversation
        confident = self._confident(prediction)
        if prediction.normalized == ORDER_TOKEN and message.order:
            # Only a number: the customer wants to know about that order.
            turn.intent, turn.confidence = "order_status", 1.0
            conv.misunderstandings = 0
            await self.answer_intent(turn, "order_status")
            return
        if not confident and looks_like_order_attempt(message.text):
            # "87654321": a mistyped order number, not a misunderstanding.
            turn.intent, turn.confidence = "order_status", prediction.confidence
            conv.misunderstandings = 0
            self._ask_order(turn, "order_status")
            return
        if self.clarify.intercept(turn, prediction):  # a question back when unsure
            return
        if not confident:
            self._misunderstood(turn)
            return
        conv.misunderstandings = 0
        await self.answer_intent(turn, prediction.intent)
        self.clarify.offer_second(turn, prediction, prediction.intent)

    async def answer_intent(self, turn: Turn, intent: str) -> None:
        slots = turn.slots
        slots.last_intent = intent
        turn.conversation.misunderstandings = 0  # understood (typed or a topic button)
        if intent == "operator":
            self.escalate(turn, "operator", "asked")
        elif intent == "greeting":
            turn.say(self.menu(self.kb.answer(intent).text))
        elif intent == "thanks":
            turn.say(Reply(self.kb.answer(intent).text))
        elif intent in COMPLAINTS:
            await self._start_complaint(turn, intent)
        elif intent in NEEDS_ORDER and slots.order:
            await self._with_order(turn, intent, slots.order)
        elif intent in NEEDS_ORDER:
            self._ask_order(turn, intent)
        else:
            await self._general_answer(turn, intent)

    async def _general_answer(self, turn: Turn, intent: str) -> None:
        """A sub-case's own answer (money charged, no order), the answer about the
        remembered order where the question calls for it, or the intent's answer."""
        case = self.order_replies.subcase(intent, turn)
        if case is not None:
            turn.outcomes.append("answered")
            turn.say(self.order_replies.subcase_reply(case, await self._known_order(turn)))
        elif intent in ORDER_AWARE and turn.slots.order:
            await self._with_order(turn, intent, turn.slots.order)
        else:
            turn.outcomes.append("answered")
            turn.say(self.replies.answer(intent))

    # ------------------------------------------------------------------ orders
    async def _with_order(self, turn: Turn, intent: str, number: str) -> None:
        conv = turn.conversation
        conv.slots.order = number
        conv.misunderstandings = 0
        try:
            order = await self.orders.get(number)
        except OrderNotFound:
            conv.slots.order = None
            self._order_failed(turn, intent, invalid=False, number=number)
            return
        except OrderServiceUnavailable:
            await self._order_service_down(turn, intent, number)
            return
        if order.vip:
            conv.vip = True
        conv.slots.order_status = order.status
        if intent in COMPLAINTS:
            await self._complaint_about(turn, intent, order)
            return
        self._reset(turn)
        turn.outcomes.append("answered")
        turn.say(self.order_replies.about_order(turn, intent, order))

    async def _order_service_down(self, turn: Turn, intent: str, number: str) -> None:
        if intent in COMPLAINTS:  # the operator checks the order by hand
            turn.conversation.step = Step.IDLE
            await self._continue_complaint(turn)
            return
        self._reset(turn)
        text = self.texts.format("order_service_down", number=number)
        turn.say(Reply(text, self.replies.operator_row()))

    async def _known_order(self, turn: Turn) -> Order | None:
        """The remembered order, looked up; None when there is none or it fails."""
        number = turn.slots.order
        if not number:
            return None
        try:
            return await self.orders.get(number)
        except (OrderNotFound, OrderServiceUnavailable):
            return None

    async def _order_confirmed(self, turn: Turn, text: str, typed: str | None) -> bool:
        """The answer to "is the complaint about order X?"; False when it is neither."""
        conv = turn.conversation
        complaint = conv.slots.complaint or "courier_complaint"
        number = typed or conv.slots.order
        answer = True if typed else self.order_replies.confirmation_answer(text)
        if answer is None or not number:
            self._reset(turn)
            return False
        conv.step = Step.IDLE
        turn.intent, turn.confidence = complaint, 1.0
        if answer:
            await self._with_order(turn, complaint, number)
        else:
            conv.slots.order = None
            self._ask_order(turn, complaint)
        return True

    def _ask_order(self, turn: Turn, intent: str) -> None:
        conv = turn.conversation
        conv.step = Step.AWAIT_ORDER
        conv.slots.pending_intent = intent
        conv.slots.order_attempts = 0
        if looks_like_order_attempt(turn.inbound.text):
            # The question came with a number that is not a valid order number.
            conv.slots.order_attempts = 1
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
        slots = turn.slots
        slots.pending_intent = intent
        turn.conversation.step = Step.AWAIT_ORDER
        if no_number:  # "не помню номер", "где его смотреть": where to find it, or a person
            key = "order_waiting_again" if slots.order_hint_given else "order_waiting"
            slots.order_hint_given = True
            turn.say(Reply(self.texts.get(key), self.replies.operator_row()))
            return
        slots.order_attempts += 1
        if slots.order_attempts >= self.policy.order_attempts_before_operator:
            turn.say(Reply(self.texts.get("order_give_up"), self.replies.operator_row()))
        elif invalid:
            turn.say(Reply(self.order_replies.invalid_number(turn.inbound.text)))
        else:
            turn.say(Reply(self.texts.format("order_not_found", number=number)))

    # ------------------------------------------------------------------ complaints
    async def _start_complaint(self, turn: Turn, intent: str) -> None:
        conv = turn.conversation
        conv.slots.complaint = intent
        text = turn.inbound.text.strip()
        if len(text.split()) >= DESCRIPTION_WORDS:
            conv.slots.description = text
        apology = self.texts.get(f"complaint.apology.{intent}", "complaint.apology.default")
        turn.say(Reply(apology))
        number = conv.slots.order
        if not number:
            self._ask_order(turn, intent)
            return
        if find_order_number(text) == number:  # named in this message: check it fits
            await self._with_order(turn, intent, number)
            return
        # Remembered from earlier: make sure the complaint is about that order.
        conv.step = Step.AWAIT_ORDER_CONFIRM
        turn.say(self.order_replies.confirm_order(number, await self._known_order(turn)))

    async def _complaint_about(self, turn: Turn, intent: str, order: Order) -> None:
        """The complaint's order is known: collect the rest, unless it does not fit the
        order (e.g. "not received" while it is on its way: its date instead)."""
        conv = turn.conversation
        mismatch = self.order_replies.complaint_mismatch(turn, intent, order)
        if mismatch is None:
            conv.step = Step.IDLE
            await self._continue_complaint(turn)
            return
        self._reset(turn)
        conv.slots.last_intent = intent
        turn.say(mismatch)

    async def _continue_complaint(self, turn: Turn) -> None:
        conv = turn.conversation
        intent = conv.slots.complaint or "courier_complaint"
        if not conv.slots.description:
            conv.step = Step.AWAIT_DESCRIPTION
            turn.say(Reply(self.texts.get("complaint.ask_description")))
            return
        if intent in NEEDS_PHOTO and not conv.slots.files and conv.step != Step.AWAIT_PHOTO:
            conv.step = Step.AWAIT_PHOTO
            no_photo = Button(buttons.NO_PHOTO, self.texts.get("buttons.no_photo"))
            turn.say(Reply(self.texts.get("complaint.ask_photo"), ((no_photo,),)))
            return
        self._escalate_complaint(turn)

    def _escalate_complaint(self, turn: Turn) -> None:
        intent = turn.slots.complaint or "courier_complaint"
        summary = turn.slots.description
        self.escalate(turn, intent, "complaint", summary=summary, complaint=True)

    @staticmethod
    def _complaint_of(conv: Conversation) -> str | None:
        """The complaint being collected, or the one just found not to fit its order."""
        for value in (conv.slots.complaint, conv.slots.last_intent):
            if value in COMPLAINTS:
                return value
        return None

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
        conv.step = Step.AWAIT_COMMENT
        conv.slots.rating_ticket = ticket_id
        key = "rating_thanks_low" if score <= 2 else "rating_thanks"
        skip = Button(buttons.SKIP, self.texts.get("buttons.skip"))
        turn.say(Reply(self.texts.get(key), ((skip,),)))

    def _take_comment(self, turn: Turn, text: str) -> None:
        ticket_id = turn.slots.rating_ticket
        if ticket_id:
            turn.rating_comment = (ticket_id, text)
        self._reset(turn)
        turn.say(Reply(self.texts.get("comment_thanks")))

    # ------------------------------------------------------------------ buttons
    async def _helped(self, turn: Turn) -> None:
        turn.conversation.misunderstandings = 0
        turn.outcomes.append("helped")
        turn.say(Reply(self.texts.get("helped_reply")))

    async def _this_order(self, turn: Turn) -> None:
        """ "Yes, this order" under "is the complaint about order X?"."""
        if turn.conversation.step != Step.AWAIT_ORDER_CONFIRM:
            await self._unknown_button(turn)
            return
        await self._order_confirmed(turn, "", turn.slots.order)

    async def _other_order(self, turn: Turn) -> None:
        """ "Another order" under a complaint: its number is asked for."""
        complaint = self._complaint_of(turn.conversation)
        if complaint is None:
            await self._unknown_button(turn)
            return
        turn.slots.complaint = complaint
        turn.slots.order = None
        turn.intent, turn.confidence = complaint, 1.0
        self._ask_order(turn, complaint)

    async def _operator_button(self, turn: Turn) -> None:
        last = turn.slots.last_intent
        if last in ("greeting", "thanks"):  # the menu's button: a plain request
            last = None
        self.escalate(turn, last or "operator", "not_helped" if last else "asked")

    async def _start(self, turn: Turn) -> None:
        self._reset(turn)
        turn.intent, turn.confidence = "greeting", 1.0
        await self.answer_intent(turn, "greeting")

    async def _menu(self, turn: Turn) -> None:
        self._reset(turn)
        turn.say(self.menu(self.texts.get("menu_prompt")))

    async def _topic(self, turn: Turn, payload: str) -> None:
        """A topic button (a related topic, or a pick for a clarifying question)."""
        intent = self.clarify.picked(turn, payload)
        if intent not in self.kb.answers:
            await self._unknown_button(turn)
            return
        self._reset(turn)
        turn.intent, turn.confidence = intent, 1.0
        await self.answer_intent(turn, intent)

    async def _no_photo(self, turn: Turn) -> None:
        if turn.conversation.step != Step.AWAIT_PHOTO:
            await self._unknown_button(turn)
            return
        self._escalate_complaint(turn)

    async def _skip_rating(self, turn: Turn) -> None:
        if turn.conversation.step not in (Step.AWAIT_RATING, Step.AWAIT_COMMENT):
            await self._unknown_button(turn)
            return
        self._reset(turn)
        turn.say(Reply(self.texts.get("rating_skipped")))

    async def _unknown_button(self, turn: Turn) -> None:
        turn.say(self.menu(self.texts.get("unknown_button")))

    # ------------------------------------------------------------------ replies
    def menu(self, text: str) -> Reply:
        return self.replies.menu(text)

    def button_title(self, payload: str) -> str:
        return self.replies.button_title(payload)

    @staticmethod
    def _reset(turn: Turn) -> None:
        turn.conversation.step = Step.IDLE
        turn.slots.forget_question()


def _join(first: str, second: str) -> str:
    return f"{first}\n{second}".strip() if first else second
