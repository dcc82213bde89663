"""Operators' posts as aiogram formatting nodes: plain-text templates, values escaped.

Every text the bot posts in an operators' group comes from `desk.yaml`, where templates are
plain text. `fill` puts values into a template as nodes of `aiogram.utils.formatting`, so
the template's own words and every value (a customer's name, their message) are escaped
when the post is rendered (`Text.as_html()`); a value that is already formatted — a
mention, a link, a bold word — is a node and is kept as it is. Nothing is ever parsed as
HTML that was not built here.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from aiogram.utils.formatting import Text, TextLink

_SAFE_URL = re.compile(r"(?:https://|tg://)[^\s\"'<>&]+")


def fill(template: str, **values: object) -> Text:
    """The template with its `{placeholders}` replaced by `values` (a `Text` value is kept
    as a node, anything else is inserted as plain text). Format specs are not used."""
    nodes: list[object] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        if literal:
            nodes.append(literal)
        if name is not None:
            value = values[name]
            nodes.append(value if isinstance(value, Text) else str(value))
    return Text(*nodes)


def link(label: str | Text, url: str) -> Text:
    """A link, or the label alone when the address is not a plain https:// or tg:// one."""
    return TextLink(label, url=url) if _SAFE_URL.fullmatch(url) else Text(label)


def mention(user_id: str, name: str) -> Text:
    """A name that notifies the person in the group when it is a Telegram user id."""
    label = name or user_id
    if user_id.isdigit():
        return TextLink(label, url=f"tg://user?id={user_id}")
    return Text(label)


def joined(parts: Iterable[str | Text], separator: str) -> Text:
    """The parts with `separator` (plain text) between them."""
    nodes: list[str | Text] = []
    for part in parts:
        if nodes:
            nodes.append(separator)
        nodes.append(part)
    return Text(*nodes)


def lines(parts: Iterable[str | Text]) -> Text:
    return joined(parts, "\n")


def html(text: str | Text) -> str:
    """Telegram HTML of a post (plain text escaped)."""
    return (text if isinstance(text, Text) else Text(text)).as_html()
