"""The Callback API option and where the long-poll state goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.nlu import IntentClassifier

try:
    from tests.vk_helpers import GROUP_ID, vk_classifier, vk_setup
except ImportError:  # plain `pytest` without the repo root on sys.path
    from vk_helpers import GROUP_ID, vk_classifier, vk_setup  # type: ignore[no-redef]  # noqa: F401

SECRET = "s3cret-callback"
CONFIRMATION = "a1b2c3d4"


async def test_callback_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vk_classifier: IntentClassifier
) -> None:
    monkeypatch.chdir(tmp_path)
    overrides: dict[str, Any] = {
        "vk_callback_enabled": True,
        "vk_callback_host": "127.0.0.1",
        "vk_callback_port": 0,
        "vk_callback_path": "/vk/callback",
        "vk_callback_confirmation": CONFIRMATION,
        "vk_callback_secret": SECRET,
    }
    async with (
        vk_setup(tmp_path, vk_classifier, **overrides) as env,
        aiohttp.ClientSession() as http,
    ):
        url = env.channel.callback_url
        assert url is not None and url.endswith("/vk/callback")

        async def post(body: dict[str, Any]) -> tuple[int, str]:
            async with http.post(url, data=json.dumps(body)) as response:
                return response.status, await response.text()

        assert await post({"type": "confirmation", "group_id": GROUP_ID}) == (200, CONFIRMATION)

        obj = env.fake.push_message(530, "где мой заказ")  # long poll is off: only we deliver
        update = {"type": "message_new", "object": obj, "group_id": GROUP_ID,
                  "event_id": "evt-1", "v": "5.199"}  # fmt: skip
        status, _ = await post({**update, "secret": "wrong"})
        assert status == 403
        status, _ = await post(update)  # no secret at all
        assert status == 403
        assert await post({**update, "secret": SECRET, "group_id": 999}) == (403, "forbidden")

        assert await post({**update, "secret": SECRET}) == (200, "ok")
        assert await post({**update, "secret": SECRET}) == (200, "ok")  # VK repeats it
        sent = await env.wait_sent(530)
        await env.settle()
        assert len(env.sent(530)) == 1 and "номер" in sent[0]["message"]
        assert len(env.fake.calls("users.get")) == 1  # the repeat was never handled

        event = env.fake.push_event(530, {"b": "topic:order_status"})
        callback_event = {"type": "message_event", "object": event, "group_id": GROUP_ID,
                          "event_id": "evt-2", "secret": SECRET}  # fmt: skip
        assert await post(callback_event) == (200, "ok")
        await env.fake.wait_for("messages.sendMessageEventAnswer")
        await env.wait_sent(530, 2)

        async with http.post(url, data="not json") as response:
            assert response.status == 400
        assert env.fake.calls("groups.getLongPollServer") == []
    assert not (tmp_path / ".vkbottle").exists()


async def test_polling_state_goes_to_the_configured_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vk_classifier: IntentClassifier
) -> None:
    monkeypatch.chdir(tmp_path)
    state_dir = tmp_path / "state"
    async with vk_setup(tmp_path, vk_classifier, vk_polling_state_dir=state_dir) as env:
        await env.fake.wait_polling()
        await env.say(531, "привет")
    saved = json.loads((state_dir / f"{GROUP_ID}.json").read_text())
    assert int(saved["ts"]) >= 2
    assert not (tmp_path / ".vkbottle").exists()
