"""Blocking as an operator action (issue 17), through the desk and the engine, on SQLite and
PostgreSQL: one unit of work (claimed, one transaction, logged); the customer is told
once, their case closes, nothing they write afterwards is answered or posted but all is
stored and marked; /unban restores; a block covers every conversation an operator linked;
an outsider changes nothing; /spam teaches the known_spam rule."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from conftest import Customer, all_text, bot_answers_delivered, db_rows, outbox_items

from core.abuse.blocking import Blocking
from core.abuse.report import bans_table
from core.desk.operators import OperatorError
from core.desk.roles import OPERATOR, OUTSIDER, Operator
from core.storage import DuplicateUpdate
from core.types import OPERATORS, TELEGRAM, VK
from tests.case_helpers import run_cli

OLGA = Operator("op-olga", "Ольга", role=OPERATOR)
STRANGER = Operator("777", "Прохожий", role=OUTSIDER)


async def opened(core, user_id="3001", channel=TELEGRAM):
    customer = Customer(core, user_id=user_id, channel=channel)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket is not None
    await bot_answers_delivered(core)
    return customer, ticket


def blocking(core) -> Blocking:
    return Blocking(core.desk, core.kb.texts)


async def operators_items(core, since_id=0):
    return [o for o in await outbox_items(core) if o["channel"] == OPERATORS and o["id"] > since_id]


async def test_ban_closes_the_case_tells_once_and_keeps_everything(core, settings, caplog):
    customer, ticket = await opened(core)
    caplog.set_level(logging.INFO, logger="core.abuse.blocking")
    await blocking(core).ban(ticket.id, OLGA, "оскорбления", external_id="tg:-100:1")
    closed = await core.storage.tickets.get(ticket.id)
    assert not closed.is_open and closed.closed_by == "Ольга"
    told = [o for o in await outbox_items(core) if o["channel"] == TELEGRAM]
    assert (
        len(told) == 1 and "больше не принимает" in json.loads(told[0]["payload"])["reply"]["text"]
    )
    notices = await operators_items(core)
    assert [json.loads(o["payload"]).get("event") for o in notices][-1] == "blocked"
    assert "blocked by Ольга (оскорбления)" in caplog.text
    last_id = max(o["id"] for o in await outbox_items(core))
    # From now on: stored and marked, nothing answered, nothing for the operators.
    for text in ("ну и что", "позовите оператора", "/start"):
        assert await customer.say(text) == []
    await customer.press("menu")
    assert [o for o in await outbox_items(core) if o["id"] > last_id] == []
    assert await customer.open_ticket() is None
    said = [m.text for m in await customer.log() if m.direction == "in"]
    assert said[-4:-1] == ["ну и что", "позовите оператора", "/start"]
    marked = db_rows(settings, "SELECT kind FROM message_marks")
    assert [m["kind"] for m in marked] == ["blocked"] * 4
    events = db_rows(settings, "SELECT kind, detail FROM ticket_events")
    assert {"kind": "blocked", "detail": "оскорбления"} in events


async def test_ban_is_claimed_once(core):
    _, ticket = await opened(core)
    await blocking(core).ban(ticket.id, OLGA, "", external_id="tg:-100:7")
    with pytest.raises(DuplicateUpdate):
        await blocking(core).ban(ticket.id, OLGA, "", external_id="tg:-100:7")


async def test_unban_restores(core):
    customer, ticket = await opened(core)
    await blocking(core).ban(ticket.id, OLGA)
    assert await customer.say("алло") == []
    with pytest.raises(OperatorError, match="уже заблокирован"):
        await blocking(core).ban(ticket.id, OLGA)
    await blocking(core).unban(ticket.id, OLGA)
    assert await customer.say("как оплатить заказ?")  # answered again
    await customer.say("позовите оператора")
    assert await customer.open_ticket() is not None
    with pytest.raises(OperatorError, match="не заблокирован"):
        await blocking(core).unban(ticket.id, OLGA)


async def test_an_outsider_changes_nothing(core):
    customer, ticket = await opened(core)
    with pytest.raises(OperatorError):
        await blocking(core).ban(ticket.id, STRANGER, "просто так")
    assert (await core.storage.tickets.get(ticket.id)).is_open
    assert await core.storage.abuse.ban_of(ticket.conversation_id) is None
    assert await customer.say("где оператор?")


async def test_a_block_covers_the_customers_linked_conversations(core):
    telegram, first = await opened(core, "3002", TELEGRAM)
    vk, second = await opened(core, "3003", VK)
    await blocking(core).link(first.id, second.id, OLGA)
    await blocking(core).ban(first.id, OLGA, "мошенничество")
    # Both cases closed; both topics hear it; the VK account is told on its next message.
    assert not (await core.storage.tickets.get(second.id)).is_open
    events = [json.loads(o["payload"]).get("event") for o in await operators_items(core)]
    assert events.count("blocked") == 2
    told = all_text(await vk.say("ответьте"))
    assert "больше не принимает" in told
    assert await vk.say("ещё раз") == []
    assert await telegram.say("алло") == []
    await blocking(core).unban(second.id, OLGA)
    assert await telegram.say("как оплатить заказ?")
    assert await vk.say("как оплатить заказ?")


async def test_linking_to_a_blocked_customer_extends_the_block(core):
    _, first = await opened(core, "3004", TELEGRAM)
    await blocking(core).ban(first.id, OLGA, "спам-рассылка")
    vk, second = await opened(core, "3005", VK)
    await blocking(core).link(second.id, first.id, OLGA)
    assert not (await core.storage.tickets.get(second.id)).is_open
    assert "больше не принимает" in all_text(await vk.say("почему закрыли?"))


async def test_spam_closes_blocks_and_teaches_the_rule(core, settings):
    spammer, ticket = await opened(core, "3006")
    text = "Лучшие цены на подписчиков и лайки, пишите в личку прямо сейчас"
    await spammer.say(text)
    await blocking(core).ban(ticket.id, OLGA, spam=True)
    assert await spammer.say("ещё") == []
    # Another account sending the same text is taken for spam: no case for it.
    other = Customer(core, "3007")
    await other.say(text + "!")
    marked = db_rows(settings, "SELECT kind, rule FROM message_marks ORDER BY message_id")
    assert {"kind": "spam", "rule": "known_spam"} in marked
    replies = await other.say("позовите оператора, " + text)
    assert await other.open_ticket() is None
    assert "похоже на рассылку" in all_text(replies)


async def test_supportbot_bans_lists_who_when_and_why(core):
    _, ticket = await opened(core, "3008")
    await blocking(core).ban(ticket.id, OLGA, "угрозы")
    table = await bans_table(core.storage, core.kb.desk, core.settings.timezone)
    lines = table.splitlines()
    assert len(lines) == 2
    assert f"№{ticket.id}" in lines[1] and "telegram:3008" in lines[1]
    assert "Ольга" in lines[1] and "угрозы" in lines[1] and "2026-01-01 12:00" in lines[1]


@pytest.mark.sqlite_only
async def test_the_bans_command(core, settings, tmp_path):
    _, ticket = await opened(core, "3009")
    await blocking(core).ban(ticket.id, OLGA, "угрозы")
    result = await asyncio.to_thread(run_cli, ["bans"], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["обращение", "клиент"]
    assert "telegram:3009" in lines[1] and "Ольга" in lines[1] and "угрозы" in lines[1]


async def test_an_erased_spammer_leaves_no_block_link_limit_or_spam_example(core, settings):
    """Erasure (issue 18) reaches the abuse tables: the block with its reason, links,
    limits and the spam examples taken from the customer's cases are deleted; what a
    message was marked as stays (counts), the message itself emptied."""
    spammer, ticket = await opened(core, "3011")
    other, other_ticket = await opened(core, "3012")
    text = "Раскрутка каналов недорого, пишите в личку, гарантия результата 3011"
    await spammer.say(text)
    await blocking(core).link(ticket.id, other_ticket.id, OLGA)
    await blocking(core).ban(ticket.id, OLGA, reason="рассылка", spam=True)
    assert db_rows(settings, "SELECT text FROM spam_examples")
    conv = db_rows(settings, "SELECT conversation_id FROM tickets WHERE id = ?", (ticket.id,))
    conversation = conv[0]["conversation_id"]

    await core.desk.forget(ticket.id, Operator("op-senior", "Вера"))

    for table in ("customer_bans", "customer_links", "customer_limits"):
        rows = db_rows(
            settings, f"SELECT * FROM {table} WHERE conversation_id = ?", (conversation,)
        )
        assert rows == [], table
    assert db_rows(settings, "SELECT * FROM spam_examples") == []
    marks = db_rows(
        settings, "SELECT kind FROM message_marks WHERE conversation_id = ?", (conversation,)
    )
    assert marks, "what the messages were marked as is kept for the counts"
    everything = json.dumps(
        [db_rows(settings, f"SELECT * FROM {t}") for t in ("customer_bans", "message_marks")],
        ensure_ascii=False,
    )
    assert "3011" not in everything and "Раскрутка" not in everything
    # The other conversation of the same person keeps its own block until erased too.
    assert "больше не принимает сообщения" in all_text(await other.say("ещё раз"))
    assert await other.open_ticket() is None
