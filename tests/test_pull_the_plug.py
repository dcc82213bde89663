"""Pulling the plug: the real `python -m bots` process is killed with SIGKILL in the middle
of a dialog and of a delivery, then started again on the same database. Nothing is lost
or sent twice. The fake Bot API runs in the test; the bot is a separate process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegramAPI

OPS = -1003000000001
CUSTOMER = 424242
OPERATOR = 77
REPO = Path(__file__).resolve().parent.parent


async def start_process(tmp_path: Path, fake: FakeTelegramAPI) -> asyncio.subprocess.Process:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VK_", "DATABASE_", "OPERATORS_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.base_url,
        OPERATORS_CHAT_ID=str(OPS),
        DATABASE_URL=f"sqlite:///{tmp_path}/support.db",
        DATA_DIR=str(tmp_path / "data"),
        WORK_HOURS_START="00:00",
        WORK_HOURS_END="00:00",
        LOG_LEVEL="WARNING",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    before = len(fake.calls("getUpdates"))
    await fake.wait_for("getUpdates", count=before + 1, timeout=30)
    return process


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.wait()


def texts_to_customer(fake: FakeTelegramAPI) -> list[str]:
    return [str(m.get("text", "")) for m in fake.sent_messages(CUSTOMER)]


async def test_sigkill_mid_dialog_and_mid_delivery(tmp_path):
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        process = await start_process(tmp_path, fake)
        try:
            # Mid-dialog: the bot asked for the order number, then the plug is pulled.
            fake.private_message(CUSTOMER, "где мой заказ")
            await fake.wait_for(
                "sendMessage", lambda p: p["chat_id"] == CUSTOMER and "номер" in p["text"]
            )
            await kill(process)
            process = await start_process(tmp_path, fake)
            fake.private_message(CUSTOMER, "12345678-0001")
            await fake.wait_for(
                "sendMessage", lambda p: p["chat_id"] == CUSTOMER and "Статус" in p["text"]
            )

            # Mid-delivery: a case, an operator's answer refused with 429, the plug pulled
            # while the answer waits in the outbox.
            fake.private_message(CUSTOMER, "позовите оператора")
            await fake.wait_for("createForumTopic")
            await fake.wait_for(
                "sendMessage", lambda p: p["chat_id"] == OPS and "Обращение №1" in str(p["text"])
            )
            thread = next(iter(fake.topics[OPS]))
            fake.fail_next("sendMessage", code=429, retry_after=2)
            fake.group_message(OPS, OPERATOR, "Ответ, переживший выключение", thread_id=thread)
            for _ in range(100):
                if any(error[1] == 429 for error in fake.errors):
                    break
                await asyncio.sleep(0.05)
            await kill(process)
            assert "Ответ, переживший выключение" not in texts_to_customer(fake)

            process = await start_process(tmp_path, fake)
            for _ in range(200):
                if "Ответ, переживший выключение" in texts_to_customer(fake):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            assert texts_to_customer(fake).count("Ответ, переживший выключение") == 1
            assert len(fake.topics[OPS]) == 1
            cards = [m for m in fake.sent_messages(OPS) if "Обращение №1" in m.get("text", "")]
            assert len(cards) == 1
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 15)
        assert process.returncode == 0  # SIGTERM stops it cleanly
