"""Core replies as Telegram messages: text parts within the limit and inline keyboards."""

from __future__ import annotations

import functools
import html

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.types import Button, Reply

TEXT_LIMIT = 4096  # characters (UTF-16 code units) of one message
CAPTION_LIMIT = 1024
SAFE_PART = 4000


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = SAFE_PART) -> list[str]:
    """Cut a long text into parts of at most `limit` UTF-16 units, preferring paragraph,
    line and word boundaries. An empty text gives no parts."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= limit:
            parts.append(rest)
            break
        cut = _fit(rest, limit)
        window = rest[:cut]
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > cut // 2:
                cut = at
                break
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit into `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return _markup(reply.buttons)


@functools.lru_cache(maxsize=1024)
def _markup(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    """The inline keyboard of a set of buttons, built once: menus and answers repeat the
    same buttons for every customer (the markup is never changed after it is built)."""
    rows = [
        [InlineKeyboardButton(text=b.title[:64], callback_data=b.id[:64]) for b in row]
        for row in buttons
        if row
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def escape(text: str) -> str:
    """Customer text inside our HTML posts: no tag or entity of theirs is parsed."""
    return html.escape(text, quote=False)
