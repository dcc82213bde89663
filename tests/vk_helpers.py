"""Fixtures for the VK adapter tests: the fake VK API, a real core on SQLite in tmp_path,
a started `VKChannel` and the delivery worker running.

Import the fixtures into a test module: `from tests.vk_helpers import vk_env, ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bots.vk import VKChannel
from config.settings import Settings, load_settings
from core.app import Core, build_core, classifier_for
from core.clock import ShiftedClock
from core.desk.roles import Operator
from core.knowledge.base import KnowledgeBase
from core.nlu import IntentClassifier

try:
    from tests.conftest import WORK_TIME
    from tests.fakes.vk_api import CHAT_PEER_OFFSET, FakeVKAPI
except ImportError:  # plain `pytest` without the repo root on sys.path
    from conftest import WORK_TIME  # type: ignore[no-redef]
    from fakes.vk_api import CHAT_PEER_OFFSET, FakeVKAPI  # type: ignore[no-redef]

GROUP_ID = 1001
TOKEN = "vk-test-token"
OPERATOR = Operator("1", "Анна")


# The database of the VK bots a test starts when it names none (None: a SQLite file in
# the test's folder); `bots_on_the_test_database` (conftest.py) sets the test's own.
DEFAULT_DATABASE: str | None = None


def make_settings(tmp_path: Path, fake: FakeVKAPI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "database_url": DEFAULT_DATABASE or f"sqlite:///{tmp_path}/t.db",
        "data_dir": tmp_path,
        "vk_group_token": TOKEN,
        "vk_group_id": GROUP_ID,
        "vk_api_url": fake.api_url,
        "vk_requests_per_second": 20,
    }
    values.update(overrides)
    return load_settings(**values)


_trained: list[IntentClassifier] = []


@pytest.fixture(scope="session")
def vk_classifier(tmp_path_factory: pytest.TempPathFactory) -> IntentClassifier:
    """The intent model, trained once for the whole session (a second or two).

    Each test module imports this fixture, which makes a fixture per module: the list
    above keeps the one trained model.
    """
    if not _trained:
        cache = tmp_path_factory.mktemp("nlu-cache")
        settings = load_settings(
            _env_file=None, database_url=f"sqlite:///{cache}/x.db", data_dir=cache
        )
        kb = KnowledgeBase.load(Path(settings.knowledge_dir))
        _trained.append(classifier_for(settings, kb))
    return _trained[0]


@dataclass
class VKEnv:
    fake: FakeVKAPI
    core: Core
    channel: VKChannel
    settings: Settings
    tmp_path: Path

    def sent(self, peer: int) -> list[dict[str, Any]]:
        return self.fake.sent_messages(peer)

    async def wait_sent(self, peer: int, count: int = 1, limit: float = 20.0) -> list[dict]:
        """Wait until `count` messages were delivered to `peer`; returns them all."""
        await until(lambda: len(self.sent(peer)) >= count, limit, f"{count} to {peer}")
        return self.sent(peer)

    async def say(self, user_id: int, text: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        """The customer writes; returns the messages delivered to them in answer."""
        before = len(self.sent(user_id))
        self.fake.push_message(user_id, text, **kwargs)
        await self.wait_sent(user_id, before + 1)
        await self.settle()  # a reply may come in several messages
        return self.sent(user_id)[before:]

    async def settle(self) -> None:
        """Let the adapter finish what it is handling now."""
        assert await self.channel.wait_idle(5.0)

    async def open_ticket(self, user_id: int) -> Any:
        await self.say(user_id, "позовите оператора")
        tickets = [t for t in await self.core.storage.tickets.open_tickets()
                   if t.user_id == str(user_id)]  # fmt: skip
        assert len(tickets) == 1
        return tickets[0]


async def until(check: Callable[[], bool], limit: float = 20.0, what: str = "") -> None:
    """Poll `check` every 10 ms (for state the fake has no waiter for)."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


async def eventually(
    check: Callable[[], Awaitable[bool]],
    limit: float = 20.0,
    what: str = "",
) -> None:
    """Poll the async `check` every 10 ms (database state written by the adapter)."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


def payloads(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The parsed payloads of a delivered message's keyboard buttons."""
    keyboard = message.get("keyboard") or {"buttons": []}
    return [json.loads(b["action"]["payload"]) for row in keyboard["buttons"] for b in row]


def button_types(message: dict[str, Any]) -> set[str]:
    keyboard = message.get("keyboard") or {"buttons": []}
    return {b["action"]["type"] for row in keyboard["buttons"] for b in row}


def push_chat_message(fake: FakeVKAPI, chat_id: int, from_id: int, text: str) -> None:
    """A `message_new` from a group chat (the fake only builds private ones)."""
    peer = CHAT_PEER_OFFSET + chat_id
    message = {
        "id": 900000 + chat_id, "date": int(time.time()), "peer_id": peer, "from_id": from_id,
        "text": text, "out": 0, "conversation_message_id": 1, "attachments": [],
        "fwd_messages": [], "important": False, "is_hidden": False,
    }  # fmt: skip
    client = {"button_actions": ["text", "callback"], "keyboard": True, "inline_keyboard": True}
    obj = {"message": message, "client_info": client}
    event_id = secrets.token_hex(20)
    update = {"type": "message_new", "object": obj, "group_id": fake.group_id,
              "event_id": event_id, "v": "5.199"}  # fmt: skip
    fake.events.append(update)
    fake._notify()


@contextlib.asynccontextmanager
async def vk_setup(
    tmp_path: Path, classifier: IntentClassifier, **overrides: Any
) -> AsyncIterator[VKEnv]:
    async with FakeVKAPI(group_id=GROUP_ID, token=TOKEN) as fake:
        settings = make_settings(tmp_path, fake, **overrides)
        core = await build_core(settings, classifier=classifier, clock=ShiftedClock(WORK_TIME))
        channel = VKChannel(core, settings)
        stop = asyncio.Event()
        await channel.start()
        workers = [
            asyncio.create_task(core.delivery.run_forever(stop, idle=0.1)),
            asyncio.create_task(core.intake.run_forever(stop)),
        ]
        try:
            yield VKEnv(fake, core, channel, settings, tmp_path)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*workers), 5)
            await channel.stop()
            await core.close()


@pytest_asyncio.fixture
async def vk_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vk_classifier: IntentClassifier
) -> AsyncIterator[VKEnv]:
    monkeypatch.chdir(tmp_path)  # proves nothing is written to the current directory
    async with vk_setup(tmp_path, vk_classifier) as env:
        await env.fake.wait_polling()
        yield env
    assert not (tmp_path / ".vkbottle").exists()
