"""The search's per-process snapshot of the catalogue: compact columns keyed by full-text rowid, and caches.

Filtering, facet counting and ranking need per-dataset attributes for every full-text match; joining each
match to `search_docs` and `datasets` (or letting FTS5 compute bm25()) costs microseconds per match, too much
for broad queries.  Instead each process keeps, per database, a `Snapshot` of what those steps need, numpy
arrays indexed by the FTS rowid (= `search_docs.rowid`):

* `codes[name]`: the facet value's index in `values[name]` (department code, district, category, open type,
  share type, has_api), -1 for rowids without a dataset;
* `formats`: a bit mask over `models.FORMATS`; `updated`: the date ordinal (-1 = none); `id_order`: the rank
  of the dataset id (the final tie-break, as `ORDER BY d.id`); `titles` / `by_title` / `title_blob`:
  normalised titles for the "exact title" and "title contains the query" ranking tiers;
* `postings[field]` for the title and keywords of the index entry: sorted rowids per term and the field's
  length per rowid (the ranking's field hits); `df`: each indexed term's document frequency (fts5vocab).

A snapshot belongs to one catalogue version: the `catalog_version` row (migration 0004_search_speed) is raised
by triggers in the same transaction as every catalogue change and carries a random per-database token.
`snapshot(session)` reads (token, version) in the session's own transaction and rebuilds the snapshot when it
changed, so a query never mixes a new index with old columns.  The snapshot also holds the department alias
table, an LRU `memo` for query analysis (`catalog_index.search` keeps the text understanding and the
matching-subset choice there) and an LRU of full-text match lists bounded by their total length
(`match_lists`); all go away with the version.  `enabled = False` switches the LRUs off (benchmarks --cold).
Size: ≈0.9 GB of private memory at 1M datasets (mostly the titles as Python strings), built in chunks so the
rows read are never all held at once; building it takes ≈3 s per 100k datasets (`warm()` does it when a service
starts, not on a user's first query).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from catalog_index.departments import DepartmentRef, alias_table
from catalog_index.models import FORMATS
from database import engine, session_scope

log = logging.getLogger(__name__)

CODED = ("department", "district", "category", "open_type", "share_type", "has_api")
FORMAT_BIT = {f: 1 << i for i, f in enumerate(FORMATS)}
CHUNK = 50_000  # catalogue rows read (and postings built) per step of a snapshot build
MEMO_SIZE = 8192  # memoised query analyses per catalogue version
MATCH_CACHE_ROWS = 2_000_000  # rowids kept in memoised full-text match lists (16 bytes each with the rank)

_LOAD = ("SELECT s.rowid, d.id, s.title_norm, d.department_code, d.district, d.category, d.open_type, "
         "d.share_type, d.has_api, d.formats, d.updated, s.title, s.keywords "
         "FROM search_docs s JOIN datasets d ON d.id = s.dataset_id")
RANKED_FIELDS = ("title", "keywords")  # search_docs columns with in-memory postings for ranking


@dataclass
class Snapshot:
    key: tuple[str, int]  # (token, version) of catalog_version
    departments: dict[str, DepartmentRef]  # alias → department (departments.alias_table)
    values: dict[str, list]  # facet → its distinct values; codes index into these
    codes: dict[str, np.ndarray]
    formats: np.ndarray
    updated: np.ndarray
    id_order: np.ndarray
    titles: list[str]
    by_title: dict[str, list[int]]
    present: np.ndarray
    title_blob: str  # all titles joined by newlines (titles_containing); title_starts: where each rowid's begins
    title_starts: np.ndarray
    postings: dict[str, Postings]  # RANKED_FIELDS → term postings
    df: dict[str, int]  # term → number of datasets containing it in any field (fts5vocab)
    analyses: Lru = field(default_factory=lambda: Lru(MEMO_SIZE))
    match_lists: Lru = field(default_factory=lambda: Lru(MATCH_CACHE_ROWS))

    @property
    def size(self) -> int:
        return len(self.present)

    @property
    def documents(self) -> int:
        return int(np.count_nonzero(self.present))

    def df_of(self, term: str) -> int:
        return self.df.get(term, 0)

    def mask(self, filters: dict[str, Any]) -> np.ndarray:
        """Boolean array over rowids: datasets passing every filter (canonical values, see search)."""
        keep = self.present.copy()
        for name, value in filters.items():
            if name == "format":
                keep &= (self.formats & FORMAT_BIT.get(value, 0)) != 0
                continue
            value = bool(value) if name == "has_api" else value
            try:
                index = self.values[name].index(value)
            except ValueError:
                return np.zeros(self.size, dtype=bool)
            keep &= self.codes[name] == index
        return keep

    def facets(self, rows: np.ndarray) -> dict[str, dict[Any, int]]:
        """value → count per facet over `rows` (rowids), zero counts left out; formats per format."""
        counts: dict[str, dict[Any, int]] = {}
        for name in CODED:
            values = self.values[name]
            tally = np.bincount(self.codes[name][rows], minlength=len(values)) if len(rows) else []
            counts[name] = {values[i]: int(n) for i, n in enumerate(tally) if n}
        masks = self.formats[rows]
        counts["format"] = {f: n for f, bit in FORMAT_BIT.items() if (n := int(np.count_nonzero(masks & bit)))}
        return counts

    def titles_containing(self, text: str) -> np.ndarray:
        """Rowids whose normalised title contains `text` (one scan of all titles)."""
        offsets = [m.start() for m in re.finditer(re.escape(text), self.title_blob)]
        return np.unique(np.searchsorted(self.title_starts, offsets, side="right") - 1)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """compute() once per key for this catalogue version (query analysis; LRU of MEMO_SIZE)."""
        return self.analyses.get(key, compute)


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


class Lru:
    """A thread-safe least-recently-used cache bounded by the total `cost` of its values.  Values are shared
    between threads and must not be mutated.  Two threads may compute the same missing key at once; the
    results are equal, one is kept."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.total = 0
        self.lock = threading.Lock()

    def peek(self, key: Hashable) -> Any:
        """The cached value of `key`, or None."""
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key][0]
        return None

    def get(self, key: Hashable, compute: Callable[[], Any], cost: Callable[[Any], int] = lambda _v: 1) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key][0]
        value = compute()
        size = cost(value)
        if not enabled or size > self.capacity:
            return value
        with self.lock:
            if key not in self.items:
                self.items[key] = (value, size)
                self.total += size
            while self.total > self.capacity:
                _key, (_value, dropped) = self.items.popitem(last=False)
                self.total -= dropped
        return value


enabled = True  # False: nothing is memoised (benchmarks.search_bench --cold measures the uncached path)


_snapshots: dict[Engine, Snapshot] = {}
_build_lock = threading.Lock()


def snapshot(session: Session) -> Snapshot:
    """The snapshot of the catalogue as this session's transaction sees it (rebuilt after any change)."""
    conn = session.connection()
    token, version = conn.exec_driver_sql("SELECT token, version FROM catalog_version WHERE id = 1").one()
    url = conn.engine  # one engine per database URL (database.engine)
    snap = _snapshots.get(url)
    if snap is not None and snap.key == (token, version):
        return snap
    with _build_lock:
        snap = _snapshots.get(url)
        if snap is None or snap.key != (token, version):
            snap = _build(session, (token, version))
            _snapshots[url] = snap
    return snap


def is_built(url: str, key: tuple[str, int]) -> bool:
    """The snapshot of catalogue version `key` (from `catalogue_key(url)`) is already in this process."""
    snap = _snapshots.get(engine(url))
    return snap is not None and snap.key == key


def warm(url: str | None = None) -> None:
    """Build the snapshot of the catalogue at `url` now (at service start; never raises: a missing or not yet
    migrated database just leaves the work to the first query)."""
    try:
        with session_scope(url) as session:
            snapshot(session)
    except Exception as exc:  # noqa: BLE001 - best effort
        log.warning("search snapshot not built at start: %s", exc)


def catalogue_key(url: str | None = None) -> tuple[str, int]:
    """(token, version) of the catalogue at `url` now, read on a pooled connection without an ORM session (for
    a cache check before any work; whatever is then computed must key itself by `snapshot(session).key`)."""
    raw = engine(url).raw_connection()
    try:
        cursor = raw.cursor()
        token, version = cursor.execute("SELECT token, version FROM catalog_version WHERE id = 1").fetchone()
        cursor.close()
    finally:
        raw.close()
    return token, version


def _build(session: Session, key: tuple[str, int]) -> Snapshot:
    """Read the catalogue in chunks of CHUNK rows (a process keeps only the arrays, not the rows)."""
    cursor = session.connection().connection.cursor()
    try:
        size = cursor.execute("SELECT coalesce(max(rowid), 0) + 1 FROM search_docs").fetchone()[0]
        columns = _Columns(size)
        cursor.execute(_LOAD)
        while rows := cursor.fetchmany(CHUNK):
            columns.add(rows)
    finally:
        cursor.close()
    return columns.snapshot(key, alias_table(session), _document_frequencies(session))


class _Columns:
    """The snapshot's arrays, filled chunk by chunk from `_LOAD` rows."""

    def __init__(self, size: int) -> None:
        self.present = np.zeros(size, dtype=bool)
        self.values: dict[str, list] = {name: [] for name in CODED}
        self.index: dict[str, dict] = {name: {} for name in CODED}
        self.codes = {name: np.full(size, -1, dtype=np.int32) for name in CODED}
        self.formats = np.zeros(size, dtype=np.uint8)
        self.updated = np.full(size, -1, dtype=np.int32)
        self.titles = [""] * size
        self.by_title: dict[str, list[int]] = {}
        self.mask_of: dict[Any, int] = {}
        self.ordinal_of: dict[Any, int] = {}
        self.ids: list[tuple[str, int]] = []  # (dataset id, rowid)
        self.postings = {name: Postings(size) for name in RANKED_FIELDS}

    def add(self, rows: list[tuple]) -> None:
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.present[rowids] = True
        for name, column in zip(CODED, range(3, 9), strict=True):
            seen, found = self.index[name], self.values[name]
            column_codes = []
            for row in rows:
                value = bool(row[column]) if name == "has_api" else row[column]
                code = seen.get(value)
                if code is None:
                    code = seen[value] = len(found)
                    found.append(value)
                column_codes.append(code)
            self.codes[name][rowids] = column_codes
        for row in rows:
            rowid, raw_formats, raw_updated = row[0], row[9], row[10]
            self.titles[rowid] = row[2]
            self.by_title.setdefault(row[2], []).append(rowid)
            self.ids.append((row[1], rowid))
            if raw_formats not in self.mask_of:
                listed = json.loads(raw_formats) if isinstance(raw_formats, str) else list(raw_formats or [])
                self.mask_of[raw_formats] = sum(FORMAT_BIT.get(f, 0) for f in set(listed))
            self.formats[rowid] = self.mask_of[raw_formats]
            if raw_updated not in self.ordinal_of:
                day = (raw_updated if isinstance(raw_updated, date) or raw_updated is None
                       else date.fromisoformat(raw_updated))
                self.ordinal_of[raw_updated] = -1 if day is None else day.toordinal()
            self.updated[rowid] = self.ordinal_of[raw_updated]
        for name, column in zip(RANKED_FIELDS, (11, 12), strict=True):
            self.postings[name].add(rowids, [row[column] or "" for row in rows])

    def snapshot(self, key: tuple[str, int], departments: dict[str, DepartmentRef], df: dict[str, int]) -> Snapshot:
        id_order = np.full(len(self.present), -1, dtype=np.int32)
        self.ids.sort()
        id_order[[rowid for _id, rowid in self.ids]] = np.arange(len(self.ids), dtype=np.int32)
        for postings in self.postings.values():
            postings.freeze()
        starts = np.cumsum([0] + [len(t) + 1 for t in self.titles[:-1]])
        return Snapshot(key, departments, self.values, self.codes, self.formats, self.updated, id_order, self.titles,
                        self.by_title, self.present, "\n".join(self.titles), starts, self.postings, df)


def _document_frequencies(session: Session) -> dict[str, int]:
    """term → datasets whose index entry has it (one pass over the FTS5 vocabulary, ≈0.4 s per 100k datasets)."""
    cursor = session.connection().connection.cursor()
    try:
        return dict(cursor.execute("SELECT term, doc FROM dataset_fts_vocab").fetchall())
    finally:
        cursor.close()
