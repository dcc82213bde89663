"""Telegram adapter under load: many customers writing at once through the fake Bot API.

Each simulated customer sends a four-message dialog (greeting, order question, the order
number, thanks), each message after the answer to the previous one, all customers at
once. Prints messages per second and p50/p99 time from update to reply for the real bot
(engine + SQLite + aiogram), then for a bare aiogram echo bot on the same fake with the
same load, and the ratio between them. Median of `--runs` runs.

    .venv/bin/python bench/telegram_bench.py [--customers 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from bots.main import serve
from config.settings import load_settings
from core.app import build_core, classifier_for
from tests.fakes.telegram_api import FakeTelegramAPI

DIALOG = ("здравствуйте", "где мой заказ", "12345678-0001", "спасибо большое")
OPS = -1009000000001


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


async def drive(fake: TimedFake, customers: int) -> tuple[float, list[float]]:
    """All customers talk at once; returns (elapsed seconds, per-message latencies)."""
    latencies: list[float] = []

    async def customer(chat: int) -> None:
        for step, text in enumerate(DIALOG):
            sent = time.perf_counter()
            fake.private_message(chat, text)
            while len(fake.replies[chat]) <= step:
                fake.arrived[chat].clear()
                await asyncio.wait_for(fake.arrived[chat].wait(), 30)
            latencies.append(fake.replies[chat][step] - sent)

    started = time.perf_counter()
    await asyncio.gather(*(customer(1_000_000 + i) for i in range(customers)))
    return time.perf_counter() - started, latencies


async def run_support_bot(customers: int, classifier: Any) -> tuple[float, list[float]]:
    async with TimedFake() as fake:
        fake.add_chat(OPS, is_forum=True)
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(
                _env_file=None,
                database_url=f"sqlite:///{tmp}/bench.db",
                data_dir=Path(tmp),
                telegram_bot_token=fake.token,
                telegram_api_url=fake.base_url,
                operators_chat_id=OPS,
            )
            core = await build_core(settings, classifier=classifier)
            stop = asyncio.Event()
            task = asyncio.create_task(serve(settings, stop, core))
            await fake.wait_for("getUpdates", timeout=10)
            try:
                return await drive(fake, customers)
            finally:
                stop.set()
                await task


async def run_echo_bot(customers: int) -> tuple[float, list[float]]:
    async with TimedFake() as fake:
        bot = Bot(
            fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        )
        dispatcher = Dispatcher()

        @dispatcher.message(F.text)
        async def echo(message: Message) -> None:
            await message.answer(message.text or "")

        task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
        await fake.wait_for("getUpdates", timeout=10)
        try:
            return await drive(fake, customers)
        finally:
            await dispatcher.stop_polling()
            await task
            await bot.session.close()


def figures(elapsed: float, latencies: list[float], customers: int) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return customers * len(DIALOG) / elapsed, statistics.median(ordered) * 1000, p99 * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        classifier = classifier_for(load_settings(_env_file=None, data_dir=Path(tmp)))
    results: dict[str, list[tuple[float, float, float]]] = {"support bot": [], "echo bot": []}
    for _ in range(args.runs):
        results["support bot"].append(
            figures(*await run_support_bot(args.customers, classifier), args.customers)
        )
        results["echo bot"].append(figures(*await run_echo_bot(args.customers), args.customers))
    print(f"{args.customers} customers x {len(DIALOG)} messages, median of {args.runs} runs")
    print(f"{'':<12} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    medians = {}
    for name, rows in results.items():
        medians[name] = tuple(statistics.median(r[i] for r in rows) for i in range(3))
        rate, p50, p99 = medians[name]
        print(f"{name:<12} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f}")
    ours, echo = medians["support bot"], medians["echo bot"]
    print(
        f"ratio support/echo: throughput {ours[0] / echo[0]:.2f}x, "
        f"p50 latency {ours[1] / echo[1]:.2f}x, p99 latency {ours[2] / echo[2]:.2f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
