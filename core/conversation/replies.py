"""Replies with buttons: the main menu, an answer with "it helped" / "call an operator"
and related topics, and the titles of pressed buttons for the transcript.

Every reply's buttons are distinct: a related topic that repeats a button already there
(the operator, the answer's own topic) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from core import buttons
from core.knowledge.base import KnowledgeBase
from core.types import Button, Reply

_BUTTON_TEXTS = {
    buttons.HELPED: "buttons.helped",
    buttons.OPERATOR: "buttons.operator",
    buttons.MENU: "buttons.menu",
    buttons.NO_PHOTO: "buttons.no_photo",
    buttons.SKIP: "buttons.skip",
    buttons.START: "buttons.menu",
    buttons.ORDER_OK: "selfservice.buttons.this_order",
    buttons.OTHER_ORDER: "selfservice.buttons.other_order",
}
_ACTION_TEXTS = {
    "yes": "selfservice.buttons.confirm",
    "no": "selfservice.buttons.decline",
}
# Topics that mean "a person", already offered by the operator button.
_OPERATOR_TOPICS = frozenset({"operator"})


class ReplyBuilder:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.texts = kb.texts

    def menu(self, text: str) -> Reply:
        """The text with the main menu's topics, two a row, and the operator button."""
        topics = [buttons.topic(i, self.kb.answer(i).title) for i in self.kb.menu]
        rows = [tuple(topics[start : start + 2]) for start in range(0, len(topics), 2)]
        rows.append((Button(buttons.OPERATOR, self.texts.get("buttons.operator")),))
        return Reply(text, tuple(rows))

    def answer(self, intent: str) -> Reply:
        return self.with_buttons(self.kb.answer(intent).text, intent)

    def with_buttons(self, text: str, intent: str, related: Sequence[str] | None = None) -> Reply:
        """An answer: "it helped" and "call an operator", then related topics (the
        intent's own, unless others are given)."""
        helped = Button(buttons.HELPED, self.texts.get("buttons.helped"))
        operator = Button(buttons.OPERATOR, self.texts.get("buttons.operator"))
        rows: list[tuple[Button, ...]] = [(helped, operator)]
        seen = {helped.title, operator.title}
        for name in self.kb.answer(intent).related if related is None else related:
            title = self.kb.answer(name).title
            if name == intent or name in _OPERATOR_TOPICS or title in seen:
                continue
            seen.add(title)
            rows.append((buttons.topic(name, title),))
        return Reply(text, tuple(rows))

    def operator_row(self) -> tuple[tuple[Button, ...], ...]:
        return (
            (
                Button(buttons.OPERATOR, self.texts.get("buttons.operator")),
                Button(buttons.MENU, self.texts.get("buttons.menu")),
            ),
        )

    def button_title(self, payload: str) -> str:
        """What a pressed button said, for the transcript."""
        if payload.startswith((buttons.TOPIC, buttons.PICK)):
            name = payload.removeprefix(buttons.TOPIC).removeprefix(buttons.PICK)
            answer = self.kb.answers.get(name)
            if answer is not None:
                return answer.title
        if payload in _BUTTON_TEXTS:
            return self.texts.get(_BUTTON_TEXTS[payload])
        if payload.startswith("act:"):
            kind, _, rest = payload.removeprefix("act:").partition(":")
            key = f"selfservice.buttons.{rest.partition(':')[0]}" if kind == "go" else ""
            key = _ACTION_TEXTS.get(kind, key)
            if key and self.texts.has(key):
                return self.texts.get(key)
        return payload[:60]
