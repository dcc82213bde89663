"""The one splitter for every long text the bot sends: never inside a tag or an entity,
lengths as Telegram counts them (after parsing), and huge customer texts reach operators."""

from __future__ import annotations

import html

import pytest

from bots.telegram.render import escape, fit_caption, split_text, utf16_len
from core.clock import ManualClock
from tests.case_helpers import escalate
from tests.conftest import WORK_TIME
from tests.desk_helpers import settle
from tests.fakes.telegram_api import parse_html
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

SAMPLES = [
    "👤 <b>Иван</b>:\n" + escape("&" * 4000),
    "<b>" + "слово " * 1500 + "</b> и хвост",
    '<a href="tg://user?id=1">' + "длинное имя " * 500 + "</a>",
    escape("<b>не тег</b> & ещё " * 400),
    "<b>жирный <i>и курсив " + "😀" * 3000 + "</i></b>",
    "абзац\n\n" * 900,
    "x" * 9000,
]


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_parts_are_valid_html_within_the_limit_and_lose_nothing(text):
    parts = split_text(text, markup=True)
    assert len(parts) >= 2
    visible = []
    for part in parts:
        plain = parse_html(part)  # raises like Telegram on a broken tag
        assert 0 < utf16_len(plain) <= 4000
        visible.append(plain)
    whole = parse_html(text)
    assert "".join(visible).replace("\n", "").replace(" ", "") == whole.replace("\n", "").replace(
        " ", ""
    )


def test_entities_count_as_one_character_and_plain_text_is_plain():
    assert split_text(escape("&" * 4000), markup=True) == [escape("&" * 4000)]
    assert len(split_text("&amp;" * 1000)) == 2  # not HTML: five characters each
    assert split_text("a\n\nb", 2) == ["a", "b"]
    assert split_text("") == []
    caption, cut = fit_caption("<i>" + "x" * 2000 + "</i>", markup=True)
    assert cut and caption.endswith("</i>") and utf16_len(parse_html(caption)) <= 1024


async def test_four_thousand_ampersands_reach_the_operators(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake = bot.fake
        _, thread, _ = await escalate(fake, CUSTOMER)
        fake.private_message(CUSTOMER, "&" * 4000)
        fake.private_message(CUSTOMER, "<b>" + "<" * 3000 + "</b>")
        await settle(fake, bot.core)
        posts = [m["text"] for m in fake.sent_messages(OPS, thread)]
        shown = "".join(posts)
        assert shown.count("&") == 4000
        assert shown.count("<") == 3000 + 2 and "<b>" in shown  # shown as typed, not parsed
        assert not [e for e in fake.errors if "parse entities" in e[2] or "too long" in e[2]]
        assert all(utf16_len(p) <= 4096 for p in posts)
        raw = [p["text"] for p in fake.calls("sendMessage") if p["chat_id"] == OPS]
        assert all(html.unescape(r).count("&") <= 4096 for r in raw)
