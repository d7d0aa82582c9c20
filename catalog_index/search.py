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
4. Rank: an exact title match first, then titles containing the query phrase, then a BM25F-style score
   (`_scores`): per group, IDF × the weight of the field where the dataset has the group's word — title 10
   (length-normalised as in BM25) + keywords 6, else 2 for a match only in the other fields; the word the user
   typed (and its pieces) counts fully, its synonyms at SYNONYM_WEIGHT and on top.  `sort="updated"` orders by
   update date instead.  Facets (department, district, category, format, open_type, share_type, has_api) are
   counted over all matches after filters.

Speed: a query makes one full-text pass, `SELECT group_concat(rowid) FROM dataset_fts WHERE … MATCH …`: no
joins and no per-row ranking in SQLite (FTS5's bm25() costs ≈3 µs a match, too much for broad queries at 100k
datasets).  Filters, facet counts, the title and keyword postings used for scoring and the ordering are all
computed on the process's `catalog_index.columns.Snapshot`, numpy arrays indexed by FTS rowid; only the page's
rows are read from `datasets`.  The snapshot belongs to one catalogue version (a counter kept by triggers in
the same transaction as every change) and memoises per version the text understanding, the groups with the
chosen matching subset (`_run`) and full-text match lists (`_Search`), so paging or refining a query costs
no full-text work.  Within one search each expression's match list is fetched once: the relaxation probes'
lists serve the final matching too.

Index and PostgreSQL: the portable half of the index is `search_docs`, pre-segmented text per field written in
the same transaction as the dataset (`catalog_index.store`).  On SQLite an external-content FTS5 table over it
is maintained by triggers.  On PostgreSQL the same table would get a stored generated column
`tsv = setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', keywords), 'B') ||
setweight(to_tsvector('simple', department || ' ' || description), 'C') || setweight(to_tsvector('simple',
fields || ' ' || fuzzy), 'D')` with a GIN index ('simple' keeps our jieba tokens as they are); the group
expression becomes a `to_tsquery('simple', …)` with `&`/`|` (`SELECT array_agg(rowid)` for the match list), and
document frequencies come from `ts_stat` instead of fts5vocab.  Ranking needs no database function: it runs on
the snapshot.  Everything but the SQL strings (`_full_text`, the page read in `_page`, the snapshot
load in `columns`) stays the same.
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
TITLE_WEIGHT, KEYWORD_WEIGHT, OTHER_WEIGHT = 10.0, 6.0, 2.0  # field weights of a query group's hit (_scores)
BM25_K1, BM25_B = 1.2, 0.75
SYNONYM_WEIGHT = 0.5
TEXT_COLUMNS = "{title keywords department description fields}"
SORTS = ("relevance", "updated")
TITLE_LOOP_ROWS = 2000  # above this many matches, "title contains the phrase" scans all titles at once
FACETS = ("department", "district", "category", "format", "open_type", "share_type", "has_api")

DISTRICT_ALIASES = {d: d for d in DISTRICTS if d != "市本级"}
DISTRICT_ALIASES.update({d[:-1]: d for d in DISTRICTS if d not in ("市本级", "白云区")})  # 白云 alone is ambiguous
DISTRICT_ALIASES.update({"市本级": "市本级", "市级": "市本级"})
FORMAT_ALIASES = {"excel": "XLSX", "xlsx": "XLSX", "xls": "XLSX", "csv": "CSV", "json": "JSON", "xml": "XML"}
API_WORDS = ("api接口", "api", "接口", "数据接口")
TYPE_WORDS = {**{t: ("open_type", t) for t in OPEN_TYPES}, **{t: ("share_type", t) for t in SHARE_TYPES}}
_ASCII_WORD = re.compile(r"[a-z0-9.]+")
_TYPE_WORDS_LONGEST_FIRST = sorted(TYPE_WORDS.items(), key=lambda kv: -len(kv[0]))
_DISTRICTS_LONGEST_FIRST = sorted(DISTRICT_ALIASES.items(), key=lambda kv: -len(kv[0]))


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
    options: list[tuple[str, ...]] = field(default_factory=list)  # text-column alternatives: all terms of one
    literal: int = 0  # options[:literal] are the word itself and its pieces; the rest are synonyms


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

    for word, (name, value) in _TYPE_WORDS_LONGEST_FIRST:
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
    for alias, dep in departments.items():  # longest first
        if alias.isascii():
            continue  # department codes are for the parameter, not for free text
        if take(alias):
            found["department"] = dep.code
            break
    for alias, district in _DISTRICTS_LONGEST_FIRST:
        if "district" not in found and take(alias):
            found["district"] = district
    return rest, found


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _all_of(words: list[str]) -> str:
    return _quote(words[0]) if len(words) == 1 else "(" + " AND ".join(_quote(w) for w in words) + ")"


def _groups(snap: Snapshot, analyzer: Analyzer, words: list[str]) -> list[Group]:
    """Query groups for the content words (see the module docstring); document frequencies from the snapshot."""
    df = snap.df_of
    total_docs = snap.documents

    def idf(n: int) -> float:
        return math.log(1 + (total_docs - n + 0.5) / (n + 0.5))

    words = _merge_typos(analyzer, words, df)
    groups: list[Group] = []
    for word in dict.fromkeys(words):
        options: list[tuple[str, ...]] = []
        highlight = [word]
        best_df = df(word)
        if best_df:
            options.append((word,))
        pieces = [] if word in analyzer.synonyms else analyzer.split(word)  # a synonym key means its targets
        if pieces and all(df(p) for p in pieces):
            options.append(tuple(pieces))
            best_df = best_df or min(df(p) for p in pieces)
            highlight += pieces
        literal = len(options)
        subs = analyzer.sub_words(word)
        for source in [word, *subs]:  # synonyms of the word, and of the words inside it (锻炼身体 → 锻炼 → 健身)
            for target in analyzer.synonyms.get(source, []):
                parts = tuple(w for w in analyzer.cut(target) if w not in analyzer.stop)
                if parts and all(df(p) for p in parts) and parts not in options:
                    options.append(parts)
                    highlight += parts
                    best_df = best_df or min(df(p) for p in parts)
        alternatives = [_all_of(list(option)) for option in options]
        fuzzy, fuzzy_df = _fuzzy(word, df) if not alternatives else (None, 0)
        weight = idf(best_df or fuzzy_df) * (SINGLE_CHAR_WEIGHT if len(word) == 1 else 1.0)
        expr = ""
        if alternatives:
            inner = alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
            expr = f"{TEXT_COLUMNS} : {inner}"
        if fuzzy:
            expr = f"({expr} OR {fuzzy})" if expr else fuzzy
        groups.append(Group(word, [expr] if expr else [], weight, highlight, options, literal))
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


_FACET_COLUMNS = "d.department_code, d.district, d.category, d.open_type, d.share_type, d.has_api"


@dataclass
class Matches:
    """A matching set: the FTS5 expression (None = no text) and the filters every match passes."""

    expr: str | None
    filters: dict[str, Any]
    coverage: float = 1.0
    groups: tuple[Group, ...] = ()  # the query groups every match has


def _match(run: _Search, groups: list[Group], filters: dict[str, Any]) -> Matches | None:
    """The matching set: all groups must match; when no dataset has them all, the subset of groups with the
    most information that some dataset matches.  None when nothing matches at all.  A probe fetches the whole
    match list (a subset that matches needs it next anyway; one that does not costs the same as LIMIT 1)."""
    total = sum(g.weight for g in groups) or 1.0
    usable = sorted((g for g in groups if g.alternatives), key=lambda g: -g.weight)[:MAX_GROUPS]
    subsets = sorted((combo for n in range(len(usable), 0, -1) for combo in combinations(usable, n)),
                     key=lambda combo: (-sum(g.weight for g in combo), -len(combo)))
    for combo in subsets[:MAX_SUBSETS]:
        expr = " AND ".join(g.alternatives[0] for g in combo)
        if len(run.passing(expr, filters)):
            return Matches(expr, filters, sum(g.weight for g in combo) / total, combo)
    return None


# ---------------------------------------------------------------- results


class _Search:
    """What one search fetches or computes once and uses in several steps: full-text match lists (also from the
    per-version memo, so paging and refining a query reuse them), filter masks, and the matches passing them."""

    def __init__(self, session: Session, snap: Snapshot) -> None:
        self.session, self.snap = session, snap
        self.passed: dict[tuple, np.ndarray] = {}
        self.masks: dict[tuple, np.ndarray] = {}

    def passing(self, expr: str | None, filters: dict[str, Any]) -> np.ndarray:
        """Rowids, ascending, of the datasets matching `expr` (None: all) that pass the filters."""
        key = (expr, tuple(sorted(filters.items())))
        if key not in self.passed:
            if key[1] not in self.masks:
                self.masks[key[1]] = self.snap.mask(filters)
            keep = self.masks[key[1]]
            if expr is None:
                self.passed[key] = np.flatnonzero(keep)
            else:
                rowids = self.snap.match_lists.get(expr, lambda: _full_text(self.session, expr), cost=len)
                rowids = rowids[rowids < self.snap.size]
                self.passed[key] = rowids[keep[rowids]]
        return self.passed[key]


def _full_text(session: Session, expr: str) -> np.ndarray:
    """Rowids of every document matching the FTS5 expression: one pass, no joins, no ranking."""
    cursor = session.connection().connection.cursor()
    try:  # one comma-separated string instead of a Python tuple per match (3-4x faster for broad queries)
        found = cursor.execute("SELECT group_concat(rowid) FROM dataset_fts WHERE dataset_fts MATCH ?",
                               (expr,)).fetchone()[0]
    finally:
        cursor.close()
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.fromstring(found, dtype=np.int64, sep=","), kind="stable")


def _scores(snap: Snapshot, rows: np.ndarray, groups: tuple[Group, ...]) -> np.ndarray:
    """BM25F-style relevance of each matching dataset (higher is better), summed over the query groups.  A group
    scores its best alternative: the alternative's IDF (of its rarest term) times the weight of the field where
    the dataset has it — the title (length-normalised as in BM25, tf = 1) or the keywords; a dataset with no
    alternative there has the group only in the other fields (department, description, fields, pinyin) and
    scores OTHER_WEIGHT times the group's weight.  Title and keyword hits come from the snapshot's postings."""
    scores = np.zeros(len(rows), dtype=np.float64)
    title = snap.postings["title"]
    length = title.length[rows] / max(title.average_length, 1.0)
    title_weight = TITLE_WEIGHT * (BM25_K1 + 1) / (1 + BM25_K1 * (1 - BM25_B + BM25_B * length))
    total = snap.documents
    for group in groups:
        best = np.full(len(rows), OTHER_WEIGHT * group.weight)
        extra = np.zeros(len(rows))
        for i, option in enumerate(group.options):
            rarest = min(snap.df_of(term) for term in option)
            weight = math.log(1 + (total - rarest + 0.5) / (rarest + 0.5)) * (1.0 if i < group.literal else SYNONYM_WEIGHT)
            in_title = _has_all(snap, "title", option, rows)
            in_keywords = _has_all(snap, "keywords", option, rows)
            field_weight = np.where(in_title, title_weight, 0.0) + np.where(in_keywords, KEYWORD_WEIGHT, 0.0)
            if i < group.literal:
                np.maximum(best, weight * field_weight, out=best)
            else:
                np.maximum(extra, weight * field_weight, out=extra)
        scores += best + extra
    return scores


def _has_all(snap: Snapshot, field_name: str, terms: tuple[str, ...], rows: np.ndarray) -> np.ndarray:
    """Boolean per row: the field holds every one of the terms."""
    postings = snap.postings[field_name]
    found = np.zeros(snap.size, dtype=bool)
    found[postings.rows(terms[0])] = True
    for term in terms[1:]:
        also = np.zeros(snap.size, dtype=bool)
        also[postings.rows(term)] = True
        found &= also
    return found[rows]


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


def _page(session: Session, snap: Snapshot, rows: np.ndarray, scores: np.ndarray | None, phrase: str,
          full: str, offset: int, limit: int) -> list[dict]:
    """One page of light rows, best first: exact title, title containing the phrase, then score (then id); or,
    without scores (no text, or sort=updated), by update date, newest first, then id."""
    if scores is None:
        order = np.lexsort((snap.id_order[rows], -snap.updated[rows]))
    else:
        titles = snap.titles
        tier = np.full(len(rows), 2, dtype=np.int8)
        if len(phrase) >= 2:
            if len(rows) <= TITLE_LOOP_ROWS:
                inside = np.fromiter((phrase in titles[r] for r in rows.tolist()), dtype=bool, count=len(rows))
            else:  # one scan of all titles beats a Python loop over many rows
                inside = np.isin(rows, snap.titles_containing(phrase))
            tier[inside] = 1
        exact = snap.by_title.get(phrase, []) + (snap.by_title.get(full, []) if full != phrase else [])
        if exact:
            tier[np.isin(rows, exact)] = 0
        order = np.lexsort((snap.id_order[rows], -scores, tier))
    chosen = order[offset:offset + limit]
    if not len(chosen):
        return []
    page_ids = rows[chosen].tolist()
    score_of = dict(zip(page_ids, scores[chosen].tolist() if scores is not None else [0.0] * len(page_ids),
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
    return [{**dict(zip(keys, by_rowid[r][1:], strict=True)), "score": score_of[r]}
            for r in page_ids if r in by_rowid]


def _formats(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


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
    run = _Search(session, snap)
    matches, groups = _run(run, analyzer, rest, {**explicit, **from_text}, bool(from_text))
    names = {ref.code: ref.name for ref in departments.values()}
    matched = run.passing(matches.expr, matches.filters) if matches else np.zeros(0, dtype=np.int64)
    applied = from_text
    if not len(matched) and from_text:  # nothing has all the filters read from the text: search without them
        matches, groups = _run(run, analyzer, rest, explicit, False)
        matched = run.passing(matches.expr, matches.filters) if matches else np.zeros(0, dtype=np.int64)
        applied = {}
    ranked = sort == "relevance" and matches is not None and matches.expr is not None
    scores = _scores(snap, matched, matches.groups) if ranked else None
    count = len(matched)
    facets = _facets(snap, matched, names)
    phrase = "".join(_words(analyzer, rest))
    full = normalize(q).replace(" ", "")
    terms = [t for g in groups for t in g.highlight]
    page_rows = _page(session, snap, matched, scores, phrase, full, (page - 1) * rows, rows) if count else []
    results = [_result_dict(row, names, terms) for row in page_rows]
    low = bool(q.strip()) and bool(groups) and (not count or matches.coverage < COVERAGE_MIN)
    return SearchResult(count, page, rows, low, results, facets, applied)


def _run(run: _Search, analyzer: Analyzer, rest: str, filters: dict[str, Any],
         filters_from_text: bool) -> tuple[Matches | None, list[Group]]:
    """The matching set and query groups, memoised per catalogue version (the analysis and the relaxation
    probes depend only on the text, the filters and the catalogue)."""
    def compute() -> tuple[Matches | None, list[Group]]:
        words = _content_words(analyzer, rest, keep_generic=not filters_from_text)
        if not words:
            return Matches(None, filters), []
        groups = _groups(run.snap, analyzer, words)
        return _match(run, groups, filters), groups

    return run.snap.memo(("run", rest, tuple(sorted(filters.items())), filters_from_text), compute)


def _result_dict(row: dict, names: dict[str, str], terms: list[str]) -> dict:
    return {
        "id": row["id"], "title": row["title"],
        "department": names.get(row["department_code"], row["department_code"]), "category": row["category"],
        "open_type": row["open_type"], "share_type": row["share_type"], "formats": _formats(row["formats"]),
        "has_api": bool(row["has_api"]), "district": row["district"], "updated": _as_date(row["updated"]),
        "score": round(float(row["score"]), 4), "highlight": _highlight(row["title"], terms),
    }


def get_dataset(session: Session, dataset_id: str) -> dict | None:
    """The full record of one dataset (the load format plus the department's abbreviations), or None."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        return None
    record = dataset_record(dataset)
    record["department_short_names"] = list(dataset.department.short_names or [])
    return record
