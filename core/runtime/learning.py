"""Learning from conversations: what the bot did not understand, operators' labels,
retraining, and a running bot picking up a new model without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.atomic import read_and_touch, write_atomically
from core.nlu import IntentClassifier, load_classifier
from core.nlu.normalize import Normalizer
from core.storage import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unrecognized:
    normalized: str
    count: int
    example: str
    intent: str | None
    confidence: float | None


async def unrecognized(
    storage: Storage, normalizer: Normalizer, min_confidence: float, limit: int = 50
) -> list[Unrecognized]:
    """Customer messages the bot did not understand (out of scope or below the confidence
    threshold), grouped by their normalised text, most frequent first."""
    counts: Counter[str] = Counter()
    examples: dict[str, tuple[str, str | None, float | None]] = {}
    for message in await storage.messages.customer_messages():
        if message.intent is None or not message.text.strip():
            continue
        understood = (
            message.intent != "out_of_scope" and (message.confidence or 0) >= min_confidence
        )
        if understood:
            continue
        key = normalizer.normalize(message.text) or message.text.strip().lower()
        counts[key] += 1
        examples.setdefault(key, (message.text, message.intent, message.confidence))
    return [Unrecognized(key, count, *examples[key]) for key, count in counts.most_common(limit)]


class ModelUser(Protocol):
    """What runs the intent model (the dialog): its `classifier` is swapped in place."""

    classifier: IntentClassifier


class ModelWatcher:
    """Swaps the dialog's classifier when `supportbot train` publishes a new model (in the
    database, so every replica on every machine follows)."""

    def __init__(self, dialog: ModelUser, cache_dir: Path, storage: Storage) -> None:
        self.dialog = dialog
        self.cache_dir = cache_dir
        self.storage = storage

    async def check(self) -> bool:
        key = await self.storage.models.published()
        if not key or key == self.dialog.classifier.fingerprint:
            return False
        path = await fetch_model(self.storage, key, self.cache_dir)
        if path is None:
            return False
        loaded = await asyncio.to_thread(IntentClassifier.load, path)
        if loaded is None:
            return False
        loaded.fingerprint = key
        self.dialog.classifier = loaded
        log.info("switched to the retrained intent model %s", key)
        return True

    async def run_forever(self, stop: asyncio.Event, every: float = 30.0) -> None:
        while not stop.is_set():
            try:
                await self.check()
            except Exception:
                log.exception("model check failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


async def fetch_model(storage: Storage, key: str, cache_dir: Path) -> Path | None:
    """The cached file of model `key`, copied from the database when only it has it."""
    path = cache_dir / f"intent-model-{key}.pkl"
    if path.exists():
        return path
    data = await storage.models.load(key)
    if data is None:
        return None
    await asyncio.to_thread(write_atomically, path, data)
    return path


async def publish_model(
    storage: Storage, classifier: IntentClassifier, cache_dir: Path, now: float
) -> bool:
    """Make `classifier` the model every replica runs (unless it is already)."""
    if not classifier.fingerprint or await storage.models.published() == classifier.fingerprint:
        return False
    path = cache_dir / f"intent-model-{classifier.fingerprint}.pkl"
    if not path.exists():
        await asyncio.to_thread(classifier.save, path)
    data = await asyncio.to_thread(read_and_touch, path)
    async with storage.transaction() as tx:
        await tx.models.publish(classifier.fingerprint, data, now)
    return True


async def retrain(
    storage: Storage, nlu_dir: Path, cache_dir: Path, vocabulary_texts: list[str]
) -> IntentClassifier:
    """Train on the shipped phrases plus every operator label, and publish the model."""
    labelled = await storage.labels.examples()
    model = await asyncio.to_thread(
        load_classifier, nlu_dir, cache_dir, labelled, vocabulary_texts, True
    )
    await publish_model(storage, model, cache_dir, time.time())
    return model
