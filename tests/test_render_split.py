"""The splitter that costs nothing for texts within the limit and is linear beyond it
gives exactly what the per-character splitter gave (`tests/split_reference.py`): on
hostile long inputs and on thousands of random ones, plain and HTML."""

from __future__ import annotations

import random

import pytest

from bots.telegram.render import SAFE_PART, escape, fit_caption, split_text, utf16_len
from tests import split_reference
from tests.fakes.telegram_api import parse_html

RTL = "שלום עולם مرحبا بالعالم \u200f"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
HOSTILE = [
    "&" * 4096,
    "<" * 4096,
    ">" * 4096,
    escape("&" * 4096),
    escape("<" * 4096),
    "&amp;" * 4096,
    "&#128512;" * 2100,
    "<b>" * 3000 + "x" * 4100 + "</b>" * 3000,
    "<b><i><u>" + "вложенный текст " * 600 + "</u></i></b>",
    "<b>a <i>b <u>c " * 700 + "</u></i></b>" * 700,
    '<a href="tg://user?id=1">' + "имя " * 1200 + "</a> хвост",
    RTL * 300,
    ZERO_WIDTH * 1000,
    "x" + ZERO_WIDTH * 1000 + "y",
    "👨‍👩‍👧‍👦" * 1000,
    "\n\n".join(["абзац " * 30] * 60),
    " " * 5000 + "x" * 5000 + " " * 5000,
    "&nbsp;" * 4500,
    "&#10;" * 4500 + "x",
    "<>" * 3000 + "y" * 4100,
    "</b>" * 3000 + "слово " * 1000,
    "<b>" + "<" * 3000 + "</b>" + "&" * 3000,
]


@pytest.mark.parametrize("markup", [False, True])
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_long_inputs_split_as_before(text, markup):
    assert split_text(text, markup=markup) == split_reference.split_text(text, markup=markup)


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 100, 1024])
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_inputs_at_small_limits_split_as_before(text, limit):
    text = text[: 50 * limit + 300]  # the reference is quadratic in the number of parts
    for markup in (False, True):
        expected = split_reference.split_text(text, limit, markup=markup)
        assert split_text(text, limit, markup=markup) == expected


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_html_parts_are_valid_and_within_the_limit(text):
    for part in split_text(escape(text), markup=True):
        assert 0 < utf16_len(parse_html(part)) <= SAFE_PART  # parse_html raises like Telegram


PIECES = [
    *"abcdefghij",
    *"абвгдеёжзи",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "😀",
    "👍🏽",
    "\U0001f1f7\U0001f1fa",
    *RTL[:6],
    "\u200f",
    *ZERO_WIDTH,
    "\xa0",
    "&",
    "<",
    ">",
    ";",
    "&amp;",
    "&lt;",
    "&gt;",
    "&quot;",
    "&nbsp;",
    "&#32;",
    "&#10;",
    "&#128512;",
    "&#x1F600;",
    "&#x41;",
    "&fjlig;",
    "&bogus;",
    "&#0;",
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<u>",
    "</u>",
    "<B>",
    "</ b>",
    "< i>",
    '<a href="tg://user?id=1">',
    "</a>",
    '<span class="tg-spoiler">',
    "</span>",
    "<tg-spoiler>",
    "</tg-spoiler>",
    "<>",
    "</>",
    "<code>",
    "</code>",
]


def random_text(rng: random.Random) -> str:
    weights = [8 if len(piece) == 1 and piece.isalpha() else 1 for piece in PIECES]
    return "".join(rng.choices(PIECES, weights, k=rng.randrange(0, 120)))


@pytest.mark.parametrize("seed", range(8))
def test_random_inputs_split_as_before(seed):
    rng = random.Random(seed)
    for _ in range(400):
        text, limit = random_text(rng), rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 200])
        for markup in (False, True):
            expected = split_reference.split_text(text, limit, markup=markup)
            assert split_text(text, limit, markup=markup) == expected, (text, limit, markup)


@pytest.mark.parametrize("seed", range(3))
def test_random_long_inputs_split_as_before(seed):
    rng = random.Random(1000 + seed)
    for _ in range(6):
        text = "".join(random_text(rng) for _ in range(150))
        for markup in (False, True):
            expected = split_reference.split_text(text, markup=markup)
            assert split_text(text, markup=markup) == expected


def test_short_texts_come_back_stripped_in_one_part():
    assert split_text("  Здравствуйте! Чем помочь?\n") == ["Здравствуйте! Чем помочь?"]
    assert split_text("<b>Заказ</b> &amp; доставка", markup=True) == ["<b>Заказ</b> &amp; доставка"]
    assert split_text("&lt;b&gt;", markup=True) == ["&lt;b&gt;"]
    for blank in ("", "   \n", "<b></b>", "<b> </b>", "&nbsp;", "&#32;\n"):
        assert split_text(blank, markup=True) == []
    assert split_text("&nbsp;") == ["&nbsp;"]  # not HTML: shown as typed
    assert split_text("x" * 4000) == ["x" * 4000]
    assert len(split_text("x" * 4001)) == 2
    assert split_text("😀" * 2000) == ["😀" * 2000]  # 4000 UTF-16 units
    assert split_text("😀" * 2001) == ["😀" * 2000, "😀"]


def test_caption_fits_like_before():
    for caption in ("<i>" + "x" * 2000 + "</i>", escape("&" * 1500), "короткая подпись"):
        assert fit_caption(caption, markup=True) == (
            split_reference.split_text(caption, 1024, markup=True)[0],
            len(split_reference.split_text(caption, 1024, markup=True)) > 1,
        )
