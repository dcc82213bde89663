"""A VK customer's case from start to end, with operators in the Telegram group: VIP from
VIP_VK_IDS, a compensation code, /close, a low rating from a VK callback button and the
comment after it, and the KPIs. Both fake APIs over HTTP in one process, real SQLite."""

from __future__ import annotations

import asyncio

import yaml

from core.clock import ManualClock
from core.desk.escalation import PRIORITY_VIP
from core.reports import kpi
from tests.case_helpers import card_of, drain, in_topic, msk, operator_says, to_chat
from tests.conftest import WORK_TIME
from tests.fakes.vk_api import FakeVKAPI
from tests.telegram_harness import OPS, telegram_bot
from tests.vk_helpers import payloads

VK_USER = 5150


def vk_texts(vk: FakeVKAPI) -> list[str]:
    return [str(m.get("message") or "") for m in vk.sent_messages(VK_USER)]


async def vk_receives(vk: FakeVKAPI, needle: str, limit: float = 20.0) -> dict:
    for _ in range(int(limit / 0.02)):
        found = [m for m in vk.sent_messages(VK_USER) if needle in str(m.get("message") or "")]
        if found:
            return found[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the VK customer never got {needle!r}: {vk_texts(vk)}")


async def test_a_vip_vk_customer_case_from_start_to_rating(tmp_path, classifier):
    pool = tmp_path / "codes.yaml"
    pool.write_text(yaml.safe_dump({"codes": ["VK-SORRY-1", "VK-SORRY-2"]}), encoding="utf-8")
    clock = ManualClock(WORK_TIME)
    async with FakeVKAPI() as vk:
        vk.set_user(VK_USER, "Ольга", "Смирнова")
        async with telegram_bot(
            tmp_path,
            classifier,
            clock=clock,
            vk_group_token=vk.token,
            vk_group_id=vk.group_id,
            vk_api_url=vk.api_url,
            vk_requests_per_second=20,
            vip_vk_ids=str(VK_USER),
            compensation_codes_file=pool,
            senior_operator_ids=["777"],  # /compensate: senior operators only
        ) as bot:
            fake, core = bot.fake, bot.core
            await vk.wait_for("groups.getLongPollServer", timeout=60)

            vk.push_message(VK_USER, "позовите оператора")
            told = await vk_receives(vk, "№ 1")
            assert "персональному менеджеру" in told["message"]
            ticket = await core.storage.tickets.get(1)
            assert ticket.channel == "vk" and ticket.vip and ticket.priority >= PRIORITY_VIP
            await fake.wait_for("sendMessage", lambda p: "Обращение №1</b>" in str(p["text"]))
            card = card_of(fake, 1)
            assert "⭐ <b>VIP</b>" in card["text"] and "Канал: VK" in card["text"]
            thread = card["message_thread_id"]

            clock.advance(120)
            fake.group_message(OPS, 777, "Ольга, здравствуйте! Разбираюсь.", thread_id=thread)
            await vk_receives(vk, "Разбираюсь")
            answer = await operator_says(fake, thread, "/compensate")
            assert answer["text"].startswith("Промокод VK-SORRY-1 отправлен клиенту.")
            assert "Промокоды заканчиваются" in answer["text"]  # 1 left, threshold 3
            got = await vk_receives(vk, "VK-SORRY-1")
            assert got["message"] == core.kb.texts.format("compensation", code="VK-SORRY-1").strip()

            clock.advance(600)
            fake.group_message(OPS, 777, "/close", thread_id=thread)
            rating = await vk_receives(vk, "оцените")
            ids = [p["b"] for p in payloads(rating)]
            assert ids == [f"rate:1:{n}" for n in range(1, 6)]

            vk.push_event(VK_USER, {"b": "rate:1:1"})
            await fake.wait_for("sendMessage", in_topic(thread, "на 1 из 5"))
            await vk_receives(vk, "простите")
            vk.push_message(VK_USER, "промокод не нужен, нужен был заказ вовремя")
            await fake.wait_for("sendMessage", in_topic(thread, "Комментарий к оценке: промокод"))
            await drain(core)
            rated = await core.storage.tickets.get(1)
            assert rated.rating == 1
            assert rated.rating_comment == "промокод не нужен, нужен был заказ вовремя"
            assert not [p for p in fake.calls("sendMessage") if to_chat(VK_USER)(p)]

            report = await kpi.compute(core.storage, msk(2026, 1, 1), msk(2026, 1, 2), clock.now())
            assert report.vip.tickets == 1 and report.per_channel["vk"].tickets == 1
            assert report.vip.first_response_median == 120
            assert report.vip.resolution_median == 720
            assert report.vip.csat_distribution[1] == 1
