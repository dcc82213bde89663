"""Health and metrics over HTTP: /healthz, /readyz and /metrics (prometheus-client's text
format, parsed back with its own parser) of the real bot against the fake Bot API — on
HEALTH_PORT in polling mode, on the webhook server's port in webhook mode."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import aiohttp
from conftest import REPO
from prometheus_client.parser import text_string_to_metric_families

from bots.health import Health
from bots.main import serve
from core.events import CustomerReply
from core.types import Reply
from tests.fakes.telegram_api import FakeTelegramAPI

OPS = -1004000000001
CUSTOMER = 777001


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def until(check, limit: float = 30.0) -> None:
    for _ in range(int(limit / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_polling_mode_health_port(settings_with, make_core):
    port = free_port()
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        settings = settings_with(
            telegram_bot_token=fake.token,
            telegram_api_url=fake.base_url,
            operators_chat_id=OPS,
            health_host="127.0.0.1",
            health_port=port,
            work_hours_start="00:00",
            work_hours_end="00:00",
        )
        core = await make_core(settings=settings)
        base = f"http://127.0.0.1:{port}"
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop, core))
        try:
            await fake.wait_for("getUpdates", timeout=30)
            assert await get(f"{base}/healthz") == (200, "ok\n", "text/plain; charset=utf-8")
            status, text, _ = await get(f"{base}/readyz")
            assert (status, text) == (200, "ready\n")

            status, before, content_type = await get(f"{base}/metrics")
            assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
            assert value(before, "supportbot_model_info", version=core.classifier.fingerprint) == 1
            assert value(before, "supportbot_open_cases") == 0
            assert value(before, "supportbot_outbox_pending") == 0

            fake.fail_next("sendMessage", code=429, retry_after=1)
            fake.private_message(CUSTOMER, "где мой заказ")
            await fake.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER, timeout=30)
            fake.private_message(CUSTOMER, "позовите оператора")
            await fake.wait_for(
                "sendMessage", lambda p: p["chat_id"] == OPS and "Обращение №1" in str(p["text"])
            )

            async def counted() -> bool:
                _, after, _ = await get(f"{base}/metrics")
                handled = value(after, "supportbot_updates_handled_total", channel="telegram")
                return (
                    handled - value(before, "supportbot_updates_handled_total", channel="telegram")
                    == 2
                    and value(after, "supportbot_open_cases") == 1
                )

            await until(counted)
            _, after, _ = await get(f"{base}/metrics")
            assert (
                value(after, "supportbot_reply_seconds_count", channel="telegram")
                - value(before, "supportbot_reply_seconds_count", channel="telegram")
                == 2
            )
            assert (
                value(after, "supportbot_rate_limited_total", channel="telegram")
                - value(before, "supportbot_rate_limited_total", channel="telegram")
                == 1
            )
            assert value(after, "supportbot_outbox_dead") == 0
            assert value(after, "supportbot_outbox_oldest_pending_seconds") >= 0
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    # Stopped: nothing listens any more.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_outbox_figures_come_from_the_database(core, clock):
    """Pending count and age of the oldest pending item, dead items (no server needed)."""
    from core.runtime.metrics import Snapshot

    async with core.storage.transaction() as tx:
        await tx.outbox.add("telegram", "1", CustomerReply(Reply("a")), clock.now() - 90)
        await tx.outbox.add("telegram", "2", CustomerReply(Reply("b")), clock.now() - 30)
        await tx.outbox.add("vk", "3", CustomerReply(Reply("c")), clock.now())
        await tx.outbox.mark_dead(3, "test")  # the third item of a new database
    snapshot = await Snapshot.read(core.storage, "v1", clock.now())
    assert (snapshot.pending, snapshot.dead, snapshot.open_cases) == (2, 1, 0)
    assert snapshot.oldest_pending_age == 90


async def test_readiness_says_what_is_missing(core):
    health = Health(core)
    port = await health.start("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{port}"
        assert await get(f"{base}/readyz") == (
            503,
            "not ready: channels are starting\n",
            "text/plain; charset=utf-8",
        )
        health.channels_started = True
        assert (await get(f"{base}/readyz"))[:2] == (200, "ready\n")
        await core.storage.close()  # the database goes away
        status, text, _ = await get(f"{base}/readyz")
        assert status == 503 and text.startswith("not ready: database unreachable (")
        assert (await get(f"{base}/healthz"))[0] == 200  # alive all the same
        assert (await get(f"{base}/metrics"))[:2] == (503, "database unreachable\n")
    finally:
        await health.stop()


async def test_webhook_mode_serves_them_on_the_webhook_port(settings_with, make_core):
    port = free_port()
    async with FakeTelegramAPI() as fake:
        settings = settings_with(
            telegram_bot_token=fake.token,
            telegram_api_url=fake.base_url,
            telegram_webhook_url="https://bot.example.com",
            telegram_webhook_host="127.0.0.1",
            telegram_webhook_port=port,
        )
        core = await make_core(settings=settings)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop, core))
        try:
            await fake.wait_for("setWebhook", timeout=30)

            async def ready() -> bool:
                return (await get(f"http://127.0.0.1:{port}/readyz"))[0] == 200

            await until(ready)
            status, text, _ = await get(f"http://127.0.0.1:{port}/metrics")
            assert status == 200 and "supportbot_open_cases 0.0" in text
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_docker_healthcheck_command(core):
    """`python -m bots.health` (the image's HEALTHCHECK): 0 when /healthz answers, else 1."""
    health = Health(core)
    port = await health.start("127.0.0.1", 0)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HEALTH_PORT": str(port)}
    try:
        ok = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bots.health"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (ok.returncode, ok.stderr) == (0, "")
    finally:
        await health.stop()
    down = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bots.health"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1
    assert down.stderr.startswith(f"http://127.0.0.1:{port}/healthz: ")


async def test_liveness_answers_before_the_database_and_the_model(tmp_path):
    """Issue 20: `python -m bots` serves /healthz while the start still waits (here for a
    PostgreSQL server that is not there), and /readyz says what it waits for. Before, the
    health server started only after the database and the model were ready."""
    port, database = free_port(), free_port()  # nothing listens on `database`
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "DATA_DIR": str(tmp_path / "data"),
        "TELEGRAM_BOT_TOKEN": "123456789:AAHk-fake_token_for_health_tests_0001",
        "OPERATORS_CHAT_ID": str(OPS),
        "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{database}/x",
        "DATABASE_WAIT_SECONDS": "600",
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(port),
    }
    started = asyncio.get_running_loop().time()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots", env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    try:

        async def alive() -> bool:
            try:
                return (await get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
            except aiohttp.ClientError:
                return False

        await until(alive, limit=60)
        print(f"/healthz answered {asyncio.get_running_loop().time() - started:.2f} s after launch")
        assert await get(f"http://127.0.0.1:{port}/readyz") == (
            503,
            "not ready: waiting for the database\n",
            "text/plain; charset=utf-8",
        )
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
