"""Russian typed in Latin letters ("zakaz gde? 4 dnya uzhe", "kurer opozdal").

People without a Russian keyboard spell by sound, each in their own way ("ya"/"ja",
"y" for ы or й, "sh", "zh", "ch", "'" for ь). Libraries such as `transliterate` read one
fixed scheme back; here every plausible reading of a word is tried and the one that is a
known Russian word wins (the bot's vocabulary, then pymorphy3's dictionary). English
words and brand names have no known reading and stay as they are, unless the whole
message reads as Russian.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.nlu.lemmas import is_dictionary_word

# Letter groups, longest first; each with its readings, the usual one first.
_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shch", ("щ",)),
    ("sch", ("щ", "сч")),
    ("zh", ("ж",)),
    ("kh", ("х",)),
    ("ch", ("ч",)),
    ("sh", ("ш",)),
    ("ts", ("ц", "тс")),
    ("tz", ("ц",)),
    ("ya", ("я", "ыа")),
    ("ja", ("я",)),
    ("yu", ("ю",)),
    ("ju", ("ю",)),
    ("yo", ("е", "йо")),
    ("jo", ("е",)),
    ("ye", ("е", "ые")),
    ("je", ("е",)),
    ("iy", ("ий", "ый")),
    ("yi", ("ый", "ий")),
    ("ei", ("ей",)),
    ("ai", ("ай",)),
    ("oi", ("ой",)),
    ("ui", ("уй",)),
    ("a", ("а",)),
    ("b", ("б",)),
    ("c", ("ц", "к", "с")),
    ("d", ("д",)),
    ("e", ("е", "э")),
    ("f", ("ф",)),
    ("g", ("г",)),
    ("h", ("х",)),
    ("i", ("и", "й", "ы")),
    ("j", ("й", "ж")),
    ("k", ("к",)),
    ("l", ("л",)),
    ("m", ("м",)),
    ("n", ("н",)),
    ("o", ("о",)),
    ("p", ("п",)),
    ("q", ("к",)),
    ("r", ("р",)),
    ("s", ("с",)),
    ("t", ("т",)),
    ("u", ("у",)),
    ("v", ("в",)),
    ("w", ("в",)),
    ("x", ("кс", "х")),
    ("y", ("ы", "й", "и")),
    ("z", ("з",)),
    ("'", ("ь",)),
    ("`", ("ь",)),
)
_LATIN_WORD = re.compile(r"[a-z][a-z'`]*")
_CYRILLIC = re.compile(r"[а-я]")
MAX_READINGS = 64  # readings tried per word
SOFT_AFTER = frozenset("тдлнсзрмвбпкгчц")  # where a missing ь is tried ("dengi" → деньги)


def readings(word: str) -> list[str]:
    """Plausible Cyrillic readings of a Latin word, the most usual first."""
    results: list[str] = []

    def walk(position: int, built: str) -> None:
        if len(results) >= MAX_READINGS:
            return
        if position == len(word):
            results.append(built)
            return
        for group, choices in _GROUPS:
            if word.startswith(group, position):
                for choice in choices:
                    walk(position + len(group), built + choice)
                return
        walk(position + 1, built + word[position])

    walk(0, "")
    return results


def _with_soft_sign(reading: str) -> list[str]:
    """The reading with one ь added after a consonant (people rarely type it)."""
    return [
        reading[: i + 1] + "ь" + reading[i + 1 :]
        for i in range(1, len(reading) - 1)
        if reading[i] in SOFT_AFTER and reading[i + 1] not in "аеиоуыэюяь"
    ][:6]


class TranslitReader:
    """Reads Latin words as Russian, checking readings against `is_word` (the bot's
    vocabulary) and then the Russian dictionary; each word is worked out once."""

    def __init__(self, is_word: Callable[[str], bool]) -> None:
        self.is_word = is_word
        self._known: dict[str, str | None] = {}

    def known_reading(self, word: str) -> str | None:
        if word not in self._known:
            if len(self._known) > 50_000:
                self._known.clear()
            self._known[word] = self._find(word)
        return self._known[word]

    def _find(self, word: str) -> str | None:
        if len(word) < 2:
            return None
        options = readings(word)
        for test in (self.is_word, is_dictionary_word):
            for reading in options:
                if test(reading):
                    return reading
        if len(word) >= 4:
            for reading in options[:8]:
                for softened in _with_soft_sign(reading):
                    if self.is_word(softened) or is_dictionary_word(softened):
                        return softened
        return None

    def fix(self, text: str) -> str:
        """Latin words of a lowercase text read as Russian where a reading is a known
        word (four letters or more: "pro", "max" stay). In a message with no Cyrillic
        where most Latin words have a known reading, every Latin word is read."""
        tokens = list(_LATIN_WORD.finditer(text))
        if not tokens:
            return text
        choices = [self.known_reading(m.group(0)) for m in tokens]
        known = sum(1 for c in choices if c is not None)
        if not known:
            return text
        whole = not _CYRILLIC.search(text) and known * 2 >= len(tokens)
        pieces: list[str] = []
        last = 0
        for match, choice in zip(tokens, choices, strict=True):
            token = match.group(0)
            pieces.append(text[last : match.start()])
            if choice is not None and (whole or len(token) >= 4):
                pieces.append(choice)
            elif whole:
                pieces.append(readings(token)[0])
            else:
                pieces.append(token)
            last = match.end()
        pieces.append(text[last:])
        return "".join(pieces)
