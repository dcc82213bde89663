"""Issue 17 for a VK customer, both messengers in one process (fake Bot API + fake VK API
over HTTP, SQLite and PostgreSQL): an operator's /ban in the Telegram topic blocks the VK customer —
one notice in VK, nothing answered or posted afterwards, everything stored — and /unban
restores; a shared community wall post is spam: it opens no case."""

from __future__ import annotations

import asyncio

from test_cross_channel import OPERATOR, OPS, VK_USER, start_both, until, vk_texts

from tests.conftest import db_rows
from tests.desk_helpers import settle
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.vk_api import FakeVKAPI

BLOCKED = "больше не принимает"


async def test_ban_and_unban_a_vk_customer_from_the_telegram_topic(
    tmp_path, classifier, database_url
):
    async with FakeTelegramAPI() as tg, FakeVKAPI() as vk:
        tg.add_chat(OPS, is_forum=True)
        vk.set_user(VK_USER, "Ольга", "Смирнова")
        core, stop, task = await start_both(tmp_path, classifier, tg, vk, database_url=database_url)
        try:
            vk.push_message(VK_USER, "хочу поговорить с оператором")
            await until(lambda: any("№ 1" in t for t in vk_texts(vk)), limit=30)
            await tg.wait_for("sendMessage", lambda p: "Обращение №1" in str(p["text"]))
            thread = next(iter(tg.topics[OPS]))
            tg.group_message(OPS, OPERATOR, "/ban спам в личку", thread_id=thread)
            await until(lambda: any(BLOCKED in t for t in vk_texts(vk)), limit=30)
            await tg.wait_for("sendMessage", lambda p: "заблокировал" in str(p["text"]))
            told = len(vk_texts(vk))
            posted = len(tg.sent_messages(OPS))
            for text in ("ну ответьте", "позовите оператора", "где мой заказ"):
                vk.push_message(VK_USER, text)
            await until(lambda: len(marked(core.settings)) == 3, limit=30)
            await settle(tg, core)
            assert len(vk_texts(vk)) == told  # nothing answered: one notice only
            assert len(tg.sent_messages(OPS)) == posted  # nothing posted
            assert marked(core.settings) == ["ну ответьте", "позовите оператора", "где мой заказ"]
            tg.group_message(OPS, OPERATOR, "/unban", thread_id=thread)
            await tg.wait_for("sendMessage", lambda p: "Блокировка снята" in str(p["text"]))
            vk.push_message(VK_USER, "как оплатить заказ?")
            await until(lambda: len(vk_texts(vk)) > told, limit=30)  # answered again
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def test_a_shared_community_post_opens_no_case(tmp_path, classifier):
    async with FakeTelegramAPI() as tg, FakeVKAPI() as vk:
        tg.add_chat(OPS, is_forum=True)
        vk.set_user(VK_USER, "Ольга", "Смирнова")
        core, stop, task = await start_both(tmp_path, classifier, tg, vk)
        try:
            post = {"type": "wall", "wall": {"id": 7, "from_id": -4242, "owner_id": -4242}}
            vk.push_message(VK_USER, "позовите оператора, тут розыгрыш", attachments=[post])
            await until(lambda: any("похоже на рассылку" in t for t in vk_texts(vk)), limit=30)
            assert "пересланный пост канала" in vk_texts(vk)[-1]
            assert await core.storage.tickets.all() == []
            rows = db_rows(core.settings, "SELECT kind, rule FROM message_marks")
            assert rows == [{"kind": "spam", "rule": "forwarded_channel_post"}]
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


def marked(settings) -> list[str]:
    rows = db_rows(
        settings,
        "SELECT m.text FROM messages m JOIN message_marks k ON k.message_id = m.id "
        "WHERE k.kind = 'blocked' ORDER BY m.id",
    )
    return [str(r["text"]) for r in rows]
