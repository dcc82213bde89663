"""Self-service actions through the shop's order API (README, "The order API"): the real
engine, the real HTTP client and a shop API served by aiohttp on 127.0.0.1 that acts,
refuses, hangs, fails and loses its answers. A retried action must never act twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import Customer, flat_ids

from core import buttons
from core.app import Core
from core.conversation.turn import Turn
from core.orders import actions as act
from core.reports import kpi
from tests.fakes.orders_api import FakeOrderAPI

PLACED = "10000001-0001"  # placed, paid by card, two items, dates and points to choose
TRAVELLING = "10000002-0002"  # handed to delivery: no cancelling any more
AT_POINT = "10000003-0003"  # waiting at the pickup point
RECEIVED = "10000004-0004"  # received two days ago, one item
TOKEN = "shop-secret"

ORDERS: list[dict[str, Any]] = [
    {
        "number": PLACED,
        "status": "Оформлен",
        "state": "created",
        "delivery_date": "today+4",
        "pickup_point": "ПВЗ Тула, ул. Ленина, 1",
        "payment": {"method": "card", "paid": True},
        "items": [
            {"id": "I-1", "title": "Чайник", "quantity": 1},
            {"id": "I-2", "title": "Кружка", "quantity": 2},
        ],
        "delivery_dates": ["today+5", "today+6"],
        "pickup_points": [{"id": "P-7", "address": "ПВЗ Тула, пр. Мира, 7"}],
    },
    {
        "number": TRAVELLING,
        "status": "В пути",
        "state": "in_transit",
        "delivery_date": "today+2",
        "payment": {"method": "sbp", "paid": True},
    },
    {
        "number": AT_POINT,
        "status": "Ждёт в пункте выдачи",
        "state": "at_pickup_point",
        "storage_until": "today+1",
        "pickup_point": "ПВЗ Тула, ул. Ленина, 1",
    },
    {
        "number": RECEIVED,
        "status": "Получен",
        "state": "delivered",
        "delivered_at": "today-2",
        "items": [{"id": "R-1", "title": "Куртка", "quantity": 1}],
    },
]


@pytest.fixture
async def shop(clock) -> AsyncIterator[FakeOrderAPI]:
    async with FakeOrderAPI([dict(o) for o in ORDERS], clock, token=TOKEN) as api:
        yield api


@pytest.fixture
async def shop_core(shop, make_core, settings_with) -> Core:
    settings = settings_with(
        orders_api_url=shop.url, orders_api_timeout=2.0, orders_api_token=TOKEN
    )
    return await make_core(settings=settings)


def button(reply, prefix: str) -> str:
    found = [i for i in flat_ids(reply) if i.startswith(prefix)]
    assert found, (prefix, flat_ids(reply))
    return found[0]


async def offer(customer: Customer, text: str, action: str, number: str) -> list:
    """Ask, press the action's button; returns the bot's answer to the press."""
    replies = await customer.say(text)
    assert f"act:go:{action}:{number}" in flat_ids(replies[-1]), flat_ids(replies[-1])
    return await customer.press(f"act:go:{action}:{number}")


async def rows(core: Core, sql: str) -> list[dict[str, Any]]:
    return await core.storage.db.fetchall(sql)


# ---------------------------------------------------------------------------- success
async def test_cancel_is_confirmed_then_done_once(shop, shop_core):
    core = shop_core
    customer = Customer(core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    assert asked[0].text.startswith(f"Отменить заказ {PLACED} целиком?")
    assert "на карту — за 3–10 рабочих дней" in asked[0].text
    assert shop.posts() == []  # nothing is done before the confirmation
    yes = button(asked[0], "act:yes:")
    assert button(asked[0], "act:no:")

    done = await customer.press(yes)
    assert done[0].text.startswith(f"Готово: заказ {PLACED} отменён.")
    assert "не позднее 15 января 2026" in done[0].text  # 10 working days after 1 January
    assert shop.performed == [(PLACED, "cancel", {})]
    [post] = shop.posts()
    assert post["key"].startswith("sb-") and post["body"] == {}
    # The customer presses "yes" again: no second request, and they are told it is done.
    again = await customer.press(yes)
    assert again[0].text == core.kb.texts.get("selfservice.already_done")
    assert len(shop.posts()) == 1 and len(shop.performed) == 1

    [logged] = await rows(core, "SELECT * FROM order_actions")
    assert (logged["order_number"], logged["action"]) == (PLACED, "cancel")
    assert logged["outcome"] == "done"
    assert logged["idempotency_key"] == post["key"]
    kinds = [r["kind"] for r in await rows(core, "SELECT kind FROM bot_outcomes ORDER BY id")]
    assert kinds.count("self_service") == 1
    # The order's own answer now says what applies to a cancelled order.
    status = await customer.say(f"где заказ {PLACED}")
    assert "Отменён" in status[0].text


async def test_cancel_one_item_sends_the_chosen_item(shop, shop_core):
    customer = Customer(shop_core)
    pick = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL_ITEM, PLACED)
    assert pick[0].text == f"Какой товар убрать из заказа {PLACED}?"
    titles = [b.title for b in pick[0].flat_buttons]
    assert titles == ["Чайник", "Кружка", "Нет, не надо"]
    confirm = await customer.press(flat_ids(pick[0])[1])
    assert confirm[0].text == f"Убрать из заказа {PLACED} товар «Кружка»?"
    done = await customer.press(button(confirm[0], "act:yes:"))
    assert done[0].text.startswith(f"Готово: товар «Кружка» убран из заказа {PLACED}.")
    assert shop.performed == [(PLACED, "cancel_item", {"item_id": "I-2"})]


async def test_change_the_delivery_date_and_the_pickup_point(shop, shop_core):
    customer = Customer(shop_core)
    answer = await customer.say(f"можно перенести доставку заказа {PLACED}")
    ids = flat_ids(answer[0])
    assert ids[:2] == [f"act:go:change_date:{PLACED}", f"act:go:change_pickup_point:{PLACED}"]
    dates = await customer.press(ids[0])
    assert [b.title for b in dates[0].flat_buttons][:2] == ["6 января 2026", "7 января 2026"]
    confirm = await customer.press(flat_ids(dates[0])[1])
    assert confirm[0].text == f"Перенести доставку заказа {PLACED} на 7 января 2026?"
    done = await customer.press(button(confirm[0], "act:yes:"))
    assert done[0].text == f"Готово: заказ {PLACED} привезут 7 января 2026."

    points = await customer.press(f"act:go:change_pickup_point:{PLACED}")
    confirm = await customer.press(flat_ids(points[0])[0])
    assert confirm[0].text.endswith("в пункт выдачи: ПВЗ Тула, пр. Мира, 7?")
    await customer.press(button(confirm[0], "act:yes:"))
    assert shop.performed == [
        (PLACED, "change_date", {"delivery_date": "2026-01-07"}),
        (PLACED, "change_pickup_point", {"pickup_point_id": "P-7"}),
    ]
    # Two offers, two different keys.
    assert len({p["key"] for p in shop.posts()}) == 2


async def test_extend_storage_and_start_a_return(shop, shop_core):
    customer = Customer(shop_core)
    status = await customer.say(f"где мой заказ {AT_POINT}")
    assert "до 2 января 2026 — осталось 1 день" in status[0].text
    confirm = await customer.press(button(status[0], "act:go:extend_storage:"))
    assert "сейчас — до 2 января 2026" in confirm[0].text
    done = await customer.press(button(confirm[0], "act:yes:"))
    expected = f"Готово: заказ {AT_POINT} будет ждать вас в пункте выдачи до 5 января 2026."
    assert done[0].text == expected

    other = Customer(shop_core, user_id="2002")
    answer = await other.say(f"хочу вернуть товар из заказа {RECEIVED}")
    assert "осталось 5 дней" in answer[0].text
    confirm = await other.press(button(answer[0], "act:go:start_return:"))
    # One item only: nothing to choose, the item is named in the question.
    assert confirm[0].text == f"Оформить возврат по заказу {RECEIVED} (товар «Куртка»)?"
    await other.press(button(confirm[0], "act:yes:"))
    assert shop.performed == [
        (AT_POINT, "extend_storage", {}),
        (RECEIVED, "start_return", {"item_id": "R-1"}),
    ]


async def test_declined_offer_does_nothing(shop, shop_core):
    customer = Customer(shop_core)
    asked = await offer(customer, f"отмените заказ {PLACED}", act.CANCEL, PLACED)
    no = await customer.press(button(asked[0], "act:no:"))
    assert no[0].text == shop_core.kb.texts.get("selfservice.declined")
    # The confirmation pressed after "no" is a stale button now.
    late = await customer.press(button(asked[0], "act:yes:"))
    assert late[0].text == shop_core.kb.texts.get("unknown_button")
    assert shop.posts() == [] and shop.performed == []


# ---------------------------------------------------------------------------- refusals
async def test_the_shop_refuses_with_its_reason(shop, shop_core):
    customer = Customer(shop_core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    shop.update(PLACED, state="in_transit", status="В пути")  # it shipped meanwhile
    refused = await customer.press(button(asked[0], "act:yes:"))
    reason = "Заказ уже передан в доставку, отменить его нельзя — можно отказаться при получении."
    assert refused[0].text == f"Не получилось: {reason}"
    assert buttons.OPERATOR in flat_ids(refused[0])
    assert shop.performed == []
    [logged] = await rows(shop_core, "SELECT outcome, detail FROM order_actions")
    assert logged["outcome"] == "refused" and logged["detail"].startswith("too_late")
    assert await rows(shop_core, "SELECT * FROM bot_outcomes WHERE kind = 'self_service'") == []


async def test_an_order_on_its_way_is_not_offered_a_cancel(shop, shop_core):
    customer = Customer(shop_core)
    answer = await customer.say(f"хочу отменить заказ {TRAVELLING}")
    text = answer[0].text
    assert "Заказ уже передан в доставку, поэтому отменить его в приложении нельзя" in text
    assert not [i for i in flat_ids(answer[0]) if i.startswith("act:")]
    # An old button pressed anyway: the order is looked up again, and what applies now said.
    pressed = await customer.press(f"act:go:cancel:{TRAVELLING}")
    assert "отменить его в приложении нельзя" in pressed[0].text
    assert shop.posts() == []


# ---------------------------------------------------------------------------- failures
async def test_timeout_offers_a_retry_that_acts_once(shop, shop_core):
    customer = Customer(shop_core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    shop.hang_next = 1  # the shop never answers this one
    failed = await customer.press(button(asked[0], "act:yes:"))
    assert failed[0].text == shop_core.kb.texts.get("selfservice.failed")
    retry, operator = failed[0].flat_buttons
    assert retry.title == "Повторить" and operator.id == buttons.OPERATOR
    assert shop.performed == []
    done = await customer.press(retry.id)
    assert done[0].text.startswith(f"Готово: заказ {PLACED} отменён.")
    assert shop.performed == [(PLACED, "cancel", {})]
    first, second = shop.posts()
    assert first["key"] == second["key"]
    outcomes = [r["outcome"] for r in await rows(shop_core, "SELECT outcome FROM order_actions")]
    assert outcomes == ["failed", "done"]


async def test_a_retry_and_a_double_press_are_new_updates_with_the_same_key(shop, shop_core):
    """Each press is an update of its own (its own external id, as a messenger numbers
    them): the key must come from the offer, never from the update."""
    customer = Customer(shop_core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    confirm = button(asked[0], "act:yes:")
    shop.lose_answer_next = 1  # the shop cancels, but its answer is lost (502)
    failed = await shop_core.engine.handle(customer.inbound(payload=confirm, external_id="cb:1"))
    retry = flat_ids(failed[0])[0]  # «Повторить»
    done = await shop_core.engine.handle(customer.inbound(payload=retry, external_id="cb:2"))
    assert done[0].text.startswith(f"Готово: заказ {PLACED} отменён.")
    await shop_core.engine.handle(customer.inbound(payload=confirm, external_id="cb:3"))
    keys = [post["key"] for post in shop.posts()]
    assert len(keys) >= 2 and len(set(keys)) == 1, keys
    assert shop.performed == [(PLACED, "cancel", {})]


async def test_a_lost_answer_and_a_retry_never_act_twice(shop, shop_core):
    customer = Customer(shop_core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    shop.lose_answer_next = 1  # the shop cancels, but its answer is lost (502)
    failed = await customer.press(button(asked[0], "act:yes:"))
    assert failed[0].text == shop_core.kb.texts.get("selfservice.failed")
    assert shop.performed == [(PLACED, "cancel", {})]
    done = await customer.press(flat_ids(failed[0])[0])  # «Повторить»
    assert done[0].text.startswith(f"Готово: заказ {PLACED} отменён.")
    assert shop.performed == [(PLACED, "cancel", {})]  # still once
    assert len({p["key"] for p in shop.posts()}) == 1 and len(shop.posts()) == 2


async def test_a_server_error_offers_an_operator(shop, shop_core):
    customer = Customer(shop_core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    shop.fail_next = [503]
    failed = await customer.press(button(asked[0], "act:yes:"))
    assert failed[0].text == shop_core.kb.texts.get("selfservice.failed")
    told = await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.intent == "order_cancel"
    assert ticket.order_number == PLACED and ticket.reason == "not_helped"
    assert f"№ {ticket.id}" in told[-1].text
    assert shop.performed == []


# ---------------------------------------------------------------------------- repeats
async def test_a_repeated_decision_sends_the_same_key(shop, shop_core):
    """The engine may decide a turn again after a database conflict: the first decision
    is thrown away (never written), the second is written. The shop must see one key."""
    core = shop_core
    customer = Customer(core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    press = customer.inbound(payload=button(asked[0], "act:yes:"), external_id="tgcb:42")
    conv = await customer.conversation()
    discarded = Turn(press, conv, None, core.clock.now())
    await core.engine._decide(discarded)  # decided, then dropped: nothing is written
    assert discarded.order_actions and discarded.order_actions[0]["outcome"] == "done"
    assert await rows(core, "SELECT * FROM order_actions") == []

    replies = await core.engine.handle(press)  # decided again and written
    assert replies[0].text.startswith(f"Готово: заказ {PLACED} отменён.")
    first, second = shop.posts()
    assert first["key"] == second["key"]
    assert shop.performed == [(PLACED, "cancel", {})]
    assert len(await rows(core, "SELECT * FROM order_actions")) == 1
    # The same update delivered once more is not answered a second time.
    assert await core.engine.handle(press) == []
    assert shop.performed == [(PLACED, "cancel", {})]


async def test_the_key_is_stable_and_distinct():
    key = act.idempotency_key(7, 3, PLACED, "cancel", {})
    assert key == act.idempotency_key(7, 3, PLACED, "cancel", {})
    assert key != act.idempotency_key(7, 4, PLACED, "cancel", {})
    assert key != act.idempotency_key(8, 3, PLACED, "cancel", {})
    assert key != act.idempotency_key(7, 3, PLACED, "cancel_item", {"item_id": "I-1"})


# ---------------------------------------------------------------------------- KPIs
async def test_self_service_counts_as_solved_by_the_bot(shop, shop_core, clock):
    core = shop_core
    since = clock.now() - 60
    customer = Customer(core)
    asked = await offer(customer, f"хочу отменить заказ {PLACED}", act.CANCEL, PLACED)
    await customer.press(button(asked[0], "act:yes:"))
    other = Customer(core, user_id="2002")
    await other.say("позовите оператора")
    report = await kpi.compute(core.storage, since, clock.now() + 60, clock.now())
    assert (report.conversations, report.contained) == (2, 1)
    assert report.bot.self_service == 1 and report.bot.actions_done == 1
    assert report.containment_share == pytest.approx(0.5)


# ---------------------------------------------------------------------------- without actions
class LookupOnly:
    """A shop API that only answers lookups (no action endpoints)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def get(self, number: str):
        return await self.inner.get(number)


async def test_without_an_action_api_the_bot_explains_how(shop, make_core):
    core = await make_core(orders=LookupOnly(shop.rules))
    replies = await Customer(core).say(f"хочу отменить заказ {PLACED}")
    assert not [i for i in flat_ids(replies[0]) if i.startswith("act:")]
    assert core.kb.texts.format("order_advice.cancel.possible_app", number=PLACED) in (
        replies[0].text
    )
    stale = await Customer(core).press(f"act:go:cancel:{PLACED}")
    assert stale[0].text == core.kb.texts.get("unknown_button")


async def test_the_demo_service_acts_in_the_console(core):
    """Without ORDERS_API_URL the demo file's orders take the same actions."""
    from io import StringIO

    from bots.console import ConsoleChat

    out = StringIO()
    chat = ConsoleChat(core, out=out, user_id="demo")
    await chat.handle_line("хочу отменить заказ 12345678-0002")
    assert "1) Отменить заказ" in out.getvalue()
    await chat.handle_line("/b 1")
    await chat.handle_line("/b 1")
    assert "[бот] Готово: заказ 12345678-0002 отменён." in out.getvalue()
    order = await core.orders.get("12345678-0002")
    assert order.state == "cancelled"


# ---------------------------------------------------------------------------- stale and forged
async def test_a_stale_choice_after_choosing_changes_nothing(shop, shop_core):
    """A date button pressed again after the confirmation was shown neither acts nor
    changes what will be done: the confirmation still acts on the first choice."""
    customer = Customer(shop_core)
    dates = await customer.press(f"act:go:change_date:{PLACED}")
    first, second = flat_ids(dates[0])[:2]
    confirm = await customer.press(first)
    stale = await customer.press(second)
    assert stale[0].text == shop_core.kb.texts.get("unknown_button")
    assert shop.performed == []
    await customer.press(button(confirm[0], "act:yes:"))
    assert shop.performed == [(PLACED, "change_date", {"delivery_date": "2026-01-06"})]


@pytest.mark.parametrize(
    "payload", [f"act:go:nonsense:{PLACED}", "act:go:cancel:", "act:yes:x", "act:yes:99"]
)
async def test_a_forged_button_is_answered_and_does_nothing(shop, shop_core, payload):
    replies = await Customer(shop_core).press(payload)
    assert replies[0].text == shop_core.kb.texts.get("unknown_button")
    assert shop.posts() == []


async def test_an_order_the_shop_does_not_know_or_cannot_look_up(shop, shop_core):
    customer = Customer(shop_core)
    missing = await customer.press("act:go:cancel:99999999-0009")
    assert missing[0].text == shop_core.kb.texts.format("order_not_found", number="99999999-0009")
    shop.fail_get_next = [503]
    down = await customer.press(f"act:go:cancel:{PLACED}")
    assert down[0].text == shop_core.kb.texts.format("order_service_down", number=PLACED)
    assert buttons.OPERATOR in flat_ids(down[0])  # a way out
    assert shop.posts() == []


async def test_a_service_that_raises_while_acting_offers_a_retry(shop, make_core, settings_with):
    """An order service may also raise `OrderServiceUnavailable` from `act` (the
    contract allows it): the customer is offered a retry with the same key."""
    from core.orders.http_api import HttpOrderService
    from core.orders.service import OrderServiceUnavailable

    class Raising(HttpOrderService):
        raised = False

        async def act(self, number, action, params, idempotency_key):
            if not self.raised:
                self.raised = True
                raise OrderServiceUnavailable("the shop is down")
            return await super().act(number, action, params, idempotency_key)

    service = Raising(shop.url, timeout=2.0, token=TOKEN)
    core = await make_core(settings=settings_with(), orders=service)
    customer = Customer(core)
    asked = await customer.press(f"act:go:cancel:{PLACED}")
    failed = await customer.press(button(asked[0], "act:yes:"))
    assert failed[0].text == core.kb.texts.get("selfservice.failed")
    done = await customer.press(flat_ids(failed[0])[0])  # «Повторить»
    assert done[0].text.startswith(f"Готово: заказ {PLACED} отменён.")
    assert shop.performed == [(PLACED, "cancel", {})]
    await service.close()


async def test_a_choice_one_past_the_last_is_answered_and_does_nothing(shop, shop_core):
    """A forged date button numbered one past the offered dates: answered as an unknown
    button, and the offer still takes a real choice."""
    customer = Customer(shop_core)
    dates = await customer.press(f"act:go:change_date:{PLACED}")
    picks = [p for p in flat_ids(dates[0]) if p.startswith("act:pick:")]
    offer_id = picks[0].split(":")[2]
    forged = await customer.press(f"act:pick:{offer_id}:{len(picks)}")
    assert forged[0].text == shop_core.kb.texts.get("unknown_button")
    confirm = await customer.press(picks[0])
    await customer.press(button(confirm[0], "act:yes:"))
    assert shop.performed == [(PLACED, "change_date", {"delivery_date": "2026-01-06"})]
