"""Dictionary forms of Russian words (pymorphy3 with its OpenCorpora dictionaries).

"заказала", "заказом", "заказы" all become "заказать"/"заказ", so a phrasing the
training phrases never used still meets the same features. The analyser is created on
first use (about 0.05 s) and every word is looked up once per process.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

_CYRILLIC_WORD = re.compile(r"[а-я]+")
KEEP = frozenset({"номерзаказа"})  # normalize.ORDER_TOKEN: a masked order number
_lock = threading.Lock()
_analyzer: Any = None


def _morph() -> Any:
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                import pymorphy3  # imported here: only a process that classifies pays for it

                _analyzer = pymorphy3.MorphAnalyzer()
    return _analyzer


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The dictionary form of one lowercase word; other tokens are returned unchanged."""
    if len(word) < 3 or word in KEEP or not _CYRILLIC_WORD.fullmatch(word):
        return word
    return str(_morph().parse(word)[0].normal_form).replace("ё", "е")


def lemmatize(text: str) -> str:
    """A normalised text (lowercase words separated by spaces) in dictionary forms."""
    return " ".join(lemma(word) for word in text.split())


@lru_cache(maxsize=200_000)
def is_dictionary_word(word: str) -> bool:
    """A word form the Russian dictionary has (not a guess from its ending)."""
    return len(word) >= 2 and bool(_morph().word_is_known(word))
