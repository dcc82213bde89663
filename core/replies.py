"""Replies with buttons: the main menu, an answer with "Помогло" / "Позвать оператора"
and related topics, and the titles of pressed buttons for the transcript."""

from __future__ import annotations

from core import buttons
from core.knowledge import KnowledgeBase
from core.types import Button, Reply

_BUTTON_TEXTS = {
    buttons.HELPED: "buttons.helped",
    buttons.OPERATOR: "buttons.operator",
    buttons.MENU: "buttons.menu",
    buttons.NO_PHOTO: "buttons.no_photo",
    buttons.SKIP: "buttons.skip",
    buttons.START: "buttons.menu",
}


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

    def with_buttons(self, text: str, intent: str) -> Reply:
        """An answer: "Помогло" and "Позвать оператора", then the intent's related topics."""
        helped = Button(buttons.HELPED, self.texts.get("buttons.helped"))
        operator = Button(buttons.OPERATOR, self.texts.get("buttons.operator"))
        rows: list[tuple[Button, ...]] = [(helped, operator)]
        rows.extend(
            (buttons.topic(name, self.kb.answer(name).title),)
            for name in self.kb.answer(intent).related
        )
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
        return payload[:60]
