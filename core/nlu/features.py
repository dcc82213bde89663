"""What the classifier sees in a normalised text: TF-IDF over character n-grams, over
words and over dictionary forms (lemmas), and the mean of pretrained word vectors.

Each part is fitted once with scikit-learn (imported only to train) and then computes one
message's features with plain dictionaries and numpy, so a bot that loads a trained model
never imports scikit-learn and one message costs a fraction of a millisecond.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from core.nlu.lemmas import lemmatize
from core.nlu.vectors import shared_vectors

Analyzer = Callable[[str], list[str]]


def char_grams(text: str) -> list[str]:
    """Character 2–5-grams inside words padded with spaces (scikit-learn's `char_wb`)."""
    grams: list[str] = []
    append = grams.append
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(2, 6):
            offset = 0
            append(padded[:n])
            while offset + n < length:
                offset += 1
                append(padded[offset : offset + n])
            if offset == 0:  # a word shorter than n: counted once
                break
    return grams


def word_grams(text: str) -> list[str]:
    """Words and pairs of neighbouring words."""
    tokens = text.split()
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def lemma_grams(text: str) -> list[str]:
    """Dictionary forms and pairs of them."""
    return word_grams(lemmatize(text))


ANALYZERS: dict[str, Analyzer] = {
    "chars": char_grams,
    "words": word_grams,
    "lemmas": lemma_grams,
}


class SparsePart:
    """TF-IDF (sublinear tf, l2-normalised) with a fitted vocabulary and idf weights."""

    def __init__(self, kind: str, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        self.kind = kind
        self.vocabulary = vocabulary
        self.idf = idf
        self.analyzer = ANALYZERS[kind]

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def fit(cls, kind: str, texts: Sequence[str]) -> tuple[SparsePart, Any]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer=ANALYZERS[kind], sublinear_tf=True)
        matrix = vectorizer.fit_transform(texts)
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        return cls(kind, vocabulary, np.asarray(vectorizer.idf_, dtype=float)), matrix

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix

        rows, cols, values = [], [], []
        for number, text in enumerate(texts):
            indices, weights = self.row(text)
            rows.extend([number] * len(indices))
            cols.extend(indices.tolist())
            values.extend(weights.tolist())
        return csr_matrix((values, (rows, cols)), shape=(len(texts), self.size))

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for gram in self.analyzer(text):
            index = vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indices = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
        values = tf * self.idf[indices]
        return indices, values / np.sqrt(values @ values)

    def __getstate__(self) -> dict[str, object]:
        return {"kind": self.kind, "vocabulary": self.vocabulary, "idf": self.idf}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["kind"], state["vocabulary"], state["idf"])  # type: ignore[misc]


class VectorPart:
    """The mean of the pretrained vectors of a text's words (a word the vectors lack is
    tried in its dictionary form), l2-normalised and scaled by `weight`: a message that
    shares no word with the training phrases still lands near the ones it means."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    @property
    def size(self) -> int:
        return shared_vectors().dim

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return np.vstack([self.row(text) for text in texts])

    def row(self, text: str) -> np.ndarray:
        return unit_mean_vector(text) * self.weight

    def __getstate__(self) -> dict[str, object]:
        return {"weight": self.weight}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.weight = float(state["weight"])


@lru_cache(maxsize=20_000)
def unit_mean_vector(text: str) -> np.ndarray:
    """The l2-normalised mean vector of a normalised text's words (zeros if none known).
    Cached: training scores the same phrases in every fold."""
    vectors = shared_vectors()
    words = []
    for word in text.split():
        if word in vectors:
            words.append(word)
        else:
            base = lemmatize(word)
            if base in vectors:
                words.append(base)
    found = vectors.vectors(words)
    if not len(found):
        return np.zeros(vectors.dim)
    mean = found.mean(axis=0).astype(float)
    norm = float(np.sqrt(mean @ mean))
    result = mean / norm if norm else mean
    result.setflags(write=False)
    return result
