""" "Привет" starts a conversation with the whole greeting and menu; in the middle of one it
gets a short answer that reminds of what the bot waits for (an order number, a
description, a photo), and what was collected so far is kept."""

from __future__ import annotations

from conftest import Customer, flat_ids

from core import buttons

ORDER = "12345678-0001"  # a demo order on its way
RECEIVED = "2233445566-0015"  # a demo order delivered three days ago


def again(core, step: str, **values: object) -> str:
    return core.kb.texts.format(f"greeting_again.{step}", **values)


async def test_a_first_hello_gets_the_greeting_and_the_menu(core):
    [reply] = await Customer(core).say("привет")
    assert reply.text == core.kb.answer("greeting").text
    assert [buttons.TOPIC + name for name in core.kb.menu] == flat_ids(reply)[:-1]


async def test_hello_after_an_answer_is_a_short_one(core):
    customer = Customer(core)
    await customer.say("как вернуть товар")
    [reply] = await customer.say("Привет!")
    assert reply.text == again(core, "idle")
    assert flat_ids(reply) == [buttons.MENU]  # not the whole menu again
    assert core.kb.answer("greeting").text not in reply.text


async def test_hello_while_an_order_number_is_awaited_reminds_of_it(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    for hello in ("здравствуйте", "добрый день"):
        [reply] = await customer.say(hello)
        assert reply.text == again(core, "await_order")
        assert buttons.OPERATOR in flat_ids(reply)
    conv = await customer.conversation()
    assert conv.step == "await_order" and conv.slots.pending_intent == "order_status"
    assert conv.slots.order_attempts == 0 and not conv.slots.order_hint_given
    [status] = await customer.say(ORDER)
    assert ORDER in status.text and "В пути" in status.text


async def test_hello_while_a_description_is_awaited_is_not_the_description(core):
    customer = Customer(core)
    await customer.say("курьер нагрубил")
    await customer.say(ORDER)
    assert (await customer.conversation()).step == "await_description"
    [reply] = await customer.say("здравствуйте")
    assert reply.text == again(core, "await_description")
    conv = await customer.conversation()
    assert conv.step == "await_description" and conv.slots.description == ""
    await customer.say("курьер бросил коробку у двери и ушёл")
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.summary == "курьер бросил коробку у двери и ушёл"


async def test_hello_while_a_photo_is_awaited_offers_to_go_without(core):
    customer = Customer(core)
    await customer.say(f"в заказе {RECEIVED} пришла разбитая кружка")
    assert (await customer.conversation()).step == "await_photo"
    [reply] = await customer.say("привет")
    assert reply.text == again(core, "await_photo")
    assert flat_ids(reply) == [buttons.NO_PHOTO]
    assert await customer.open_ticket() is None
    await customer.press(buttons.NO_PHOTO)
    assert (await customer.open_ticket()).intent == "damaged_item"


async def test_hello_while_the_order_of_a_complaint_is_asked_names_it(core):
    customer = Customer(core)
    await customer.say(f"где мой заказ {RECEIVED}")
    await customer.say("мне прислали не тот товар")
    [reply] = await customer.say("добрый вечер")
    assert reply.text == again(core, "await_order_confirm", number=RECEIVED)
    assert flat_ids(reply) == [buttons.ORDER_OK, buttons.OTHER_ORDER]
    [asked] = await customer.press(buttons.ORDER_OK)
    assert asked.text == core.kb.texts.get("complaint.ask_description")


async def test_a_hello_long_after_starts_afresh(core, clock):
    customer = Customer(core)
    await customer.say("где мой заказ")
    clock.advance(3 * 3600)
    [reply] = await customer.say("привет")
    assert reply.text == core.kb.answer("greeting").text
    assert (await customer.conversation()).step == "idle"


async def test_start_always_shows_the_whole_menu(core):
    customer = Customer(core)
    await customer.say("как вернуть товар")
    [reply] = await customer.say("/start")
    assert reply.text == core.kb.answer("greeting").text


async def test_a_greeting_with_a_question_is_the_question(core):
    customer = Customer(core)
    await customer.say("как вернуть товар")
    [reply] = await customer.say(f"привет, где мой заказ {ORDER}")
    assert ORDER in reply.text and "В пути" in reply.text


async def test_a_hello_with_the_awaited_number_is_the_number(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    [reply] = await customer.say(f"привет {ORDER}")
    assert ORDER in reply.text and "В пути" in reply.text
