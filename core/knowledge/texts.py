"""Texts the bot says, read from a YAML file: nested keys (`order_advice.cancel.delivered`),
`{placeholders}` the bot fills, and Russian plural forms.

Some placeholders every text may use, whatever it is about: `{shop}`, the shop's name
(`Texts.fill`). They are filled in whether a text is formatted or only got.

A shop edits copies of the shipped files; `check_against` holds a shop's file against the
shipped one at start-up: every text the bot may say must be there, and a text may use only
placeholders the bot fills (a misspelt `{tiket}` would fail only when said).
"""

from __future__ import annotations

import string
from typing import Any


class KnowledgeError(Exception):
    """A data file is missing something; the message names the file and the key."""


class Texts:
    def __init__(
        self,
        raw: dict[str, Any],
        source: str = "texts.yaml",
        fill: dict[str, str] | None = None,
    ) -> None:
        self._raw = raw
        self._source = source
        self.fill = dict(fill or {})  # placeholders any text may use: {"shop": "…"}

    def get(self, key: str, fallback: str | None = None) -> str:
        return fill_in(self._template(key, fallback), self.fill)

    def format(self, key: str, fallback: str | None = None, **values: object) -> str:
        return self._template(key, fallback).format(**{**self.fill, **values})

    def _template(self, key: str, fallback: str | None) -> str:
        value = self._lookup(key)
        if value is None and fallback is not None:
            value = self._lookup(fallback)
        if value is None:
            raise KnowledgeError(f"{self._source}: missing text '{key}'")
        return value.rstrip("\n") if isinstance(value, str) else str(value)

    def has(self, key: str) -> bool:
        return self._lookup(key) is not None

    def plural(self, key: str, count: int) -> str:
        """`count` with the right Russian form from a three-item list under `key`
        ("1 day", "2 days", "5 days", each noun in its own form)."""
        return f"{count} {self.word(key, count)}"

    def word(self, key: str, count: int) -> str:
        """The form of the word under `key` that goes with `count` (the three forms of
        "day" for 1, 2 and 5 days)."""
        return self.items(key, 3)[plural_form(count)]

    def items(self, key: str, length: int) -> list[str]:
        """The list of `length` texts under `key` (word forms, the months' names)."""
        found = self._lookup(key)
        if not isinstance(found, list) or len(found) != length:
            raise KnowledgeError(f"{self._source}: '{key}' must list {length} items")
        return [str(item) for item in found]

    def keys(self) -> dict[str, Any]:
        """Every text by its dotted key (lists of word forms as they are)."""
        flat: dict[str, Any] = {}

        def walk(node: Any, prefix: str) -> None:
            if isinstance(node, dict):
                for name, value in node.items():
                    walk(value, f"{prefix}.{name}" if prefix else str(name))
            else:
                flat[prefix] = node

        walk(self._raw, "")
        return flat

    def check_against(self, reference: Texts) -> None:
        """Raise `KnowledgeError` when a text of `reference` is missing here, is of another
        shape (a text where word forms are expected), or uses a placeholder the
        reference's text does not."""
        mine = self.keys()
        for key, expected in reference.keys().items():
            value = mine.get(key)
            if value is None:
                raise KnowledgeError(f"{self._source}: missing text '{key}'")
            if isinstance(expected, list):
                if not isinstance(value, list) or len(value) != len(expected):
                    raise KnowledgeError(
                        f"{self._source}: '{key}' must list {len(expected)} word forms"
                    )
                continue
            filled = placeholders(str(expected)) | set(self.fill)
            unknown = placeholders(str(value)) - filled
            if unknown:
                raise KnowledgeError(
                    f"{self._source}: '{key}' uses {{{', '.join(sorted(unknown))}}}, which the "
                    f"bot does not fill (it fills: {', '.join(sorted(filled)) or 'nothing'})"
                )

    def _lookup(self, key: str) -> Any:
        node: Any = self._raw
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


def fill_in(text: str, values: dict[str, str]) -> str:
    """The text with each `{name}` of `values` replaced (nothing else is formatted)."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return text


def plural_form(count: int) -> int:
    """Which of the three Russian forms goes with `count`: 0 for 1, 21, 101; 1 for 2-4,
    22-24; 2 for 0, 5-20, 25-30 and the rest."""
    n = abs(count)
    if n % 10 == 1 and n % 100 != 11:
        return 0
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return 1
    return 2


def placeholders(template: str) -> set[str]:
    """The names of the `{placeholders}` in a text."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:  # an unbalanced brace: str.format would fail the same way
        return {"<unbalanced brace>"}
