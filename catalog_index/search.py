"""Dataset search: `search(session, q, …)` and `get_dataset()`.

The steps, each in its own module:

1. Parameters: `q`, `sort`, `page`, `rows` here; filters through `catalog_index.filters` (one declaration per
   filter: validation, the words that express it in a query, its column and facet).
2. Understanding (`catalog_index.query`, pure): the filters written in the query are taken out of the text
   (explicit parameters win over them); the rest becomes query groups (words, their pieces, synonyms, pinyin).
3. Matching (`_match` here, through `catalog_index.backend`: SQLite FTS5 in `catalog_index.fts5`): all groups
   must match; when no dataset has them all, the most informative subset of groups (by IDF weight) that some
   dataset matches is used (minimum-should-match).  The share of the query's information that the used groups
   cover decides `low_confidence`: under 60 % (or no match at all) the assistant must not present the results
   as hits.  If filters read from the text leave nothing, the query is run again without them, as plain text.
4. Filtering, facets, ranking and paging on the process's snapshot (`catalog_index.columns.Snapshot`): only
   the page's rows are read from the database.  Facets are counted over all matches after filters;
   `sort="updated"` orders by update date instead of relevance.

Speed: a query makes at most one full-text pass per match expression.  The snapshot belongs to one catalogue
version and memoises per version the text understanding, the groups with the chosen matching subset (`_run`)
and the full-text match lists, so paging or refining a query costs no full-text work.  Within one search each
expression's match list is fetched once: the relaxation probes' lists serve the final matching too.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from catalog_index import filters as filter_specs
from catalog_index.analysis import Analyzer, get_analyzer
from catalog_index.backend import Backend, for_session
from catalog_index.columns import Snapshot, snapshot
from catalog_index.filters import InvalidParameter
from catalog_index.models import Dataset
from catalog_index.query import Group, Match, content_words, groups, understand, words
from catalog_index.store import dataset_record
from textnorm import normalize

__all__ = ["InvalidParameter", "SearchResult", "get_dataset", "search"]

MAX_ROWS = 100
MAX_QUERY_LEN = 200
MAX_GROUPS = 6
MAX_SUBSETS = 10  # subsets of query groups tried, most informative first, when not all groups match
COVERAGE_MIN = 0.6
SORTS = ("relevance", "updated")
PAGE_COLUMNS = ("id", "title", "formats", "updated")  # what a result row reads from `datasets`


@dataclass
class SearchResult:
    count: int
    page: int
    rows: int
    low_confidence: bool
    results: list[dict]
    facets: dict[str, list[dict]]
    applied_filters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "count": self.count, "page": self.page, "rows": self.rows, "low_confidence": self.low_confidence,
            "results": self.results, "facets": self.facets, "applied_filters": self.applied_filters,
        }


@dataclass
class Matches:
    """A matching set: the match (None = no text) and the filters every match passes."""

    match: Match | None
    filters: dict[str, Any]
    coverage: float = 1.0
    groups: tuple[Group, ...] = ()  # the query groups every match has


def _positive_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameter(name, f"expected a positive whole number, got {value!r}") from None
    if number < 1:
        raise InvalidParameter(name, f"expected a positive whole number, got {value!r}")
    return number


class _Search:
    """What one search fetches or computes once and uses in several steps: match lists (from the backend
    through the snapshot's per-version memo, so paging and refining a query reuse them), filter masks, and the
    matches passing them."""

    def __init__(self, backend: Backend, snap: Snapshot) -> None:
        self.backend, self.snap = backend, snap
        self.passed: dict[tuple, np.ndarray] = {}
        self.masks: dict[tuple, np.ndarray] = {}

    def passing(self, match: Match | None, filters: dict[str, Any]) -> np.ndarray:
        """Rowids, ascending, of the datasets satisfying `match` (None: all) that pass the filters."""
        key = (match, tuple(sorted(filters.items())))
        if key not in self.passed:
            if key[1] not in self.masks:
                self.masks[key[1]] = self.snap.mask(filters)
            keep = self.masks[key[1]]
            if match is None:
                self.passed[key] = np.flatnonzero(keep)
            else:
                rowids = self.snap.matching(match, lambda: self.backend.match(match))
                self.passed[key] = rowids[keep[rowids]]
        return self.passed[key]


def _match(run: _Search, query_groups: list[Group], filters: dict[str, Any]) -> Matches | None:
    """The matching set: all groups must match; when no dataset has them all, the subset of groups with the
    most information that some dataset matches.  None when nothing matches at all.  A probe fetches the whole
    match list (a subset that matches needs it next anyway; one that does not costs the same as LIMIT 1)."""
    total = sum(g.weight for g in query_groups) or 1.0
    usable = sorted((g for g in query_groups if g.clause), key=lambda g: -g.weight)[:MAX_GROUPS]
    subsets = sorted((combo for n in range(len(usable), 0, -1) for combo in combinations(usable, n)),
                     key=lambda combo: (-sum(g.weight for g in combo), -len(combo)))
    for combo in subsets[:MAX_SUBSETS]:
        match = tuple(g.clause for g in combo)
        if len(run.passing(match, filters)):
            return Matches(match, filters, sum(g.weight for g in combo) / total, combo)
    return None


def _run(run: _Search, analyzer: Analyzer, rest: str, filters: dict[str, Any],
         filters_from_text: bool) -> tuple[Matches | None, list[Group]]:
    """The matching set and query groups, memoised per catalogue version (the analysis and the relaxation
    probes depend only on the text, the filters and the catalogue)."""
    def compute() -> tuple[Matches | None, list[Group]]:
        found = content_words(analyzer, rest, keep_generic=not filters_from_text)
        if not found:
            return Matches(None, filters), []
        query_groups = groups(analyzer, found, run.snap)
        return _match(run, query_groups, filters), query_groups

    return run.snap.memo(("run", rest, tuple(sorted(filters.items())), filters_from_text), compute)


def _highlight(title: str, terms: list[str]) -> str:
    """The title, HTML-escaped, with the query terms in <em>."""
    marks = [False] * len(title)
    lowered = normalize(title)
    if len(lowered) != len(title):  # normalising changed the length: positions would not line up
        lowered = title.lower()
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        start = lowered.find(term)
        while start >= 0:
            marks[start:start + len(term)] = [True] * len(term)
            start = lowered.find(term, start + len(term))
    out, start = [], 0
    for end in range(1, len(title) + 1):
        if end == len(title) or marks[end] != marks[start]:
            piece = html.escape(title[start:end])
            out.append(f"<em>{piece}</em>" if marks[start] else piece)
            start = end
    return "".join(out)


def _as_date(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _results(backend: Backend, snap: Snapshot, page: list[tuple[int, float]], terms: list[str]) -> list[dict]:
    """The result rows of one page: the filter values from the snapshot, the rest from the database."""
    stored = backend.page([rowid for rowid, _score in page], PAGE_COLUMNS) if page else {}
    out = []
    for rowid, score in page:
        if rowid not in stored:
            continue
        row, values = dict(zip(PAGE_COLUMNS, stored[rowid], strict=True)), snap.values_at(rowid)
        formats = row["formats"]
        out.append({
            "id": row["id"], "title": row["title"],
            "department": snap.department_names.get(values["department"], values["department"]),
            "category": values["category"], "open_type": values["open_type"], "share_type": values["share_type"],
            "formats": json.loads(formats) if isinstance(formats, str) else list(formats or []),
            "has_api": bool(values["has_api"]), "district": values["district"], "updated": _as_date(row["updated"]),
            "score": round(float(score), 4), "highlight": _highlight(row["title"], terms),
        })
    return out


def search(session: Session, q: str = "", *, sort: str = "relevance", page: int = 1, rows: int = 10,
           **filters: Any) -> SearchResult:
    """Search the catalogue; `filters` are those of `catalog_index.filters.FILTERS` (department, district,
    category, format, has_api, open_type, share_type; None or "" = not given).  Raises InvalidParameter for
    unusable parameters (see the module docstring)."""
    q = q or ""
    if len(q) > MAX_QUERY_LEN:
        raise InvalidParameter("q", f"longer than {MAX_QUERY_LEN} characters")
    if sort not in SORTS:
        raise InvalidParameter("sort", f"expected one of {'/'.join(SORTS)}, got {sort!r}")
    page = _positive_int("page", page)
    rows = min(_positive_int("rows", rows), MAX_ROWS)
    explicit = filter_specs.check(session, filters)
    analyzer = get_analyzer()
    snap = snapshot(session)
    backend = for_session(session)
    rest, from_text = snap.memo(("understand", q), lambda: understand(q, snap.departments))
    from_text = {k: v for k, v in from_text.items() if k not in explicit}
    run = _Search(backend, snap)
    matches, query_groups = _run(run, analyzer, rest, {**explicit, **from_text}, bool(from_text))
    matched = run.passing(matches.match, matches.filters) if matches else np.zeros(0, dtype=np.int64)
    applied = from_text
    if not len(matched) and from_text:  # nothing has all the filters read from the text: search without them
        matches, query_groups = _run(run, analyzer, rest, explicit, False)
        matched = run.passing(matches.match, matches.filters) if matches else np.zeros(0, dtype=np.int64)
        applied = {}
    ranked = sort == "relevance" and matches is not None and matches.match is not None
    scores = snap.scores(matched, matches.groups) if ranked else None
    count = len(matched)
    phrase = "".join(words(analyzer, rest))
    full = normalize(q).replace(" ", "")
    terms = [t for g in query_groups for t in g.highlight]
    page_rows = snap.page(matched, scores, phrase, full, (page - 1) * rows, rows) if count else []
    results = _results(backend, snap, page_rows, terms)
    low = bool(q.strip()) and bool(query_groups) and (not count or matches.coverage < COVERAGE_MIN)
    return SearchResult(count, page, rows, low, results, snap.facets(matched), applied)


def get_dataset(session: Session, dataset_id: str) -> dict | None:
    """The full record of one dataset (the load format plus the department's abbreviations), or None."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        return None
    record = dataset_record(dataset)
    record["department_short_names"] = list(dataset.department.short_names or [])
    return record
