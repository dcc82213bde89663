"""What personal-data handling costs (issue 18), measured side by side in one process.

    .venv/bin/python bench/privacy_bench.py [--rounds 10] [--messages 200]

- A turn with and without the privacy hook (`Engine.privacy`: the request detector before
  the dialog, the privacy line, the erasure check at commit): the same dialogs, one
  customer at a time, in alternating rounds on one SQLite file; the median per-message
  latency and CPU time of each, and their ratio.
- The detector alone on the dialogs' messages.
- One erasure: the salted hash (scrypt, off the event loop) and the transaction that
  erases a customer with a case and a dozen messages.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.engine_bench import DIALOGS  # noqa: E402
from config.settings import load_settings  # noqa: E402
from core.app import Core, build_core  # noqa: E402
from core.knowledge.base import KnowledgeBase  # noqa: E402
from core.nlu import load_classifier  # noqa: E402
from core.privacy.erasure import BY_COMMAND  # noqa: E402
from core.types import TELEGRAM, Inbound  # noqa: E402


async def one_round(core: Core, tag: str, messages: int) -> tuple[list[float], float]:
    """`messages` turns, one customer at a time; wall latencies (ms) and CPU per turn (ms)."""
    latencies = []
    cpu = time.process_time()
    for n in range(messages // 5):
        for text in DIALOGS[n % len(DIALOGS)]:
            started = time.perf_counter()
            await core.engine.handle(Inbound(TELEGRAM, f"{tag}-{n}", text=text))
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies, (time.process_time() - cpu) * 1000 / len(latencies)


async def erasure_cost(core: Core) -> tuple[float, float]:
    """(hash ms, erasure transaction ms) for a customer with a case and some messages."""
    customer = Inbound(TELEGRAM, "erase-me", text="")
    for text in (*DIALOGS[2], "позовите оператора", "вот ещё подробности", "и фото"):
        await core.engine.handle(Inbound(TELEGRAM, "erase-me", text=text, name="Имя Фамилия"))
    started = time.perf_counter()
    request = await core.privacy.erasure.request(customer.customer, BY_COMMAND, "bench")
    hashed = (time.perf_counter() - started) * 1000
    conv = await core.storage.conversations.find(customer.customer)
    assert conv is not None
    started = time.perf_counter()
    async with core.storage.transaction() as tx:
        await core.privacy.erasure.erase_in(tx, conv.id, request)
    return hashed, (time.perf_counter() - started) * 1000


async def main_async(rounds: int, messages: int) -> None:
    kb = KnowledgeBase.load(REPO / "config" / "knowledge")
    with tempfile.TemporaryDirectory() as folder:
        classifier = load_classifier(
            REPO / "config" / "nlu", cache_dir=Path(folder), vocabulary_texts=kb.all_texts()
        )
        settings = load_settings(
            _env_file=None,
            database_url=f"sqlite:///{folder}/bench.db",
            data_dir=Path(folder) / "data",
            work_hours_start="00:00",
            work_hours_end="00:00",
        )
        core = await build_core(settings, classifier=classifier)
        hook = core.engine.privacy
        try:
            results: dict[str, list[tuple[list[float], float]]] = {"with": [], "without": []}
            for r in range(rounds):
                for mode in ("with", "without") if r % 2 else ("without", "with"):
                    core.engine.privacy = hook if mode == "with" else None
                    results[mode].append(await one_round(core, f"{mode}{r}", messages))
            core.engine.privacy = hook
            texts = [text for dialog in DIALOGS for text in dialog] * 200
            detector, normalize = hook.detector, hook.normalize  # type: ignore[union-attr]
            started = time.perf_counter()
            for text in texts:
                detector.ask(text, normalize)
            per_text = (time.perf_counter() - started) * 1e6 / len(texts)
            hashed, erased = await erasure_cost(core)
        finally:
            await core.close()
    print(f"Privacy benchmark: {rounds} alternating rounds x {messages} turns, one customer")
    print("at a time, SQLite file; medians of the rounds")
    print("-" * 66)
    print(f"{'':<22} {'p50 ms':>10} {'p90 ms':>10} {'CPU ms/turn':>12}")
    summary = {}
    for mode in ("without", "with"):
        p50 = statistics.median(statistics.median(lat) for lat, _ in results[mode])
        p90 = statistics.median(statistics.quantiles(lat, n=10)[-1] for lat, _ in results[mode])
        cpu = statistics.median(c for _, c in results[mode])
        summary[mode] = (p50, cpu)
        print(f"{'turn ' + mode + ' the hook':<22} {p50:>10.3f} {p90:>10.3f} {cpu:>12.3f}")
    print("-" * 66)
    print(
        f"with / without: p50 {summary['with'][0] / summary['without'][0]:.3f}, "
        f"CPU {summary['with'][1] / summary['without'][1]:.3f}"
    )
    print(f"detector alone: {per_text:.1f} us a message")
    print(f"one erasure: hash {hashed:.0f} ms (off the loop), transaction {erased:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main_async(args.rounds, args.messages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
