"""Term postings of one `search_docs` field, held in the search snapshot for ranking (title and keyword hits)."""

from __future__ import annotations

import numpy as np


class Postings:
    """Sorted rowids per term for one search_docs field: `rows(term)` = the datasets whose field has the token.
    Built in bulk with numpy (term ids → one sort), about 8 bytes per distinct (term, dataset) pair."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.vocab: dict[str, int] = {}
        self.length = np.zeros(size, dtype=np.int32)  # tokens in the field, per rowid
        self.rowids = np.zeros(0, dtype=np.int32)  # distinct (term, rowid) pairs' rowids, by term then rowid
        self.start = np.zeros(1, dtype=np.int64)  # term id → its first position in `rowids`
        self.average_length = 0.0
        self._parts: list[np.ndarray] = []

    def add(self, rowids: np.ndarray, texts: list[str]) -> None:
        """Take in one chunk of (rowid, field text); `freeze()` when all are in."""
        self._parts.append(self._pairs(rowids, texts))

    def freeze(self) -> None:
        pairs = np.unique(np.concatenate(self._parts)) if self._parts else np.zeros(0, dtype=np.int64)
        self._parts = []
        self.rowids = (pairs % self.size).astype(np.int32)
        self.start = np.searchsorted(pairs // self.size, np.arange(len(self.vocab) + 1))
        present = self.length[self.length > 0]
        self.average_length = float(present.mean()) if len(present) else 0.0

    def _pairs(self, rowids: np.ndarray, texts: list[str]) -> np.ndarray:
        """term id × size + rowid for each distinct token of each text (one chunk, to bound memory)."""
        flat = " ".join(texts).split()  # the field's tokens, joined by single spaces (store.search_doc)
        lengths = [text.count(" ") + 1 if text else 0 for text in texts]
        if sum(lengths) != len(flat):  # irregular spacing: count per text
            lengths = [len(text.split()) for text in texts]
        self.length[rowids] = lengths
        for term in dict.fromkeys(flat):
            self.vocab.setdefault(term, len(self.vocab))
        ids = np.fromiter(map(self.vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
        return np.unique(ids * self.size + np.repeat(rowids, lengths))

    def rows(self, term: str) -> np.ndarray:
        term_id = self.vocab.get(term)
        if term_id is None:
            return self.rowids[:0]
        return self.rowids[self.start[term_id]:self.start[term_id + 1]]
