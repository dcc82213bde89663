"""One `Reply` → the parts of a VK message: text pieces and an inline keyboard.

* Buttons carry the core button id as payload `{"b": "<id>"}` — the same id Telegram
  puts in `callback_data`.
* Callback buttons when the customer's client supports them (`client_info.
  button_actions` contains "callback"), Text buttons otherwise; a client without inline
  keyboards gets a one-time keyboard under the input field instead.
* VK limits: label 40 characters, payload 255; inline keyboard at most 10 buttons,
  5 in a row, 6 rows (standard keyboard 40 / 5 / 10). Overflow drops related-topic
  buttons first and never the operator button.
* Text: at most 4000 characters a message (VK refuses 4096+ with error 914), split at a
  paragraph, line or space; the keyboard goes on the last part. Nothing empty is sent.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from core import buttons
from core.types import Button, Reply

MAX_TEXT = 4000
MAX_LABEL = 40
MAX_PAYLOAD = 255


@dataclass(frozen=True)
class Limits:
    buttons: int
    per_row: int
    rows: int


INLINE = Limits(buttons=10, per_row=5, rows=6)
STANDARD = Limits(buttons=40, per_row=5, rows=10)


@dataclass(frozen=True)
class ClientCaps:
    """What the customer's VK client can show (from `client_info` of their messages)."""

    inline: bool = True
    callback: bool = False

    @classmethod
    def from_client_info(cls, info: Any) -> ClientCaps:
        if not isinstance(info, dict):
            return cls()
        actions = info.get("button_actions") or []
        return cls(
            inline=bool(info.get("inline_keyboard", True)),
            callback="callback" in actions,
        )


class ClientCapsCache:
    """The last known `ClientCaps` of each customer, in memory (bounded)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._items: OrderedDict[int, ClientCaps] = OrderedDict()
        self._limit = limit

    def remember(self, user_id: int, caps: ClientCaps) -> None:
        self._items[user_id] = caps
        self._items.move_to_end(user_id)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def get(self, user_id: int) -> ClientCaps:
        # Unknown clients get Text buttons: every client with bot keyboards shows them.
        return self._items.get(user_id, ClientCaps())


@dataclass(frozen=True)
class Part:
    text: str
    keyboard: str | None = None


def render(reply: Reply, caps: ClientCaps, *, max_text: int = MAX_TEXT) -> list[Part]:
    """The messages that show `reply`; the keyboard rides on the last one."""
    texts = split_text(reply.text, max_text)
    keyboard = keyboard_json(reply.buttons, caps)
    if not texts:
        return []
    parts = [Part(text) for text in texts]
    parts[-1] = Part(texts[-1], keyboard)
    return parts


def payload(button_id: str) -> dict[str, str]:
    return {"b": button_id}


def keyboard_json(rows: tuple[tuple[Button, ...], ...], caps: ClientCaps) -> str | None:
    limits = INLINE if caps.inline else STANDARD
    fitted = fit_rows(rows, limits)
    if not fitted:
        return None
    action_type = "callback" if caps.callback and caps.inline else "text"
    keyboard: dict[str, Any] = {
        "buttons": [[_button(b, action_type) for b in row] for row in fitted],
    }
    if caps.inline:
        keyboard["inline"] = True
    else:
        keyboard["one_time"] = True
    return json.dumps(keyboard, ensure_ascii=False)


def _button(button: Button, action_type: str) -> dict[str, Any]:
    action = {
        "type": action_type,
        "label": label(button.title),
        "payload": json.dumps(payload(button.id), ensure_ascii=False),
    }
    color = "primary" if button.id == buttons.OPERATOR else "secondary"
    return {"action": action, "color": color}


def label(title: str) -> str:
    title = " ".join(title.split()) or "…"
    return title if len(title) <= MAX_LABEL else title[: MAX_LABEL - 1].rstrip() + "…"


def fit_rows(rows: tuple[tuple[Button, ...], ...], limits: Limits) -> list[list[Button]]:
    """Rows within `limits`: long rows wrapped, then overflow dropped by priority."""
    fitted: list[list[Button]] = []
    for row in rows:
        usable = [b for b in row if _payload_fits(b)]
        for start in range(0, len(usable), limits.per_row):
            fitted.append(usable[start : start + limits.per_row])
    while _count(fitted) > limits.buttons or len(fitted) > limits.rows:
        if not _drop_one(fitted):
            break
    return [row for row in fitted if row]


def _payload_fits(button: Button) -> bool:
    return len(json.dumps(payload(button.id), ensure_ascii=False)) <= MAX_PAYLOAD


def _count(rows: list[list[Button]]) -> int:
    return sum(len(row) for row in rows)


def _drop_one(rows: list[list[Button]]) -> bool:
    """Remove the least important button: the last related topic, else the last button
    that is not the operator's; False when only the operator is left."""
    for droppable in (_is_topic, _is_not_operator):
        found = [(r, c) for r, row in enumerate(rows) for c, b in enumerate(row) if droppable(b)]
        if found:
            r, c = found[-1]
            del rows[r][c]
            if not rows[r]:
                del rows[r]
            return True
    return False


def _is_topic(button: Button) -> bool:
    return button.id.startswith(buttons.TOPIC)


def _is_not_operator(button: Button) -> bool:
    return button.id != buttons.OPERATOR


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, line or space.

    Characters outside the BMP (most emoji) count twice, as in UTF-16, in case VK
    measures the 4096 that way.
    """
    text = text.strip()
    pieces: list[str] = []
    while utf16_len(text) > limit:
        fits = _fitting_prefix(text, limit)
        window = text[: fits + 1]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > fits // 3:  # keep pieces reasonably long
                cut = at
                break
        cut = fits if cut < 0 else cut
        head, text = text[:cut].rstrip(), text[cut:].strip()
        if head:
            pieces.append(head)
    if text:
        pieces.append(text)
    return pieces


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _fitting_prefix(text: str, limit: int) -> int:
    """The number of leading characters whose UTF-16 length is at most `limit`."""
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return max(1, index)
    return len(text)
