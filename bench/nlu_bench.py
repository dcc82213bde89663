"""NLU benchmark: start-up, training time, per-message latency, accuracy.

    .venv/bin/python bench/nlu_bench.py [--runs 3] [--passes 3]

Runs on one core (OMP/BLAS threads pinned to 1) and prints a compact table:
- model ready at start-up from the cache: a fresh process imports `core.nlu`, loads the
  cached model and reads the word vectors and the dictionary (median of `--runs`), and
  the import of `core.nlu` alone;
- cold training: median of `--runs`, each in a fresh folder;
- latency of `classifier.predict(text)` per message over every eval set, long real-style
  messages included (`--passes` passes);
- per set: accuracy, macro-F1, the share answered wrongly with confidence >= 0.5 and the
  share sent to clarification (held out: read here only to score, never to train); the
  real development set is read from `../shared/` beside the checkout when it is there.
  The four outcomes as the bot acts are printed by `bench/nlu_candidates.py`.
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
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.knowledge.base import KnowledgeBase  # noqa: E402
from core.nlu import IntentClassifier, load_classifier  # noqa: E402
from core.nlu.dataset import load_tsv  # noqa: E402
from core.nlu.evaluate import evaluate  # noqa: E402

NLU_DIR = REPO / "config" / "nlu"
REAL_DEV = REPO.parent / "shared" / "nlu_real_dev.tsv"
KNOWLEDGE_DIR = REPO / "config" / "knowledge"
EVAL_FILES = (
    "nlu_real_dev.tsv",
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


STARTUP = """
import sys, time
started = time.perf_counter()
from pathlib import Path
sys.path.insert(0, {repo!r})
from core.knowledge.base import KnowledgeBase
from core.nlu import load_classifier
vocabulary = KnowledgeBase.load(Path({knowledge!r})).all_texts()
model = load_classifier(Path({nlu!r}), cache_dir=Path({cache!r}), vocabulary_texts=vocabulary)
print(time.perf_counter() - started)
"""
IMPORT = "import time; t = time.perf_counter(); import core.nlu; print(time.perf_counter() - t)"


def in_fresh_process(code: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def time_startup(vocabulary: list[str], runs: int) -> tuple[float, float]:
    """(model ready in a fresh process from the cache, import of core.nlu alone)."""
    with tempfile.TemporaryDirectory() as folder:
        load_classifier(NLU_DIR, cache_dir=Path(folder), vocabulary_texts=vocabulary)  # fills it
        code = STARTUP.format(
            repo=str(REPO), knowledge=str(KNOWLEDGE_DIR), nlu=str(NLU_DIR), cache=folder
        )
        ready = [in_fresh_process(code) for _ in range(runs)]
    imports = [in_fresh_process(IMPORT) for _ in range(runs)]
    return statistics.median(ready), statistics.median(imports)


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
    ready_s, import_s = time_startup(vocabulary, args.runs)

    sets = {}
    if REAL_DEV.exists():  # real people's messages: read at run time, never copied here
        sets["real dev (shared)"] = load_tsv(REAL_DEV)
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
    print(f"{'model ready from cache ' + median_of:<{width}} {ready_s * 1000:>10.1f} ms")
    print(f"{'  of which import core.nlu':<{width}} {import_s * 1000:>10.1f} ms")
    print(
        f"{'predict latency, ' + str(len(latencies)) + ' calls':<{width}} "
        f"p50 {statistics.median(latencies):.3f} ms  "
        f"p90 {percentile(latencies, 90):.3f} ms  "
        f"p99 {percentile(latencies, 99):.3f} ms"
    )
    print(f"{'throughput (1 core)':<{width}} {1000 / statistics.mean(latencies):>10.0f} msg/s")
    print("-" * (width + 22))
    print(
        f"{'eval set':<{width}} {'n':>5} {'accuracy':>9} {'macro-F1':>9} "
        f"{'wrong>=0.5':>10} {'asked':>7}"
    )
    for name, examples in sets.items():
        r = evaluate(model, examples)
        print(
            f"{name:<{width}} {r.total:>5} {r.accuracy:>9.3f} {r.macro_f1:>9.3f} "
            f"{r.wrong_answered:>10.1%} {r.clarified:>7.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
