"""VIP customers (article §8): priority in the queue, a personal manager, VIP from the
settings, from an operator's /vip and from a VIP order; KPIs count VIP tickets apart."""

from __future__ import annotations

import pytest

from core.clock import ManualClock
from core.desk.escalation import PRIORITY_VIP
from core.desk.roles import Operator
from core.reports import kpi
from core.types import TELEGRAM, VK
from tests.case_helpers import (
    card_of,
    drain,
    escalate,
    in_topic,
    msk,
    operator_says,
    say,
    to_chat,
)
from tests.conftest import WORK_TIME, Customer
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

ORDINARY = 555002
VIP = 555009
MANAGER = 778


async def test_vip_from_settings_jumps_the_queue_and_gets_a_manager(tmp_path, classifier):
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=clock,
        vip_telegram_ids=f"{VIP},123",
        senior_operator_ids=["777", str(MANAGER)],  # /vip, /manager: senior operators only
    ) as bot:
        fake, core = bot.fake, bot.core
        texts = core.kb.texts
        first, _, _ = await escalate(fake, CUSTOMER, first_name="Анна")
        clock.advance(60)
        second, second_thread, _ = await escalate(fake, ORDINARY, first_name="Борис")
        clock.advance(60)
        vip, vip_thread, told = await escalate(fake, VIP, first_name="Виктория")

        ticket = await core.storage.tickets.get(vip)
        assert ticket.vip is True and ticket.priority >= PRIORITY_VIP
        assert (await core.storage.tickets.get(first)).priority == 0
        # The customer is told a personal manager answers, out of turn.
        assert texts.format("escalated_vip", ticket=vip, position=1, wait="около 10 мин") in told
        assert "персональному менеджеру" in told
        # The card and the topic say VIP.
        card = card_of(fake, vip)["text"]
        assert card.startswith(f"<b>Обращение №{vip}</b> · ⭐ <b>VIP</b>")
        topics = [p["name"] for p in fake.calls("createForumTopic")]
        assert topics[-1].startswith(f"⭐ №{vip} · Виктория · Telegram")
        assert not topics[0].startswith("⭐")
        assert "VIP" not in card_of(fake, first)["text"]
        # Head of the queue, in the core and in /queue.
        assert [t.id for t in await core.desk.queue()] == [vip, first, second]
        listing = await operator_says(fake, vip_thread, "/queue")
        lines = listing["text"].splitlines()
        assert lines[0] == "<b>Ждут ответа: 3</b>"
        assert lines[1].startswith(f"1. №{vip} · ⭐ VIP · Telegram")
        assert lines[2].startswith(f"2. №{first} · Telegram")

        # /vip in an ordinary customer's topic: VIP from now on, the open ticket moves up.
        answer = await operator_says(fake, second_thread, "/vip")
        assert "отмечен как VIP" in answer["text"]
        marked = await core.storage.tickets.get(second)
        assert marked.vip is True and marked.priority == PRIORITY_VIP
        assert [t.id for t in await core.desk.queue()] == [second, vip, first]
        conv = await core.storage.conversations.get(marked.conversation_id)
        assert conv.vip is True
        notes = [
            m.text for m in await core.storage.messages.for_ticket(second) if m.direction == "note"
        ]
        assert notes == ["Оператор: клиент отмечен как VIP"]
        # A second /vip does not add the priority twice.
        await operator_says(fake, second_thread, "/vip")
        assert (await core.storage.tickets.get(second)).priority == PRIORITY_VIP

        # /manager: this operator is mentioned on the customer's next ticket.
        fake.group_message(OPS, MANAGER, "/manager", thread_id=second_thread, first_name="Ирина")
        await fake.wait_for("sendMessage", in_topic(second_thread, "персональный менеджер"))
        conv = await core.storage.conversations.get(marked.conversation_id)
        assert conv.manager == f"{MANAGER}|Ирина"
        fake.group_message(OPS, MANAGER, "/close", thread_id=second_thread, first_name="Ирина")
        await fake.wait_for("sendMessage", to_chat(ORDINARY, "оцените"))
        clock.advance(3600)
        again, again_thread, told = await escalate(fake, ORDINARY, "оператор", first_name="Борис")
        assert again != second and again_thread == second_thread  # the same topic, reopened
        assert "персональному менеджеру" in told
        renewed = await core.storage.tickets.get(again)
        assert renewed.vip is True and renewed.priority >= PRIORITY_VIP
        card = card_of(fake, again)["text"]
        assert f'Персональный менеджер: <a href="tg://user?id={MANAGER}">Ирина</a>' in card
        assert "⭐ <b>VIP</b>" in card
        # Other customers' cards name no manager.
        assert "Персональный менеджер" not in card_of(fake, vip)["text"]


@pytest.mark.parametrize("number", ["1234567890-0042", "31415926-0009-1"])
async def test_a_vip_order_makes_the_customer_vip(tmp_path, classifier, number):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        # An ordinary customer waits already.
        waiting, _, _ = await escalate(fake, ORDINARY, first_name="Борис")
        status = await say(fake, CUSTOMER, f"где мой заказ {number}", needle="Статус")
        assert f"Заказ {number}" in status["text"]
        ticket_id, _, told = await escalate(fake, CUSTOMER, "позовите оператора")
        assert "персональному менеджеру" in told
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.vip is True and ticket.priority >= PRIORITY_VIP
        assert [t.id for t in await core.desk.queue()] == [ticket_id, waiting]
        assert "⭐ <b>VIP</b>" in card_of(fake, ticket_id)["text"]


async def test_an_ordinary_order_does_not(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        await say(fake, CUSTOMER, "где мой заказ 12345678-0001", needle="Статус")
        ticket_id, _, told = await escalate(fake, CUSTOMER, "позовите оператора")
        assert "персональному менеджеру" not in told
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.vip is False and ticket.priority == 0
        await drain(core)
        assert "VIP" not in card_of(fake, ticket_id)["text"]


@pytest.fixture
def settings_overrides():
    return {"vip_vk_ids": "3001"}


async def test_vip_vk_customer_and_kpis_apart(core, clock):
    """A VK id listed in VIP_VK_IDS; KPIs give the VIP tickets their own block."""
    op = Operator("777", "Оператор")
    vip = Customer(core, "3001", VK, "Вера")
    plain = Customer(core, "3002", VK, "Глеб")
    tg = Customer(core, "3001", TELEGRAM, "Тёзка")  # the same id in another channel
    await plain.say("позовите оператора")
    clock.advance(60)
    replies = await vip.say("позовите оператора")
    assert "персональному менеджеру" in replies[-1].text
    clock.advance(60)
    await tg.say("позовите оператора")
    tickets = {t.user_id + ":" + t.channel: t for t in await core.storage.tickets.all()}
    assert tickets["3001:vk"].vip is True and tickets["3001:vk"].priority == PRIORITY_VIP
    assert tickets["3002:vk"].vip is False
    assert tickets["3001:telegram"].vip is False
    # Answers after 2 min (VIP) and 30 min (the other two).
    clock.advance(60)
    await core.desk.reply(tickets["3001:vk"].id, op, "Здравствуйте!")
    clock.advance(28 * 60)
    await core.desk.reply(tickets["3002:vk"].id, op, "Здравствуйте!")
    await core.desk.reply(tickets["3001:telegram"].id, op, "Здравствуйте!")
    report = await kpi.compute(core.storage, msk(2026, 1, 1), msk(2026, 1, 2), clock.now())
    assert report.vip.tickets == 1 and report.vip.answered == 1
    assert report.vip.first_response_median == pytest.approx(120)
    assert report.overall.tickets == 3
    # Created at +0 (plain), +60 (VIP), +120 (telegram); answered at +180 (VIP) and
    # +1860 (both others): waits 120, 1860 and 1740 s.
    assert report.overall.first_response_median == pytest.approx(1740)
    assert report.overall.first_response_avg == pytest.approx((120 + 1860 + 1740) / 3)
