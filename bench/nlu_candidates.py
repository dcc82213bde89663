"""Compare candidate intent models on the held-out sets.

    .venv/bin/python bench/nlu_candidates.py [--sets nlu_real_dev.tsv ...] [--only NAME]

Each candidate (a `ModelSpec`, optionally with the long-message training phrases left
out) is trained on the shipped phrases and scored on every set: accuracy, the share
answered wrongly with confidence >= 0.5, the share sent to clarification. The sets are
read here only to score; nothing is trained on them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.knowledge.base import KnowledgeBase  # noqa: E402
from core.nlu import ModelSpec, training_examples  # noqa: E402
from core.nlu.classifier import IntentClassifier  # noqa: E402
from core.nlu.dataset import load_tsv  # noqa: E402
from core.nlu.evaluate import evaluate  # noqa: E402
from core.nlu.normalize import Normalizer, load_slang  # noqa: E402

NLU_DIR = REPO / "config" / "nlu"
DEFAULT_SETS = (
    "nlu_real_dev.tsv",
    "nlu_eval_blind.tsv",
    "nlu_eval_final.tsv",
    "nlu_eval.tsv",
    "nlu_eval_layout.tsv",
)
BASE = ModelSpec(parts=("chars", "words"), segments=False, confidence_scale=1.0)
SHORT_ONLY = ("training.yaml",)
CANDIDATES: dict[str, ModelSpec] = {
    "tfidf (before)": BASE,
    "tfidf+lemmas": replace(BASE, parts=("chars", "words", "lemmas")),
    "chars+lemmas": replace(BASE, parts=("chars", "lemmas")),
    "tfidf+vectors": replace(BASE, parts=("chars", "words", "vectors")),
    "chars+lemmas+vectors": replace(BASE, parts=("chars", "lemmas", "vectors")),
    "chars+lemmas+vectors+pieces": replace(
        BASE, parts=("chars", "lemmas", "vectors"), segments=True
    ),
    "… + most confident piece mixed in (×0.2)": replace(
        BASE, parts=("chars", "lemmas", "vectors"), segments=True, piece_weight=0.2
    ),
    "… + most confident piece mixed in (×0.5)": replace(
        BASE, parts=("chars", "lemmas", "vectors"), segments=True, piece_weight=0.5
    ),
    "… + a clear piece promoted when the whole is unsure": replace(
        BASE, parts=("chars", "lemmas", "vectors"), segments=True, promote_piece=0.5
    ),
    "chars+lemmas+vectors+pieces, confidence ×0.55 (shipped)": ModelSpec(),
    "logreg chars+lemmas+vectors+pieces": replace(
        BASE, parts=("chars", "lemmas", "vectors"), segments=True, model="logreg", c=20.0
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="*", default=list(DEFAULT_SETS))
    parser.add_argument("--only", nargs="*", default=None, help="candidate names")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    all_examples = training_examples(NLU_DIR)
    short_examples = training_examples(NLU_DIR, SHORT_ONLY)
    slang = load_slang(NLU_DIR / "slang.yaml")
    vocabulary = KnowledgeBase.load(REPO / "config" / "knowledge").all_texts()
    normalizer = Normalizer.from_texts([t for t, _ in all_examples] + vocabulary, slang)
    sets = {}
    for name in args.sets:
        path = REPO / "tests" / "data" / name
        if path.exists():
            sets[name] = load_tsv(path)
    header = f"{'candidate':<52} {'train s':>7}"
    for name in sets:
        header += f" | {name[:22]:<22} acc  wrong≥.5 ask"
    print(header)
    runs = [(f"{label}, short phrases", spec, short_examples) for label, spec in CANDIDATES.items()]
    runs += [(f"{label}, + long phrases", spec, all_examples) for label, spec in CANDIDATES.items()]
    for label, spec, examples in runs:
        if args.only and not any(label.startswith(name) for name in args.only):
            continue
        started = time.perf_counter()
        model = IntentClassifier.train(examples, normalizer, spec)
        line = f"{label:<52} {time.perf_counter() - started:>7.1f}"
        for examples_set in sets.values():
            r = evaluate(model, examples_set)
            line += f" | {'':<22} {r.accuracy:.3f} {r.wrong_answered:6.1%} {r.clarified:5.1%}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
