"""The search's seam to the database: what `search()` and the snapshot ask of the full-text index.

Everything database-specific in search is behind `Backend`: matching an understood query (a `query.Match`) to
the rowids of `search_docs`, the document frequency of every indexed term, reading the catalogue for the
snapshot, and reading a page of results.  Ranking, filtering and facets need no database function: they run
on the snapshot (`catalog_index.columns`).

Implementations: `catalog_index.fts5` (SQLite FTS5, the embedded default) and `catalog_index.postgres`
(PostgreSQL, the production profile: `tsvector('simple')` columns with GIN indexes, `to_tsquery('simple', …)`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from catalog_index.fts5 import Fts5
from catalog_index.postgres import Postgres
from catalog_index.query import Match


class Backend(Protocol):
    """One session's access to the index (the session's transaction: a consistent catalogue version)."""

    def match(self, match: Match) -> np.ndarray:
        """Rowids, ascending, of every index entry satisfying all clauses of `match` (no ranking)."""

    def document_frequencies(self) -> dict[str, int]:
        """term → index entries that hold it in any field."""

    def rowid_bound(self) -> int:
        """One more than the largest rowid of `search_docs` (the snapshot's array length)."""

    def scan(self, doc_columns: Sequence[str], dataset_columns: Sequence[str], chunk: int) -> Iterator[list[tuple]]:
        """Every index entry with its dataset, `chunk` rows at a time: the `search_docs` columns then the
        `datasets` columns, as stored."""

    def page(self, rowids: Sequence[int], dataset_columns: Sequence[str]) -> dict[int, tuple]:
        """rowid → those `datasets` columns of its dataset, for the given rowids (a page of results)."""


BACKENDS: dict[str, type] = {"sqlite": Fts5, "postgresql": Postgres}  # SQLAlchemy dialect name → implementation


def for_session(session: Session) -> Backend:
    """The backend for the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect in BACKENDS:
        return BACKENDS[dialect](session)
    raise NotImplementedError(f"catalogue search has no backend for {dialect} yet (see catalog_index.backend)")
