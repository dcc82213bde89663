"""Issue 18 through the real bot and the fake Bot API (and the fake VK API): a Telegram
customer with two cases (one open), messages, a photo, an edit, a rating with a comment
and an order number asks to be forgotten and confirms — the fake saw deleteForumTopic for
their topic and one line in the group, they are told it is done, and no table of the
database holds anything of theirs (another customer's data stays); in a group without
topics the bot's cards and posts are deleted, and one Telegram keeps (older than 48 hours)
is named in the line. The same for a VK customer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from core.privacy.requests import ERASE
from tests.case_helpers import TICKET_NO, card_of, press, raw_text, say, to_chat
from tests.fakes.vk_api import FakeVKAPI
from tests.privacy_helpers import dump, found_in, until
from tests.telegram_harness import OPS, telegram_bot
from tests.vk_helpers import payloads

CUSTOMER, OTHER = 6987654321, 6912345678
OPERATOR, SENIOR = 777, 778


def edited(message: dict[str, Any], text: str) -> dict[str, Any]:
    return {**message, "text": text, "edit_date": int(time.time()) + 1}


async def escalated(fake, user: int, text: str, name: dict[str, str]) -> tuple[int, dict]:
    """The customer asks for an operator; returns the case's number and its card."""
    told = await say(fake, user, text, needle="№", **name)
    match = TICKET_NO.search(told["text"])
    assert match, told["text"]
    ticket = int(match.group(1))
    await fake.wait_for("sendMessage", lambda p: f"Обращение №{ticket}" in raw_text(p))
    card = card_of(fake, ticket)
    [posted] = [
        m for m in fake.sent_messages(OPS) if m.get("text", "").startswith(f"Обращение №{ticket}")
    ][-1:]
    return ticket, {**card, "message_id": posted["message_id"]}


async def history(fake, user: int, tag: str, username: str) -> tuple[list[str], int | None]:
    """Two cases (the first closed and rated with a comment, the second open); returns
    the customer's strings and ids to search for, and their topic (None without topics)."""
    name = {"first_name": f"Злата{tag}", "last_name": f"Неповторимова{tag}", "username": username}
    await say(fake, user, f"здравствуйте, где заказ 12345678-00{tag}?", **name)
    first, card = await escalated(fake, user, f"позовите оператора, уникум{tag}", name)
    thread = card.get("message_thread_id")
    where = {"thread_id": thread} if thread else {"reply_to_message_id": card["message_id"]}
    photo = fake.private_message(user, photo=True, caption=f"фото царапины {tag}", **name)
    file_id = photo["message"]["photo"][-1]["file_id"]
    sent = fake.private_message(user, f"адрес: улица Первая{tag}", **name)
    fake.push_update({"edited_message": edited(sent["message"], f"адрес: улица Вторая{tag}")})
    await fake.wait_for("sendMessage", lambda p: f"улица Вторая{tag}" in raw_text(p))
    answer = f"Злата{tag}, ваш заказ в пути"
    fake.group_message(OPS, OPERATOR, answer, is_forum=thread is not None, **where)
    await fake.wait_for("sendMessage", to_chat(user, answer))
    fake.group_message(OPS, OPERATOR, f"/close {first}", is_forum=thread is not None, **where)
    # The group and the private chat are applied independently: rate once the close is in.
    await fake.wait_for("sendMessage", to_chat(user, f"Обращение № {first} закрыто"))
    await press(fake, user, f"rate:{first}:2", needle="Расскажите")
    await say(fake, user, f"курьер грубил, отзыв{tag}", needle="Спасибо", **name)
    await escalated(fake, user, f"снова нужен оператор, жалоба{tag}", name)
    needles = [
        str(user),
        f"Злата{tag}",
        f"Неповторимова{tag}",
        username,
        f"12345678-00{tag}",
        f"уникум{tag}",
        f"фото царапины {tag}",
        file_id,
        f"улица Первая{tag}",
        f"улица Вторая{tag}",
        f"отзыв{tag}",
        f"жалоба{tag}",
    ]
    return needles, thread


@pytest.mark.parametrize("forum", [True, False])
async def test_forgotten_in_telegram(tmp_path, classifier, database_url, forum):
    """On the SQLite file and on PostgreSQL (`database_url`), in a forum and a plain group."""
    async with telegram_bot(
        tmp_path,
        classifier,
        forum=forum,
        senior_operator_ids=[str(SENIOR)],
        database_url=database_url,
    ) as bot:
        fake, core = bot.fake, bot.core
        settings = core.settings
        mine, thread = await history(fake, CUSTOMER, "71", "zlata_unique71")
        theirs, _ = await history(fake, OTHER, "82", "zlata_unique82")
        assert found_in(dump(settings), mine).keys() == set(mine)
        card = None
        if not forum:  # her first card: older than Telegram's 48 hours for deleting it
            card = next(
                key
                for key, m in fake.messages.items()
                if key[0] == OPS and str(m.get("text", "")).startswith("Обращение №1")
            )
            fake.messages[card]["date"] -= 49 * 3600

        offer = await say(fake, CUSTOMER, "удалите мои данные", needle="Удалить данные?")
        assert "Останутся только обезличенные цифры" in offer["text"]
        done = await press(fake, CUSTOMER, ERASE, needle="ваши данные удалены")
        assert "начнём с чистого листа" in done["text"]
        [line] = await fake.wait_for(
            "sendMessage", lambda p: p["chat_id"] == OPS and "удалены по его запросу" in p["text"]
        )
        [act] = await core.storage.privacy.acts()
        assert (
            f"Данные клиента {act.label} удалены по его запросу (обращения №1, №2)"
            in (line["text"])
        )
        assert "message_thread_id" not in line  # in the group, not in a topic
        if forum:
            deleted = fake.calls("deleteForumTopic")
            assert [(p["chat_id"], p["message_thread_id"]) for p in deleted] == [(OPS, thread)]
            assert thread not in fake.topics[OPS]
        else:
            assert fake.calls("deleteMessage")
            assert "Сообщений не удалось удалить: 1" in line["text"]
        shown = [
            key
            for key, m in fake.messages.items()
            if key[0] == OPS
            and m["from"]["is_bot"]  # the bot's posts (operators' own messages are theirs)
            and ("Злата71" in str(m.get("text")) or "уникум71" in str(m))
        ]
        assert shown == ([] if forum else [card]), [fake.messages[k] for k in shown]

        await until(lambda: not found_in(dump(settings), mine), "nothing of hers left", 60)
        assert found_in(dump(settings), theirs).keys() == set(theirs)


VK_USER = 715158642


async def test_forgotten_through_vk(tmp_path, classifier, database_url):
    """The same for a VK customer (operators in the Telegram group), on both databases: the
    callback button erases, the topic is deleted, they are told in VK, nothing of theirs is
    left."""
    async with FakeVKAPI() as vk:
        vk.set_user(VK_USER, "Всеслава", "Редкостная")
        async with telegram_bot(
            tmp_path,
            classifier,
            vk_group_token=vk.token,
            vk_group_id=vk.group_id,
            vk_api_url=vk.api_url,
            vk_requests_per_second=20,
            database_url=database_url,
        ) as bot:
            fake, core = bot.fake, bot.core
            await vk.wait_for("groups.getLongPollServer", timeout=60)
            vk.push_message(VK_USER, "позовите оператора, секретвк", photo=True)
            await vk_receives(vk, VK_USER, "№ 1")
            await fake.wait_for("sendMessage", lambda p: "Обращение №1" in raw_text(p))
            thread = card_of(fake, 1)["message_thread_id"]
            fake.group_message(OPS, OPERATOR, "Всеслава, проверяю", thread_id=thread)
            await vk_receives(vk, VK_USER, "проверяю")
            mine = [str(VK_USER), "Всеслава", "Редкостная", "секретвк"]
            assert found_in(dump(core.settings), mine).keys() == set(mine)

            vk.push_message(VK_USER, "отзываю согласие на обработку персональных данных")
            offer = await vk_receives(vk, VK_USER, "Удалить данные?")
            assert [p["b"] for p in payloads(offer)] == [ERASE, "privacy:keep"]
            vk.push_event(VK_USER, {"b": ERASE})
            await vk_receives(vk, VK_USER, "ваши данные удалены")
            await fake.wait_for("deleteForumTopic", lambda p: p["message_thread_id"] == thread)
            await fake.wait_for("sendMessage", lambda p: "удалены по его запросу" in raw_text(p))
            [act] = await core.storage.privacy.acts()
            assert act.channel == "vk" and act.removed["files"] == 1
            await until(lambda: not found_in(dump(core.settings), mine), "nothing left", 60)


async def vk_receives(vk: FakeVKAPI, user: int, needle: str, limit: float = 30.0) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = [m for m in vk.sent_messages(user) if needle in str(m.get("message") or "")]
        if found:
            return found[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"the VK customer never got {needle!r}")


VIP_GROUP = -1009000000777
ROUTING = """
groups:
  main: {title: Поддержка}
  vip: {title: VIP-клиенты}
rules:
  - when: {vip: true}
    group: vip
default: main
"""


async def test_every_topic_in_every_group(tmp_path, classifier):
    """A VIP customer's case opened in the VIP group and transferred to the main one: a
    topic in each; both are deleted and each group is told."""
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    async with telegram_bot(
        tmp_path,
        classifier,
        routing_file=routing,
        operator_groups=f"vip:{VIP_GROUP}",
        vip_telegram_ids=str(CUSTOMER),
    ) as bot:
        fake = bot.fake
        fake.add_chat(VIP_GROUP, title="VIP", is_forum=True)
        await say(fake, CUSTOMER, "позовите оператора", first_name="Вита", needle="№")
        [card] = await fake.wait_for(
            "sendMessage", lambda p: p["chat_id"] == VIP_GROUP and "Обращение №1" in raw_text(p)
        )
        vip_thread = card["message_thread_id"]
        fake.group_message(VIP_GROUP, OPERATOR, "/transfer Поддержка", thread_id=vip_thread)
        [moved] = await fake.wait_for(
            "sendMessage", lambda p: p["chat_id"] == OPS and "Обращение №1" in raw_text(p)
        )
        main_thread = moved["message_thread_id"]

        await say(fake, CUSTOMER, "забудьте меня", first_name="Вита", needle="Удалить данные?")
        await press(fake, CUSTOMER, ERASE, needle="ваши данные удалены")
        deleted = await fake.wait_for("deleteForumTopic", count=2)
        assert sorted((p["chat_id"], p["message_thread_id"]) for p in deleted) == sorted(
            [(VIP_GROUP, vip_thread), (OPS, main_thread)]
        )
        lines = await fake.wait_for(
            "sendMessage", lambda p: "удалены по его запросу" in raw_text(p), count=2
        )
        assert sorted(p["chat_id"] for p in lines) == sorted([OPS, VIP_GROUP])
