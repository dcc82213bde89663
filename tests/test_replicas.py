"""Three real `python -m bots` replicas on one PostgreSQL database, behind a load balancer.

The replicas run Telegram's webhook and VK's Callback API. A driver plays the load
balancer and the messengers: one customer's messages land on different replicas
milliseconds apart, some updates are delivered twice, operators answer twice in quick
succession on different replicas, and one replica is killed with SIGKILL in the middle of
the traffic (the balancer then sends what it refused to the others, as Telegram and VK
repeat an update they got no answer for). Afterwards: every replica started, nothing is
lost, nothing is doubled (a message the API accepted in the instant before the kill may
be sent again, and only such messages: the outbox marks them `in_doubt`), no state is
forgotten and every customer's answers come in order.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.nlu import IntentClassifier
from tests.conftest import pg_database_url, run_sync
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.vk_api import FakeVKAPI

# Three replicas started, driven and killed: longer than the suite's default timeout.
pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parent.parent
OPS = -1004000000001
OPERATOR = 91
VK_GROUP = 1001
TG_SECRET = "tg-secret"
VK_SECRET = "vk-secret"
VK_CONFIRMATION = "c0nfirm"
ORDER = "87654321-0010"
TELEGRAM_CUSTOMERS = [710_000 + n for n in range(24)]
ESCALATING = [720_000 + n for n in range(8)]
VK_CUSTOMERS = [730 + n for n in range(8)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    process: asyncio.subprocess.Process
    webhook: str
    callback: str
    log: Path

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def model_cache(tmp_path: Path, classifier: IntentClassifier) -> Path:
    """The session's trained model as a cache file, so replicas load instead of training."""
    folder = tmp_path / "model-cache"
    classifier.save(folder / f"intent-model-{classifier.fingerprint}.pkl")
    return folder


async def start_replica(
    index: int, database: str, tg: FakeTelegramAPI, vk: FakeVKAPI, tmp: Path, models: Path
) -> Replica:
    data = tmp / f"replica-{index}"
    shutil.copytree(models, data / "models")  # the trained model: loaded, not trained again
    tg_port, vk_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VK_", "DATABASE_", "OPERATORS_", "DATA_"))
    }
    env.update(
        DATABASE_URL=database,
        DATA_DIR=str(data),
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_URL=tg.base_url,
        OPERATORS_CHAT_ID=str(OPS),
        TELEGRAM_WEBHOOK_URL="https://bot.example.com",
        TELEGRAM_WEBHOOK_HOST="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(tg_port),
        TELEGRAM_WEBHOOK_SECRET=TG_SECRET,
        VK_GROUP_TOKEN=vk.token,
        VK_GROUP_ID=str(VK_GROUP),
        VK_API_URL=vk.api_url,
        VK_CALLBACK_ENABLED="true",
        VK_CALLBACK_HOST="127.0.0.1",
        VK_CALLBACK_PORT=str(vk_port),
        VK_CALLBACK_CONFIRMATION=VK_CONFIRMATION,
        VK_CALLBACK_SECRET=VK_SECRET,
        WORK_HOURS_START="00:00",
        WORK_HOURS_END="00:00",
        OPERATORS_GROUP_MESSAGES_PER_MINUTE="60",
        LOG_LEVEL="WARNING",
    )
    log = tmp / f"replica-{index}.log"
    stderr = log.open("wb")  # the child process writes its log here
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots",
        cwd=str(REPO),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )
    stderr.close()  # the child has its own copy
    return Replica(
        f"replica-{index}",
        process,
        f"http://127.0.0.1:{tg_port}/telegram/webhook",
        f"http://127.0.0.1:{vk_port}/vk/callback",
        log,
    )


class Balancer:
    """Sends each update to a replica; one that does not answer 200 gets it again
    elsewhere (a load balancer in front of replicas; the messenger repeats it too)."""

    def __init__(self, replicas: list[Replica], http: aiohttp.ClientSession) -> None:
        self.replicas = replicas
        self.http = http
        self.refused = 0

    async def post(self, start: int, url_of: Callable[[Replica], str], body: dict[str, Any],
                   headers: dict[str, str] | None = None) -> Replica:  # fmt: skip
        for attempt in range(60):
            replica = self.replicas[(start + attempt) % len(self.replicas)]
            if not replica.alive:
                continue
            try:
                async with self.http.post(url_of(replica), json=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status == 200:
                        return replica
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.refused += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"no replica took {body}")

    async def telegram(self, start: int, update: dict[str, Any]) -> Replica:
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        return await self.post(start, lambda r: r.webhook, update, headers)

    async def vk(self, start: int, obj: dict[str, Any]) -> Replica:
        body = {"type": "message_new", "object": obj, "group_id": VK_GROUP,
                "event_id": uuid.uuid4().hex, "v": "5.199", "secret": VK_SECRET}  # fmt: skip
        return await self.post(start, lambda r: r.callback, body)


def texts_to(tg: FakeTelegramAPI, chat: int) -> list[str]:
    return [str(m.get("text", "")) for m in tg.sent_messages(chat)]


def asks_for_number(text: str) -> bool:
    return "номер" in text and ORDER not in text and "Формат" in text


async def test_three_replicas_lose_double_forget_and_reorder_nothing(
    pg_server: str, tmp_path: Path, model_cache: Path
) -> None:
    import asyncpg

    name = f"replicas_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = await asyncpg.connect(pg_server)
        await admin.execute(f"CREATE DATABASE {name}")  # empty: the replicas migrate it
        await admin.close()

    run_sync(create())
    database = pg_database_url(pg_server, name)
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")  # a failure names the instant of the kill it met
    rng = random.Random(seed)
    async with FakeTelegramAPI() as tg, FakeVKAPI(group_id=VK_GROUP) as vk:
        tg.add_chat(OPS, is_forum=True)
        replicas = [
            await start_replica(i, database, tg, vk, tmp_path, model_cache) for i in range(3)
        ]
        try:
            # Started together on an empty database: every one of them comes up.
            await wait_until(
                lambda: _async(len(tg.calls("setWebhook")) >= 3), "three webhooks set", 120
            )
            assert all(r.alive for r in replicas), [r.log.read_text()[-2000:] for r in replicas]
            async with aiohttp.ClientSession() as http:
                balancer = Balancer(replicas, http)
                await drive(tg, vk, balancer, replicas, rng, database)
        finally:
            for replica in replicas:
                if replica.alive:
                    replica.process.send_signal(signal.SIGTERM)
            for replica in replicas:
                if replica.process.returncode is None:
                    await asyncio.wait_for(replica.process.wait(), 30)


async def _async(value: bool) -> bool:
    return value


async def drive(
    tg: FakeTelegramAPI,
    vk: FakeVKAPI,
    balancer: Balancer,
    replicas: list[Replica],
    rng: random.Random,
    database: str,
) -> None:
    import asyncpg

    victim = replicas[1]

    async def customer(chat: int, first: int) -> None:
        # Three messages a few ms apart, each to the next replica; the number twice.
        await asyncio.sleep(first * 0.05)  # customers keep coming for a second or so
        for step, text in enumerate(("где мой заказ", ORDER, "спасибо")):
            update = tg.private_message(chat, text, push=False)
            await balancer.telegram(first + step, update)
            if step == 1 and chat % 3 == 0:
                await balancer.telegram(first + step + 1, update)  # the same update again
            await asyncio.sleep(rng.uniform(0.001, 0.01))

    async def escalating(chat: int, first: int) -> None:
        await asyncio.sleep(first * 0.1)
        ask = tg.private_message(chat, "позовите оператора", push=False)
        urgent = tg.private_message(chat, "очень срочно, посылка потерялась", push=False)
        await asyncio.gather(balancer.telegram(first, ask), balancer.telegram(first + 1, urgent))

    async def vk_customer(user: int, first: int) -> None:
        await asyncio.sleep(first * 0.1)
        for step, text in enumerate(("где мой заказ", ORDER)):
            obj = vk.push_message(user, text)
            await balancer.vk(first + step, obj)
            if user % 2 == 0:
                await balancer.vk(first + step + 1, obj)  # VK repeats the event
            await asyncio.sleep(rng.uniform(0.001, 0.01))

    async def killer() -> None:
        await asyncio.sleep(rng.uniform(0.3, 0.9))  # in the middle of the traffic
        victim.process.send_signal(signal.SIGKILL)
        await victim.process.wait()

    await asyncio.gather(
        *(customer(chat, n) for n, chat in enumerate(TELEGRAM_CUSTOMERS)),
        *(escalating(chat, n) for n, chat in enumerate(ESCALATING)),
        *(vk_customer(user, n) for n, user in enumerate(VK_CUSTOMERS)),
        killer(),
    )
    assert not victim.alive

    # ---- Telegram customers: every message answered once, in order, state kept.
    def answered(chat: int) -> bool:
        texts = texts_to(tg, chat)
        return any(ORDER in t for t in texts) and len(texts) >= 3

    await wait_until(
        lambda: _async(all(answered(chat) for chat in TELEGRAM_CUSTOMERS)), "every answer"
    )
    conn = await asyncpg.connect(database)
    try:
        for chat in TELEGRAM_CUSTOMERS:
            texts = texts_to(tg, chat)
            status_at = next(i for i, t in enumerate(texts) if ORDER in t)
            assert asks_for_number(texts[0]), texts  # in order: the question came first
            assert not [t for t in texts[status_at:] if asks_for_number(t)], texts
            row = await conn.fetchrow(
                "SELECT slots, step FROM conversations WHERE channel = 'telegram' AND user_id = $1",
                str(chat),
            )
            assert ORDER in row["slots"] and row["step"] == "idle", (chat, dict(row), texts)
            logged = await conn.fetch(
                "SELECT text FROM messages WHERE direction = 'in' AND conversation_id = "
                "(SELECT id FROM conversations WHERE channel = 'telegram' AND user_id = $1) "
                "ORDER BY id",
                str(chat),
            )
            assert [r["text"] for r in logged] == ["где мой заказ", ORDER, "спасибо"]

        # ---- Escalations: one case each, both messages kept.
        await wait_until(
            lambda: _async(len(tg.topics.get(OPS, {})) >= len(ESCALATING)), "a topic per case"
        )
        for chat in ESCALATING:
            tickets = await conn.fetch(
                "SELECT id FROM tickets WHERE channel = 'telegram' AND user_id = $1", str(chat)
            )
            assert len(tickets) == 1
            logged = await conn.fetch(
                "SELECT text FROM messages WHERE direction = 'in' AND conversation_id = "
                "(SELECT id FROM conversations WHERE channel = 'telegram' AND user_id = $1)",
                str(chat),
            )
            assert sorted(r["text"] for r in logged) == sorted(
                ["позовите оператора", "очень срочно, посылка потерялась"]
            )

        # ---- Operators answer twice in quick succession on different replicas (the
        # first reply also delivered twice); the customer gets both, once, in order.
        threads = await conn.fetch(
            "SELECT c.user_id, t.thread_id FROM operator_threads t "
            "JOIN conversations c ON c.id = t.conversation_id"
        )
        thread_of = {int(r["user_id"]): int(r["thread_id"]) for r in threads}
        assert len(set(thread_of.values())) == len(ESCALATING)  # one topic per case

        async def operator_answers(chat: int, n: int) -> None:
            first = tg.group_message(OPS, OPERATOR, f"Ответ 1 для {chat}",
                                     thread_id=thread_of[chat], push=False)  # fmt: skip
            second = tg.group_message(OPS, OPERATOR, f"Ответ 2 для {chat}",
                                      thread_id=thread_of[chat], push=False)  # fmt: skip
            await asyncio.gather(
                balancer.telegram(n, first),
                balancer.telegram(n + 1, second),
                balancer.telegram(n + 2, first),
            )

        await asyncio.gather(*(operator_answers(chat, n) for n, chat in enumerate(ESCALATING)))

        def replied(chat: int) -> bool:
            return f"Ответ 2 для {chat}" in texts_to(tg, chat)

        await wait_until(
            lambda: _async(all(replied(chat) for chat in ESCALATING)), "operators' replies"
        )
        for chat in ESCALATING:
            answers = [t for t in texts_to(tg, chat) if t.startswith("Ответ ")]
            assert answers == [f"Ответ 1 для {chat}", f"Ответ 2 для {chat}"], answers

        # ---- VK customers: answered once each (VK drops a repeated random_id).
        def vk_answered(user: int) -> bool:
            return any(ORDER in str(m.get("message")) for m in vk.sent_messages(user))

        await wait_until(lambda: _async(all(vk_answered(u) for u in VK_CUSTOMERS)), "VK")

        # ---- Nothing doubled, except what the outbox marks in doubt (the API accepted
        # it in the instant before the kill).
        in_doubt = await conn.fetch("SELECT recipient, payload FROM outbox WHERE in_doubt = 1")
        doubtful = {(r["recipient"], r["payload"]) for r in in_doubt}
        doubled = []
        for chat in TELEGRAM_CUSTOMERS + ESCALATING:
            texts = texts_to(tg, chat)
            doubled += [(chat, t) for t in set(texts) if texts.count(t) > 1]
        unexplained = [
            (chat, text)
            for chat, text in doubled
            if not any(str(chat) == r and text.split("\n")[0] in p for r, p in doubtful)
        ]
        assert unexplained == [], (unexplained, doubtful)
        for user in VK_CUSTOMERS:
            texts = [str(m.get("message")) for m in vk.sent_messages(user)]
            assert len(texts) == len(set(texts)), texts
        print(
            f"refused by the dead replica and resent: {balancer.refused}; "
            f"in doubt: {len(in_doubt)}; doubled on Telegram: {len(doubled)}"
        )
    finally:
        await conn.close()
