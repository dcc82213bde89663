"""What a typed question asks for: the classifier's reading, weighed with the message's
manners and with what the conversation already knows (issue 21).

- Manners answer only manners: a longer message that reads, unsurely, as a greeting or
  thanks but carries a request ("Спасибо огромное, но сколько ещё ждать?") is read
  without its greeting and thanks pieces.
- What the conversation knows (`config/nlu/context.yaml`), for a message sent soon after
  the last one and naming no other order: a reading means something else about the
  order where it is ("верните деньги" about an order in hand asks for its return,
  "хочу его вернуть" about one not received yet for its cancellation), and the topic
  answered last, or of the case just closed, is likelier for a follow-up ("а сроки
  какие?").

The result is a `Prediction` like the classifier's, so asking and answering treat both
alike; the dialog logs the intent it acted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.conversation.clarify import MANNERS_WORDS, NOT_OFFERED
from core.knowledge.base import KnowledgeError
from core.knowledge.folding import letter_words
from core.knowledge.intents import INTENTS
from core.nlu import IntentClassifier, Prediction
from core.nlu.classifier import SOCIAL
from core.orders.states import STATES
from core.storage import Conversation


@dataclass(frozen=True)
class ContextRules:
    """`config/nlu/context.yaml`: how what the conversation knows weighs a reading."""

    window: float = 3600.0  # seconds since the last message within which context counts
    last_topic: float = 1.0  # the last topic's weight beside the model's reading
    # order state -> {reading: what it means about an order in that state}
    meanings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path) -> ContextRules:
        if not path.exists():
            return cls()
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        meanings: dict[str, dict[str, str]] = {}
        for state, table in (raw.get("meanings") or {}).items():
            if state not in STATES or not isinstance(table, dict):
                raise KnowledgeError(f"{path}: meanings: unknown order state {state!r}")
            unknown = {str(name) for pair in table.items() for name in pair} - set(INTENTS)
            if unknown:
                raise KnowledgeError(f"{path}: meanings.{state}: unknown intents {unknown}")
            meanings[state] = {str(k): str(v) for k, v in table.items()}
        return cls(
            window=float(raw.get("window", cls.window)),
            last_topic=float(raw.get("last_topic", cls.last_topic)),
            meanings=meanings,
        )


class Reader:
    def __init__(self, rules: ContextRules | None = None, answer_confidence: float = 0.4) -> None:
        self.rules = rules or ContextRules()
        # A greeting or thanks read less surely than this is read for a request in it
        # (the dialog's answer threshold: below it, manners are not sure either).
        self.answer_confidence = answer_confidence

    def read(
        self,
        classifier: IntentClassifier,
        prediction: Prediction,
        text: str,
        conv: Conversation,
        now: float,
        names_order: bool,
    ) -> Prediction:
        """The reading the dialog acts on (see the module doc); `names_order`: the
        message names an order number of its own."""
        reading = self.request_behind_manners(classifier, prediction, text)
        if names_order or now - conv.updated_at > self.rules.window or conv.version == 0:
            return reading
        return self.in_context(reading, conv.slots.order_state, conv.slots.last_intent)

    def request_behind_manners(
        self, classifier: IntentClassifier, prediction: Prediction, text: str
    ) -> Prediction:
        """An unsure greeting or thanks on a longer message read for the request it
        carries, if any. A sure one stays manners (a request in another piece of it is
        offered as a button under the answer, `Prediction.also`): real thanks often
        tell a story ("деньги вернулись, спасибо") that reads like a request."""
        if (
            prediction.intent not in SOCIAL
            or prediction.confidence >= self.answer_confidence
            or len(letter_words(text)) <= MANNERS_WORDS
        ):
            return prediction
        request = classifier.without_manners(text)
        if request is None or request.intent in NOT_OFFERED:
            return prediction
        return request

    def in_context(
        self, prediction: Prediction, order_state: str | None, last_topic: str | None
    ) -> Prediction:
        """The reading re-weighed by the known order's state and the last topic."""
        weights = dict(prediction.ranked)
        if not weights:
            return prediction
        for reading, meaning in self.rules.meanings.get(order_state or "", {}).items():
            if reading in weights:
                weights[meaning] = weights.get(meaning, 0.0) + weights.pop(reading)
        if last_topic in weights and last_topic not in SOCIAL:
            weights[last_topic] *= self.rules.last_topic
        total = sum(weights.values()) + (1.0 - sum(p for _, p in prediction.ranked))
        ranked = sorted(((n, p / total) for n, p in weights.items()), key=lambda item: -item[1])
        intent, confidence = ranked[0]
        also = prediction.also if prediction.also != intent else None
        return Prediction(intent, confidence, prediction.normalized, tuple(ranked), also)
