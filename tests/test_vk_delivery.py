"""Outbox delivery to VK: retries, deduplication by random_id, permanent failures."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from vkbottle import VKAPIError

from core.storage import OutboxItem
from core.storage.outbox import DEAD, SENT
from core.types import Attachment, Reply

try:
    from tests.fakes.vk_api import SAMPLE_PHOTO
    from tests.vk_helpers import (
        OPERATOR,
        VKEnv,
        eventually,
        until,
        vk_classifier,
        vk_env,
    )
except ImportError:  # plain `pytest` without the repo root on sys.path
    from fakes.vk_api import SAMPLE_PHOTO  # type: ignore[no-redef]
    from vk_helpers import (  # type: ignore[no-redef]
        OPERATOR,
        VKEnv,
        eventually,
        until,
        vk_classifier,  # noqa: F401
        vk_env,  # noqa: F401
    )


async def outbox_rows(env: VKEnv, status: str | None = None) -> list[OutboxItem]:
    """Operators' replies to VK customers in the outbox (not the bot's own answers)."""
    rows = await env.core.storage.db.fetchall("SELECT * FROM outbox WHERE channel = 'vk'")
    items = [OutboxItem.from_row(r) for r in rows if status is None or r["status"] == status]
    return [item for item in items if item.payload.get("from") != "bot"]


async def test_rate_limited_send_arrives_once(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    ticket = await vk_env.open_ticket(504)
    before = len(vk_env.sent(504))
    fake.fail_next("messages.send", code=6)
    await vk_env.core.desk.reply(ticket.id, OPERATOR, "Ответ после лимита")
    sent = await vk_env.wait_sent(504, before + 1)
    assert [m["message"] for m in sent[before:]] == ["Ответ после лимита"]
    failed, ok = fake.calls("messages.send")[-2:]
    assert failed["random_id"] == ok["random_id"] != "0"  # the retry reuses the random_id

    async def all_sent() -> bool:
        return len(await outbox_rows(vk_env, SENT)) == 1

    await eventually(all_sent, what="the outbox row marked sent")


async def test_error_between_parts_resends_without_duplicates(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    ticket = await vk_env.open_ticket(514)
    before = len(vk_env.sent(514))
    original = fake._handlers["messages.send"]
    calls = {"n": 0}

    def first_part_then_limit(params: dict[str, str]) -> Any:
        result = original(params)
        calls["n"] += 1
        if calls["n"] == 1:
            fake.fail_next("messages.send", code=6)  # hits the second part
        return result

    fake._handlers["messages.send"] = first_part_then_limit
    text = ("Первая часть ответа. " * 140).strip() + "\n\n" + ("Вторая часть. " * 150).strip()
    await vk_env.core.desk.reply(ticket.id, OPERATOR, text)
    sent = await vk_env.wait_sent(514, before + 2)
    await vk_env.settle()
    parts = sent[before:]
    assert len(parts) == 2
    assert parts[0]["message"].startswith("Первая") and parts[1]["message"].startswith("Вторая")
    # part 1 was sent again after the error, with the same random_id: VK dropped the copy
    first_ids = [c["random_id"] for c in fake.calls("messages.send") if c["peer_id"] == "514"]
    assert first_ids.count(str(parts[0]["random_id"])) == 2


async def test_same_outbox_row_sent_twice_is_one_message(vk_env: VKEnv) -> None:
    ticket = await vk_env.open_ticket(515)
    before = len(vk_env.sent(515))
    await vk_env.core.desk.reply(ticket.id, OPERATOR, "Один раз")
    await vk_env.wait_sent(515, before + 1)

    async def one_sent() -> bool:
        return len(await outbox_rows(vk_env, SENT)) == 1

    await eventually(one_sent, what="the outbox row marked sent")
    (item,) = await outbox_rows(vk_env, SENT)
    # a crash after messages.send but before mark_sent: the worker sends the row again
    await vk_env.channel.sender.send(item)
    await vk_env.channel.sender.send(item)
    assert [m["message"] for m in vk_env.sent(515)[before:]] == ["Один раз"]
    assert len(vk_env.fake.calls("messages.send")) >= before + 3


async def test_customer_forbade_messages_is_permanent(vk_env: VKEnv) -> None:
    fake, core = vk_env.fake, vk_env.core
    ticket = await vk_env.open_ticket(505)
    fake.set_cannot_message(505)
    await core.desk.reply(ticket.id, OPERATOR, "Вы здесь?")

    async def dead() -> bool:
        return len(await outbox_rows(vk_env, DEAD)) == 1

    await eventually(dead, what="the outbox row marked dead")
    (row,) = await outbox_rows(vk_env, DEAD)
    assert row.attempts == 1  # not retried: VK 901 never goes away by itself
    notes = [m.text for m in await core.storage.messages.for_ticket(ticket.id)]
    assert any("Не доставлено" in n and "VK 901" in n for n in notes)
    assert any("запретил сообщения" in n for n in notes)


async def test_internal_error_is_retried_by_the_worker(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    ticket = await vk_env.open_ticket(516)
    before = len(vk_env.sent(516))
    fake.fail_next("messages.send", code=10)
    await vk_env.core.desk.reply(ticket.id, OPERATOR, "После ошибки VK")

    async def retried() -> bool:
        rows = await outbox_rows(vk_env)
        return len(rows) == 1 and rows[0].attempts == 1 and rows[0].payload is not None

    await eventually(retried, what="one failed attempt recorded")
    rows = await vk_env.core.storage.db.fetchall(
        "SELECT * FROM outbox WHERE channel = 'vk' AND payload LIKE ?", ("%После ошибки VK%",)
    )
    assert rows[0]["status"] == "pending" and "10" in rows[0]["last_error"]
    assert len(vk_env.sent(516)) == before  # backoff: 2 s before the next try


class BrokenClassifier:
    """A bug in the engine: every message it reads raises."""

    fingerprint = "broken"

    def predict(self, text: str) -> Any:
        raise RuntimeError("a bug in the engine")


async def test_an_engine_failure_gets_an_apology_once_and_a_retry(vk_env: VKEnv) -> None:
    core, fake = vk_env.core, vk_env.fake
    sorry = core.kb.texts.get("internal_error")
    working = core.dialog.classifier
    core.dialog.classifier = BrokenClassifier()  # type: ignore[assignment]
    fake.push_message(518, "где мой заказ")
    (apology,) = await vk_env.wait_sent(518)
    assert apology["message"] == sorry
    # The update is kept and applied again once the engine works: an answer, late.
    core.dialog.classifier = working
    asked = core.kb.texts.get("ask_order.order_status")
    await until(lambda: any(m.get("message") == asked for m in vk_env.sent(518)), 30, "the answer")
    assert [m.get("message") for m in vk_env.sent(518)].count(sorry) == 1


async def test_keyboard_refused_sends_text_without_it(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    fake.fail_next("messages.send", code=911)  # "keyboard format is invalid"
    (answer,) = await vk_env.say(517, "12345678-0001")
    assert "В пути" in answer["message"] and answer["keyboard"] is None


async def test_upload_failures_retry_then_become_a_note(vk_env: VKEnv) -> None:
    fake, core = vk_env.fake, vk_env.core
    core.files.register("test", _png_bytes)
    photo = Attachment(kind="photo", source="test", name="p.png")
    reply = Reply("Смотрите фото", attachments=(photo,))
    item = OutboxItem(
        id=99, channel="vk", recipient="518", kind="reply",
        payload={"reply": reply.to_dict()}, ticket_id=None, attempts=0, created_at=0.0,
    )  # fmt: skip
    fake.fail_next("photos.getMessagesUploadServer", code=10)
    with pytest.raises(VKAPIError[10]):  # a passing fault: the worker retries with backoff
        await vk_env.channel.sender.send(item)
    assert vk_env.sent(518) == []

    fake.fail_next("photos.getMessagesUploadServer", code=10)
    await vk_env.channel.sender.send(replace(item, attempts=2))  # enough retries: a note
    (sent,) = vk_env.sent(518)
    assert sent["attachment"] is None
    assert (
        sent["message"].startswith("Смотрите фото")
        and "Не получилось приложить фото" in (sent["message"])
    )


async def _png_bytes(attachment: Attachment) -> bytes:
    return SAMPLE_PHOTO


async def test_an_answer_that_fails_now_is_delivered_later(vk_env: VKEnv) -> None:
    vk_env.fake.fail_next("messages.send", code=10)  # VK's internal error, once
    sent = await vk_env.say(4040, "номер горячей линии какой")
    assert any("000-00-00" in str(m.get("message") or m.get("text")) for m in sent)
    rows = await vk_env.core.storage.db.fetchall(
        "SELECT status, attempts FROM outbox WHERE channel = 'vk'"
    )
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2)]  # failed once, resent
    failed, ok = vk_env.fake.calls("messages.send")[-2:]
    assert failed["random_id"] == ok["random_id"]  # VK drops a repeat, were the first accepted
