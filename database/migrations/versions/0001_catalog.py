"""Catalogue: departments, datasets, dataset formats and the search index.

Revision ID: 0001_catalog
Revises:
Create Date: 2026-11-27

On SQLite the full-text index is an external-content FTS5 table over `search_docs` (pre-segmented text),
kept in step by triggers, so writing a dataset's search doc updates the index in the same transaction.
On PostgreSQL the same `search_docs` table would carry a weighted tsvector (see `catalog_index.search`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_catalog"
down_revision = None
branch_labels = None
depends_on = None

FTS_COLUMNS = ("title", "keywords", "department", "description", "fields", "fuzzy")

SQLITE_FTS = [
    # unicode61 with '.' kept inside tokens so that "pm2.5" stays one token; text is pre-segmented by jieba.
    "CREATE VIRTUAL TABLE dataset_fts USING fts5({cols}, content='search_docs', content_rowid='rowid', "
    "tokenize=\"unicode61 remove_diacritics 0 tokenchars '._'\")",
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO dataset_fts(rowid, {cols}) VALUES (new.rowid, {new}); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN "
    "INSERT INTO dataset_fts(dataset_fts, rowid, {cols}) VALUES ('delete', old.rowid, {old}); END",
    "CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN "
    "INSERT INTO dataset_fts(dataset_fts, rowid, {cols}) VALUES ('delete', old.rowid, {old}); "
    "INSERT INTO dataset_fts(rowid, {cols}) VALUES (new.rowid, {new}); END",
    "CREATE VIRTUAL TABLE dataset_fts_vocab USING fts5vocab(dataset_fts, 'row')",
]


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("short_names", sa.JSON(), nullable=False),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("department_code", sa.String(32), sa.ForeignKey("departments.code"), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("share_type", sa.String(16), nullable=False),
        sa.Column("share_condition", sa.Text(), nullable=False),
        sa.Column("open_type", sa.String(16), nullable=False),
        sa.Column("open_condition", sa.Text(), nullable=False),
        sa.Column("update_frequency", sa.String(16), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("district", sa.String(32), nullable=False),
        sa.Column("has_api", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("updated", sa.Date(), nullable=True),
    )
    for col in ("department_code", "category", "share_type", "open_type", "district", "has_api", "updated"):
        op.create_index(f"ix_datasets_{col}", "datasets", [col])
    op.create_table(
        "dataset_formats",
        sa.Column("dataset_id", sa.String(64), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("format", sa.String(16), primary_key=True),
    )
    op.create_index("ix_dataset_formats_format", "dataset_formats", ["format"])
    op.create_table(
        "search_docs",
        sa.Column("rowid", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dataset_id", sa.String(64), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("title_norm", sa.String(500), nullable=False),
        *(sa.Column(col, sa.Text(), nullable=False) for col in FTS_COLUMNS),
    )
    if op.get_bind().dialect.name == "sqlite":
        cols = ", ".join(FTS_COLUMNS)
        new = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
        old = ", ".join(f"old.{c}" for c in FTS_COLUMNS)
        for stmt in SQLITE_FTS:
            op.execute(stmt.format(cols=cols, new=new, old=old))


def downgrade() -> None:
    raise NotImplementedError("migrations never drop data; restore from a backup instead")
