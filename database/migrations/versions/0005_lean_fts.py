"""Lean full-text index: FTS5 without per-document column sizes, merging less often during bulk loads.

Revision ID: 0005_lean_fts
Revises: 0004_search_speed
Create Date: 2026-11-27

The search no longer ranks with FTS5's bm25() (it scores on the in-memory snapshot, `catalog_index.columns`), so
the index does not need the `docsize` table, which cost a third of every insert.  `automerge=8` lets more
segments pile up before merging (fewer, larger merges in a bulk load).  `dataset_fts` is an external-content
index over `search_docs`: it is dropped and rebuilt from that table in this transaction; the triggers that keep
it in step refer to it by name and stay.  No data is changed or dropped.  SQLite only (PostgreSQL: no-op).
"""

from __future__ import annotations

from alembic import op

revision = "0005_lean_fts"
down_revision = "0004_search_speed"
branch_labels = None
depends_on = None

FTS_COLUMNS = "title, keywords, department, description, fields, fuzzy"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE dataset_fts_vocab")
    op.execute("DROP TABLE dataset_fts")
    op.execute(f"CREATE VIRTUAL TABLE dataset_fts USING fts5({FTS_COLUMNS}, content='search_docs', "
               "content_rowid='rowid', columnsize=0, tokenize=\"unicode61 remove_diacritics 0 tokenchars '._'\")")
    op.execute("INSERT INTO dataset_fts(dataset_fts, rank) VALUES ('automerge', 8)")
    op.execute("INSERT INTO dataset_fts(dataset_fts) VALUES ('rebuild')")
    op.execute("CREATE VIRTUAL TABLE dataset_fts_vocab USING fts5vocab(dataset_fts, 'row')")


def downgrade() -> None:
    raise NotImplementedError("migrations never drop data; restore from a backup instead")
