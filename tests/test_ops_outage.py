"""Issue 11, outage rows: `python -m bots` with a valid-looking token and nothing listening
where the API should be (a closed port on 127.0.0.1). The process keeps trying with one
log line per attempt and growing pauses — no traceback, no "Unclosed client session" —
and stops cleanly (exit code 0) on SIGTERM. A token Telegram refuses (401) is a
configuration error: one line, exit code 2."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import pytest
from conftest import REPO

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.vk_api import FakeVKAPI

TOKEN = "123456789:AAHk-fake_token_for_outage_tests_0001"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_bot(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "INFO",
        "OPERATORS_CHAT_ID": "-1001234567890",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def lines_until(
    process: asyncio.subprocess.Process, wanted: int, pattern: str, limit: float = 90
) -> list[str]:
    """Every stderr line (timestamps cut off) until `wanted` of them contain `pattern`."""
    assert process.stderr is not None
    seen: list[str] = []

    async def read() -> None:
        while sum(pattern in line for line in seen) < wanted:
            raw = await process.stderr.readline()
            if not raw:
                raise AssertionError("the process ended early:\n" + "\n".join(seen))
            seen.append(STAMP.sub("", raw.decode("utf-8", "replace").rstrip("\n")))

    await asyncio.wait_for(read(), limit)
    return seen


async def terminate(process: asyncio.subprocess.Process) -> tuple[int, list[str]]:
    process.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(process.stderr.read(), 30)  # type: ignore[union-attr]
    code = await asyncio.wait_for(process.wait(), 30)
    return code, [STAMP.sub("", line) for line in rest.decode("utf-8", "replace").splitlines()]


async def test_telegram_unreachable_at_start(tmp_path):
    port = closed_port()
    process = await start_bot(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=f"http://127.0.0.1:{port}"
    )
    try:
        lines = await lines_until(process, 3, "Telegram unreachable")
    finally:
        code, rest = await terminate(process)
    retries = [line for line in lines if " unreachable (" in line]
    assert retries == [
        f"WARNING supportbot.retry: Telegram unreachable (cannot connect to 127.0.0.1:{port}), "
        f"retrying in {delay} s"
        for delay in (1, 2, 4)
    ]
    everything = "\n".join(lines + rest)
    assert "Traceback" not in everything
    assert "Unclosed" not in everything
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything
    assert rest[-1] == "INFO bots: stopped"
    assert code == 0


async def test_vk_unreachable_at_start(tmp_path):
    port = closed_port()
    process = await start_bot(
        tmp_path,
        VK_GROUP_TOKEN="vk1.a.fake-token-for-outage-tests",
        VK_GROUP_ID="5",
        VK_API_URL=f"http://127.0.0.1:{port}/method/",
    )
    try:
        lines = await lines_until(process, 3, "VK unreachable")
    finally:
        code, rest = await terminate(process)
    retries = [line for line in lines if " unreachable (" in line]
    assert retries == [
        f"WARNING supportbot.retry: VK unreachable (cannot connect to "
        f"127.0.0.1:{port}), retrying in {delay} s"
        for delay in (1, 2, 4)
    ]
    everything = "\n".join(lines + rest)
    assert "Traceback" not in everything
    assert "fake-token-for-outage-tests" not in everything
    assert code == 0


async def test_refused_token_is_a_configuration_error(tmp_path):
    async with FakeTelegramAPI(token="987654321:AAHk-another_token_the_fake_knows") as fake:
        process = await start_bot(
            tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url, LOG_LEVEL="ERROR"
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert stderr.decode().splitlines() == [
        "Configuration error: TELEGRAM_BOT_TOKEN: Telegram refused the token "
        "(401 Unauthorized); expected a current token from @BotFather"
    ]
    assert process.returncode == 2


@pytest.mark.parametrize("answer", [502])
async def test_telegram_server_errors_at_start_are_waited_out(tmp_path, answer):
    async with FakeTelegramAPI(token=TOKEN) as fake:
        fake.fail_next("getMe", code=answer, times=2)
        process = await start_bot(
            tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url
        )
        try:  # the channel has started (the long poll starts earlier, with the database)
            await fake.wait_for("setMyCommands", timeout=90)
        finally:
            code, rest = await terminate(process)
    retries = [line for line in rest if " unreachable (" in line]
    assert len(retries) == 2 and all(
        line.startswith("WARNING supportbot.retry: Telegram unreachable (") for line in retries
    ), rest
    assert "Traceback" not in "\n".join(rest)
    assert code == 0


async def test_updates_are_stored_and_confirmed_before_the_bot_has_started(tmp_path, classifier):
    """A starting bot long-polls as soon as its database is open: what customers write is
    stored and confirmed (the next getUpdates' offset) while the rest starts — here while
    getMe keeps failing — and answered once the start is done."""
    models = tmp_path / "data" / "models"
    classifier.save(models / f"intent-model-{classifier.fingerprint}.pkl")
    async with FakeTelegramAPI(token=TOKEN) as fake:
        fake.fail_next("getMe", code=502, times=1_000_000)
        update = fake.private_message(5551, "где мой заказ")
        process = await start_bot(
            tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake.base_url
        )
        try:
            confirmed = await fake.wait_for(
                "getUpdates",
                lambda p: int(p.get("offset") or 0) == update["update_id"] + 1,
                timeout=90,
            )
            assert confirmed
            assert fake.calls("sendMessage") == []  # the channel has not started
            assert all(p.get("allowed_updates") for p in fake.calls("getUpdates"))
            fake.stop_failing()
            answers = await fake.wait_for(
                "sendMessage", lambda p: p.get("chat_id") == 5551, timeout=120
            )
            assert answers
        finally:
            code, rest = await terminate(process)
    assert "Traceback" not in "\n".join(rest)
    assert code == 0


async def test_refused_vk_token_is_a_configuration_error(tmp_path):
    async with FakeVKAPI(group_id=5, token="vk1.a.the-token-the-fake-knows") as fake:
        process = await start_bot(
            tmp_path,
            VK_GROUP_TOKEN="vk1.a.another-token-for-outage-tests",
            VK_GROUP_ID="5",
            VK_API_URL=fake.api_url,
            LOG_LEVEL="ERROR",
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert stderr.decode().splitlines() == [
        "Configuration error: VK_GROUP_TOKEN: VK refused the token (error 5); "
        "expected a community token with the messages right"
    ]
    assert process.returncode == 2


async def test_database_unreachable_at_start(tmp_path):
    """Each try names the server; from the third on, the line says the host and the port
    may be wrong. SIGTERM stops the waiting at once (exit 0)."""
    port = closed_port()
    process = await start_bot(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{closed_port()}",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/supportbot",
        DATABASE_WAIT_SECONDS="600",
    )
    try:
        lines = await lines_until(process, 3, f"PostgreSQL at 127.0.0.1:{port} unreachable")
    finally:
        code, rest = await terminate(process)
    retries = [line for line in lines if " unreachable (" in line]
    hint = (
        f"; check DATABASE_URL's host and port (127.0.0.1:{port}) if the server should be up by now"
    )
    assert retries == [
        f"WARNING supportbot.retry: PostgreSQL at 127.0.0.1:{port} unreachable "
        f"(connection refused), retrying in {delay} s{advice}"
        for delay, advice in ((1, ""), (2, ""), (4, hint))
    ]
    everything = "\n".join(lines + rest)
    assert "Traceback" not in everything
    assert code == 0
