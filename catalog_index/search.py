"""Dataset search: query understanding, matching, ranking, filters, facets and paging.

Pipeline for `search(session, q, …)`:

1. Normalise the query (`analysis.normalize`) and take the filters written in it out of the text
   (`understand()`): district names (花溪区, 花溪), department names and abbreviations (市卫健委, 交委),
   有API/接口, formats (Excel, CSV, JSON, XML), 无条件开放/有条件开放/不予开放 and the 共享 types.  Explicit
   parameters win over filters found in the text; if text-derived filters leave nothing, the query is run again
   without them, as plain text.
2. Cut the rest with the private jieba tokenizer; drop stop words; generic words (数据, 信息, 名录, …) only
   count when nothing else is left.  Each remaining word becomes a *group* of alternatives: the word itself,
   its most probable split into smaller dictionary words (AND), its synonyms and those of the words inside it
   (data/search/synonyms.txt), and for words the catalogue does not contain the pinyin key of the word or of
   its two-character windows in the `fuzzy` column (typos and homophones: 医苗 → 疫苗, 献雪点 → 献血).
3. Match: all groups AND-ed in one FTS5 query, restricted to the text columns.  When no dataset has them
   all, the most informative subset of groups (by IDF weight) that some dataset matches is used
   (minimum-should-match).  The share of the query's information that the used groups cover decides
   `low_confidence`: under 60 % (or no match at all) the assistant must not present the results as hits.
4. Rank: an exact title match first, then titles containing the query phrase, then FTS5 BM25 with field
   weights title 10 > keywords 6 > department 3 > description 2 > fields 1 (BM25F-style: per-column BM25
   summed with weights).  `sort="updated"` orders by update date instead.  Facets (department, district,
   category, format, open_type, share_type, has_api) are counted over all matches after filters.

Speed: a query makes one full-text pass, `SELECT rowid, bm25(…) FROM dataset_fts WHERE … MATCH …`, with no
joins (rowids only for `sort="updated"`).  Filters, facet counts and the ordering (tiers, BM25, date, id) are
computed on the process's `catalog_index.columns.Snapshot`, numpy columns indexed by FTS rowid; only the page's
rows are read from `datasets`.  The snapshot belongs to one catalogue version (a counter kept by triggers in
the same transaction as every change) and memoises per version the text understanding, the groups with the
chosen matching subset (`_run`) and full-text match lists (`_matched`), so paging or refining a query costs
no full-text work.  Relaxation probes (`_exists`) are `LIMIT 1` queries.

Index and PostgreSQL: the portable half of the index is `search_docs`, pre-segmented text per field written in
the same transaction as the dataset (`catalog_index.store`).  On SQLite an external-content FTS5 table over it
is maintained by triggers.  On PostgreSQL the same table would get a stored generated column
`tsv = setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', keywords), 'B') ||
setweight(to_tsvector('simple', department || ' ' || description), 'C') || setweight(to_tsvector('simple',
fields || ' ' || fuzzy), 'D')` with a GIN index ('simple' keeps our jieba tokens as they are); the group
expression becomes a `to_tsquery('simple', …)` with `&`/`|`, ranking `ts_rank(tsv, query, '{0.1,0.2,0.6,1.0}')`,
and document frequencies come from `ts_stat` materialised into a small term table instead of fts5vocab.
Everything but the SQL strings (`_document_frequency`, `_exists`, `_full_text`, the page read in `_page`, the
snapshot load) stays the same.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from catalog_index.analysis import Analyzer, get_analyzer, is_cjk, normalize, pinyin_key
from catalog_index.columns import Snapshot, snapshot
from catalog_index.departments import alias_table, resolve
from catalog_index.models import CATEGORIES, DISTRICTS, FORMATS, OPEN_TYPES, SHARE_TYPES, Dataset
from catalog_index.store import dataset_record

MAX_ROWS = 100
MAX_QUERY_LEN = 200
MAX_GROUPS = 6
MAX_SUBSETS = 10  # subsets of query groups tried, most informative first, when not all groups match
COVERAGE_MIN = 0.6
SINGLE_CHAR_WEIGHT = 0.3  # a lone character says little (去, 车): it is dropped first when relaxing
COLUMN_WEIGHTS = (10.0, 6.0, 3.0, 2.0, 1.0, 1.0)  # title, keywords, department, description, fields, fuzzy
TEXT_COLUMNS = "{title keywords department description fields}"
SORTS = ("relevance", "updated")
FACETS = ("department", "district", "category", "format", "open_type", "share_type", "has_api")

DISTRICT_ALIASES = {d: d for d in DISTRICTS if d != "市本级"}
DISTRICT_ALIASES.update({d[:-1]: d for d in DISTRICTS if d not in ("市本级", "白云区")})  # 白云 alone is ambiguous
DISTRICT_ALIASES.update({"市本级": "市本级", "市级": "市本级"})
FORMAT_ALIASES = {"excel": "XLSX", "xlsx": "XLSX", "xls": "XLSX", "csv": "CSV", "json": "JSON", "xml": "XML"}
API_WORDS = ("api接口", "api", "接口", "数据接口")
TYPE_WORDS = {**{t: ("open_type", t) for t in OPEN_TYPES}, **{t: ("share_type", t) for t in SHARE_TYPES}}
_ASCII_WORD = re.compile(r"[a-z0-9.]+")


class InvalidParameter(ValueError):
    """A search parameter that cannot be used; `.param` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


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
class Group:
    """One query word and the FTS5 alternatives that satisfy it."""

    word: str
    alternatives: list[str]
    weight: float
    highlight: list[str]


# ---------------------------------------------------------------- parameters


def _check_filters(session: Session, filters: dict[str, Any]) -> dict[str, Any]:
    """Validated, canonical filter values (None = no filter); raises InvalidParameter."""
    out: dict[str, Any] = {}
    for name, value in filters.items():
        if value is None or value == "":
            continue
        if name == "department":
            dep = resolve(session, str(value))
            if dep is None:
                raise InvalidParameter("department", f"unknown department {value!r}")
            out[name] = dep.code
        elif name == "district":
            district = DISTRICT_ALIASES.get(normalize(str(value)))
            if district is None:
                raise InvalidParameter("district", f"unknown district {value!r}; one of {'/'.join(DISTRICTS)}")
            out[name] = district
        elif name == "format":
            fmt = str(value).strip().upper()
            fmt = FORMAT_ALIASES.get(fmt.lower(), fmt)
            if fmt not in FORMATS:
                raise InvalidParameter("format", f"unknown format {value!r}; one of {'/'.join(FORMATS)}")
            out[name] = fmt
        elif name == "has_api":
            out[name] = _parse_bool(value)
        else:
            choices = {"category": CATEGORIES, "open_type": OPEN_TYPES, "share_type": SHARE_TYPES}[name]
            if value not in choices:
                raise InvalidParameter(name, f"unknown {name} {value!r}; one of {'/'.join(choices)}")
            out[name] = value
    return out


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text_value = str(value).strip().lower()
    if text_value in ("true", "1", "yes"):
        return True
    if text_value in ("false", "0", "no"):
        return False
    raise InvalidParameter("has_api", f"expected true or false, got {value!r}")


def _positive_int(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameter(name, f"expected a positive whole number, got {value!r}") from None
    if number < 1:
        raise InvalidParameter(name, f"expected a positive whole number, got {value!r}")
    return number


# ---------------------------------------------------------------- query understanding


def understand(session: Session, q: str, departments: dict | None = None) -> tuple[str, dict[str, Any]]:
    """(the query text without the filters written in it, those filters), e.g.
    "花溪区的学校名单" → (" 的学校名单", {"district": "花溪区"})."""
    rest = normalize(q)
    found: dict[str, Any] = {}

    def take(pattern: str) -> bool:
        nonlocal rest
        if pattern and pattern in rest:
            rest = rest.replace(pattern, " ")
            return True
        return False

    for word, (name, value) in sorted(TYPE_WORDS.items(), key=lambda kv: -len(kv[0])):
        if name not in found and take(word):
            found[name] = value
    for word in API_WORDS:
        if take(word):
            found["has_api"] = True
    for match in _ASCII_WORD.findall(rest):
        if match in FORMAT_ALIASES and "format" not in found:
            rest = re.sub(rf"(?<![a-z0-9]){re.escape(match)}(?![a-z0-9])", " ", rest)
            found["format"] = FORMAT_ALIASES[match]
    departments = alias_table(session) if departments is None else departments
    for alias, dep in sorted(departments.items(), key=lambda kv: -len(kv[0])):
        if _ASCII_WORD.fullmatch(alias):
            continue  # department codes are for the parameter, not for free text
        if "department" not in found and take(alias):
            found["department"] = dep.code
    for alias, district in sorted(DISTRICT_ALIASES.items(), key=lambda kv: -len(kv[0])):
        if "district" not in found and take(alias):
            found["district"] = district
    return rest, found


def _sql(session: Session, sql: str, params: dict[str, Any] | None = None) -> list:
    """Rows of a driver-level query in the session's transaction (hot path: skips SQLAlchemy compilation)."""
    return session.connection().exec_driver_sql(sql, params or {}).all()


def _document_frequency(session: Session, term: str) -> int:
    rows = _sql(session, "SELECT doc FROM dataset_fts_vocab WHERE term = :t", {"t": term})
    return rows[0][0] if rows else 0


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _all_of(words: list[str]) -> str:
    return _quote(words[0]) if len(words) == 1 else "(" + " AND ".join(_quote(w) for w in words) + ")"


def _groups(session: Session, snap: Snapshot, analyzer: Analyzer, words: list[str],
            total_docs: int) -> list[Group]:
    """Query groups for the content words (see the module docstring).  Document frequencies are memoised per
    catalogue version: a fts5vocab lookup reads the term's whole doclist."""

    def df(term: str) -> int:
        return snap.memo(("df", term), lambda: _document_frequency(session, term))

    def idf(n: int) -> float:
        return math.log(1 + (total_docs - n + 0.5) / (n + 0.5))

    words = _merge_typos(analyzer, words, df)
    groups: list[Group] = []
    for word in dict.fromkeys(words):
        alternatives: list[str] = []
        highlight = [word]
        best_df = df(word)
        if best_df:
            alternatives.append(_quote(word))
        pieces = [] if word in analyzer.synonyms else analyzer.split(word)  # a synonym key means its targets
        if pieces and all(df(p) for p in pieces):
            alternatives.append(_all_of(pieces))
            best_df = best_df or min(df(p) for p in pieces)
            highlight += pieces
        subs = analyzer.sub_words(word)
        for source in [word, *subs]:  # synonyms of the word, and of the words inside it (锻炼身体 → 锻炼 → 健身)
            for target in analyzer.synonyms.get(source, []):
                parts = [w for w in analyzer.cut(target) if w not in analyzer.stop]
                if parts and all(df(p) for p in parts) and _all_of(parts) not in alternatives:
                    alternatives.append(_all_of(parts))
                    highlight += parts
                    best_df = best_df or min(df(p) for p in parts)
        fuzzy, fuzzy_df = _fuzzy(word, df) if not alternatives else (None, 0)
        weight = idf(best_df or fuzzy_df) * (SINGLE_CHAR_WEIGHT if len(word) == 1 else 1.0)
        expr = ""
        if alternatives:
            inner = alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
            expr = f"{TEXT_COLUMNS} : {inner}"
        if fuzzy:
            expr = f"({expr} OR {fuzzy})" if expr else fuzzy
        groups.append(Group(word, [expr] if expr else [], weight, highlight))
    return groups


def _fuzzy(word: str, df) -> tuple[str | None, int]:  # noqa: ANN001
    """FTS5 expression over the `fuzzy` (pinyin) column for an unknown word, and its document frequency:
    the word's pinyin, else the pinyin of its two-character windows (献雪点 → xianxue, from 献血)."""
    if not is_cjk(word) or len(word) < 2:
        return None, 0
    key = pinyin_key(word)
    if df(key):
        return f"fuzzy : {_quote(key)}", df(key)
    windows = [pinyin_key(word[i:i + 2]) for i in range(len(word) - 1)]
    known = [k for k in windows if df(k)]
    if not known:
        return None, 0
    return f"fuzzy : ({' OR '.join(_quote(k) for k in known)})", min(df(k) for k in known)


def _merge_typos(analyzer: Analyzer, words: list[str], df) -> list[str]:  # noqa: ANN001
    """Join a single Chinese character to its neighbour when the pair is unknown but sounds like a catalogue
    word (幼儿 + 圆 → 幼儿圆, found through the pinyin of 幼儿园)."""
    out: list[str] = []
    for word in words:
        if out and is_cjk(word) and is_cjk(out[-1]) and (len(word) == 1 or len(out[-1]) == 1):
            merged = out[-1] + word
            if not df(merged) and df(pinyin_key(merged)):
                out[-1] = merged
                continue
        out.append(word)
    return out


def _words(analyzer: Analyzer, rest: str) -> list[str]:
    """The query's words without stop words and punctuation."""
    return [w for w in analyzer.cut(rest) if w not in analyzer.stop and (is_cjk(w) or w.isalnum() or "." in w)]


def _content_words(analyzer: Analyzer, rest: str, *, keep_generic: bool) -> list[str]:
    """The words to match: generic words only when nothing else is left and `keep_generic`."""
    words = _words(analyzer, rest)
    content = [w for w in words if w not in analyzer.generic]
    return content if content or not keep_generic else words


# ---------------------------------------------------------------- matching


def _filter_sql(filters: dict[str, Any], params: dict[str, Any]) -> str:
    clauses = []
    for name, column in (("department", "department_code"), ("district", "district"), ("category", "category"),
                         ("open_type", "open_type"), ("share_type", "share_type"), ("has_api", "has_api")):
        if name in filters:
            clauses.append(f"d.{column} = :f_{name}")
            params[f"f_{name}"] = filters[name]
    if "format" in filters:
        clauses.append("EXISTS (SELECT 1 FROM dataset_formats f WHERE f.dataset_id = d.id AND f.format = :f_format)")
        params["f_format"] = filters["format"]
    return "".join(f" AND {c}" for c in clauses)


# CROSS JOIN fixes SQLite's join order: the full-text match drives, the filters are checked per match (left to
# itself the planner may scan a filter's index and probe FTS5 once per dataset, which is orders slower).
_JOIN = ("CROSS JOIN search_docs s ON s.rowid = dataset_fts.rowid "
         "CROSS JOIN datasets d ON d.id = s.dataset_id")
_FACET_COLUMNS = "d.department_code, d.district, d.category, d.open_type, d.share_type, d.has_api"
_BM25 = "bm25(dataset_fts, " + ", ".join(str(w) for w in COLUMN_WEIGHTS) + ")"


@dataclass
class Matches:
    """A matching set, described by SQL: FROM/WHERE clauses and their parameters (expr None = no text)."""

    expr: str | None
    filters: dict[str, Any]
    coverage: float = 1.0


def _exists(session: Session, expr: str, filters: dict[str, Any]) -> bool:
    params: dict[str, Any] = {"expr": expr}
    where = _filter_sql(filters, params)
    join = f" {_JOIN}" if where else ""
    sql = f"SELECT 1 FROM dataset_fts{join} WHERE dataset_fts MATCH :expr{where} LIMIT 1"
    return bool(_sql(session, sql, params))


def _match(session: Session, groups: list[Group], filters: dict[str, Any]) -> Matches | None:
    """The matching set: all groups must match; when no dataset has them all, the subset of groups with the
    most information that some dataset matches.  None when nothing matches at all."""
    total = sum(g.weight for g in groups) or 1.0
    usable = sorted((g for g in groups if g.alternatives), key=lambda g: -g.weight)[:MAX_GROUPS]
    subsets = sorted((combo for n in range(len(usable), 0, -1) for combo in combinations(usable, n)),
                     key=lambda combo: (-sum(g.weight for g in combo), -len(combo)))
    for combo in subsets[:MAX_SUBSETS]:
        expr = " AND ".join(g.alternatives[0] for g in combo)
        if _exists(session, expr, filters):
            return Matches(expr, filters, sum(g.weight for g in combo) / total)
    return None


# ---------------------------------------------------------------- results


def _matched(session: Session, snap: Snapshot, matches: Matches | None,
             with_rank: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(rowids of the matches that pass the filters, ascending; their BM25 ranks when `with_rank`).  One
    full-text pass; filters are checked against the snapshot's columns instead of joined rows."""
    if matches is None:
        return np.zeros(0, dtype=np.int64), None
    keep = snap.mask(matches.filters)
    if matches.expr is None:
        return np.flatnonzero(keep), None
    rowids, ranks = snap.match_lists.get((matches.expr, with_rank),
                                         lambda: _full_text(session, matches.expr, with_rank),
                                         cost=lambda found: len(found[0]))
    inside = rowids < snap.size
    passing = np.zeros(len(rowids), dtype=bool)
    passing[inside] = keep[rowids[inside]]
    return rowids[passing], (ranks[passing] if ranks is not None else None)


def _full_text(session: Session, expr: str, with_rank: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(rowids, BM25 ranks or None) of every document matching the FTS5 expression: one pass, no joins.
    Memoised per catalogue version by `_matched` (paging and refining a query reuse it)."""
    rank = f", {_BM25}" if with_rank else ""
    cursor = session.connection().connection.cursor()
    try:
        found = cursor.execute(f"SELECT rowid{rank} FROM dataset_fts WHERE dataset_fts MATCH ?", (expr,)).fetchall()
    finally:
        cursor.close()
    rowids = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
    ranks = np.fromiter((r[1] for r in found), dtype=np.float64, count=len(found)) if with_rank else None
    return rowids, ranks


def _facets(snap: Snapshot, rows: np.ndarray, names: dict[str, str]) -> dict[str, list[dict]]:
    """Facet counts over the matching rowids, from the snapshot's columns."""
    counts = snap.facets(rows)
    departments: dict[str, int] = {}
    for code, n in counts.pop("department").items():
        departments[names.get(code, code)] = departments.get(names.get(code, code), 0) + n
    counts["department"] = departments
    return {facet: [{"name": k, "count": v} for k, v in sorted(counts[facet].items(),
                                                                 key=lambda kv: (-kv[1], str(kv[0])))]
            for facet in FACETS}


def _page(session: Session, snap: Snapshot, rows: np.ndarray, ranks: np.ndarray | None, phrase: str, full: str,
          offset: int, limit: int) -> list[dict]:
    """One page of light rows, best first: exact title, title containing the phrase, then BM25 (then id); or,
    without ranks (no text, or sort=updated), by update date, newest first, then id."""
    if ranks is None:
        order = np.lexsort((snap.id_order[rows], -snap.updated[rows]))
    else:
        titles = snap.titles
        tier = np.full(len(rows), 2, dtype=np.int8)
        if len(phrase) >= 2:
            tier[np.fromiter((phrase in titles[r] for r in rows.tolist()), dtype=bool, count=len(rows))] = 1
        exact = snap.by_title.get(phrase, []) + (snap.by_title.get(full, []) if full != phrase else [])
        if exact:
            tier[np.isin(rows, exact)] = 0
        order = np.lexsort((snap.id_order[rows], ranks, tier))
    chosen = order[offset:offset + limit]
    if not len(chosen):
        return []
    page_ids = rows[chosen].tolist()
    rank_of = dict(zip(page_ids, ranks[chosen].tolist() if ranks is not None else [0.0] * len(page_ids),
                       strict=True))
    marks = ", ".join("?" * len(page_ids))
    cursor = session.connection().connection.cursor()
    try:
        found = cursor.execute(f"SELECT s.rowid, d.id, d.title, d.formats, {_FACET_COLUMNS}, d.updated "
                               f"FROM search_docs s CROSS JOIN datasets d ON d.id = s.dataset_id "
                               f"WHERE s.rowid IN ({marks})", page_ids).fetchall()
    finally:
        cursor.close()
    by_rowid = {r[0]: r for r in found}
    keys = ("id", "title", "formats", "department_code", "district", "category", "open_type", "share_type",
            "has_api", "updated")
    return [{**dict(zip(keys, by_rowid[r][1:], strict=True)), "rank": rank_of[r]}
            for r in page_ids if r in by_rowid]


def _formats(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def _highlight(title: str, terms: list[str]) -> str:
    marks = [False] * len(title)
    lowered = normalize(title) if len(normalize(title)) == len(title) else title.lower()
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        start = lowered.find(term)
        while start >= 0:
            for i in range(start, start + len(term)):
                marks[i] = True
            start = lowered.find(term, start + len(term))
    out, open_ = [], False
    for ch, marked in zip(title, marks, strict=False):
        if marked != open_:
            out.append("<em>" if marked else "</em>")
            open_ = marked
        out.append(html.escape(ch))
    if open_:
        out.append("</em>")
    return "".join(out)


def _as_date(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


# ---------------------------------------------------------------- public API


def search(session: Session, q: str = "", *, department: str | None = None, district: str | None = None,
           category: str | None = None, format: str | None = None, has_api: bool | str | None = None,  # noqa: A002
           open_type: str | None = None, share_type: str | None = None, sort: str = "relevance", page: int = 1,
           rows: int = 10) -> SearchResult:
    """Search the catalogue; raises InvalidParameter for unusable parameters (see the module docstring)."""
    q = q or ""
    if len(q) > MAX_QUERY_LEN:
        raise InvalidParameter("q", f"longer than {MAX_QUERY_LEN} characters")
    if sort not in SORTS:
        raise InvalidParameter("sort", f"expected one of {'/'.join(SORTS)}, got {sort!r}")
    page = _positive_int("page", page)
    rows = min(_positive_int("rows", rows), MAX_ROWS)
    explicit = _check_filters(session, {"department": department, "district": district, "category": category,
                                        "format": format, "has_api": has_api, "open_type": open_type,
                                        "share_type": share_type})
    analyzer = get_analyzer()
    snap = snapshot(session)
    departments = snap.departments
    rest, from_text = snap.memo(("understand", q), lambda: understand(session, q, departments))
    from_text = {k: v for k, v in from_text.items() if k not in explicit}
    with_rank = sort == "relevance"
    matches, groups = _run(session, snap, analyzer, rest, {**explicit, **from_text}, bool(from_text))
    names = {ref.code: ref.name for ref in departments.values()}
    matched, ranks = _matched(session, snap, matches, with_rank)
    applied = from_text
    if not len(matched) and from_text:  # nothing has all the filters read from the text: search without them
        matches, groups = _run(session, snap, analyzer, rest, explicit, False)
        matched, ranks = _matched(session, snap, matches, with_rank)
        applied = {}
    count = len(matched)
    facets = _facets(snap, matched, names)
    phrase = "".join(_words(analyzer, rest))
    full = normalize(q).replace(" ", "")
    terms = [t for g in groups for t in g.highlight]
    page_rows = _page(session, snap, matched, ranks, phrase, full, (page - 1) * rows, rows) if count else []
    results = [_result_dict(row, names, terms) for row in page_rows]
    low = bool(q.strip()) and bool(groups) and (not count or matches.coverage < COVERAGE_MIN)
    return SearchResult(count, page, rows, low, results, facets, applied)


def _run(session: Session, snap: Snapshot, analyzer: Analyzer, rest: str, filters: dict[str, Any],
         filters_from_text: bool) -> tuple[Matches | None, list[Group]]:
    """The matching set and query groups, memoised per catalogue version (the analysis and the relaxation
    probes depend only on the text, the filters and the catalogue)."""
    def compute() -> tuple[Matches | None, list[Group]]:
        words = _content_words(analyzer, rest, keep_generic=not filters_from_text)
        if not words:
            return Matches(None, filters), []
        total_docs = _sql(session, "SELECT max(rowid) FROM search_docs")[0][0] or 0  # ≈ count, O(1)
        groups = _groups(session, snap, analyzer, words, total_docs)
        return _match(session, groups, filters), groups

    return snap.memo(("run", rest, tuple(sorted(filters.items())), filters_from_text), compute)


def _result_dict(row: dict, names: dict[str, str], terms: list[str]) -> dict:
    return {
        "id": row["id"], "title": row["title"],
        "department": names.get(row["department_code"], row["department_code"]), "category": row["category"],
        "open_type": row["open_type"], "share_type": row["share_type"], "formats": _formats(row["formats"]),
        "has_api": bool(row["has_api"]), "district": row["district"], "updated": _as_date(row["updated"]),
        "score": round(-float(row["rank"]), 4) + 0.0, "highlight": _highlight(row["title"], terms),
    }


def get_dataset(session: Session, dataset_id: str) -> dict | None:
    """The full record of one dataset (the load format plus the department's abbreviations), or None."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        return None
    record = dataset_record(dataset)
    record["department_short_names"] = list(dataset.department.short_names or [])
    return record
