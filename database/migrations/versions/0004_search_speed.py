"""Search speed: a catalogue version counter for per-process search caches.

Revision ID: 0004_search_speed
Revises: 0003_wechat
Create Date: 2026-11-27

`catalog_version` holds one row: `version`, raised by triggers in the same transaction as every change to the
catalogue, and `token`, random per database, so that a cache keyed by (token, version) can never mistake another
database (e.g. a re-created file) for this one.  The triggers are chosen so that a bulk load pays one per new
dataset: every dataset write goes with a write of its search doc (`catalog_index.store`; deletes cascade), so
inserts are watched on `search_docs` only, updates and deletes everywhere.  (Inserting a format row for an
existing dataset without touching the dataset or its search doc would go unseen; `store` never does that.)  The search
keeps its compact column store and query-analysis cache per (token, version) (`catalog_index.columns`).
Adds a table and triggers only; no data is changed or dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_search_speed"
down_revision = "0003_wechat"
branch_labels = None
depends_on = None

WATCHED = {  # table → the events that raise the version
    "departments": ("INSERT", "UPDATE", "DELETE"),
    "search_docs": ("INSERT", "UPDATE", "DELETE"),
    "datasets": ("UPDATE", "DELETE"),
    "dataset_formats": ("UPDATE", "DELETE"),
}


def upgrade() -> None:
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    token = "lower(hex(randomblob(8)))" if dialect == "sqlite" else "md5(random()::text)"
    op.execute(f"INSERT INTO catalog_version (id, version, token) VALUES (1, 0, {token})")
    if dialect != "sqlite":
        return  # PostgreSQL would use one statement-level trigger per table doing the same UPDATE
    for table, events in WATCHED.items():
        for event in events:
            op.execute(f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} BEGIN "
                       "UPDATE catalog_version SET version = version + 1 WHERE id = 1; END")


def downgrade() -> None:
    raise NotImplementedError("migrations never drop data; restore from a backup instead")
