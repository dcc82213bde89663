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
    def __init__(self, stems: Iterable[str], harmless: Iterable[str] = ()) -> None:
        self.stems = tuple(sorted({fold(s.strip()) for s in stems if s}))
        # Ordinary words that begin like an insult ("херсон" begins like "хер").
        self.harmless = tuple(sorted({fold(s.strip()) for s in harmless if s}))

    @classmethod
    def from_file(cls, path: Path) -> Manners:
        """`stems` and `harmless` from a data file (`config/nlu/rude.yaml`)."""
        if not path.exists():
            return cls(())
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        stems = (str(s) for s in raw.get("stems") or ())
        return cls(stems, (str(s) for s in raw.get("harmless") or ()))

    def is_rude(self, text: str) -> bool:
        if not text or not self.stems:
            return False
        lowered = fold(text)
        lowered = fix_layout(lowered, lambda word: word.startswith(self.stems))
        for word in _WORD.findall(lowered):
            if word.startswith(self.stems) and not word.startswith(self.harmless):
                return True
        return False
