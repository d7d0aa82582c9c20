"""The search's per-process snapshot of the catalogue: compact columns keyed by full-text rowid, the ranking,
and caches.

Filtering, facet counting and ranking need per-dataset attributes for every full-text match; joining each
match to `search_docs` and `datasets` (or letting FTS5 compute bm25()) costs microseconds per match, too much
for broad queries.  Instead each process keeps, per database, a `Snapshot` of what those steps need, numpy
arrays indexed by the full-text rowid (= `search_docs.rowid`), and answers them through its methods:

* per filter of `catalog_index.filters.FILTERS`, its column: for a one-value column the value's index in
  `values[name]` (-1 for rowids without a dataset); for a list column (formats) a bit mask over its choices
  (`mask()` filters, `facets()` counts);
* `updated` (date ordinal, -1 = none), `id_order` (rank of the dataset id: the final tie-break, as
  `ORDER BY d.id`), normalised `titles` / `by_title` / `title_blob` for the "exact title" and "title contains the
  query" tiers, and `postings` of the title and keyword tokens with each term's document frequency (`df()`):
  `scores()` and `page()` rank on them.

A snapshot belongs to one catalogue version: the `catalog_version` row (migration 0004_search_speed) is raised
by triggers in the same transaction as every catalogue change and carries a random per-database token.
`snapshot(session)` reads (token, version) in the session's own transaction and rebuilds the snapshot when it
changed, so a query never mixes a new index with old columns; it reads the catalogue through the search
backend (`catalog_index.backend`).  The snapshot also holds the department alias table, an LRU `memo` for
query analysis (`catalog_index.search` keeps the text understanding and the matching-subset choice there) and
an LRU of full-text match lists bounded by their total length (`match_list()`); all go away with the version.
`enabled = False` switches the LRUs off (benchmarks --cold).
Size: ≈0.9 GB of private memory at 1M datasets (mostly the titles as Python strings), built in chunks so the
rows read are never all held at once; building it takes ≈3 s per 100k datasets (`warm()` does it when a service
starts, not on a user's first query).

Ranking (`scores()`, BM25F-style): per query group, its best alternative's IDF (of the alternative's rarest
term) times the weight of the field where the dataset has it: the title (TITLE_WEIGHT, length-normalised as in
BM25, tf = 1) plus the keywords (KEYWORD_WEIGHT); a dataset with no alternative there has the group only in the
other fields (department, description, fields, pinyin) and scores OTHER_WEIGHT times the group's weight.  The
word the user typed (and its pieces) counts fully, its synonyms at SYNONYM_WEIGHT and on top.  `page()` puts
an exact title match first, then titles containing the query phrase, then the score (then the id); without
scores (no text, or sort=updated) it orders by update date, newest first, then id.
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

from catalog_index.backend import for_session
from catalog_index.departments import DepartmentRef, alias_table
from catalog_index.filters import BY_NAME, CITYWIDE, FILTERS
from catalog_index.postings import Postings
from catalog_index.query import Group, Match, idf
from catalog_index.vectors import DatasetVectors, dequantize, load_vectors
from database import engine, session_scope

log = logging.getLogger(__name__)

CHUNK = 50_000  # catalogue rows read (and postings built) per step of a snapshot build
MEMO_SIZE = 8192  # memoised query analyses per catalogue version
MATCH_CACHE_ROWS = 2_000_000  # rowids kept in memoised full-text match lists (16 bytes each with the rank)
TITLE_WEIGHT, KEYWORD_WEIGHT, OTHER_WEIGHT = 10.0, 6.0, 2.0  # field weights of a query group's hit
BM25_K1, BM25_B = 1.2, 0.75
SYNONYM_WEIGHT = 0.5
TITLE_LOOP_ROWS = 2000  # above this many matches, "title contains the phrase" scans all titles at once
_ARCHIVE = re.compile(r"(19|20)\d\d年")  # a title starting with a year: a yearly archive edition
OPENNESS = {"无条件开放": 0, "有条件开放": 1, "不予开放": 2}  # department listings: open datasets first

ONE_VALUE = tuple(f for f in FILTERS if not f.many)  # filters whose column holds one value per dataset
LISTS = tuple(f for f in FILTERS if f.many)  # filters whose column holds a list (bit masks)
RANKED_FIELDS = ("title", "keywords")  # search_docs columns with in-memory postings for ranking
DOC_COLUMNS = ("rowid", "title_norm", *RANKED_FIELDS)  # what the snapshot reads of search_docs, then of datasets:
DATASET_COLUMNS = ("id", *(f.column for f in FILTERS), "updated")
_AT = {name: len(DOC_COLUMNS) + 1 + i for i, name in enumerate(f.name for f in FILTERS)}  # filter → row position


def _bits(spec_choices: tuple) -> dict[Any, int]:
    return {value: 1 << i for i, value in enumerate(spec_choices)}


BITS = {f.name: _bits(f.choices) for f in LISTS}


@dataclass
class Snapshot:
    key: tuple[str, int]  # (token, version) of catalog_version
    departments: dict[str, DepartmentRef]  # alias → department (departments.alias_table)
    values: dict[str, list]  # one-value filter → its distinct values; codes index into these
    codes: dict[str, np.ndarray]
    bits: dict[str, np.ndarray]  # list filter → bit mask per rowid over its choices (BITS)
    updated: np.ndarray
    id_order: np.ndarray
    titles: list[str]
    by_title: dict[str, list[int]]
    present: np.ndarray
    title_blob: str  # all titles joined by newlines (titles_containing); title_starts: where each rowid's begins
    title_starts: np.ndarray
    postings: dict[str, Postings]  # RANKED_FIELDS → term postings
    term_docs: dict[str, int]  # term → number of datasets containing it in any field (backend)
    analyses: Lru = field(default_factory=lambda: Lru(MEMO_SIZE))
    match_lists: Lru = field(default_factory=lambda: Lru(MATCH_CACHE_ROWS))
    vectors: DatasetVectors | None = None  # None: no stored vectors of the configured model (lexical only)

    def __post_init__(self) -> None:
        self.documents = int(np.count_nonzero(self.present))
        self.department_names = {ref.code: ref.name for ref in self.departments.values()}
        if self.vectors is not None:  # the vectors' rows in rowid order of the snapshot
            keep = self.vectors.rowids < self.size
            self.vector_rowids = self.vectors.rowids[keep]
            self.vector_rows = np.flatnonzero(keep)
            self.vector_of = np.full(self.size, -1, dtype=np.int64)  # rowid → row of `vectors`, -1 = none
            self.vector_of[self.vector_rowids] = self.vector_rows

    @property
    def size(self) -> int:
        return len(self.present)

    def df(self, term: str) -> int:
        """Datasets whose index entry holds `term` (query.Statistics)."""
        return self.term_docs.get(term, 0)

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """compute() once per key for this catalogue version (query analysis; LRU of MEMO_SIZE)."""
        return self.analyses.get(key, compute)

    # ------------------------------------------------------------ filtering and facets

    def matching(self, match: Match, fetch: Callable[[], np.ndarray]) -> np.ndarray:
        """Rowids, ascending, of the datasets satisfying `match`: `fetch()` (the backend) once per version."""
        rowids = self.match_lists.get(match, fetch, cost=len)
        return rowids[rowids < self.size]

    def mask(self, filters: dict[str, Any]) -> np.ndarray:
        """Boolean array over rowids: datasets passing every filter (canonical values, see filters.check; a
        filter passes the values its `keeps` lists: a district, its editions and the city-wide datasets)."""
        keep = self.present.copy()
        for name, value in filters.items():
            if name in self.bits:
                keep &= (self.bits[name] & BITS[name].get(value, 0)) != 0
                continue
            keep &= np.isin(self.codes[name], self._indices(name, BY_NAME[name].keeps(value)))
        return keep

    def _indices(self, name: str, values: tuple) -> list[int]:
        """The codes of the one-value filter `name`'s `values` (those the catalogue holds)."""
        stored = self.values[name]
        return [stored.index(v) for v in map(BY_NAME[name].stored, values) if v in stored]

    def own_first(self, rows: np.ndarray, filters: dict[str, Any]) -> np.ndarray:
        """Indices into `rows` that reorder them, stably, so that the datasets holding every filter's own value
        come before those a filter keeps besides (`Filter.keeps`: a district's editions before the city-wide
        datasets)."""
        others = np.zeros(len(rows), dtype=bool)
        for name, value in filters.items():
            if name not in self.bits and len(BY_NAME[name].keeps(value)) > 1:
                others |= ~self.holding(rows, name, (value,))
        return np.argsort(others, kind="stable")

    def holding(self, rows: np.ndarray, name: str, values: tuple) -> np.ndarray:
        """Boolean array over `rows`: the datasets whose one-value filter `name` holds one of `values`."""
        return np.isin(self.codes[name][rows], self._indices(name, values))

    def facets(self, rows: np.ndarray) -> dict[str, list[dict]]:
        """Per filter, its values' counts over `rows` (rowids), most frequent first, zero counts left out;
        department codes are shown by name."""
        out = {}
        for spec in FILTERS:
            counts: dict[Any, int] = {}
            if spec.many:
                masks = self.bits[spec.name][rows]
                counts = {v: n for v, bit in BITS[spec.name].items() if (n := int(np.count_nonzero(masks & bit)))}
            else:
                values = self.values[spec.name]
                tally = np.bincount(self.codes[spec.name][rows], minlength=len(values)) if len(rows) else []
                for i, n in enumerate(tally):
                    if n:
                        shown = self.department_names.get(values[i], values[i]) if spec.department_codes else values[i]
                        counts[shown] = counts.get(shown, 0) + int(n)
            out[spec.name] = [{"name": k, "count": v} for k, v in sorted(counts.items(),
                                                                          key=lambda kv: (-kv[1], str(kv[0])))]
        return out

    def values_at(self, rowid: int) -> dict[str, Any]:
        """The one-value filters' values of one dataset."""
        return {name: self.values[name][codes[rowid]] for name, codes in self.codes.items()}

    # ------------------------------------------------------------ ranking and paging

    def scores(self, rows: np.ndarray, groups: tuple[Group, ...]) -> np.ndarray:
        """BM25F-style relevance of each matching dataset (higher is better), summed over the query groups (see
        the module docstring).  Title and keyword hits come from the postings."""
        scores = np.zeros(len(rows), dtype=np.float64)
        title = self.postings["title"]
        length = title.length[rows] / max(title.average_length, 1.0)
        title_weight = TITLE_WEIGHT * (BM25_K1 + 1) / (1 + BM25_K1 * (1 - BM25_B + BM25_B * length))
        for group in groups:
            best = np.full(len(rows), OTHER_WEIGHT * group.weight)
            extra = np.zeros(len(rows))
            for i, option in enumerate(group.options):
                rarest = min(self.df(term) for term in option)
                weight = idf(rarest, self.documents) * (1.0 if i < group.literal else SYNONYM_WEIGHT)
                in_title = self._has_all("title", option, rows)
                in_keywords = self._has_all("keywords", option, rows)
                field_weight = np.where(in_title, title_weight, 0.0) + np.where(in_keywords, KEYWORD_WEIGHT, 0.0)
                if i < group.literal:
                    np.maximum(best, weight * field_weight, out=best)
                else:
                    np.maximum(extra, weight * field_weight, out=extra)
            scores += best + extra
        return scores

    def _has_all(self, field_name: str, terms: tuple[str, ...], rows: np.ndarray) -> np.ndarray:
        """Boolean per row: the field holds every one of the terms."""
        postings = self.postings[field_name]
        found = np.zeros(self.size, dtype=bool)
        found[postings.rows(terms[0])] = True
        for term in terms[1:]:
            also = np.zeros(self.size, dtype=bool)
            also[postings.rows(term)] = True
            found &= also
        return found[rows]

    def page(self, rows: np.ndarray, scores: np.ndarray | None, phrase: str, full: str, offset: int,
             limit: int) -> list[tuple[int, float]]:
        """(rowid, score) of one page of `rows`, best first (see the module docstring): `phrase` is the query's
        words, `full` the whole normalised query, both without spaces."""
        chosen = self.order(rows, scores, phrase, full)[offset:offset + limit]
        page_scores = scores[chosen].tolist() if scores is not None else [0.0] * len(chosen)
        return list(zip(rows[chosen].tolist(), page_scores, strict=True))

    def tiers(self, rows: np.ndarray, phrase: str, full: str) -> np.ndarray:
        """Per row: 0 = its title is the query, 1 = its title contains the query phrase, 2 = neither."""
        tier = np.full(len(rows), 2, dtype=np.int8)
        if len(phrase) >= 2:
            if len(rows) <= TITLE_LOOP_ROWS:
                titles = self.titles
                inside = np.fromiter((phrase in titles[r] for r in rows.tolist()), dtype=bool, count=len(rows))
            else:  # one scan of all titles beats a Python loop over many rows
                inside = np.isin(rows, self._titles_containing(phrase))
            tier[inside] = 1
        exact = self.by_title.get(phrase, []) + (self.by_title.get(full, []) if full != phrase else [])
        if exact:
            tier[np.isin(rows, exact)] = 0
        return tier

    def order(self, rows: np.ndarray, scores: np.ndarray | None, phrase: str, full: str) -> np.ndarray:
        """Indices into `rows`, best first (see `page`)."""
        if scores is None:
            return np.lexsort((self.id_order[rows], -self.updated[rows]))
        return np.lexsort((self.id_order[rows], -scores, self.tiers(rows, phrase, full)))

    def central_order(self, rows: np.ndarray) -> np.ndarray:
        """Indices into `rows` (e.g. one department's datasets), most central first: city-wide current editions
        before district editions and yearly archives (titles starting with a year), then by opening type (OPENNESS:
        what a citizen can have comes first), then datasets with an API (a department's live services), then by the
        cosine of the dataset's vector to the rows' centroid (what the group's datasets are mostly about), then
        the newest.  Measured on the development sets' department queries (nDCG@10): centroid before API and no
        opening type 0.756 (dev2) / 0.714 (dev); opening type first 0.848 / 0.791; opening type and API first
        0.867 / 0.838."""
        district = self.values["district"]
        citywide = district.index(CITYWIDE) if CITYWIDE in district else -1
        titles = self.titles
        edition = (self.codes["district"][rows] != citywide).astype(np.int8)
        edition += np.fromiter((bool(_ARCHIVE.match(titles[r])) for r in rows.tolist()), dtype=np.int8,
                               count=len(rows))
        closeness = np.zeros(len(rows), dtype=np.float32)
        if self.vectors is not None and len(rows):
            at = self.vector_of[rows]
            have = at >= 0
            if have.any():
                vectors = dequantize(self.vectors.codes[at[have]], self.vectors.scales[at[have]])
                centroid = vectors.mean(axis=0)
                centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
                closeness[have] = vectors @ centroid
        api = self.codes["has_api"][rows]
        api_first = np.where(np.asarray(self.values["has_api"], dtype=bool)[api], 0, 1) if len(rows) else api
        open_rank = np.array([OPENNESS.get(v, len(OPENNESS)) for v in self.values["open_type"]] or [0])
        openness = open_rank[self.codes["open_type"][rows]]
        return np.lexsort((self.id_order[rows], -self.updated[rows], -closeness, api_first, openness, edition))

    def nearest(self, query: np.ndarray, keep: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """(rowids, cosine similarities) of the `limit` datasets passing `keep` (boolean over rowids) whose
        vectors are nearest to the L2-normalised `query`, nearest first (brute force over the int8 matrix)."""
        if self.vectors is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        allowed = keep[self.vector_rowids]
        share = np.count_nonzero(allowed)
        if not share:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if share * 4 < len(allowed):  # a narrow filter: score only its rows
            rows = self.vector_rows[allowed]
            scores = self.vectors.scores(query, rows)
            rowids = self.vector_rowids[allowed]
        else:
            scores = self.vectors.scores(query)[self.vector_rows]
            scores[~allowed] = -np.inf
            rowids = self.vector_rowids
        limit = min(limit, share)
        top = np.argpartition(-scores, limit - 1)[:limit] if limit < len(scores) else np.arange(len(scores))
        top = top[np.lexsort((self.id_order[rowids[top]], -scores[top]))]
        return rowids[top], scores[top]

    def _titles_containing(self, text: str) -> np.ndarray:
        """Rowids whose normalised title contains `text` (one scan of all titles)."""
        offsets = [m.start() for m in re.finditer(re.escape(text), self.title_blob)]
        return np.unique(np.searchsorted(self.title_starts, offsets, side="right") - 1)


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
        cursor.execute("SELECT token, version FROM catalog_version WHERE id = 1")  # psycopg2's returns None
        token, version = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    return token, version


def _build(session: Session, key: tuple[str, int]) -> Snapshot:
    """Read the catalogue in chunks of CHUNK rows (a process keeps only the arrays, not the rows)."""
    backend = for_session(session)
    columns = _Columns(backend.rowid_bound())
    for rows in backend.scan(DOC_COLUMNS, DATASET_COLUMNS, CHUNK):
        columns.add(rows)
    return columns.snapshot(key, alias_table(session), backend.document_frequencies(), _vectors(session))


def _vectors(session: Session) -> DatasetVectors | None:
    """The stored vectors of the configured embedder, or None (logged: the search is then lexical only)."""
    try:
        found = load_vectors(session)
    except Exception as exc:  # noqa: BLE001 - a broken embedder must not break the lexical search
        log.warning("dataset vectors not loaded (%s): the search is lexical only", exc)
        return None
    if not len(found):
        log.warning("no dataset vectors of %s in the database: the search is lexical only "
                    "(run `python -m catalog_index embed`)", found.model)
        return None
    return found


class _Columns:
    """The snapshot's arrays, filled chunk by chunk from rows of DOC_COLUMNS + DATASET_COLUMNS."""

    def __init__(self, size: int) -> None:
        self.present = np.zeros(size, dtype=bool)
        self.values: dict[str, list] = {f.name: [] for f in ONE_VALUE}
        self.index: dict[str, dict] = {f.name: {} for f in ONE_VALUE}
        self.codes = {f.name: np.full(size, -1, dtype=np.int32) for f in ONE_VALUE}
        self.bits = {f.name: np.zeros(size, dtype=np.min_scalar_type(max(BITS[f.name].values(), default=0)))
                     for f in LISTS}
        self.bits_of: dict[str, dict[Any, int]] = {f.name: {} for f in LISTS}
        self.updated = np.full(size, -1, dtype=np.int32)
        self.titles = [""] * size
        self.by_title: dict[str, list[int]] = {}
        self.ordinal_of: dict[Any, int] = {}
        self.ids: list[tuple[str, int]] = []  # (dataset id, rowid)
        self.postings = {name: Postings(size) for name in RANKED_FIELDS}

    def add(self, rows: list[tuple]) -> None:
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.present[rowids] = True
        for spec in ONE_VALUE:
            seen, found, column, stored = self.index[spec.name], self.values[spec.name], _AT[spec.name], spec.stored
            column_codes = []
            for row in rows:
                value = stored(row[column])
                code = seen.get(value)
                if code is None:
                    code = seen[value] = len(found)
                    found.append(value)
                column_codes.append(code)
            self.codes[spec.name][rowids] = column_codes
        for spec in LISTS:
            bits_of, bit, column = self.bits_of[spec.name], BITS[spec.name], _AT[spec.name]
            for row in rows:
                raw = row[column]
                if raw not in bits_of:
                    listed = json.loads(raw) if isinstance(raw, str) else list(raw or [])
                    bits_of[raw] = sum(bit.get(v, 0) for v in set(listed))
                self.bits[spec.name][row[0]] = bits_of[raw]
        for row in rows:
            rowid, raw_updated = row[0], row[-1]
            self.titles[rowid] = row[1]
            self.by_title.setdefault(row[1], []).append(rowid)
            self.ids.append((row[len(DOC_COLUMNS)], rowid))
            if raw_updated not in self.ordinal_of:
                day = (raw_updated if isinstance(raw_updated, date) or raw_updated is None
                       else date.fromisoformat(raw_updated))
                self.ordinal_of[raw_updated] = -1 if day is None else day.toordinal()
            self.updated[rowid] = self.ordinal_of[raw_updated]
        for name in RANKED_FIELDS:
            column = DOC_COLUMNS.index(name)
            self.postings[name].add(rowids, [row[column] or "" for row in rows])

    def snapshot(self, key: tuple[str, int], departments: dict[str, DepartmentRef], df: dict[str, int],
                 vectors: DatasetVectors | None = None) -> Snapshot:
        id_order = np.full(len(self.present), -1, dtype=np.int32)
        self.ids.sort()
        id_order[[rowid for _id, rowid in self.ids]] = np.arange(len(self.ids), dtype=np.int32)
        for postings in self.postings.values():
            postings.freeze()
        starts = np.cumsum([0] + [len(t) + 1 for t in self.titles[:-1]])
        return Snapshot(key, departments, self.values, self.codes, self.bits, self.updated, id_order, self.titles,
                        self.by_title, self.present, "\n".join(self.titles), starts, self.postings, df, vectors=vectors)
