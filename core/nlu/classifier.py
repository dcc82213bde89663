"""The intent classifier: TF-IDF over character and word n-grams of the normalised text
and a linear SVM (scikit-learn); confidence is the softmax of its scores, with a
temperature fitted on cross-validated scores of the training phrases (so 0.8 means
about 80% of such answers are right)."""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from core.nlu.dataset import Example
from core.nlu.normalize import Normalizer

OUT_OF_SCOPE = "out_of_scope"
MODEL_FORMAT = 2
TEMPERATURES = tuple(float(t) for t in (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20))


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    normalized: str


def build_pipeline() -> Pipeline:
    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b",
                ),
            ),
        ]
    )
    model = LinearSVC(C=1.0)
    return Pipeline([("features", features), ("model", model)])


class IntentClassifier:
    """Trained once; `predict` scores one message without building sparse matrices.

    scikit-learn's own `predict_proba` costs about a millisecond per call in overhead, so
    the same arithmetic (the fitted analyzers, vocabularies and idf weights, then the
    linear model and softmax) is done directly; `pipeline.predict_proba` stays the
    reference and a test checks both agree.
    """

    def __init__(self, pipeline: Pipeline, normalizer: Normalizer, temperature: float) -> None:
        self.pipeline = pipeline
        self.normalizer = normalizer
        self.temperature = temperature
        self.fingerprint = ""  # what it was trained from (set by load_classifier)
        self.intents: list[str] = [str(c) for c in pipeline.classes_]
        self._prepare_fast_path()

    def _prepare_fast_path(self) -> None:
        union: FeatureUnion = self.pipeline.named_steps["features"]
        model: LinearSVC = self.pipeline.named_steps["model"]
        weights = np.ascontiguousarray(model.coef_.T)  # (features, intents)
        self._parts: list[tuple[object, dict[str, int], np.ndarray, int]] = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            self._parts.append((vectorizer.build_analyzer(), vocabulary, vectorizer.idf_, offset))
            offset += len(vocabulary)
        self._weights = weights
        self._intercept = np.asarray(model.intercept_, dtype=float)

    def __getstate__(self) -> dict[str, object]:
        return {
            "pipeline": self.pipeline,
            "normalizer": self.normalizer,
            "temperature": self.temperature,
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        self.pipeline = state["pipeline"]
        self.normalizer = state["normalizer"]  # type: ignore[assignment]
        self.temperature = float(state["temperature"])  # type: ignore[arg-type]
        self.fingerprint = ""
        self.intents = [str(c) for c in self.pipeline.classes_]
        self._prepare_fast_path()

    def probabilities(self, normalized: str) -> np.ndarray:
        """P(intent) for one normalised text: softmax(temperature × SVM scores)."""
        logits = self._intercept.copy()
        for analyzer, vocabulary, idf, offset in self._parts:
            counts: dict[int, int] = {}
            for gram in analyzer(normalized):  # type: ignore[operator]
                index = vocabulary.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
            values = tf * idf[indices]
            values /= np.sqrt(values @ values)
            logits += values @ self._weights[indices + offset]
        return softmax(logits * self.temperature)

    def reference_probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        """The same through scikit-learn's own (slower) code path, for checking."""
        scores = self.pipeline.decision_function(list(normalized))
        return np.vstack([softmax(row * self.temperature) for row in scores])

    @classmethod
    def train(cls, examples: Sequence[Example], normalizer: Normalizer) -> IntentClassifier:
        texts = [normalizer.normalize(text) for text, _ in examples]
        labels = [intent for _, intent in examples]
        pipeline = build_pipeline()
        temperature = fit_temperature(pipeline, texts, labels)
        pipeline.fit(texts, labels)
        return cls(pipeline, normalizer, temperature)

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        return [self._predict_normalized(self.normalizer.normalize(text)) for text in texts]

    def _predict_normalized(self, normalized: str) -> Prediction:
        if not _has_letters(normalized):
            return Prediction(OUT_OF_SCOPE, 0.0, normalized)
        probabilities = self.probabilities(normalized)
        best = int(np.argmax(probabilities))
        return Prediction(self.intents[best], float(probabilities[best]), normalized)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps({"format": MODEL_FORMAT, "classifier": self}))
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> IntentClassifier | None:
        try:
            raw = pickle.loads(path.read_bytes())  # our own file, written by save()
        except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError):
            return None
        if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
            return None
        classifier = raw.get("classifier")
        return classifier if isinstance(classifier, IntentClassifier) else None


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def fit_temperature(pipeline: Pipeline, texts: list[str], labels: list[str]) -> float:
    """The temperature whose softmax best predicts held-out folds (lowest log-loss)."""
    smallest_class = min(labels.count(label) for label in set(labels))
    folds = min(3, smallest_class)
    if folds < 2:
        return 5.0
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores = cross_val_predict(pipeline, texts, labels, cv=splitter, method="decision_function")
    classes = sorted(set(labels))
    truth = np.array([classes.index(label) for label in labels])
    best, best_loss = 5.0, float("inf")
    for temperature in TEMPERATURES:
        scaled = scores * temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        loss = float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))
        if loss < best_loss:
            best, best_loss = temperature, loss
    return best


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def fingerprint(
    examples: Sequence[Example], slang: dict[str, str], vocabulary_texts: Sequence[str] = ()
) -> str:
    """A hash of everything the model is built from (phrases, slang, the extra texts its
    layout-repair vocabulary reads), naming its cache file."""
    digest = hashlib.sha256()
    digest.update(f"format={MODEL_FORMAT}".encode())
    for text, intent in examples:
        digest.update(f"{intent}\t{text}\n".encode())
    for key in sorted(slang):
        digest.update(f"{key}={slang[key]}\n".encode())
    for text in vocabulary_texts:
        digest.update(f"v\t{text}\n".encode())
    return digest.hexdigest()[:16]
