"""Understanding customers: normalisation, wrong-layout repair, intent classification."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from core.atomic import remove_stale, stale_temporaries, write_atomically
from core.nlu.classifier import IntentClassifier, ModelSpec, Prediction, fingerprint
from core.nlu.dataset import Example, load_training
from core.nlu.normalize import Normalizer, load_slang

__all__ = [
    "IntentClassifier",
    "ModelSpec",
    "Prediction",
    "load_classifier",
    "training_examples",
]

log = logging.getLogger(__name__)
CURRENT = "current-model.txt"
# A cached model unused (neither written nor read) this long may be removed by `publish`.
MODEL_GRACE_SECONDS = 3600.0


TRAINING_FILES = ("training.yaml", "training_long.yaml", "training_close.yaml")


def training_examples(nlu_dir: Path, files: Sequence[str] = TRAINING_FILES) -> list[Example]:
    """The shipped phrases: short ones (`training.yaml`), long real-style messages
    (`training_long.yaml`) and phrases that tell close intents apart
    (`training_close.yaml`)."""
    examples: list[Example] = []
    for name in files:
        if (nlu_dir / name).exists() or name == TRAINING_FILES[0]:
            examples += load_training(nlu_dir / name)
    return examples


def model_key(
    nlu_dir: Path,
    extra_examples: Sequence[Example] = (),
    vocabulary_texts: Sequence[str] = (),
    spec: ModelSpec | None = None,
) -> str:
    """The fingerprint `load_classifier` would give the model built from these inputs."""
    examples = training_examples(nlu_dir) + list(extra_examples)
    return fingerprint(examples, load_slang(nlu_dir / "slang.yaml"), vocabulary_texts, spec)


def load_classifier(
    nlu_dir: Path,
    cache_dir: Path | None = None,
    extra_examples: Sequence[Example] = (),
    vocabulary_texts: Sequence[str] = (),
    publish_model: bool = False,
    spec: ModelSpec | None = None,
) -> IntentClassifier:
    """The classifier for the shipped phrases plus `extra_examples` (labelled by operators).

    A trained model is cached in `cache_dir` under a hash of what it was built from, so a
    restart loads it in a fraction of a second instead of training again. With
    `publish_model`, running bots are pointed at it (`supportbot train`); other cached
    models are left alone, so a command-line run never takes a bot's model away.
    """
    examples = training_examples(nlu_dir) + list(extra_examples)
    slang = load_slang(nlu_dir / "slang.yaml")
    key = fingerprint(examples, slang, vocabulary_texts, spec)
    cache = cache_dir / f"intent-model-{key}.pkl" if cache_dir is not None else None
    if cache is not None and cache.exists():
        loaded = IntentClassifier.load(cache)
        if loaded is not None:
            loaded.fingerprint = key
            loaded.warm_up()
            if publish_model:
                publish(cache.parent, key)
            return loaded
    started = time.perf_counter()
    normalizer = Normalizer.from_texts([t for t, _ in examples] + list(vocabulary_texts), slang)
    classifier = IntentClassifier.train(examples, normalizer, spec)
    log.info(
        "intent model trained on %d phrases in %.1f s", len(examples), time.perf_counter() - started
    )
    classifier.fingerprint = key
    if cache is not None:
        classifier.save(cache)
        if publish_model:
            publish(cache.parent, key)
    return classifier


def publish(cache_dir: Path, key: str) -> None:
    """Point running bots at the model `key` (they reload it without a restart), and
    drop cached models other than it and the one published before that no process has
    written or read for `MODEL_GRACE_SECONDS` (another process may be loading one, or
    about to publish the one it just trained). Safe with several processes at once: the
    pointer is written through a temporary file of its own and renamed into place."""
    previous = published(cache_dir)
    write_atomically(cache_dir / CURRENT, key)
    keep = {f"intent-model-{key}.pkl", f"intent-model-{previous}.pkl"}
    unused = [old for old in cache_dir.glob("intent-model-*.pkl") if old.name not in keep]
    leftovers = stale_temporaries(cache_dir) + list(cache_dir.glob("*.tmp"))
    remove_stale(unused + leftovers, MODEL_GRACE_SECONDS)


def published(cache_dir: Path) -> str | None:
    try:
        return (cache_dir / CURRENT).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
