"""The shop's knowledge base: per-intent answers and every other text the bot says.

Both live in editable YAML files (`config/knowledge/answers.yaml`, `texts.yaml`), are
validated at start-up and never hard-coded, so another shop changes data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.intents import INTENTS

REQUIRED_TEXTS = (
    "buttons.helped",
    "buttons.operator",
    "buttons.menu",
    "buttons.no_photo",
    "buttons.skip",
    "menu_prompt",
    "clarify",
    "clarify_then_operator",
    "empty_message",
    "unsupported_content",
    "attachment_without_ticket",
    "too_long_note",
    "unknown_button",
    "unknown_command",
    "internal_error",
    "ask_order.default",
    "order_invalid",
    "order_waiting",
    "order_not_found",
    "order_give_up",
    "order_service_down",
    "order_status",
    "order_date_line",
    "order_pickup_line",
    "complaint.apology.default",
    "complaint.ask_description",
    "complaint.ask_photo",
    "escalated",
    "escalated_complaint",
    "escalated_vip",
    "escalated_offhours",
    "already_escalated",
    "already_in_progress",
    "rating_not_accepted",
    "wait_minutes",
    "wait_hours",
    "helped_reply",
    "rating_request",
    "rating_thanks",
    "rating_thanks_low",
    "comment_thanks",
    "rating_skipped",
    "conflict_boundary",
    "compensation",
)


class KnowledgeError(Exception):
    """A data file is missing something; the message names the file and the key."""


@dataclass(frozen=True)
class Answer:
    intent: str
    title: str
    text: str
    related: tuple[str, ...]


class Texts:
    def __init__(self, raw: dict[str, Any], source: str = "texts.yaml") -> None:
        self._raw = raw
        self._source = source

    def get(self, key: str, fallback: str | None = None) -> str:
        value = self._lookup(key)
        if value is None and fallback is not None:
            value = self._lookup(fallback)
        if value is None:
            raise KnowledgeError(f"{self._source}: missing text '{key}'")
        return value.rstrip("\n") if isinstance(value, str) else str(value)

    def format(self, key: str, fallback: str | None = None, **values: object) -> str:
        return self.get(key, fallback).format(**values)

    def has(self, key: str) -> bool:
        return self._lookup(key) is not None

    def plural(self, key: str, count: int) -> str:
        """`count` with the right Russian form from a three-item list under `key`
        (1 день, 2 дня, 5 дней)."""
        forms = self._lookup(key)
        if not isinstance(forms, list) or len(forms) != 3:
            raise KnowledgeError(f"{self._source}: '{key}' must list three word forms")
        n = abs(count)
        if n % 10 == 1 and n % 100 != 11:
            form = forms[0]
        elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            form = forms[1]
        else:
            form = forms[2]
        return f"{count} {form}"

    def _lookup(self, key: str) -> Any:
        node: Any = self._raw
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


class KnowledgeBase:
    def __init__(self, answers: dict[str, Answer], menu: tuple[str, ...], texts: Texts) -> None:
        self.answers = answers
        self.menu = menu
        self.texts = texts

    @classmethod
    def load(cls, folder: Path) -> KnowledgeBase:
        answers_path = folder / "answers.yaml"
        texts_path = folder / "texts.yaml"
        raw = _read_yaml(answers_path)
        entries = raw.get("intents") or {}
        answers: dict[str, Answer] = {}
        for intent in INTENTS:
            entry = entries.get(intent)
            if not isinstance(entry, dict) or not str(entry.get("answer", "")).strip():
                raise KnowledgeError(f"{answers_path}: no answer for intent '{intent}'")
            related = tuple(str(r) for r in entry.get("related") or ())
            for name in related:
                if name not in INTENTS:
                    raise KnowledgeError(f"{answers_path}: {intent}.related: unknown '{name}'")
            answers[intent] = Answer(
                intent=intent,
                title=str(entry.get("title") or intent),
                text=str(entry["answer"]).strip(),
                related=related,
            )
        unknown = set(entries) - set(INTENTS)
        if unknown:
            raise KnowledgeError(f"{answers_path}: unknown intents {sorted(unknown)}")
        menu = tuple(str(m) for m in raw.get("menu") or ())
        for name in menu:
            if name not in INTENTS:
                raise KnowledgeError(f"{answers_path}: menu: unknown intent '{name}'")
        texts = Texts(_read_yaml(texts_path), str(texts_path))
        for key in REQUIRED_TEXTS:
            texts.get(key)
        return cls(answers, menu, texts)

    def answer(self, intent: str) -> Answer:
        return self.answers[intent]

    def all_texts(self) -> list[str]:
        return [a.text for a in self.answers.values()] + [a.title for a in self.answers.values()]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}: expected a mapping at the top")
    return data


def load_canned(path: Path) -> dict[str, str]:
    """Operators' saved replies (`/t NAME`)."""
    if not path.exists():
        return {}
    raw = _read_yaml(path)
    return {str(k): str(v).strip() for k, v in (raw.get("replies") or {}).items()}
