"""Order numbers, the order dialog, the demo file and the shop's HTTP order API (served
by a local aiohttp server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import REPO, WORK_TIME, Customer, flat_ids

from core import buttons
from core.clock import ManualClock
from core.knowledge.texts import KnowledgeError
from core.orders import (
    DemoOrderService,
    HttpOrderService,
    OrderNotFound,
    OrderServiceUnavailable,
    find_order_number,
    looks_like_order_attempt,
    make_order_service,
)
from core.orders import actions as act
from core.orders.model import Order
from core.orders.numbers import mask_order_numbers
from core.orders.states import STATES, StatusWords

DEMO = REPO / "config" / "orders_demo.yaml"


# ---------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12345678-0001", "12345678-0001"),
        ("мой заказ 12345678-0001 где он", "12345678-0001"),
        ("12345678 0001", "12345678-0001"),
        ("12345678 - 0001", "12345678-0001"),
        ("12345678 -0001", "12345678-0001"),
        ("1234567890-0042", "1234567890-0042"),
        ("123456789-0042", "123456789-0042"),
        ("12345678-0003-1", "12345678-0003-1"),
        ("12345678-0003 - 2", "12345678-0003-2"),
        ("12345678\u20130001", "12345678-0001"),  # en dash
        ("12345678\u20140001", "12345678-0001"),  # em dash
        ("12345678\u2013 0003\u20131", "12345678-0003-1"),
        ("номер123456780001", "12345678-0001"),  # the dash left out
        ("заказ (12345678-0001), спасибо", "12345678-0001"),
        ("12345678-0001 и 87654321-0010", "12345678-0001"),  # the first one
    ],
)
def test_valid_order_numbers(text, number):
    assert find_order_number(text) == number
    assert not looks_like_order_attempt(text)


@pytest.mark.parametrize(
    "text",
    [
        "1234567-0001",  # seven digits
        "12345678901-0001",  # eleven digits
        "12345678-001",  # three digits after the dash
        "12345678-00011",  # five digits after the dash
        "12345678",
        "1234-5678",
        "12-34-56-78",
        "8 800 555-35-35",
        "2026-12-02",
        "заказ номер один",
        "",
    ],
)
def test_invalid_order_numbers(text):
    assert find_order_number(text) is None


@pytest.mark.parametrize("text", ["1234567-0001", "12345678-001", "1234 5678", "12 34 56"])
def test_wrong_number_looks_like_an_attempt(text):
    assert looks_like_order_attempt(text)


@pytest.mark.parametrize("text", ["где мой заказ", "ок", "вчера в 5"])
def test_words_are_not_an_attempt(text):
    assert not looks_like_order_attempt(text)


def test_mask_replaces_every_number():
    masked = mask_order_numbers("12345678-0001 и 87654321 0010", " N ")
    assert find_order_number(masked) is None
    assert masked.split() == ["N", "и", "N"]


# ---------------------------------------------------------------------------- dialog
async def test_order_status_flow_ask_then_number(core):
    customer = Customer(core)
    asked = await customer.say("подскажите когда приедет моя посылка")
    assert asked[0].text == core.kb.texts.get("ask_order.order_status")
    replies = await customer.say("12345678-0001")
    assert len(replies) == 1
    text = replies[0].text
    assert "12345678-0001" in text
    assert "В пути: передан в службу доставки" in text
    assert "3 января 2026" in text  # "today+2" in the demo file; the test's today is 1 January
    assert "ПВЗ Москва, ул. Тверская, 7" in text
    assert flat_ids(replies[0])[:2] == [buttons.HELPED, buttons.OPERATOR]
    conv = await customer.conversation()
    assert conv.step == "idle"
    assert conv.slots.order == "12345678-0001"


async def test_number_typed_with_spaces_and_en_dash(core):
    customer = Customer(core)
    await customer.say("когда привезут заказ")
    replies = await customer.say("вот он 12345678 \u2013 0002")
    assert "12345678-0002" in replies[0].text
    assert "Оформлен" in replies[0].text
    assert "5 января 2026" in replies[0].text


async def test_number_in_the_first_message_answered_at_once(core):
    customer = Customer(core)
    replies = await customer.say("где сейчас мой заказ 55512345-0007")
    assert len(replies) == 1
    assert "55512345-0007" in replies[0].text
    assert "курьер привезёт" in replies[0].text
    assert "1 января 2026" in replies[0].text  # the courier comes today
    assert (await customer.conversation()).step == "idle"


async def test_only_a_number_means_order_status(core):
    customer = Customer(core)
    replies = await customer.say("12345678-0003-1")
    assert "Собирается на складе" in replies[0].text
    logged = [m for m in await customer.log() if m.direction == "in"]
    assert logged[0].intent == "order_status"


async def test_order_without_date_has_no_date_line(core):
    replies = await Customer(core).say("статус заказа 87654321-0010")
    assert "Ожидает оплаты" in replies[0].text
    assert "Ожидаемая дата" not in replies[0].text
    assert "Пункт выдачи" not in replies[0].text


async def test_invalid_number_asked_again_then_operator_offered(core):
    customer = Customer(core)
    await customer.say("отследить посылку хочу")
    first = await customer.say("1234-567")
    assert [r.text for r in first] == [core.kb.texts.get("order_invalid")]
    assert (await customer.conversation()).step == "await_order"
    second = await customer.say("12345 678")
    assert [r.text for r in second] == [core.kb.texts.get("order_give_up")]
    assert buttons.OPERATOR in flat_ids(second[0])
    assert await customer.open_ticket() is None
    # The offered button opens a ticket about the order question.
    replies = await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert ticket.intent == "order_status"
    assert ticket.reason == "not_helped"
    assert f"№ {ticket.id}" in replies[-1].text


async def test_invalid_reply_is_polite(core):
    text = core.kb.texts.get("order_invalid")
    assert "пожалуйста" in text.lower()
    assert "12345678-0001" in text


async def test_unknown_number_gets_not_found(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    replies = await customer.say("99999999-0999")
    assert [r.text for r in replies] == [
        core.kb.texts.format("order_not_found", number="99999999-0999")
    ]
    conv = await customer.conversation()
    assert conv.step == "await_order"
    assert conv.slots.order is None
    # A correct number afterwards is still accepted.
    replies = await customer.say("12345678-0001")
    assert "В пути" in replies[0].text


async def test_two_unknown_numbers_offer_the_operator(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    await customer.say("99999999-0999")
    replies = await customer.say("99999999-0998")
    assert replies[0].text == core.kb.texts.get("order_give_up")
    assert buttons.OPERATOR in flat_ids(replies[0])


async def test_number_remembered_for_later_questions(core):
    customer = Customer(core)
    await customer.say("где мой заказ 12345678-0002")
    replies = await customer.say("хочу отменить заказ пока его не отправили")
    assert len(replies) == 1
    text = replies[0].text
    assert "12345678-0002" in text
    # What applies to this order ("Оформлен"), not the general instructions.
    assert core.kb.answer("order_cancel").text not in text
    assert core.kb.texts.get("order_advice.cancel.possible_self") in text
    assert "act:go:cancel:12345678-0002" in flat_ids(replies[0])
    replies = await customer.say("можно перенести доставку на субботу")
    assert "12345678-0002" in replies[0].text
    assert core.kb.answer("delivery_change").text not in replies[0].text
    assert core.kb.texts.get("order_advice.delivery_change.possible_self") in replies[0].text
    assert {"act:go:change_date:12345678-0002", "act:go:change_pickup_point:12345678-0002"} <= set(
        flat_ids(replies[0])
    )


async def test_other_question_while_waiting_for_number(core):
    customer = Customer(core)
    await customer.say("где мой заказ")
    replies = await customer.say("какой номер горячей линии поддержки")
    assert replies[0].text == core.kb.answer("contacts").text
    assert (await customer.conversation()).step == "idle"


async def test_vip_order_makes_the_customer_vip(core):
    customer = Customer(core)
    await customer.say("где заказ 1234567890-0042")
    assert (await customer.conversation()).vip is True
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket.vip and ticket.priority >= 100
    assert ticket.order_number == "1234567890-0042"


# ---------------------------------------------------------------------------- demo file
async def test_demo_file_service():
    service = DemoOrderService.from_file(DEMO, clock=ManualClock(WORK_TIME))
    order = await service.get("1234567890-0042")
    assert order.vip is True
    assert order.delivery_date == "2025-12-28"  # "today-4"
    assert order.storage_until == "2026-01-04"  # "today+3"
    assert order.state == "at_pickup_point"
    assert order.actions == {"extend_storage"}
    assert order.pickup_point.startswith("ПВЗ Санкт-Петербург")
    shipment = await service.get("12345678-0003-2")
    assert shipment.status.startswith("В пути")
    with pytest.raises(OrderNotFound):
        await service.get("00000000-0000")
    await service.close()


async def test_missing_demo_file_is_empty(tmp_path):
    service = DemoOrderService.from_file(tmp_path / "missing.yaml")
    assert service.orders == {}
    with pytest.raises(OrderNotFound):
        await service.get("12345678-0001")


def test_make_order_service_picks_the_implementation():
    assert isinstance(make_order_service(None, DEMO), DemoOrderService)
    assert isinstance(make_order_service("http://127.0.0.1:1", DEMO), HttpOrderService)


@pytest.mark.parametrize("action", act.ACTIONS)
@pytest.mark.parametrize("state", sorted(STATES))
async def test_the_demo_says_why_it_refuses_from_its_file(action, state):
    """Every refusal the demo shop can give is a text of its file, filled in."""
    number = "12345678-0001"
    service = DemoOrderService(
        raw=[{"number": number, "status": "x", "state": state, "actions": [], "return_days": 1}]
    )
    result = await service.act(number, action, {}, "key")
    assert result.outcome == act.REFUSED
    reasons = {
        service.phrases.format(key, days="1 день")
        for key in service.phrases.keys()
        if key.startswith("refused.")
    }
    assert result.reason in reasons and "{" not in result.reason
    unknown = await service.act(number, "teleport", {}, "key2")
    assert unknown.reason == service.phrases.get("refused.no_such_action")


async def test_a_demo_file_may_word_its_shop_itself(tmp_path):
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    raw["texts"]["status"]["cancelled"] = "Отменён по вашей просьбе"
    own = tmp_path / "demo.yaml"
    own.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    service = DemoOrderService.from_file(own, clock=ManualClock(WORK_TIME))
    done = await service.act("12345678-0002", act.CANCEL, {}, "k")
    assert done.order is not None and done.order.status == "Отменён по вашей просьбе"
    raw["texts"]["refused"].pop("shipped")
    own.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"missing text 'refused\.shipped'"):
        DemoOrderService.from_file(own)


# ---------------------------------------------------------------------------- status words
@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Доставлен: вручён курьером", "delivered"),
        ("В пути: прибыл в сортировочный центр", "in_transit"),
        ("Возврат оформлен: товар принят, деньги возвращаются", "returned"),
        ("Возврат оформлен", "return_requested"),
        ("Ожидает оплаты", "awaiting_payment"),
        ("Прибыл в пункт выдачи", "at_pickup_point"),
        ("Задерживается", "delayed"),
        ("ОТМЕНЁН", "cancelled"),
        ("что-то новое", "unknown"),
    ],
)
def test_the_state_is_read_from_the_status_words(status, state):
    assert Order.from_json({"number": "1", "status": status}).state == state


def test_a_shop_words_its_statuses_in_its_knowledge_folder(tmp_path):
    (tmp_path / "order_states.yaml").write_text(
        'rules:\n  - [at_pickup_point, "ждёт вас|ждет вас"]\n', encoding="utf-8"
    )
    words = StatusWords.in_folder(tmp_path)
    assert Order.from_json({"number": "1", "status": "Ждёт вас"}, words).state == (
        "at_pickup_point"
    )
    assert Order.from_json({"number": "1", "status": "В пути"}, words).state == "unknown"
    assert StatusWords.in_folder(tmp_path / "none") is StatusWords.in_folder(None)
    (tmp_path / "order_states.yaml").write_text("rules:\n  - [teleported, x]\n")
    with pytest.raises(KnowledgeError, match="unknown state 'teleported'"):
        StatusWords.in_folder(tmp_path)
    service = make_order_service(None, DEMO, knowledge_dir=REPO / "config" / "knowledge")
    assert isinstance(service, DemoOrderService)


# ---------------------------------------------------------------------------- HTTP API
class ShopApi:
    """A shop order API with one number per behaviour."""

    OK = "11111111-0001"
    MISSING = "22222222-0002"
    BROKEN = "33333333-0003"
    SLOW = "44444444-0004"
    NOT_JSON = "55555555-0005"
    NO_STATUS = "66666666-0006"
    NOT_OBJECT = "77777777-0007"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        number = request.match_info["number"]
        self.requests.append((number, request.headers.get("Authorization")))
        if number == self.OK:
            body = {
                "number": number,
                "status": "Передан курьеру",
                "delivery_date": "2026-03-05",
                "pickup_point": None,
            }
            return web.json_response(body)
        if number == self.MISSING:
            return web.json_response({"error": "not found"}, status=404)
        if number == self.BROKEN:
            return web.Response(status=500, text="Internal Server Error")
        if number == self.SLOW:
            try:
                await asyncio.wait_for(self.release.wait(), 5)
            except TimeoutError:
                pass
            return web.json_response({"number": number, "status": "поздно"})
        if number == self.NOT_JSON:
            return web.Response(text="<html>oops", content_type="text/html")
        if number == self.NO_STATUS:
            return web.json_response({"number": number})
        if number == self.NOT_OBJECT:
            return web.json_response([1, 2, 3])
        return web.json_response({"error": "unknown"}, status=404)


@pytest.fixture
async def shop() -> AsyncIterator[tuple[ShopApi, str]]:
    api = ShopApi()
    app = web.Application()
    app.router.add_get("/api/orders/{number}", api.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield api, str(server.make_url("/api"))
    finally:
        api.release.set()
        await server.close()


@pytest.fixture
async def api_core(shop, make_core, settings_with):
    api, url = shop
    settings = settings_with(
        orders_api_url=url + "/",
        orders_api_timeout=0.5,
        orders_api_token="s3cret",
    )
    return api, await make_core(settings=settings)


async def test_http_service_direct(shop):
    api, url = shop
    service = HttpOrderService(url, timeout=0.5, token="tok")
    try:
        order = await service.get(ShopApi.OK)
        assert order.status == "Передан курьеру"
        assert order.delivery_date == "2026-03-05"
        assert order.pickup_point is None
        with pytest.raises(OrderNotFound):
            await service.get(ShopApi.MISSING)
        for number in (
            ShopApi.BROKEN,
            ShopApi.SLOW,
            ShopApi.NOT_JSON,
            ShopApi.NO_STATUS,
            ShopApi.NOT_OBJECT,
        ):
            with pytest.raises(OrderServiceUnavailable):
                await service.get(number)
    finally:
        await service.close()
    assert api.requests[0] == (ShopApi.OK, "Bearer tok")


async def test_http_service_unreachable():
    service = HttpOrderService("http://127.0.0.1:9", timeout=0.5)
    try:
        with pytest.raises(OrderServiceUnavailable):
            await service.get("12345678-0001")
    finally:
        await service.close()


async def test_http_order_found_through_the_engine(api_core):
    api, core = api_core
    customer = Customer(core)
    await customer.say("подскажите когда приедет моя посылка")
    replies = await customer.say(ShopApi.OK)
    assert "Передан курьеру" in replies[0].text
    assert "5 марта 2026" in replies[0].text
    assert api.requests == [(ShopApi.OK, "Bearer s3cret")]


async def test_http_404_is_not_found(api_core):
    _, core = api_core
    customer = Customer(core)
    replies = await customer.say(f"где мой заказ {ShopApi.MISSING}")
    assert [r.text for r in replies] == [
        core.kb.texts.format("order_not_found", number=ShopApi.MISSING)
    ]


@pytest.mark.parametrize(
    "number", [ShopApi.BROKEN, ShopApi.SLOW, ShopApi.NOT_JSON, ShopApi.NO_STATUS]
)
async def test_order_service_down_apologises_and_offers_operator(api_core, number):
    _, core = api_core
    customer = Customer(core)
    await customer.say("подскажите когда приедет моя посылка")
    replies = await customer.say(number)
    assert len(replies) == 1
    assert replies[0].text == core.kb.texts.format("order_service_down", number=number)
    assert replies[0].text.startswith("Приносим извинения")
    assert buttons.OPERATOR in flat_ids(replies[0])
    assert (await customer.conversation()).step == "idle"
    assert await customer.open_ticket() is None
    # The customer can take the offer.
    await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.order_number == number


def test_demo_file_is_valid_yaml_of_orders():
    raw = yaml.safe_load(Path(DEMO).read_text(encoding="utf-8"))
    for item in raw["orders"]:
        assert find_order_number(item["number"]) == item["number"]
    assert json.dumps(raw)  # plain data only


async def test_a_question_with_a_broken_number_says_what_is_wrong(core):
    customer = Customer(core, user_id="typo")
    replies = await customer.say("где заказ 1234567-001")
    assert replies[0].text == core.kb.texts.get("order_invalid")
    # One more wrong try and the operator is offered.
    replies = await customer.say("1234-5678")
    assert buttons.OPERATOR in flat_ids(replies[-1])


async def test_waiting_for_the_number_without_one_is_a_hint_not_a_new_topic(core):
    customer = Customer(core, user_id="forgetful")
    await customer.say("когда придет посылка")
    replies = await customer.say("не помню номер")
    assert replies[0].text == core.kb.texts.get("order_waiting")
    assert buttons.OPERATOR in flat_ids(replies[0])
    # The pending question is kept: the number, when it comes, answers it.
    replies = await customer.say("вот он 12345678-0001")
    assert "Заказ 12345678-0001" in replies[0].text
    # A clear new question while waiting is answered as such.
    other = Customer(core, user_id="changes-mind")
    await other.say("где мой заказ")
    assert (await other.conversation()).step == "await_order"
    replies = await other.say("курьер нахамил мне по телефону")
    assert replies[0].text == core.kb.texts.get("complaint.apology.courier_complaint")
