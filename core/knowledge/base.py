"""The shop's knowledge base: per-intent answers and every other text the bot says.

Both live in editable YAML files (`config/knowledge/answers.yaml`, `texts.yaml`), are
validated at start-up and never hard-coded, so another shop changes data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.knowledge.intents import INTENTS

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
    # answers about the customer's order, self-service actions, edits (issue 12)
    "days",
    "edits.correction",
    "edits.customer",
    "edits.customer_was",
    "edits.logged",
    "handoff.with_order",
    "handoff.without_order",
    "order_advice.cancel.at_pickup_point",
    "order_advice.cancel.cancelled",
    "order_advice.cancel.delivered",
    "order_advice.cancel.on_the_way",
    "order_advice.cancel.possible_app",
    "order_advice.cancel.possible_self",
    "order_advice.cancel.refund_after",
    "order_advice.cancel.returning",
    "order_advice.complaint.confirm",
    "order_advice.complaint.courier_not_shipped",
    "order_advice.complaint.damaged_cancelled",
    "order_advice.complaint.damaged_not_received",
    "order_advice.complaint.date_part",
    "order_advice.complaint.not_received_at_pickup",
    "order_advice.complaint.not_received_cancelled",
    "order_advice.complaint.not_received_on_the_way",
    "order_advice.complaint.other_hint",
    "order_advice.delivery_change.at_pickup_point",
    "order_advice.delivery_change.cancelled",
    "order_advice.delivery_change.courier",
    "order_advice.delivery_change.date_self",
    "order_advice.delivery_change.delivered",
    "order_advice.delivery_change.extend_app",
    "order_advice.delivery_change.extend_self",
    "order_advice.delivery_change.extended",
    "order_advice.delivery_change.on_the_way",
    "order_advice.delivery_change.possible_app",
    "order_advice.delivery_change.possible_self",
    "order_advice.delivery_change.storage_hint",
    "order_advice.refund.delivered",
    "order_advice.refund.not_cancelled",
    "order_advice.refund.returning",
    "order_advice.refund_line.done",
    "order_advice.refund_line.due",
    "order_advice.refund_line.not_paid",
    "order_advice.refund_line.overdue",
    "order_advice.refund_line.unknown",
    "order_advice.refund_takes.card",
    "order_advice.refund_takes.default",
    "order_advice.refund_takes.sbp",
    "order_advice.refund_takes.wallet",
    "order_advice.refund_to.card",
    "order_advice.refund_to.default",
    "order_advice.refund_to.sbp",
    "order_advice.refund_to.wallet",
    "order_advice.return_item.cancelled",
    "order_advice.return_item.delivered_app",
    "order_advice.return_item.delivered_self",
    "order_advice.return_item.not_received",
    "order_advice.return_item.returning",
    "order_advice.status.at_pickup_point",
    "order_advice.status.at_pickup_point_last_day",
    "order_advice.status.awaiting_payment",
    "order_advice.status.courier",
    "order_advice.status.delayed",
    "order_advice.status.delayed_date",
    "order_advice.status.delayed_no_date",
    "order_advice.status.delivered",
    "order_advice.status.overdue",
    "order_advice.window.closed",
    "order_advice.window.last_day",
    "order_advice.window.open",
    "order_advice.window.unknown",
    "order_delivered_line",
    "order_invalid_hint.no_tail",
    "order_invalid_hint.tail",
    "order_storage_line",
    "order_waiting_again",
    "selfservice.already_done",
    "selfservice.buttons.confirm",
    "selfservice.buttons.decline",
    "selfservice.buttons.other_order",
    "selfservice.buttons.retry",
    "selfservice.buttons.this_order",
    "selfservice.declined",
    "selfservice.failed",
    "selfservice.no_choices",
    "selfservice.refused",
    "thanks_rate",
    "selfservice.buttons.cancel",
    "selfservice.confirm.cancel",
    "selfservice.done.cancel",
    "selfservice.buttons.cancel_item",
    "selfservice.confirm.cancel_item",
    "selfservice.done.cancel_item",
    "selfservice.buttons.change_date",
    "selfservice.confirm.change_date",
    "selfservice.done.change_date",
    "selfservice.buttons.change_pickup_point",
    "selfservice.confirm.change_pickup_point",
    "selfservice.done.change_pickup_point",
    "selfservice.buttons.extend_storage",
    "selfservice.confirm.extend_storage",
    "selfservice.done.extend_storage",
    "selfservice.buttons.start_return",
    "selfservice.confirm.start_return",
    "selfservice.done.start_return",
    "selfservice.pick.cancel_item",
    "selfservice.pick.change_date",
    "selfservice.pick.change_pickup_point",
    "selfservice.pick.start_return",
    "selfservice.refused_default",
    "selfservice.refused_too_late",
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
