"""PostgreSQL implementation of the search backend (`catalog_index.backend.Backend`), for the production profile.

The index (migration 0007_postgresql): `search_docs` (pre-segmented text per field, written by
`catalog_index.store`) with two stored generated columns, each with a GIN index: `tsv`, `to_tsvector('simple',
…)` over the text fields (title, keywords, department, description, fields), and `fuzzy_tsv` over the pinyin
field.  'simple' keeps our jieba tokens as they are: no stemming, no stop words, and PostgreSQL needs no Chinese
parser (zhparser, pg_jieba and pgroonga are not packaged in Debian).

A match is one pass, `SELECT string_agg(rowid::text, ',') FROM search_docs WHERE …`: per clause
`tsv @@ to_tsquery('simple', '(a & b) | c')` OR `fuzzy_tsv @@ to_tsquery('simple', 'k1 | k2')`, the clauses
AND-ed; no ranking in the database (ranking runs on the snapshot, as with FTS5).  A term goes through the same
parser as the documents (quoted, so its characters are data), so a term the parser cuts in two matches as the
phrase of its pieces.  Document frequencies come from `ts_stat` over both columns (FTS5's vocabulary counts
every column too); the snapshot scan streams through a server-side cursor, its rows cast to look as SQLite's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import JSON, Boolean
from sqlalchemy.orm import Session

from catalog_index.models import Dataset
from catalog_index.query import Clause, Match, match_list

# Rows "as stored" look as SQLite's raw cursor gives them: JSON as its text, booleans as 0/1 (psycopg2 would
# decode JSON to lists and give bools).
_AS_STORED = {JSON: "::text", Boolean: "::int"}


def _dataset_column(name: str) -> str:
    kind = type(Dataset.__table__.c[name].type)
    return f"d.{name}" + next((cast for base, cast in _AS_STORED.items() if issubclass(kind, base)), "")


def _quote(term: str) -> str:
    """A tsquery operand: quoted, so that &, |, !, :, ( and ) in a term are text."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _any_of(expressions: list[str]) -> str:
    return expressions[0] if len(expressions) == 1 else "(" + " | ".join(expressions) + ")"


def clause_sql(clause: Clause, params: list[str]) -> str:
    """SQL condition of one clause; its two tsquery strings are appended to `params`."""
    parts = []
    if clause.text:
        params.append(_any_of(["(" + " & ".join(_quote(t) for t in option) + ")" for option in clause.text]))
        parts.append("tsv @@ to_tsquery('simple', %s)")
    if clause.sounds:
        params.append(_any_of([_quote(key) for key in clause.sounds]))
        parts.append("fuzzy_tsv @@ to_tsquery('simple', %s)")
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


class Postgres:
    """The PostgreSQL backend of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _cursor(self, name: str | None = None):  # noqa: ANN202 - a DBAPI cursor in the session's transaction
        connection = self.session.connection().connection
        return connection.cursor(name) if name else connection.cursor()

    def _one(self, sql: str, params: Sequence = ()):  # noqa: ANN202
        cursor = self._cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def match(self, match: Match) -> np.ndarray:
        params: list[str] = []
        where = " AND ".join(clause_sql(clause, params) for clause in match)
        return match_list(self._one(f"SELECT string_agg(rowid::text, ',') FROM search_docs WHERE {where}", params))

    def document_frequencies(self) -> dict[str, int]:
        cursor = self._cursor()
        try:
            cursor.execute("SELECT word, ndoc FROM ts_stat('SELECT tsv || fuzzy_tsv FROM search_docs')")
            return dict(cursor.fetchall())
        finally:
            cursor.close()

    def rowid_bound(self) -> int:
        return self._one("SELECT coalesce(max(rowid), 0) + 1 FROM search_docs")

    def scan(self, doc_columns: Sequence[str], dataset_columns: Sequence[str], chunk: int) -> Iterator[list[tuple]]:
        names = ", ".join([f"s.{c}" for c in doc_columns] + [_dataset_column(c) for c in dataset_columns])
        cursor = self._cursor("search_snapshot_scan")  # server-side: rows arrive `chunk` at a time
        cursor.itersize = chunk
        try:
            cursor.execute(f"SELECT {names} FROM search_docs s JOIN datasets d ON d.id = s.dataset_id")
            while rows := cursor.fetchmany(chunk):
                yield rows
        finally:
            cursor.close()

    def page(self, rowids: Sequence[int], dataset_columns: Sequence[str]) -> dict[int, tuple]:
        names = ", ".join(_dataset_column(c) for c in dataset_columns)
        cursor = self._cursor()
        try:
            cursor.execute(f"SELECT s.rowid, {names} FROM search_docs s JOIN datasets d ON d.id = s.dataset_id "
                           "WHERE s.rowid = ANY(%s)", (list(rowids),))
            return {row[0]: row[1:] for row in cursor.fetchall()}
        finally:
            cursor.close()
