"""The one splitter for every long text the bot sends: never inside a tag or an entity,
lengths as Telegram counts them (after parsing), and huge customer texts reach operators."""

from __future__ import annotations

import html

import pytest

from bots.telegram import cards, markup
from bots.telegram.markup import fill
from bots.telegram.render import escape, fit_caption, split_text, utf16_len
from core.clock import ManualClock
from core.desk.operators import TicketView
from core.storage import Conversation, LoggedMessage
from core.types import TELEGRAM, CustomerRef
from tests.case_helpers import escalate
from tests.conftest import WORK_TIME
from tests.desk_helpers import run_in_virtual_time, settle
from tests.fakes.telegram_api import parse_html
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot
from tests.test_desk_sla import ticket as desk_ticket

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


# Hostile customer messages (issue 20): each is as long as Telegram lets a customer write
# (4,096 UTF-16 units; a caption 1,024), and each grows when escaped or merged.
HOSTILE = [
    "&" * 4096,
    "<" * 4096,
    "\u202e" + "справа налево " * 292,  # RTL override
    "\u200b" * 4095 + "!",  # zero-width spaces
    "<b>жирный</b> <a href='tg://user?id=1'>ссылка</a> &amp; &lt;i&gt; " * 70,
    "😀" * 2048,  # two UTF-16 units each
    "&😀<\u200d" * 819,
]
HOSTILE_CUSTOMERS = [600001 + n for n in range(6)]


def hostile_message(number: int) -> str:
    """Message `number`: a marker (to find it in the topic) and a hostile body, exactly
    as long as Telegram allows."""
    marker = f"m{number:03d} "
    body = marker + HOSTILE[number % len(HOSTILE)]
    return _cut_utf16(body, 4096)


def _cut_utf16(text: str, limit: int) -> str:
    while utf16_len(text) > limit:
        text = text[:-1]
    return text


def squashed(text: str) -> str:
    """Without whitespace: where a long post was cut, the spaces at the cut are gone."""
    return "".join(text.split())


async def test_hostile_long_messages_all_reach_the_topic(tmp_path, classifier):
    """120 hostile messages into six open cases, through the group's post budget: every
    one reaches its topic, in order; no post is refused (0 × 400); nothing is dead."""
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(tmp_path, classifier, clock=clock) as bot:
        fake, core = bot.fake, bot.core
        fake.clock = clock.now
        fake.group_post_limit = 20  # Telegram's own limit, as the budget expects
        sent: dict[int, list[str]] = {customer: [] for customer in HOSTILE_CUSTOMERS}
        for customer in HOSTILE_CUSTOMERS:  # some arrive before the card: they go into it
            fake.private_message(customer, "позовите оператора", first_name=f"K{customer}")
        for number in range(120):
            customer = HOSTILE_CUSTOMERS[number % len(HOSTILE_CUSTOMERS)]
            text = hostile_message(number)
            if number % 9 == 4:  # a photo with a hostile caption
                text = _cut_utf16(text, 1024 - 100 * (number % 3))
                fake.private_message(customer, photo=True, caption=text, first_name=f"K{customer}")
            else:
                fake.private_message(customer, text, first_name=f"K{customer}")
            sent[customer].append(text)
        await run_in_virtual_time(fake, core, clock, limit=600)

        assert [e for e in fake.errors if e[1] == 400] == []
        dead = await core.storage.db.fetchall("SELECT id FROM outbox WHERE status = 'dead'")
        assert dead == []
        for customer, texts in sent.items():
            conversation = await core.storage.conversations.find(
                CustomerRef(TELEGRAM, str(customer))
            )
            topic = await core.storage.threads.for_conversation(conversation.id)
            posts = fake.sent_messages(OPS, int(topic.thread_id))
            shown = squashed("".join(str(m.get("text") or m.get("caption") or "") for m in posts))
            places = [shown.find(squashed(text)) for text in texts]
            assert -1 not in places, [t[:12] for t, at in zip(texts, places, strict=True) if at < 0]
            assert places == sorted(places)  # in the order the customer wrote them
        for params in fake.calls("sendMessage"):
            if params.get("chat_id") == OPS:
                assert utf16_len(parse_html(str(params["text"]))) <= 4096


def hostile_transcript(count: int) -> list[LoggedMessage]:
    directions = ["in", "out", "in", "operator", "note"]
    return [
        LoggedMessage(
            id=number + 1,
            conversation_id=1,
            ticket_id=1,
            direction=directions[number % len(directions)],
            text=hostile_message(number),
            attachments=[],
            intent=None,
            confidence=None,
            author="Оператор <b>",
            created_at=WORK_TIME,
        )
        for number in range(count)
    ]


def test_every_kind_of_post_fits_once_split(kb):
    """A card (with its burst), a transferred case's history, a merged batch and a notice,
    built from hostile texts: every part the splitter makes is valid HTML within
    Telegram's limit, however long the post was built."""
    transcript = hostile_transcript(15)
    ticket = desk_ticket(
        user_id="5",
        order_number="<12345678-0001>",
        summary=HOSTILE[0],
        vip=True,
        conflict=True,
        operator_id="7",
        operator_name="<i>Анна</i>",
        created_at=WORK_TIME - 3600,
    )
    conversation = Conversation(id=1, channel="telegram", user_id="5", name="<b>K</b> &amp;")
    view = TicketView(ticket, conversation, transcript, position=3)
    posts = [
        cards.card_text(kb, view, WORK_TIME, context=transcript[:5], burst=transcript[5:]),
        cards.history_text(kb.desk, transcript),
        cards.customer_post(kb.desk, "K", "\n\n".join(m.text for m in transcript), 15),
        fill(kb.desk.get("notices.rating_comment"), text=HOSTILE[1]),
    ]
    for post in posts:
        text = markup.html(post)
        parts = split_text(text, markup=True)
        assert len(parts) >= 2
        visible = [parse_html(part) for part in parts]  # raises like Telegram on bad HTML
        assert all(0 < utf16_len(plain) <= 4096 for plain in visible)
        assert squashed("".join(visible)) == squashed(parse_html(text))
