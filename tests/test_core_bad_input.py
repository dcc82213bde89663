"""Whatever arrives is answered without an error and logged."""

from __future__ import annotations

import pytest
from conftest import Customer, db_rows, flat_ids

from core import buttons
from core.conversation.engine import MAX_STORED_TEXT
from core.desk.roles import Operator
from core.types import TELEGRAM, Inbound

LONG = "почему так долго " * 600  # over 10,000 characters


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("", ""),
        ("   \n\t ", "   \n\t "),
        ("😀😀🔥👍", "😀😀🔥👍"),
        ("1234567", "1234567"),
        ("0", "0"),
        (LONG[:10_000], LONG[:10_000]),
        ("<b>x</b><script>alert(1)</script>", "<b>x</b><script>alert(1)</script>"),
        ("'; DROP TABLE tickets; --", "'; DROP TABLE tickets; --"),
        ("\x00\x07", "\ufffd\x07"),  # NUL is kept as U+FFFD (PostgreSQL refuses NUL)
        ("мне не пришли баллы\x00за отзыв", "мне не пришли баллы\ufffdза отзыв"),
        ("{ticket} {position} %s %(x)s", "{ticket} {position} %s %(x)s"),
        ("\u202eперевёрнутый", "\u202eперевёрнутый"),
    ],
    ids=[
        "empty",
        "whitespace",
        "emoji",
        "digits",
        "zero",
        "10k",
        "html",
        "sql",
        "control",
        "nul-inside",
        "format-braces",
        "bidi",
    ],
)
async def test_bad_text_answered_and_logged(core, settings, text, logged):
    customer = Customer(core)
    replies = await customer.say(text)
    assert replies, "every message gets an answer"
    assert all(reply.text for reply in replies)
    rows = db_rows(settings, "SELECT text, direction FROM messages ORDER BY id")
    assert rows[0]["direction"] == "in"
    assert rows[0]["text"] == logged
    assert [r["direction"] for r in rows[1:]] == ["out"] * len(replies)
    # The schema is intact and nothing was escalated by one odd message.
    assert db_rows(settings, "SELECT COUNT(*) AS n FROM tickets")[0]["n"] == 0


async def test_empty_message_gets_the_empty_text_and_menu(core):
    replies = await Customer(core).say("")
    assert replies[0].text == core.kb.texts.get("empty_message")
    assert buttons.OPERATOR in flat_ids(replies[0])


# Emoji alone are a reaction, not a question (tests/test_clarify_dialog.py); "1234567" gets
# the order-number format hint (tests/test_order_answers.py).
@pytest.mark.parametrize("text", ["\x00\x07", "!!!???"])
async def test_no_letters_asks_to_rephrase(core, text):
    replies = await Customer(core).say(text)
    assert replies[0].text == core.kb.texts.get("clarify")
    assert buttons.OPERATOR in flat_ids(replies[0])


async def test_very_long_message_is_classified_from_its_start(core, settings):
    # The first thousand characters are about bonuses, the rest about a courier.
    text = "мне не пришли баллы за отзыв. " * 40 + "курьер нахамил мне по телефону. " * 600
    assert len(text) > 20_000
    replies = await Customer(core).say(text)
    assert replies[0].text == core.kb.answer("bonuses").text
    stored = db_rows(settings, "SELECT text, intent FROM messages WHERE direction = 'in'")[0]
    assert stored["text"] == text[:MAX_STORED_TEXT]
    assert stored["intent"] == "bonuses"


async def test_sql_text_leaves_tables_alone(core, settings):
    customer = Customer(core)
    await customer.say("позовите оператора")
    await customer.say("'; DROP TABLE tickets; --")
    assert len(db_rows(settings, "SELECT * FROM tickets")) == 1
    texts = [r["text"] for r in db_rows(settings, "SELECT text FROM messages")]
    assert "'; DROP TABLE tickets; --" in texts


async def test_sticker_is_answered(core, settings):
    customer = Customer(core)
    replies = await customer.say(unsupported="стикер")
    assert [r.text for r in replies] == [core.kb.texts.format("unsupported_content", kind="стикер")]
    assert "стикер" in replies[0].text
    rows = db_rows(settings, "SELECT text FROM messages WHERE direction = 'in'")
    assert [r["text"] for r in rows] == ["[стикер]"]


async def test_sticker_to_an_open_ticket_is_forwarded(core, settings):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert await customer.say(unsupported="голосовое") == []
    row = db_rows(settings, "SELECT text, ticket_id FROM messages WHERE direction = 'in'")[-1]
    assert (row["text"], row["ticket_id"]) == ("[голосовое]", ticket.id)


@pytest.mark.parametrize(
    "payload",
    [
        "garbage",
        "topic:no_such_intent",
        "rate:abc",
        "rate:1:9",
        "rate:1:0",
        "rate:-1:5",
        "no_photo",
        "skip",
        "x" * 300,
    ],
)
async def test_unknown_button_payload(core, settings, payload):
    replies = await Customer(core).press(payload)
    assert [r.text for r in replies] == [core.kb.texts.get("unknown_button")]
    assert buttons.OPERATOR in flat_ids(replies[0])
    rows = db_rows(settings, "SELECT text FROM messages WHERE direction = 'in'")
    assert rows[0]["text"] == f"[кнопка «{core.dialog.button_title(payload)}»]"
    assert db_rows(settings, "SELECT COUNT(*) AS n FROM tickets")[0]["n"] == 0


async def test_rate_button_for_another_customers_ticket(core, settings):
    owner = Customer(core, user_id="owner")
    await owner.say("позовите оператора")
    ticket = await owner.open_ticket()
    await core.desk.close(ticket.id, Operator("op", "Ольга"))
    before = db_rows(settings, "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'operators'")[0][
        "n"
    ]

    stranger = Customer(core, user_id="stranger")
    replies = await stranger.press(f"rate:{ticket.id}:1")
    assert replies  # answered, no error
    await stranger.say("всё ужасно")  # a "comment" for the stranger's rating
    stored = await core.storage.tickets.get(ticket.id)
    assert stored.rating is None
    assert stored.rating_comment is None
    # No low-rating notice for the operators either.
    assert (
        db_rows(settings, "SELECT COUNT(*) AS n FROM outbox WHERE channel = 'operators'")[0]["n"]
        == before
    )
    # The owner can still rate.
    await owner.press(f"rate:{ticket.id}:5")
    assert (await core.storage.tickets.get(ticket.id)).rating == 5


async def test_rate_button_for_a_missing_ticket(core):
    replies = await Customer(core).press("rate:999:4")
    assert replies
    assert await core.storage.tickets.get(999) is None


async def test_payload_and_text_together(core):
    replies = await core.engine.handle(
        Inbound(TELEGRAM, "1", text="ываыва", payload=buttons.TOPIC + "payment")
    )
    assert replies[0].text == core.kb.answer("payment").text


async def test_unknown_channel_name_still_works(core):
    replies = await core.engine.handle(Inbound("whatsapp", "1", text="мне не пришли баллы"))
    assert replies[0].text == core.kb.answer("bonuses").text


async def test_odd_names_are_stored(core):
    customer = Customer(core, name="<b>Robert'); DROP TABLE conversations;--</b>")
    await customer.say("привет")
    conv = await customer.conversation()
    assert conv.name == "<b>Robert'); DROP TABLE conversations;--</b>"


@pytest.mark.parametrize("command", ["/close 1", "/take", "/queue", "/stats week", "/vip@shop_bot"])
async def test_operator_commands_from_a_customer_touch_nothing(core, command):
    customer = Customer(core, user_id="curious")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await core.desk.close(ticket.id, Operator("op", "Ольга"))
    stranger = Customer(core, user_id="stranger")
    replies = await stranger.say(command)
    assert replies[0].text == core.kb.texts.get("unknown_command")
    assert (await core.storage.tickets.get(ticket.id)).status == "closed"
    assert await stranger.open_ticket() is None


async def test_start_typed_as_text_shows_the_menu(core):
    replies = await Customer(core, channel="vk", user_id="77").say("/Start")
    assert replies[0].text == core.kb.answer("greeting").text
    assert buttons.OPERATOR in flat_ids(replies[0])
