"""Replicas on PostgreSQL: throughput with 1, 2 and 3 `python -m bots` processes.

Each replica is a real process (`python -m bots`) in webhook mode on one throw-away
PostgreSQL database (the same server for every configuration, a fresh database each time),
sending through the fake Bot API in a process of its own (`bench/fake_bot_api.py`, as in
`bench/process_bench.py`). Customers talk at once, each message after the answer to the
previous one; a load balancer (this script) spreads the updates over the replicas round
robin, so one customer's messages land on different replicas. Prints messages per second
and p50/p99 time from update to answer for each replica count, measured one after another
in each run (median of `--runs`), and the CPU time per message of all replicas together.

    .venv/bin/python bench/replicas_bench.py [--customers 150] [--runs 3]

Needs PostgreSQL's programs (initdb, pg_ctl, postgres) on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from process_bench import OPS, FakeProcess, cpu_seconds  # noqa: E402

from config.settings import load_settings  # noqa: E402
from core.app import classifier_for  # noqa: E402
from tests import postgres_server  # noqa: E402

DIALOG = ("здравствуйте", "где мой заказ", "12345678-0001", "спасибо большое")
SECRET = "bench-secret"
FIRST_CHAT = 2_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_replica(
    database: str, fake: FakeProcess, data: Path, models: Path
) -> tuple[asyncio.subprocess.Process, str]:
    shutil.copytree(models, data / "models")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VK_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=database,
        DATA_DIR=str(data),
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.url,
        OPERATORS_CHAT_ID=str(OPS),
        TELEGRAM_WEBHOOK_URL="https://bot.example.com",
        TELEGRAM_WEBHOOK_HOST="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(port),
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        LOG_LEVEL="ERROR",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots",
        cwd=str(data),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}/telegram/webhook"


async def fresh_database(server: str) -> str:
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return server.rsplit("/", 1)[0] + f"/{name}"


async def run(
    replicas: int, customers: int, server: str, models: Path, tmp: Path
) -> tuple[float, list[float], float]:
    """(messages per second, latencies, CPU seconds of the replicas per message)."""
    database = await fresh_database(server)
    fake = await FakeProcess.start()
    started = []
    try:
        for index in range(replicas):
            data = tmp / f"{database.rsplit('/', 1)[1]}-{index}"
            started.append(await start_replica(database, fake, data, models))
        ready = await fake.call("/bench/calls", method="setWebhook", count=replicas, timeout=300)
        if not ready["done"]:
            raise SystemExit(f"{replicas} replicas: not every one set its webhook in 300 s")
        urls = itertools.cycle([url for _, url in started])
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        latencies: list[float] = []

        async def customer(http: aiohttp.ClientSession, chat: int) -> None:
            for step, text in enumerate(DIALOG):
                update = (await fake.call("/bench/update", chat=chat, text=text))["update"]
                sent = time.monotonic()
                async with http.post(next(urls), json=update, headers=headers) as answer:
                    assert answer.status == 200, answer.status
                got = await fake.call(
                    "/bench/settle", chat=chat, count=step + 1, quiet=0, timeout=120
                )
                if got["count"] <= step:
                    raise SystemExit(f"no answer to {text!r} within 120 s")
                latencies.append(got["at"][step] - sent)

        cpu = sum(cpu_seconds(process.pid) for process, _ in started)
        began = time.monotonic()
        async with aiohttp.ClientSession() as http:
            chats = range(FIRST_CHAT, FIRST_CHAT + customers)
            await asyncio.gather(*(customer(http, chat) for chat in chats))
        elapsed = time.monotonic() - began
        cpu = sum(cpu_seconds(process.pid) for process, _ in started) - cpu
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            await process.wait()
        await fake.stop()
    messages = customers * len(DIALOG)
    return messages / elapsed, latencies, cpu / messages


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if (why := postgres_server.available()) is not None:
        print(f"no PostgreSQL here: {why}")
        return
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        classifier = classifier_for(load_settings(_env_file=None, data_dir=tmp / "model"))
        models = tmp / "models"
        classifier.save(models / f"intent-model-{classifier.fingerprint}.pkl")
        results: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
        with postgres_server.postgres_server() as server:
            for number in range(1, args.runs + 1):
                for count in (1, 2, 3):  # side by side in each run
                    rate, latencies, cpu = await run(count, args.customers, server, models, tmp)
                    ordered = sorted(latencies)
                    p50 = statistics.median(ordered) * 1000
                    p99 = ordered[int(len(ordered) * 0.99)] * 1000
                    results[count].append((rate, p50, p99, cpu * 1000))
                    print(
                        f"run {number} {count} replicas: {rate:.1f} msg/s, p50 {p50:.0f} ms, "
                        f"p99 {p99:.0f} ms, CPU {cpu * 1000:.2f} ms/msg",
                        flush=True,
                    )
    print(f"\n{args.customers} customers x {len(DIALOG)} messages, median of {args.runs} runs")
    print(f"{'replicas':<10} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/msg':>11}")
    base = None
    for count, rows in sorted(results.items()):
        rate, p50, p99, cpu = (statistics.median(r[i] for r in rows) for i in range(4))
        base = base or rate
        print(
            f"{count:<10} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f} {cpu:>11.2f}   ({rate / base:.2f}x)"
        )


if __name__ == "__main__":
    asyncio.run(main())
