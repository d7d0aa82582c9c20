"""A machine-wide cache of passage vectors: (model name, text) → vector, in one SQLite file (`EMBED_CACHE`).

Encoding a passage is the slow part of loading a catalogue (≈ 30 ms of CPU per dataset text); the vector of a
text depends only on the model and the text, so every database loaded on this machine (each test's temporary
catalogue, a reload after `make clean` of the catalogue, the knowledge base) reuses it. Keys are a sha1 of the
model name and the text; values float32 bytes. Several processes may read and write at once (WAL, busy
timeout, INSERT OR IGNORE); a cache that cannot be opened or written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class PassageCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS passages (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
            self._local.db = db
        return db

    @staticmethod
    def key(model: str, text: str) -> bytes:
        return hashlib.sha1(f"{model}\x00{text}".encode()).digest()

    def get(self, model: str, texts: list[str], dim: int) -> dict[int, np.ndarray]:
        """Index in `texts` → cached vector, for the texts that are cached."""
        keys = [self.key(model, t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        try:
            db = self._db()
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(f"SELECT key, vector FROM passages WHERE key IN ({marks})", chunk):
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.size == dim:
                        found[key] = vector
        except (sqlite3.Error, OSError) as exc:
            log.warning("passage vector cache %s not readable: %s", self.path, exc)
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(self.key(model, t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors, strict=False)]
        try:
            self._db().executemany("INSERT OR IGNORE INTO passages (key, vector) VALUES (?, ?)", rows)
        except (sqlite3.Error, OSError) as exc:
            log.warning("passage vector cache %s not writable: %s", self.path, exc)
