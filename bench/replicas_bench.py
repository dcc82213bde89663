"""Replicas on PostgreSQL: throughput with 1, 2 and 3 `python -m bots` processes.

Each replica is a real process in webhook mode on one throw-away PostgreSQL database (the
same server for every configuration, a fresh database each time). Customers talk at once,
each message after the answer to the previous one; a load balancer (this script) spreads
the updates over the replicas round robin, so one customer's messages land on different
replicas. Prints messages per second and p50/p99 time from update to answer for each
replica count, measured one after another in one run (median of `--runs`).

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
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config.settings import load_settings  # noqa: E402
from core.app import classifier_for  # noqa: E402
from tests import postgres_server  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

DIALOG = ("здравствуйте", "где мой заказ", "12345678-0001", "спасибо большое")
OPS = -1009000000002
SECRET = "bench-secret"


class TimedFake(FakeTelegramAPI):
    """The fake, noting when each reply to a private chat arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[int, list[float]] = defaultdict(list)
        self.arrived: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def _api_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        result = super()._api_sendmessage(p)
        chat = p.get("chat_id")
        if isinstance(chat, int) and chat > 0:
            self.replies[chat].append(time.perf_counter())
            self.arrived[chat].set()
        return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_replica(
    database: str, fake: TimedFake, data: Path, models: Path
) -> tuple[asyncio.subprocess.Process, str]:
    shutil.copytree(models, data / "models")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VK_"))}
    env.update(
        DATABASE_URL=database,
        DATA_DIR=str(data),
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_URL=fake.base_url,
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
        cwd=str(REPO),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}/telegram/webhook"


async def run(
    replicas: int, customers: int, server: str, models: Path, tmp: Path
) -> tuple[float, list[float]]:
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    database = server.rsplit("/", 1)[0] + f"/{name}"
    async with TimedFake() as fake, aiohttp.ClientSession() as http:
        fake.add_chat(OPS, is_forum=True)
        started = [
            await start_replica(database, fake, tmp / f"{name}-{i}", models)
            for i in range(replicas)
        ]
        await fake.wait_for("setWebhook", count=replicas, timeout=180)
        urls = itertools.cycle([url for _, url in started])
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        latencies: list[float] = []

        async def customer(chat: int) -> None:
            for step, text in enumerate(DIALOG):
                update = fake.private_message(chat, text, push=False)
                sent = time.perf_counter()
                async with http.post(next(urls), json=update, headers=headers) as answer:
                    assert answer.status == 200, answer.status
                while len(fake.replies[chat]) <= step:
                    fake.arrived[chat].clear()
                    await asyncio.wait_for(fake.arrived[chat].wait(), 60)
                latencies.append(fake.replies[chat][step] - sent)

        began = time.perf_counter()
        await asyncio.gather(*(customer(2_000_000 + n) for n in range(customers)))
        elapsed = time.perf_counter() - began
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            await process.wait()
    return elapsed, latencies


async def main() -> None:
    parser = argparse.ArgumentParser()
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
        results: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
        with postgres_server.postgres_server() as server:
            for _ in range(args.runs):
                for count in (1, 2, 3):  # side by side in each round
                    elapsed, latencies = await run(count, args.customers, server, models, tmp)
                    ordered = sorted(latencies)
                    results[count].append(
                        (
                            args.customers * len(DIALOG) / elapsed,
                            statistics.median(ordered) * 1000,
                            ordered[int(len(ordered) * 0.99)] * 1000,
                        )
                    )
    print(f"{args.customers} customers x {len(DIALOG)} messages, median of {args.runs} runs")
    print(f"{'replicas':<10} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    base = None
    for count, rows in sorted(results.items()):
        rate, p50, p99 = (statistics.median(r[i] for r in rows) for i in range(3))
        base = base or rate
        print(f"{count:<10} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f}   ({rate / base:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main())
