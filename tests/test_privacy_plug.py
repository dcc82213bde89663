"""Issue 18, pulling the plug: the real `python -m bots` is killed with SIGKILL in the middle
of erasures — once while the operators' side of an erasure waits on a 429, once at a random
instant of a burst of confirmations — and started again on the same database (the SQLite
file, and PostgreSQL). Every erasure completes, exactly once: one act per customer, every
topic gone, the group told, the customer told, nothing of theirs left in any table."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from config.settings import Settings
from tests.conftest import db_rows, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.privacy_helpers import dump
from tests.test_pull_the_plug import OPS, kill, wait_until

ERASE = "privacy:erase"


async def start_process(
    tmp_path: Path, fake: FakeTelegramAPI, settings: Settings
) -> asyncio.subprocess.Process:
    """`python -m bots` on the test's database (tests.test_pull_the_plug's, any database)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VK_", "DATABASE_", "OPERATORS_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.base_url,
        OPERATORS_CHAT_ID=str(OPS),
        DATABASE_URL=settings.database_url,
        DATA_DIR=str(settings.data_dir),
        WORK_HOURS_START="00:00",
        WORK_HOURS_END="00:00",
        OPERATORS_GROUP_MESSAGES_PER_MINUTE="60",
        LOG_LEVEL="WARNING",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    before = len(fake.calls("getUpdates"))
    await fake.wait_for("getUpdates", count=before + 1, timeout=120)
    return process


async def topic_of_each(settings: Settings, chats: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    sql = (
        "SELECT c.user_id, t.thread_id FROM operator_threads t "
        "JOIN conversations c ON c.id = t.conversation_id"
    )

    def every() -> bool:
        nonlocal found
        found = {int(r["user_id"]): int(r["thread_id"]) for r in db_rows(settings, sql)}
        return all(chat in found for chat in chats)

    await wait_until(every, f"a topic for each of {chats}", 60)
    return found


def texts_to(fake: FakeTelegramAPI, chat: int) -> list[str]:
    return [str(m.get("text", "")) for m in fake.sent_messages(chat)]


def told(fake: FakeTelegramAPI, chat: int, needle: str) -> bool:
    return any(needle in text for text in texts_to(fake, chat))


def acts(settings: Settings) -> list:
    return db_rows(settings, "SELECT * FROM erasures ORDER BY id")


def left_of(settings: Settings, customers: list[int]) -> list[str]:
    """Tables that still hold one of the customers' ids (every column, as text)."""
    return [
        f"{table}:{c}"
        for table, text in dump(settings).items()
        for c in customers
        if str(c) in text
    ]


async def offered(fake: FakeTelegramAPI, customers: list[int]) -> None:
    for chat in customers:
        fake.private_message(chat, "удалите мои данные")
    await wait_until(
        lambda: all(told(fake, c, "Удалить данные?") for c in customers), "every offer", 60
    )


async def test_erasures_survive_sigkill(tmp_path, classifier, database_url):
    settings = make_settings(tmp_path, database_url=database_url)
    seed = int(os.environ.get("PLUG_SEED") or random.randrange(1 << 30))
    print(f"seed {seed}")
    rng = random.Random(seed)
    models = settings.data_dir / "models"
    classifier.save(models / f"intent-model-{classifier.fingerprint}.pkl")
    first = [7_100_000_001]
    burst = [7_100_000_100 + n for n in range(6)]
    everyone = first + burst
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        process = await start_process(tmp_path, fake, settings)
        try:
            for chat in everyone:
                fake.private_message(chat, f"позовите оператора, секрет{chat}")
            await fake.wait_for("createForumTopic", count=len(everyone), timeout=90)
            threads = await topic_of_each(settings, everyone)
            await offered(fake, everyone)

            # 1. The erasure commits; deleting its topic meets a 429; the plug is pulled
            # while the operators' side waits for its retry.
            fake.fail_next("deleteForumTopic", code=429, retry_after=5)
            fake.callback_query(first[0], ERASE, message_chat_id=first[0])
            await wait_until(lambda: len(acts(settings)) == 1, "the first act", 60)
            await wait_until(
                lambda: any(e[1] == 429 for e in fake.errors), "the 429 on the topic", 60
            )
            await kill(process)
            assert threads[first[0]] in fake.topics[OPS]  # not deleted yet
            process = await start_process(tmp_path, fake, settings)

            # 2. A burst of confirmations, the plug pulled at a random instant of it.
            async def confirm() -> None:
                for chat in burst:
                    fake.callback_query(chat, ERASE, message_chat_id=chat)
                    await asyncio.sleep(rng.uniform(0.002, 0.03))

            sending = asyncio.create_task(confirm())
            await asyncio.sleep(rng.uniform(0.01, 0.3))
            await kill(process)
            await sending
            process = await start_process(tmp_path, fake, settings)

            def finished() -> bool:
                return (
                    len(acts(settings)) == len(everyone)
                    and all(threads[c] not in fake.topics[OPS] for c in everyone)
                    and all(told(fake, c, "ваши данные удалены") for c in everyone)
                    and not untold()
                    and not left_of(settings, everyone)
                )

            def untold() -> list[str]:
                """Acts the group has no line about yet (it comes after the topic's
                deletion, in the same outbox item)."""
                said = " ".join(texts_to(fake, OPS))
                return [a["label"] for a in acts(settings) if a["label"] not in said]

            try:
                await wait_until(finished, "every erasure complete", 120)
            except AssertionError:
                raise AssertionError(
                    f"acts {len(acts(settings))}, topics left "
                    f"{[c for c in everyone if threads[c] in fake.topics[OPS]]}, "
                    f"the group not told of {untold()}, "
                    f"left in tables {left_of(settings, everyone)}"
                ) from None
            labels = [a["label"] for a in acts(settings)]
            assert len(set(labels)) == len(everyone)  # one act per customer: exactly once
            lines = [t for t in texts_to(fake, OPS) if "удалены по его запросу" in t]
            doubtful = {
                r["payload"]
                for r in db_rows(settings, "SELECT payload FROM outbox WHERE in_doubt = 1")
            }
            for label in labels:  # each group told once (twice only for a send in doubt)
                said = [t for t in lines if label in t]
                assert len(said) == 1 or any(label in p for p in doubtful), (label, said)
            for chat in everyone:  # told once; twice at most for the one send in doubt
                assert (
                    1
                    <= texts_to(fake, chat).count(
                        "Готово: ваши данные удалены из переписки с поддержкой. Если напишете "
                        "снова, начнём с чистого листа — прежних сообщений не увидят ни бот, "
                        "ни операторы."
                    )
                    <= 2
                )
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
