"""Every intent of the taxonomy is answered through `engine.handle`, with the right
buttons; /start shows the menu."""

from __future__ import annotations

import pytest
from conftest import REPO, Customer, all_text, flat_ids, titles

from core import buttons
from core.knowledge.intents import COMPLAINTS, INTENTS, NEEDS_ORDER
from core.nlu.dataset import load_training

TRAINING = REPO / "config" / "nlu" / "training.yaml"

# New phrases, written for these tests (not in config/nlu/training.yaml nor tests/data).
PHRASES = {
    "greeting": "приветствую вас уважаемая поддержка",
    "thanks": "огромное спасибо, вы меня очень выручили",
    "operator": "соедините меня с живым сотрудником пожалуйста",
    "order_status": "подскажите когда приедет моя посылка",
    "order_placement": "как купить товар в подарок другу и оформить на его имя",
    "payment": "не проходит оплата картой мир что делать",
    "order_cancel": "хочу отменить заказ пока его не отправили",
    "delivery_change": "можно перенести доставку на субботу",
    "return_item": "кроссовки не подошли по размеру хочу сдать обратно",
    "refund": "когда вернут деньги за отменённый заказ",
    "promo_code": "промокод на первую покупку не применяется",
    "bonuses": "мне не пришли баллы за отзыв",
    "product_info": "этот телефон оригинальный или подделка",
    "contact_seller": "как написать продавцу вопрос про товар",
    "courier_complaint": "курьер нахамил мне по телефону",
    "damaged_item": "пришла разбитая ваза в коробке",
    "not_received": "в приложении написано вручен а я ничего не получала",
    "tech_issue": "приложение вылетает при входе в корзину",
    "account": "как поменять номер телефона в личном кабинете",
    "contacts": "какой номер горячей линии поддержки",
    "out_of_scope": "какая завтра погода в москве",
}

PLAIN_ANSWERS = sorted(
    set(INTENTS) - NEEDS_ORDER - COMPLAINTS - {"greeting", "thanks", "operator", "out_of_scope"}
)


def test_every_intent_has_a_phrase():
    assert set(PHRASES) == set(INTENTS)


@pytest.mark.parametrize("intent", INTENTS)
def test_phrase_is_new_and_classified(intent, classifier):
    """Guards the table above: the phrase is not a training phrase, and is classified
    as its intent."""
    phrase = PHRASES[intent]
    training = {text.lower().strip() for text, _ in load_training(TRAINING)}
    assert phrase.lower() not in training
    assert classifier.predict(phrase).intent == intent


@pytest.mark.parametrize("intent", PLAIN_ANSWERS)
async def test_plain_intent_answered_from_knowledge_base(core, intent):
    replies = await Customer(core).say(PHRASES[intent])
    assert len(replies) == 1
    reply = replies[0]
    answer = core.kb.answer(intent)
    # A sub-case with its own answer ("оплата не проходит") gets that answer instead.
    case = core.dialog.order_replies.subcases.find(intent, PHRASES[intent])
    assert reply.text == (case.answer if case is not None else answer.text)
    # First row: «Помогло» and «Позвать оператора»; then one row per related topic.
    first_row = reply.buttons[0]
    assert [b.id for b in first_row] == [buttons.HELPED, buttons.OPERATOR]
    assert "Помогло" in first_row[0].title
    assert first_row[1].title == "Позвать оператора"
    related = [b.id for row in reply.buttons[1:] for b in row]
    # The operator topic is left out: «Позвать оператора» is already there.
    expected = [n for n in answer.related if n not in ("operator", intent)]
    assert related == [buttons.TOPIC + name for name in expected]
    assert len(set(flat_ids(reply))) == len(flat_ids(reply))
    assert len({b.title for b in reply.flat_buttons}) == len(reply.flat_buttons)
    assert related, "every answer offers related topics"
    for row in reply.buttons[1:]:
        assert row[0].title == core.kb.answer(row[0].id.removeprefix(buttons.TOPIC)).title


@pytest.mark.parametrize("intent", INTENTS)
async def test_intent_and_confidence_logged(core, intent):
    customer = Customer(core, user_id=f"u-{intent}")
    await customer.say(PHRASES[intent])
    logged = [m for m in await customer.log() if m.direction == "in"]
    assert len(logged) == 1
    assert logged[0].text == PHRASES[intent]
    assert logged[0].intent == intent
    assert logged[0].confidence is not None and 0 < logged[0].confidence <= 1


@pytest.mark.parametrize("intent", sorted(NEEDS_ORDER))
async def test_order_intents_ask_for_the_number(core, intent):
    customer = Customer(core)
    replies = await customer.say(PHRASES[intent])
    assert [r.text for r in replies] == [core.kb.texts.get(f"ask_order.{intent}")]
    conv = await customer.conversation()
    assert conv.step == "await_order"
    assert conv.slots.pending_intent == intent


@pytest.mark.parametrize("intent", sorted(COMPLAINTS))
async def test_complaints_start_with_the_apology(core, intent):
    customer = Customer(core)
    replies = await customer.say(PHRASES[intent])
    apology = core.kb.texts.get(f"complaint.apology.{intent}")
    assert replies[0].text == apology
    assert "извинения" in apology.lower()
    # No order number yet: the bot asks for it right after apologising.
    assert replies[1].text == core.kb.texts.get("ask_order.default")
    assert await customer.open_ticket() is None


async def test_operator_request_opens_a_ticket(core):
    customer = Customer(core)
    replies = await customer.say(PHRASES["operator"])
    assert replies[0].text == core.kb.texts.get("handoff.without_order")
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert ticket.intent == "operator" and ticket.reason == "asked"
    assert f"№ {ticket.id}" in replies[-1].text


async def test_greeting_shows_the_menu(core):
    replies = await Customer(core).say(PHRASES["greeting"])
    assert len(replies) == 1
    assert replies[0].text == core.kb.answer("greeting").text
    ids = flat_ids(replies[0])
    assert ids[:-1] == [buttons.TOPIC + name for name in core.kb.menu]
    assert ids[-1] == buttons.OPERATOR
    # Two topics per row, the operator alone on the last row.
    assert all(len(row) == 2 for row in replies[0].buttons[:-1])
    assert len(replies[0].buttons[-1]) == 1


async def test_thanks_answered_without_buttons(core):
    replies = await Customer(core).say(PHRASES["thanks"])
    assert [r.text for r in replies] == [core.kb.answer("thanks").text]
    assert replies[0].buttons == ()


async def test_out_of_scope_gets_its_answer_and_the_menu(core):
    customer = Customer(core)
    replies = await customer.say(PHRASES["out_of_scope"])
    assert len(replies) == 1
    assert replies[0].text == core.kb.answer("out_of_scope").text
    assert buttons.OPERATOR in flat_ids(replies[0])
    assert buttons.TOPIC + "order_status" in flat_ids(replies[0])
    assert await customer.open_ticket() is None


async def test_start_shows_greeting_and_menu(core):
    customer = Customer(core)
    replies = await customer.start()
    assert len(replies) == 1
    assert replies[0].text == core.kb.answer("greeting").text
    assert "Позвать оператора" in titles(replies[0])
    assert [buttons.TOPIC + name for name in core.kb.menu] == flat_ids(replies[0])[:-1]


async def test_menu_topic_button_answers_that_topic(core):
    customer = Customer(core)
    replies = await customer.press(buttons.TOPIC + "promo_code")
    assert replies[0].text == core.kb.answer("promo_code").text
    assert flat_ids(replies[0])[:2] == [buttons.HELPED, buttons.OPERATOR]


async def test_helped_button_thanks_the_customer(core):
    customer = Customer(core)
    await customer.say(PHRASES["bonuses"])
    replies = await customer.press(buttons.HELPED)
    assert [r.text for r in replies] == [core.kb.texts.get("helped_reply")]
    assert await customer.open_ticket() is None


async def test_menu_button_resets_a_pending_question(core):
    customer = Customer(core)
    await customer.say(PHRASES["order_status"])
    replies = await customer.press(buttons.MENU)
    assert replies[0].text == core.kb.texts.get("menu_prompt")
    assert (await customer.conversation()).step == "idle"


async def test_replies_are_logged_as_bot_messages(core):
    customer = Customer(core)
    replies = await customer.say(PHRASES["payment"])
    out = [m for m in await customer.log() if m.direction == "out"]
    assert [m.text for m in out] == [r.text for r in replies]
    assert all(m.author == "bot" for m in out)


async def test_rude_message_gets_a_calm_boundary(core):
    customer = Customer(core)
    replies = await customer.say("вы там все идиоты что ли")
    assert all_text(replies) == core.kb.texts.get("conflict_boundary")
