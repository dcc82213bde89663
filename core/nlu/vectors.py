"""Pretrained Russian word vectors: navec's news embeddings (250K words × 300 dimensions,
product-quantised), which the `natasha` wheel ships as a data file.

Nothing is downloaded: the file is found inside the installed `natasha` package without
importing it (its import pulls in models we do not use). The vectors are read once per
process, on first use (about 0.15 s), and shared by every classifier.
"""

from __future__ import annotations

import gzip
import importlib.util
import tarfile
import threading
from pathlib import Path

import numpy as np

NAVEC_FILE = "data/emb/navec_news_v1_1B_250K_300d_100q.tar"


class VectorsUnavailable(RuntimeError):
    """The natasha package (and so the vectors file) is not installed."""


def navec_path() -> Path:
    spec = importlib.util.find_spec("natasha")
    if spec is None or not spec.submodule_search_locations:
        raise VectorsUnavailable("the natasha package is not installed: pip install natasha")
    path = Path(next(iter(spec.submodule_search_locations))) / NAVEC_FILE
    if not path.exists():
        raise VectorsUnavailable(f"word vectors not found at {path}")
    return path


class WordVectors:
    """Word → 300-dimensional vector, decoded from the product quantisation on lookup."""

    def __init__(self, words: list[str], indexes: np.ndarray, codes: np.ndarray) -> None:
        self.ids = {word: number for number, word in enumerate(words)}
        self.indexes = indexes  # (words, subvectors) uint8
        self.codes = codes  # (subvectors, centroids, part) float32
        self.subvectors = np.arange(codes.shape[0])
        self.dim = codes.shape[0] * codes.shape[2]

    @classmethod
    def load(cls, path: Path | None = None) -> WordVectors:
        # navec's format: vocab.bin is gzip(uint32 n, n uint32 counts, words by lines);
        # pq.bin is uint32 (vectors, dim, subvectors, centroids), the uint8 indexes, then
        # the float32 centroids.
        with tarfile.open(path or navec_path()) as tar:
            vocab_file = tar.extractfile("vocab.bin")
            pq_file = tar.extractfile("pq.bin")
            if vocab_file is None or pq_file is None:
                raise VectorsUnavailable("unexpected layout of the navec file")
            vocab = gzip.decompress(vocab_file.read())
            raw = pq_file.read()
        size = int(np.frombuffer(vocab[:4], np.uint32)[0])
        words = vocab[4 + 4 * size :].decode("utf-8").split("\n")
        vectors, _dim, qdim, centroids = np.frombuffer(raw[:16], np.uint32)
        body = 16 + int(vectors) * int(qdim)
        indexes = np.frombuffer(raw[16:body], np.uint8).reshape(int(vectors), int(qdim))
        codes = np.frombuffer(raw[body:], np.float32).reshape(int(qdim), int(centroids), -1)
        return cls(words, indexes, codes)

    def __contains__(self, word: str) -> bool:
        return word in self.ids

    def vectors(self, words: list[str]) -> np.ndarray:
        """(len(words), dim) for the words it knows, in order; unknown words skipped."""
        ids = [self.ids[w] for w in words if w in self.ids]
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = self.codes[self.subvectors, self.indexes[ids]]  # (n, subvectors, part)
        return parts.reshape(len(ids), self.dim)


_lock = threading.Lock()
_shared: WordVectors | None = None


def shared_vectors() -> WordVectors:
    """The process-wide vectors, read on first use."""
    global _shared
    if _shared is None:
        with _lock:
            if _shared is None:
                _shared = WordVectors.load()
    return _shared
