"""Compare candidate intent models as the bot acts on them.

    .venv/bin/python bench/nlu_candidates.py [--only NAME ...] [--sets FILE ...] [--final]

Each candidate (a `ModelSpec` and the training phrase files) is trained on the shipped
phrases and scored on every set: the four outcomes of each message sent as a new
customer's first message through the real engine (`core.reports.nlu_outcomes`: answered right,
asked with the right topic among the buttons, asked without it, answered wrong) and the
classifier's top-1 / top-3. The real development set is read from `../shared/` beside the
checkout at run time (never copied here); the team's sets from `tests/data/`, with the
short conversations of `tests/data/nlu_scenarios.yaml` (`core.reports.nlu_scenarios`: the
outcome of each one's last message, after its context). The blind final set is scored
only with `--final`, and only its totals are printed. Nothing is trained on any of these
sets.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config.settings import load_settings  # noqa: E402
from core.knowledge.base import KnowledgeBase  # noqa: E402
from core.nlu import ModelSpec, training_examples  # noqa: E402
from core.nlu.classifier import IntentClassifier  # noqa: E402
from core.nlu.dataset import Example, load_tsv  # noqa: E402
from core.nlu.normalize import Normalizer, load_slang  # noqa: E402
from core.reports.nlu_outcomes import OUTCOMES, SHORT, act_on  # noqa: E402
from core.reports.nlu_scenarios import Scenario, act_on_scenarios, load_scenarios  # noqa: E402

NLU_DIR = REPO / "config" / "nlu"
REAL_DEV = REPO.parent / "shared" / "nlu_real_dev.tsv"
TEAM_SETS = (
    "nlu_real_dev.tsv",
    "nlu_eval_blind.tsv",
    "nlu_eval_final.tsv",
    "nlu_eval.tsv",
    "nlu_eval_layout.tsv",
)
FINAL = "nlu_real_final.tsv"
SCENARIOS = "nlu_scenarios.yaml"
SHIPPED = ModelSpec()
PHASE_1 = replace(SHIPPED, vector_weight=1.0)  # the model of issue 21's first phase
BEFORE = ("training.yaml", "training_long.yaml")
CLOSE = (*BEFORE, "training_close.yaml")
REAL = (*CLOSE, "training_real.yaml")
# name: (spec, training phrase files)
CANDIDATES: dict[str, tuple[ModelSpec, tuple[str, ...]]] = {
    "before (issue 10)": (PHASE_1, BEFORE),
    "+ close-intent phrases (phase 1)": (PHASE_1, CLOSE),
    "+ real-style phrases": (PHASE_1, REAL),
    "+ real, vectors x0.5 (shipped)": (SHIPPED, REAL),
    "... confidence x0.5": (replace(SHIPPED, confidence_scale=0.5), REAL),
    "... confidence x0.6": (replace(SHIPPED, confidence_scale=0.6), REAL),
    "... no word vectors": (replace(SHIPPED, parts=("chars", "lemmas")), REAL),
    "... + word n-grams": (replace(SHIPPED, parts=("chars", "words", "lemmas", "vectors")), REAL),
    "... logistic regression C=10": (replace(SHIPPED, model="logreg", c=10.0), REAL),
    "... SVM C=0.5": (replace(SHIPPED, c=0.5), REAL),
    "... best piece weighed 0.2": (replace(SHIPPED, piece_weight=0.2), REAL),
    "... clear piece promoted (0.4)": (replace(SHIPPED, promote_piece=0.4), REAL),
}


def load_sets(names: list[str], final: bool) -> dict[str, list[Example] | list[Scenario]]:
    sets: dict[str, list[Example] | list[Scenario]] = {}
    if REAL_DEV.exists():
        sets["real dev (shared, 95)"] = load_tsv(REAL_DEV)
    for name in names:
        path = REPO / "tests" / "data" / name
        if path.exists():
            sets[name] = load_scenarios(path) if path.suffix == ".yaml" else load_tsv(path)
    if final:
        sets[FINAL + " (blind: totals only)"] = load_tsv(REPO / "tests" / "data" / FINAL)
    return sets


async def score(
    label: str,
    model: IntentClassifier,
    sets: dict[str, list[Example] | list[Scenario]],
    folder: Path,
) -> None:
    settings = load_settings(
        _env_file=None, data_dir=folder, database_url=f"sqlite:///{folder / 'unused.db'}"
    )
    for name, examples in sets.items():
        if name.endswith(".yaml"):
            report = await act_on_scenarios(settings, model, examples)  # type: ignore[arg-type]
        else:
            report = await act_on(settings, model, examples)  # type: ignore[arg-type]
        shares = " ".join(f"{report.share(o):>7.1%}" for o in OUTCOMES)
        print(
            f"{label:<34} {name[:30]:<30} {report.total:>4} {shares} "
            f"{report.right_or_button:>7.1%} {report.top1:>6.3f} {report.top3:>6.3f}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="*", default=[*TEAM_SETS, SCENARIOS])
    parser.add_argument("--only", nargs="*", default=None, help="candidate names")
    parser.add_argument("--final", action="store_true", help="also the blind final set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    vocabulary = KnowledgeBase.load(REPO / "config" / "knowledge").all_texts()
    slang = load_slang(NLU_DIR / "slang.yaml")
    sets = load_sets(args.sets, args.final)
    print(
        f"{'candidate':<34} {'set':<30} {'n':>4} "
        + " ".join(f"{SHORT[o]:>7}" for o in OUTCOMES)
        + f" {'right+':>7} {'top-1':>6} {'top-3':>6}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for label, (spec, files) in CANDIDATES.items():
            if args.only and label not in args.only:
                continue
            started = time.perf_counter()
            examples = training_examples(NLU_DIR, files)
            # The layout-repair vocabulary as `load_classifier` builds it for these phrases.
            normalizer = Normalizer.from_texts([t for t, _ in examples] + vocabulary, slang)
            model = IntentClassifier.train(examples, normalizer, spec)
            print(f"({label}: trained in {time.perf_counter() - started:.1f} s)", flush=True)
            asyncio.run(score(label, model, sets, Path(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
