"""`bots.telegram.render.split_text` as it was before issue 19 (a `_Token` per character,
the open tags recounted from the start for every part): the reference the faster splitter
must agree with, output for output (`tests/test_render_split.py`)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_HTML_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z0-9-]+)")
_SEPARATORS = ("\n\n", "\n", " ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Token:
    raw: str
    visible: str  # what Telegram shows for it ("" for a tag)
    opens: str | None = None  # a start tag's name
    closes: str | None = None  # an end tag's name

    @property
    def units(self) -> int:
        return utf16_len(self.visible)


def _tokens(text: str, markup: bool) -> list[_Token]:
    """Characters, and in HTML whole tags and entities, each as one token."""
    if not markup:
        return [_Token(char, char) for char in text]
    tokens: list[_Token] = []
    at = 0
    for match in _HTML_TOKEN.finditer(text):
        tokens += [_Token(char, char) for char in text[at : match.start()]]
        raw = match.group()
        if raw.startswith("<"):
            name = _TAG_NAME.match(raw)
            tag = name.group(1).lower() if name else ""
            closing = raw.startswith("</")
            tokens.append(_Token(raw, "", None if closing else tag, tag if closing else None))
        else:
            tokens.append(_Token(raw, html.unescape(raw)))
        at = match.end()
    tokens += [_Token(char, char) for char in text[at:]]
    return tokens


def split_text(text: str, limit: int = 4000, *, markup: bool = False) -> list[str]:
    """Cut a long text into parts of at most `limit` visible UTF-16 units, preferring
    paragraph, line and word boundaries. With `markup` (Telegram HTML) tags and entities
    are never cut and tags open at a cut are closed and reopened. An empty text gives no
    parts."""
    tokens = _tokens(text.strip(), markup)
    parts: list[str] = []
    start = 0
    while start < len(tokens):
        end, opened = _part_end(tokens, start, limit)
        prefix = "".join(raw for raw, _ in _open_tags(tokens[:start]))
        body = "".join(token.raw for token in tokens[start:end])
        closers = "".join(f"</{name}>" for _, name in reversed(opened))
        part = (prefix + body).strip() + closers if end < len(tokens) else prefix + body
        if _visible(tokens[start:end]).strip():
            parts.append(part.strip())
        start = end
        while start < len(tokens) and tokens[start].visible.isspace():
            start += 1
    return parts


def _part_end(tokens: list[_Token], start: int, limit: int) -> tuple[int, list[tuple[str, str]]]:
    """Where the part beginning at `start` ends, and the tags still open there."""
    units = 0
    end = start
    while end < len(tokens) and units + tokens[end].units <= limit:
        units += tokens[end].units
        end += 1
    if end == start:  # one character wider than the limit: it goes alone
        end = start + 1
    elif end < len(tokens):
        end = _best_cut(tokens, start, end)
    return end, _open_tags(tokens[:end])


def _best_cut(tokens: list[_Token], start: int, end: int) -> int:
    """The last paragraph, line or word break in the second half of the part, else `end`."""
    visible = _visible(tokens[start:end])
    half = len(visible) // 2
    for separator in _SEPARATORS:
        at = visible.rfind(separator)
        if at > half:
            # Back to a token index; end tags just before the break stay in this part.
            seen, index = 0, start
            while index < end and seen < at:
                seen += len(tokens[index].visible)
                index += 1
            while index < end and tokens[index].closes is not None:
                index += 1
            return index
    return end


def _visible(tokens: list[_Token]) -> str:
    return "".join(token.visible for token in tokens)


def _open_tags(tokens: list[_Token]) -> list[tuple[str, str]]:
    """(raw start tag, name) of the tags opened and not closed in `tokens`."""
    stack: list[tuple[str, str]] = []
    for token in tokens:
        if token.opens is not None:
            stack.append((token.raw, token.opens))
        elif token.closes is not None:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index][1] == token.closes:
                    del stack[index:]
                    break
    return stack
