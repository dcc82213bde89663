"""Understanding in the dialog, through the engine's public API: a clarifying question
with the likely topics when the model is unsure (the pick answered and kept as a label),
a second request offered as a button, typed "не помогло", emoji-only reactions and
"где оператор?" while a case is open."""

from __future__ import annotations

import pytest
from conftest import Customer, db_rows, flat_ids, outbox_items

from core import buttons
from core.conversation.clarify import NOT_OFFERED, PICK_SOURCE
from core.knowledge.intents import COMPLAINTS, NEEDS_ORDER

# Preconditions on the shipped model are asserted where a test depends on them, so a
# retrained model that reads these messages differently fails here with a clear cause.
UNSURE = "у меня проблема с заказом"  # order? not received? a person? — the model hesitates
TWO_REQUESTS = (
    "Хочу вернуть куртку, не подошёл размер. И ещё: как поменять адрес доставки в другом заказе?"
)


def first_text_of(kb, intent: str) -> str:
    """What the bot says first when a topic is chosen with no order number known."""
    if intent in COMPLAINTS:
        return kb.texts.get(f"complaint.apology.{intent}", "complaint.apology.default")
    if intent in NEEDS_ORDER:
        return kb.texts.get(f"ask_order.{intent}", "ask_order.default")
    return kb.answer(intent).text


def picks(reply) -> list[str]:
    return [b.id.removeprefix(buttons.PICK) for b in reply.flat_buttons if b.id.startswith("pick:")]


async def test_unsure_message_gets_a_question_with_the_likely_topics(core):
    prediction = core.dialog.classifier.predict(UNSURE)
    assert core.dialog.clarify.unsure(prediction), prediction
    replies = await Customer(core).say(UNSURE)
    assert len(replies) == 1
    question = replies[0]
    assert question.text == core.kb.texts.get("clarify_options")
    options = picks(question)
    # Two or three likely topics, not the whole menu; and a way out.
    assert 2 <= len(options) <= 3
    assert options[0] == prediction.intent
    assert not set(options) & NOT_OFFERED
    assert options == [n for n, _ in prediction.ranked if n in options]
    assert buttons.OPERATOR in flat_ids(question) and buttons.MENU in flat_ids(question)
    assert len(question.flat_buttons) < len(core.kb.menu)


async def test_the_picked_topic_is_answered_and_kept_as_a_label(core, settings):
    customer = Customer(core)
    question = (await customer.say(UNSURE))[0]
    chosen = picks(question)[1]  # not the model's first guess
    replies = await customer.press(buttons.PICK + chosen)
    answer = core.kb.answer(chosen)
    assert replies[0].text == first_text_of(core.kb, chosen)
    conv = await customer.conversation()
    assert conv.slots.last_intent == chosen
    rows = db_rows(
        settings,
        "SELECT m.text AS text, l.intent AS intent, l.labelled_by AS source "
        "FROM intent_labels l JOIN messages m ON m.id = l.message_id",
    )
    assert [(r["text"], r["intent"], r["source"]) for r in rows] == [(UNSURE, chosen, PICK_SOURCE)]
    # Retraining reads it with the operators' labels.
    assert (UNSURE, chosen) in await core.storage.labels.examples()
    # The transcript names the pressed button by its title.
    log = await customer.log()
    assert f"[кнопка «{answer.title}»]" in [m.text for m in log]


async def test_a_pick_is_stored_once_and_never_overrides_an_operator(core, settings):
    customer = Customer(core)
    question = (await customer.say(UNSURE))[0]
    first, second = picks(question)[:2]
    await customer.press(buttons.PICK + first)
    await customer.press(buttons.PICK + second)  # the question was answered already
    rows = db_rows(settings, "SELECT intent, labelled_by FROM intent_labels")
    assert [(r["intent"], r["labelled_by"]) for r in rows] == [(first, PICK_SOURCE)]
    # An operator's label on a message is kept when a customer later picks for it.
    conv = await customer.conversation()
    message = next(m for m in await customer.log() if m.text == UNSURE)
    await core.storage.labels.label(message.id, "not_received", "Ольга", 1.0)
    assert not await core.storage.labels.suggest(conv.id, UNSURE, "payment", PICK_SOURCE, 2.0)
    rows = db_rows(settings, "SELECT intent, labelled_by FROM intent_labels")
    assert [(r["intent"], r["labelled_by"]) for r in rows] == [("not_received", "Ольга")]


async def test_typing_instead_of_picking_drops_the_question(core, settings):
    customer = Customer(core)
    question = (await customer.say(UNSURE))[0]
    option = picks(question)[0]
    replies = await customer.say("как вернуть товар")
    assert replies[0].text == core.kb.answer("return_item").text
    # The old question's button still answers its topic, but teaches nothing.
    await customer.press(buttons.PICK + option)
    assert db_rows(settings, "SELECT COUNT(*) AS n FROM intent_labels")[0]["n"] == 0


async def test_two_unclear_messages_in_a_row_reach_an_operator(core):
    customer = Customer(core)
    await customer.say(UNSURE)
    replies = await customer.say(UNSURE)
    assert replies[0].text == core.kb.texts.get("clarify_then_operator")
    assert await customer.open_ticket() is not None


async def test_two_requests_answer_the_main_and_offer_the_other(core):
    prediction = core.dialog.classifier.predict(TWO_REQUESTS)
    assert (prediction.intent, prediction.also) == ("return_item", "delivery_change"), prediction
    replies = await Customer(core).say(TWO_REQUESTS)
    assert replies[0].text == core.kb.answer("return_item").text
    offer = replies[-1]
    title = core.kb.answer("delivery_change").title
    assert offer.text == core.kb.texts.format("second_request", title=title)
    assert flat_ids(offer) == [buttons.TOPIC + "delivery_change"]
    # Pressing it answers the second request.
    after = await Customer(core).press(buttons.TOPIC + "delivery_change")
    assert after[0].text == core.kb.texts.get("ask_order.delivery_change", "ask_order.default")


async def test_a_complaint_with_a_second_request_goes_whole_to_the_operator(core):
    # Damaged item + "верните деньги": the complaint is collected (its text, with the
    # refund request, reaches the operator); no button would abandon the complaint.
    text = "товар пришёл разбитый, верните деньги"
    prediction = core.dialog.classifier.predict(text)
    assert prediction.intent == "damaged_item" and prediction.also == "refund", prediction
    replies = await Customer(core).say(text)
    assert replies[0].text == core.kb.texts.get("complaint.apology.damaged_item")
    assert not any(b.id.startswith(buttons.TOPIC) for r in replies for b in r.flat_buttons)


@pytest.mark.parametrize("typed", ["не помогло", "это не ответ на мой вопрос", "Не то!!", "👎"])
async def test_typed_not_helped_apologises_and_offers_an_operator_or_topics(core, typed):
    customer = Customer(core)
    first = await customer.say("как вернуть товар")
    assert first[0].text == core.kb.answer("return_item").text
    replies = await customer.say(typed)
    assert len(replies) == 1
    reply = replies[0]
    assert reply.text == core.kb.texts.get("not_helped")
    ids = flat_ids(reply)
    assert ids[0] == buttons.OPERATOR
    topics = [i.removeprefix(buttons.TOPIC) for i in ids if i.startswith(buttons.TOPIC)]
    assert 1 <= len(topics) <= 3 and "return_item" not in topics
    assert await customer.open_ticket() is None
    # Pressing the operator button now opens a case about the answer that did not help.
    await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket is not None and (ticket.intent, ticket.reason) == ("return_item", "not_helped")


async def test_not_helped_twice_calls_an_operator(core):
    customer = Customer(core)
    await customer.say("как вернуть товар")
    await customer.say("не помогло")
    replies = await customer.say("всё равно не то")
    assert replies[0].text == core.kb.texts.get("not_helped_operator")
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.reason == "not_helped"


async def test_not_helped_with_nothing_answered_offers_the_menu(core):
    replies = await Customer(core).say("не помогло")
    assert replies[0].text == core.kb.texts.get("not_helped_no_topics")
    assert flat_ids(replies[0]) == [buttons.OPERATOR, buttons.MENU]


@pytest.mark.parametrize("reaction", ["👍", "🙏", "ok", "Ок", "👍👍", "😀😀🔥👍"])
async def test_emoji_reaction_is_acknowledged_and_never_escalates(core, reaction):
    customer = Customer(core)
    await customer.say("абырвалг")  # not understood once
    for _ in range(3):
        replies = await customer.say(reaction)
        assert [r.text for r in replies] == [core.kb.texts.get("reaction_ack")]
    assert await customer.open_ticket() is None
    assert [o for o in await outbox_items(core) if o["channel"] == "operators"] == []
    conv = await customer.conversation()
    assert conv.misunderstandings == 0


@pytest.mark.parametrize("typed", ["где оператор?", "ну когда мне ответят", "Сколько ещё ждать??"])
async def test_where_is_the_operator_during_an_open_case_tells_the_status(core, typed):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()

    def to_operators(items):
        return [o for o in items if o["channel"] == "operators"]

    before = len(to_operators(await outbox_items(core)))
    replies = await customer.say(typed)
    assert [r.text for r in replies] == [
        core.kb.texts.format("already_escalated", ticket=ticket.id, position=1)
    ]
    # The operators still see it.
    assert len(to_operators(await outbox_items(core))) == before + 1
    # Once an operator took the case, the status says so.
    await core.storage.tickets.update(ticket.id, status="in_progress")
    replies = await customer.say(typed)
    assert [r.text for r in replies] == [
        core.kb.texts.format("already_in_progress", ticket=ticket.id)
    ]


async def test_an_ordinary_message_during_an_open_case_is_only_forwarded(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    assert await customer.say("номер заказа 12345678-0001, курьер не приехал") == []


async def test_not_helped_while_the_bot_waits_for_an_order_number(core):
    customer = Customer(core)
    asked = await customer.say("где мой заказ")
    assert asked[0].text == core.kb.texts.get("ask_order.order_status")
    replies = await customer.say("это не ответ на мой вопрос")
    assert replies[0].text == core.kb.texts.get("not_helped")
    conv = await customer.conversation()
    assert conv.step == "idle" and conv.slots.pending_intent is None
    assert await customer.open_ticket() is None


async def test_a_reaction_while_waiting_for_an_order_number_is_no_failed_try(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    for _ in range(3):
        replies = await customer.say("👍")
        assert [r.text for r in replies] == [core.kb.texts.get("reaction_order")]
    conv = await customer.conversation()
    assert conv.step == "await_order" and not conv.slots.order_attempts
    # The number still works afterwards.
    replies = await customer.say("12345678-0001")
    assert "12345678-0001" in replies[0].text
