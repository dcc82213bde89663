"""Text normalisation before classification.

Lowercase, ё → е, order numbers masked, wrong keyboard layout turned back into Russian,
Russian typed in Latin letters read back ("zakaz gde"),
punctuation and emoji dropped, stretched letters shortened ("приииивет"), slang and
abbreviations expanded from `config/nlu/slang.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from core.nlu.layout import fix_layout
from core.nlu.lemmas import is_dictionary_word
from core.nlu.translit import TranslitReader
from core.orders.numbers import mask_order_numbers

ORDER_TOKEN = "номерзаказа"
_WORD = re.compile(r"[а-яa-z0-9]+")
_NON_WORD = re.compile(r"[^а-яa-z0-9\s]+")
_STRETCHED = re.compile(r"([а-яa-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_CYRILLIC = re.compile(r"[а-я]")
_LATIN = re.compile(r"[a-z]")
_RUSSIAN_WORD = re.compile(r"[а-я]{2,}")


def load_slang(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    replacements = raw.get("replacements", {}) or {}
    return {
        _SPACES.sub(" ", str(k).lower().replace("ё", "е")).strip(): str(v).lower().replace("ё", "е")
        for k, v in replacements.items()
    }


class Vocabulary:
    """Russian words the bot knows, with four-letter prefixes for other word forms."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = {w for w in words if w}
        self.prefixes = {w[:4] for w in self.words if len(w) >= 4}

    def is_known(self, word: str) -> bool:
        if word in self.words:
            return True
        return len(word) >= 4 and word.isalpha() and word[:4] in self.prefixes


class Normalizer:
    def __init__(self, slang: dict[str, str], vocabulary: Vocabulary) -> None:
        self.slang = slang
        self.vocabulary = vocabulary
        self._single = {k: v for k, v in slang.items() if " " not in k}
        multi = sorted((k for k in slang if " " in k), key=len, reverse=True)
        self._multi = (
            re.compile(r"\b(" + "|".join(re.escape(k) for k in multi) + r")\b") if multi else None
        )

    @classmethod
    def from_texts(cls, texts: Iterable[str], slang: dict[str, str]) -> Normalizer:
        """Build the vocabulary from Russian texts (training phrases, answers, slang)."""
        words: set[str] = set()
        base = cls(slang, Vocabulary(()))
        for text in texts:
            words.update(_WORD.findall(base.basic(text)))
        for key, value in slang.items():
            words.update(_WORD.findall(value))
            words.update(_WORD.findall(key))
        russian = {w for w in words if re.fullmatch(r"[а-я]+", w)}
        return cls(slang, Vocabulary(russian))

    @staticmethod
    def basic(text: str) -> str:
        return text.lower().replace("ё", "е")

    def repair(self, text: str) -> str:
        """Lowercase, order numbers masked, wrong layout turned back; punctuation kept
        (where the message's sentences end)."""
        text = self.basic(text)
        text = mask_order_numbers(text, f" {ORDER_TOKEN} ")
        layout = fix_layout(text, self.vocabulary.is_known, self.vocabulary.words.__contains__)
        if _CYRILLIC.search(text) or not _LATIN.search(text):
            return self._translit().fix(layout)
        # All Latin: a wrong keyboard layout ("ult vjq pfrfp") or Russian spelt in Latin
        # letters ("gde moi zakaz"); the reading with more known words wins.
        spelt = self._translit().fix(text)
        return spelt if self._known_words(spelt) > self._known_words(layout) else layout

    def _known_words(self, text: str) -> int:
        return sum(
            1
            for word in _RUSSIAN_WORD.findall(text)
            if self.vocabulary.is_known(word) or is_dictionary_word(word)
        )

    def _translit(self) -> TranslitReader:
        reader: TranslitReader | None = self.__dict__.get("_reader")
        if reader is None:
            reader = TranslitReader(self.vocabulary.words.__contains__)
            self.__dict__["_reader"] = reader
        return reader

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state.pop("_reader", None)  # a cache, rebuilt on use
        return state

    def normalize(self, text: str) -> str:
        text = self.repair(text)
        text = _NON_WORD.sub(" ", text.replace("ё", "е"))
        text = _STRETCHED.sub(r"\1", text)
        text = _SPACES.sub(" ", text).strip()
        return self._expand_slang(text)

    def _expand_slang(self, text: str) -> str:
        if self._multi is not None:
            text = self._multi.sub(lambda m: self.slang[m.group(1)], text)
        if not self._single:
            return text
        return " ".join(self._single.get(word, word) for word in text.split(" "))
