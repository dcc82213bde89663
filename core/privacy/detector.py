"""Recognising a customer's request about their personal data, before the classifier.

A rule-based match (the phrases of `config/nlu/privacy.yaml`), not a new intent: the
intent taxonomy is a public interface, the classifier's training files are a fixed set,
and a new intent would change its evaluation. A phrase is a set of word beginnings that
must all be in a short message, in any order ("удал данн" — "удалите, пожалуйста, мои
данные"); a message that names something else (a bank card) is not a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from core.knowledge.folding import fold

_WORD = re.compile(r"[а-яa-z0-9]+")
_LATIN = re.compile(r"[A-Za-z]")
EXACT = 2  # words this short must match whole ("не", "я")


class Ask(StrEnum):
    ERASE = "erase"  # delete my data / I withdraw my consent
    QUESTION = "question"  # what do you keep about me?


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]

    def found_in(self, words: list[str]) -> bool:
        return all(any(_fits(part, word) for word in words) for part in self.words)


def _fits(part: str, word: str) -> bool:
    return word == part if len(part) <= EXACT else word.startswith(part)


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


class PrivacyDetector:
    def __init__(
        self,
        erase: Iterable[str] = (),
        question: Iterable[str] = (),
        not_erase: Iterable[str] = (),
        max_words: int = 14,
    ) -> None:
        self.erase = [Phrase(tuple(_words(p))) for p in erase if _words(p)]
        self.question = [Phrase(tuple(_words(p))) for p in question if _words(p)]
        self.not_erase = tuple(w for p in not_erase for w in _words(p))
        self.max_words = max_words
        # A message without the longest word beginning of any phrase cannot match one:
        # one search of this rules out almost every message at once.
        keys = sorted({max(p.words, key=len) for p in self.erase + self.question}, key=len)
        self._maybe = re.compile(
            r"(?<![а-яa-z0-9])(?:" + "|".join(re.escape(k) for k in reversed(keys)) + ")"
            if keys
            else r"(?!)"
        )

    @classmethod
    def from_file(cls, path: Path) -> PrivacyDetector:
        """The phrases of `path`; none (nothing recognised) when the file is absent."""
        if not path.exists():
            return cls()
        raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(
            (str(p) for p in raw.get("erase") or ()),
            (str(p) for p in raw.get("question") or ()),
            (str(p) for p in raw.get("not_erase") or ()),
            int(raw.get("max_words") or 14),
        )

    def ask(self, text: str, normalize: Callable[[str], str] | None = None) -> Ask | None:
        """What the message asks about the customer's data, if anything. `normalize` is
        the classifier's (keyboard layout, Latin letters, slang repaired)."""
        lowered = fold(text)
        latin = normalize is not None and _LATIN.search(lowered) is not None
        if not latin and not self._maybe.search(lowered):
            return None
        words = _WORD.findall(lowered)
        if not words or len(words) > self.max_words:
            return None
        found = self._ask(words)
        if found is None and latin and normalize is not None:
            # Typed on the English layout or spelt in Latin letters: read back first.
            found = self._ask(_words(normalize(text)))
        return found

    def _ask(self, words: list[str]) -> Ask | None:
        if any(p.found_in(words) for p in self.erase):
            if not any(_fits(veto, word) for veto in self.not_erase for word in words):
                return Ask.ERASE
        if any(p.found_in(words) for p in self.question):
            return Ask.QUESTION
        return None
