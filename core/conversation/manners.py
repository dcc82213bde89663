"""Recognising insults and obscenities, so the bot answers them calmly and once."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from core.knowledge.folding import fold
from core.nlu.layout import fix_layout

_WORD = re.compile(r"(?:[^\W\d_]|\*)+")  # letters, and the stars of a masked word


class Manners:
    def __init__(self, stems: Iterable[str]) -> None:
        self.stems = tuple(sorted({fold(s.strip()) for s in stems if s}))

    @classmethod
    def from_file(cls, path: Path) -> Manners:
        if not path.exists():
            return cls(())
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(str(s) for s in raw.get("stems") or ())

    def is_rude(self, text: str) -> bool:
        if not text or not self.stems:
            return False
        lowered = fold(text)
        lowered = fix_layout(lowered, lambda word: word.startswith(self.stems))
        for word in _WORD.findall(lowered):
            if word.startswith(self.stems) and not _is_harmless(word):
                return True
        return False


# Ordinary words that begin like an insult: a normalisation dictionary (Russian stems the
# code compares words with, not a text anyone reads).
_HARMLESS = ("херсон", "дурацк", "сукон", "твард", "тварь-", "урожа", "уродил", "скотинн")


def _is_harmless(word: str) -> bool:
    return word.startswith(_HARMLESS)
