"""Answers that use what the bot knows: the customer's order (its state, dates, payment,
refund), the step of the dialog, a pending rating. Through the engine, on a hand-moved
clock (1 January 2026, a Thursday) and orders with dates relative to it."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Customer, all_text, flat_ids, titles

from core import buttons
from core.app import Core
from core.desk.roles import Operator
from core.orders import DemoOrderService

IN_TRANSIT = "20000001-0001"
MOSCOW_POINT = "ПВЗ Москва, ул. Тверская, 7"
PLACED = "20000002-0002"
AT_POINT = "20000003-0003"
RECEIVED = "20000004-0004"  # received 2 days ago: 5 days of the return window left
RECEIVED_LONG_AGO = "20000005-0005"  # received 12 days ago: the window is over
CANCELLED = "20000006-0006"  # cancelled yesterday, paid by card
RETURNED_SBP = "20000007-0007"  # the item is back, refund through SBP started today
LATE = "20000008-0008"  # still on its way, the date passed
UNPAID = "20000009-0009"
REFUNDED = "20000010-0010"  # the refund was done
COURIER = "20000011-0011"
OVERDUE_REFUND = "20000012-0012"  # the refund started a month ago
ASSEMBLING = "20000013-0013"
DELAYED = "20000014-0014"
RETURNING = "20000015-0015"  # a return is open, the item not handed back yet
CANCELLED_WITH_DATE = "20000016-0016"  # the shop still sends the old date and point

ORDERS: list[dict[str, Any]] = [
    {"number": IN_TRANSIT, "status": "В пути: передан в службу доставки", "state": "in_transit",
     "delivery_date": "today+2", "pickup_point": "ПВЗ Москва, ул. Тверская, 7",
     "payment": {"method": "card", "paid": True}},
    {"number": PLACED, "status": "Оформлен", "state": "created", "delivery_date": "today+4",
     "payment": {"method": "card", "paid": True}},
    {"number": AT_POINT, "status": "Ждёт в пункте выдачи", "state": "at_pickup_point",
     "storage_until": "today+3", "pickup_point": "ПВЗ Казань, ул. Баумана, 51"},
    {"number": RECEIVED, "status": "Получен", "state": "delivered", "delivered_at": "today-2",
     "payment": {"method": "card", "paid": True}},
    {"number": RECEIVED_LONG_AGO, "status": "Получен", "state": "delivered",
     "delivered_at": "today-12"},
    {"number": CANCELLED, "status": "Отменён", "state": "cancelled",
     "payment": {"method": "card", "paid": True},
     "refund": {"status": "pending", "method": "card", "started": "today-1"}},
    {"number": RETURNED_SBP, "status": "Возврат принят", "state": "returned",
     "payment": {"method": "sbp", "paid": True},
     "refund": {"status": "pending", "method": "sbp", "started": "today"}},
    {"number": LATE, "status": "В пути", "state": "in_transit", "delivery_date": "today-3"},
    {"number": UNPAID, "status": "Ожидает оплаты", "state": "awaiting_payment",
     "payment": {"method": "sbp", "paid": False}},
    {"number": REFUNDED, "status": "Отменён", "state": "cancelled",
     "payment": {"method": "card", "paid": True}, "refund": {"status": "done", "method": "card"}},
    {"number": COURIER, "status": "Передан курьеру", "state": "courier", "delivery_date": "today"},
    {"number": OVERDUE_REFUND, "status": "Отменён", "state": "cancelled",
     "payment": {"method": "card", "paid": True},
     "refund": {"status": "pending", "method": "card", "started": "today-30"}},
    {"number": ASSEMBLING, "status": "Собирается", "state": "assembling",
     "delivery_date": "today+3"},
    {"number": DELAYED, "status": "Задерживается", "state": "delayed",
     "delivery_date": "today+5"},
    {"number": RETURNING, "status": "Возврат оформлен", "state": "return_requested",
     "delivered_at": "today-3", "payment": {"method": "card", "paid": True}},
    {"number": CANCELLED_WITH_DATE, "status": "Отменён", "state": "cancelled",
     "delivery_date": "today+2", "pickup_point": "ПВЗ Москва, ул. Тверская, 7",
     "payment": {"method": "card", "paid": True},
     "refund": {"status": "pending", "method": "card", "started": "today-1"}},
]  # fmt: skip
OP = Operator("9", "Оператор")


@pytest.fixture
async def core(make_core, clock) -> Core:
    return await make_core(orders=DemoOrderService(raw=[dict(o) for o in ORDERS], clock=clock))


def advice(core: Core, key: str, **values: object) -> str:
    return core.kb.texts.get(f"order_advice.{key}").format(**values)


def assert_distinct_buttons(reply) -> None:
    assert len(set(flat_ids(reply))) == len(flat_ids(reply)), flat_ids(reply)
    assert len(set(titles(reply))) == len(titles(reply)), titles(reply)


# ---------------------------------------------------------------------------- the case
async def test_a_remembered_order_in_transit_gets_answers_about_it(core):
    """12345678-0001 "В пути" remembered: refund, cancel and delivery change say what
    applies to it — not "can change until handed to delivery", not "send the number"."""
    customer = Customer(core)
    await customer.say(f"где мой заказ {IN_TRANSIT}")
    for question, must in (
        ("хочу отменить заказ", advice(core, "cancel.on_the_way", at=f" ({MOSCOW_POINT})")),
        ("когда вернут деньги", advice(core, "refund.not_cancelled", number=IN_TRANSIT)),
        ("хочу изменить адрес доставки", advice(core, "delivery_change.on_the_way")),
    ):
        [reply] = await customer.say(question)
        assert IN_TRANSIT in reply.text and must in reply.text, (question, reply.text)
        assert "пришлите номер заказа" not in reply.text.lower()
        assert "пока он не передан в доставку" not in reply.text  # the generic rule
        assert "пока заказ не передан в доставку" not in reply.text
        assert_distinct_buttons(reply)


# ---------------------------------------------------------------------------- statuses
@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (AT_POINT, "до 4 января 2026 — осталось 3 дня"),
        (LATE, "Ожидаемая дата доставки уже прошла (29 декабря 2025)"),
        (UNPAID, "Заказ ждёт оплаты"),
        (COURIER, "Заказ у курьера: он позвонит перед приездом 1 января 2026."),
        (CANCELLED, "не позднее 14 января 2026"),
    ],
)
async def test_status_says_what_applies_now(core, number, expected):
    [reply] = await Customer(core).say(number)
    assert expected in reply.text


# ---------------------------------------------------------------------------- each state
EXPECTED = "Ожидаемая дата доставки"
DELIVERED_ON = "Дата доставки:"


def topic_titles(core: Core, reply) -> list[str]:
    topics = [i.removeprefix(buttons.TOPIC) for i in flat_ids(reply) if i.startswith(buttons.TOPIC)]
    return [core.kb.answer(name).title for name in topics]


# What "where is my order" shows for an order in each state: the day on the card, and the
# follow-up topics under the answer (order_status's related ones that fit, then the
# state's own).
@pytest.mark.parametrize(
    ("number", "day", "topics"),
    [
        (UNPAID, None, ["Изменить доставку", "Отменить заказ"]),
        (PLACED, EXPECTED, ["Изменить доставку", "Отменить заказ"]),
        (ASSEMBLING, EXPECTED, ["Изменить доставку", "Отменить заказ"]),
        (IN_TRANSIT, EXPECTED, ["Изменить доставку", "Заказ не получен", "Отменить заказ"]),
        (DELAYED, EXPECTED, ["Изменить доставку", "Заказ не получен", "Отменить заказ"]),
        (COURIER, EXPECTED, ["Изменить доставку", "Заказ не получен", "Отменить заказ"]),
        (AT_POINT, None, ["Изменить доставку", "Отменить заказ"]),
        (RECEIVED, DELIVERED_ON, ["Заказ не получен", "Вернуть товар"]),
        (CANCELLED_WITH_DATE, None, ["Возврат денег"]),
        (RETURNING, DELIVERED_ON, ["Возврат денег"]),
        (RETURNED_SBP, None, ["Возврат денег"]),
    ],
)
async def test_what_an_order_shows_and_offers_follows_its_state(core, number, day, topics):
    [reply] = await Customer(core).say(f"где мой заказ {number}")
    card = reply.text.split("\n\n")[0]
    for line in (EXPECTED, DELIVERED_ON):
        assert (line in card) == (line == day), (number, card)
    assert topic_titles(core, reply) == topics
    assert_distinct_buttons(reply)


async def test_a_cancelled_order_offers_nothing_for_a_delivery(core):
    """The issue's case: a cancelled order the shop still sends a date and a point for."""
    customer = Customer(core)
    [status] = await customer.say(f"где мой заказ {CANCELLED_WITH_DATE}")
    assert "Статус: Отменён" in status.text and "Пункт выдачи" not in status.text
    assert "не позднее 14 января 2026" in status.text  # the refund instead
    for question in ("хочу отменить заказ", "хочу изменить доставку", "как вернуть деньги"):
        [reply] = await customer.say(question)
        assert EXPECTED not in reply.text, question
        shown = set(titles(reply))
        assert not shown & {"Изменить доставку", "Заказ не получен", "Отменить заказ"}, question
        assert not [i for i in flat_ids(reply) if i.startswith("act:")]


async def test_after_a_self_service_cancel_the_buttons_follow_too(core):
    customer = Customer(core)
    await customer.say(f"хочу отменить заказ {PLACED}")
    [asked] = await customer.press(f"act:go:cancel:{PLACED}")
    yes = next(i for i in flat_ids(asked) if i.startswith("act:yes:"))
    [done] = await customer.press(yes)
    assert "Возврат денег" in topic_titles(core, done)
    assert not {"Изменить доставку", "Отменить заказ"} & set(titles(done))


# ---------------------------------------------------------------------------- cancel
WINDOW_5 = (
    "Вернуть товар надлежащего качества можно до 6 января 2026 включительно — осталось 5 дней."
)
REFUND_14 = "Деньги вернутся на карту не позднее 14 января 2026 (обычно за 3–10 рабочих дней)."


@pytest.mark.parametrize(
    ("number", "key", "values"),
    [
        (PLACED, "cancel.possible_self", {}),
        (AT_POINT, "cancel.at_pickup_point", {"until": "4 января 2026"}),
        (RECEIVED, "cancel.delivered", {"window": WINDOW_5}),
        (CANCELLED, "cancel.cancelled", {"refund": REFUND_14}),
    ],
)
async def test_cancel_depends_on_the_order(core, number, key, values):
    [reply] = await Customer(core).say(f"хочу отменить заказ {number}")
    assert advice(core, key, **values) in reply.text, reply.text
    assert core.kb.answer("order_cancel").text not in reply.text
    can_cancel = f"act:go:cancel:{number}" in flat_ids(reply)
    assert can_cancel == (number == PLACED)


# ---------------------------------------------------------------------------- refunds
@pytest.mark.parametrize(
    ("number", "expected"),
    [
        # card: 10 working days (Mon–Fri) after Wed 31 December: 1, 2, 5–9, 12–14 January.
        (CANCELLED, "Деньги вернутся на карту не позднее 14 января 2026"),
        # SBP: at most 3 days after today.
        (RETURNED_SBP, "Деньги вернутся на счёт через СБП не позднее 4 января 2026"),
        (REFUNDED, "Деньги уже вернули на карту."),
        (UNPAID, "не отменён, поэтому возврата денег по нему нет"),
        (RECEIVED, "Деньги за полученный заказ возвращаются после возврата товара."),
    ],
)
async def test_refund_is_due_on_a_date(core, number, expected):
    [reply] = await Customer(core).say(f"когда вернут деньги за заказ {number}")
    assert expected in reply.text, reply.text


async def test_an_overdue_refund_is_said_to_be_overdue(core):
    # Started Tue 2 December 2025: ten working days end on Tue 16 December.
    [reply] = await Customer(core).say(f"когда вернут деньги за заказ {OVERDUE_REFUND}")
    assert "Деньги должны были прийти до 16 декабря 2025" in reply.text


# ---------------------------------------------------------------------------- returns
async def test_return_window_left_and_over(core):
    [reply] = await Customer(core).say(f"как вернуть товар из заказа {RECEIVED}")
    assert "можно до 6 января 2026 включительно — осталось 5 дней" in reply.text
    assert f"act:go:start_return:{RECEIVED}" in flat_ids(reply)
    [late] = await Customer(core, user_id="2").say(f"как вернуть товар {RECEIVED_LONG_AGO}")
    assert "(7 дней после получения) закончился 27 декабря 2025" in late.text
    assert not [i for i in flat_ids(late) if i.startswith("act:")]
    [early] = await Customer(core, user_id="3").say(f"как вернуть товар {IN_TRANSIT}")
    assert advice(core, "return_item.not_received") in early.text


async def test_return_question_uses_the_remembered_order(core):
    customer = Customer(core)
    await customer.say(f"где мой заказ {RECEIVED}")
    [reply] = await customer.say("хочу вернуть товар")
    assert RECEIVED in reply.text and "осталось 5 дней" in reply.text


# ---------------------------------------------------------------------------- delivery change
@pytest.mark.parametrize(
    ("number", "key"),
    [
        (PLACED, "delivery_change.possible_app"),  # no dates or points offered by the shop
        (IN_TRANSIT, "delivery_change.on_the_way"),
        (COURIER, "delivery_change.courier"),
        (RECEIVED, "delivery_change.delivered"),
    ],
)
async def test_delivery_change_depends_on_the_order(core, number, key):
    [reply] = await Customer(core).say(f"хочу изменить доставку заказа {number}")
    assert advice(core, key, number=number) in reply.text
    assert core.kb.answer("delivery_change").text not in reply.text


async def test_at_the_pickup_point_storage_can_be_extended(core):
    [reply] = await Customer(core).say(f"хочу изменить доставку заказа {AT_POINT}")
    assert advice(core, "delivery_change.extend_self") in reply.text
    assert f"act:go:extend_storage:{AT_POINT}" in flat_ids(reply)


# ---------------------------------------------------------------------------- complaints
async def test_not_received_for_an_order_on_its_way_gets_its_date(core):
    customer = Customer(core)
    replies = await customer.say(f"заказ {IN_TRANSIT} я так и не получила")
    text = all_text(replies)
    assert "Ожидаемая дата доставки — 3 января 2026" in text
    assert await customer.open_ticket() is None
    assert flat_ids(replies[-1]) == [buttons.OTHER_ORDER, buttons.OPERATOR]
    assert (await customer.conversation()).step == "idle"


async def test_not_received_for_a_late_order_is_filed(core):
    customer = Customer(core)
    await customer.say(f"посылка потерялась, заказ {LATE} до сих пор не пришел")
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.intent == "not_received"
    assert ticket.order_number == LATE


@pytest.mark.parametrize("number", [IN_TRANSIT, PLACED])
async def test_damaged_item_for_an_order_not_received_is_not_filed(core, number):
    customer = Customer(core)
    await customer.say(f"где мой заказ {number}")
    replies = await customer.say("товар пришёл разбитый")
    # Which order? The remembered one is named and must be confirmed.
    assert replies[-1].text.startswith(f"Это жалоба на заказ {number}")
    assert flat_ids(replies[-1]) == [buttons.ORDER_OK, buttons.OTHER_ORDER]
    told = await customer.press(buttons.ORDER_OK)
    assert f"Заказ {number} ещё не у вас" in told[0].text
    assert await customer.open_ticket() is None
    # Another order then: its number, and the complaint goes on for that one.
    asked = await customer.press(buttons.OTHER_ORDER)
    assert asked[0].text == core.kb.texts.get("ask_order.damaged_item", "ask_order.default")
    described = await customer.say(RECEIVED)
    assert described[0].text == core.kb.texts.get("complaint.ask_description")
    await customer.say("ручка у кружки отломана")
    await customer.press(buttons.NO_PHOTO)
    ticket = await customer.open_ticket()
    assert ticket.intent == "damaged_item" and ticket.order_number == RECEIVED


async def test_complaint_confirmed_by_typing_yes(core):
    customer = Customer(core)
    await customer.say(f"где мой заказ {RECEIVED}")
    await customer.say("мне прислали не тот товар")
    replies = await customer.say("да")
    assert replies[0].text == core.kb.texts.get("complaint.ask_description")


async def test_complaint_with_its_number_needs_no_confirmation(core):
    customer = Customer(core)
    await customer.say(f"где мой заказ {IN_TRANSIT}")
    replies = await customer.say(f"в заказе {RECEIVED} пришла разбитая кружка")
    assert replies[-1].text == core.kb.texts.get("complaint.ask_photo")  # it says what happened


# ---------------------------------------------------------------------------- payment
@pytest.mark.parametrize(
    ("text", "case"),
    [
        ("деньги с карты списали, а заказ не оформился", "charged_not_placed"),
        ("оплатил через СБП, а статус не оплачен", "sbp_not_paid"),
    ],
)
async def test_payment_sub_cases_get_their_own_answer(core, text, case):
    [reply] = await Customer(core).say(text)
    expected = next(c for c in core.dialog.order_replies.subcases.cases if c.name == case)
    assert reply.text == expected.answer
    assert core.kb.answer("payment").text not in reply.text
    assert_distinct_buttons(reply)


async def test_sbp_sub_case_names_the_known_order(core):
    customer = Customer(core)
    await customer.say(f"где мой заказ {UNPAID}")
    [reply] = await customer.say("оплатил через сбп а статус не оплачен")
    assert reply.text.startswith(f"Заказ {UNPAID} сейчас в статусе «Ожидает оплаты».")


# ---------------------------------------------------------------------------- numbers
async def test_a_number_without_its_second_part_gets_a_format_hint(core):
    customer = Customer(core)
    [reply] = await customer.say("87654321")
    assert reply.text == core.kb.texts.format("order_invalid_hint.no_tail", digits="87654321")
    assert "87654321-0001" in reply.text
    assert (await customer.conversation()).step == "await_order"
    [tail] = await customer.say("87654321-001")
    assert tail.text == core.kb.texts.get("order_give_up")  # the second wrong try
    other = Customer(core, user_id="2")
    await other.say("где мой заказ")
    [hint] = await other.say("87654321-001")
    assert hint.text == core.kb.texts.get("order_invalid_hint.tail")


async def test_where_to_find_the_number_is_never_a_failed_try(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    await customer.say("87654321-001")  # one wrong try
    [reply] = await customer.say("ну не знаю я где его смотреть")
    assert reply.text == core.kb.texts.get("order_waiting")
    assert buttons.OPERATOR in flat_ids(reply)
    [again] = await customer.say("не знаю где смотреть")
    assert again.text == core.kb.texts.get("order_waiting_again")
    [found] = await customer.say(IN_TRANSIT)
    assert IN_TRANSIT in found.text


# ---------------------------------------------------------------------------- one prompt
async def test_operator_with_a_known_order_is_not_asked_for_it_again(core):
    customer = Customer(core)
    await customer.say(f"где мой заказ {IN_TRANSIT}")
    replies = await customer.say("позовите оператора")
    assert replies[0].text == core.kb.texts.format("handoff.with_order", number=IN_TRANSIT)
    assert len(replies) == 2  # the hand-over, then the ticket and the wait
    assert "номер заказа" not in all_text(replies)
    assert all_text(replies).count("детали") <= 1
    ticket = await customer.open_ticket()
    assert ticket.order_number == IN_TRANSIT


async def test_operator_without_an_order_asks_for_it_once(core):
    replies = await Customer(core).say("позовите оператора")
    assert replies[0].text == core.kb.texts.get("handoff.without_order")
    assert all_text(replies).count("номер") == 1


# ---------------------------------------------------------------------------- thanks, buttons
async def test_thanks_gets_a_short_reply_without_a_rating_request(core):
    [reply] = await Customer(core).say("спс")
    assert reply.text == core.kb.answer("thanks").text
    assert len(reply.text.splitlines()) == 1
    assert "оцен" not in reply.text.lower()


async def test_thanks_while_a_rating_is_awaited_comes_with_the_rating_buttons(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await core.desk.reply(ticket.id, OP, "Готово, всё исправили.")
    await core.desk.close(ticket.id, OP)
    [reply] = await customer.say("спасибо большое")
    assert reply.text == core.kb.texts.format("thanks_rate", ticket=ticket.id)
    assert flat_ids(reply) == [f"rate:{ticket.id}:{n}" for n in range(1, 6)]
    rated = await customer.press(f"rate:{ticket.id}:5")
    assert rated[0].text == core.kb.texts.get("rating_thanks")
    assert (await core.storage.tickets.get(ticket.id)).rating == 5


async def test_contacts_offer_one_operator_button(core):
    [reply] = await Customer(core).say("дайте номер горячей линии")
    assert_distinct_buttons(reply)
    assert "Связаться с оператором" not in titles(reply)
    assert titles(reply).count("Позвать оператора") == 1


async def test_rating_is_accepted_after_reopen_reply_close(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await core.desk.reply(ticket.id, OP, "Посмотрю.")
    await core.desk.close(ticket.id, OP)
    await customer.press(f"rate:{ticket.id}:4")
    await core.desk.reopen(ticket.id, OP)
    await core.desk.reply(ticket.id, OP, "Ещё раз проверил — всё в порядке.")
    await core.desk.close(ticket.id, OP)
    replies = await customer.press(f"rate:{ticket.id}:2")
    assert replies[0].text == core.kb.texts.get("rating_thanks_low")
    assert (await core.storage.tickets.get(ticket.id)).rating == 2
    events = await core.storage.db.fetchall("SELECT kind, detail FROM ticket_events")
    assert events == [{"kind": "reopened", "detail": "rating 4"}]
