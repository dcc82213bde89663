"""Core replies as Telegram messages: text parts within the limit and inline keyboards.

One splitter (`split_text`) cuts every long text the bot sends, plain or HTML. Telegram
counts a message's length after parsing (UTF-16 code units of the visible text), so in
HTML an entity such as `&amp;` counts as one character and a tag as none. The splitter
never cuts inside a tag or an entity: a part that ends inside `<b>…</b>` is closed there
and the tag is opened again at the start of the next part.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import re
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.types import Button, Reply

TEXT_LIMIT = 4096  # characters (UTF-16 code units) of one message
CAPTION_LIMIT = 1024
SAFE_PART = 4000

_HTML_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z0-9-]+)")
_SEPARATORS = ("\n\n", "\n", " ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_text(text: str, limit: int = SAFE_PART, *, markup: bool = False) -> list[str]:
    """Cut a long text into parts of at most `limit` visible UTF-16 units, preferring
    paragraph, line and word boundaries. With `markup` (Telegram HTML) tags and entities
    are never cut and tags open at a cut are closed and reopened. An empty text gives no
    parts."""
    text = text.strip()
    if 2 * len(text) <= limit or utf16_len(text) <= limit:
        # Parsing only shortens a text (a tag shows nothing, an entity is written with
        # more units than it shows), so this one is within the limit as it is.
        return [text] if _shows_something(text, markup) else []
    return _split(_Tokens.of(text, markup), limit)


def _shows_something(text: str, markup: bool) -> bool:
    if not markup or ("<" not in text and "&" not in text):
        return bool(text)
    return bool(_HTML_TOKEN.sub(_shown, text).strip())


def _shown(match: re.Match[str]) -> str:
    raw = match.group()
    return "" if raw.startswith("<") else html.unescape(raw)


@dataclass
class _Tag:
    index: int  # of its token
    raw: str
    opens: str | None  # a start tag's name
    closes: str | None  # an end tag's name


@dataclass
class _Tokens:
    """A text as tokens (characters, and in HTML whole tags and entities) with what each
    shows and running totals, so that a part's length is a subtraction."""

    raws: list[str]
    shown: list[str]  # what Telegram shows of each token ("" for a tag)
    tags: list[_Tag]  # in order
    closing: set[int]  # indexes of end tags
    visible: str  # everything shown
    chars: list[int]  # characters shown before each token (and after the last)
    units: list[int]  # UTF-16 units shown before each token (and after the last)

    @classmethod
    def of(cls, text: str, markup: bool) -> _Tokens:
        raws: list[str] = []
        shown: list[str] = []
        tags: list[_Tag] = []
        at = 0
        for match in _HTML_TOKEN.finditer(text) if markup else ():
            raws += text[at : match.start()]
            shown += text[at : match.start()]
            raw = match.group()
            if raw.startswith("<"):
                name = _TAG_NAME.match(raw)
                tag = name.group(1).lower() if name else ""
                opens, closes = (None, tag) if raw.startswith("</") else (tag, None)
                tags.append(_Tag(len(raws), raw, opens, closes))
                shown.append("")
            else:
                shown.append(html.unescape(raw))
            raws.append(raw)
            at = match.end()
        raws += text[at:]
        shown += text[at:]
        visible = "".join(shown)
        chars = [0, *itertools.accumulate(map(len, shown))]
        wide = bool(visible) and max(visible) > "\uffff"  # two UTF-16 units each
        units = [0, *itertools.accumulate(map(utf16_len, shown))] if wide else chars
        closing = {tag.index for tag in tags if tag.closes is not None}
        return cls(raws, shown, tags, closing, visible, chars, units)


def _split(tokens: _Tokens, limit: int) -> list[str]:
    """Part after part, each token looked at a bounded number of times."""
    parts: list[str] = []
    count = len(tokens.raws)
    stack: list[tuple[str, str]] = []  # (raw start tag, name) open where the part starts
    next_tag = 0
    start = 0
    while start < count:
        end = _part_end(tokens, start, limit)
        prefix = "".join(raw for raw, _ in stack)
        while next_tag < len(tokens.tags) and tokens.tags[next_tag].index < end:
            _follow(stack, tokens.tags[next_tag])
            next_tag += 1
        body = "".join(tokens.raws[start:end])
        closers = "".join(f"</{name}>" for _, name in reversed(stack))
        part = (prefix + body).strip() + closers if end < count else prefix + body
        if tokens.visible[tokens.chars[start] : tokens.chars[end]].strip():
            parts.append(part.strip())
        start = end
        while start < count and tokens.shown[start].isspace():
            start += 1
    return parts


def _part_end(tokens: _Tokens, start: int, limit: int) -> int:
    """Where the part beginning at `start` ends."""
    units = tokens.units
    end = bisect.bisect_right(units, units[start] + limit, lo=start) - 1
    if end == start:  # one character wider than the limit: it goes alone
        return start + 1
    if end < len(tokens.raws):
        return _best_cut(tokens, start, end)
    return end


def _best_cut(tokens: _Tokens, start: int, end: int) -> int:
    """The last paragraph, line or word break in the second half of the part, else `end`."""
    first, last = tokens.chars[start], tokens.chars[end]
    half = (last - first) // 2
    for separator in _SEPARATORS:
        at = tokens.visible.rfind(separator, first, last)
        if at - first > half:
            # Back to a token index; end tags just before the break stay in this part.
            index = bisect.bisect_left(tokens.chars, at, lo=start, hi=end)
            while index < end and index in tokens.closing:
                index += 1
            return index
    return end


def _follow(stack: list[tuple[str, str]], tag: _Tag) -> None:
    """The tags open after `tag`: a start tag opens, an end tag closes its latest match
    and everything opened inside it."""
    if tag.opens is not None:
        stack.append((tag.raw, tag.opens))
    elif tag.closes is not None:
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][1] == tag.closes:
                del stack[index:]
                break


def fit_caption(caption: str, *, markup: bool = False) -> tuple[str, bool]:
    """The caption cut to Telegram's limit at a safe place; True when something was cut."""
    parts = split_text(caption, CAPTION_LIMIT, markup=markup)
    if not parts:
        return "", False
    return parts[0], len(parts) > 1


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
