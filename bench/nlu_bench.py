"""NLU benchmark: model load and training time, per-message latency, accuracy.

    .venv/bin/python bench/nlu_bench.py [--runs 3] [--passes 3]

Runs on one core (OMP/BLAS threads pinned to 1) and prints a compact table:
- load from cache / cold training: median of `--runs` (each cold run in a fresh folder);
- latency of `classifier.predict(text)` per message over the eval set (`--passes` passes);
- accuracy and macro-F1 on tests/data/nlu_eval.tsv and nlu_eval_layout.tsv (held out:
  read here only to score the model, never to train it).
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.knowledge import KnowledgeBase  # noqa: E402
from core.nlu import IntentClassifier, load_classifier  # noqa: E402
from core.nlu.dataset import load_tsv  # noqa: E402
from core.nlu.evaluate import evaluate  # noqa: E402

NLU_DIR = REPO / "config" / "nlu"
KNOWLEDGE_DIR = REPO / "config" / "knowledge"
EVAL_FILES = (
    "nlu_eval.tsv",
    "nlu_eval_layout.tsv",
    "nlu_eval_blind.tsv",
    "nlu_eval_final.tsv",
)


def pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        except OSError:
            pass


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_training(vocabulary: list[str], runs: int) -> tuple[float, IntentClassifier]:
    timings = []
    model = None
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            model = load_classifier(NLU_DIR, cache_dir=Path(folder), vocabulary_texts=vocabulary)
            timings.append(time.perf_counter() - started)
    assert model is not None
    return statistics.median(timings), model


def time_loading(vocabulary: list[str], runs: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder)
        load_classifier(NLU_DIR, cache_dir=cache, vocabulary_texts=vocabulary)  # fills it
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            load_classifier(NLU_DIR, cache_dir=cache, vocabulary_texts=vocabulary)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def time_predictions(model: IntentClassifier, texts: list[str], passes: int) -> list[float]:
    for text in texts[:50]:  # warm-up
        model.predict(text)
    latencies = []
    clock = time.perf_counter_ns
    for _ in range(passes):
        for text in texts:
            started = clock()
            model.predict(text)
            latencies.append((clock() - started) / 1e6)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs for load/training medians")
    parser.add_argument("--passes", type=int, default=3, help="passes over the eval set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pin_to_one_core()

    vocabulary = KnowledgeBase.load(KNOWLEDGE_DIR).all_texts()
    train_s, model = time_training(vocabulary, args.runs)
    load_s = time_loading(vocabulary, args.runs)

    sets = {}
    for name in EVAL_FILES:
        path = REPO / "tests" / "data" / name
        if path.exists():
            sets[name] = load_tsv(path)
    texts = [text for examples in sets.values() for text, _ in examples]
    latencies = time_predictions(model, texts, args.passes)

    width = 34
    print(f"NLU benchmark (one core, {len(model.intents)} intents)")
    print("-" * (width + 22))
    median_of = f"(median of {args.runs})"
    print(f"{'cold training ' + median_of:<{width}} {train_s:>10.2f} s")
    print(f"{'load from cache ' + median_of:<{width}} {load_s * 1000:>10.1f} ms")
    print(
        f"{'predict latency, ' + str(len(latencies)) + ' calls':<{width}} "
        f"p50 {statistics.median(latencies):.3f} ms  "
        f"p90 {percentile(latencies, 90):.3f} ms  "
        f"p99 {percentile(latencies, 99):.3f} ms"
    )
    print(f"{'throughput (1 core)':<{width}} {1000 / statistics.mean(latencies):>10.0f} msg/s")
    print("-" * (width + 22))
    print(f"{'eval set':<{width}} {'n':>5} {'accuracy':>9} {'macro-F1':>9}")
    for name, examples in sets.items():
        result = evaluate(model, examples)
        print(f"{name:<{width}} {result.total:>5} {result.accuracy:>9.3f} {result.macro_f1:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
