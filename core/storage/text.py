"""Text as every supported database keeps it."""

from __future__ import annotations


def storable(text: str) -> str:
    """PostgreSQL refuses NUL characters in text: they become U+FFFD, on SQLite too."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
