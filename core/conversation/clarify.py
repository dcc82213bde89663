"""Asking instead of guessing, and what customers say about the bot's answers.

- A message the classifier is unsure about (low confidence, or the two likeliest topics
  close) gets a short question with the two or three likely topics as buttons; the topic
  the customer picks is answered and (message, topic) kept as a labelled example for
  retraining (`intent_labels`, marked as the customer's pick).
- "It did not help", "that is not an answer to my question" typed after an answer: an
  apology and the offer of an operator or related topics; a second time in a row, an
  operator (the phrases are in config/nlu/feedback.yaml).
- An emoji-only reaction (👍, 🙏) or a bare "ok" is neither a question nor a
  misunderstanding: a short acknowledgement, never an escalation.
- A message with two requests: the main one is answered, the other offered as a button.

The dialog calls in here; this module reads the classifier's prediction and fills the
turn, and writes nothing except the customer's pick (`remember_pick`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from core import buttons
from core.conversation.replies import ReplyBuilder
from core.conversation.state import Pick, Question, Slots, Step
from core.conversation.turn import Turn
from core.desk.escalation import EscalationRequest
from core.knowledge.base import KnowledgeBase
from core.knowledge.folding import words
from core.knowledge.intents import COMPLAINTS
from core.nlu import IntentClassifier, Prediction
from core.types import Button, Reply

if TYPE_CHECKING:
    from core.storage import Storage

PICK_SOURCE = "customer (clarification)"  # intent_labels.labelled_by of a pick
PICK_TTL = 24 * 3600.0  # a pick this late is still answered, but not learnt from
NOT_HELPED_WINDOW = 3600.0  # a second "не помогло" within it calls an operator
MAX_FEEDBACK_WORDS = 8  # a longer message is a question, even if it says "не то"
MIN_SHOWN = 0.01  # a topic this unlikely is never offered
MIN_OPTION = 0.08  # ... and a third topic only from this probability
NOT_OFFERED = frozenset({"out_of_scope", "greeting", "thanks", "operator"})
MAX_OPTIONS = 3
CLASSIFY_LIMIT = 1000  # characters of a message read

_EMOJI_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}


@dataclass(frozen=True)
class ClarifyPolicy:
    # Answer at or above this confidence (the eval's answer threshold); ask below it.
    answer_confidence: float = 0.5
    # ... and ask even above it when the second topic is this close to the first.
    close_margin: float = 0.1
    # Questions and misunderstandings in a row before an operator is called.
    misunderstandings_before_operator: int = 2


class Feedback:
    """The phrases of config/nlu/feedback.yaml."""

    def __init__(
        self,
        dissatisfied: Iterable[str] = (),
        reactions: Iterable[str] = (),
        negative_emoji: Iterable[str] = (),
        waiting: Iterable[str] = (),
    ) -> None:
        self.dissatisfied = tuple(_clean(p) for p in dissatisfied if p)
        self.waiting = tuple(_clean(p) for p in waiting if p)
        self.reactions = frozenset(_clean(p) for p in reactions if p)
        self.negative_emoji = tuple(str(e) for e in negative_emoji if e)

    @classmethod
    def from_file(cls, path: Path) -> Feedback:
        if not path.exists():
            return cls()
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            (str(p) for p in raw.get("dissatisfied") or ()),
            (str(p) for p in raw.get("reactions") or ()),
            (str(p) for p in raw.get("negative_emoji") or ()),
            (str(p) for p in raw.get("waiting") or ()),
        )

    def is_dissatisfied(self, normalized: str) -> bool:
        """A short message saying the answer did not help or missed the question."""
        words = normalized.split()
        if not words or len(words) > MAX_FEEDBACK_WORDS:
            return False
        padded = f" {' '.join(words)} "
        for phrase in self.dissatisfied:
            if f" {phrase} " in padded:
                rest = padded.replace(f" {phrase} ", " ").split()
                return len(rest) <= 3
        return False

    def reaction(self, text: str, normalized: str) -> str | None:
        """ "negative" for 👎 and the like alone, "positive" for other emoji alone or a
        word like "ok" (`reactions`); None for anything else."""
        stripped = text.strip()
        if not stripped:
            return None
        if not any(ch.isalnum() for ch in stripped):
            if not any(_is_symbol(ch) for ch in stripped):
                return None  # punctuation only ("???", "..."): not a reaction
            if any(e in stripped for e in self.negative_emoji):
                return "negative"
            return "positive"
        return "positive" if normalized in self.reactions else None


class Clarifier:
    def __init__(
        self,
        kb: KnowledgeBase,
        replies: ReplyBuilder,
        feedback: Feedback | None = None,
        policy: ClarifyPolicy | None = None,
    ) -> None:
        self.kb = kb
        self.texts = kb.texts
        self.replies = replies
        self.feedback_phrases = feedback or Feedback()
        self.policy = policy or ClarifyPolicy()

    # ------------------------------------------------------------------ typed messages
    def feedback(self, turn: Turn, prediction: Prediction) -> bool:
        """ "It did not help" and reactions (👍, "ok"), at any step of the dialog that reads
        a question; True if answered."""
        conv = turn.conversation
        reaction = self.feedback_phrases.reaction(turn.inbound.text, prediction.normalized)
        if reaction == "negative" or self.feedback_phrases.is_dissatisfied(prediction.normalized):
            conv.slots.clarify = None
            if conv.step == Step.AWAIT_ORDER:  # asked for an order number on a misread topic
                conv.step = Step.IDLE
                conv.slots.pending_intent = None
                conv.slots.order_attempts = 0
                conv.slots.complaint = None
                conv.slots.description = ""
            self.not_helped(turn)
            return True
        if reaction == "positive":
            conv.slots.not_helped_at = None
            conv.misunderstandings = 0
            waiting = conv.step == Step.AWAIT_ORDER
            turn.say(Reply(self.texts.get("reaction_order" if waiting else "reaction_ack")))
            return True
        return False

    def intercept(self, turn: Turn, prediction: Prediction) -> bool:
        """A question back when the model is unsure; True if asked."""
        conv = turn.conversation
        conv.slots.clarify = None  # a typed message answers no earlier question
        conv.slots.not_helped_at = None
        options = self.options(prediction)
        if options and self.unsure(prediction):
            self.ask(turn, prediction, options)
            return True
        if options:
            conv.slots.last_ranked = [name for name, _ in prediction.ranked]
        return False

    def unsure(self, prediction: Prediction) -> bool:
        if prediction.intent in NOT_OFFERED:
            return False  # manners and "out of scope" are answered (or not understood)
        if prediction.confidence < self.policy.answer_confidence:
            return True
        ranked = prediction.ranked
        return len(ranked) > 1 and ranked[0][1] - ranked[1][1] < self.policy.close_margin

    def options(self, prediction: Prediction) -> list[str]:
        """The likely topics worth offering, best first: two, and a third when it is not
        far-fetched."""
        found = [
            (name, probability)
            for name, probability in prediction.ranked
            if name not in NOT_OFFERED and name in self.kb.answers and probability >= MIN_SHOWN
        ]
        return [
            name
            for number, (name, p) in enumerate(found[:MAX_OPTIONS])
            if number < 2 or p >= MIN_OPTION
        ]

    def ask(self, turn: Turn, prediction: Prediction, options: list[str]) -> None:
        conv = turn.conversation
        conv.misunderstandings += 1
        if conv.misunderstandings >= self.policy.misunderstandings_before_operator:
            # Asked already and still unclear: a person reads it.
            conv.misunderstandings = 0
            turn.say(Reply(self.texts.get("clarify_then_operator")))
            turn.escalation = EscalationRequest(intent=prediction.intent, reason="misunderstood")
            return
        conv.slots.clarify = Question(turn.inbound.text[:2000], options, turn.now)
        rows: list[tuple[Button, ...]] = [
            (Button(buttons.PICK + name, self.kb.answer(name).title),) for name in options
        ]
        rows.append(
            (
                Button(buttons.MENU, self.texts.get("buttons.other_topic")),
                Button(buttons.OPERATOR, self.texts.get("buttons.operator")),
            )
        )
        key = "clarify_one" if len(options) == 1 else "clarify_options"
        turn.say(Reply(self.texts.get(key), tuple(rows)))

    def not_helped(self, turn: Turn) -> None:
        """An apology and an operator or related topics; the second time, an operator."""
        conv = turn.conversation
        last = conv.slots.last_intent
        last = last if last not in ("greeting", "thanks") else None
        before = conv.slots.not_helped_at
        if before is not None and turn.now - before <= NOT_HELPED_WINDOW:
            conv.slots.not_helped_at = None
            turn.say(Reply(self.texts.get("not_helped_operator")))
            turn.escalation = EscalationRequest(intent=last or "operator", reason="not_helped")
            return
        conv.slots.not_helped_at = turn.now
        topics = self._related(conv.slots, last)
        rows: list[tuple[Button, ...]] = [
            (Button(buttons.OPERATOR, self.texts.get("buttons.operator")),)
        ]
        rows += [(buttons.topic(name, self.kb.answer(name).title),) for name in topics]
        if not topics:
            rows.append((Button(buttons.MENU, self.texts.get("buttons.menu")),))
        key = "not_helped" if topics else "not_helped_no_topics"
        turn.say(Reply(self.texts.get(key), tuple(rows)))

    def _related(self, slots: Slots, last: str | None) -> list[str]:
        """Other likely readings of the last question, then the last topic's related ones."""
        seen = {last} if last else set()
        found: list[str] = []
        candidates = list(slots.last_ranked)
        if last and last in self.kb.answers:
            candidates += list(self.kb.answer(last).related)
        for name in candidates:
            if name not in seen and name not in NOT_OFFERED and name in self.kb.answers:
                seen.add(name)
                found.append(name)
        return found[:MAX_OPTIONS]

    def offer_second(self, turn: Turn, prediction: Prediction, answered: str) -> None:
        """The second request of the message, offered as a button under the answer."""
        second = prediction.also
        if (
            not second
            or second == answered
            or second not in self.kb.answers
            or turn.escalation is not None
            or answered in COMPLAINTS  # the whole message goes to the operator anyway
            or not turn.replies
        ):
            return
        title = self.kb.answer(second).title
        turn.say(
            Reply(
                self.texts.format("second_request", title=title),
                ((buttons.topic(second, title),),),
            )
        )

    # ------------------------------------------------------------------ an open case
    def asks_about_case(self, classifier: IntentClassifier, text: str) -> bool:
        """ "Where is the operator?", "how much longer?" written while a case is open."""
        if not text:
            return False
        prediction = classifier.predict(text[:CLASSIFY_LIMIT])
        words = prediction.normalized.split()
        if not words or len(words) > MAX_FEEDBACK_WORDS:
            return False
        padded = f" {' '.join(words)} "
        if any(f" {phrase} " in padded for phrase in self.feedback_phrases.waiting):
            return True
        return prediction.intent == "operator" and prediction.confidence >= 0.5

    # ------------------------------------------------------------------ the pick
    def picked(self, turn: Turn, payload: str) -> str:
        """The topic a topic or clarification button stands for; a pick that answers the
        pending question is kept for `remember_pick`."""
        intent = payload.removeprefix(buttons.TOPIC).removeprefix(buttons.PICK)
        conv = turn.conversation
        pending, conv.slots.clarify = conv.slots.clarify, None
        if (
            payload.startswith(buttons.PICK)
            and pending is not None
            and intent in pending.options
            and turn.now - pending.at <= PICK_TTL
        ):
            conv.slots.clarify_picked = Pick(pending.text, intent)
        return intent

    def take_pick(self, turn: Turn) -> None:
        """The customer picked a topic: the (message, topic) pair becomes a labelled
        example, written with the turn (`Turn.pick`)."""
        slots = turn.conversation.slots
        picked, slots.clarify_picked = slots.clarify_picked, None
        if picked is not None:
            turn.pick = (picked.text, picked.intent)

    @staticmethod
    async def remember_pick(tx: Storage, turn: Turn) -> None:
        """Inside the turn's transaction: store the pick (an operator's label on the same
        message is kept: it is not overwritten)."""
        if turn.pick is not None:
            text, intent = turn.pick
            await tx.labels.suggest(turn.conversation.id, text, intent, PICK_SOURCE, turn.now)


def _clean(phrase: str) -> str:
    return " ".join(words(phrase))


def _is_symbol(ch: str) -> bool:
    return ch not in _EMOJI_JOINERS and unicodedata.category(ch) in ("So", "Sk", "Sm")
