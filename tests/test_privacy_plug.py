"""Issue 18, pulling the plug: the real `python -m bots` is killed with SIGKILL in the middle
of erasures — once while the operators' side of an erasure waits on a 429, once at a random
instant of a burst of confirmations — and started again on the same database. Every
erasure completes, exactly once: one act per customer, every topic gone, the group told,
the customer told, nothing of theirs left in any table."""

from __future__ import annotations

import asyncio
import os
import random
import signal

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_pull_the_plug import OPS, kill, rows, start_process, topic_of_each, wait_until

ERASE = "privacy:erase"


def texts_to(fake: FakeTelegramAPI, chat: int) -> list[str]:
    return [str(m.get("text", "")) for m in fake.sent_messages(chat)]


def told(fake: FakeTelegramAPI, chat: int, needle: str) -> bool:
    return any(needle in text for text in texts_to(fake, chat))


def acts(tmp_path) -> list:
    return rows(tmp_path, "SELECT * FROM erasures ORDER BY id")


def left_of(tmp_path, customers: list[int]) -> list[str]:
    """Tables that still hold one of the customers' ids (every column, as text)."""
    found = []
    tables = [
        r["name"] for r in rows(tmp_path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    ]
    for table in tables:
        for row in rows(tmp_path, f"SELECT * FROM {table}"):
            text = " ".join(str(v) for v in tuple(row) if not isinstance(v, bytes))
            found += [f"{table}:{c}" for c in customers if str(c) in text]
    return found


async def offered(fake: FakeTelegramAPI, customers: list[int]) -> None:
    for chat in customers:
        fake.private_message(chat, "удалите мои данные")
    await wait_until(
        lambda: all(told(fake, c, "Удалить данные?") for c in customers), "every offer", 60
    )


async def test_erasures_survive_sigkill(tmp_path, classifier):
    seed = int(os.environ.get("PLUG_SEED") or random.randrange(1 << 30))
    print(f"seed {seed}")
    rng = random.Random(seed)
    models = tmp_path / "data" / "models"
    classifier.save(models / f"intent-model-{classifier.fingerprint}.pkl")
    first = [7_100_000_001]
    burst = [7_100_000_100 + n for n in range(6)]
    everyone = first + burst
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        process = await start_process(tmp_path, fake, group_limit=60)
        try:
            for chat in everyone:
                fake.private_message(chat, f"позовите оператора, секрет{chat}")
            await fake.wait_for("createForumTopic", count=len(everyone), timeout=90)
            threads = await topic_of_each(tmp_path, everyone)
            await offered(fake, everyone)

            # 1. The erasure commits; deleting its topic meets a 429; the plug is pulled
            # while the operators' side waits for its retry.
            fake.fail_next("deleteForumTopic", code=429, retry_after=5)
            fake.callback_query(first[0], ERASE, message_chat_id=first[0])
            await wait_until(lambda: len(acts(tmp_path)) == 1, "the first act", 60)
            await wait_until(
                lambda: any(e[1] == 429 for e in fake.errors), "the 429 on the topic", 60
            )
            await kill(process)
            assert threads[first[0]] in fake.topics[OPS]  # not deleted yet
            process = await start_process(tmp_path, fake, group_limit=60)

            # 2. A burst of confirmations, the plug pulled at a random instant of it.
            async def confirm() -> None:
                for chat in burst:
                    fake.callback_query(chat, ERASE, message_chat_id=chat)
                    await asyncio.sleep(rng.uniform(0.002, 0.03))

            sending = asyncio.create_task(confirm())
            await asyncio.sleep(rng.uniform(0.01, 0.3))
            await kill(process)
            await sending
            process = await start_process(tmp_path, fake, group_limit=60)

            def finished() -> bool:
                return (
                    len(acts(tmp_path)) == len(everyone)
                    and all(threads[c] not in fake.topics[OPS] for c in everyone)
                    and all(told(fake, c, "ваши данные удалены") for c in everyone)
                    and not left_of(tmp_path, everyone)
                )

            try:
                await wait_until(finished, "every erasure complete", 120)
            except AssertionError:
                raise AssertionError(
                    f"acts {len(acts(tmp_path))}, topics left "
                    f"{[c for c in everyone if threads[c] in fake.topics[OPS]]}, "
                    f"left in tables {left_of(tmp_path, everyone)}"
                ) from None
            labels = [a["label"] for a in acts(tmp_path)]
            assert len(set(labels)) == len(everyone)  # one act per customer: exactly once
            lines = [t for t in texts_to(fake, OPS) if "удалены по его запросу" in t]
            doubtful = {
                r["payload"]
                for r in rows(tmp_path, "SELECT payload FROM outbox WHERE in_doubt = 1")
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
