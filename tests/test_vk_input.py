"""Awkward input from VK customers: nothing is dropped silently, nothing crashes."""

from __future__ import annotations

import json

import pytest

from core import buttons

try:
    from tests.vk_helpers import (
        VKEnv,
        button_types,
        eventually,
        payloads,
        push_chat_message,
        vk_classifier,
        vk_env,
    )
except ImportError:  # plain `pytest` without the repo root on sys.path
    from vk_helpers import (  # type: ignore[no-redef]
        VKEnv,
        button_types,
        eventually,
        payloads,
        push_chat_message,
        vk_classifier,  # noqa: F401
        vk_env,  # noqa: F401
    )


async def test_sticker_gets_a_polite_answer(vk_env: VKEnv) -> None:
    (answer,) = await vk_env.say(520, sticker=True)
    assert "стикер" in answer["message"] and "текстом" in answer["message"]
    assert payloads(answer)  # with the menu, so the customer can go on


async def test_empty_message(vk_env: VKEnv) -> None:
    (answer,) = await vk_env.say(521, "")
    assert "пустое" in answer["message"]


async def test_very_long_message(vk_env: VKEnv) -> None:
    answers = await vk_env.say(522, "Помогите пожалуйста " * 500)  # 10,000 characters
    assert answers and all(0 < len(m["message"]) <= 4096 for m in answers)


async def test_unknown_callback_payload(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    event = fake.push_event(523, {"cmd": "legacy-button"})
    (answer_call,) = await fake.wait_for("messages.sendMessageEventAnswer")
    assert answer_call["event_id"] == event["event_id"]
    snackbar = json.loads(answer_call["event_data"])
    assert snackbar["type"] == "show_snackbar" and "не действует" in snackbar["text"]
    sent = await vk_env.wait_sent(523)
    assert "не действует" in sent[0]["message"]


async def test_known_callback_answers_without_snackbar(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    fake.push_event(524, {"b": buttons.TOPIC + "order_status"})
    (answer_call,) = await fake.wait_for("messages.sendMessageEventAnswer")
    assert "event_data" not in answer_call
    sent = await vk_env.wait_sent(524)
    assert "номер" in sent[0]["message"]


async def test_group_chat_messages_are_ignored(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    push_chat_message(fake, 1, 525, "где мой заказ")
    await vk_env.say(526, "привет")  # handled after the chat message
    assert fake.sent_messages(2_000_000_001) == []
    assert all(c["user_ids"] != "525" for c in fake.calls("users.get"))


async def test_start_button_and_text_button_payload(vk_env: VKEnv) -> None:
    (menu,) = await vk_env.say(527, "Начать", payload={"command": "start"})
    ids = [p["b"] for p in payloads(menu)]
    assert buttons.OPERATOR in ids and any(i.startswith(buttons.TOPIC) for i in ids)
    assert len(ids) <= 10 and len(menu["keyboard"]["buttons"]) <= 6

    (asked,) = await vk_env.say(527, "Где мой заказ", payload={"b": buttons.TOPIC + "order_status"})
    assert "номер" in asked["message"]


async def test_text_buttons_for_clients_without_callback(vk_env: VKEnv) -> None:
    obj = vk_env.fake.push_message(528, "12345678-0001")
    obj["client_info"]["button_actions"] = ["text"]  # an old client (served lazily)
    (answer,) = await vk_env.wait_sent(528)
    assert "В пути" in answer["message"]
    assert button_types(answer) == {"text"} and answer["keyboard"]["inline"] is True
    assert buttons.OPERATOR in [p["b"] for p in payloads(answer)]


async def test_doc_and_voice_from_customer(vk_env: VKEnv) -> None:
    fake, core = vk_env.fake, vk_env.core
    ticket = await vk_env.open_ticket(529)
    voice = {
        "type": "audio_message",
        "audio_message": {
            "id": 77, "owner_id": 529, "duration": 3, "access_key": "k",
            "link_ogg": fake.add_file("v.ogg", b"OggS"), "link_mp3": "",
        },
    }  # fmt: skip
    fake.push_message(529, "вот документ", doc=True, attachments=[voice])

    async def logged_files() -> bool:
        return any(m.attachments for m in await core.storage.messages.for_ticket(ticket.id))

    await eventually(logged_files, what="the customer's files in the transcript")
    logged = [a for m in await core.storage.messages.for_ticket(ticket.id) for a in m.attachments]
    kinds = {a.kind: a for a in logged}
    assert set(kinds) == {"document", "voice"}
    assert kinds["document"].name == "file.txt" and kinds["document"].url
    assert kinds["voice"].ref == "doc529_77_k"
    assert await core.files.fetch(kinds["voice"]) == b"OggS"


async def test_engine_failure_gets_an_apology(
    vk_env: VKEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(inbound: object) -> list:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(vk_env.core.engine, "handle", broken)
    (answer,) = await vk_env.say(532, "где мой заказ")
    assert "техническая ошибка" in answer["message"]
