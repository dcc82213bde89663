"""Text typed with the English keyboard layout while the customer meant Russian.

"ghbdtn" is "привет" and "cgfcb,j" is "спасибо": each key of the QWERTY layout stands
where a key of ЙЦУКЕН is. Only a word whose Russian reading is a known word is turned
back, so English words and brand names stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_EN = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_RU = "йцукенгшщзхъфывапролджэячсмитьбюё"
# Shifted keys that carry letters on the Russian layout, and Russian punctuation keys.
_EN_SHIFTED = '{}:"<>~'
_RU_SHIFTED = "хъжэбюё"
EN_TO_RU = str.maketrans(_EN + _EN_SHIFTED + "/?&", _RU + _RU_SHIFTED + ".,?")

# A token that may be a Russian word typed on the English layout.
LATIN_TOKEN = re.compile(r"[a-z\[\]{};:'\",.<>`~]*[a-z][a-z\[\]{};:'\",.<>`~]*")
_CYRILLIC = re.compile(r"[а-яё]")
_TRAILING_PUNCT = ",.;:'\"?!"


def convert(token: str) -> str:
    """Read a token typed on the English layout as the Russian one."""
    return token.translate(EN_TO_RU)


def fix_layout(
    text: str, is_known: Callable[[str], bool], is_word: Callable[[str], bool] | None = None
) -> str:
    """Turn wrong-layout words of a lowercase text into Russian.

    `is_known(word)` tells whether a Russian word is plausible (a known word form) and
    `is_word(word)` whether it is exactly a known word, which settles whether a final
    `,` `.` `;` `'` was punctuation or the letter б ю ж э.
    In a message with no Cyrillic at all, a majority of known conversions turns every
    Latin word; otherwise only the words whose conversion is known are turned.
    """
    tokens = list(LATIN_TOKEN.finditer(text))
    if not tokens:
        return text
    exact = is_word or is_known
    choices: list[str | None] = [_best_reading(m.group(0), is_known, exact) for m in tokens]
    known = sum(1 for choice in choices if choice is not None)
    whole_message = not _CYRILLIC.search(text) and known * 2 >= len(tokens) and known > 0
    pieces: list[str] = []
    last = 0
    for match, choice in zip(tokens, choices, strict=True):
        pieces.append(text[last : match.start()])
        token = match.group(0)
        if choice is not None:
            pieces.append(choice)
        elif whole_message and len(token.strip(_TRAILING_PUNCT)) > 0:
            pieces.append(convert(token))
        else:
            pieces.append(token)
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _best_reading(
    token: str, is_known: Callable[[str], bool], is_word: Callable[[str], bool]
) -> str | None:
    """The Russian reading of a token when it is a known word. A final `,` `.` `;` `'`
    is read as a letter or kept as punctuation, whichever gives an exact known word
    (failing that, a known word form)."""
    full = convert(token)
    core = full.strip(".,?")
    stripped_token = token.rstrip(_TRAILING_PUNCT)
    stripped = convert(stripped_token) if stripped_token and stripped_token != token else ""
    kept = stripped + token[len(stripped_token) :] if stripped else ""
    if core and is_word(core):
        return full
    if stripped and is_word(stripped):
        return kept
    if stripped and is_known(stripped):
        return kept
    if core and is_known(core):
        return full
    return None
