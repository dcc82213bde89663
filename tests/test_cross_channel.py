"""Both messengers in one process (`bots.main.serve`): a VK customer's case is answered by
operators in the Telegram group, and their replies, photos and the rating request reach
the customer in VK. Fake Bot API + fake VK API over HTTP, real SQLite."""

from __future__ import annotations

import asyncio
import json

from bots.main import serve
from core.app import build_core
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.vk_api import FakeVKAPI

OPS = -1002000000001
OPERATOR = 901
VK_USER = 5150


async def start_both(tmp_path, classifier, tg: FakeTelegramAPI, vk: FakeVKAPI, **overrides):
    settings = make_settings(
        tmp_path,
        telegram_bot_token=tg.token,
        telegram_api_url=tg.base_url,
        operators_chat_id=OPS,
        vk_group_token=vk.token,
        vk_group_id=vk.group_id,
        vk_api_url=vk.api_url,
        vk_requests_per_second=20,
        **overrides,
    )
    core = await build_core(settings, classifier=classifier)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, core))
    await tg.wait_for("getUpdates", timeout=60)
    await vk.wait_for("groups.getLongPollServer", timeout=60)
    return core, stop, task


def vk_texts(vk: FakeVKAPI) -> list[str]:
    return [str(m.get("message") or m.get("text") or "") for m in vk.sent_messages(VK_USER)]


async def until(check, limit: float = 8.0) -> None:
    for _ in range(int(limit / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_vk_customer_answered_from_the_telegram_topic(tmp_path, classifier):
    async with FakeTelegramAPI() as tg, FakeVKAPI() as vk:
        tg.add_chat(OPS, is_forum=True)
        vk.set_user(VK_USER, "Ольга", "Смирнова")
        core, stop, task = await start_both(tmp_path, classifier, tg, vk)
        try:
            vk.push_message(VK_USER, "хочу поговорить с оператором")
            await until(lambda: any("№ 1" in t for t in vk_texts(vk)))

            [topic] = await tg.wait_for("createForumTopic")
            assert "Ольга Смирнова" in topic["name"] and "VK" in topic["name"]
            [card] = await tg.wait_for(
                "sendMessage", lambda p: p["chat_id"] == OPS and "Обращение №1" in str(p["text"])
            )
            assert "https://vk.com/id5150" in card["text"]
            thread = next(iter(tg.topics[OPS]))

            # A photo from the VK customer reaches the topic as a photo.
            vk.push_message(VK_USER, "вот фото чека", photo=True)
            [photo] = await tg.wait_for("sendPhoto", lambda p: p["chat_id"] == OPS)
            assert photo["message_thread_id"] == thread and isinstance(photo["photo"], bytes)

            # The operator answers in Telegram: the VK customer receives it, once.
            tg.group_message(OPS, OPERATOR, "Ольга, добрый день! Уже смотрю.", thread_id=thread)
            await until(lambda: "Ольга, добрый день! Уже смотрю." in vk_texts(vk))
            sends = [
                m
                for m in vk.sent_messages(VK_USER)
                if "Уже смотрю" in str(m.get("message") or m.get("text"))
            ]
            assert len(sends) == 1 and int(sends[0]["random_id"]) != 0
            await tg.wait_for("setMessageReaction")  # delivered: the operator sees 👍

            # An operator's photo goes through VK's upload chain.
            tg.group_message(OPS, OPERATOR, photo=True, caption="Так должно быть", thread_id=thread)
            await until(lambda: bool(vk.uploads))
            await until(
                lambda: any(
                    "photo" in str(m.get("attachment", "")) for m in vk.sent_messages(VK_USER)
                )
            )

            # Close in Telegram → the rating keyboard in VK → a press stores the rating.
            tg.group_message(OPS, OPERATOR, "/close", thread_id=thread)
            await until(lambda: any("оцените" in t for t in vk_texts(vk)))
            rating = next(
                m
                for m in vk.sent_messages(VK_USER)
                if "оцените" in str(m.get("message") or m.get("text"))
            )
            keyboard = rating["keyboard"]
            payloads = [
                json.loads(b["action"]["payload"])
                if isinstance(b["action"]["payload"], str)
                else b["action"]["payload"]
                for row in keyboard["buttons"]
                for b in row
            ]
            assert {"b": "rate:1:5"} in payloads
            vk.push_event(VK_USER, {"b": "rate:1:5"})
            await vk.wait_for("messages.sendMessageEventAnswer")
            await until(lambda: any("Спасибо за оценку" in t for t in vk_texts(vk)))
            assert (await core.storage.tickets.get(1)).rating == 5
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
