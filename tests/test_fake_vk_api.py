"""Self-test of tests/fakes/vk_api.py, driven by real vkbottle 4 objects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from vkbottle import (
    API,
    AiohttpClient,
    APIAuthError,
    Callback,
    DocMessagesUploader,
    GroupEventType,
    Keyboard,
    PhotoMessageUploader,
    Text,
    VKAPIError,
)
from vkbottle.bot import Bot, BotLabeler, Message, MessageEvent

try:
    from tests.fakes.vk_api import SAMPLE_PHOTO, FakeVKAPI, StatelessBotPolling
except ImportError:  # plain `pytest` without the repo root on sys.path
    from fakes.vk_api import (  # type: ignore[no-redef]
        SAMPLE_PHOTO,
        FakeVKAPI,
        StatelessBotPolling,
    )


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeVKAPI]:
    async with FakeVKAPI(group_id=1001) as server:
        yield server


@pytest_asyncio.fixture
async def api(fake: FakeVKAPI) -> AsyncIterator[API]:
    http = AiohttpClient()
    vk = API(fake.token, http_client=http)
    vk.API_URL = fake.api_url  # the one override needed: every method call goes to the fake
    yield vk
    await http.close()


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # lets the tests prove nothing is written to the cwd
    return tmp_path


@pytest.mark.asyncio
async def test_start_returns_method_base_url(fake: FakeVKAPI, api: API) -> None:
    assert fake.api_url.startswith("http://127.0.0.1:") and fake.api_url.endswith("/method/")
    group = (await api.groups.get_by_id()).groups[0]
    assert group.id == 1001 and group.name


@pytest.mark.asyncio
async def test_send_with_keyboard_and_random_id_dedup(fake: FakeVKAPI, api: API) -> None:
    keyboard = Keyboard().add(Text("Помогло", payload={"cmd": "x"})).get_json()
    first = await api.messages.send(peer_id=42, message="Привет", keyboard=keyboard, random_id=777)
    again = await api.messages.send(peer_id=42, message="Привет", keyboard=keyboard, random_id=777)
    other = await api.messages.send(peer_id=42, message="ещё", random_id=0)
    zero = await api.messages.send(peer_id=42, message="ещё", random_id=0)
    assert isinstance(first, int) and again == first
    assert len({first, other, zero}) == 3  # random_id=0 is never deduplicated

    sent = fake.sent_messages(42)
    assert [m["message"] for m in sent] == ["Привет", "ещё", "ещё"]
    button = sent[0]["keyboard"]["buttons"][0][0]["action"]
    assert button["label"] == "Помогло" and button["payload"] == {"cmd": "x"}
    assert sent[0]["random_id"] == 777 and sent[0]["attachment"] is None
    assert [m["conversation_message_id"] for m in sent] == [1, 2, 3]
    assert len(fake.calls("messages.send")) == 4
    assert fake.calls("messages.send")[0]["v"] == API.API_VERSION


@pytest.mark.asyncio
async def test_errors_surface_as_vkbottle_exceptions(fake: FakeVKAPI, api: API) -> None:
    fake.fail_next("messages.send", code=6)
    with pytest.raises(VKAPIError[6]) as exc:
        await api.messages.send(peer_id=1, message="x", random_id=1)
    assert exc.value.code == 6 and exc.value.error_msg == "Too many requests per second"
    assert exc.value.request_params["method"] == "messages.send"
    assert fake.sent_messages(1) == []
    await api.messages.send(peer_id=1, message="x", random_id=1)  # failure consumed
    assert len(fake.sent_messages(1)) == 1

    fake.fail_next("users.get", code=10, times=2)
    for _ in range(2):
        with pytest.raises(VKAPIError[10]):
            await api.users.get(user_ids=[1])

    fake.set_cannot_message(5)
    with pytest.raises(VKAPIError[901]):
        await api.messages.send(peer_id=5, message="x", random_id=0)
    # peer_ids: per-peer errors come back inside the list (raw request: vkbottle's typed
    # messages.send(peer_ids=...) requires message_id in every item and fails validation)
    raw = await api.request("messages.send", {"peer_ids": "5,6", "message": "x", "random_id": 0})
    items = raw["response"]
    assert items[0] == {
        "peer_id": 5,
        "error": {"code": 901, "description": ("Can't send messages for users without permission")},
    }
    assert items[1]["peer_id"] == 6 and items[1]["message_id"] > 0

    with pytest.raises(VKAPIError[914]):
        await api.messages.send(peer_id=7, message="я" * 4097, random_id=0)
    with pytest.raises(VKAPIError[3]):
        await api.request("no.suchMethod", {})
    bad = API("wrong-token", http_client=api.http_client)
    bad.API_URL = fake.api_url
    with pytest.raises(APIAuthError):
        await bad.users.get(user_ids=[1])


@pytest.mark.asyncio
async def test_users_get(fake: FakeVKAPI, api: API) -> None:
    fake.set_user(10, "Иван", "Петров")
    users = await api.users.get(user_ids=[10, 11], fields=["domain"])
    assert [(u.id, u.first_name, u.last_name) for u in users] == [
        (10, "Иван", "Петров"),
        (11, "User", "11"),
    ]
    assert fake.calls("users.get")[0]["user_ids"] == "10,11"


@pytest.mark.asyncio
async def test_photo_and_doc_upload_chain(fake: FakeVKAPI, api: API) -> None:
    attachment = await PhotoMessageUploader(api).upload(SAMPLE_PHOTO, peer_id=42)
    assert attachment.startswith("photo-1001_")
    assert fake.uploads == [SAMPLE_PHOTO]
    saved = fake.calls("photos.saveMessagesPhoto")[0]
    assert saved["hash"] == "abc" and saved["server"] == "1"

    doc = await DocMessagesUploader(api).upload(b"report", peer_id=42, title="r.txt")
    assert doc.startswith("doc-1001_") and fake.doc_uploads == [b"report"]

    await api.messages.send(peer_id=42, attachment=f"{attachment},{doc}", random_id=0)
    assert fake.sent_messages(42)[0]["attachment"] == f"{attachment},{doc}"


@pytest.mark.asyncio
async def test_bot_long_poll_receives_message_and_answers(
    fake: FakeVKAPI, api: API, _isolated_cwd: Path
) -> None:
    labeler = BotLabeler()
    seen: list[Message] = []

    @labeler.message(text="привет")
    async def hello(message: Message) -> None:
        seen.append(message)
        photo_url = message.attachments[0].photo.sizes[-1].url
        body = await api.http_client.request_content(photo_url)
        await message.answer(
            f"Здравствуйте, {len(body)} байт",
            keyboard=Keyboard(inline=True).add(Callback("OK", payload={"cmd": "ok"})).get_json(),
        )

    bot = Bot(api=api, labeler=labeler, polling=StatelessBotPolling())
    task = asyncio.create_task(bot.run_polling())
    try:
        await fake.wait_polling()
        obj = fake.push_message(42, "привет", payload={"cmd": "start"}, photo=True)
        await fake.wait_for("messages.send", lambda p: p.get("peer_ids") == "42")
    finally:
        bot.polling.stop()
        await asyncio.wait_for(task, 5)

    assert fake.calls("groups.getById") and fake.calls("groups.getLongPollServer")
    assert seen[0].conversation_message_id == obj["message"]["conversation_message_id"]
    assert seen[0].get_payload_json() == {"cmd": "start"}
    assert seen[0].client_info.button_actions and "callback" in seen[0].client_info.button_actions
    reply = fake.sent_messages(42)[0]
    assert reply["message"] == f"Здравствуйте, {len(SAMPLE_PHOTO)} байт"
    assert reply["keyboard"]["inline"] is True
    assert not (_isolated_cwd / ".vkbottle").exists()


@pytest.mark.asyncio
async def test_callback_event_reaches_raw_event_handler(fake: FakeVKAPI, api: API) -> None:
    labeler = BotLabeler()

    @labeler.raw_event(GroupEventType.MESSAGE_EVENT, dataclass=MessageEvent)
    async def on_callback(event: MessageEvent) -> None:
        await event.show_snackbar(f"cmd={event.payload['cmd']}")

    bot = Bot(api=api, labeler=labeler, polling=StatelessBotPolling())
    task = asyncio.create_task(bot.run_polling())
    try:
        obj = fake.push_event(42, {"cmd": "ok"}, conversation_message_id=3)
        answers = await fake.wait_for("messages.sendMessageEventAnswer")
    finally:
        bot.polling.stop()
        await asyncio.wait_for(task, 5)

    assert answers[0]["event_id"] == obj["event_id"] and answers[0]["user_id"] == "42"
    assert json.loads(answers[0]["event_data"]) == {"type": "show_snackbar", "text": "cmd=ok"}
    assert fake.event_answers == answers


@pytest.mark.asyncio
async def test_long_poll_protocol(fake: FakeVKAPI, api: API) -> None:
    server = (await api.request("groups.getLongPollServer", {"group_id": 1001}))["response"]
    assert server["ts"] == "1" and server["server"] == f"{fake.base_url}/lp"
    http = api.http_client
    url = server["server"]
    empty = await http.request_json(
        url, params={"act": "a_check", "key": server["key"], "ts": "1", "wait": 25}
    )
    assert empty == {"ts": "1", "updates": []}
    fake.push_message(7, "a", doc=True, sticker=True)
    fake.push_event(7, {"x": 1})
    got = await http.request_json(
        url, params={"act": "a_check", "key": server["key"], "ts": "1", "wait": 25}
    )
    assert got["ts"] == "3" and [u["type"] for u in got["updates"]] == [
        "message_new",
        "message_event",
    ]
    update = got["updates"][0]
    assert update["group_id"] == 1001 and update["v"] == "5.199" and update["event_id"]
    atts = update["object"]["message"]["attachments"]
    assert [a["type"] for a in atts] == ["doc", "sticker"]
    assert await http.request_content(atts[0]["doc"]["url"]) == b"hello from fake VK\n"
    fake.expire_lp_key()
    assert await http.request_json(
        url, params={"act": "a_check", "key": server["key"], "ts": "3", "wait": 1}
    ) == {"failed": 2}
