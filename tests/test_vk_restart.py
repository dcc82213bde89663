"""A VK bot restarted while customers write: what came in meanwhile is still answered,
because the long-poll position is kept beside the database (never in the cwd)."""

from __future__ import annotations

import asyncio

from bots.vk import VKChannel
from core.app import build_core
from tests.fakes.vk_api import FakeVKAPI
from tests.vk_helpers import GROUP_ID, TOKEN, make_settings, vk_classifier  # noqa: F401

USER = 7007


def texts(fake: FakeVKAPI) -> list[str]:
    return [str(m.get("message") or m.get("text") or "") for m in fake.sent_messages(USER)]


async def run_bot(tmp_path, fake, classifier):
    settings = make_settings(tmp_path, fake)
    core = await build_core(settings, classifier=classifier)
    channel = VKChannel(core, settings)
    await channel.start()
    await fake.wait_polling()
    return core, channel


async def wait_text(fake: FakeVKAPI, needle: str) -> None:
    for _ in range(100):
        if any(needle in t for t in texts(fake)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message with {needle!r}: {texts(fake)}")


async def test_messages_sent_while_the_bot_was_down_are_answered(
    tmp_path,
    monkeypatch,
    vk_classifier,  # noqa: F811
):
    monkeypatch.chdir(tmp_path)
    async with FakeVKAPI(group_id=GROUP_ID, token=TOKEN) as fake:
        core, channel = await run_bot(tmp_path, fake, vk_classifier)
        fake.push_message(USER, "где мой заказ")
        await wait_text(fake, "номер")
        await channel.stop()
        await core.close()

        fake.push_message(USER, "12345678-0001")  # written while the bot is down
        core, channel = await run_bot(tmp_path, fake, vk_classifier)
        try:
            await wait_text(fake, "Статус")  # the dialog resumed, the number answered
        finally:
            await channel.stop()
            await core.close()
    assert (tmp_path / "vk-polling").is_dir()
    assert not (tmp_path / ".vkbottle").exists()
