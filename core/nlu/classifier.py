"""The intent classifier.

Features (`core.nlu.features`): TF-IDF over character n-grams of the normalised text and
over its dictionary forms (pymorphy3), beside the mean of pretrained Russian word vectors
(navec). A linear SVM over them; confidence is the softmax of its scores with a
temperature fitted on cross-validated scores of the training phrases.

A message of several sentences or clauses (`core.nlu.segments`) is also scored piece by
piece: pieces that are only a greeting or thanks are dropped, the rest is scored as a
whole and beside its most confident piece, so a polite opening or a story does not
decide; a second request in another piece is reported as `Prediction.also`.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.atomic import read_and_touch, write_atomically
from core.nlu.dataset import Example
from core.nlu.features import SparsePart, VectorPart
from core.nlu.normalize import Normalizer
from core.nlu.segments import pieces

OUT_OF_SCOPE = "out_of_scope"
SOCIAL = frozenset({"greeting", "thanks"})
MODEL_FORMAT = 3
TEMPERATURES = tuple(float(t) for t in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15, 20))
# A piece whose best intent is a greeting or thanks at this probability is only manners.
SOCIAL_PIECE = 0.5
# A second request: another piece's intent at this probability (not manners, not the main).
SECOND_REQUEST = 0.6
NOT_SECOND = SOCIAL | {OUT_OF_SCOPE, "operator"}


@dataclass(frozen=True)
class ModelSpec:
    """What a model is built from; candidates are compared in bench/nlu_candidates.py."""

    parts: tuple[str, ...] = ("chars", "lemmas", "vectors")
    vector_weight: float = 1.0
    model: str = "svm"  # svm | logreg
    c: float = 1.0
    segments: bool = True
    # A message that reads as a greeting is answered as its other pieces say when they
    # ask for something with at least this probability (or as surely as the greeting).
    request_floor: float = 0.5
    piece_weight: float = 0.0  # how much the most confident piece counts beside the whole
    # When the whole message is scored below this and one piece above it, the piece is
    # averaged in (0: never).
    promote_piece: float = 0.0
    # Multiplies the temperature fitted on the training phrases: real messages are further
    # from them than their held-out folds, so the model is made less sure (chosen on the
    # development set of real-style messages, see README).
    confidence_scale: float = 0.55


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    normalized: str
    # The likeliest intents, best first, with their probabilities (at most five).
    ranked: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    # A second request in another part of the message (answered as a button).
    also: str | None = field(default=None, compare=False)


Part = SparsePart | VectorPart


class IntentClassifier:
    """Trained once (`train`); `predict` scores a message with dictionaries and numpy."""

    def __init__(
        self,
        spec: ModelSpec,
        parts: list[Part],
        weights: np.ndarray,
        intercept: np.ndarray,
        intents: list[str],
        normalizer: Normalizer,
        temperature: float,
    ) -> None:
        self.spec = spec
        self.parts = parts
        self.weights = np.ascontiguousarray(weights)  # (features, intents)
        self.intercept = np.asarray(intercept, dtype=float)
        self.intents = intents
        self.normalizer = normalizer
        self.temperature = temperature
        self.fingerprint = ""  # what it was trained from (set by load_classifier)
        self._offsets = np.cumsum([0] + [p.size for p in parts])[:-1].tolist()
        self._index = {name: number for number, name in enumerate(intents)}
        self._reference: Any = None  # scikit-learn's fitted model, in the training process

    def __getstate__(self) -> dict[str, object]:
        return {
            "spec": self.spec,
            "parts": self.parts,
            "weights": self.weights,
            "intercept": self.intercept,
            "intents": self.intents,
            "normalizer": self.normalizer,
            "temperature": self.temperature,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["spec"],
            state["parts"],
            state["weights"],
            state["intercept"],
            state["intents"],
            state["normalizer"],
            state["temperature"],
        )

    # ------------------------------------------------------------------ scoring
    def scores(self, normalized: str) -> np.ndarray:
        """The linear model's scores for one normalised text."""
        logits = self.intercept.copy()
        for part, offset in zip(self.parts, self._offsets, strict=True):
            if isinstance(part, SparsePart):
                indices, values = part.row(normalized)
                if len(indices):
                    logits += values @ self.weights[indices + offset]
            else:
                logits += part.row(normalized) @ self.weights[offset : offset + part.size]
        return logits

    def probabilities(self, normalized: str) -> np.ndarray:
        """P(intent) for one normalised text: softmax(temperature × scores)."""
        return softmax(self.scores(normalized) * self.temperature * self.spec.confidence_scale)

    def reference_probabilities(self, normalized: Sequence[str]) -> np.ndarray:
        """The same through scikit-learn's own code path (only in the process that
        trained the model), for checking the fast path."""
        if self._reference is None:
            raise RuntimeError("no scikit-learn model: this classifier was loaded from a file")
        scores = self._reference.decision_function(features(self.parts, list(normalized)))
        scale = self.temperature * self.spec.confidence_scale
        return np.vstack([softmax(row * scale) for row in scores])

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def warm_up(self) -> None:
        """Read the word vectors and the morphological dictionary now (they are loaded on
        first use), so the first customer does not wait for them."""
        self.predict("здравствуйте, где мой заказ")

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        return [self._predict_one(text) for text in texts]

    def _predict_one(self, text: str) -> Prediction:
        normalized = self.normalizer.normalize(text)
        if not _has_letters(normalized):
            return Prediction(OUT_OF_SCOPE, 0.0, normalized)
        whole = self.probabilities(normalized)
        also: str | None = None
        if self.spec.segments:
            whole, also = self._weigh_pieces(text, whole)
        order = np.argsort(-whole)[:5]
        ranked = tuple((self.intents[int(i)], float(whole[int(i)])) for i in order)
        best = ranked[0][0]
        return Prediction(best, ranked[0][1], normalized, ranked, also if also != best else None)

    def _weigh_pieces(self, text: str, whole: np.ndarray) -> tuple[np.ndarray, str | None]:
        """Manners and a second request: `whole` re-weighed by the message's pieces."""
        repaired = self.normalizer.repair(text)
        cut = [
            n for n in (self.normalizer.normalize(p) for p in pieces(repaired)) if _has_letters(n)
        ]
        if len(cut) < 2:
            return whole, None
        scored = [(piece, self.probabilities(piece)) for piece in cut]
        content = [(piece, p) for piece, p in scored if not self._is_manners(p)]
        if not content:
            return whole, None
        base = whole
        if len(content) < len(scored) and self.intents[int(np.argmax(whole))] == "greeting":
            # "Здравствуйте! В чате никто не отвечает": the greeting is not the request.
            rest = self.probabilities(" ".join(piece for piece, _ in content))
            asked = self.intents[int(np.argmax(rest))]
            if (
                asked not in SOCIAL
                and asked != OUT_OF_SCOPE
                and rest.max() >= min(self.spec.request_floor, whole.max())
            ):
                base = rest
        best_piece = max((p for _, p in content), key=self._request_strength)
        weight = self.spec.piece_weight
        if weight > 0:
            base = (1.0 - weight) * base + weight * best_piece
        promote = self.spec.promote_piece
        if promote and base.max() < promote <= self._request_strength(best_piece):
            # A diffuse message (a long story) with one clear request in it: that piece
            # says what is asked ("…а оно пришло с пятном. Что можно сделать?").
            base = 0.5 * (base + best_piece)
        main = int(np.argmax(base))
        also, strongest = None, 0.0
        for _, p in content:
            top = int(np.argmax(p))
            if top != main and self.intents[top] not in NOT_SECOND and p[top] >= SECOND_REQUEST:
                if p[top] > strongest:
                    also, strongest = self.intents[top], float(p[top])
        return base, also

    def _is_manners(self, p: np.ndarray) -> bool:
        return self.intents[int(np.argmax(p))] in SOCIAL and p.max() >= SOCIAL_PIECE

    def _request_strength(self, p: np.ndarray) -> float:
        top = self.intents[int(np.argmax(p))]
        return 0.0 if top == OUT_OF_SCOPE or top in SOCIAL else float(p.max())

    # ------------------------------------------------------------------ training
    @classmethod
    def train(
        cls, examples: Sequence[Example], normalizer: Normalizer, spec: ModelSpec | None = None
    ) -> IntentClassifier:
        spec = spec or ModelSpec()
        texts = [normalizer.normalize(text) for text, _ in examples]
        labels = [intent for _, intent in examples]
        temperature = fit_temperature(spec, texts, labels)
        parts, matrix = fit_parts(spec, texts)
        model = make_model(spec)
        model.fit(matrix, labels)
        classifier = cls(
            spec,
            parts,
            np.asarray(model.coef_, dtype=float).T,
            np.asarray(model.intercept_, dtype=float),
            [str(c) for c in model.classes_],
            normalizer,
            temperature,
        )
        classifier._reference = model
        return classifier

    def save(self, path: Path) -> None:
        write_atomically(path, pickle.dumps({"format": MODEL_FORMAT, "classifier": self}))

    @staticmethod
    def load(path: Path) -> IntentClassifier | None:
        try:
            raw = pickle.loads(read_and_touch(path))  # our own file, written by save()
        except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError):
            return None
        except (KeyError, TypeError, ValueError):  # a file of an older format
            return None
        if not isinstance(raw, dict) or raw.get("format") != MODEL_FORMAT:
            return None
        classifier = raw.get("classifier")
        return classifier if isinstance(classifier, IntentClassifier) else None


def fit_parts(spec: ModelSpec, texts: Sequence[str]) -> tuple[list[Part], Any]:
    """Fit each feature part on `texts`; the parts and the training matrix."""
    from scipy.sparse import csr_matrix, hstack

    parts: list[Part] = []
    matrices = []
    for kind in spec.parts:
        if kind == "vectors":
            vector_part = VectorPart(spec.vector_weight)
            parts.append(vector_part)
            matrices.append(csr_matrix(vector_part.transform(texts)))
        else:
            sparse_part, matrix = SparsePart.fit(kind, texts)
            parts.append(sparse_part)
            matrices.append(matrix)
    return parts, hstack(matrices).tocsr()


def features(parts: Sequence[Part], texts: Sequence[str]) -> Any:
    from scipy.sparse import csr_matrix, hstack

    return hstack(
        [
            p.transform(texts) if isinstance(p, SparsePart) else csr_matrix(p.transform(texts))
            for p in parts
        ]
    ).tocsr()


def make_model(spec: ModelSpec) -> Any:
    if spec.model == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=spec.c, max_iter=2000)
    from sklearn.svm import LinearSVC

    return LinearSVC(C=spec.c)


def cross_val_scores(
    spec: ModelSpec, texts: list[str], labels: list[str], folds: int = 3
) -> tuple[np.ndarray, list[str]] | None:
    """Scores of each training text by a model that did not see it (features refitted on
    each fold), with the sorted class names; None with too few phrases per intent."""
    from sklearn.model_selection import StratifiedKFold

    smallest = min(labels.count(label) for label in set(labels))
    folds = min(folds, smallest)
    if folds < 2:
        return None
    classes = sorted(set(labels))
    scores = np.zeros((len(texts), len(classes)))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for train_rows, test_rows in splitter.split(texts, labels):
        parts, matrix = fit_parts(spec, [texts[i] for i in train_rows])
        model = make_model(spec)
        model.fit(matrix, [labels[i] for i in train_rows])
        held_out = features(parts, [texts[i] for i in test_rows])
        scores[test_rows] = model.decision_function(held_out)
    return scores, classes


def fit_temperature(spec: ModelSpec, texts: list[str], labels: list[str]) -> float:
    """The temperature whose softmax best predicts held-out folds (lowest log-loss)."""
    result = cross_val_scores(spec, texts, labels)
    if result is None:
        return 5.0
    scores, classes = result
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


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def fingerprint(
    examples: Sequence[Example],
    slang: dict[str, str],
    vocabulary_texts: Sequence[str] = (),
    spec: ModelSpec | None = None,
) -> str:
    """A hash of everything the model is built from (phrases, slang, the extra texts its
    layout-repair vocabulary reads, the model's spec), naming its cache file."""
    digest = hashlib.sha256()
    digest.update(f"format={MODEL_FORMAT};spec={spec or ModelSpec()!r}".encode())
    for text, intent in examples:
        digest.update(f"{intent}\t{text}\n".encode())
    for key in sorted(slang):
        digest.update(f"{key}={slang[key]}\n".encode())
    for text in vocabulary_texts:
        digest.update(f"v\t{text}\n".encode())
    return digest.hexdigest()[:16]
