"""How the bot compares what people type with the words of its data files (sub-cases,
feedback phrases, status words): lowercased, the letter yo written as ye, split into words.

A normalisation, like `core.nlu.normalize` (which does more: layouts, slang, order numbers);
the one Cyrillic letter here is what is folded, not a text anyone reads.
"""

from __future__ import annotations

import re

_YO = str.maketrans("ё", "е")
_WORD = re.compile(r"[^\W_]+")  # letters and digits, of any alphabet
_LETTERS = re.compile(r"[^\W\d_]+")


def fold(text: str) -> str:
    """Lowercased, yo as ye."""
    return text.lower().translate(_YO)


def words(text: str) -> list[str]:
    """The folded text's words (letters and digits; punctuation and spaces between)."""
    return _WORD.findall(fold(text))


def letter_words(text: str) -> list[str]:
    """The folded text's words of letters only (digits dropped)."""
    return _LETTERS.findall(fold(text))
