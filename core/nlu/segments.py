"""Cutting a message into the pieces a customer strings together: sentences, and clauses
joined by a comma or a dash, so that a greeting, a thanks or
a story before the request can be weighed apart from it."""

from __future__ import annotations

import re

# Sentence ends: . ! ? … ; or a line break (a dot inside a number or an order number
# is not an end: it must be followed by a space or the end of the text).
_SENTENCE = re.compile(r"(?:[.!?…;]+(?=\s|$)|\n+|\)\s)")
# Clause joints inside a sentence: a comma or a dash between words.
_CLAUSE = re.compile(r",|\s[-—–]\s")
MIN_LETTERS = 2  # a piece with fewer letters is glued to its neighbour
MAX_PIECES = 12  # a very long message is cut into at most this many pieces


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE.split(text) if part and part.strip()]


def pieces(text: str) -> list[str]:
    """Sentences, then clauses; tiny fragments are glued to the piece before them."""
    result: list[str] = []
    for sentence in sentences(text):
        for clause in _CLAUSE.split(sentence):
            clause = clause.strip()
            if not clause:
                continue
            if result and _letters(clause) < MIN_LETTERS:
                result[-1] = f"{result[-1]} {clause}"
            else:
                result.append(clause)
    if len(result) > MAX_PIECES:
        head = result[: MAX_PIECES - 1]
        return [*head, " ".join(result[MAX_PIECES - 1 :])]
    return result


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())
