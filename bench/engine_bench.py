"""Engine throughput: many customers talking at once through `core.engine.handle`.

    .venv/bin/python bench/engine_bench.py [--customers 200] [--runs 3]

Each simulated customer sends a 5-message dialog (order status with a number, a
follow-up question, a complaint or an operator request, thanks…), one message after the
other; all customers run concurrently on one event loop against a real SQLite file in a
temporary folder (a fresh one per run). Printed: messages per second and p50/p99 latency
of one `handle` call (median of the runs), then the same for a "bare" baseline that only
classifies each message, so the ratio shows what the engine's storage and dialog cost.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config.settings import load_settings  # noqa: E402
from core.app import build_core  # noqa: E402
from core.knowledge.base import KnowledgeBase  # noqa: E402
from core.nlu import IntentClassifier, load_classifier  # noqa: E402
from core.types import TELEGRAM, VK, Inbound  # noqa: E402

DIALOGS: tuple[tuple[str, ...], ...] = (
    (
        "здравствуйте",
        "подскажите когда приедет моя посылка",
        "12345678-0001",
        "а можно перенести доставку на субботу",
        "спасибо большое",
    ),
    (
        "добрый вечер",
        "как вернуть кроссовки которые не подошли",
        "а деньги когда придут",
        "87654321-0010",
        "понятно, спасибо",
    ),
    (
        "курьер нахамил мне по телефону",
        "55512345-0007",
        "опоздал на два часа и грубил",
        "жду ответа",
        "вы тут?",
    ),
    (
        "промокод на первую покупку не применяется",
        "а баллы за отзыв когда начислят",
        "соедините с живым сотрудником",
        "номер заказа 11223344-0005",
        "спасибо",
    ),
)

Handler = Callable[[Inbound], Awaitable[object]]


@dataclass
class RunResult:
    messages: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def simulate(handle: Handler, customers: int) -> RunResult:
    latencies: list[float] = []

    async def customer(n: int) -> None:
        channel = TELEGRAM if n % 2 else VK
        for step, text in enumerate(DIALOGS[n % len(DIALOGS)]):
            inbound = Inbound(channel, f"user{n}", text=text, external_id=f"{channel}:{n}:{step}")
            started = time.perf_counter()
            await handle(inbound)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(customer(n) for n in range(customers)))
    elapsed = time.perf_counter() - started
    return RunResult(len(latencies), elapsed, latencies)


async def engine_run(classifier: IntentClassifier, customers: int) -> RunResult:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/bench.db",
            data_dir=Path(folder) / "data",
            work_hours_start="00:00",
            work_hours_end="00:00",
        )
        core = await build_core(settings, classifier=classifier)
        try:
            result = await simulate(core.engine.handle, customers)
            tickets = len(await core.storage.tickets.all())
        finally:
            await core.close()
    if tickets == 0:
        raise SystemExit("the dialogs opened no tickets: the benchmark is not exercising them")
    return result


async def bare_run(classifier: IntentClassifier, customers: int) -> RunResult:
    async def classify_only(inbound: Inbound) -> object:
        prediction = classifier.predict(inbound.text)
        await asyncio.sleep(0)  # one hand-over to the loop, like any awaited call
        return prediction

    return await simulate(classify_only, customers)


def summarize(results: list[RunResult]) -> tuple[float, float, float]:
    best = statistics.median(r.rate for r in results)
    p50 = statistics.median(statistics.median(r.latencies_ms) for r in results)
    p99 = statistics.median(percentile(r.latencies_ms, 99) for r in results)
    return best, p50, p99


async def sequential_latency(classifier: IntentClassifier, messages: int) -> list[float]:
    """One customer at a time: the latency of `handle` without queueing behind others."""
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/bench.db",
            data_dir=Path(folder) / "data",
        )
        core = await build_core(settings, classifier=classifier)
        latencies = []
        try:
            for n in range(messages // 5):
                for text in DIALOGS[n % len(DIALOGS)]:
                    started = time.perf_counter()
                    await core.engine.handle(Inbound(TELEGRAM, f"seq{n}", text=text))
                    latencies.append((time.perf_counter() - started) * 1000)
        finally:
            await core.close()
    return latencies


async def main_async(customers: int, runs: int) -> None:
    kb = KnowledgeBase.load(REPO / "config" / "knowledge")
    with tempfile.TemporaryDirectory() as folder:
        classifier = load_classifier(
            REPO / "config" / "nlu", cache_dir=Path(folder), vocabulary_texts=kb.all_texts()
        )
    engine = [await engine_run(classifier, customers) for _ in range(runs)]
    bare = [await bare_run(classifier, customers) for _ in range(runs)]
    sequential = await sequential_latency(classifier, 200)

    engine_rate, engine_p50, engine_p99 = summarize(engine)
    bare_rate, bare_p50, bare_p99 = summarize(bare)
    total = engine[0].messages
    print(
        f"Engine benchmark: {customers} customers x 5 messages = {total} messages, "
        f"concurrent, SQLite file (median of {runs} runs)"
    )
    print("-" * 66)
    print(f"{'':<26} {'msg/s':>10} {'p50 ms':>10} {'p99 ms':>10}")
    rows = (
        ("engine.handle", engine_rate, engine_p50, engine_p99),
        ("bare classify (baseline)", bare_rate, bare_p50, bare_p99),
    )
    for name, rate, p50, p99 in rows:
        print(f"{name:<26} {rate:>10.0f} {p50:>10.3f} {p99:>10.3f}")
    print("-" * 66)
    print(f"engine / bare throughput: {engine_rate / bare_rate:.3f} (storage + dialog cost)")
    print(
        f"one customer at a time ({len(sequential)} messages): "
        f"p50 {statistics.median(sequential):.2f} ms, p99 {percentile(sequential, 99):.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main_async(args.customers, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
